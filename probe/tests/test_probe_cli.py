"""smtp-probe as a new user meets it: installed without the source tree, an empty suite, --check
with a name and a file, an unknown check name. A validator that checks nothing must say so."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest


def run(argv: list, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(probe_bin, tmp_path_factory) -> Path:
    """`cmake --install` of the build under test into a temporary prefix."""
    build = probe_bin.parent.parent
    if not (build / "cmake_install.cmake").exists():
        pytest.skip(f"{build} is not a CMake build tree (no cmake_install.cmake)")
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not on PATH")
    prefix = tmp_path_factory.mktemp("prefix")
    p = run(["cmake", "--install", build, "--prefix", prefix])
    assert p.returncode == 0, p.stderr
    return prefix


def test_installed_probe_finds_its_own_suite(installed, aiosmtpd_tls, certs):
    probe = installed / "bin" / "smtp-probe"
    suite = installed / "share" / "smtpkit" / "scenarios" / "server"
    assert probe.exists() and suite.is_dir()
    p = run([probe, "--list"])
    assert p.returncode == 0, p.stderr
    assert f"from {suite}" in p.stderr, p.stderr
    assert len(p.stdout.splitlines()) >= 120
    p = run([probe, *aiosmtpd_tls.target, "--json", "--quiet", "--timeout", "10", "--cafile",
             certs["ca"], "--tls-name", "localhost"])
    rep = json.loads(p.stdout)
    assert p.returncode == 0, p.stdout
    files = [c["file"] for c in rep["checks"]]
    assert len(files) >= 120 and all(f.startswith(str(suite)) for f in files), files
    assert any(c["verdict"] == "pass" for c in rep["checks"])


def test_an_empty_suite_is_an_error_not_ok(probe_bin, tmp_path, aiosmtpd_tls):
    p = run([probe_bin, *aiosmtpd_tls.target, "--suite", tmp_path])
    assert p.returncode == 2, p.stdout
    assert "no check loaded" in p.stderr and str(tmp_path) in p.stderr
    p = run([probe_bin, "--list", "--suite", tmp_path])
    assert p.returncode == 2 and "no check loaded" in p.stderr


def test_check_name_and_file_both_run(probe_bin, tmp_path, aiosmtpd_tls):
    mine = tmp_path / "my-noop.scn"
    mine.write_text("description: NOOP gets 250\ntags: ref:RFC5321#4.1.1.9\n"
                    "S: 220*\nC: EHLO ${helo_name}\nS: 250*\nC: NOOP\nS: 250 *\nC: QUIT\nS: 221*\n")
    p = run([probe_bin, *aiosmtpd_tls.target, "--json", "--check", "greeting", mine])
    rep = json.loads(p.stdout)
    assert [c["name"] for c in rep["checks"]] == ["greeting", "my-noop"], p.stdout
    assert {c["verdict"] for c in rep["checks"]} == {"pass"} and p.returncode == 0


def test_unknown_check_name_is_named(probe_bin, aiosmtpd_tls):
    p = run([probe_bin, *aiosmtpd_tls.target, "--check", "greeting", "--check", "no-such-check"])
    assert p.returncode == 2
    assert "--check no-such-check: no such check" in p.stderr, p.stderr


def test_ip_literal_is_never_sent_as_tls_server_name(probe_bin, aiosmtpd_tls, certs):
    # RFC 6066 section 3: no IP literal in SNI; the certificate is verified for the address.
    before = len(aiosmtpd_tls.sni_names())
    p = run([probe_bin, *aiosmtpd_tls.target, "--json", "--cafile", certs["ca"],
             "--check", "certificate-starttls"])
    rep = json.loads(p.stdout)
    assert [c["verdict"] for c in rep["checks"]] == ["pass"], p.stdout
    assert "verified for 127.0.0.1" in rep["checks"][0]["evidence"]
    assert aiosmtpd_tls.sni_names()[before:] == ["-"]
    # a name is sent as it is
    p = run([probe_bin, *aiosmtpd_tls.target, "--json", "--cafile", certs["ca"], "--tls-name",
             "localhost", "--check", "certificate-starttls"])
    assert json.loads(p.stdout)["checks"][0]["verdict"] == "pass", p.stdout
    assert aiosmtpd_tls.sni_names()[before + 1:] == ["localhost"]


def test_lmtp_default_port_is_the_projects(probe_bin):
    p = run([probe_bin, "--help"])
    assert "2003 for LMTP" in p.stdout and "24 for LMTP" not in p.stdout
    # nothing listens there in the test: the report names the port it tried
    p = run([probe_bin, "--server", "127.0.0.1", "--lmtp", "--json", "--timeout", "2"])
    assert json.loads(p.stdout)["server"] == "127.0.0.1:2003"


def test_list_is_a_dry_run_with_section_and_level(probe_bin):
    p = run([probe_bin, "--list"])
    rows = [line.split("\t") for line in p.stdout.splitlines()]
    assert len(rows) >= 120, p.stdout
    assert all(len(r) == 5 and r[1].startswith("RFC") and r[2] in ("MUST", "SHOULD", "policy")
               for r in rows), p.stdout
    # a section selects itself and its subsections, not its neighbours (4.1.1.1 vs 4.1.1.10)
    p = run([probe_bin, "--list", "--section", "5321/4.1.1.1"])
    refs = {line.split("\t")[1] for line in p.stdout.splitlines()}
    assert refs == {"RFC5321#4.1.1.1"}, p.stdout
    p = run([probe_bin, "--list", "--section", "RFC3207", "--section", "2920"])
    refs = {line.split("\t")[1].split("#")[0] for line in p.stdout.splitlines()}
    assert refs == {"RFC3207", "RFC2920"}, p.stdout
    p = run([probe_bin, "--list", "--section", "9999/1"])
    assert p.returncode == 2 and "matches the --section" in p.stderr


def test_strict_turns_a_should_into_a_failure(probe_bin, aiosmtpd_tls):
    # aiosmtpd answers HELP with 250 (RFC 5321 4.3.2 lists 211/214): a SHOULD, so a warning...
    p = run([probe_bin, *aiosmtpd_tls.target, "--json", "--check", "help-reply-code"])
    c = json.loads(p.stdout)["checks"][0]
    assert (c["verdict"], c["level"], p.returncode) == ("warn", "SHOULD", 0), p.stdout
    assert c["evidence"].startswith("answered HELP with 250"), c
    # ...and a failure under --strict
    p = run([probe_bin, *aiosmtpd_tls.target, "--json", "--strict", "--check", "help-reply-code"])
    assert json.loads(p.stdout)["checks"][0]["verdict"] == "fail" and p.returncode == 7
