"""Starting smtp-fakeserver as a process: port 0, the readiness lines on stdout, the session
reports as they come, the exit line. No sleeps: every wait is on a line from the server."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def find_binary() -> Path | None:
    """$SMTPKIT_BUILD_DIR/bin/smtp-fakeserver, else the newest build/*/bin/smtp-fakeserver."""
    env = os.environ.get("SMTPKIT_BUILD_DIR")
    if env:
        p = Path(env) / "bin" / "smtp-fakeserver"
        return p if p.exists() else None
    found = sorted((ROOT / "build").glob("*/bin/smtp-fakeserver"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


class FakeServer:
    """A running smtp-fakeserver. `listeners` holds the readiness objects (one per listener)."""

    def __init__(self, binary: Path, args: list[str]):
        self.argv = [str(binary), *args]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.lines: queue.Queue = queue.Queue()
        self.stderr_chunks: list[bytes] = []
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()
        self.listeners: list[dict] = []
        self.skipped: list[dict] = []
        self.sessions: list[dict] = []
        self.exit_event: dict | None = None
        self._eof = False
        while True:
            ev = self._next(deadline=time.monotonic() + 30)
            if ev is None:
                raise RuntimeError(f"server exited before ready: {self.stderr()}")
            if ev["event"] == "listening":
                self.listeners.append(ev)
            elif ev["event"] == "skipped":
                self.skipped.append(ev)
            elif ev["event"] == "ready":
                break

    def _pump_stdout(self):
        for raw in self.proc.stdout:
            self.lines.put(raw.decode("utf-8", "replace"))
        self.lines.put(None)

    def _pump_stderr(self):
        for raw in self.proc.stderr:
            self.stderr_chunks.append(raw)

    def stderr(self) -> str:
        return b"".join(self.stderr_chunks).decode("utf-8", "replace")

    def _next(self, deadline: float) -> dict | None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no line from smtp-fakeserver in time")
        try:
            line = self.lines.get(timeout=left)
        except queue.Empty:
            raise TimeoutError("no line from smtp-fakeserver in time") from None
        if line is None:
            self._eof = True
            return None
        return json.loads(line)

    def listener(self, transport: str = "plain", host: str | None = None) -> dict:
        for l in self.listeners:
            if l["transport"] == transport and (host is None or l.get("host") == host):
                return l
        raise KeyError(f"no {transport} listener in {self.listeners}")

    def next_session(self, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            ev = self._next(deadline)
            if ev is None:
                raise RuntimeError(f"server exited; stderr: {self.stderr()}")
            if ev["event"] == "session":
                self.sessions.append(ev)
                return ev
            if ev["event"] == "exit":
                self.exit_event = ev

    def wait(self, timeout: float = 30) -> int:
        """Waits for exit (after --sessions/--time-limit), collecting the remaining lines."""
        rc = self.proc.wait(timeout=timeout)
        while not self._eof:
            try:
                line = self.lines.get(timeout=5)
            except queue.Empty:
                break
            if line is None:
                self._eof = True
                break
            ev = json.loads(line)
            if ev["event"] == "session":
                self.sessions.append(ev)
            elif ev["event"] == "exit":
                self.exit_event = ev
        return rc

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def alive(self) -> bool:
        return self.proc.poll() is None


def dump(binary: Path, path: Path) -> dict:
    out = subprocess.run([str(binary), "dump", str(path)], capture_output=True, check=True)
    return json.loads(out.stdout)
