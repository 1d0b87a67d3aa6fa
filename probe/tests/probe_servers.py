"""Servers the probe's tests start on loopback: aiosmtpd (SMTP + STARTTLS, LMTP on a Unix
socket), Postfix's real smtpd from a throwaway configuration directory, and smtp-fakeserver playing
broken scripts. Each is started and stopped by a fixture (conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

PYTHON = "/usr/bin/python3"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def find_binary(name: str) -> Path | None:
    """$SMTPKIT_BUILD_DIR/bin/NAME, else the newest build/*/bin/NAME."""
    env = os.environ.get("SMTPKIT_BUILD_DIR")
    if env:
        p = Path(env) / "bin" / name
        return p if p.exists() else None
    found = sorted(ROOT.glob(f"build/*/bin/{name}"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def read_ready(proc: subprocess.Popen, what: str, timeout: float = 20) -> str:
    """The readiness line (servers print it once they listen): no sleeps, no guessed ports."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            return line.strip()
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"{what} did not become ready")


class Aiosmtpd:
    def __init__(self, workdir: Path, *, cert: Path | None = None, key: Path | None = None,
                 lmtp_unix: bool = False, size: int = 0) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.messages = workdir / "messages.jsonl"
        self.messages.touch()
        argv = [PYTHON, str(HERE / "aiosmtpd_probe_server.py"), "--messages", str(self.messages)]
        self.sni_log = workdir / "sni.log"
        if cert:
            argv += ["--cert", str(cert), "--key", str(key), "--sni-log", str(self.sni_log)]
        if size:
            argv += ["--size", str(size)]
        if lmtp_unix:
            argv += ["--lmtp", "--unix", str(workdir / "lmtp.sock")]
        self.log = open(workdir / "server.log", "wb")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, text=True)
        parts = read_ready(self.proc, "aiosmtpd").split()
        self.target = (["--unix", parts[2], "--lmtp"] if parts[1] == "unix"
                       else ["--server", f"{parts[2]}:{parts[3]}"])

    def sni_names(self) -> list[str]:
        """The server name of each TLS handshake so far ('-' when the client sent none)."""
        return self.sni_log.read_text().split() if self.sni_log.exists() else []

    def delivered(self) -> list[dict]:
        return [json.loads(l) for l in self.messages.read_text().splitlines() if l.strip()]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def free_port() -> int:
    # Postfix takes its listen address from master.cf: bind port 0 to learn a free port first.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postfix:
    """The real Postfix (master + smtpd + cleanup/qmgr) from a throwaway configuration directory.
    Every message goes to the discard transport. Needs root (Postfix's own rule)."""

    def __init__(self, workdir: Path, cert: Path, key: Path, extra: str = "") -> None:
        self.dir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "queue").mkdir(exist_ok=True)
        (workdir / "data").mkdir(exist_ok=True)
        shutil.chown(workdir / "data", "postfix")
        for name, src in (("cert.pem", cert), ("key.pem", key)):
            shutil.copy(src, workdir / name)
        cert, key = workdir / "cert.pem", workdir / "key.pem"
        self.port = free_port()
        self.maillog = workdir / "maillog"
        (workdir / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {workdir}/queue
data_directory = {workdir}/data
mail_owner = postfix
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.probe.test
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
default_transport = discard
local_transport = discard
relay_transport = discard
alias_maps =
alias_database =
maillog_file = {self.maillog}
maillog_file_prefixes = {workdir}
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
message_size_limit = 1000000
""" + extra)
        (workdir / "master.cf").write_text(MASTER_CF.format(port=self.port))
        self.target = ["--server", f"127.0.0.1:{self.port}"]
        subprocess.run(["postfix", "-c", str(workdir), "start"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        # master is started in the background: the readiness signal is its listening socket.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.recv(100)
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"postfix did not listen on {self.port}: {self.log_tail()}")

    def log_tail(self) -> str:
        return self.maillog.read_text()[-2000:] if self.maillog.exists() else ""

    def stop(self) -> None:
        subprocess.run(["postfix", "-c", str(self.dir), "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)


class ScriptedServer:
    """smtp-fakeserver serving scripts (broken on purpose, or a plain good one over implicit TLS),
    one listener per file and declared transport, addressed by the script's name."""

    def __init__(self, binary: Path, files: list[Path], cert: Path, key: Path) -> None:
        argv = [str(binary), "serve", "--cert", str(cert), "--key", str(key), "--quiet",
                "--step-timeout", "20"] + [str(f) for f in files]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        self.targets: dict[str, list[str]] = {}
        while True:
            ev = json.loads(read_ready(self.proc, "smtp-fakeserver"))
            if ev["event"] == "listening":
                self.targets[ev["name"]] = ["--server", f"{ev['host']}:{ev['port']}"]
                if ev["transport"] == "tls":
                    self.targets[ev["name"]] += ["--transport", "tls"]
            elif ev["event"] == "ready":
                break

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


DOVECOT_CONF = """\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = lmtp
ssl = no
listen = 127.0.0.1
first_valid_uid = 1
mail_location = maildir:{d}/mail/%n
userdb {{
  driver = static
  args = uid=mail gid=mail home={d}/mail/%n allow_all_users=yes
}}
passdb {{
  driver = static
  args = nopassword=yes
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
"""


class Dovecot:
    """Dovecot's LMTP server in the foreground from a throwaway configuration: LMTP on a Unix
    socket, every recipient accepted and delivered to a Maildir under the directory."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        (workdir / "mail").mkdir(parents=True, exist_ok=True)
        (workdir / "run").mkdir(exist_ok=True)
        shutil.chown(workdir / "mail", "mail", "mail")
        conf = workdir / "dovecot.conf"
        conf.write_text(DOVECOT_CONF.format(d=workdir))
        self.socket = workdir / "run" / "lmtp"
        self.log = open(workdir / "out.log", "wb")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(conf)], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        # Dovecot prints no readiness line: the listening socket is the signal.
        deadline = time.monotonic() + 20
        while not self._accepts():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"dovecot did not listen: {(workdir / 'out.log').read_text()}")
            time.sleep(0.05)
        self.target = ["--unix", str(self.socket), "--lmtp"]

    def _accepts(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(str(self.socket))
                return True
        except OSError:
            return False

    def delivered(self, user: str) -> list[Path]:
        return sorted((self.dir / "mail" / user / "new").glob("*"))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
