"""check and dump: the scenario files validate, errors name file:line, dump is JSON for Python."""

from __future__ import annotations

import json
import subprocess

from fakeserver_proc import SCENARIOS


def run(binary, *args):
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)


def test_check_accepts_every_scenario(fakeserver_bin):
    files = sorted(SCENARIOS.rglob("*.scn"))
    assert files
    r = run(fakeserver_bin, "check", *files)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("ok ") == len(files)


def test_check_names_file_line_and_what_was_expected(fakeserver_bin, tmp_path):
    bad = tmp_path / "bad.scn"
    bad.write_text("description: d\nS: 220 hi\nC: EHLO *\nS: 250 \\q\n")
    good = SCENARIOS / "basic" / "send-one-message.scn"
    r = run(fakeserver_bin, "check", good, bad)
    assert r.returncode == 2
    assert f"{bad}:4: unknown escape \\q in '250 \\q'" in r.stderr
    assert "ok " in r.stdout  # the good file is still reported


def test_dump_gives_the_parsed_scenario(fakeserver_bin):
    f = SCENARIOS / "refusals" / "rcpt-one-refused.scn"
    r = run(fakeserver_bin, "dump", f)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["name"] == "rcpt-one-refused"
    assert d["transports"] == ["plain", "starttls", "tls"]
    assert d["roles"] == ["server"]
    assert d["client"]["calls"][0]["name"] == "sendmail"
    assert d["client"]["expect"]["refused"] == {"carol@example.org": 550}
    # Steps from the included part keep their own file and line.
    first = d["steps"][0]
    assert first["file"].endswith("parts/greeting-ehlo.inc") and first["line"] == 2
    assert first["pattern"]["bytes"] == "220 mx.example.org ESMTP fakeserver"


def test_serve_refuses_a_client_role_scenario(fakeserver_bin):
    r = run(fakeserver_bin, "serve", SCENARIOS / "probe" / "greeting-and-ehlo.scn")
    assert r.returncode == 2
    assert "not playable by the fake server" in r.stderr


def test_time_limit_ends_the_run_with_an_exit_line(fakeserver):
    import time
    srv = fakeserver("serve", SCENARIOS / "basic" / "send-one-message.scn", "--time-limit", 0.3)
    start = time.monotonic()
    assert srv.wait(timeout=10) == 0  # no session, so none diverged
    assert time.monotonic() - start < 5
    assert srv.exit_event == {"event": "exit", "sessions": 0, "diverged": 0, "messages": 0,
                              "message_bytes": 0}


def test_tls_transport_without_certificate_is_skipped_not_fatal(fakeserver):
    srv = fakeserver("serve", SCENARIOS / "basic" / "send-one-message.scn")
    assert {l["transport"] for l in srv.listeners} == {"plain"}
    assert {(s["transport"], s["reason"]) for s in srv.skipped} == {
        ("starttls", "needs --cert and --key"), ("tls", "needs --cert and --key")}
