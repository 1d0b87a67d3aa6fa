"""aiosmtpd as a fixture: starts aiosmtpd_server.py under /usr/bin/python3 and reads its record."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from harness.servers import process
from harness.servers.transcript import Session

PYTHON = "/usr/bin/python3"
SERVER_SCRIPT = Path(__file__).with_name("aiosmtpd_server.py")


class AiosmtpdServer:
    """A running aiosmtpd process (SMTP or LMTP, TCP or Unix socket) and what it recorded."""

    def __init__(self, workdir: Path, *, lmtp: bool = False, unix: bool = False, size: int = 0,
                 rules: list[dict] | None = None, name: str = "aiosmtpd") -> None:
        self.workdir = workdir
        self.lmtp = lmtp
        self.size = size
        self.name = name
        self.record_dir = workdir / "record"
        self.log = workdir / "server.log"
        self.host: str | None = None
        self.port: int | None = None
        self.unix_path: str | None = None
        argv = [PYTHON, str(SERVER_SCRIPT), "--record", str(self.record_dir)]
        if unix:
            argv += ["--listen", f"unix:{workdir / 'lmtp.sock' if lmtp else workdir / 'smtp.sock'}"]
        else:
            argv += ["--listen", "tcp:127.0.0.1:0"]
        if lmtp:
            argv.append("--lmtp")
        if size:
            argv += ["--size", str(size)]
        if rules:
            workdir.mkdir(parents=True, exist_ok=True)
            rules_file = workdir / "rules.json"
            rules_file.write_text(json.dumps({"rules": rules}))
            argv += ["--rules", str(rules_file)]
        self.argv = argv
        self.proc: subprocess.Popen | None = None

    def start(self) -> "AiosmtpdServer":
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=log,
                                         preexec_fn=process.die_with_parent)
        line = process.read_line_before(self.proc, time.monotonic() + process.STARTUP_DEADLINE,
                                        self.log)
        parts = line.split()
        if parts[:2] == ["READY", "tcp"]:
            self.host, self.port = parts[2], int(parts[3])
        elif parts[:2] == ["READY", "unix"]:
            self.unix_path = parts[2]
        else:
            self.stop()
            raise process.ServerStartError(f"unexpected readiness line {line!r}")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            process.stop(self.proc)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- addressing -------------------------------------------------------------------------

    def client_args(self) -> list[str]:
        """The target arguments both client CLIs take: --server HOST:PORT or --unix PATH [--lmtp]."""
        args = ["--unix", self.unix_path] if self.unix_path else ["--server", f"{self.host}:{self.port}"]
        return args + (["--lmtp"] if self.lmtp else [])

    def describe(self) -> str:
        where = self.unix_path or f"{self.host}:{self.port}"
        return f"{self.name} ({'LMTP' if self.lmtp else 'SMTP'} on {where})"

    # -- what the server saw ----------------------------------------------------------------

    def events(self) -> list[dict]:
        path = self.record_dir / "events.jsonl"
        if not path.exists():
            return []
        events = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.endswith("}"):  # a line being written has no closing brace yet
                events.append(json.loads(line))
        return events

    def sessions(self) -> list[Session]:
        by_conn: dict[int, Session] = {}
        for ev in self.events():
            session = by_conn.setdefault(ev["conn"], Session(ev["conn"]))
            if ev["ev"] == "line":
                session.lines.append((ev["dir"], ev["bytes"].encode("latin-1")))
            elif ev["ev"] == "message":
                message = dict(ev)
                message["content"] = ev["content"].encode("latin-1")
                session.messages.append(message)
            elif ev["ev"] == "close":
                session.closed = True
        return list(by_conn.values())

    def sessions_with(self, token: str) -> list[Session]:
        """Sessions whose client lines mention token (tests put a unique token in the sender)."""
        needle = token.encode()
        return [s for s in self.sessions() if any(needle in d for d in s.client_lines())]

    def session_with(self, token: str) -> Session:
        found = self.sessions_with(token)
        assert len(found) == 1, (
            f"expected one session mentioning {token!r} on {self.describe()}, found {len(found)}")
        return found[0]
