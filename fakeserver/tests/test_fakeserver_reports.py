"""Mismatch reports: where the client departed from the script, with the bytes made visible, on
stdout (JSON), on stderr (for people) and in the exit status."""

from __future__ import annotations

import json
import smtplib
import socket

from fakeserver_proc import SCENARIOS

BASIC = SCENARIOS / "basic" / "send-one-message.scn"


def test_wrong_sender_is_reported_with_file_line_and_bytes(fakeserver):
    srv = fakeserver("serve", BASIC, "--transport", "plain", "--sessions", 1, "--step-timeout", 5)
    l = srv.listener("plain")
    with smtplib.SMTP(l["host"], l["port"], timeout=10) as s:
        try:
            s.sendmail("mallory@example.net", ["bob@example.org"], b"Subject: x\r\n\r\nx\r\n")
        except smtplib.SMTPServerDisconnected:
            pass  # the server stops talking at the divergence
    report = srv.next_session()
    assert srv.wait() == 1  # a session diverged
    assert not report["ok"]
    d = report["divergence"]
    assert d["where"] == f"{BASIC}:16"
    assert d["expected"] == "C: MAIL FROM:<alice@example.org>*"
    assert d["received"].lower().startswith("mail from:<mallory@example.net>")
    assert d["received"].endswith("\\r\\n")
    statuses = [s["status"] for s in report["steps"]]
    assert statuses[:6] == ["ok"] * 6 and statuses[6] == "diverged"
    assert set(statuses[7:]) == {"not-reached"}
    assert f"DIVERGED at {BASIC}:16" in srv.stderr()
    assert srv.exit_event == {"event": "exit", "sessions": 1, "diverged": 1, "messages": 0,
                              "message_bytes": 0}


def test_bare_lf_and_controls_are_visible(fakeserver):
    srv = fakeserver("serve", BASIC, "--transport", "plain", "--sessions", 1, "--step-timeout", 5)
    l = srv.listener("plain")
    with socket.create_connection((l["host"], l["port"]), timeout=10) as c:
        c.recv(1024)
        c.sendall(b"EHLO a\x00b\n")
        c.recv(1024)
    d = srv.next_session()["divergence"]
    assert d["received"] == "EHLO a\\0b\\n"
    assert "bare LF" in d["reason"]


def test_client_silence_times_out_at_the_step(fakeserver):
    srv = fakeserver("serve", BASIC, "--transport", "plain", "--sessions", 1,
                     "--step-timeout", 0.3)
    l = srv.listener("plain")
    with socket.create_connection((l["host"], l["port"]), timeout=10) as c:
        c.recv(1024)
        report = srv.next_session()
    assert "timed out after 300 ms" in report["divergence"]["reason"]
    assert report["divergence"]["where"].endswith("greeting-ehlo.inc:3")


def test_every_connection_replays_independently(fakeserver):
    """Many concurrent sessions, each a full transaction, all following the script."""
    import concurrent.futures

    n = 40
    srv = fakeserver("serve", BASIC, "--transport", "plain", "--sessions", n, "--quiet")
    l = srv.listener("plain")

    def one(i):
        with smtplib.SMTP(l["host"], l["port"], timeout=20) as s:
            return s.sendmail("alice@example.org", ["bob@example.org"],
                              b"Subject: hello\r\n\r\nOne line of body.\r\n")

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(one, range(n)))
    assert results == [{}] * n
    assert srv.wait() == 0
    assert len(srv.sessions) == n and all(s["ok"] for s in srv.sessions)
    assert len({s["peer"] for s in srv.sessions}) == n


def test_ipv6_loopback(fakeserver):
    if not socket.has_ipv6:
        import pytest
        pytest.skip("no IPv6 on this machine")
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError as e:
        import pytest
        pytest.skip(f"IPv6 loopback unavailable: {e}")
    srv = fakeserver("serve", BASIC, "--transport", "plain", "--host", "::1", "--host",
                     "127.0.0.1", "--sessions", 1)
    l = srv.listener("plain", host="::1")
    assert srv.listener("plain", host="127.0.0.1")["port"] != 0
    with smtplib.SMTP("::1", l["port"], timeout=10) as s:
        assert s.sendmail("alice@example.org", ["bob@example.org"],
                          b"Subject: hello\r\n\r\nOne line of body.\r\n") == {}
    report = srv.next_session()
    assert report["ok"] and report["peer"].startswith("[::1]:")
