"""Fixtures for the probe's process tests: certificates made at test time (trustme), and one
server of each kind per test module, stopped at the end."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import probe_servers  # noqa: E402


@pytest.fixture(scope="session")
def probe_bin() -> Path:
    b = probe_servers.find_binary("smtp-probe")
    if b is None:
        pytest.skip("smtp-probe is not built (set SMTPKIT_BUILD_DIR or build a tree under build/)")
    return b


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> dict[str, Path]:
    trustme = pytest.importorskip("trustme")
    d = tmp_path_factory.mktemp("certs")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    cert.private_key_pem.write_to_path(str(d / "key.pem"))
    with open(d / "cert.pem", "wb") as f:
        for pem in cert.cert_chain_pems:
            f.write(pem.bytes())
    os.chmod(d, 0o755)
    for p in d.iterdir():
        os.chmod(p, 0o644)  # Postfix reads them from its own processes
    return {"ca": d / "ca.pem", "cert": d / "cert.pem", "key": d / "key.pem"}


@pytest.fixture(scope="module")
def aiosmtpd_tls(tmp_path_factory, certs):
    s = probe_servers.Aiosmtpd(tmp_path_factory.mktemp("aiosmtpd"), cert=certs["cert"],
                               key=certs["key"], size=100000)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def aiosmtpd_lmtp(tmp_path_factory):
    s = probe_servers.Aiosmtpd(tmp_path_factory.mktemp("lmtp"), lmtp_unix=True)
    yield s
    s.stop()


def _postfix(certs, extra: str = ""):
    if shutil.which("postfix") is None:
        pytest.skip("postfix is not installed (ci/install-deps.sh installs it)")
    if os.geteuid() != 0:
        pytest.skip("Postfix's master runs only as root")
    # Postfix's own processes (user postfix) must reach the directory: not under pytest's 0700
    # temporary root.
    workdir = Path(tempfile.mkdtemp(prefix="smtp-probe-postfix-"))
    os.chmod(workdir, 0o755)
    try:
        s = probe_servers.Postfix(workdir, certs["cert"], certs["key"], extra)
        yield s
        s.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def postfix(certs):
    yield from _postfix(certs)


@pytest.fixture(scope="module")
def postfix_hardened(certs):
    # The SMTP smuggling fix (Postfix 3.7.10+): bare LF is refused, also from $mynetworks.
    yield from _postfix(certs, "smtpd_forbid_bare_newline = yes\n"
                               "smtpd_forbid_bare_newline_exclusions =\n")


@pytest.fixture(scope="module")
def broken_server(certs):
    fs = probe_servers.find_binary("smtp-fakeserver")
    if fs is None:
        pytest.skip("smtp-fakeserver is not built")
    here = Path(__file__).parent
    files = sorted(here.glob("broken/*.scn")) + sorted(here.glob("scripts/*.scn"))
    s = probe_servers.ScriptedServer(fs, files, certs["cert"], certs["key"])
    yield s
    s.stop()


@pytest.fixture(scope="module")
def dovecot():
    if shutil.which("dovecot") is None:
        pytest.skip("dovecot is not installed (ci/install-deps.sh installs dovecot-lmtpd)")
    if os.geteuid() != 0:
        pytest.skip("Dovecot's master runs only as root")
    workdir = Path(tempfile.mkdtemp(prefix="smtp-probe-dovecot-"))
    os.chmod(workdir, 0o755)
    try:
        s = probe_servers.Dovecot(workdir)
        yield s
        s.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def strict_server():
    """strict_server.py: refuses commands before EHLO and commands sent ahead of a reply."""
    import subprocess
    p = subprocess.Popen([probe_servers.PYTHON, str(Path(__file__).parent / "strict_server.py")],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = probe_servers.read_ready(p, "strict_server").split()[1]
    yield ["--server", f"127.0.0.1:{port}"]
    p.kill()
    p.wait()
