"""Tiny socket servers in the test process, for what no real server does on purpose."""

from __future__ import annotations

import socket
import threading


class _LoopbackListener:
    """A TCP listener on 127.0.0.1, port 0, with an accept loop in a thread that hands every
    connection to `_on_connection` until stop(). Subclasses say what a connection gets."""

    def __init__(self, name: str) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.host, self.port = self._listener.getsockname()
        self._stopping = threading.Event()
        self._accepter = threading.Thread(target=self._accept, name=name, daemon=True)

    def start(self):
        self._accepter.start()
        return self

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self._on_connection(conn)

    def _on_connection(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def client_args(self) -> list[str]:
        return ["--server", f"{self.host}:{self.port}"]

    def stop(self) -> None:
        self._stopping.set()
        self._accepter.join(timeout=5)
        self._listener.close()


class SilentServer(_LoopbackListener):
    """Accepts TCP connections on 127.0.0.1 (port 0) and never writes a byte: a stalled greeting.

    Each accepted connection stays open until stop(), so a client can only give up by its own
    timeout. `accepted` counts connections and `received` keeps what clients wrote.
    """

    def __init__(self) -> None:
        super().__init__("silent-server")
        self._conns: list[socket.socket] = []
        self.received = bytearray()
        self.accepted = 0

    def _on_connection(self, conn: socket.socket) -> None:
        conn.setblocking(False)
        self._conns.append(conn)
        self.accepted += 1
        for c in self._conns:
            self._drain(c)

    def _drain(self, conn: socket.socket) -> None:
        try:
            while chunk := conn.recv(4096):
                self.received += chunk
        except (BlockingIOError, OSError):
            pass

    def stop(self) -> None:
        super().stop()
        for conn in self._conns:
            self._drain(conn)
            conn.close()


class RefusingPort:
    """A TCP port on 127.0.0.1 that refuses connections: bound (so nobody else takes it during the
    test) but never listening, so the kernel answers a SYN with RST (ECONNREFUSED)."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.host, self.port = self._sock.getsockname()

    def client_args(self) -> list[str]:
        return ["--server", f"{self.host}:{self.port}"]

    def close(self) -> None:
        self._sock.close()


class DripServer(_LoopbackListener):
    """Accepts TCP connections on 127.0.0.1 (port 0) and sends `payload` one byte every
    `interval` seconds, then stays silent: a server that would stretch a per-read timeout
    forever. `finished` is set once a whole payload went out on some connection."""

    def __init__(self, payload: bytes, interval: float) -> None:
        super().__init__("drip-accept")
        self.payload = payload
        self.interval = interval
        self.finished = threading.Event()
        self._threads: list[threading.Thread] = []

    def _on_connection(self, conn: socket.socket) -> None:
        t = threading.Thread(target=self._drip, args=(conn,), name="drip", daemon=True)
        self._threads.append(t)
        t.start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            try:
                for i in range(len(self.payload)):
                    conn.sendall(self.payload[i:i + 1])
                    if self._stopping.wait(self.interval):
                        return
                self.finished.set()
                self._stopping.wait()
            except OSError:
                return

    def stop(self) -> None:
        self._stopping.set()
        for t in self._threads:
            t.join(timeout=5)
        super().stop()
