"""Starting and stopping server processes: readiness with a deadline, never a bare sleep."""

from __future__ import annotations

import ctypes
import os
import selectors
import signal
import subprocess
import time
from pathlib import Path

# How long a server may take to print its readiness line or bind its socket. aiosmtpd's imports
# take ~0.3 s on an idle machine; the 2-core CI box may be busy compiling.
STARTUP_DEADLINE = 30.0
# How long a server may take to exit after SIGTERM before it is killed.
STOP_DEADLINE = 5.0


class ServerStartError(RuntimeError):
    pass


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """preexec_fn for servers: SIGTERM the server if pytest dies without stopping it (Linux).
    The kernel clears this when the server changes its user id (smtp-sink -u as root)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def read_line_before(proc: subprocess.Popen, deadline: float, log: Path | None) -> str:
    """Reads one line from proc.stdout, failing when the process exits or the deadline passes."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise ServerStartError(f"no readiness line within the deadline{log_tail(log)}")
            chunk = os.read(fd, 4096)
            if not chunk:
                proc.wait(timeout=STOP_DEADLINE)
                raise ServerStartError(
                    f"server exited with status {proc.returncode} before it was ready"
                    f"{log_tail(log)}")
            buffer += chunk
    return buffer.split(b"\n", 1)[0].decode()


def stop(proc: subprocess.Popen) -> int:
    """SIGTERM, then SIGKILL if the process does not exit in time. Returns the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_DEADLINE)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return proc.returncode


def log_tail(log: Path | None, limit: int = 2000) -> str:
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace")
    return f"\n--- {log} (tail) ---\n{text[-limit:]}"
