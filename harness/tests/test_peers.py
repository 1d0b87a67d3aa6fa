"""The harness's own tests: each server fixture does what the client tests rely on, checked with
raw sockets, independently of any client under test."""

from __future__ import annotations

import socket
import time

import pytest

from harness.servers.aiosmtpd_peer import AiosmtpdServer
from harness.servers.smtp_sink import SmtpSink, listening_port, parse_dump
from harness.servers.transcript import visible


class Wire:
    """A raw SMTP conversation over a socket: write bytes, read whole replies."""

    def __init__(self, sock: socket.socket) -> None:
        sock.settimeout(10)
        self.sock = sock
        self.file = sock.makefile("rb")

    @classmethod
    def to(cls, server) -> "Wire":
        if server.unix_path:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(server.unix_path)
        else:
            sock = socket.create_connection((server.host, server.port))
        return cls(sock)

    def reply(self) -> list[bytes]:
        lines = []
        while True:
            line = self.file.readline()
            assert line, f"connection closed after {lines!r}"
            lines.append(line)
            if line[3:4] != b"-":
                return lines

    def cmd(self, data: bytes) -> list[bytes]:
        self.sock.sendall(data)
        return self.reply()

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def test_aiosmtpd_records_exact_bytes_and_transcript(aiosmtpd_smtp, token):
    w = Wire.to(aiosmtpd_smtp)
    assert w.reply()[0].startswith(b"220 ")
    assert w.cmd(b"EHLO peer.test\r\n")[-1].startswith(b"250 ")
    assert w.cmd(f"MAIL FROM:<{token}@x.test>\r\n".encode()) == [b"250 2.1.0 sender ok\r\n"]
    assert w.cmd(b"RCPT TO:<r@x.test>\r\n") == [b"250 2.1.5 recipient ok\r\n"]
    assert w.cmd(b"DATA\r\n")[0].startswith(b"354")
    assert w.cmd(b"a\r\n..b\r\n\r\nc\nd\r\n.\r\n") == [b"250 2.0.0 message accepted\r\n"]
    assert w.cmd(b"QUIT\r\n") == [b"221 Bye\r\n"]
    w.close()
    session = aiosmtpd_smtp.session_with(token)
    assert session.messages[0]["content"] == b"a\r\n.b\r\n\r\nc\nd\r\n"
    assert session.commands() == ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"]
    assert ("C", b"..b\r\n") in session.lines
    assert "S: 221 Bye\\r\\n\n" in session.render()


@pytest.mark.parametrize("verb, command, code", [
    ("mail", b"MAIL FROM:<{addr}>\r\n", 553),
    ("rcpt", b"RCPT TO:<{addr}>\r\n", 452),
], ids=["mail553", "rcpt452"])
def test_aiosmtpd_address_tags_choose_the_reply(aiosmtpd_smtp, token, verb, command, code):
    w = Wire.to(aiosmtpd_smtp)
    w.reply()
    w.cmd(b"EHLO peer.test\r\n")
    if verb == "rcpt":
        w.cmd(f"MAIL FROM:<{token}@x.test>\r\n".encode())
    addr = f"{token}+{verb}{code}@x.test"
    reply = w.cmd(command.replace(b"{addr}", addr.encode()))
    assert reply == [f"{code} {str(code)[0]}.7.1 harness rule: {verb.upper()} refused for <{addr}>\r\n"
                     .encode()]
    w.close()


def test_aiosmtpd_rules_file(tmp_path, token):
    server = AiosmtpdServer(tmp_path / "rules", rules=[
        {"verb": "RCPT", "match": "^postmaster@", "reply": "550-5.1.1 first line\r\n550 5.1.1 last"}
    ]).start()
    try:
        w = Wire.to(server)
        w.reply()
        w.cmd(b"EHLO peer.test\r\n")
        w.cmd(f"MAIL FROM:<{token}@x.test>\r\n".encode())
        assert w.cmd(b"RCPT TO:<postmaster@x.test>\r\n") == [
            b"550-5.1.1 first line\r\n", b"550 5.1.1 last\r\n"]
        w.close()
    finally:
        server.stop()
    assert not server.alive()


def test_aiosmtpd_size_advertised_only_when_configured(aiosmtpd_smtp, aiosmtpd_smtp_sized):
    for server, expected in ((aiosmtpd_smtp, None), (aiosmtpd_smtp_sized, b"250-SIZE 4096\r\n")):
        w = Wire.to(server)
        w.reply()
        ehlo = w.cmd(b"EHLO peer.test\r\n")
        sizes = [line for line in ehlo if b"SIZE" in line]
        assert sizes == ([expected] if expected else []), ehlo
        w.close()


