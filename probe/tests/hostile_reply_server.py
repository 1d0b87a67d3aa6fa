"""A hostile SMTP server for smtp-probe's robustness tests (issue 22): it answers the probe's
discovery connection normally, then every later connection with replies built to hurt the player:
lines at the line limit, one byte over it, binary bytes, or a multiline reply that never ends.
Prints `ready PORT` on stdout once it listens; serves until killed.

    hostile_reply_server.py --mode at-limit|over-limit|binary|endless [--cert PEM --key PEM]
"""

from __future__ import annotations

import argparse
import random
import socket
import ssl
import sys
import threading

MAX_LINE = 64 * 1024  # scenario::PeerLimits::max_line, CRLF included


class Session:
    def __init__(self, sock: socket.socket, mode: str, tls: ssl.SSLContext | None, normal: bool):
        self.sock, self.mode, self.tls, self.normal = sock, mode, tls, normal
        self.buf = b""
        self.rnd = random.Random(1)

    def line(self, code: int, text: str, last: bool = True) -> bytes:
        sep = b" " if last else b"-"
        head = str(code).encode() + sep + text.encode()
        if self.normal:
            return head + b"\r\n"
        if self.mode == "at-limit":
            return head + b"x" * (MAX_LINE - len(head) - 2) + b"\r\n"
        if self.mode == "over-limit":
            return head + b"x" * (MAX_LINE - len(head) - 1) + b"\r\n"
        if self.mode == "binary":
            junk = bytes(self.rnd.randrange(256) for _ in range(3000)).replace(b"\n", b"")
            return head + b" \0\r" + junk + b"\r\n"
        return head + b"\r\n"  # endless: see reply()

    def reply(self, code: int, *texts: str) -> None:
        if not self.normal and self.mode == "endless":
            # A multiline reply that never ends: the probe must stop reading, not the server.
            chunk = (str(code).encode() + b"-" + b"y" * 1000 + b"\r\n") * 64
            while True:
                self.sock.sendall(chunk)
        texts = texts or ("ok",)
        out = b"".join(self.line(code, t, i == len(texts) - 1) for i, t in enumerate(texts))
        self.sock.sendall(out)

    def read_line(self) -> bytes | None:
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
            if len(self.buf) > 4 * MAX_LINE:
                return None
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def read_bytes(self, n: int) -> None:
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                return
            self.buf += data
        self.buf = self.buf[n:]

    def serve(self) -> None:
        self.reply(220, "hostile.example ESMTP")
        while True:
            line = self.read_line()
            if line is None:
                return
            verb = line.split(b" ", 1)[0].upper()
            if verb in (b"EHLO", b"LHLO"):
                caps = ["hostile.example", "PIPELINING", "SIZE 1000000", "8BITMIME", "SMTPUTF8"]
                if self.tls is not None and not isinstance(self.sock, ssl.SSLSocket):
                    caps.append("STARTTLS")
                caps.append("AUTH PLAIN")
                self.reply(250, *caps)
            elif verb == b"STARTTLS" and self.tls is not None:
                self.reply(220, "go ahead")
                self.sock = self.tls.wrap_socket(self.sock, server_side=True)
                self.buf = b""
            elif verb == b"DATA":
                self.reply(354, "go ahead")
                while (l := self.read_line()) not in (None, b"."):
                    pass
                self.reply(250, "queued")
            elif verb == b"BDAT":
                parts = line.split()
                self.read_bytes(int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0)
                self.reply(250, "chunk")
            elif verb == b"QUIT":
                self.reply(221, "bye")
                return
            elif verb == b"HELO":
                self.reply(250, "hostile.example")
            else:
                self.reply(250, "ok")


def handle(conn: socket.socket, mode: str, tls: ssl.SSLContext | None, normal: bool) -> None:
    conn.settimeout(30)
    s = Session(conn, mode, tls, normal)
    try:
        s.serve()
    except (OSError, ValueError):
        pass  # the probe hung up on us: that is what it should do
    finally:
        try:
            s.sock.close()
        except OSError:
            pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True, choices=["at-limit", "over-limit", "binary", "endless"])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()
    tls = None
    if a.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.cert, a.key)
    srv = socket.create_server(("127.0.0.1", 0))
    print(f"ready {srv.getsockname()[1]}", flush=True)
    count = 0
    while True:
        conn, _ = srv.accept()
        count += 1
        # The first connection is the probe's discovery: normal, so that every check runs.
        threading.Thread(target=handle, args=(conn, a.mode, tls, count == 1), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
