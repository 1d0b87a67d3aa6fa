"""Record -> reproduce (issue 21): a session our client (the `smtp-client` CLI; the scenario client,
sync and async) or smtplib has with a real server is recorded through smtp-record, and the file
replays unchanged with `harness.reproduce`: every client the file admits PASSes, the live client's
own kind among them, and the file's `expect:` is the outcome the live client saw.

Servers: Postfix's real smtpd (STARTTLS, CHUNKING, PIPELINING, SMTPUTF8; master started from a
private configuration directory, every message discarded), Dovecot's LMTP (Unix socket) and
aiosmtpd (plain; STARTTLS + AUTH; implicit TLS + AUTH). Certificates are made at test time."""

from __future__ import annotations

import base64
import os
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness import clients, matrix, reproduce
from harness.drivers import smtplib_scenario
from harness.servers import process

from recorder_proc import Recorder, missing_reason

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# Postfix and Dovecot are started as the probe's tests start them (one place for their set-up).
sys.path.insert(0, str(REPO / "probe" / "tests"))
import probe_servers  # noqa: E402

pytestmark = pytest.mark.realserver

USER, PASSWORD = "alice", "s3cret-pw"
SENDER = "alice@harness.test"
RCPTS = ["bob@harness.test", "carol@harness.test"]
# A message whose lines look like commands, an AUTH response and the end of data: the recorder
# must take them as the message (DATA or a BDAT chunk), never as commands.
MESSAGE_LINES = ["Subject: recorded for issue 21", "Message-ID: <live@harness.test>", "",
                 "QUIT", ".", "..two dots", "AUTH PLAIN", "BDAT 5 LAST", "last line"]
MESSAGE = "\r\n".join(MESSAGE_LINES) + "\r\n"


@pytest.fixture(autouse=True)
def _built(monkeypatch):
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    # The live runs and the replays use each file's own `option: pipelining=`.
    monkeypatch.delenv("SMTPKIT_FORCE_PIPELINING", raising=False)


# -- servers ---------------------------------------------------------------------------------------

@dataclass
class Upstream:
    name: str
    recorder_args: list[str]  # --upstream ... for smtp-record
    lmtp: bool = False
    implicit_tls: bool = False
    auth: bool = False  # the server takes USER / PASSWORD
    offers: set[str] = field(default_factory=set)  # what its EHLO/LHLO advertises that we use


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    c = matrix.make_certs(d)
    # Postfix's and Dovecot's own processes read them: not under pytest's 0700 directory.
    shared = Path(tempfile.mkdtemp(prefix="smtp-record-certs-"))
    os.chmod(shared, 0o755)
    for name, src in (("ca.pem", c.ca), ("cert.pem", c.cert), ("key.pem", c.key)):
        shutil.copy(src, shared / name)
        os.chmod(shared / name, 0o644)
    yield c, shared
    shutil.rmtree(shared, ignore_errors=True)


@pytest.fixture(scope="module")
def postfix(certs):
    if shutil.which("postfix") is None:
        pytest.skip("postfix is not installed (ci/install-deps.sh installs it)")
    if os.geteuid() != 0:
        pytest.skip("Postfix's master runs only as root (the CI container runs the tests as root)")
    _, shared = certs
    workdir = Path(tempfile.mkdtemp(prefix="smtp-record-postfix-"))
    os.chmod(workdir, 0o755)
    server = probe_servers.Postfix(workdir, shared / "cert.pem", shared / "key.pem")
    try:
        yield Upstream("postfix", ["--upstream", f"127.0.0.1:{server.port}"],
                       offers={"starttls", "chunking", "pipelining", "smtputf8"})
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def dovecot():
    if shutil.which("dovecot") is None:
        pytest.skip("dovecot is not installed (ci/install-deps.sh installs dovecot-lmtpd)")
    if os.geteuid() != 0:
        pytest.skip("Dovecot's master runs only as root here (it delivers as the mail user)")
    workdir = Path(tempfile.mkdtemp(prefix="smtp-record-dovecot-"))
    os.chmod(workdir, 0o755)
    server = probe_servers.Dovecot(workdir)
    try:
        yield Upstream("dovecot-lmtp", ["--upstream-unix", str(server.socket), "--lmtp"],
                       lmtp=True)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _tls_upstream(certs, tmp_path_factory, *extra: str):
    c, _ = certs
    log = tmp_path_factory.mktemp("tls-upstream") / "server.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(["/usr/bin/python3", str(HERE / "aiosmtpd_tls_upstream.py"),
                                 "--cert", str(c.cert), "--key", str(c.key), "--user", USER,
                                 "--password", PASSWORD, *extra],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                preexec_fn=process.die_with_parent)
    line = process.read_line_before(proc, time.monotonic() + process.STARTUP_DEADLINE, log)
    _, _, host, port = line.split()
    return proc, f"{host}:{port}"


