"""Record -> replay round trips (issue 7): real sessions recorded through smtp-record against real
servers on loopback (aiosmtpd; Postfix's smtp-sink with its fault options; aiosmtpd with STARTTLS
and AUTH), with the C++ client (`smtp-client send`), swaks and smtplib as clients. Each recording
is replayed by the fake server to the same client, which must end the same way as in the live run,
and the server's session must follow the script. The file's own client section must replay too
(`harness.reproduce` with the matrix's drivers)."""

from __future__ import annotations

import base64
import os
import smtplib
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from harness import clients, matrix, reproduce
from harness.outcome import comparable
from harness.servers import process

from recorder_proc import Recorder, missing_reason

HERE = Path(__file__).resolve().parent
SWAKS = "/usr/bin/swaks"
MESSAGE = (b"Subject: recorded\r\nMessage-ID: <live-run@harness.test>\r\n\r\nOne line.\r\n"
           b".a line that starts with a dot\r\n")

pytestmark = pytest.mark.realserver
WENT_ON = "The client went on after its call failed"


@pytest.fixture(autouse=True)
def _built():
    reason = missing_reason()
    if reason:
        pytest.skip(reason)


# -- clients: each returns what must be equal between the live run and the replay -----------------

def cli_client(name: str, tmp_path: Path):
    def run(target: list[str], sender: str, rcpts: list[str]) -> dict:
        data = tmp_path / "message.eml"
        data.write_bytes(MESSAGE)
        args = list(target) + ["--from", sender, "--data", str(data), "--timeout", "10"]
        for r in rcpts:
            args += ["--to", r]
        return comparable(clients.run_client(name, args))
    return run


def swaks_client(tmp_path: Path, *extra: str):
    def run(target: list[str], sender: str, rcpts: list[str]) -> dict:
        data = tmp_path / "message.eml"
        data.write_bytes(MESSAGE)
        argv = [SWAKS, "--server", target[1], "--from", sender, "--to", ",".join(rcpts),
                "--data", f"@{data}", "--timeout", "10", "--helo", "swaks.harness.test", *extra]
        proc = subprocess.run(argv, capture_output=True, timeout=60)
        # swaks's exit status names the step that failed (21 greeting, 23 HELO, 24 MAIL, 25 RCPT,
        # 26 DATA ...), so equal statuses mean the session ended at the same place.
        return {"exit": proc.returncode}
    return run


def client_for(name: str, tmp_path: Path):
    if name == "swaks":
        if not os.path.exists(SWAKS):
            pytest.skip("swaks not installed (ci/install-deps.sh)")
        return swaks_client(tmp_path)
    return cli_client(name, tmp_path)


# -- record, then replay --------------------------------------------------------------------------

def record(tmp_path: Path, upstream: list[str], client, sender: str, rcpts: list[str],
           *recorder_args: str) -> tuple[dict, Path, list[dict]]:
    out = tmp_path / "recorded.scn"
    rec = Recorder(out, upstream, *recorder_args)
    try:
        live = client(rec.client_args(), sender, rcpts)
        events = rec.finish()
    finally:
        rec.stop()
    assert len(events) == 1, (events, rec.stderr)
    return live, out, events


def replay(tmp_path: Path, file: Path, client, sender: str, rcpts: list[str],
           certs: matrix.Certs | None = None, transport: str = "plain") -> tuple[dict, dict | None]:
    workdir = tmp_path / "replay"
    workdir.mkdir(exist_ok=True)
    served = reproduce.serve(file, transport, workdir, certs)
    try:
        target = ["--server", f"{served.listener['host']}:{served.listener['port']}"]
        again = client(target, sender, rcpts)
        session = served.session()
    finally:
        served.stop()
    return again, session


