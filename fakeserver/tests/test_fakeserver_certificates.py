"""`server-cert:` and `expect-tls-reject`: one serve process presents a different certificate per
scenario (`--cert-set KIND=CERT,KEY`), and a session passes only when the client really refuses
the handshake. The certificates are made here with trustme (a second CA the client does not
trust, and an expired one from the trusted CA)."""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import subprocess

import pytest

REJECT = """description: the client must refuse the certificate
transports: tls
server-cert: {kind}
expect-tls-reject
"""

STARTTLS_REJECT = """description: STARTTLS, then the client must refuse the certificate
server-cert: {kind}
S: 220 mx
C: EHLO *
S: 250-mx
S: 250 STARTTLS
C: STARTTLS
S: 220 go ahead
expect-tls-reject
"""


@pytest.fixture(scope="module")
def cert_sets(tmp_path_factory):
    trustme = pytest.importorskip("trustme", reason="python3-trustme makes the test certificates")
    d = tmp_path_factory.mktemp("certsets")
    trusted = trustme.CA()
    trusted.cert_pem.write_to_path(str(d / "ca.pem"))
    out = {"ca": d / "ca.pem"}
    issued = {
        "good": trusted.issue_cert("127.0.0.1"),
        "expired": trusted.issue_cert("127.0.0.1", not_after=datetime.datetime(2001, 1, 1)),
        "untrusted-ca": trustme.CA().issue_cert("127.0.0.1"),
    }
    for kind, leaf in issued.items():
        (d / f"{kind}.pem").write_bytes(b"".join(p.bytes() for p in leaf.cert_chain_pems))
        leaf.private_key_pem.write_to_path(str(d / f"{kind}.key"))
        out[kind] = (d / f"{kind}.pem", d / f"{kind}.key")
    return out


def serve(fakeserver, tmp_path, cert_sets, text: str, name: str, *transports: str):
    scn = tmp_path / f"{name}.scn"
    scn.write_text(text)
    args = ["serve", scn, "--quiet", "--step-timeout", 3, "--cert", cert_sets["good"][0],
            "--key", cert_sets["good"][1]]
    for kind in ("expired", "untrusted-ca"):
        args += ["--cert-set", f"{kind}={cert_sets[kind][0]},{cert_sets[kind][1]}"]
    for t in transports:
        args += ["--transport", t]
    return fakeserver(*args)


def verifying_context(cert_sets) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert_sets["ca"]))


@pytest.mark.parametrize("kind", ["expired", "untrusted-ca"])
def test_implicit_tls_rejected_by_a_verifying_client_follows_the_script(
        fakeserver, tmp_path, cert_sets, kind):
    srv = serve(fakeserver, tmp_path, cert_sets, REJECT.format(kind=kind), kind, "tls")
    l = srv.listener("tls")
    with socket.create_connection((l["host"], l["port"]), timeout=5) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            verifying_context(cert_sets).wrap_socket(raw, server_hostname="127.0.0.1")
    report = srv.next_session()
    assert report["ok"], report.get("divergence")
    assert "aborted the handshake" in report["steps"][0]["detail"], report["steps"]


def test_a_client_that_accepts_the_certificate_diverges(fakeserver, tmp_path, cert_sets):
    srv = serve(fakeserver, tmp_path, cert_sets, REJECT.format(kind="expired"), "lax", "tls")
    l = srv.listener("tls")
    lax = ssl.create_default_context()
    lax.check_hostname = False
    lax.verify_mode = ssl.CERT_NONE  # what smtplib.starttls() without a context amounts to
    with socket.create_connection((l["host"], l["port"]), timeout=5) as raw:
        with lax.wrap_socket(raw, server_hostname="127.0.0.1"):
            report = srv.next_session()
    assert not report["ok"]
    assert report["divergence"]["reason"] == \
        "the client completed the TLS handshake: it accepted the certificate"


