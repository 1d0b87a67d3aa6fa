"""The starter scenarios (the examples of every action that scenarios/FORMAT.md links to), over
every transport each declares, played by smtp-fakeserver against Python's smtplib: smtplib's
outcome is the one the scenario states (expect-smtplib where it differs on purpose), and the
server's report says the session followed the script. The whole corpus runs in the harness's
matrix (harness/), with its own drivers; this is the fake server's own proof."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from fakeserver_proc import SCENARIOS, find_binary
from fakeserver_smtplib import matches, run


def starter_files():
    """The files FORMAT.md's example table links to."""
    text = (SCENARIOS / "FORMAT.md").read_text()
    names = sorted(set(re.findall(r"\]\(([a-z0-9/_-]+\.scn)\)", text)))
    return [SCENARIOS / n for n in names]


def _scenarios():
    binary = find_binary()
    if binary is None:
        return []
    files = starter_files()
    out = subprocess.run([str(binary), "dump", "--lines", *map(str, files)], capture_output=True,
                         check=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines()]


def pytest_generate_tests(metafunc):
    if "scenario_run" not in metafunc.fixturenames:
        return
    params, ids = [], []
    for sc in _scenarios():
        if not sc["client"]["calls"] or "server" not in sc["roles"]:
            continue
        rel = sc["file"].split("scenarios/", 1)[-1]
        marks = []
        if sc.get("clients") and "smtplib" not in sc["clients"]:
            marks.append(pytest.mark.skip(reason=f"not for smtplib: {sc['clients_note']}"))
        elif sc.get("server_cert", "good") != "good":
            marks.append(pytest.mark.skip(
                reason=f"server-cert {sc['server_cert']}: the matrix (harness/tests/test_matrix.py) "
                       "makes that certificate and plays this file"))
        for t in sc["transports"]:
            params.append(pytest.param((sc, t), marks=marks))
            ids.append(f"{rel}-{t}")
    if not params:
        params = [pytest.param((None, None), marks=pytest.mark.skip(
            reason="smtp-fakeserver is not built, so no scenario can be listed"))]
        ids = ["no-binary"]
    metafunc.parametrize("scenario_run", params, ids=ids)


def test_smtplib_against_scenario(scenario_run, fakeserver, certs, tmp_path):
    sc, transport = scenario_run
    srv = fakeserver("serve", sc["file"], "--transport", transport, "--sessions", 1,
                     "--cert", certs["cert"], "--key", certs["key"], "--unix-dir", tmp_path,
                     "--step-timeout", 5)
    listener = srv.listener(transport)
    got = run(sc, listener, certs["ca"])
    report = srv.next_session()
    expect = sc["client"]["expect_smtplib"] or sc["client"]["expect"]
    transcript = "\n".join(f"  {e['from']}: {e['data']}" for e in report["transcript"])
    assert matches(expect, got), (
        f"{sc['file']}:{expect['line']}: expected {expect['text']!r}, smtplib gave {got}\n"
        f"server report: {json.dumps(report.get('divergence'))}\ntranscript:\n{transcript}")
    if sc["client"]["expect_smtplib"] is None:
        # The script is written for a client that behaves as smtplib here: it must be followed.
        assert report["ok"], f"{srv.stderr()}\ntranscript:\n{transcript}"
        assert srv.wait() == 0