@pytest.fixture(scope="module")
def aiosmtpd_starttls(certs, tmp_path_factory):
    proc, address = _tls_upstream(certs, tmp_path_factory)
    yield Upstream("aiosmtpd-starttls-auth", ["--upstream", address], auth=True,
                   offers={"starttls"})
    proc.stdin.close()
    process.stop(proc)


@pytest.fixture(scope="module")
def aiosmtpd_smtps(certs, tmp_path_factory):
    proc, address = _tls_upstream(certs, tmp_path_factory, "--implicit")
    yield Upstream("aiosmtpd-smtps-auth", ["--upstream", address, "--upstream-tls"],
                   implicit_tls=True, auth=True)
    proc.stdin.close()
    process.stop(proc)


@pytest.fixture
def aiosmtpd_plain(aiosmtpd_smtp):
    return Upstream("aiosmtpd", ["--upstream", f"{aiosmtpd_smtp.host}:{aiosmtpd_smtp.port}"])


# -- live clients: each returns an outcome in the drivers' shape (harness/matrix.py) ---------------

@dataclass
class Case:
    """What the live client does: its kind (cli = `smtp-client send`, cpp / cpp-async = the
    scenario client, smtplib), the options, and how many messages (2+: sendmail_many)."""
    client: str
    starttls: bool = False
    login: bool = False
    pipelining: bool | None = None
    chunking: bool | None = None
    messages: int = 1
    mail_options: list[str] = field(default_factory=list)
    chunk_size: int | None = None  # the scenario client's `option: chunk_size=`
    rcpts: list[str] = field(default_factory=lambda: list(RCPTS))


def live_scenario(case: Case, upstream: Upstream, path: Path) -> Path:
    """The live run as a client section (the drivers run exactly this against the recorder)."""
    lines = ["description: the live run that gets recorded",
             f"protocol: {'lmtp' if upstream.lmtp else 'smtp'}",
             f"transports: {'tls' if upstream.implicit_tls else 'plain'}"]
    if case.messages > 1:
        lines += ["clients: cpp cpp-async", "note-clients: sendmail_many is not in smtplib"]
    if case.pipelining is not None:
        lines.append(f"option: pipelining={int(case.pipelining)}")
    if case.chunking is not None:
        lines.append(f"option: chunking={int(case.chunking)}")
    if case.chunk_size is not None:
        lines.append(f"option: chunk_size={case.chunk_size}")
    if case.starttls:
        lines.append("client: starttls")
    if case.login:
        lines.append(f"client: login {USER} {PASSWORD}")
    to = ",".join(case.rcpts)
    opts = f" mail_options={','.join(case.mail_options)}" if case.mail_options else ""
    if case.messages > 1:
        lines.append("client: sendmail_many " + " ".join([f"{SENDER} {to}"] * case.messages) + opts)
        lines.append("expect: ok results=" + ",".join(["ok"] * case.messages))
    else:
        lines.append(f"client: sendmail {SENDER} {to}{opts}")
        lines.append("expect: ok")
    lines.append("client: quit")
    lines += [("message: " + m.replace("\\", "\\\\")) if m else "message:" for m in MESSAGE_LINES]
    lines.append("S: 220 unused")
    path.write_text("\n".join(lines) + "\n")
    return path


def run_cli(case: Case, upstream: Upstream, rec: Recorder, tmp_path: Path, ca: Path) -> dict:
    data = tmp_path / "message.eml"
    data.write_bytes(MESSAGE.encode())
    args = rec.client_args() + ["--from", SENDER, "--timeout", "10"]
    for _ in range(case.messages):
        args += ["--data", str(data)]
    for r in case.rcpts:
        args += ["--to", r]
    if upstream.lmtp:
        args.append("--lmtp")
    if upstream.implicit_tls:
        args += ["--tls", "--cafile", str(ca)]
    if case.starttls:
        args += ["--starttls", "--cafile", str(ca)]
    if case.login:
        pw = tmp_path / "password"
        pw.write_text(PASSWORD)
        args += ["--user", USER, "--password-file", str(pw)]
    if case.pipelining is False:
        args.append("--no-pipelining")
    if case.chunking is False:
        args.append("--no-chunking")
    for o in case.mail_options:
        args += ["--mail-option", o]
    run = clients.run_client("cpp", args)
    result = run.result or {}
    assert result, f"smtp-client printed no JSON: {run.stdout} {run.stderr}"
    if "messages" not in result:
        return result
    # Several --data files: one sendmail_many call, one result per message.
    refused: dict = {}
    for m in result["messages"]:
        refused.update(m.get("refused") or {})
    return {"ok": True, "refused": refused, "results": result["messages"]}


