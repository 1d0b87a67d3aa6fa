"""smtp-probe against real servers started on loopback (aiosmtpd, Postfix, aiosmtpd's LMTP) and
against smtp-fakeserver playing broken scripts: the verdicts known for each are asserted."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.realserver


def probe(probe_bin: Path, target: list[str], *args: str, timeout: float = 180) -> tuple[int, dict, str]:
    p = subprocess.run([str(probe_bin), *target, "--json", "--timeout", "10", *args],
                       capture_output=True, text=True, timeout=timeout)
    try:
        report = json.loads(p.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"no JSON from smtp-probe (exit {p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p.returncode, report, p.stderr


def verdicts(report: dict) -> dict[str, str]:
    return {c["name"]: c["verdict"] for c in report["checks"]}


def explain(report: dict) -> str:
    return "\n".join(f"{c['name']}: {c['verdict']}: {c['evidence']}" for c in report["checks"])


def test_aiosmtpd_safe_by_default_delivers_nothing(probe_bin, aiosmtpd_tls, certs):
    rc, rep, err = probe(probe_bin, aiosmtpd_tls.target, "--cafile", str(certs["ca"]),
                         "--tls-name", "localhost")
    v = verdicts(rep)
    assert rc == 0, explain(rep)
    for name in ("greeting", "ehlo-multiline", "helo", "unknown-command", "rset-noop-quit",
                 "null-sender", "rcpt-before-mail", "data-before-rcpt", "line-too-long",
                 "size-enforced", "starttls-offered", "starttls-works", "certificate-starttls",
                 "capabilities-refreshed", "auth-after-tls-only", "starttls-injection"):
        assert v[name] == "pass", explain(rep)
    # aiosmtpd does not advertise PIPELINING; delivery checks need --rcpt --allow-delivery.
    assert v["pipelining"] == "skip"
    for name in ("smuggling-bare-lf", "smuggling-bare-cr", "lmtp-per-recipient"):
        assert v[name] == "skip", explain(rep)
    assert aiosmtpd_tls.delivered() == []
    # progress went to stderr while it ran
    assert "[1/" in err and "greeting" in err


@pytest.mark.slow  # four 2-second quiet pauses
def test_aiosmtpd_resists_smuggling_and_nothing_is_delivered(probe_bin, aiosmtpd_tls, tmp_path):
    junit = tmp_path / "probe.xml"
    rc, rep, _ = probe(probe_bin, aiosmtpd_tls.target, "--rcpt", "owner@example.org",
                       "--allow-delivery", "--junit", str(junit), "--check", "smuggling-bare-lf",
                       "--check", "smuggling-bare-cr", "--check", "smuggling-lf-crlf",
                       "--check", "smuggling-crlf-lf")
    assert rc == 0, explain(rep)
    assert set(verdicts(rep).values()) == {"pass"}, explain(rep)
    assert all("no reply during" in c["evidence"] for c in rep["checks"]), explain(rep)
    # the probe resets after the quiet pause: the half-sent message is never accepted
    assert aiosmtpd_tls.delivered() == []
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "4" and suite.get("failures") == "0"


def test_untrusted_certificate_fails_the_certificate_check(probe_bin, aiosmtpd_tls):
    rc, rep, _ = probe(probe_bin, aiosmtpd_tls.target, "--check", "certificate-starttls",
                       "--check", "starttls-works")
    v = verdicts(rep)
    assert v == {"certificate-starttls": "fail", "starttls-works": "pass"}, explain(rep)
    assert rc == 7
    assert "certificate not valid for 127.0.0.1" in rep["checks"][0]["evidence"]


def test_starttls_transport_runs_checks_inside_tls(probe_bin, aiosmtpd_tls, certs):
    rc, rep, _ = probe(probe_bin, aiosmtpd_tls.target, "--transport", "starttls", "--cafile",
                       str(certs["ca"]), "--tls-name", "localhost")
    v = verdicts(rep)
    assert rc == 0, explain(rep)
    assert v["certificate"] == "pass" and "verified for localhost" in \
        next(c for c in rep["checks"] if c["name"] == "certificate")["evidence"]
    assert v["starttls-injection"] == "skip" and v["greeting"] == "pass"
    assert rep["discovery"]["tls"]["verified"] is True


def test_lmtp_over_unix_one_reply_per_recipient(probe_bin, aiosmtpd_lmtp):
    rc, rep, _ = probe(probe_bin, aiosmtpd_lmtp.target, "--rcpt", "owner@example.org",
                       "--allow-delivery")
    v = verdicts(rep)
    assert rc == 0, explain(rep)
    assert v["lhlo-multiline"] == "pass" and v["lmtp-per-recipient"] == "pass", explain(rep)
    assert v["ehlo-multiline"] == "skip" and v["greeting"] == "pass"
    # the one check allowed to deliver did, once, to the operator's recipient twice
    delivered = aiosmtpd_lmtp.delivered()
    assert [m["to"] for m in delivered] == [["owner@example.org", "owner@example.org"]]


@pytest.mark.slow  # four 2-second quiet pauses
def test_postfix_known_verdicts(probe_bin, postfix, certs):
    rc, rep, _ = probe(probe_bin, postfix.target, "--cafile", str(certs["ca"]), "--tls-name",
                       "localhost", "--rcpt", "owner@example.org", "--allow-delivery")
    v = verdicts(rep)
    for name in ("greeting", "ehlo-multiline", "pipelining", "size-enforced", "8bitmime",
                 "smtputf8", "starttls-works", "certificate-starttls", "capabilities-refreshed",
                 "starttls-injection", "vrfy-policy", "line-too-long", "smuggling-bare-cr"):
        assert v[name] == "pass", explain(rep) + postfix.log_tail()
    # Postfix accepts MAIL before EHLO (allowed, reported as a warning), and Debian's 3.7 with
    # its default smtpd_forbid_bare_newline=no takes <LF>.<LF> for the end of data: the SMTP
    # smuggling finding of December 2023.
    assert v["mail-before-ehlo"] == "warn"
    assert v["smuggling-bare-lf"] == "fail" and v["smuggling-lf-crlf"] == "fail"
    assert "queued" in next(c for c in rep["checks"] if c["name"] == "smuggling-bare-lf")["evidence"]
    assert rc == 7 and rep["phase"] == "checks"


@pytest.mark.parametrize("script,check,says", [
    ("injection-answered", "starttls-injection", "the reply does not match: got 250 2.0.0 Ok"),
    ("smuggling-accepted", "smuggling-bare-lf", "must stay silent: got 250 2.0.0 Ok: queued"),
    ("multiline-mismatch", "ehlo-multiline", "mixes codes 250 and 251"),
    ("caps-not-refreshed", "capabilities-refreshed", "got 250 STARTTLS"),
])
def test_broken_server_is_flagged(probe_bin, broken_server, script, check, says):
    rc, rep, _ = probe(probe_bin, broken_server.targets[script], "--check", check,
                       "--rcpt", "owner@example.org", "--allow-delivery")
    assert verdicts(rep) == {check: "fail"}, explain(rep)
    assert says in rep["checks"][0]["evidence"], explain(rep)
    assert rc == 7


def test_exit_status_by_phase(probe_bin, tmp_path):
    # connect phase: nothing listens on this socket
    rc, rep, _ = probe(probe_bin, ["--unix", str(tmp_path / "absent.sock")])
    assert rc == 3 and rep["phase"] == "connect"
    p = subprocess.run([str(probe_bin), "--server", "127.0.0.1:25", "--unix", "/x"],
                       capture_output=True, text=True)
    assert p.returncode == 2


def test_dovecot_lmtp_known_verdicts(probe_bin, dovecot):
    # safe by default: nothing delivered
    rc, rep, _ = probe(probe_bin, dovecot.target)
    v = verdicts(rep)
    assert v["lmtp-per-recipient"] == "skip" and dovecot.delivered("owner") == []
    for name in ("greeting", "lhlo-multiline", "pipelining", "null-sender", "rset-noop-quit",
                 "rcpt-before-mail", "data-before-rcpt", "unknown-command", "line-too-long"):
        assert v[name] == "pass", explain(rep)
    # Dovecot's LMTP accepts MAIL before LHLO: a warning, not a failure.
    assert v["mail-before-ehlo"] == "warn" and rc == 0, explain(rep)
    rc, rep, _ = probe(probe_bin, dovecot.target, "--rcpt", "owner@example.org",
                       "--allow-delivery", "--check", "lmtp-per-recipient")
    assert verdicts(rep) == {"lmtp-per-recipient": "pass"}, explain(rep)
    assert "Saved" in rep["checks"][0]["evidence"]
    assert len(dovecot.delivered("owner")) == 1


@pytest.mark.slow  # four 2-second quiet pauses
def test_postfix_with_smuggling_fix_passes_every_variant(probe_bin, postfix_hardened):
    rc, rep, _ = probe(probe_bin, postfix_hardened.target, "--rcpt", "owner@example.org",
                       "--allow-delivery", "--check", "smuggling-bare-lf", "--check",
                       "smuggling-bare-cr", "--check", "smuggling-lf-crlf", "--check",
                       "smuggling-crlf-lf")
    assert set(verdicts(rep).values()) == {"pass"}, explain(rep) + postfix_hardened.log_tail()
    assert rc == 0
    # the probe reset every session before the real end of data: Postfix queued nothing
    assert "queued as" not in postfix_hardened.log_tail() and "removed" not in postfix_hardened.log_tail()


def test_implicit_tls_transport_and_certificate(probe_bin, broken_server, certs):
    target = broken_server.targets["implicit-tls"]
    rc, rep, _ = probe(probe_bin, target, "--cafile", str(certs["ca"]), "--tls-name", "localhost",
                       "--check", "certificate", "--check", "ehlo-multiline")
    assert verdicts(rep) == {"certificate": "pass", "ehlo-multiline": "pass"}, explain(rep)
    assert rc == 0 and rep["discovery"]["tls"]["verified"] is True
    # the same server, verified for a name its certificate does not carry
    rc, rep, _ = probe(probe_bin, target, "--cafile", str(certs["ca"]), "--tls-name",
                       "mx.example.org", "--check", "certificate")
    assert verdicts(rep) == {"certificate": "fail"}, explain(rep)
    assert "not valid for mx.example.org" in rep["checks"][0]["evidence"]
    assert rc == 7


def test_refused_greeting_is_phase_4(probe_bin, broken_server, tmp_path):
    junit = tmp_path / "j.xml"
    rc, rep, _ = probe(probe_bin, broken_server.targets["greeting-554"], "--junit", str(junit))
    assert rc == 4 and rep["phase"] == "greeting" and rep["checks"] == []
    assert "554 5.3.2 no service here" in rep["discovery"]["error"]
    assert ET.parse(junit).getroot().get("errors") == "1"


def test_timeout_bounds_a_silent_server(probe_bin, broken_server):
    p = subprocess.run([str(probe_bin), *broken_server.targets["slow-greeting"], "--timeout", "1",
                        "--json"], capture_output=True, text=True, timeout=30)
    rep = json.loads(p.stdout)
    assert p.returncode == 4 and rep["phase"] == "greeting"
    assert "timed out" in rep["discovery"]["error"]
