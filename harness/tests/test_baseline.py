"""harness.baseline (ci/clients.sh): the other clients' verdicts against the recorded ones. A
change in either direction, a run that appeared or went, and any `error` must be reported; the
same verdicts must not."""

from __future__ import annotations

import json

from harness import baseline


def _report(*runs):
    return {"runs": [{"client": c, "file": f, "transport": t, "verdict": v} for c, f, t, v in runs]}


RECORDED = {"clients": {"curl": {"a.scn plain": "pass", "b.scn plain": "fail"},
                        "swaks": {"a.scn plain": "unsupported"}}}


def test_same_verdicts_pass():
    report = _report(("curl", "a.scn", "plain", "pass"), ("curl", "b.scn", "plain", "fail"),
                     ("swaks", "a.scn", "plain", "unsupported"))
    assert baseline.check(report, RECORDED) == []


def test_changes_new_gone_and_errors_are_reported():
    report = _report(("curl", "a.scn", "plain", "fail"), ("curl", "c.scn", "tls", "error"),
                     ("swaks", "a.scn", "plain", "unsupported"))
    assert baseline.check(report, RECORDED) == [
        "curl: a.scn plain: was pass, now fail",
        "curl: b.scn plain: was fail, now absent",
        "curl: c.scn tls: error (the harness could not make the run)",
    ]
    # A client that was never recorded is a difference too; --clients narrows the check.
    assert baseline.check(_report(("msmtp", "a.scn", "plain", "pass")), RECORDED) == [
        "msmtp: not in the baseline (run `update` and review)"]
    assert baseline.check(report, RECORDED, {"swaks"}) == []


def test_update_then_check_round_trips(tmp_path):
    report = _report(("curl", "a.scn", "plain", "diverged"))
    (tmp_path / "report.json").write_text(json.dumps(report))
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(RECORDED))
    assert baseline.main(["update", str(tmp_path / "report.json"), str(path), "--clients", "curl"]) == 0
    recorded = json.loads(path.read_text())
    # A narrowed run updates its runs and keeps the others; --replace starts the client afresh.
    assert recorded["clients"]["curl"] == {"a.scn plain": "diverged", "b.scn plain": "fail"}
    assert recorded["clients"]["swaks"] == RECORDED["clients"]["swaks"]  # other clients kept
    assert baseline.main(["check", str(tmp_path / "report.json"), str(path), "--clients", "curl"]) == 1
    assert baseline.main(["update", str(tmp_path / "report.json"), str(path), "--clients", "curl",
                          "--replace"]) == 0
    assert json.loads(path.read_text())["clients"]["curl"] == {"a.scn plain": "diverged"}
    assert baseline.main(["check", str(tmp_path / "report.json"), str(path), "--clients", "curl"]) == 0


def test_a_run_recorded_as_a_race_accepts_either_verdict(tmp_path):
    recorded = {"clients": {"go-smtp": {"x.scn plain": "fail|pass"}}}
    assert baseline.check(_report(("go-smtp", "x.scn", "plain", "pass")), recorded) == []
    assert baseline.check(_report(("go-smtp", "x.scn", "plain", "fail")), recorded) == []
    assert baseline.check(_report(("go-smtp", "x.scn", "plain", "diverged")), recorded) == [
        "go-smtp: x.scn plain: was fail|pass, now diverged"]
    (tmp_path / "r.json").write_text(json.dumps(_report(("go-smtp", "x.scn", "plain", "pass"))))
    (tmp_path / "b.json").write_text(json.dumps(recorded))
    baseline.main(["update", str(tmp_path / "r.json"), str(tmp_path / "b.json")])
    assert json.loads((tmp_path / "b.json").read_text())["clients"]["go-smtp"] == {"x.scn plain": "fail|pass"}