def round_trip(tmp_path: Path, upstream: list[str], client_name: str, sender: str,
               rcpts: list[str], *recorder_args: str) -> tuple[dict, Path]:
    client = client_for(client_name, tmp_path)
    live, file, events = record(tmp_path, upstream, client, sender, rcpts, *recorder_args)
    text = file.read_text()
    assert events[0]["ok"], f"{events[0]['problems']}\n{text}"
    again, session = replay(tmp_path, file, client, sender, rcpts)
    ctx = f"live {live}\nreplay {again}\n--- recorded file ---\n{text}\n--- server ---\n" \
          f"{matrix.render_session(session)}"
    assert again == live, ctx
    assert session is not None and session["ok"], ctx
    if client_name != "swaks":
        # The file's client section (sendmail + quit, derived from the session) replays as-is
        # through the matrix's driver for the same client.
        cpp_or_smtplib = "cpp" if client_name == "cpp" else "smtplib"
        [verdict] = reproduce.reproduce(file, "plain", [cpp_or_smtplib], out=open(os.devnull, "w"))
        detail = f"{verdict.problems}\n{ctx}\n{matrix.render_session(verdict.session)}"
        assert not verdict.outcome_problems, detail
        if WENT_ON not in text:
            assert not verdict.session_problems, detail
        else:
            # The live client sent more after its failing call (smtplib's CLI quits); a driver
            # stops at the failing call, so the server sees the client close instead. The file
            # says so in its header. A pipelining client is the exception: when the recorder saw
            # the reply arrive between two commands of one group, the file has them after the
            # failure, and the replaying client sends them in its group again, so the session
            # follows the file to its end.
            session = verdict.session or {}
            reason = (session.get("divergence") or {}).get("reason", "")
            pipelined = client_name == "cpp"
            assert "the client closed" in reason or (pipelined and session.get("ok")), detail
    return live, file


# -- aiosmtpd ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("client_name", ["cpp", "smtplib", "swaks"])
def test_aiosmtpd_two_recipients(tmp_path, aiosmtpd_smtp, client_name):
    live, file = round_trip(tmp_path, ["--upstream", f"{aiosmtpd_smtp.host}:{aiosmtpd_smtp.port}"],
                            client_name, "alice@harness.test",
                            ["bob@harness.test", "carol@harness.test"])
    text = file.read_text()
    assert live.get("exit") == 0, live
    assert "C: EHLO *" in text or "C: ehlo *" in text, text
    assert "\ndata\n" in text and "live-run@harness.test" not in text.split("\n\n", 2)[-1]


# -- smtp-sink's fault options -----------------------------------------------------------------------

SINK_FAULTS = {
    "mail-500": ("-f", "MAIL"),
    "mail-421": ("-Q", "MAIL"),
    "rcpt-450": ("-r", "RCPT"),
    "data-500": ("-f", "DATA"),
    "dot-500": ("-f", "."),
    "dot-450": ("-r", "."),
    "greeting-421": ("-Q", "CONNECT"),
    "ehlo-refused-helo-fallback": ("-f", "EHLO"),
    "abort-in-data": ("-q", "DATA"),
    "close-after-dot": ("-q", "."),
}


@pytest.mark.parametrize("client_name", ["cpp", "smtplib"])
@pytest.mark.parametrize("fault", list(SINK_FAULTS))
def test_smtp_sink_faults(tmp_path, smtp_sink_factory, client_name, fault):
    sink = smtp_sink_factory(*SINK_FAULTS[fault])
    round_trip(tmp_path, ["--upstream", f"{sink.host}:{sink.port}"], client_name,
               "alice@harness.test", ["bob@harness.test"])


@pytest.mark.parametrize("fault", ["mail-500", "rcpt-450", "dot-500", "abort-in-data"])
def test_smtp_sink_faults_swaks(tmp_path, smtp_sink_factory, fault):
    sink = smtp_sink_factory(*SINK_FAULTS[fault])
    live, _ = round_trip(tmp_path, ["--upstream", f"{sink.host}:{sink.port}"], "swaks",
                         "alice@harness.test", ["bob@harness.test"])
    assert live["exit"] != 0, live


