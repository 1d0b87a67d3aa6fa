"""Figures for harness/FINDINGS-clients.md from a comparison report (harness/compare.py):

    /usr/bin/python3 -m harness.findings out/clients/report.json [--files GLOB ...]

prints Markdown: runs per verdict for each client, then pass/fail/diverged/unsupported per
category and client; with --files, one row per matching file × transport and one cell per client
(verdict and the client's outcome), for the topic sections of the findings.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from pathlib import Path

SHORT = {"pass": "pass", "fail": "FAIL", "diverged": "div", "unsupported": "-", "not-run": "n/r",
         "error": "ERR"}


def totals(data: dict) -> list[str]:
    verdicts = data["verdicts"]
    lines = ["| client | runs | " + " | ".join(verdicts) + " |",
             "|---|---|" + "---|" * len(verdicts)]
    for c in data["clients"]:
        t = data["totals"][c]["all"]
        lines.append(f"| {c} | {sum(t.values())} | " + " | ".join(str(t.get(v, 0)) for v in verdicts) + " |")
    return lines


def categories(data: dict) -> list[str]:
    cats = sorted({r["category"] for r in data["runs"]})
    lines = ["pass / fail / diverged / unsupported per category (not-run left out):", "",
             "| category | " + " | ".join(data["clients"]) + " |",
             "|---|" + "---|" * len(data["clients"])]
    for cat in cats:
        cells = []
        for c in data["clients"]:
            t = data["totals"][c].get(cat, {})
            cells.append(f"{t.get('pass', 0)}/{t.get('fail', 0)}/{t.get('diverged', 0)}/{t.get('unsupported', 0)}")
        lines.append(f"| {cat} | " + " | ".join(cells) + " |")
    return lines


def files(data: dict, patterns: list[str]) -> list[str]:
    rows: dict[tuple[str, str], dict[str, dict]] = {}
    for r in data["runs"]:
        if any(fnmatch.fnmatch(r["file"], p) for p in patterns):
            rows.setdefault((r["file"], r["transport"]), {})[r["client"]] = r
    lines = ["| file | transport | expected | " + " | ".join(data["clients"]) + " |",
             "|---|---|---|" + "---|" * len(data["clients"])]
    for (file, transport), per in sorted(rows.items()):
        expected = next((r["expected"] for r in per.values() if r["expected"]), "")
        cells = []
        for c in data["clients"]:
            r = per.get(c)
            if r is None:
                cells.append("")
                continue
            actual = r["actual"].split(" (")[0].removeprefix("raises ") if r["verdict"] in ("fail", "diverged") else ""
            cells.append(SHORT[r["verdict"]] + (f": {actual}" if actual else ""))
        lines.append(f"| {file} | {transport} | {expected} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m harness.findings", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path)
    parser.add_argument("--files", nargs="*", default=None)
    args = parser.parse_args(argv)
    data = json.loads(args.report.read_text())
    out = files(data, args.files) if args.files else totals(data) + [""] + categories(data)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
