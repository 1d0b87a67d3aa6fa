"""The comparison report (harness/compare.py) written from known runs, read back (JSON, JUnit),
and opened in a real headless chromium (Debian's chromium): the grid renders one coloured cell per
run, a click on a cell (a real mouse event through the DevTools protocol) opens that run's
transcript and client output, and unticking a category hides its rows. Skipped with the reason
only when chromium cannot run here."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness import compare


def _run(file, transport, client, verdict, **extra):
    return {"nodeid": f"x[{file}-{transport}-{client}]", "file": file,
            "category": file.split("/")[0], "transport": transport, "client": client,
            "expected": "ok", "actual": extra.pop("actual", "ok"), "verdict": verdict,
            "reason": extra.pop("reason", ""), "mapped": extra.pop("mapped", None), "seconds": 0.1,
            "session": extra.pop("session", f"transcript of {file} {client}"),
            "trace": [], "output": extra.pop("output", f"output of {client}")}


RUNS = [
    _run("refusals/rcpt.scn", "plain", "curl", "fail", actual="raises SMTPRecipientsRefused",
         mapped="curl exit 55 (send failed)", session="S: 550 5.1.1 <carol@example.org>\\r\\n",
         output="curl: (55) RCPT failed: 550 </script><b>not markup</b>"),
    _run("refusals/rcpt.scn", "plain", "swaks", "pass"),
    _run("refusals/rcpt.scn", "plain", "cpp", "pass"),
    _run("starttls/strip.scn", "plain", "curl", "diverged"),
    _run("starttls/strip.scn", "plain", "swaks", "unsupported", reason="swaks: no `noop`"),
    _run("lmtp/per-rcpt.scn", "unix", "curl", "unsupported", reason="curl does not speak LMTP"),
    _run("lmtp/per-rcpt.scn", "unix", "swaks", "not-run", reason="clients: cpp"),
    _run("lmtp/per-rcpt.scn", "unix", "cpp", "error", reason="no listener"),
]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("compare")
    compare.write(directory, RUNS, command="pytest --clients cpp,curl,swaks", versions={"curl": "curl 7.88"})
    return directory


def test_json_has_every_run_and_the_counts(report):
    data = json.loads((report / "report.json").read_text())
    assert data["clients"] == ["cpp", "curl", "swaks"]  # ours first, then the others
    assert len(data["runs"]) == len(RUNS)
    curl = data["totals"]["curl"]
    assert curl["all"]["fail"] == 1 and curl["all"]["diverged"] == 1 and curl["all"]["unsupported"] == 1
    assert curl["all"]["pass"] == 0
    assert data["totals"]["swaks"]["refusals"]["pass"] == 1
    assert data["totals"]["cpp"]["lmtp"]["error"] == 1


def test_junit_has_a_suite_per_client_with_failures_and_skips(report):
    root = ET.parse(report / "report-junit.xml").getroot()
    suites = {s.get("name"): s for s in root}
    assert suites["curl"].get("failures") == "2" and suites["curl"].get("skipped") == "1"
    assert suites["swaks"].get("skipped") == "2" and suites["cpp"].get("errors") == "1"
    failure = suites["curl"].find("testcase[@name='refusals/rcpt.scn-plain']/failure")
    assert failure is not None and "550 5.1.1" in failure.text


def test_html_carries_the_data_without_breaking_out_of_its_script(report):
    page = (report / "report.html").read_text()
    # A run's text that contains "</script>" must stay data, not end the script element.
    assert "</script><b>not markup</b>" not in page
    assert page.count("</script>") == 2


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("chromium is not installed (Debian package chromium; ./ci/install-deps.sh)")


BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-extensions"]


def test_chromium_renders_the_grid(report, tmp_path):
    proc = subprocess.run([_chromium(), *BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--virtual-time-budget=5000", "--dump-dom",
                           (report / "report.html").as_uri()],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 and not proc.stdout:
        pytest.skip(f"chromium cannot run here: {proc.stderr[-500:]}")
    dom = proc.stdout
    assert 'data-rendered="yes"' in dom, dom[-2000:]
    # One row per scenario × transport, one cell per client in it, coloured by verdict.
    assert len(re.findall(r'<tr class="row"', dom)) == 3
    cells = re.findall(r'<td class="cell v-([a-z-]+)" data-client="([a-z-]+)" data-file="([^"]+)"', dom)
    assert ("fail", "curl", "refusals/rcpt.scn") in cells
    assert ("diverged", "curl", "starttls/strip.scn") in cells
    assert ("unsupported", "swaks", "starttls/strip.scn") in cells
    assert ("none", "cpp", "starttls/strip.scn") in cells  # no run: an empty cell
    assert len(cells) == 9
    assert "3 rows shown" in dom


class _DevTools:
    """The least of the Chrome DevTools protocol: one page, evaluate and mouse events."""

    def __init__(self, ws_url: str):
        import websocket
        self.ws = websocket.create_connection(ws_url, timeout=30)
        self.next_id = 0

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def eval(self, expression: str):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            raise AssertionError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def click(self, x: float, y: float) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)


@pytest.fixture
def page(report, tmp_path):
    try:
        import websocket  # noqa: F401
    except ImportError:
        pytest.skip("python3-websocket is not installed (./ci/install-deps.sh)")
    proc = subprocess.Popen([_chromium(), *BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                             "--remote-debugging-port=0", "--window-size=1400,900",
                             (report / "report.html").as_uri()],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                pytest.skip(f"chromium cannot run here (exit {proc.wait()})")
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                port = int(m.group(1))
        if port is None:
            pytest.skip("chromium did not open its DevTools port within 60 s")
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        target = next(t for t in targets if t.get("type") == "page")
        tools = _DevTools(target["webSocketDebuggerUrl"])
        for _ in range(100):
            if tools.eval("document.body && document.body.dataset.rendered") == "yes":
                break
            time.sleep(0.1)
        yield tools
        tools.ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _center(tools: _DevTools, selector: str) -> tuple[float, float]:
    rect = tools.eval(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                      " e.scrollIntoView(); const r = e.getBoundingClientRect();"
                      " return [r.left + r.width / 2, r.top + r.height / 2]; })()")
    assert rect, selector
    return rect[0], rect[1]


def test_a_click_on_a_cell_opens_its_transcript_and_output(page):
    assert page.eval("document.getElementById('detail').classList.contains('open')") is False
    page.click(*_center(page, 'td.cell[data-client="curl"][data-file="refusals/rcpt.scn"]'))
    assert page.eval("document.getElementById('detail').classList.contains('open')") is True
    assert page.eval("document.getElementById('transcript').textContent") == \
        "S: 550 5.1.1 <carol@example.org>\\r\\n"
    assert "curl: (55) RCPT failed: 550 </script><b>not markup</b>" == \
        page.eval("document.getElementById('client-output').textContent")
    assert page.eval("document.querySelector('.fact-error').textContent") == "curl exit 55 (send failed)"
    # Another cell replaces the panel's content.
    page.click(*_center(page, "#close"))
    page.click(*_center(page, 'td.cell[data-client="curl"][data-file="starttls/strip.scn"]'))
    assert page.eval("document.getElementById('transcript').textContent") == "transcript of starttls/strip.scn curl"


def test_unticking_a_category_hides_its_rows(page):
    page.click(*_center(page, 'input.cat[value="lmtp"]'))
    assert page.eval("document.querySelector('input.cat[value=\"lmtp\"]').checked") is False
    hidden = page.eval("[...document.querySelectorAll('tr.row')].filter(r => r.style.display === 'none')"
                       ".map(r => r.dataset.category)")
    assert hidden == ["lmtp"]
    assert page.eval("document.getElementById('shown').textContent") == "2 rows shown"
