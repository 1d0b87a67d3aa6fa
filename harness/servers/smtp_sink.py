"""Postfix's smtp-sink as a fixture: a second, independent real SMTP/LMTP server.

smtp-sink has no "print the bound port" option, so it is started on port 0 and the port is read
back from /proc: the listening socket among its file descriptors (by inode) in /proc/<pid>/net/tcp.
Refusals come from its own options (see `man smtp-sink`): -f CMD (hard 5xx reject), -r CMD (soft
4xx), -Q CMD (421 and disconnect), -q CMD (disconnect without reply), -w SECONDS (stall before
answering DATA). With -d it writes each transaction to a file: envelope as X-Mail-Args/X-Rcpt-Args
headers, then the message with dots un-stuffed and lines ending in LF.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness.servers import process

SMTP_SINK = "/usr/sbin/smtp-sink"
# How often to look for the bound socket in /proc while smtp-sink starts (bounded by
# process.STARTUP_DEADLINE): smtp-sink prints nothing once it listens.
PROC_POLL_INTERVAL = 0.005
BACKLOG = 64
TCP_LISTEN = "0A"  # socket state in /proc/net/tcp


@dataclass
class SinkMessage:
    mail_args: str
    rcpt_args: list[str]
    protocol: str
    content: bytes  # as smtp-sink stores it: LF line endings, dots un-stuffed


class SmtpSink:
    def __init__(self, workdir: Path, *options: str, lmtp: bool = False, unix: bool = False,
                 name: str = "smtp-sink") -> None:
        self.workdir = workdir
        self.options = list(options)
        self.lmtp = lmtp
        self.unix = unix
        self.name = name
        self.log = workdir / "smtp-sink.log"
        self.host: str | None = None
        self.port: int | None = None
        self.unix_path: str | None = None
        self.dump_dir: Path | None = None
        self.proc: subprocess.Popen | None = None

    def start(self) -> "SmtpSink":
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [SMTP_SINK]
        if os.geteuid() == 0:
            # As root smtp-sink refuses to run without -u; the dump directory must then be
            # writable by that user, and pytest's per-user temp root is mode 0700.
            argv += ["-u", "nobody"]
            self.dump_dir = Path(tempfile.mkdtemp(prefix="smtpkit-sink-"))
            os.chown(self.dump_dir, pwd.getpwnam("nobody").pw_uid, -1)
        else:
            self.dump_dir = Path(tempfile.mkdtemp(prefix="smtpkit-sink-", dir=self.workdir))
        argv += ["-d", f"{self.dump_dir}/msg."]
        if self.lmtp:
            argv.append("-L")
        argv += self.options
        if self.unix:
            self.unix_path = str(self.workdir / ("lmtp.sock" if self.lmtp else "smtp.sock"))
            argv += [f"unix:{self.unix_path}", str(BACKLOG)]
        else:
            argv += ["127.0.0.1:0", str(BACKLOG)]
        self.argv = argv
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         preexec_fn=process.die_with_parent)
        try:
            self._wait_until_listening(time.monotonic() + process.STARTUP_DEADLINE)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_listening(self, deadline: float) -> None:
        assert self.proc is not None
        while True:
            if self.proc.poll() is not None:
                raise process.ServerStartError(
                    f"smtp-sink exited with status {self.proc.returncode}"
                    f"{process.log_tail(self.log)}")
            if self.unix:
                if self._connects(socket.AF_UNIX, self.unix_path):
                    return
            else:
                port = listening_port(self.proc.pid)
                if port is not None:
                    self.host, self.port = "127.0.0.1", port
                    if self._connects(socket.AF_INET, (self.host, self.port)):
                        return
            if time.monotonic() > deadline:
                raise process.ServerStartError(f"smtp-sink not listening within the deadline"
                                               f"{process.log_tail(self.log)}")
            time.sleep(PROC_POLL_INTERVAL)

    @staticmethod
    def _connects(family: int, address) -> bool:
        # The readiness probe: a connection that is closed at once costs smtp-sink one session.
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(address)
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            process.stop(self.proc)
        if self.dump_dir is not None and os.geteuid() == 0:
            shutil.rmtree(self.dump_dir, ignore_errors=True)

    def client_args(self) -> list[str]:
        args = ["--unix", self.unix_path] if self.unix else ["--server", f"{self.host}:{self.port}"]
        return args + (["--lmtp"] if self.lmtp else [])

    def describe(self) -> str:
        where = self.unix_path or f"{self.host}:{self.port}"
        flags = " ".join(self.options)
        return f"{self.name} ({'LMTP' if self.lmtp else 'SMTP'} on {where}{', ' + flags if flags else ''})"

    def messages(self) -> list[SinkMessage]:
        assert self.dump_dir is not None
        out = []
        for path in sorted(self.dump_dir.iterdir()):
            out.append(parse_dump(path.read_bytes()))
        return out

    def messages_from(self, token: str) -> list[SinkMessage]:
        return [m for m in self.messages() if token in m.mail_args]


def parse_dump(raw: bytes) -> SinkMessage:
    """One -d capture file: smtp-sink's X- headers, its 3-line Received:, the message, an empty line."""
    lines = raw.split(b"\n")
    mail_args, rcpt_args, protocol = "", [], ""
    i = 0
    while i < len(lines) and not lines[i].startswith(b"Received: "):
        key, _, value = lines[i].decode("latin-1").partition(": ")
        if key == "X-Mail-Args":
            mail_args = value
        elif key == "X-Rcpt-Args":
            rcpt_args.append(value)
        elif key == "X-Client-Proto":
            protocol = value
        i += 1
    body = b"\n".join(lines[i + 3:])
    # The record ends with the message's last LF followed by one empty line of smtp-sink's own.
    if body.endswith(b"\n\n"):
        body = body[:-1]
    return SinkMessage(mail_args, rcpt_args, protocol, body)


def listening_port(pid: int) -> int | None:
    """The TCP port a process listens on, from its socket fds and /proc/<pid>/net/tcp."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            m = re.fullmatch(r"socket:\[(\d+)\]", target)
            if m:
                inodes.add(m.group(1))
        with open(f"/proc/{pid}/net/tcp", encoding="ascii") as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        return None
    for row in rows:
        cols = row.split()
        if cols[3] == TCP_LISTEN and cols[9] in inodes:
            return int(cols[1].rsplit(":", 1)[1], 16)
    return None
