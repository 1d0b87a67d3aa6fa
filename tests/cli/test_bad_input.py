"""Bad input to every command-line tool is answered with a clear message on stderr (or in the
JSON with --json) and exit status 2, never a crash (issue 19: `smtp-client send --data DIR`
aborted with an uncaught std::system_error, status 134). Ports go through the wire core's one
parser (wire/include/smtp/wire/endpoint.hpp): 70000 used to wrap to 4464, -1 gave "Service not found".

Each case: the tool, its arguments (with {dir}, {missing}, {bad_scn}, {good_scn} filled in), and
words the message must contain. Nothing listens: every case must be refused before connecting."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SEND = ["send", "--server", "127.0.0.1:9", "--from", "a@example.org", "--to", "b@example.org"]
CASES = [
    # smtp-client
    ("smtp-client", SEND + ["--data", "{dir}"], ["is a directory"]),
    ("smtp-client", SEND + ["--data", "{missing}"], ["cannot open", "No such file"]),
    ("smtp-client", SEND + ["--data", "{good_scn}", "--data", "{dir}"], ["regular file", "{dir}"]),
    ("smtp-client", SEND + ["--bogus"], ["--bogus"]),
    ("smtp-client", SEND + ["--timeout", "-1"], ["--timeout", "-1", "seconds"]),
    ("smtp-client", SEND + ["--timeout", "abc"], ["--timeout", "abc"]),
    ("smtp-client", SEND + ["--password-file", "{dir}", "--user", "u"], ["--password-file"]),
    ("smtp-client", SEND + ["--header", "no colon"], ["--header", "Name: value"]),
    ("smtp-client", ["send"], ["--from"]),
    # smtp-fakeserver
    ("smtp-fakeserver", ["check", "{dir}"], ["is a directory", "*.scn"]),
    ("smtp-fakeserver", ["check", "{missing}"], ["cannot open", "no such file"]),
    ("smtp-fakeserver", ["check", "{bad_scn}"], ["bad.scn:"]),
    ("smtp-fakeserver", ["serve", "{dir}"], ["is a directory"]),
    ("smtp-fakeserver", ["serve", "{bad_scn}"], ["bad.scn:"]),
    ("smtp-fakeserver", ["serve", "--bogus", "{good_scn}"], ["--bogus"]),
    ("smtp-fakeserver", ["--bogus", "check", "{good_scn}"], ["--bogus"]),
    ("smtp-fakeserver", [], ["subcommand"]),
    ("smtp-fakeserver", ["sink", "--cert", "{missing}", "--key", "{missing}"], ["--cert", "no such file"]),
    ("smtp-fakeserver", ["sink", "--maildir", "{good_scn}"], ["--maildir", "not a directory"]),
    ("smtp-fakeserver", ["sink", "--auth-user", "nocolon"], ["--auth-user", "USER:PASSWORD"]),
    ("smtp-fakeserver", ["sink", "--auth-file", "{dir}"], ["--auth-file"]),
    ("smtp-fakeserver", ["sink", "--step-timeout", "-1"], ["--step-timeout"]),
    # smtp-probe
    ("smtp-probe", ["--server", "127.0.0.1:9", "--suite", "{missing}"], ["--suite", "no such directory"]),
    ("smtp-probe", ["--server", "127.0.0.1:9", "--suite", "{good_scn}"], ["--suite", "not a directory"]),
    ("smtp-probe", ["--server", "127.0.0.1:9", "{dir}"], ["is a directory"]),
    ("smtp-probe", ["--server", "127.0.0.1:9", "{missing}"], ["cannot open"]),
    ("smtp-probe", ["--server", "127.0.0.1:9", "{bad_scn}"], ["bad.scn:"]),
    ("smtp-probe", ["--server", "127.0.0.1:9", "--cafile", "{dir}"], ["--cafile", "is a directory"]),
    ("smtp-probe", ["--server", "127.0.0.1:9", "--timeout", "-1"], ["--timeout"]),
    ("smtp-probe", ["--bogus"], ["--bogus"]),
    # smtp-record
    ("smtp-record", ["--upstream", "127.0.0.1:9", "--out", "{dir}"], ["--out", "is a directory"]),
    ("smtp-record", ["--upstream", "127.0.0.1:9", "--out", "{missing}/x.scn"], ["--out", "no such directory"]),
    ("smtp-record", ["--upstream", "127.0.0.1:9", "--out", "{dir}/x.scn", "--tls-cert", "{missing}",
                     "--tls-key", "{missing}"], ["--tls-cert", "no such file"]),
    ("smtp-record", ["--upstream", "127.0.0.1:9", "--out", "{dir}/x.scn", "--upstream-cafile", "{dir}"],
     ["--upstream-cafile", "is a directory"]),
    ("smtp-record", ["--upstream", "127.0.0.1:9", "--out", "{dir}/x.scn", "--idle-timeout", "-1"],
     ["--idle-timeout"]),
    ("smtp-record", ["--upstream", "127.0.0.1:9", "--out", "{dir}/x.scn", "--bogus"], ["--bogus"]),
    ("smtp-record", [], ["--out"]),
]

# Port values, every tool (issue 19: they wrapped modulo 65536).
SEND_TO = ["send", "--from", "a@example.org", "--to", "b@example.org", "--server"]
for _bad, _words in [("70000", ["70000", "out of range"]), ("-1", ["-1", "out of range"]),
                     ("abc", ["'abc'", "not a decimal number"])]:
    CASES += [
        ("smtp-client", SEND_TO + [f"127.0.0.1:{_bad}"], _words),
        ("smtp-client", SEND_TO + [f"[::1]:{_bad}"], _words),
        ("smtp-probe", ["--server", f"127.0.0.1:{_bad}"], ["--server"] + _words),
        ("smtp-fakeserver", ["sink", "--listen", f"plain:127.0.0.1:{_bad}"], ["--listen"] + _words),
        ("smtp-fakeserver", ["serve", "--port", _bad, "{good_scn}"], ["--port"] + _words),
        ("smtp-record", ["--upstream", f"127.0.0.1:{_bad}", "--out", "{dir}/x.scn"],
         ["--upstream"] + _words),
        ("smtp-record", ["--listen", f"127.0.0.1:{_bad}", "--upstream", "127.0.0.1:9", "--out",
                         "{dir}/x.scn"], ["--listen"] + _words),
    ]
CASES.append(("smtp-client", SEND_TO + ["127.0.0.1:0"], ["port 0", "out of range (1-65535)"]))


def build_bin() -> Path:
    env = os.environ.get("SMTPKIT_BUILD_DIR")
    return (Path(env) if env else REPO / "build" / "ci") / "bin"


@pytest.fixture
def paths(tmp_path):
    d = tmp_path / "a-directory"
    d.mkdir()
    good = tmp_path / "good.scn"
    good.write_text("description: ok\n\nS: 220 hi\nC: QUIT\nS: 221 bye\n")
    bad = tmp_path / "bad.scn"
    bad.write_text("description: a step that is not one\n\nX: what\n")
    return {"dir": str(d), "missing": str(tmp_path / "missing"), "bad_scn": str(bad),
            "good_scn": str(good)}


@pytest.mark.parametrize("tool,args,words", CASES,
                         ids=[f"{t}-{'-'.join(a[-2:]) or 'nothing'}" for t, a, _ in CASES])
def test_bad_input_is_a_usage_error(tool, args, words, paths):
    binary = build_bin() / tool
    if not binary.exists():
        pytest.skip(f"{binary} is not built")
    argv = [str(binary)] + [a.format(**paths) for a in args]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    said = proc.stdout + proc.stderr
    assert proc.returncode >= 0, f"killed by {signal.Signals(-proc.returncode).name}: {said}"
    assert proc.returncode == 2, f"exit {proc.returncode}: {said}"
    for w in words:
        assert w.format(**paths) in said, f"{w!r} not in: {said}"
    assert "terminate called" not in said and "what():" not in said, said


def test_smtp_client_json_error_for_a_directory(paths):
    binary = build_bin() / "smtp-client"
    if not binary.exists():
        pytest.skip(f"{binary} is not built")
    proc = subprocess.run([str(binary), *SEND, "--data", paths["dir"], "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"] is False and out["error"]["type"] == "UsageError", out
    assert "is a directory" in out["error"]["message"], out
