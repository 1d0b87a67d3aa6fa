"""The comparison report (issue 18): every matrix run as one cell of a grid, scenario × client,
written as HTML (colour by verdict, filters by category and verdict, a cell opens the server's
transcript and the client's output), JSON and JUnit XML.

`--compare-report DIR` turns it on. Each run (in whichever xdist worker) writes its record to
DIR/runs/; the controller adds the verdict of every run pytest reported (skips included: a run
skipped by `clients:`, `pending` or a missing tool writes no record) and writes
DIR/report.html, DIR/report.json, DIR/report-junit.xml at the end of the session.

Verdicts: pass; fail (the outcome differs from `expect:`); diverged (the outcome is right but the
session departed from the script); unsupported (the client cannot make a call, transport or
protocol of the file: a skip, never a pass); not-run (skipped before running: `clients:`,
`pending`, the client not installed); error (the run could not be made: no listener, a fixture).
"""

from __future__ import annotations

import datetime
import hashlib
import html
import json
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pytest

VERDICTS = ("pass", "fail", "diverged", "unsupported", "not-run", "error")
_ID = re.compile(r"test_scenario\[(?P<file>.+\.scn)-(?P<transport>plain|unix|starttls|tls)-(?P<client>[^\]]+)\]$")
_REPORTS_KEY = pytest.StashKey[dict]()


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("smtpkit harness")
    group.addoption("--compare-report", metavar="DIR",
                    help="matrix: write the comparison report (report.html, report.json, "
                         "report-junit.xml) into DIR")


def _dir(config: pytest.Config) -> Path | None:
    value = config.getoption("--compare-report", None)
    return Path(value).resolve() if value else None


def _key(nodeid: str) -> str:
    return hashlib.sha1(nodeid.encode()).hexdigest()[:20]


@dataclass
class Record:
    """One run as the report shows it; the test writes it once the verdict is known."""
    request: pytest.FixtureRequest
    file: str
    transport: str
    client: str
    expected: str
    outcome: dict
    seconds: float
    trace: list[str] = field(default_factory=list)
    output: str = ""
    session: str = ""

    def write(self, verdict: str, reason: str) -> None:
        directory = _dir(self.request.config)
        if directory is None:
            return
        from harness import matrix
        runs = directory / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        nodeid = self.request.node.nodeid
        data = {"nodeid": nodeid, "file": self.file, "category": matrix.category(self.file),
                "transport": self.transport, "client": self.client, "expected": self.expected,
                "actual": matrix.describe(self.outcome), "verdict": verdict, "reason": reason,
                "mapped": (self.outcome.get("error") or {}).get("mapped"),
                "seconds": round(self.seconds, 3), "session": self.session,
                "trace": self.trace[-200:], "output": self.output[-20000:]}
        (runs / f"{_key(nodeid)}.json").write_text(json.dumps(data))


# -- controller side ------------------------------------------------------------------------------

def collect(config: pytest.Config, report: pytest.TestReport) -> None:
    """Remembers each matrix run's pytest outcome (the controller sees every worker's reports)."""
    if _dir(config) is None or not _ID.search(report.nodeid):
        return
    seen = config.stash.setdefault(_REPORTS_KEY, {})
    if report.when == "call" or report.outcome != "passed":
        reason = ""
        if report.outcome == "skipped" and isinstance(report.longrepr, tuple):
            reason = report.longrepr[2].removeprefix("Skipped: ")
        elif report.outcome == "failed":
            reason = str(report.longrepr)[-3000:]
        previous = seen.get(report.nodeid)
        if previous is None or previous["outcome"] == "passed":
            seen[report.nodeid] = {"outcome": report.outcome, "when": report.when,
                                   "reason": reason, "seconds": round(report.duration, 3)}


def finish(config: pytest.Config) -> Path | None:
    """Writes the report (controller only); returns the HTML file's path."""
    directory = _dir(config)
    if directory is None or hasattr(config, "workerinput"):
        return None
    seen = config.stash.get(_REPORTS_KEY, {})
    runs = []
    for nodeid, rep in seen.items():
        m = _ID.search(nodeid)
        path = directory / "runs" / f"{_key(nodeid)}.json"
        record = json.loads(path.read_text()) if path.exists() else None
        if record is None:
            from harness import matrix
            file = m.group("file")
            record = {"nodeid": nodeid, "file": file, "category": matrix.category(file),
                      "transport": m.group("transport"), "client": m.group("client"),
                      "expected": "", "actual": "", "mapped": None, "session": "", "trace": [],
                      "output": "", "seconds": rep["seconds"]}
            record["verdict"] = {"passed": "pass", "skipped": "not-run"}.get(rep["outcome"], "error")
            record["reason"] = rep["reason"]
        elif rep["outcome"] == "passed":
            record["verdict"] = "pass"
        elif rep["outcome"] == "failed" and record["verdict"] not in ("fail", "diverged"):
            record["verdict"], record["reason"] = "error", rep["reason"]
        runs.append(record)
    argv = list(sys.argv)
    if argv and argv[0].endswith(("pytest/__main__.py", "pytest")):
        argv[0] = "python3 -m pytest"
    write(directory, runs, command=" ".join(argv), versions=_versions(config, runs))
    return directory / "report.html"


