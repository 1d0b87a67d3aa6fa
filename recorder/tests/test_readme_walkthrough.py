"""recorder/README.md, "Reproducing a failure": the walk-through runs here as written, with the
same commands and the same output lines. A real failure: Postfix's smtpd answers one recipient
with 421 and hangs up while our client's pipelined group (MAIL, RCPT, RCPT, BDAT LAST) is on the
way; the send fails. The recording replays on any machine with `harness.reproduce`, and it is the
corpus file scenarios/recorded/postfix-421-at-rcpt-bdat.scn (this test checks the two agree)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness import clients
from recorder_proc import Recorder, missing_reason

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "probe" / "tests"))
import probe_servers  # noqa: E402

CORPUS_FILE = REPO / "scenarios" / "recorded" / "postfix-421-at-rcpt-bdat.scn"
# The server behaviour under test: carol's RCPT gets 421 and the connection ends (access(5)).
POSTFIX_EXTRA = """\
smtpd_recipient_restrictions = check_recipient_access
    inline:{ { carol@example.net = 421 4.3.2 Service shutting down, try later } },
    permit_mynetworks, reject_unauth_destination
"""

pytestmark = pytest.mark.realserver


@pytest.fixture(autouse=True)
def _built(monkeypatch):
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    monkeypatch.delenv("SMTPKIT_FORCE_PIPELINING", raising=False)


@pytest.fixture
def postfix_421(tmp_path):
    if shutil.which("postfix") is None:
        pytest.skip("postfix is not installed (ci/install-deps.sh installs it)")
    if os.geteuid() != 0:
        pytest.skip("Postfix's master runs only as root (the CI container runs the tests as root)")
    trustme = pytest.importorskip("trustme")
    workdir = Path(tempfile.mkdtemp(prefix="smtp-record-walkthrough-"))
    os.chmod(workdir, 0o755)
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.private_key_pem.write_to_path(str(workdir / "k.pem"))
    cert.cert_chain_pems[0].write_to_path(str(workdir / "c.pem"))
    server = probe_servers.Postfix(workdir / "postfix", workdir / "c.pem", workdir / "k.pem",
                                   POSTFIX_EXTRA)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def script_lines(text: str) -> list[str]:
    """The file without comments and pauses (a `sleep` depends on the machine's load). After the
    421 both sides hang up at once: which close the proxy sees first (`close`, the server's, or
    `expect-close`, the client's) is a race, so the last step is compared as "the session ends"."""
    lines = [line for line in text.splitlines()
             if line.strip() and not line.startswith("#") and not line.startswith("sleep ")]
    if lines and lines[-1] in ("close", "expect-close"):
        lines[-1] = "(the session ends)"
    return lines


def test_walkthrough_reproduces_a_postfix_failure(postfix_421, tmp_path):
    bug = tmp_path / "bug.scn"
    message = tmp_path / "message.eml"
    message.write_bytes(b"Subject: quarterly report\r\n\r\nSee the numbers below.\r\n")
    # 1. smtp-record in front of the real server.
    rec = Recorder(bug, ["--upstream", f"127.0.0.1:{postfix_421.port}",
                         "--name", "postfix-421-at-rcpt-bdat",
                         "--description", "Postfix answers one recipient 421 and hangs up in a "
                                          "pipelined BDAT group; the send fails"])
    try:
        # 2. the client, as a user runs it, through the recorder: it fails.
        run = clients.run_client("cpp", rec.client_args() + [
            "--from", "alice@example.org", "--to", "bob@example.net", "--to", "carol@example.net",
            "--data", str(message), "--timeout", "10"])
        events = rec.finish()
    finally:
        rec.stop()
    assert run.result and run.result["ok"] is False, (run.stdout, run.stderr)
    assert run.result["error"]["type"] == "SMTPRecipientsRefused", run.result
    assert run.result["error"]["recipients"]["carol@example.net"][0] == 421, run.result
    assert events and events[0]["ok"] and rec.proc.returncode == 0, (events, rec.stderr)
    text = bug.read_text()
    assert "bdat 53 last" in text and "S: 421 4.3.2 <carol@example.net>: Recipient address rejected" in text, text
    assert "expect: raises SMTPRecipientsRefused" in text, text

    # 3. reproduce it, on any machine: every client the file admits passes.
    p = subprocess.run(["/usr/bin/python3", "-m", "harness.reproduce", str(bug), "--client", "all"],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "VERDICT (cpp): PASS" in p.stdout and "VERDICT (cpp-async): PASS" in p.stdout, p.stdout
    assert "VERDICT (smtplib): SKIP" in p.stdout, p.stdout
    assert "reproduce: PASS (cpp: pass, cpp-async: pass, smtplib: skip)" in p.stdout, p.stdout

    # 4. the corpus holds this recording (the matrix runs it): the same script and section.
    assert script_lines(CORPUS_FILE.read_text()) == script_lines(text), \
        f"{CORPUS_FILE} differs from today's recording:\n{text}"