# -- timing and LMTP ---------------------------------------------------------------------------------

def test_server_pause_becomes_sleep(tmp_path, smtp_sink_factory):
    # smtp-sink -w 1: one second before it answers DATA; kept as a sleep, so a replayed client
    # with a shorter timeout times out exactly as it did live.
    sink = smtp_sink_factory("-w", "1")
    live, file = round_trip(tmp_path, ["--upstream", f"{sink.host}:{sink.port}"], "cpp",
                            "alice@harness.test", ["bob@harness.test"])
    text = file.read_text()
    sleeps = [int(line.split()[1][:-2]) for line in text.splitlines() if line.startswith("sleep ")]
    assert sleeps and 900 <= max(sleeps) <= 1500, text
    assert live["ok"] is True


@pytest.mark.parametrize("client_name", ["cpp", "smtplib"])
def test_lmtp_over_unix_upstream(tmp_path, aiosmtpd_lmtp, client_name):
    # LMTP: one reply per recipient after the dot; the client reaches the recorder over TCP.
    client = cli_client(client_name, tmp_path)

    def lmtp(target, sender, rcpts):
        return client(list(target) + ["--lmtp"], sender, rcpts)

    rcpts = ["bob@harness.test", "carol@harness.test"]
    live, file, events = record(tmp_path, ["--upstream-unix", aiosmtpd_lmtp.unix_path], lmtp,
                                "alice@harness.test", rcpts, "--lmtp")
    text = file.read_text()
    assert events[0]["ok"], f"{events[0]['problems']}\n{text}"
    assert "protocol: lmtp" in text and "C: LHLO *" in text.replace("lhlo", "LHLO"), text
    again, session = replay(tmp_path, file, lmtp, "alice@harness.test", rcpts)
    ctx = f"live {live}\nreplay {again}\n{text}\n{matrix.render_session(session)}"
    assert again == live, ctx
    assert session is not None and session["ok"], ctx


# -- STARTTLS + AUTH against aiosmtpd with a certificate made here ---------------------------------

USER, PASSWORD = "alice", "s3cret-pw"


@pytest.fixture
def certs(tmp_path):
    return matrix.make_certs(tmp_path / "certs")


def start_tls_upstream(certs, tmp_path, *extra):
    log = tmp_path / "tls-upstream.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(["/usr/bin/python3", str(HERE / "aiosmtpd_tls_upstream.py"),
                                 "--cert", str(certs.cert), "--key", str(certs.key),
                                 "--user", USER, "--password", PASSWORD, *extra],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                preexec_fn=process.die_with_parent)
    import time
    line = process.read_line_before(proc, time.monotonic() + process.STARTUP_DEADLINE, log)
    _, _, host, port = line.split()
    return proc, host, int(port)


@pytest.fixture
def tls_upstream(certs, tmp_path):
    proc, host, port = start_tls_upstream(certs, tmp_path)
    yield host, port
    proc.stdin.close()
    process.stop(proc)


@pytest.fixture
def smtps_upstream(certs, tmp_path):
    proc, host, port = start_tls_upstream(certs, tmp_path, "--implicit")
    yield host, port
    proc.stdin.close()
    process.stop(proc)


def smtplib_tls_client(ca: Path, login: bool):
    def run(target: list[str], sender: str, rcpts: list[str]) -> dict:
        host, port = target[1].rsplit(":", 1)
        context = ssl.create_default_context(cafile=str(ca))
        try:
            with smtplib.SMTP(host, int(port), timeout=10) as s:
                s.starttls(context=context)
                if login:
                    s.login(USER, PASSWORD)
                refused = s.sendmail(sender, rcpts, MESSAGE)
            return {"ok": True, "refused": {a: v[0] for a, v in refused.items()}}
        except (smtplib.SMTPException, OSError) as e:
            return {"ok": False, "type": type(e).__name__, "code": getattr(e, "smtp_code", None)}
    return run


