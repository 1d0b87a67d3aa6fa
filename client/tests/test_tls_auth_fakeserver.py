"""smtp-client --starttls against the project's fake server playing STARTTLS scenarios from
scenarios/starttls: a reply injected after the 220 (refused, nothing parsed inside TLS), a
handshake answered with garbage (SSLError), and a clean STARTTLS + transaction over a real
handshake with a certificate made at test time."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tls_certs import make_certs

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SMTPKIT_BUILD_DIR", ROOT / "build" / "ci")) / "bin"
SCN = ROOT / "scenarios" / "starttls"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("fs-certs"))


def play(scenario: str, certs, *client_flags):
    for exe in ("smtp-fakeserver", "smtp-client"):
        if not (BIN / exe).exists():
            pytest.skip(f"{BIN / exe} not built (set SMTPKIT_BUILD_DIR)")
    cert, key = certs["good"]
    server = subprocess.Popen(
        [str(BIN / "smtp-fakeserver"), "serve", "--cert", str(cert), "--key", str(key),
         "--sessions", "1", "--time-limit", "30", "--quiet", str(SCN / scenario)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in server.stdout:
            event = json.loads(line)
            if event["event"] == "listening":
                port = event["port"]
            if event["event"] == "ready":
                break
        assert port, "fake server did not listen"
        p = subprocess.run(
            [str(BIN / "smtp-client"), "send", "--server", f"127.0.0.1:{port}",
             "--from", "alice@example.org", "--to", "bob@example.org", "--json", "--timeout", "10",
             "--starttls", *client_flags],
            input=b"Subject: t\r\n\r\nbody\r\n", capture_output=True, timeout=60)
        reports = [json.loads(l) for l in server.stdout]
        server.wait(timeout=30)
        return p.returncode, json.loads(p.stdout), reports
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_rejects_reply_injected_after_starttls_220(certs):
    rc, out, reports = play("extra-bytes-after-220.scn", certs, "--cafile", str(certs["ca"][0]))
    assert rc == 1
    assert out["error"]["type"] == "SMTPProtocolError", out
    session = [r for r in reports if r["event"] == "session"][0]
    assert session["ok"], session  # the client closed without a handshake, as scripted


def test_handshake_garbage_is_ssl_error(certs):
    rc, out, _ = play("handshake-garbage.scn", certs, "--cafile", str(certs["ca"][0]))
    assert (rc, out["error"]["type"]) == (1, "SSLError"), out


def test_starttls_then_transaction_with_verified_certificate(certs):
    rc, out, reports = play("success-then-sendmail.scn", certs, "--cafile", str(certs["ca"][0]))
    assert (rc, out) == (0, {"ok": True, "refused": {}})
    session = [r for r in reports if r["event"] == "session"][0]
    assert session["ok"], session
