"""`/usr/bin/python3 -m harness.reproduce FILE`: the verdict, the trace and the server's report for
one file; exit 0 pass, 1 fail, 2 bad file or command line."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.clients import REPO
from recorder_proc import missing_reason

PYTHON = "/usr/bin/python3"
CORPUS_FILE = REPO / "scenarios" / "basic" / "send-one-message.scn"


@pytest.fixture(autouse=True)
def _built():
    reason = missing_reason()
    if reason:
        pytest.skip(reason)


def reproduce(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "harness.reproduce", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("transport", ["plain", "starttls", "tls"])
def test_corpus_file_passes_with_both_clients(transport):
    p = reproduce(str(CORPUS_FILE), "--transport", transport, "--client", "both")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "VERDICT (cpp): PASS" in p.stdout and "VERDICT (smtplib): PASS" in p.stdout
    assert "client trace:" in p.stdout and "server steps:" in p.stdout
    assert "reproduce: PASS (cpp: pass, smtplib: pass)" in p.stdout


def test_wrong_expectation_fails_with_the_difference(tmp_path):
    # The same exchange, but the file claims a refusal that the server never sends.
    text = CORPUS_FILE.read_text().replace("include: ../", f"include: {REPO}/scenarios/")
    text = text.replace("expect: ok", "expect: raises SMTPSenderRefused 553")
    f = tmp_path / "wrong.scn"
    f.write_text(text)
    p = reproduce(str(f))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "VERDICT (cpp): FAIL" in p.stdout
    assert "expected `raises SMTPSenderRefused 553`, got ok" in p.stdout


def test_client_departing_from_the_script_shows_where(tmp_path):
    # The script expects another sender than the client section sends: the server's report
    # names the file:line and shows the received bytes with CR/LF visible.
    text = CORPUS_FILE.read_text().replace("include: ../", f"include: {REPO}/scenarios/")
    text = text.replace("C: MAIL FROM:<alice@example.org>*", "C: MAIL FROM:<zed@example.org>*")
    f = tmp_path / "diverges.scn"
    f.write_text(text)
    p = reproduce(str(f), "--client", "smtplib")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "session DIVERGED at" in p.stdout and f"{f}:" in p.stdout
    assert "\\r\\n" in p.stdout


def test_bad_file_exit_2(tmp_path):
    f = tmp_path / "bad.scn"
    f.write_text("description: x\nS: 220 hi\nbogus action\n")
    p = reproduce(str(f))
    assert p.returncode == 2
    assert "bad.scn:3" in p.stderr