def smtplib_ssl_client(ca: Path):
    def run(target: list[str], sender: str, rcpts: list[str]) -> dict:
        host, port = target[1].rsplit(":", 1)
        context = ssl.create_default_context(cafile=str(ca))
        try:
            with smtplib.SMTP_SSL(host, int(port), timeout=10, context=context) as s:
                s.login(USER, PASSWORD)
                refused = s.sendmail(sender, rcpts, MESSAGE)
            return {"ok": True, "refused": {a: v[0] for a, v in refused.items()}}
        except (smtplib.SMTPException, OSError) as e:
            return {"ok": False, "type": type(e).__name__, "code": getattr(e, "smtp_code", None)}
    return run


def test_implicit_tls_auth_smtplib(tmp_path, certs, smtps_upstream):
    host, port = smtps_upstream
    client = smtplib_ssl_client(certs.ca)
    live, file, events = record(tmp_path, ["--upstream", f"{host}:{port}"], client,
                                "alice@harness.test", ["bob@harness.test"],
                                "--tls-cert", str(certs.cert), "--tls-key", str(certs.key),
                                "--upstream-tls", "--upstream-cafile", str(certs.ca))
    text = file.read_text()
    assert events[0]["ok"], f"{events[0]['problems']}\n{text}"
    assert live == {"ok": True, "refused": {}}
    assert "transports: tls" in text and "\nstarttls\n" not in text, text
    assert_no_credentials(text)
    again, session = replay(tmp_path, file, client, "alice@harness.test", ["bob@harness.test"],
                            certs=certs, transport="tls")
    ctx = f"{text}\n{matrix.render_session(session)}"
    assert again == live, ctx
    assert session is not None and session["ok"], ctx
    verdicts = reproduce.reproduce(file, "tls", ["smtplib", "cpp"], out=open(os.devnull, "w"))
    assert [v.passed for v in verdicts] == [True, True], [(v.client, v.problems) for v in verdicts]


def cpp_tls_client(tmp_path: Path, ca: Path, *mode: str, login: bool = True):
    """smtp-client send with --starttls or --tls, trusting the test CA, logging in when asked."""
    base = cli_client("cpp", tmp_path)
    pw = tmp_path / "password"
    pw.write_text(PASSWORD)
    extra = [*mode, "--cafile", str(ca)]
    if login:
        extra += ["--user", USER, "--password-file", str(pw)]

    def run(target: list[str], sender: str, rcpts: list[str]) -> dict:
        return base(list(target) + extra, sender, rcpts)
    return run


@pytest.mark.parametrize("mode", ["--starttls", "--tls"])
def test_tls_auth_cpp_client(tmp_path, certs, tls_upstream, smtps_upstream, mode):
    host, port = tls_upstream if mode == "--starttls" else smtps_upstream
    client = cpp_tls_client(tmp_path, certs.ca, mode)
    args = ["--tls-cert", str(certs.cert), "--tls-key", str(certs.key),
            "--upstream-cafile", str(certs.ca)]
    if mode == "--tls":
        args.append("--upstream-tls")
    live, file, events = record(tmp_path, ["--upstream", f"{host}:{port}"], client,
                                "alice@harness.test", ["bob@harness.test"], *args)
    text = file.read_text()
    assert events[0]["ok"], f"{events[0]['problems']}\n{text}"
    assert live["exit"] == 0 and live["ok"] is True, live
    assert_no_credentials(text)
    transport = "tls" if mode == "--tls" else "plain"
    again, session = replay(tmp_path, file, client, "alice@harness.test", ["bob@harness.test"],
                            certs=certs, transport=transport)
    ctx = f"live {live}\nreplay {again}\n{text}\n{matrix.render_session(session)}"
    assert again == live, ctx
    assert session is not None and session["ok"], ctx


def assert_no_credentials(text: str) -> None:
    secrets = [PASSWORD, base64.b64encode(PASSWORD.encode()).decode(),
               base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode(),
               base64.b64encode(USER.encode()).decode()]
    for s in secrets:
        assert s not in text, f"credential {s!r} written to the file:\n{text}"


