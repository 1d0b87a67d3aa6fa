"""Issue 22: hostile bytes from either side never crash or hang smtp-record. A line past the line
limit (a client's command, a server's reply, a flood without line end) ends that session with a
problem naming max-line; binary bytes, NUL, bare CR and bare LF are recorded; the recorder then
writes its file and exits as asked."""

from __future__ import annotations

import socket
import threading

import pytest

from recorder_proc import Recorder, missing_reason

MAX_LINE = 64 * 1024  # scenario::PeerLimits::max_line, CRLF included


@pytest.fixture(autouse=True)
def _built():
    reason = missing_reason()
    if reason:
        pytest.skip(reason)


class Upstream:
    """Answers every line with `250 ok` and QUIT with `221 bye` and a close, except: `reply` is
    sent after the greeting's first command instead (a hostile reply)."""

    def __init__(self, reply: bytes | None = None) -> None:
        self.reply = reply
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            try:
                conn.sendall(b"220 upstream.test ESMTP\r\n")
                f = conn.makefile("rb")
                first = True
                while (line := f.readline(4 * MAX_LINE)):
                    if first and self.reply is not None:
                        conn.sendall(self.reply)
                    elif line.upper().startswith(b"QUIT"):
                        conn.sendall(b"221 bye\r\n")
                        return
                    else:
                        conn.sendall(b"250 ok\r\n")
                    first = False
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=5)


def run(tmp_path, client_bytes: bytes, reply: bytes | None = None) -> tuple[dict, str]:
    upstream = Upstream(reply)
    out = tmp_path / "recorded.scn"
    rec = Recorder(out, ["--upstream", f"127.0.0.1:{upstream.port}"], "--idle-timeout", "5")
    try:
        with socket.create_connection((rec.host, rec.port), timeout=10) as c:
            f = c.makefile("rb")
            f.readline()
            try:
                c.sendall(client_bytes)
                f.read()  # until the recorder closes: after QUIT, or at the limit
            except OSError:
                pass  # cut off at the limit: fine
        events = rec.finish(timeout=30)
        assert rec.proc.returncode in (0, 1), rec.stderr  # never a signal
    finally:
        rec.stop()
        upstream.close()
    assert len(events) == 1, (events, rec.stderr)
    return events[0], out.read_text()


def test_client_line_over_the_limit_ends_the_session_with_the_limit_named(tmp_path):
    event, text = run(tmp_path, b"EHLO " + b"x" * MAX_LINE + b"\r\nQUIT\r\n")
    assert event["ok"] is False
    assert ("the client sent a line longer than 65536 bytes (max-line): the session ends here"
            in event["problems"]), event
    assert "max-line" in text


def test_server_reply_over_the_limit_ends_the_session_with_the_limit_named(tmp_path):
    event, _ = run(tmp_path, b"EHLO a\r\nQUIT\r\n", reply=b"250 " + b"y" * MAX_LINE + b"\r\n")
    assert ("the server sent a line longer than 65536 bytes (max-line): the session ends here"
            in event["problems"]), event


def test_server_flood_without_line_end_is_cut_at_the_limit(tmp_path):
    event, _ = run(tmp_path, b"EHLO a\r\n", reply=bytes(range(256)).replace(b"\n", b"") * 20000)
    assert any("max-line" in p for p in event["problems"]), event


def test_binary_nul_bare_cr_and_bare_lf_lines_are_recorded(tmp_path):
    hostile = (b"EHLO client.example\r\n" + b"NOOP \x00\xff\x01\r\n" + b"NOOP a\rb\r\n" +
               b"NOOP bare LF\n" + bytes(range(1, 256)).replace(b"\n", b"") + b"\r\n" +
               b"QUIT\r\n")
    event, text = run(tmp_path, hostile)
    assert event["written"], event
    assert "NOOP \\0\\xFF\\x01" in text, text


def test_line_at_the_limit_is_recorded(tmp_path):
    event, text = run(tmp_path, b"NOOP " + b"x" * (MAX_LINE - 7) + b"\r\nQUIT\r\n")
    assert not any("max-line" in p for p in event["problems"]), event
    assert "NOOP xxx" in text
