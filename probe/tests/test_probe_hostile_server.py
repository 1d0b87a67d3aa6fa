"""Issue 22: no server reply can crash or hang smtp-probe. A hostile server (hostile_reply_server.py)
answers discovery normally, then every check of the built-in suite with reply lines at the line
limit (taken and matched against every pattern, `~ 250-(?!AUTH).*` included), one byte over it
(a divergence naming max-line), binary bytes, or a multiline reply that never ends (a divergence
naming the reply limit), over plain and STARTTLS. Each time the probe finishes every check in
bounded time, reports each, and says why at file:line."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from probe_servers import HERE, PYTHON, read_ready


@pytest.fixture
def hostile(certs):
    started: list[subprocess.Popen] = []

    def start(mode: str) -> list[str]:
        p = subprocess.Popen([PYTHON, str(HERE / "hostile_reply_server.py"), "--mode", mode,
                              "--cert", str(certs["cert"]), "--key", str(certs["key"])],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        started.append(p)
        port = read_ready(p, "hostile_reply_server").split()[1]
        return ["--server", f"127.0.0.1:{port}"]

    yield start
    for p in started:
        p.kill()
        p.wait()


def run_suite(probe_bin, target: list[str], transport: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    p = subprocess.run([str(probe_bin), *target, "--transport", transport, "--json", "--quiet",
                        "--timeout", "3", "--rcpt", "owner@example.org", "--allow-delivery"],
                       capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - started
    assert p.returncode >= 0, f"smtp-probe killed by signal {-p.returncode}: {p.stderr[-2000:]}"
    try:
        report = json.loads(p.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"no JSON from smtp-probe (exit {p.returncode}):\n{p.stderr[-2000:]}")
    return p.returncode, report, seconds


def explain(report: dict) -> str:
    return "\n".join(f"{c['name']}: {c['verdict']}: {c['evidence'][:300]}" for c in report["checks"])


@pytest.mark.parametrize("transport", ["plain", "starttls"])
@pytest.mark.parametrize("mode, says", [
    ("at-limit", None),  # taken: whatever the verdicts, no line limit is hit
    ("over-limit", "bytes (max-line)"),
    ("binary", None),
    # the client's own parser ends an endless reply at its limit (wire::ReplyLimits)
    ("endless", "reply longer than 65536 bytes"),
])
def test_probe_survives_a_hostile_server_on_every_check(probe_bin, hostile, transport, mode, says):
    rc, rep, seconds = run_suite(probe_bin, hostile(mode), transport)
    assert rep["phase"] in ("ok", "checks"), explain(rep)  # discovery passed, every check ran
    assert rc in (0, 7), explain(rep)
    assert len(rep["checks"]) >= 20, explain(rep)
    run = [c for c in rep["checks"] if c["verdict"] != "skip"]
    assert run, explain(rep)
    for c in rep["checks"]:
        assert "internal error" not in c["evidence"], explain(rep)
        assert len(c["evidence"]) < 4000, c["name"]  # quoted short, never a whole 64 KiB line
        div = c.get("divergence")
        if div:
            assert div["where"].startswith(c["file"] + ":"), c  # file:line of the step
    limited = [c for c in run if "max-line" in c["evidence"] or "max_reply" in c["evidence"]
               or "reply longer than" in c["evidence"]]
    if says is None:
        assert not limited, explain(rep)
    else:
        assert limited, explain(rep)
        assert all(says in c["evidence"] for c in limited), explain(rep)
    assert seconds < 3 * len(rep["checks"]) + 30