@pytest.mark.parametrize("login", [False, True], ids=["starttls", "starttls-auth"])
def test_starttls_smtplib(tmp_path, certs, tls_upstream, login):
    host, port = tls_upstream
    client = smtplib_tls_client(certs.ca, login)
    live, file, events = record(tmp_path, ["--upstream", f"{host}:{port}"], client,
                                "alice@harness.test", ["bob@harness.test"],
                                "--tls-cert", str(certs.cert), "--tls-key", str(certs.key),
                                "--starttls", "--upstream-cafile", str(certs.ca))
    text = file.read_text()
    assert events[0]["ok"], f"{events[0]['problems']}\n{text}"
    assert live == {"ok": True, "refused": {}}
    assert "\nstarttls\n" in text and "250-tls-upstream.test" in text, text
    if login:
        assert_no_credentials(text)
        assert "C: AUTH PLAIN*" in text and "placeholder" in text, text
    again, session = replay(tmp_path, file, client, "alice@harness.test", ["bob@harness.test"],
                            certs=certs)
    ctx = f"{text}\n{matrix.render_session(session)}"
    assert again == live, ctx
    assert session is not None and session["ok"], ctx
    [verdict] = reproduce.reproduce(file, "plain", ["smtplib"], out=open(os.devnull, "w"))
    assert verdict.passed, f"{verdict.problems}\n{ctx}"


def test_starttls_auth_swaks(tmp_path, certs, tls_upstream):
    if not os.path.exists(SWAKS):
        pytest.skip("swaks not installed (ci/install-deps.sh)")
    host, port = tls_upstream
    client = swaks_client(tmp_path, "--tls", "--auth", "LOGIN", "--auth-user", USER,
                          "--auth-password", PASSWORD)
    live, file, events = record(tmp_path, ["--upstream", f"{host}:{port}"], client,
                                "alice@harness.test", ["bob@harness.test"],
                                "--tls-cert", str(certs.cert), "--tls-key", str(certs.key),
                                "--upstream-cafile", str(certs.ca))
    text = file.read_text()
    assert events[0]["ok"], f"{events[0]['problems']}\n{text}"
    assert live == {"exit": 0}, text
    assert_no_credentials(text)
    again, session = replay(tmp_path, file, client, "alice@harness.test", ["bob@harness.test"],
                            certs=certs)
    assert again == live and session and session["ok"], f"{text}\n{matrix.render_session(session)}"


# -- bad input: garbage from the upstream; what cannot be expressed -----------------------------------

class FloodServer:
    """Sends a greeting, then 300 KiB of bytes with no line end at all, and closes (past the 64 KiB
    line limit: the test records it with `--max-line`)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            try:
                conn.sendall(b"220 flood.test\r\n")
                conn.recv(1000)
                conn.sendall(bytes(range(256)) * 1200)
                conn.shutdown(socket.SHUT_WR)
                conn.recv(1000)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=5)


def test_flood_without_line_end_recorded_and_replayed(tmp_path):
    server = FloodServer()
    try:
        client = client_for("smtplib", tmp_path)
        live, file, events = record(tmp_path, ["--upstream", f"127.0.0.1:{server.port}"], client,
                                    "alice@harness.test", ["bob@harness.test"],
                                    "--max-line", "400000")
    finally:
        server.close()
    assert events[0]["ok"], events
    assert "max-line: 400000" in file.read_text()
    assert live["ok"] is False, live
    again, session = replay(tmp_path, file, client, "alice@harness.test", ["bob@harness.test"])
    assert again == live, matrix.render_session(session)


class GarbageServer:
    """Sends a greeting, answers EHLO with garbage (NUL, bare LF, a line without a code), then a
    line cut in the middle, and closes."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.sendall(b"220 garbage.test ESMTP\r\n")
            conn.recv(1000)
            conn.sendall(b"250-garbage\x00\r\nno code at all\n250-bare LF\n\xff\xfe\r\n250 SIZE 10")
            try:
                conn.shutdown(socket.SHUT_WR)
                conn.recv(1000)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.mark.parametrize("client_name", ["cpp", "smtplib"])