def test_aiosmtpd_lmtp_answers_once_per_recipient(aiosmtpd_lmtp, token):
    w = Wire.to(aiosmtpd_lmtp)
    w.reply()
    assert w.cmd(b"EHLO peer.test\r\n")[0].startswith(b"500")  # LMTP wants LHLO
    assert w.cmd(b"LHLO peer.test\r\n")[-1].startswith(b"250 ")
    w.cmd(f"MAIL FROM:<{token}@x.test>\r\n".encode())
    for rcpt in (b"a", b"b+data550", b"c+data451"):
        assert w.cmd(b"RCPT TO:<" + rcpt + b"@x.test>\r\n")[0].startswith(b"250")
    w.cmd(b"DATA\r\n")
    first = w.cmd(b"hello\r\n.\r\n")
    assert [first, w.reply(), w.reply()] == [
        [b"250 2.0.0 delivered to <a@x.test>\r\n"],
        [b"550 5.7.1 harness rule: DATA refused for <b+data550@x.test>\r\n"],
        [b"451 4.7.1 harness rule: DATA refused for <c+data451@x.test>\r\n"],
    ]
    w.close()
    [message] = aiosmtpd_lmtp.session_with(token).messages
    assert message["delivered_to"] == ["a@x.test"]


def test_aiosmtpd_servers_per_worker_are_distinct(tmp_path):
    a = AiosmtpdServer(tmp_path / "a").start()
    b = AiosmtpdServer(tmp_path / "b").start()
    try:
        assert a.port != b.port and a.port and b.port
    finally:
        a.stop()
        b.stop()


def test_smtp_sink_port_found_and_dump_parsed(smtp_sink, token):
    assert smtp_sink.proc is not None
    assert listening_port(smtp_sink.proc.pid) == smtp_sink.port
    w = Wire.to(smtp_sink)
    w.reply()
    ehlo = w.cmd(b"EHLO peer.test\r\n")
    assert ehlo[0] == b"250-smtp-sink\r\n"
    w.cmd(f"MAIL FROM:<{token}@x.test> BODY=8BITMIME\r\n".encode())
    w.cmd(b"RCPT TO:<r@x.test>\r\n")
    w.cmd(b"DATA\r\n")
    assert w.cmd(b"Subject: s\r\n\r\n..dot\r\n.\r\n")[0].startswith(b"250")
    w.close()
    [message] = smtp_sink.messages_from(token)
    assert message.mail_args == f"<{token}@x.test> BODY=8BITMIME"
    assert message.rcpt_args == ["<r@x.test>"]
    assert message.content == b"Subject: s\n\n.dot\n"


def test_smtp_sink_refusal_option(smtp_sink_factory):
    sink = smtp_sink_factory("-f", "RCPT")
    w = Wire.to(sink)
    w.reply()
    w.cmd(b"EHLO peer.test\r\n")
    w.cmd(b"MAIL FROM:<a@x.test>\r\n")
    assert w.cmd(b"RCPT TO:<r@x.test>\r\n")[0].startswith(b"5")
    w.close()


def test_smtp_sink_stops(tmp_path):
    sink = SmtpSink(tmp_path / "sink").start()
    sink.stop()
    assert sink.proc is not None and sink.proc.poll() is not None


def test_parse_dump_keeps_envelope_and_body():
    raw = (b"X-Client-Addr: 127.0.0.1\nX-Client-Proto: LMTP\nX-Mail-Args: <a@b>\n"
           b"X-Rcpt-Args: <x@y>\nX-Rcpt-Args: <z@y>\nReceived: from me ([127.0.0.1])\n"
           b"\tby smtp-sink (smtp-sink) with LMTP id 1;\n\tSat, 28 Nov 2026\n"
           b"Subject: hi\n\nbody\n\n")
    message = parse_dump(raw)
    assert (message.mail_args, message.rcpt_args, message.protocol) == (
        "<a@b>", ["<x@y>", "<z@y>"], "LMTP")
    assert message.content == b"Subject: hi\n\nbody\n"


def test_silent_server_never_speaks(silent_server):
    with socket.create_connection((silent_server.host, silent_server.port)) as s:
        s.settimeout(0.3)
        started = time.monotonic()
        with pytest.raises(socket.timeout):
            s.recv(1)
        assert time.monotonic() - started >= 0.25


def test_refusing_port_refuses(refusing_port):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((refusing_port.host, refusing_port.port), timeout=5)


def test_visible_shows_cr_and_lf():
    assert visible(b"a\r\nb\n\x00") == "a\\r\\n\nb\\n\n\\x00"
