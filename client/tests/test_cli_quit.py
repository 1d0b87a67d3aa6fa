"""smtp-client's JSON after the message: a QUIT that fails is reported ("quit") without changing
the message's outcome, and a failing send says whether the message may have been delivered
("delivery_unknown"). A raw socket server in the test plays each session."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from one_session_server import OneSessionServer

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SMTPKIT_BUILD_DIR", ROOT / "build" / "ci")) / "bin" / "smtp-client"


class OneSession(OneSessionServer):
    """Answers EHLO, MAIL, RCPT, DATA as a plain server would; after the final dot sends
    `after_dot` (bytes, may be empty), and to QUIT `quit_reply`; closes when `close_after_dot`."""

    def __init__(self, after_dot: bytes, quit_reply: bytes = b"221 bye\r\n",
                 close_after_dot: bool = False):
        self.after_dot, self.quit_reply, self.close_after_dot = after_dot, quit_reply, close_after_dot
        self.start()

    def session(self, conn):
        buf, in_data = b"", False
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while True:
                if in_data:
                    end = buf.find(b"\r\n.\r\n")
                    if end < 0:
                        break
                    buf, in_data = buf[end + 5:], False
                    if self.after_dot:
                        conn.sendall(self.after_dot)
                    if self.close_after_dot:
                        return
                    continue
                eol = buf.find(b"\r\n")
                if eol < 0:
                    break
                line, buf = buf[:eol].lower(), buf[eol + 2:]
                if line.startswith(b"ehlo"):
                    conn.sendall(b"250 raw.test\r\n")
                elif line.startswith(b"data"):
                    conn.sendall(b"354 go\r\n")
                    in_data = True
                elif line.startswith(b"quit"):
                    conn.sendall(self.quit_reply)
                    return
                else:
                    conn.sendall(b"250 ok\r\n")


def send(server: OneSession, tmp_path: Path):
    if not BIN.exists():
        pytest.skip(f"{BIN} is not built")
    msg = tmp_path / "m.eml"
    msg.write_bytes(b"Subject: t\r\n\r\nbody\r\n")
    proc = subprocess.run([str(BIN), "send", "--server", f"127.0.0.1:{server.port}", "--from",
                           "a@example.org", "--to", "b@example.org", "--data", str(msg),
                           "--no-pipelining", "--timeout", "3", "--json"],
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def test_a_failing_quit_is_reported_and_the_message_stays_delivered(tmp_path):
    # QUIT answered 250: a reply QUIT cannot get (its reply is 221) - the replies may have been out
    # of step, which a caller should hear about; the message itself had its own 250.
    rc, out, err = send(OneSession(b"250 queued\r\n", quit_reply=b"250 not bye\r\n"), tmp_path)
    assert rc == 0, (out, err)
    assert out["ok"] is True and out["refused"] == {}
    assert out["quit"]["ok"] is False
    assert out["quit"]["error"]["type"] == "SMTPProtocolError"
    assert "cannot answer QUIT" in out["quit"]["error"]["message"]


def test_a_clean_quit_adds_nothing(tmp_path):
    rc, out, err = send(OneSession(b"250 queued\r\n"), tmp_path)
    assert (rc, out) == (0, {"ok": True, "refused": {}}), err


def test_a_close_after_the_dot_is_delivery_unknown(tmp_path):
    rc, out, err = send(OneSession(b"", close_after_dot=True), tmp_path)
    assert rc == 1, (out, err)
    assert out["ok"] is False
    assert out["error"]["type"] == "SMTPServerDisconnected"
    assert out["error"]["delivery_unknown"] is True
    assert "may or may not have been delivered" in out["error"]["message"]


def test_an_extra_reply_behind_the_final_one_is_delivery_unknown(tmp_path):
    # Two replies to one dot: the one read may not be the one to the dot.
    rc, out, err = send(OneSession(b"250 queued\r\n554 rejected\r\n"), tmp_path)
    assert rc == 1, (out, err)
    assert out["error"]["type"] == "SMTPProtocolError"
    assert out["error"]["delivery_unknown"] is True
