"""Sink mode: every accepted message stored byte-exact in a Maildir, over plain, STARTTLS,
implicit TLS and LMTP on a Unix socket; PIPELINING answered in one write; BDAT."""

from __future__ import annotations

import smtplib
import socket
import ssl

import pytest


def maildir_messages(d):
    return sorted(p.read_bytes() for p in (d / "new").iterdir())


def messages():
    """Messages whose bytes must survive exactly: leading dots, 8-bit, long lines, empty body."""
    out = []
    for i in range(12):
        body = (f"Subject: message {i}\r\n\r\n"
                f".leading dot {i}\r\n"
                "..two dots\r\n"
                ".\tdot tab\r\n").encode()
        body += "caf\u00e9 8-bit \u2603\r\n".encode("utf-8")
        body += b"x" * (900 + i * 50) + b"\r\n"
        body += b"a bare\rCR inside a line\r\n"
        out.append(body)
    out.append(b"Subject: empty body\r\n\r\n")
    return out


def smtplib_send_all(make, msgs, **kw):
    with make() as s:
        for m in msgs:
            assert s.sendmail("alice@example.org", ["bob@example.org"], m, **kw) == {}


def test_plain_stores_every_message_byte_exact(fakeserver, tmp_path):
    md = tmp_path / "Maildir"
    srv = fakeserver("sink", "--maildir", md, "--quiet")
    l = srv.listener("plain")
    msgs = messages()
    smtplib_send_all(lambda: smtplib.SMTP(l["host"], l["port"], timeout=10), msgs,
                     mail_options=["BODY=8BITMIME"])
    assert srv.stop() == 0
    assert srv.exit_event["messages"] == len(msgs)
    assert maildir_messages(md) == sorted(msgs)
    assert list((md / "tmp").iterdir()) == []


def test_starttls_and_implicit_tls(fakeserver, tmp_path, certs):
    md = tmp_path / "Maildir"
    srv = fakeserver("sink", "--maildir", md, "--cert", certs["cert"], "--key", certs["key"],
                     "--listen", "plain:127.0.0.1:0", "--listen", "tls:127.0.0.1:0", "--quiet")
    ctx = ssl.create_default_context(cafile=str(certs["ca"]))
    plain, tls = srv.listener("plain"), srv.listener("tls")
    msgs = messages()

    def starttls():
        s = smtplib.SMTP(plain["host"], plain["port"], timeout=10)
        s.ehlo()
        assert s.has_extn("starttls")
        s.starttls(context=ctx)
        s.ehlo()
        assert not s.has_extn("starttls")  # not offered again inside TLS
        return s

    smtplib_send_all(starttls, msgs[:6])
    smtplib_send_all(lambda: smtplib.SMTP_SSL(tls["host"], tls["port"], context=ctx, timeout=10),
                     msgs[6:])
    srv.stop()
    assert maildir_messages(md) == sorted(msgs)


def test_ehlo_advertises_the_extensions(fakeserver):
    srv = fakeserver("sink", "--quiet")
    l = srv.listener("plain")
    with smtplib.SMTP(l["host"], l["port"], timeout=10) as s:
        code, _ = s.ehlo()
        assert code == 250
        for ext in ("pipelining", "chunking", "8bitmime", "smtputf8", "size",
                    "enhancedstatuscodes", "dsn", "binarymime"):
            assert s.has_extn(ext), ext
        assert not s.has_extn("starttls")  # no certificate given


def recv_replies(sock, count, timeout=10):
    """Reads until `count` final reply lines (code + space) have arrived."""
    sock.settimeout(timeout)
    data = b""
    while sum(1 for line in data.split(b"\r\n") if len(line) >= 4 and line[3:4] == b" ") < count:
        chunk = sock.recv(65536)
        assert chunk, f"closed early after {data!r}"
        data += chunk
    return data


def test_pipelined_commands_and_bdat(fakeserver, tmp_path):
    md = tmp_path / "Maildir"
    srv = fakeserver("sink", "--maildir", md, "--quiet")
    l = srv.listener("plain")
    with socket.create_connection((l["host"], l["port"]), timeout=10) as c:
        recv_replies(c, 1)
        c.sendall(b"EHLO me\r\n")
        recv_replies(c, 1)
        # One write with the whole envelope and two chunks: the replies come back, in order.
        chunk1 = b"Subject: bdat\r\n\r\n.no dot"
        chunk2 = b"-stuffing\r\nin BDAT\r\n"
        c.sendall(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n"
                  b"BDAT %d\r\n" % len(chunk1) + chunk1 +
                  b"BDAT %d LAST\r\n" % len(chunk2) + chunk2)
        replies = recv_replies(c, 4).decode()
        codes = [line[:3] for line in replies.split("\r\n") if line]
        assert codes == ["250", "250", "250", "250"], replies
        assert "octets received" in replies.split("\r\n")[2]
        c.sendall(b"QUIT\r\n")
        recv_replies(c, 1)
    srv.stop()
    assert maildir_messages(md) == [chunk1 + chunk2]


