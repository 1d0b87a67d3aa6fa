"""The scale-out of harness/README.md ("Scaling out"), run for real: a real sshd on loopback,
started by the test from Debian's openssh-server (host and user keys made now, its own
sshd_config, a free port found by binding port 0), and pytest-xdist sending a tiny slice of the
matrix to a worker over `--tx ssh=...`, exactly as the README's command does (selection by -m,
no path: pytest-xdist 3.1 refuses a path argument with ssh workers, "not relative to an rsync
root"). When sshd cannot run here (not installed, not root), the same command runs with a
`--tx popen` worker instead and the test says why in its output.

Also: a worker whose checkout has no build fails with a message naming the worker and the fix,
not a collection error."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness import matrix
from harness.clients import PYTHON, REPO

SSHD = Path(os.environ.get("SMTPKIT_SSHD", "/usr/sbin/sshd"))  # which sshd to start
# The README's command, with the slice narrowed (README: `-m matrix` and any options, no path).
SELECT = ["-m", "matrix and transport_plain", "--category", "basic", "--clients", "cpp,smtplib"]


def free_port() -> int:
    # sshd cannot listen on port 0 and report it: take a port the kernel picks, release it.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sshd_unavailable() -> str | None:
    if not SSHD.exists() or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        return "sshd/ssh not installed (Debian openssh-server, openssh-client: ci/install-deps.sh)"
    if os.geteuid() != 0:
        return "sshd needs root here (privilege separation, /run/sshd)"
    return None


class LocalSshd:
    """sshd on 127.0.0.1:<free port> accepting one throwaway key for the current user."""

    def __init__(self, d: Path):
        self.dir = d
        d.mkdir(parents=True, exist_ok=True)
        for key in ("host", "user"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)],
                           check=True)
        shutil.copy(d / "user.pub", d / "authorized_keys")
        (d / "authorized_keys").chmod(0o600)
        self.port = free_port()
        (d / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {d / 'host'}\n"
            f"AuthorizedKeysFile {d / 'authorized_keys'}\nPidFile {d / 'sshd.pid'}\n"
            "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
            "PermitRootLogin prohibit-password\n")
        (d / "ssh_config").write_text(
            f"Host smtpkit-worker\n  HostName 127.0.0.1\n  Port {self.port}\n"
            f"  User {os.environ.get('USER') or 'root'}\n  IdentityFile {d / 'user'}\n"
            "  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
            "  LogLevel ERROR\n  BatchMode yes\n")
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
        self.log = open(d / "sshd.log", "wb")
        self.proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(d / "sshd_config")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:  # ready when it answers a command
            probe = subprocess.run(["ssh", "-F", str(d / "ssh_config"), "smtpkit-worker", "true"],
                                   capture_output=True, timeout=20)
            if probe.returncode == 0:
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not come up: {(d / 'sshd.log').read_text()}")
            time.sleep(0.2)

    def tx(self, *extra: str) -> str:
        return "//".join([f"1*ssh=smtpkit-worker", f"ssh_config={self.dir / 'ssh_config'}",
                          f"python={PYTHON}", f"chdir={REPO}", *extra])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def worker_tx(tmp_path):
    """(a --tx spec for one remote worker, how it runs); sshd when it can run, else popen."""
    why = sshd_unavailable()
    if why:
        print(f"distributed test: no sshd ({why}); a popen worker instead")
        yield (lambda *extra: "//".join([f"1*popen", f"python={PYTHON}", f"chdir={REPO}", *extra])), \
            f"popen ({why})"
        return
    sshd = LocalSshd(tmp_path / "sshd")
    try:
        yield sshd.tx, "ssh"
    finally:
        sshd.stop()


def run_distributed(tx: str, junit: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "pytest", "-p", "harness.plugin", *SELECT, "-d", "--tx", tx,
         "-p", "no:cacheprovider", "-v", f"--junitxml={junit}"],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=env)


def test_matrix_slice_over_an_ssh_worker(worker_tx, tmp_path):
    reason = matrix.missing_reason()
    if reason:
        pytest.skip(reason)
    tx, how = worker_tx
    build = str(matrix.build_dir())
    proc = run_distributed(tx(f"env:SMTPKIT_BUILD_DIR={build}"), tmp_path / "junit.xml")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"[{how}] {out}"
    # The runs happened on the worker (gw0, over ssh), the report on the controller.
    assert re.search(r"\[gw0\] \[ *\d+%\] PASSED harness/tests/test_matrix.py::test_scenario\[basic/", out), out
    assert " failed" not in out.splitlines()[-1], out
    junit = (tmp_path / "junit.xml").read_text()
    assert 'name="test_scenario[basic/' in junit, junit[:2000]
    print(f"distributed over {how}: {out.strip().splitlines()[-1]}")


def test_the_readme_command_is_this_one():
    # harness/README.md shows the command these tests run (-m selection, no path, ssh_config).
    readme = (REPO / "harness" / "README.md").read_text()
    assert "-m matrix -d" in readme and "harness/tests/test_matrix.py -d" not in readme
    assert "//ssh_config=" in readme and "//env:SMTPKIT_BUILD_DIR=" in readme


def test_a_worker_without_a_build_says_so(worker_tx, tmp_path):
    reason = matrix.missing_reason()
    if reason:
        pytest.skip(reason)
    tx, how = worker_tx
    proc = run_distributed(tx(f"env:SMTPKIT_BUILD_DIR={tmp_path / 'no-build'}"),
                           tmp_path / "junit.xml")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "xdist worker gw0" in out and "has no build" in out, out
    assert "SMTPKIT_BUILD_DIR" in out and "./ci/build.sh ci there" in out, out
    assert "number of names" not in out, out  # the cryptic collection error it replaces
