"""A raw socket server for the smtp-client tests that need a server misbehaving in one precise
way: it listens on 127.0.0.1 (port 0, read back), accepts one connection in a thread, greets it,
and hands it to the subclass's `session(conn)`, which plays the rest."""

import socket
import threading


class OneSessionServer:
    greeting = b"220 raw.test ESMTP\r\n"

    def start(self):
        """Call at the end of the subclass's __init__, once its attributes are set."""
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        conn, _ = self.sock.accept()
        conn.settimeout(10)
        with conn:
            try:
                conn.sendall(self.greeting)
                self.session(conn)
            except OSError:
                return

    def session(self, conn):
        raise NotImplementedError

    def stop(self):
        self.sock.close()
        self.thread.join(timeout=10)
