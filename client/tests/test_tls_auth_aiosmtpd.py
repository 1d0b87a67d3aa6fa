"""smtp-client's TLS and AUTH against a real third-party server (aiosmtpd): STARTTLS and implicit
TLS with certificates made at test time, verification passing and failing where it should, AUTH
PLAIN/LOGIN, a wrong password tried once, stripping refused, and no credential in the trace."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tls_certs import make_certs

pytestmark = pytest.mark.realserver

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SMTPKIT_BUILD_DIR", ROOT / "build" / "ci")) / "bin" / "smtp-client"
SERVER = Path(__file__).with_name("tls_auth_server.py")
PASSWORD = "s3cret-Pa55word!"
MESSAGE = b"Subject: tls test\r\n\r\nhello over TLS\r\n"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))


class Server:
    def __init__(self, tmp: Path, args: list):
        self.log = tmp / f"log-{os.getpid()}-{id(self)}.jsonl"
        self.proc = subprocess.Popen([sys.executable, str(SERVER), "--log", str(self.log), *args],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("READY "), f"server did not start: {line!r}"
        self.port = int(line.split()[1])

    def entries(self) -> list:
        if not self.log.exists():
            return []
        return [json.loads(l) for l in self.log.read_text().splitlines()]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def server(tmp_path):
    started = []

    def start(*args):
        s = Server(tmp_path, [str(a) for a in args])
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def send(port, *flags, host="127.0.0.1", env=None, debug=None):
    if not BIN.exists():
        pytest.skip(f"{BIN} not built (set SMTPKIT_BUILD_DIR)")
    cmd = [str(BIN), "send", "--server", f"{host}:{port}", "--from", "me@example.com",
           "--to", "you@example.com", "--json", "--timeout", "10", *flags]
    if debug is not None:
        cmd += ["--debug", str(debug)]
    full_env = dict(os.environ)
    full_env.pop("SMTP_PASSWORD", None)
    full_env.update(env or {})
    p = subprocess.run(cmd, input=MESSAGE, capture_output=True, env=full_env, timeout=60)
    out = p.stdout.decode()
    assert out.count("\n") == 1, f"expected one JSON line, got {out!r}; stderr {p.stderr!r}"
    return p.returncode, json.loads(out), p.stderr.decode(errors="replace")


def tls_args(certs, name="good"):
    cert, key = certs[name]
    return ["--cert", cert, "--key", key]


def test_starttls_with_good_certificate_delivers_over_tls(server, certs):
    s = server(*tls_args(certs))
    rc, out, err = send(s.port, "--starttls", "--cafile", certs["ca"][0], debug=1)
    assert (rc, out) == (0, {"ok": True, "refused": {}}), err
    assert s.entries() == [{"from": "me@example.com", "to": ["you@example.com"], "auth": False,
                            "tls": True}]
    # EHLO was sent again after the handshake (the first one's features were forgotten).
    assert err.count("send: 'ehlo ") == 2, err


def test_implicit_tls_delivers(server, certs):
    s = server(*tls_args(certs), "--implicit")
    rc, out, err = send(s.port, "--tls", "--cafile", certs["ca"][0], host="localhost")
    assert (rc, out["ok"]) == (0, True), (out, err)
    # (aiosmtpd's session.ssl is only set by STARTTLS; the failing cases below prove the handshake.)
    assert len(s.entries()) == 1


@pytest.mark.parametrize("name", ["wrongname", "expired", "selfsigned"])
@pytest.mark.parametrize("mode", ["--starttls", "--tls"])
def test_bad_certificate_is_refused_and_nothing_is_sent(server, certs, name, mode):
    extra = ["--implicit"] if mode == "--tls" else []
    s = server(*tls_args(certs, name), *extra)
    rc, out, err = send(s.port, mode, "--cafile", certs["ca"][0])
    assert rc == 1, (out, err)
    assert out["error"]["type"] == "SSLCertVerificationError", out
    assert s.entries() == []


def test_system_store_does_not_trust_the_throwaway_ca(server, certs):
    s = server(*tls_args(certs))
    rc, out, _ = send(s.port, "--starttls")
    assert (rc, out["error"]["type"]) == (1, "SSLCertVerificationError"), out


@pytest.mark.parametrize("name", ["wrongname", "selfsigned"])
def test_insecure_flag_skips_verification(server, certs, name):
    s = server(*tls_args(certs, name))
    rc, out, _ = send(s.port, "--starttls", "--insecure")
    assert (rc, out["ok"]) == (0, True), out


def test_starttls_required_but_not_offered_is_refused(server):
    # A server (or a man in the middle) that does not offer STARTTLS: no plaintext fallback.
    s = server()
    rc, out, _ = send(s.port, "--starttls")
    assert (rc, out["error"]["type"]) == (1, "SMTPNotSupportedError"), out
    assert "STARTTLS" in out["error"]["message"]
    assert s.entries() == []


@pytest.mark.parametrize("debug", [1, 2])
def test_login_over_starttls_with_password_from_env_never_traced(server, certs, debug):
    s = server(*tls_args(certs), "--user", "alice", "--password", PASSWORD)
    rc, out, err = send(s.port, "--starttls", "--cafile", certs["ca"][0], "--user", "alice",
                        env={"SMTP_PASSWORD": PASSWORD}, debug=debug)
    assert (rc, out["ok"]) == (0, True), (out, err)
    entries = s.entries()
    assert entries[0] == {"auth": "PLAIN", "ok": True}  # PLAIN preferred over LOGIN
    assert entries[1]["auth"] is True and entries[1]["tls"] is True
    assert "AUTH PLAIN <redacted>" in err, err
    assert PASSWORD not in err and PASSWORD not in json.dumps(out)
    import base64
    for secret in (base64.b64encode(f"\0alice\0{PASSWORD}".encode()).decode(),
                   base64.b64encode(PASSWORD.encode()).decode()):
        assert secret not in err


def test_login_with_password_file(server, certs, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    s = server(*tls_args(certs), "--user", "alice", "--password", PASSWORD)
    rc, out, _ = send(s.port, "--starttls", "--cafile", certs["ca"][0], "--user", "alice",
                      "--password-file", pw)
    assert (rc, out["ok"]) == (0, True), out


def test_wrong_password_fails_once_without_fallback(server, certs):
    s = server(*tls_args(certs), "--user", "alice", "--password", PASSWORD)
    rc, out, err = send(s.port, "--starttls", "--cafile", certs["ca"][0], "--user", "alice",
                        env={"SMTP_PASSWORD": "wrong"}, debug=2)
    assert rc == 1
    assert out["error"]["type"] == "SMTPAuthenticationError" and out["error"]["code"] == 535, out
    # One attempt with PLAIN; LOGIN (also advertised) is not tried after the 535.
    assert s.entries() == [{"auth": "PLAIN", "ok": False}]
    assert "wrong" not in err.replace("wrong password", "")


def test_plain_in_cleartext_to_loopback_is_allowed(server):
    s = server("--user", "alice", "--password", PASSWORD)
    rc, out, err = send(s.port, "--user", "alice", env={"SMTP_PASSWORD": PASSWORD}, debug=1)
    assert (rc, out["ok"]) == (0, True), (out, err)
    assert PASSWORD not in err


def test_user_without_password_is_a_usage_error(server):
    s = server()
    rc, out, _ = send(s.port, "--user", "alice")
    assert (rc, out["error"]["type"]) == (2, "UsageError"), out


def test_version_flag():
    if not BIN.exists():
        pytest.skip(f"{BIN} not built")
    p = subprocess.run([str(BIN), "--version"], capture_output=True, text=True)
    assert p.returncode == 0 and "0." in p.stdout
