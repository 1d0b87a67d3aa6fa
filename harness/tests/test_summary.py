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
