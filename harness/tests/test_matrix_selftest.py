"""The matrix's own tests: the outcome comparison in-process, and the whole matrix run in a separate
pytest process over a throwaway corpus (SMTPKIT_SCENARIOS_DIR) with one scenario that passes, one
whose expected outcome is wrong, and one whose script the client departs from; the failures must
carry what issue 5 asks for (file:line, expected vs actual, the transcript with CR/LF visible, the
client's trace)."""

from __future__ import annotations

import os
import subprocess

import pytest

from harness import matrix
from harness.clients import PYTHON, REPO

OK = {"ok": True, "reply": [221, "Bye"], "refused": {"carol@example.org": [550, "no"]}}
RAISED = {"ok": False, "error": {"type": "SMTPSenderRefused",
                                 "types": ["SMTPSenderRefused", "SMTPResponseException", "SMTPException"],
                                 "code": 553, "message": "no"}}


def expect(text: str, **fields) -> dict:
    return {"text": text, "line": 1, **fields}


def test_compare_ok_outcomes():
    assert matrix.compare(expect("ok", result="ok", refused={"carol@example.org": 550}), OK) == []
    assert matrix.compare(expect("ok reply=221", result="ok", reply=221,
                                 refused={"carol@example.org": 550}), OK) == []
    wrong_reply = matrix.compare(expect("ok reply=250", result="ok", reply=250,
                                        refused={"carol@example.org": 550}), OK)
    assert wrong_reply == ["expected the last reply 250, got 221"]
    assert matrix.compare(expect("ok", result="ok", refused={}), OK) != []  # refusal not expected


def test_compare_exceptions_match_base_classes():
    base = expect("raises SMTPException", result="raises", exception="SMTPException", code=None)
    assert matrix.compare(base, RAISED) == []
    exact = expect("raises SMTPSenderRefused 553", result="raises", exception="SMTPSenderRefused",
                   code=553)
    assert matrix.compare(exact, RAISED) == []
    other_code = dict(exact, code=550)
    assert matrix.compare(other_code, RAISED) == ["expected code 550, got 553"]
    sibling = expect("raises SMTPDataError", result="raises", exception="SMTPDataError", code=None)
    assert len(matrix.compare(sibling, RAISED)) == 1
    assert matrix.compare(exact, OK)[0].startswith("expected `raises SMTPSenderRefused 553`, got ok")


GREETING_NOOP = """
S: 220 mx.example.org ESMTP
C: NOOP
S: 250 2.0.0 Ok
C: QUIT
S: 221 Bye
"""

CORPUS = {
    "good/noop.scn": "description: noop then quit\nclient: noop\nclient: quit\n"
                     "expect: ok reply=221\n" + GREETING_NOOP,
    "bad/wrong-expect.scn": "description: the expectation is wrong on purpose\nclient: noop\n"
                            "client: quit\nexpect: ok reply=250\n" + GREETING_NOOP,
    "bad/diverges.scn": "description: the script wants RSET, the client sends NOOP\nclient: noop\n"
                        "expect: ok reply=250\n\nS: 220 mx.example.org ESMTP\nC: RSET\nS: 250 Ok\n",
}


@pytest.fixture(scope="module")
def selftest_run(tmp_path_factory):
    reason = matrix.missing_reason()
    if reason:
        pytest.skip(reason)
    corpus = tmp_path_factory.mktemp("corpus")
    for name, text in CORPUS.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text)
    env = dict(os.environ, SMTPKIT_SCENARIOS_DIR=str(corpus),
               SMTPKIT_BUILD_DIR=str(matrix.build_dir()))
    proc = subprocess.run(
        [PYTHON, "-m", "pytest", "-p", "harness.plugin", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-q", "--job-summary", "--transport", "plain,unix", "--clients", "cpp,smtplib",
         "harness/tests/test_matrix.py"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    return proc


def test_selftest_passes_and_fails_the_right_runs(selftest_run):
    out = selftest_run.stdout
    assert selftest_run.returncode == 1, out + selftest_run.stderr
    assert "4 failed, 2 passed" in out, out  # 3 files over plain (their only transport) x 2 clients
    for client in ("cpp", "smtplib"):
        assert f"FAILED harness/tests/test_matrix.py::test_scenario[bad/wrong-expect.scn-plain-{client}]" in out
        assert f"FAILED harness/tests/test_matrix.py::test_scenario[bad/diverges.scn-plain-{client}]" in out
    assert "good/noop.scn-plain" not in out.split("short test summary")[-1]


def test_selftest_failure_message_has_location_transcript_and_trace(selftest_run):
    out = selftest_run.stdout
    assert "expected the last reply 250, got 221" in out
    assert "wrong-expect.scn:4): ok reply=250" in out       # where the expectation is written
    assert "session DIVERGED at" in out and "diverges.scn:6" in out  # the C: RSET line
    assert "received: noop\\r\\n" in out                     # CR/LF made visible
    assert "S: 220 mx.example.org ESMTP\\r\\n" in out         # the transcript
    assert "client trace (cpp, debuglevel 2)" in out and "client trace (smtplib, debuglevel 2)" in out
    assert out.count("send: 'noop\\r\\n'") >= 4     # both clients' debug lines, both failed runs
