"""Bad input never crashes the server or stalls other sessions: garbage, huge lines, clients that
close at random, in sink and scripted mode, while a well-behaved client runs alongside."""

from __future__ import annotations

import os
import random
import smtplib
import socket
import threading
import time

from fakeserver_proc import SCENARIOS

BASIC = SCENARIOS / "basic" / "send-one-message.scn"
GOOD_MESSAGE = b"Subject: hello\r\n\r\nOne line of body.\r\n"


def abuse(host, port, seed):
    """One hostile connection: random garbage, a huge line, or a close at a random point."""
    rnd = random.Random(seed)
    try:
        with socket.create_connection((host, port), timeout=5) as c:
            kind = seed % 4
            if kind == 0:
                c.sendall(os.urandom(rnd.randint(1, 200_000)))
            elif kind == 1:
                c.sendall(b"EHLO " + b"x" * 1_000_000)  # no line end, ever
            elif kind == 2:
                c.sendall(b"EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n" +
                          b"line\r\n" * rnd.randint(0, 5000))
            else:
                c.sendall(b"EHLO a\r\n"[:rnd.randint(0, 8)])
            if rnd.random() < 0.5:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")  # RST
    except OSError:
        pass  # the server may refuse or cut us: that is its right


def run_abusers(host, port, n=60):
    threads = [threading.Thread(target=abuse, args=(host, port, i)) for i in range(n)]
    for t in threads:
        t.start()
    return threads


def timed_good_session(host, port):
    start = time.monotonic()
    with smtplib.SMTP(host, port, timeout=10) as s:
        assert s.sendmail("alice@example.org", ["bob@example.org"], GOOD_MESSAGE) == {}
    return time.monotonic() - start


def test_sink_survives_abuse_and_serves_others(fakeserver, tmp_path):
    md = tmp_path / "Maildir"
    srv = fakeserver("sink", "--maildir", md, "--quiet")
    l = srv.listener("plain")
    threads = run_abusers(l["host"], l["port"])
    # A well-behaved client is served promptly while the abuse goes on.
    assert timed_good_session(l["host"], l["port"]) < 5
    for t in threads:
        t.join()
    assert srv.alive()
    assert timed_good_session(l["host"], l["port"]) < 5
    assert srv.stop() == 0
    assert sorted(p.read_bytes() for p in (md / "new").iterdir()).count(GOOD_MESSAGE) == 2


def test_scripted_server_reports_abuse_and_keeps_going(fakeserver):
    srv = fakeserver("serve", BASIC, "--transport", "plain", "--quiet", "--step-timeout", 3)
    l = srv.listener("plain")
    threads = run_abusers(l["host"], l["port"], n=40)
    assert timed_good_session(l["host"], l["port"]) < 5
    for t in threads:
        t.join()
    assert srv.alive()
    assert timed_good_session(l["host"], l["port"]) < 5
    reports = [srv.next_session() for _ in range(42)]
    assert sum(r["ok"] for r in reports) == 2
    # The abusers talk before the greeting (a divergence of its own, the bytes quoted short) or,
    # when the greeting wins the race, send a line without end.
    huge = [r for r in reports if "line longer than" in (r["divergence"] or {}).get("reason", "")
            or "no line end within" in (r["divergence"] or {}).get("reason", "")
            or "before the greeting" in (r["divergence"] or {}).get("reason", "")]
    assert huge, [r["divergence"] for r in reports]
    assert all(len(r["divergence"]["received"]) < 2000 for r in reports if r["divergence"])
    assert srv.stop() == 1


def test_final_write_to_a_departed_client_is_a_divergence_not_a_crash(fakeserver, tmp_path):
    """Found by the sanitizer job: when the script ran out with output pending and that last write
    failed (the client had gone), the report indexed the step list one past its end (ASan:
    heap-buffer-overflow in Player::diverge). It must be a divergence at the last step."""
    scn = tmp_path / "big-tail.scn"
    tail = "\n".join(f"S: 250-{'x' * 1000} {i}" for i in range(2000))
    scn.write_text("description: a large last write to a client that has gone\n"
                   "S: 220 hi\nC: QUIT\n" + tail + "\nS: 250 end\n")
    srv = fakeserver("serve", scn, "--transport", "plain", "--quiet")
    l = srv.listener("plain")
    with socket.create_connection((l["host"], l["port"]), timeout=5) as s:
        s.recv(100)
        s.sendall(b"QUIT\r\n")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    report = srv.next_session()
    assert srv.alive(), srv.stderr()
    assert not report["ok"]
    assert "writing to the client failed" in report["divergence"]["reason"], report["divergence"]
    assert report["divergence"]["where"].endswith(":2004"), report["divergence"]
    srv.stop()
