"""smtp-record as a test fixture: started on port 0, ready when it says so, stopped by the test."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from pathlib import Path

from harness import matrix
from harness.clients import REPO


def record_binary() -> Path:
    """$SMTPKIT_RECORD_BIN (e.g. a sanitizer build), else smtp-record next to the matrix's tools,
    else in any build tree that has it."""
    env = os.environ.get("SMTPKIT_RECORD_BIN")
    if env:
        return Path(env)
    first = matrix.build_dir() / "bin" / "smtp-record"
    if first.is_file():
        return first
    for c in sorted((REPO / "build").glob("*/bin/smtp-record")):
        return c
    return first


def missing_reason() -> str | None:
    b = record_binary()
    if not (b.is_file() and os.access(b, os.X_OK)):
        return f"smtp-record is not built ({b}; run ./ci/build.sh)"
    return matrix.missing_reason()


class Recorder:
    """A running `smtp-record`; `client_args()` points a client CLI at it; `finish()` waits for it
    to write the file and returns its `recorded` events."""

    def __init__(self, out: Path, upstream: list[str], *extra: str) -> None:
        self.out = out
        self.argv = [str(record_binary()), "--listen", "127.0.0.1:0", "--out", str(out),
                     *upstream, *extra]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.events: list[dict] = []
        self.stderr = b""
        self._ready: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            kind = self._ready.get(timeout=30)
        except queue.Empty:
            kind = None
        if kind != "ready":
            self.stop()
            raise RuntimeError(f"smtp-record did not get ready: {self.argv} {self.stderr!r}")
        listening = next(e for e in self.events if e.get("event") == "listening")
        self.host, self.port = listening["host"], listening["port"]

    def _read(self) -> None:
        for raw in self.proc.stdout:
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            self.events.append(ev)
            if ev.get("event") == "ready":
                self._ready.put("ready")
        self._ready.put("exit")

    def client_args(self) -> list[str]:
        return ["--server", f"{self.host}:{self.port}"]

    def finish(self, timeout: float = 30) -> list[dict]:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"smtp-record did not finish its session within {timeout}s")
        self._reader.join(timeout=5)
        self.stderr = self.proc.stderr.read()
        return [e for e in self.events if e.get("event") == "recorded"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