def test_garbage_and_close_mid_line_recorded_faithfully(tmp_path, client_name):
    server = GarbageServer()
    try:
        client = client_for(client_name, tmp_path)
        live, file, events = record(tmp_path, ["--upstream", f"127.0.0.1:{server.port}"], client,
                                    "alice@harness.test", ["bob@harness.test"])
    finally:
        server.close()
    text = file.read_text()
    assert live["ok"] is False, live
    assert "S+ " in text and "\\0" in text and "\\xFF\\xFE" in text and "250 SIZE 10" in text, text
    assert text.rstrip().endswith("close") or text.rstrip().endswith("expect-close"), text
    again, session = replay(tmp_path, file, client, "alice@harness.test", ["bob@harness.test"])
    assert again == live, f"{text}\n{matrix.render_session(session)}"


def test_starttls_without_certificate_is_reported(tmp_path, certs, tls_upstream):
    host, port = tls_upstream
    client = smtplib_tls_client(certs.ca, login=False)
    out = tmp_path / "recorded.scn"
    rec = Recorder(out, ["--upstream", f"{host}:{port}"])
    try:
        live = client(rec.client_args(), "alice@harness.test", ["bob@harness.test"])
        events = rec.finish()
    finally:
        rec.stop()
    # The client's session went through (the recorder passed the TLS bytes on) ...
    assert live == {"ok": True, "refused": {}}
    # ... but the file cannot say what happened inside TLS, and says why.
    assert rec.proc.returncode == 1
    assert events and not events[0]["ok"]
    assert any("no --tls-cert" in p for p in events[0]["problems"]), events
    assert "NOT REPLAYABLE" in out.read_text()
    assert b"cannot be expressed" in rec.stderr


def test_upstream_unreachable_is_reported(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    out = tmp_path / "recorded.scn"
    rec = Recorder(out, ["--upstream", f"127.0.0.1:{port}"])
    try:
        c = socket.create_connection((rec.host, rec.port), timeout=5)
        c.recv(100)
        c.close()
        events = rec.finish()
    finally:
        rec.stop()
    assert events and not events[0]["ok"]
    assert "could not connect to the upstream" in events[0]["problems"][0]


# -- several sessions at once ---------------------------------------------------------------------

def test_concurrent_sessions_each_get_a_file(tmp_path, aiosmtpd_smtp):
    out = tmp_path / "many.scn"
    rec = Recorder(out, ["--upstream", f"{aiosmtpd_smtp.host}:{aiosmtpd_smtp.port}"],
                   "--sessions", "3")
    client = cli_client("smtplib", tmp_path)
    results: list[dict] = []
    try:
        threads = [threading.Thread(target=lambda i=i: results.append(
            client(rec.client_args(), f"s{i}@harness.test", [f"r{i}@harness.test"])))
            for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        events = rec.finish()
    finally:
        rec.stop()
    assert [r["ok"] for r in results] == [True] * 3, results
    assert sorted(e["session"] for e in events) == [1, 2, 3] and all(e["ok"] for e in events)
    senders = set()
    for e in events:
        file = Path(e["file"])
        assert file.name == f"many-{e['session']}.scn"
        text = file.read_text()
        senders |= {s for s in ("s0@", "s1@", "s2@") if f"client: sendmail {s}" in text}
        again, session = replay(tmp_path, file, client, "x@harness.test", ["y@harness.test"])
        # The replaying client sends other addresses than the recording: the script says so.
        assert session is not None and not session["ok"], text
        assert "MAIL FROM" in session["divergence"]["expected"].upper(), session["divergence"]
    assert senders == {"s0@", "s1@", "s2@"}