def test_count_only_bdat_counts_every_octet(fakeserver):
    # Without --maildir the sink drops BDAT payloads as they arrive (issue 20): the count must
    # still be every octet of every chunk, across reads and in a second message.
    srv = fakeserver("sink", "--quiet")
    l = srv.listener("plain")
    chunks = [b"Subject: count\r\n\r\n", b"x" * 300000, b"\r\n.last line\r\n"]
    with socket.create_connection((l["host"], l["port"]), timeout=10) as c:
        recv_replies(c, 1)
        c.sendall(b"EHLO me\r\n")
        recv_replies(c, 1)
        for _ in range(2):
            wire = b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n"
            for i, chunk in enumerate(chunks):
                last = b" LAST" if i == len(chunks) - 1 else b""
                wire += b"BDAT %d%s\r\n" % (len(chunk), last) + chunk
            c.sendall(wire)
            replies = recv_replies(c, 2 + len(chunks)).decode()
            assert [r[:3] for r in replies.split("\r\n") if r] == ["250"] * 5, replies
        c.sendall(b"QUIT\r\n")
        recv_replies(c, 1)
    srv.stop()
    assert srv.exit_event is not None
    assert srv.exit_event["messages"] == 2, srv.exit_event
    assert srv.exit_event["message_bytes"] == 2 * sum(map(len, chunks)), srv.exit_event


def test_count_only_data_counts_unstuffed_octets(fakeserver):
    # Without --maildir DATA content is counted and dropped as it arrives (issue 20): the count is
    # the un-stuffed message, whatever the reads.
    srv = fakeserver("sink", "--quiet")
    l = srv.listener("plain")
    body = b"Subject: count\r\n\r\n" + b"..dot\r\n" + (b"y" * 998 + b"\r\n") * 400
    with socket.create_connection((l["host"], l["port"]), timeout=10) as c:
        recv_replies(c, 1)
        c.sendall(b"EHLO me\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
        recv_replies(c, 4)
        c.sendall(body + b".\r\n")
        assert recv_replies(c, 1).startswith(b"250")
        c.sendall(b"QUIT\r\n")
        recv_replies(c, 1)
    srv.stop()
    assert srv.exit_event["messages"] == 1, srv.exit_event
    assert srv.exit_event["message_bytes"] == len(body) - 1, srv.exit_event  # one dot removed


def test_lmtp_over_unix_replies_per_recipient(fakeserver, tmp_path):
    md = tmp_path / "Maildir"
    path = tmp_path / "lmtp.sock"
    srv = fakeserver("sink", "--lmtp", "--listen", f"unix:{path}", "--maildir", md, "--quiet")
    assert srv.listener("unix")["path"] == str(path)
    with socket.socket(socket.AF_UNIX) as c:
        c.connect(str(path))
        assert b"LMTP" in recv_replies(c, 1)
        c.sendall(b"LHLO me\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n"
                  b"RCPT TO:<c@example.org>\r\nDATA\r\n")
        recv_replies(c, 5)
        c.sendall(b"Subject: lmtp\r\n\r\nhello\r\n.\r\n")
        after_dot = recv_replies(c, 2).decode()
        assert after_dot.count("250 2.0.0") == 2, after_dot
    # smtplib's LMTP client over the same socket
    with smtplib.LMTP(str(path), timeout=10) as s:
        assert s.sendmail("a@example.org", ["d@example.org"], b"Subject: 2\r\n\r\nx\r\n") == {}
    srv.stop()
    assert maildir_messages(md) == sorted([b"Subject: lmtp\r\n\r\nhello\r\n",
                                           b"Subject: 2\r\n\r\nx\r\n"])


def test_swaks_into_the_sink(fakeserver, tmp_path, certs):
    import shutil
    import subprocess
    if shutil.which("swaks") is None:
        pytest.skip("swaks is not installed (ci/install-deps.sh installs it)")
    md = tmp_path / "Maildir"
    srv = fakeserver("sink", "--maildir", md, "--cert", certs["cert"], "--key", certs["key"],
                     "--quiet")
    l = srv.listener("plain")
    body = "Subject: from swaks\r\n\r\nsent by swaks with STARTTLS\r\n"
    r = subprocess.run(["swaks", "--server", f"{l['host']}:{l['port']}", "--from", "a@example.org",
                        "--to", "b@example.org", "--tls", "--data", body, "--helo", "swaks.test"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    srv.stop()
    stored = maildir_messages(md)
    assert len(stored) == 1 and b"sent by swaks with STARTTLS" in stored[0]