def run_live(case: Case, upstream: Upstream, rec: Recorder, tmp_path: Path, ca: Path) -> dict:
    if case.client == "cli":
        return run_cli(case, upstream, rec, tmp_path, ca)
    scn = live_scenario(case, upstream, tmp_path / "live.scn")
    listener = {"transport": "tls" if upstream.implicit_tls else "plain", "host": rec.host,
                "port": rec.port}
    if case.client in ("cpp", "cpp-async"):
        run = matrix.run_cpp(str(scn), listener, ca, async_api=case.client == "cpp-async")
        return run.outcome
    context = ssl.create_default_context(cafile=str(ca))
    return smtplib_scenario.run(reproduce.dump(scn), listener, context).outcome


# -- the round trip -----------------------------------------------------------------------------------

def secrets() -> list[str]:
    return [PASSWORD, base64.b64encode(PASSWORD.encode()).decode(),
            base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode(),
            base64.b64encode(USER.encode()).decode()]


def round_trip(case: Case, upstream: Upstream, certs, tmp_path: Path) -> tuple[str, dict, list]:
    c, _ = certs
    out = tmp_path / "recorded.scn"
    rec = Recorder(out, upstream.recorder_args, "--tls-cert", str(c.cert), "--tls-key", str(c.key),
                   "--upstream-cafile", str(c.ca))
    try:
        live = run_live(case, upstream, rec, tmp_path, c.ca)
        events = rec.finish()
    finally:
        rec.stop()
    text = out.read_text()
    ctx = f"live outcome {live}\n--- recorded file ---\n{text}\nrecorder stderr {rec.stderr!r}"
    assert live.get("ok"), f"the live run itself failed: {ctx}"
    assert len(events) == 1 and events[0]["ok"], f"{events}\n{ctx}"
    assert rec.proc.returncode == 0, ctx
    for s in secrets():
        assert s not in text, f"credential {s!r} written to the file:\n{text}"
    scenario = reproduce.dump(out)
    # The file's expectation is the outcome the live client saw.
    assert matrix.compare(scenario["client"]["expect"], live) == [], ctx
    transport = "tls" if upstream.implicit_tls else "plain"
    with open(os.devnull, "w") as devnull:
        verdicts = reproduce.reproduce(out, transport, ["cpp", "cpp-async", "smtplib"], out=devnull)
    for v in verdicts:
        detail = (f"{v.client}: {v.problems}\n{ctx}\n{matrix.render_session(v.session)}\n"
                  f"client trace: {v.trace}")
        assert v.skipped or v.passed, detail
    own = "smtplib" if case.client == "smtplib" else "cpp-async" if case.client == "cpp-async" \
        else "cpp"
    assert not next(v for v in verdicts if v.client == own).skipped, \
        f"the file leaves out the live client's own kind ({own}):\n{text}"
    return text, scenario, verdicts


def skipped(verdicts) -> set[str]:
    return {v.client for v in verdicts if v.skipped}


# -- Postfix smtpd: STARTTLS + CHUNKING + PIPELINING ------------------------------------------------

POSTFIX_CASES = {
    # our client's defaults against a mainstream MTA: MAIL, RCPT, RCPT and BDAT LAST in one write
    "cli-defaults": Case("cli"),
    "cli-starttls": Case("cli", starttls=True),
    "cli-no-chunking": Case("cli", chunking=False),
    "cli-no-pipelining": Case("cli", pipelining=False),
    "cli-no-chunking-no-pipelining": Case("cli", chunking=False, pipelining=False),
    "cli-sendmail-many": Case("cli", messages=3),
    "cli-smtputf8-8bitmime": Case("cli", mail_options=["SMTPUTF8", "BODY=8BITMIME"],
                                  rcpts=["j\u00f6rg@harness.test", "bob@harness.test"]),
    "cpp-chunk-size": Case("cpp", chunk_size=50),
    "cpp-async-chunk-size-no-pipelining": Case("cpp-async", chunk_size=40, pipelining=False),
    "cpp-starttls": Case("cpp", starttls=True),
    "cpp-async-defaults": Case("cpp-async"),
    "cpp-async-starttls-no-chunking": Case("cpp-async", starttls=True, chunking=False),
    "cpp-async-sendmail-many-data": Case("cpp-async", messages=2, chunking=False),
    "smtplib": Case("smtplib"),
    "smtplib-starttls": Case("smtplib", starttls=True),
}


