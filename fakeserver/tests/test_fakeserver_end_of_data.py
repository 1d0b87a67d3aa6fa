"""One definition of the end of DATA (wire/end_of_data.hpp), played by the sink and judged by the
probe: for every end-of-data form other than <CRLF>.<CRLF>, a session that tries to smuggle a
second transaction behind it is delivered as one message by the RFC 5321 sink, as two by a sink
told the form ends the data (a vulnerable server), and refused by a sink told to refuse it; and
smtp-probe's smuggling check for that form passes against the first and fails against the second.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

from fakeserver_proc import ROOT

# The forms, as wire::data_ending_forms() names them (the sink's --data-ending takes these names).
FORMS = {
    "lf-dot-lf": b"\n.\n",
    "crlf-dot-lf": b"\r\n.\n",
    "lf-dot-crlf": b"\n.\r\n",
    "cr-dot-cr": b"\r.\r",
    "crlf-dot-cr": b"\r\n.\r",
    "cr-dot-crlf": b"\r.\r\n",
    "crlf-dot-nul-crlf": b"\r\n.\x00\r\n",
}

SMUGGLED = (b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n"
            b"Subject: smuggled\r\n\r\nsecond message\r\n")


def session(port: int, form: bytes) -> list[str]:
    """One transaction whose body tries to smuggle a second one behind `form`; the replies."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rb")

        def reply() -> str:
            lines = []
            while True:
                line = f.readline().decode()
                assert line, f"connection closed after {lines}"
                lines.append(line.rstrip("\r\n"))
                if line[3:4] != "-":
                    return "\n".join(lines)

        assert reply().startswith("220")
        s.sendall(b"EHLO t\r\n")
        assert reply().startswith("250")
        s.sendall(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
        assert [reply()[:3] for _ in range(3)] == ["250", "250", "354"]
        s.sendall(b"Subject: first\r\n\r\nfirst message" + form + SMUGGLED + b".\r\nQUIT\r\n")
        replies = []
        while True:
            r = reply()
            replies.append(r)
            if r.startswith("221"):
                return replies


def stored(md: Path) -> list[bytes]:
    new = md / "new"
    return [p.read_bytes() for p in sorted(new.iterdir())] if new.exists() else []


@pytest.mark.parametrize("name", FORMS)
def test_rfc5321_sink_keeps_the_form_as_content(fakeserver, tmp_path, name):
    md = tmp_path / "Maildir"
    srv = fakeserver("sink", "--maildir", md, "--quiet")
    replies = session(srv.listener("plain")["port"], FORMS[name])
    assert [r[:3] for r in replies] == ["250", "221"], replies
    (message,) = stored(md)
    assert b"MAIL FROM:<evil@example.org>" in message and b"second message" in message


@pytest.mark.parametrize("name", FORMS)
def test_vulnerable_sink_ends_the_data_at_the_form(fakeserver, tmp_path, name):
    md = tmp_path / "Maildir"
    srv = fakeserver("sink", "--maildir", md, "--quiet", "--data-ending", f"{name}=ends-data")
    replies = session(srv.listener("plain")["port"], FORMS[name])
    # first message, then the smuggled MAIL, RCPT, DATA and message: five replies before QUIT's
    expected = ["250", "250", "250", "354", "250", "221"]
    if name == "crlf-dot-cr":
        # such a server ends the smuggled message's own <CRLF>.<CRLF> at the CR too: the LF left
        # over is an empty command line
        expected.insert(5, "502")
    assert [r[:3] for r in replies] == expected, replies
    first, second = stored(md)
    assert b"evil" not in first and first.startswith(b"Subject: first")
    assert second.startswith(b"Subject: smuggled")


@pytest.mark.parametrize("name", FORMS)
def test_refusing_sink_refuses_the_message(fakeserver, tmp_path, name):
    md = tmp_path / "Maildir"
    srv = fakeserver("sink", "--maildir", md, "--quiet", "--data-ending", f"{name}=refuse")
    replies = session(srv.listener("plain")["port"], FORMS[name])
    assert [r[:3] for r in replies] == ["550", "221"], replies
    assert name in replies[0]
    assert stored(md) == []


def test_bare_lf_lines_refused_when_asked(fakeserver, tmp_path):
    md = tmp_path / "Maildir"
    srv = fakeserver("sink", "--maildir", md, "--quiet", "--bare-lf", "refuse")
    replies = session(srv.listener("plain")["port"], b"\r\nbare\nline\r\n")
    assert [r[:3] for r in replies] == ["550", "221"], replies
    assert "bare LF" in replies[0]


@pytest.mark.parametrize("spec", ["lf-dot-lf", "crlf-dot-crlf=content", "nope=ends-data",
                                  "lf-dot-lf=maybe"])
def test_bad_data_ending_is_a_usage_error(fakeserver_bin, spec):
    r = subprocess.run([str(fakeserver_bin), "sink", "--data-ending", spec], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2 and "--data-ending expects FORM=ACTION" in r.stderr, r.stderr


# --- the probe's judgement agrees with the sink's behaviour -------------------------------------

def smuggling_checks() -> dict[str, str]:
    """check name -> the form its C+ bytes end the first message with (read from the files)."""
    checks = {}
    for path in sorted((ROOT / "scenarios" / "server").glob("smuggling-*.scn")):
        text = path.read_text()
        m = re.search(r"^C\+ (.*)$", text, re.M)
        if not m:
            continue
        sent = m.group(1).encode().decode("unicode_escape").encode("latin-1")
        # the longest form the sent bytes end with is the one under test
        hits = [n for n, b in FORMS.items() if sent.endswith(b)]
        if hits:
            checks[path.stem] = max(hits, key=lambda n: len(FORMS[n]))
    return checks


def probe_bin() -> Path:
    env = os.environ.get("SMTPKIT_BUILD_DIR")
    binary = (Path(env) if env else ROOT / "build" / "ci") / "bin" / "smtp-probe"
    if not binary.exists():
        pytest.skip(f"{binary} is not built")
    return binary


def probe(port: int, check: str) -> dict:
    r = subprocess.run([str(probe_bin()), "--server", f"127.0.0.1:{port}", "--rcpt",
                        "bob@example.org", "--allow-delivery", "--check", check, "--json", "-q",
                        "--timeout", "10"], capture_output=True, text=True, timeout=60)
    report = json.loads(r.stdout)
    (result,) = [c for c in report["checks"] if c["name"] == check]
    return result


def test_the_probe_has_smuggling_checks_to_compare():
    checks = smuggling_checks()
    assert len(checks) >= 4, checks  # bare LF, CRLF-LF, LF-CRLF, bare CR at least


@pytest.mark.parametrize("check,form", sorted(smuggling_checks().items()))
def test_probe_fails_exactly_the_sink_that_ends_data_at_the_form(fakeserver, check, form):
    safe = fakeserver("sink", "--quiet")
    vulnerable = fakeserver("sink", "--quiet", "--data-ending", f"{form}=ends-data")
    assert probe(safe.listener("plain")["port"], check)["verdict"] == "pass"
    verdict = probe(vulnerable.listener("plain")["port"], check)
    assert verdict["verdict"] == "fail", verdict
