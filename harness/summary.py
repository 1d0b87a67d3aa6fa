"""A run summary for people: one row per case, one column per client (outcome, time, result),
then passed/failed/skipped per group and client, and the slowest runs.

Enabled with --job-summary (ci/main.sh passes it); --summary-json PATH also writes the rows as
JSON. Each row's case is the test name plus its parameters other than the client; the client's
own result ("ok refused=1", "SMTPSenderRefused 553") comes from the `send` fixture. Works under
xdist: user_properties travel with the reports to the controller.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

_ROWS_KEY = pytest.StashKey[list]()
SLOWEST = 5  # how many of the slowest runs the summary names
# Above this many rows (the scenario matrix) the case table lists only failed cases and the
# skipped ones are counted by reason: the per-group table is what a person reads first.
FULL_TABLE_MAX_ROWS = 60
SLOWEST_LARGE = 10


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("smtpkit harness")
    group.addoption("--job-summary", action="store_true",
                    help="print a case/client/outcome/time table at the end")
    group.addoption("--summary-json", metavar="PATH", help="write the summary rows as JSON")


def label(item: pytest.Item) -> tuple[str, str]:
    """(case, client) for an item: `test_some_refused[cpp]` -> ("some_refused", "cpp")."""
    name = getattr(item, "originalname", None) or item.name.split("[", 1)[0]
    case = name.removeprefix("test_")
    client = "-"
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        client = str(callspec.params.get("client", "-"))
        rest = [part for part in callspec.id.split("-") if part != client]
        if rest:
            case = f"{case}[{'-'.join(rest)}]"
    return case, client


LABELS = ("case", "client", "group")


def setup_item(item: pytest.Item) -> None:
    """Labels an item for the summary and the JUnit file, once, at collection (so a run skipped
    by a mark, which never reaches the test's setup, carries its labels too). A test gives its
    own labels with the `summary` mark, e.g. the matrix's
    `pytest.mark.summary(case="refusals/rcpt-421.scn:plain", client="cpp", group="refusals/plain")`;
    what it leaves out comes from label() and, for the group, the test file's name."""
    if any(key in LABELS for key, _ in item.user_properties):
        return  # labelled already
    case, client = label(item)
    labels = {"case": case, "client": client, "group": item.path.stem.removeprefix("test_")}
    mark = item.get_closest_marker("summary")
    if mark is not None:
        unknown = set(mark.kwargs) - set(LABELS)
        if unknown:
            raise pytest.UsageError(f"{item.nodeid}: summary mark: unknown labels {sorted(unknown)}")
        labels.update({k: str(v) for k, v in mark.kwargs.items()})
    for key in LABELS:
        item.user_properties.append((key, labels[key]))


def collect(config: pytest.Config, report: pytest.TestReport) -> None:
    rows = config.stash.setdefault(_ROWS_KEY, [])
    props = dict(report.user_properties)
    if report.when == "call" or report.outcome != "passed":
        outcome = report.outcome
        if report.when != "call" and outcome == "failed":
            outcome = "error"  # a fixture failed: setup or teardown
        reason = ""
        if outcome == "skipped" and isinstance(report.longrepr, tuple):
            reason = report.longrepr[2].removeprefix("Skipped: ")
        rows.append({
            "nodeid": report.nodeid,
            "case": props.get("case", report.nodeid),
            "client": props.get("client", "-"),
            "group": props.get("group", "-"),
            "outcome": outcome,
            "client_outcome": props.get("client_outcome", ""),
            "seconds": round(report.duration, 3),
            "reason": reason,
        })


def terminal_summary(terminalreporter, config: pytest.Config) -> None:
    rows = sorted(config.stash.get(_ROWS_KEY, []), key=lambda r: (r["case"], r["client"]))
    path = config.getoption("--summary-json")
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(rows, indent=1) + "\n")
    if not config.getoption("--job-summary"):
        return
    tr = terminalreporter
    # One line per case, one column per client, so the two clients read side by side.
    clients = sorted({r["client"] for r in rows})
    by_case: dict[str, dict[str, dict]] = {}
    for r in rows:
        by_case.setdefault(r["case"], {})[r["client"]] = r
    width = max([len(c) for c in by_case] + [4])
    col = 44
    tr.section("run summary", sep="=")
    large = len(rows) > FULL_TABLE_MAX_ROWS
    if large:
        by_case = {case: per_client for case, per_client in by_case.items()
                   if any(r["outcome"] in ("failed", "error") for r in per_client.values())}
        tr.write_line(f"{len(rows)} runs; cases listed below only when a run failed "
                      f"({len(by_case)} such cases)")
    if by_case:
        tr.write_line(f"{'case':<{width}}  " + "  ".join(f"{c:<{col}}" for c in clients))
    for case, per_client in by_case.items():
        cells = []
        for c in clients:
            r = per_client.get(c)
            if r is None:
                cells.append(f"{'-':<{col}}")
                continue
            detail = r["client_outcome"] or r["reason"]
            cell = f"{r['outcome'].upper():<7} {r['seconds']:5.2f}s {detail}"
            cells.append(f"{cell[:col]:<{col}}")
        bad = any(r["outcome"] in ("failed", "error") for r in per_client.values())
        tr.write_line(f"{case:<{width}}  " + "  ".join(cells), red=bad)
    tr.write_line("")
    write_groups(tr, rows, clients)
    if large:
        write_skip_reasons(tr, rows)
    slowest = sorted(rows, key=lambda r: r["seconds"], reverse=True)[:SLOWEST_LARGE if large else SLOWEST]
    if slowest and large:
        tr.write_line("slowest runs:")
        for r in slowest:
            tr.write_line(f"  {r['seconds']:6.2f}s  {r['case']} [{r['client']}]")
    elif slowest:
        tr.write_line("slowest: " + ", ".join(
            f"{r['case']} [{r['client']}] {r['seconds']:.2f}s" for r in slowest))
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    tr.write_line("total: " + (", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
                               or "no tests ran"))
    xml = config.getoption("--junitxml", None) or config.getoption("xmlpath", None)
    if xml:
        tr.write_line(f"JUnit XML: {Path(xml).resolve()}")
    if path:
        tr.write_line(f"summary JSON: {Path(path).resolve()}")


def write_skip_reasons(tr, rows: list[dict]) -> None:
    """Skipped runs counted by client and reason (e.g. a transport the client lacks)."""
    reasons: dict[tuple[str, str], int] = {}
    for r in rows:
        if r["outcome"] == "skipped":
            key = (r["client"], r["reason"])
            reasons[key] = reasons.get(key, 0) + 1
    for (client, reason), n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        tr.write_line(f"skipped {n:4d} [{client}]: {reason}")


def write_groups(tr, rows: list[dict], clients: list[str]) -> None:
    """Per group and client: passed / failed / skipped, so a broken area stands out."""
    groups = sorted({r["group"] for r in rows})
    width = max([len(g) for g in groups] + [5])
    tr.write_line(f"{'group':<{width}}  " + "  ".join(f"{c + ' pass/fail/skip':<22}" for c in clients))
    for g in groups:
        cells = []
        bad = False
        for c in clients:
            mine = [r for r in rows if r["group"] == g and r["client"] == c]
            passed = sum(r["outcome"] == "passed" for r in mine)
            failed = sum(r["outcome"] in ("failed", "error") for r in mine)
            skipped = sum(r["outcome"] == "skipped" for r in mine)
            bad = bad or failed > 0
            cells.append(f"{f'{passed}/{failed}/{skipped}' if mine else '-':<22}")
        tr.write_line(f"{g:<{width}}  " + "  ".join(cells), red=bad)
