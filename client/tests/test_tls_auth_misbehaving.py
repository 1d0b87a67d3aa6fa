"""smtp-client against servers that misbehave on purpose around STARTTLS (a raw socket server in
the test): a response injected after the 220 (CVE-2016-0772-style / NO STARTTLS), a server that
answers the handshake with garbage, one that refuses STARTTLS. Nothing may be delivered."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from one_session_server import OneSessionServer

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SMTPKIT_BUILD_DIR", ROOT / "build" / "ci")) / "bin" / "smtp-client"


class RawServer(OneSessionServer):
    """Plays one session: greeting, EHLO with STARTTLS, then `after_starttls` (bytes) in one write
    in answer to STARTTLS, and records every line the client sent."""

    def __init__(self, after_starttls: bytes):
        self.after = after_starttls
        self.lines = []
        self.start()

    def session(self, conn):
        buf = b""
        while True:
            data = conn.recv(4096)
            if not data:
                return
            buf += data
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                self.lines.append(line)
                verb = line.split(b" ")[0].upper()
                if verb == b"EHLO":
                    conn.sendall(b"250-raw.test\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n")
                elif verb == b"STARTTLS":
                    conn.sendall(self.after)
                    if self.after.startswith(b"220"):
                        # Whatever comes next (a ClientHello, or nothing) is not SMTP.
                        conn.recv(4096)
                        return
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")


def send(port, *flags):
    if not BIN.exists():
        pytest.skip(f"{BIN} not built (set SMTPKIT_BUILD_DIR)")
    p = subprocess.run([str(BIN), "send", "--server", f"127.0.0.1:{port}", "--from", "a@b.example",
                        "--to", "c@d.example", "--json", "--timeout", "5", "--insecure", *flags],
                       input=b"Subject: x\r\n\r\nx\r\n", capture_output=True, timeout=60)
    return p.returncode, json.loads(p.stdout), p.stderr.decode(errors="replace")


@pytest.fixture
def raw_server():
    servers = []

    def start(after):
        s = RawServer(after)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


def test_rejects_bytes_after_starttls_220(raw_server):
    # The injected 250s would otherwise be read as replies inside the TLS session.
    s = raw_server(b"220 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n")
    rc, out, err = send(s.port, "--starttls")
    assert rc == 1
    assert out["error"]["type"] == "SMTPProtocolError", (out, err)
    assert "STARTTLS" in out["error"]["message"]
    assert not any(l.upper().startswith((b"MAIL", b"AUTH", b"RCPT")) for l in s.lines), s.lines


def test_handshake_with_a_non_tls_peer_fails_with_ssl_error(raw_server):
    s = raw_server(b"220 go ahead\r\n")  # then answers the ClientHello with silence and close
    rc, out, _ = send(s.port, "--starttls")
    assert (rc, out["error"]["type"]) == (1, "SSLError"), out


def test_starttls_refused_is_an_error_not_a_fallback(raw_server):
    s = raw_server(b"454 4.7.0 TLS not available\r\n")
    rc, out, _ = send(s.port, "--starttls")
    assert rc == 1
    assert (out["error"]["type"], out["error"]["code"]) == ("SMTPResponseException", 454), out
    assert not any(l.upper().startswith(b"MAIL") for l in s.lines), s.lines