@pytest.mark.parametrize("name", list(POSTFIX_CASES))
def test_postfix(name, postfix, certs, tmp_path):
    case = POSTFIX_CASES[name]
    text, scenario, verdicts = round_trip(case, postfix, certs, tmp_path)
    options = scenario["client"]["options"]
    steps = [s["kind"] for s in scenario["steps"]]
    bdat = case.client != "smtplib" and case.chunking is not False
    pipelined = case.client != "smtplib" and case.pipelining is not False
    # What the client did is what the section says, and who can follow it.
    assert ("bdat" in steps) == bdat, text
    assert options.get("chunking") == ("1" if bdat else "0"), text
    assert options.get("pipelining") == ("1" if pipelined else "0"), text
    assert ("C: BDAT" not in text.upper().replace("# ", "")), text
    assert skipped(verdicts) == ({"smtplib"} if bdat or pipelined or case.messages > 1 else set()), \
        text
    if case.messages > 1:
        assert any(c["name"] == "sendmail_many" for c in scenario["client"]["calls"]), text
    if case.starttls:
        assert "starttls" in steps, text
    for o in case.mail_options:
        assert o in text, text
    if case.chunk_size:
        assert options.get("chunk_size") == str(case.chunk_size), text
        assert steps.count("bdat") == len(MESSAGE) // case.chunk_size + 1, text


# -- Dovecot LMTP: one reply per recipient after the end of data -----------------------------------

LMTP_CASES = {
    "cli-defaults": Case("cli"),
    "cli-no-chunking": Case("cli", chunking=False),
    "cpp-async": Case("cpp-async"),
    "smtplib": Case("smtplib"),
}


@pytest.mark.parametrize("name", list(LMTP_CASES))
def test_dovecot_lmtp(name, dovecot, certs, tmp_path):
    text, scenario, _ = round_trip(LMTP_CASES[name], dovecot, certs, tmp_path)
    assert scenario["protocol"] == "lmtp" and "C: LHLO *" in text.upper(), text
    # Two recipients accepted: two replies after the end of data, both in the script.
    tail = text[text.rfind("\ndata\n") if "\ndata\n" in text else text.rfind("\nbdat "):]
    assert tail.count("\nS: 250 ") >= 2, text


# -- aiosmtpd: plain; STARTTLS + AUTH; implicit TLS + AUTH -------------------------------------------

AIOSMTPD_CASES = {
    "plain-cli": ("plain", Case("cli")),
    "plain-smtplib": ("plain", Case("smtplib")),
    "starttls-auth-cli": ("starttls", Case("cli", starttls=True, login=True)),
    "starttls-auth-cpp-async": ("starttls", Case("cpp-async", starttls=True, login=True)),
    "starttls-auth-smtplib": ("starttls", Case("smtplib", starttls=True, login=True)),
    "smtps-auth-cli": ("smtps", Case("cli", login=True)),
    "smtps-auth-cpp": ("smtps", Case("cpp", login=True)),
    "smtps-auth-smtplib": ("smtps", Case("smtplib", login=True)),
}


@pytest.mark.parametrize("name", list(AIOSMTPD_CASES))
def test_aiosmtpd(name, request, certs, tmp_path):
    kind, case = AIOSMTPD_CASES[name]
    upstream = request.getfixturevalue(
        {"plain": "aiosmtpd_plain", "starttls": "aiosmtpd_starttls", "smtps": "aiosmtpd_smtps"}[kind])
    text, scenario, verdicts = round_trip(case, upstream, certs, tmp_path)
    if case.login:
        assert "C: AUTH " in text and "recorded-password" in text, text
        assert any(c["name"] == "login" for c in scenario["client"]["calls"]), text
    if kind == "smtps":
        assert scenario["transports"] == ["tls"], text