def test_a_client_that_never_starts_tls_is_not_a_rejection(fakeserver, tmp_path, cert_sets):
    srv = serve(fakeserver, tmp_path, cert_sets, REJECT.format(kind="expired"), "plaintext", "tls")
    l = srv.listener("tls")
    with socket.create_connection((l["host"], l["port"]), timeout=5) as raw:
        raw.sendall(b"EHLO me\r\n")
        report = srv.next_session()
    assert not report["ok"]
    assert "did not start TLS" in report["divergence"]["reason"], report["divergence"]
    assert report["divergence"]["received"] == "EHLO me\\r\\n"


def test_starttls_rejection_and_the_good_certificate_on_the_same_server(
        fakeserver, tmp_path, cert_sets):
    """Two files, two certificates, one process: the STARTTLS file presents the untrusted-CA
    certificate, the implicit-TLS file the good one (which the verifying client accepts)."""
    bad = tmp_path / "bad.scn"
    bad.write_text(STARTTLS_REJECT.format(kind="untrusted-ca"))
    good = tmp_path / "good.scn"
    good.write_text("description: good\ntransports: tls\nS: 220 mx\nC: QUIT\nS: 221 bye\n")
    srv = fakeserver("serve", bad, good, "--quiet", "--cert", cert_sets["good"][0], "--key",
                     cert_sets["good"][1], "--cert-set",
                     f"untrusted-ca={cert_sets['untrusted-ca'][0]},{cert_sets['untrusted-ca'][1]}")
    listeners = {srv.listener(t)["scenario"]: srv.listener(t) for t in ("plain", "tls")}
    plain = next(v for k, v in listeners.items() if k.endswith("bad.scn"))
    tls = next(v for k, v in listeners.items() if k.endswith("good.scn"))
    with socket.create_connection((plain["host"], plain["port"]), timeout=5) as raw:
        f = raw.makefile("rb")
        assert f.readline().startswith(b"220")
        raw.sendall(b"EHLO me\r\n")
        assert f.readline() == b"250-mx\r\n" and f.readline() == b"250 STARTTLS\r\n"
        raw.sendall(b"STARTTLS\r\n")
        assert f.readline().startswith(b"220")
        with pytest.raises(ssl.SSLCertVerificationError):
            verifying_context(cert_sets).wrap_socket(raw, server_hostname="127.0.0.1")
    first = srv.next_session()
    assert first["ok"], first.get("divergence")
    with socket.create_connection((tls["host"], tls["port"]), timeout=5) as raw:
        with verifying_context(cert_sets).wrap_socket(raw, server_hostname="127.0.0.1") as s:
            f = s.makefile("rb")
            assert f.readline() == b"220 mx\r\n"
            s.sendall(b"QUIT\r\n")
            assert f.readline() == b"221 bye\r\n"
    second = srv.next_session()
    assert second["ok"], second.get("divergence")


def test_a_missing_certificate_kind_skips_the_listener(fakeserver_bin, tmp_path, cert_sets):
    scn = tmp_path / "nokind.scn"
    scn.write_text(REJECT.format(kind="self-signed"))
    proc = subprocess.run([str(fakeserver_bin), "serve", str(scn), "--cert", str(cert_sets["good"][0]),
                           "--key", str(cert_sets["good"][1])], capture_output=True, text=True,
                          timeout=30)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e.get("reason") for e in events if e["event"] == "skipped"] == \
        ["server-cert self-signed needs --cert-set self-signed=CERT,KEY"]
    assert "nothing to listen on" in proc.stderr


def test_cert_set_takes_one_value_so_files_may_follow(fakeserver, tmp_path, cert_sets):
    scn = tmp_path / "after.scn"
    scn.write_text(REJECT.format(kind="expired"))
    srv = fakeserver("serve", "--cert", cert_sets["good"][0], "--key", cert_sets["good"][1],
                     "--cert-set", f"expired={cert_sets['expired'][0]},{cert_sets['expired'][1]}",
                     scn)
    assert [l["transport"] for l in srv.listeners] == ["tls"]
