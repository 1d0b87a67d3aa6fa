"""The clients under test, run as processes with one command line: `<client> send ... --json`.

- "cpp": the project's `smtp-client` (client/), found in the build directory (see build_dir()).
- "smtplib": Python's smtplib through harness/drivers/smtplib_driver.py, the reference client.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"
SMTPLIB_DRIVER = Path(__file__).resolve().parent / "drivers" / "smtplib_driver.py"
CLIENTS = ("cpp", "smtplib")
# Exit statuses both CLIs share (issue 2).
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# A client run that takes longer than this is stuck; the test fails instead of hanging.
RUN_DEADLINE = 60.0


def build_dir() -> Path:
    """$SMTPKIT_BUILD_DIR, else the first of build/ci, build/dev, build/* holding bin/smtp-client."""
    env = os.environ.get("SMTPKIT_BUILD_DIR")
    if env:
        return Path(env).resolve()
    candidates = [REPO / "build" / "ci", REPO / "build" / "dev"]
    candidates += sorted(p for p in (REPO / "build").glob("*") if p not in candidates)
    for candidate in candidates:
        if (candidate / "bin" / "smtp-client").is_file():
            return candidate
    return candidates[0]


def smtp_client_binary() -> Path:
    return build_dir() / "bin" / "smtp-client"


def smtp_client_missing_reason() -> str | None:
    binary = smtp_client_binary()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        return f"smtp-client is not built ({binary} does not exist; run ./ci/build.sh)"
    return None


def client_argv(client: str) -> list[str]:
    if client == "cpp":
        return [str(smtp_client_binary()), "send"]
    if client == "smtplib":
        return [PYTHON, str(SMTPLIB_DRIVER), "send"]
    raise ValueError(f"unknown client {client!r}")


@dataclass
class ClientRun:
    client: str
    argv: list[str]
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    result: dict | None = field(default=None)

    @property
    def ok(self) -> bool | None:
        return None if self.result is None else self.result.get("ok")

    @property
    def error(self) -> dict:
        return (self.result or {}).get("error") or {}

    @property
    def refused(self) -> dict:
        return (self.result or {}).get("refused") or {}

    def summary(self) -> str:
        """One short line for people: `ok`, `ok refused=2`, `SMTPSenderRefused 553`."""
        if self.result is None:
            return f"{self.status()}, no JSON"
        if self.ok:
            return f"ok refused={len(self.refused)}" if self.refused else "ok"
        code = self.error.get("code")
        return f"{self.error.get('type')}{' ' + str(code) if code is not None else ''}"

    def status(self) -> str:
        if self.exit_code < 0:
            try:
                name = signal.Signals(-self.exit_code).name
            except ValueError:
                name = f"signal {-self.exit_code}"
            return f"killed by {name}"
        return f"exit {self.exit_code}"

    def explain(self) -> str:
        return (f"client {self.client}: {' '.join(map(repr, self.argv))}\n"
                f"{self.status()} after {self.seconds:.3f}s\n"
                f"stdout: {self.stdout!r}\nstderr (tail): {self.stderr[-3000:]}")


def run_client(client: str, args: list[str], *, stdin: bytes | None = None,
               deadline: float = RUN_DEADLINE) -> ClientRun:
    """Runs `<client> send <args> --json` and parses its one JSON object (None when absent)."""
    argv = client_argv(client) + list(args) + ["--json"]
    started = time.monotonic()
    proc = subprocess.run(argv, input=stdin if stdin is not None else b"",
                          capture_output=True, timeout=deadline)
    seconds = time.monotonic() - started
    stdout = proc.stdout.decode("utf-8", "replace")
    result = None
    for line in reversed(stdout.strip().splitlines()):
        try:
            candidate = json.loads(line)
        except ValueError:
            continue
        if isinstance(candidate, dict):
            result = candidate
            break
    return ClientRun(client, argv, proc.returncode, stdout,
                     proc.stderr.decode("utf-8", "replace"), seconds, result)


def smtp_client_version() -> str | None:
    if smtp_client_missing_reason():
        return None
    for flag in (["--version"], ["version"]):
        try:
            proc = subprocess.run([str(smtp_client_binary())] + flag, capture_output=True,
                                  timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.decode("utf-8", "replace").strip().splitlines()[0]
    return "unknown (no --version)"
