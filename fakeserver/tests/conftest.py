"""Fixtures for the fake server's process-level tests: the binary, certificates made at test
time, and a factory that starts smtp-fakeserver (port 0, readiness lines) and always stops it."""

from __future__ import annotations

import pytest

from fakeserver_proc import FakeServer, find_binary


@pytest.fixture(scope="session")
def fakeserver_bin():
    binary = find_binary()
    if binary is None:
        pytest.skip("smtp-fakeserver is not built (set SMTPKIT_BUILD_DIR or build a preset)")
    return binary


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """A throwaway CA and a server certificate for localhost / 127.0.0.1 / ::1."""
    trustme = pytest.importorskip("trustme", reason="python3-trustme makes the test certificates")
    d = tmp_path_factory.mktemp("certs")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1", "::1", "fakeserver.test")
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    cert.private_key_pem.write_to_path(str(d / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(d / "cert.pem"))
    with open(d / "cert.pem", "ab") as f:
        for extra in cert.cert_chain_pems[1:]:
            f.write(extra.bytes())
    return {"ca": d / "ca.pem", "cert": d / "cert.pem", "key": d / "key.pem"}


@pytest.fixture
def fakeserver(fakeserver_bin):
    """start(args) -> FakeServer; every server started is stopped at teardown."""
    started: list[FakeServer] = []

    def start(*args) -> FakeServer:
        s = FakeServer(fakeserver_bin, [str(a) for a in args])
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
