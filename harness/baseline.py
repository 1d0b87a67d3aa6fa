"""The other clients' verdicts as last reviewed (harness/clients-baseline.json), for CI (issue 18).

A client that does not do what `expect:` says is a finding, not a regression; what CI must catch is
a *change*: a driver, the corpus or the fake server moving a run from one verdict to another. So
ci/clients.sh checks the comparison report against the recorded verdicts:

    /usr/bin/python3 -m harness.baseline check out/clients/report.json harness/clients-baseline.json [--clients curl,swaks]
    /usr/bin/python3 -m harness.baseline update out/clients/report.json harness/clients-baseline.json

`check` exits 1 and lists every run whose verdict differs (or that is new, or gone), and every run
whose verdict is `error` (the harness could not make it); `update` rewrites the recorded verdicts
of the runs in the report (other runs and clients are kept; `--replace` drops the recorded runs
of the report's clients first, e.g. after scenario files were removed), to be reviewed in the diff
like any other change. `check` is for a run over the whole corpus: a narrowed run (`--category`)
reports every run it did not make as gone.
A run that is a race by design (the scenario says so, e.g. injected bytes that land before or after
the client's ClientHello) may be recorded by hand as `"fail|pass"`: any of those verdicts is
accepted, and `update` keeps such an entry while the verdict is one of them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def verdicts(report: dict, clients: set[str] | None = None) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for r in report["runs"]:
        if clients and r["client"] not in clients:
            continue
        out.setdefault(r["client"], {})[f"{r['file']} {r['transport']}"] = r["verdict"]
    return out


def check(report: dict, baseline: dict, clients: set[str] | None = None) -> list[str]:
    """Every difference, one line each; empty when the report says what the baseline says."""
    now = verdicts(report, clients)
    problems = []
    for client in sorted(clients or now):
        was = baseline.get("clients", {}).get(client)
        mine = now.get(client, {})
        if was is None:
            problems.append(f"{client}: not in the baseline (run `update` and review)")
            continue
        for run in sorted(set(was) | set(mine)):
            before, after = was.get(run), mine.get(run)
            if after == "error":
                problems.append(f"{client}: {run}: error (the harness could not make the run)")
            elif before != after and not (before and after and after in before.split("|")):
                problems.append(f"{client}: {run}: was {before or 'absent'}, now {after or 'absent'}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m harness.baseline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("check", "update"))
    parser.add_argument("report", type=Path)
    parser.add_argument("baseline", type=Path)
    parser.add_argument("--clients", default="", help="only these clients (comma-separated)")
    parser.add_argument("--replace", action="store_true",
                        help="update: drop the recorded runs of the report's clients first")
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text())
    clients = {c for c in args.clients.split(",") if c} or None
    baseline = json.loads(args.baseline.read_text()) if args.baseline.exists() else {"clients": {}}
    if args.action == "update":
        recorded = baseline.setdefault("clients", {})
        for client, runs in verdicts(report, clients).items():
            was = recorded.get(client, {})
            now = {} if args.replace else dict(was)
            now.update({run: was[run] if "|" in was.get(run, "") and v in was[run].split("|")
                        else v for run, v in runs.items()})
            recorded[client] = now
        baseline["note"] = ("verdict per client per `file transport`, from `python3 -m harness.baseline "
                            "update`; checked by ci/clients.sh (harness/README.md)")
        args.baseline.write_text(json.dumps(baseline, indent=1, sort_keys=True) + "\n")
        print(f"baseline: recorded {sum(len(v) for v in verdicts(report, clients).values())} runs "
              f"in {args.baseline}")
        return 0
    problems = check(report, baseline, clients)
    for p in problems:
        print(f"baseline: {p}")
    counts = {c: len(v) for c, v in verdicts(report, clients).items()}
    if problems:
        print(f"baseline: {len(problems)} difference(s) from {args.baseline} "
              f"(a deliberate change: `python3 -m harness.baseline update {args.report} {args.baseline}`)")
        return 1
    print(f"baseline: every verdict as recorded ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
