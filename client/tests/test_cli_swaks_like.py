"""smtp-client as an admin uses swaks (issue 19): the final reply with the queue id in the human
output, swaks' short flags (-s -p -f -t -d), a test message built when no --data is given
(--header, --body), and a plaintext client on an implicit-TLS port told so instead of waiting
silently. Against the project's fake server in sink mode (Maildir: what was stored)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tls_certs import make_certs

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SMTPKIT_BUILD_DIR", ROOT / "build" / "ci")) / "bin"


@pytest.fixture
def sink(tmp_path):
    """start(*extra) -> (listeners by transport, Maildir path); stopped at teardown."""
    for exe in ("smtp-fakeserver", "smtp-client"):
        if not (BIN / exe).exists():
            pytest.skip(f"{BIN / exe} not built (set SMTPKIT_BUILD_DIR)")
    procs = []

    def start(*extra):
        md = tmp_path / f"Maildir{len(procs)}"
        p = subprocess.Popen([str(BIN / "smtp-fakeserver"), "sink", "--maildir", str(md), "--quiet",
                              *map(str, extra)], stdout=subprocess.PIPE, text=True)
        procs.append(p)
        listeners = {}
        for line in p.stdout:
            event = json.loads(line)
            if event["event"] == "listening":
                listeners[event["transport"]] = event
            if event["event"] == "ready":
                break
        return listeners, md

    yield start
    for p in procs:
        p.terminate()
        p.wait(timeout=15)


def stored(md: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((md / "new").iterdir())]


def test_short_flags_and_the_final_reply_with_the_queue_id(sink, tmp_path):
    listeners, md = sink()
    l = listeners["plain"]
    msg = tmp_path / "m.eml"
    msg.write_bytes(b"Subject: short flags\r\n\r\nhi\r\n")
    p = subprocess.run([str(BIN / "smtp-client"), "send", "-s", l["host"], "-p", str(l["port"]),
                        "-f", "alice@example.org", "-t", "bob@example.org", "-d", str(msg),
                        "--timeout", "10"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    (name,) = [f.name for f in (md / "new").iterdir()]
    assert p.stdout.strip() == f"accepted for 1 of 1 recipient(s): 250 2.0.0 Ok: queued as {name}"
    assert stored(md) == [b"Subject: short flags\r\n\r\nhi\r\n"]


def test_a_test_message_when_no_data_is_given(sink):
    listeners, md = sink()
    l = listeners["plain"]
    p = subprocess.run([str(BIN / "smtp-client"), "send", "--server", f"{l['host']}:{l['port']}",
                        "-f", "alice@example.org", "-t", "bob@example.org", "-t", "carol@example.org",
                        "--header", "Subject: custom subject", "--header", "X-Ticket: 42",
                        "--body", "hello from the test", "--json", "--timeout", "10"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout + p.stderr
    (message,) = stored(md)
    head, _, body = message.partition(b"\r\n\r\n")
    headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n"))
    assert headers[b"Subject"] == b"custom subject"        # replaced, not doubled
    assert head.count(b"Subject:") == 1
    assert headers[b"X-Ticket"] == b"42"
    assert headers[b"From"] == b"alice@example.org"
    assert headers[b"To"] == b"bob@example.org, carol@example.org"
    assert headers[b"Date"] and headers[b"Message-Id"].startswith(b"<")
    assert headers[b"X-Mailer"].startswith(b"smtp-client (smtpkit)")
    assert body == b"hello from the test\r\n"


def test_standard_input_still_read_when_piped(sink):
    listeners, md = sink()
    l = listeners["plain"]
    p = subprocess.run([str(BIN / "smtp-client"), "send", "--server", f"{l['host']}:{l['port']}",
                        "-f", "alice@example.org", "-t", "bob@example.org", "--timeout", "10"],
                       input=b"Subject: piped\r\n\r\nx\r\n", capture_output=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert stored(md) == [b"Subject: piped\r\n\r\nx\r\n"]


def test_plaintext_on_an_implicit_tls_port_says_so(sink, tmp_path):
    (tmp_path / "certs").mkdir()
    certs = make_certs(tmp_path / "certs")
    cert, key = certs["good"]
    listeners, _ = sink("--cert", cert, "--key", key, "--listen", "tls:127.0.0.1:0")
    l = listeners["tls"]
    started = time.monotonic()
    p = subprocess.run([str(BIN / "smtp-client"), "send", "--server", f"{l['host']}:{l['port']}",
                        "-f", "alice@example.org", "-t", "bob@example.org", "--timeout", "5",
                        "--body", "x"], capture_output=True, text=True, timeout=60)
    took = time.monotonic() - started
    assert p.returncode == 1, p.stdout + p.stderr
    # After 3 s, while still waiting: the hint; then the timeout's error carries it too.
    assert "no greeting after 3 s; is this an implicit TLS port? try --tls" in p.stderr, p.stderr
    assert "SMTPTimeoutError" in p.stderr and p.stderr.count("try --tls") == 2, p.stderr
    assert 4 < took < 30, took