def _versions(config: pytest.Config, runs: list[dict]) -> dict[str, str]:
    from harness import clients as cl
    from harness.drivers import external
    out = {}
    for client in sorted({r["client"] for r in runs}):
        driver = external.get(client)
        if driver is not None:
            out[client] = driver.missing_reason() or driver.version()
        elif client.startswith("cpp"):
            out[client] = cl.smtp_client_version() or "not built"
        else:
            import platform
            out[client] = f"Python {platform.python_version()} smtplib"
    return out


def totals(runs: list[dict]) -> dict:
    """{client: {"all": {verdict: n}, category: {verdict: n}}}."""
    out: dict = {}
    for r in runs:
        per = out.setdefault(r["client"], {})
        for key in ("all", r["category"]):
            counts = per.setdefault(key, {v: 0 for v in VERDICTS})
            counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return out


def _client_order(runs: list[dict]) -> list[str]:
    known = ["cpp", "cpp-async", "smtplib", "curl", "swaks", "msmtp", "go-smtp", "nodemailer"]
    present = {r["client"] for r in runs}
    return [c for c in known if c in present] + sorted(present - set(known))


def write(directory: Path, runs: list[dict], *, command: str = "", versions: dict | None = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    runs = sorted(runs, key=lambda r: (r["file"], r["transport"], r["client"]))
    data = {"generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": command, "clients": _client_order(runs), "versions": versions or {},
            "verdicts": list(VERDICTS), "totals": totals(runs), "runs": runs}
    (directory / "report.json").write_text(json.dumps(data, indent=1) + "\n")
    (directory / "report.html").write_text(render_html(data))
    write_junit(directory / "report-junit.xml", data)


def write_junit(path: Path, data: dict) -> None:
    """One testsuite per client, one testcase per scenario × transport."""
    suites = ET.Element("testsuites", name="smtpkit client comparison")
    for client in data["clients"]:
        mine = [r for r in data["runs"] if r["client"] == client]
        suite = ET.SubElement(suites, "testsuite", name=client, tests=str(len(mine)),
                              failures=str(sum(r["verdict"] in ("fail", "diverged") for r in mine)),
                              errors=str(sum(r["verdict"] == "error" for r in mine)),
                              skipped=str(sum(r["verdict"] in ("unsupported", "not-run") for r in mine)))
        for r in mine:
            case = ET.SubElement(suite, "testcase", classname=f"{client}.{r['category']}",
                                 name=f"{r['file']}-{r['transport']}", time=str(r["seconds"]))
            if r["verdict"] in ("fail", "diverged"):
                f = ET.SubElement(case, "failure", message=f"{r['verdict']}: {r['reason'][:300]}")
                f.text = f"expected: {r['expected']}\nactual: {r['actual']}\n{r['session']}"
            elif r["verdict"] == "error":
                ET.SubElement(case, "error", message=r["reason"][:300])
            elif r["verdict"] in ("unsupported", "not-run"):
                ET.SubElement(case, "skipped", message=f"{r['verdict']}: {r['reason'][:300]}")
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


# -- the HTML page ------------------------------------------------------------------------------

_STYLE = """
body { font: 14px system-ui, sans-serif; margin: 1em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 2px 6px; }
th { background: #f4f4f4; position: sticky; top: 0; }
td.cell { cursor: pointer; text-align: center; min-width: 6em; }
td.v-pass { background: #a5d6a7; } td.v-fail { background: #ef9a9a; }
td.v-diverged { background: #ffcc80; } td.v-unsupported { background: #e0e0e0; color: #555; }
td.v-not-run { background: #f5f5f5; color: #999; } td.v-error { background: #ce93d8; }
td.v-none { background: #fff; }
#detail { position: fixed; right: 0; top: 0; bottom: 0; width: 55%; overflow: auto;
          background: #fff; border-left: 2px solid #333; padding: 1em; display: none; }
#detail.open { display: block; }
pre { white-space: pre-wrap; word-break: break-all; background: #fafafa; border: 1px solid #ddd;
      padding: 0.5em; font-size: 12px; }
.filters label { margin-right: 0.8em; }
"""

_SCRIPT = r"""
const data = JSON.parse(document.getElementById('report-data').textContent);
const clients = data.clients;
const rows = new Map();
for (const r of data.runs) {
  const key = r.file + ' ' + r.transport;
  if (!rows.has(key)) rows.set(key, {file: r.file, transport: r.transport, category: r.category, cells: {}});
  rows.get(key).cells[r.client] = r;
}
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function totalsTable() {
  const t = document.getElementById('totals');
  const head = el('tr'); head.appendChild(el('th', {}, 'client'));
  for (const v of data.verdicts) head.appendChild(el('th', {}, v));
  head.appendChild(el('th', {}, 'version'));
  t.appendChild(head);
  for (const c of clients) {
    const tr = el('tr'); tr.appendChild(el('td', {}, c));
    for (const v of data.verdicts) tr.appendChild(el('td', {'class': 'v-' + v}, String(data.totals[c].all[v] || 0)));
    tr.appendChild(el('td', {}, data.versions[c] || ''));
    t.appendChild(tr);
  }
}
function filters() {
  const box = document.getElementById('filters');
  const cats = [...new Set(data.runs.map(r => r.category))].sort();
  box.appendChild(el('b', {}, 'categories: '));
  for (const c of cats) {
    const l = el('label'); const i = el('input', {type: 'checkbox', 'class': 'cat', value: c});
    i.checked = true; i.addEventListener('change', apply); l.appendChild(i); l.append(' ' + c); box.appendChild(l);
  }
  box.appendChild(el('br'));
  box.appendChild(el('b', {}, 'show rows with a verdict: '));
  for (const v of data.verdicts) {
    const l = el('label'); const i = el('input', {type: 'checkbox', 'class': 'verdict', value: v});
    i.checked = true; i.addEventListener('change', apply); l.appendChild(i); l.append(' ' + v); box.appendChild(l);
  }
}
function grid() {
  const t = document.getElementById('grid');
  const head = el('tr'); head.appendChild(el('th', {}, 'scenario')); head.appendChild(el('th', {}, 'transport'));
  for (const c of clients) head.appendChild(el('th', {}, c));
  t.appendChild(head);
  for (const [key, row] of [...rows.entries()].sort()) {
    const tr = el('tr', {'class': 'row', 'data-category': row.category});
    tr.appendChild(el('td', {}, row.file)); tr.appendChild(el('td', {}, row.transport));
    const verdicts = [];
    for (const c of clients) {
      const r = row.cells[c];
      const td = el('td', {'class': 'cell v-' + (r ? r.verdict : 'none'), 'data-client': c,
                           'data-file': row.file, 'data-transport': row.transport},
                    r ? r.verdict : '');
      if (r) { verdicts.push(r.verdict); td.title = r.actual || r.reason; td.addEventListener('click', () => open(r)); }
      tr.appendChild(td);
    }
    tr.dataset.verdicts = verdicts.join(' ');
    t.appendChild(tr);
  }
}
function apply() {
  const cats = new Set([...document.querySelectorAll('input.cat:checked')].map(i => i.value));
  const vs = new Set([...document.querySelectorAll('input.verdict:checked')].map(i => i.value));
  let shown = 0;
  for (const tr of document.querySelectorAll('tr.row')) {
    const ok = cats.has(tr.dataset.category) && tr.dataset.verdicts.split(' ').some(v => vs.has(v));
    tr.style.display = ok ? '' : 'none'; if (ok) shown++;
  }
  document.getElementById('shown').textContent = shown + ' rows shown';
}
function open(r) {
  const d = document.getElementById('detail');
  d.replaceChildren();
  const close = el('button', {id: 'close'}, 'close'); close.addEventListener('click', () => d.classList.remove('open'));
  d.appendChild(close);
  d.appendChild(el('h2', {}, r.file + ' over ' + r.transport + ' with ' + r.client));
  const facts = [['verdict', r.verdict], ['expected', r.expected], ['actual', r.actual],
                 ['why', r.reason], ['error class mapped from', r.mapped || ''], ['seconds', String(r.seconds)]];
  const dl = el('dl');
  for (const [k, v] of facts) { if (!v) continue; dl.appendChild(el('dt', {}, k)); dl.appendChild(el('dd', {'class': 'fact-' + k.split(' ')[0]}, v)); }
  d.appendChild(dl);
  d.appendChild(el('h3', {}, "transcript (the fake server's view, CR/LF visible)"));
  d.appendChild(el('pre', {id: 'transcript'}, r.session || '(none: the run did not reach the server)'));
  d.appendChild(el('h3', {}, "client's output"));
  d.appendChild(el('pre', {id: 'client-output'}, r.output || '(none)'));
  d.appendChild(el('h3', {}, "client's protocol log"));
  d.appendChild(el('pre', {id: 'client-trace'}, (r.trace || []).join('\n') || '(none)'));
  d.classList.add('open');
}
totalsTable(); filters(); grid(); apply();
document.body.dataset.rendered = 'yes';
"""


def render_html(data: dict) -> str:
    payload = json.dumps(data).replace("</", "<\\/")
    title = f"smtpkit: {len(data['runs'])} runs, clients {', '.join(data['clients'])}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>SMTP clients under the smtpkit corpus</h1>
<p>Generated {html.escape(data['generated'])} by <code>{html.escape(data['command'])}</code>.
Each cell is one run: the file's client section made by that client over that transport, judged
against the file's <code>expect:</code> (smtplib: <code>expect-smtplib:</code>) and the fake
server's script. Click a cell for the transcript and the client's output. Clients whose errors
are only an exit status have their class mapped by a table (harness/README.md); the cell says
which rule gave it.</p>
<table id="totals"></table>
<div id="filters" class="filters"></div>
<p id="shown"></p>
<table id="grid"></table>
<div id="detail"></div>
<script type="application/json" id="report-data">{payload}</script>
<script>{_SCRIPT}</script>
</body></html>
"""
