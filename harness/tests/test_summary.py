"""The run summary ci/main.sh prints (harness/summary.py), checked on a throwaway test file run
in a separate pytest process with the harness plugin."""

from __future__ import annotations

import json
import subprocess

from harness.clients import PYTHON, REPO

SAMPLE = '''
import pytest

def test_delivers(client, request):
    request.node.user_properties.append(("client_outcome", "ok refused=1"))

def test_breaks(client):
    assert 1 == 2

def test_not_here(client):
    pytest.skip("no such server here")
'''


def test_summary_table_and_json(tmp_path):
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    summary_json = tmp_path / "summary.json"
    proc = subprocess.run(
        [PYTHON, "-m", "pytest", "-p", "harness.plugin", "-p", "no:cacheprovider",
         "--clients", "smtplib", "--job-summary", "--summary-json", str(summary_json),
         "--rootdir", str(tmp_path), "-c", "/dev/null", str(tmp_path / "test_sample.py")],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr  # one test failed
    rows = {r["case"]: r for r in json.loads(summary_json.read_text())}
    assert {case: (r["client"], r["outcome"]) for case, r in rows.items()} == {
        "delivers": ("smtplib", "passed"),
        "breaks": ("smtplib", "failed"),
        "not_here": ("smtplib", "skipped"),
    }, out
    assert rows["delivers"]["client_outcome"] == "ok refused=1"
    assert rows["not_here"]["reason"] == "no such server here"
    table = out[out.index("run summary"):]
    assert "delivers" in table and "PASSED" in table and "ok refused=1" in table, out
    assert "sample" in table and "1/1/1" in table, out  # group "sample": pass/fail/skip
    assert "total: 1 failed, 1 passed, 1 skipped" in table, out
    assert f"summary JSON: {summary_json}" in table, out


# Issue 19: skipped runs landed in a group named "-" (a skip mark ends the run before the setup
# hook that labelled it), and the matrix's JUnit testcases carried case/client/group twice with
# conflicting values (the default labels, then the test's own). Checked on the matrix itself over
# a throwaway corpus, under xdist as the main job runs it, plus a plain test skipped by a mark.
MATRIX_CORPUS = {
    "good/noop.scn": "description: noop then quit\nclient: noop\nclient: quit\n"
                     "expect: ok reply=221\n\nS: 220 mx.example.org ESMTP\nC: NOOP\n"
                     "S: 250 2.0.0 Ok\nC: QUIT\nS: 221 Bye\n",
    # Not for smtplib: its run is skipped by a mark (clients:), never set up.
    "only/cpp-noop.scn": "description: noop, ours only\nclients: cpp\n"
                         "note-clients: a file for our client only\nclient: noop\nclient: quit\n"
                         "expect: ok reply=221\n\nS: 220 mx.example.org ESMTP\nC: NOOP\n"
                         "S: 250 2.0.0 Ok\nC: QUIT\nS: 221 Bye\n",
}

SKIPPED_BY_MARK = '''
import pytest

@pytest.mark.skip(reason="skipped by a mark")
def test_marked(client):
    pass
'''


def test_summary_and_junit_attribute_every_run_once(tmp_path):
    import os
    import xml.etree.ElementTree as ET

    from harness import matrix
    reason = matrix.missing_reason()
    if reason:
        import pytest
        pytest.skip(reason)
    corpus = tmp_path / "corpus"
    for name, text in MATRIX_CORPUS.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text)
    (tmp_path / "test_marks.py").write_text(SKIPPED_BY_MARK)
    junit, summary_json = tmp_path / "junit.xml", tmp_path / "summary.json"
    env = dict(os.environ, SMTPKIT_SCENARIOS_DIR=str(corpus),
               SMTPKIT_BUILD_DIR=str(matrix.build_dir()))
    proc = subprocess.run(
        [PYTHON, "-m", "pytest", "-p", "harness.plugin", "-p", "no:cacheprovider", "-n", "2",
         "-q", "--job-summary", "--transport", "plain", "--clients", "cpp,smtplib",
         f"--junitxml={junit}", f"--summary-json={summary_json}",
         "harness/tests/test_matrix.py", str(tmp_path / "test_marks.py")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "3 passed, 3 skipped" in out, out

    rows = json.loads(summary_json.read_text())
    groups = {(r["case"], r["client"]): (r["group"], r["outcome"]) for r in rows}
    assert groups == {
        ("good/noop.scn:plain", "cpp"): ("good/plain", "passed"),
        ("good/noop.scn:plain", "smtplib"): ("good/plain", "passed"),
        ("only/cpp-noop.scn:plain", "cpp"): ("only/plain", "passed"),
        ("only/cpp-noop.scn:plain", "smtplib"): ("only/plain", "skipped"),
        ("marked", "smtplib"): ("marks", "skipped"),
        ("marked", "cpp"): ("marks", "skipped"),
    }, json.dumps(rows, indent=1)
    table = out[out.index("run summary"):]
    assert "only/plain" in table and "\n-  " not in table, table

    cases = ET.parse(junit).getroot().iter("testcase")
    seen = 0
    for case in cases:
        seen += 1
        props = [(p.get("name"), p.get("value")) for p in case.iter("property")]
        names = [n for n, _ in props]
        for label in ("case", "client", "group"):
            assert names.count(label) == 1, (case.get("name"), props)
        values = dict(props)
        assert values["group"] != "-", (case.get("name"), props)
        name = case.get("name")
        if name.startswith("test_scenario["):
            file, client = name[len("test_scenario["):-1].rsplit("-plain-", 1)
            assert (values["case"], values["client"], values["group"]) == (
                f"{file}:plain", client, f"{file.split('/')[0]}/plain"), (name, props)
    assert seen == 6
