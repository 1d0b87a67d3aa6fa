"""swaks (a real, independent SMTP client) against scripted scenarios over plain, STARTTLS,
implicit TLS and LMTP on a Unix socket: one file per protocol, every transport from the same file."""

from __future__ import annotations

import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("swaks") is None,
                                reason="swaks is not installed (ci/install-deps.sh installs it)")

SMTP = """\
description: swaks delivers one message; its content is checked line by line
transports: plain starttls tls
S: 220 mx.example.org ESMTP
C: EHLO swaks.test
S: 250-mx.example.org
S: 250 8BITMIME
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<b@example.org>
S: 250 2.1.5 ok
C: DATA
S: 354 go ahead
data
D: Subject: swaks
D: .leading dot, un-stuffed
D:
D: body*
S: 250 2.0.0 queued
C: QUIT
S: 221 2.0.0 bye
"""

LMTP = """\
description: swaks speaks LMTP over a Unix socket; one reply per recipient after the dot
protocol: lmtp
transports: unix
S: 220 lmtp.example.org LMTP
C: LHLO swaks.test
S: 250-lmtp.example.org
S: 250 PIPELINING
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<b@example.org>
S: 250 2.1.5 ok
C: RCPT TO:<c@example.org>
S: 250 2.1.5 ok
C: DATA
S: 354 go ahead
data capture
S: 250 2.0.0 <b@example.org> delivered
S: 452 4.2.2 <c@example.org> mailbox full
C: QUIT
S: 221 2.0.0 bye
"""

BODY = "Subject: swaks\n.leading dot, un-stuffed\n\nbody of the message"


def swaks(*args):
    return subprocess.run(["swaks", "--from", "a@example.org", "--helo", "swaks.test",
                           "--data", BODY, "--timeout", "10", *args],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("transport,flags", [("plain", []), ("starttls", ["--tls"]),
                                             ("tls", ["--tlsc"])])
def test_swaks_smtp(fakeserver, certs, tmp_path, transport, flags):
    scn = tmp_path / "swaks.scn"
    scn.write_text(SMTP)
    srv = fakeserver("serve", scn, "--transport", transport, "--sessions", 1, "--cert",
                     certs["cert"], "--key", certs["key"], "--step-timeout", 5)
    l = srv.listener(transport)
    r = swaks("--server", f"{l['host']}:{l['port']}", "--to", "b@example.org", *flags)
    report = srv.next_session()
    assert r.returncode == 0, r.stdout + r.stderr
    assert report["ok"], srv.stderr()
    assert srv.wait() == 0
    if transport == "starttls":
        assert any(s.get("synthetic") for s in report["steps"])


def test_swaks_lmtp_over_unix(fakeserver, tmp_path):
    scn = tmp_path / "lmtp.scn"
    scn.write_text(LMTP)
    srv = fakeserver("serve", scn, "--unix-dir", tmp_path, "--sessions", 1, "--step-timeout", 5)
    l = srv.listener("unix")
    r = swaks("--protocol", "LMTP", "--socket", l["path"], "--to", "b@example.org,c@example.org")
    report = srv.next_session()
    assert report["ok"], srv.stderr()
    # swaks reports the partial failure (one recipient refused after the dot)
    assert "452 4.2.2 <c@example.org> mailbox full" in r.stdout
    data = [s for s in report["steps"] if s["text"] == "data capture"][0]
    assert "Subject: swaks\\r\\n.leading dot, un-stuffed\\r\\n" in data["detail"]


def test_swaks_divergence_is_reported(fakeserver, tmp_path):
    scn = tmp_path / "swaks.scn"
    scn.write_text(SMTP)
    srv = fakeserver("serve", scn, "--transport", "plain", "--sessions", 1, "--step-timeout", 5)
    l = srv.listener("plain")
    r = swaks("--server", f"{l['host']}:{l['port']}", "--to", "someone-else@example.org")
    report = srv.next_session()
    assert r.returncode != 0
    assert not report["ok"]
    assert report["divergence"]["where"] == f"{scn}:9"
    assert report["divergence"]["received"] == "RCPT TO:<someone-else@example.org>\\r\\n"
    assert srv.wait() == 1
