"""Issue 22: no client line can crash the fake server. Long lines against `~` patterns (the two
reproductions: std::regex overflowed the stack), a pattern too complex for its input, and every
command at, over and around the line limit, in binary, with NUL, bare CR and bare LF, against the
scripted and the sink mode. Each time: the server survives, the session reports what happened
(file:line and a reason naming the limit), and the next client is served normally."""

from __future__ import annotations

import random
import smtplib
import socket

import pytest

from fakeserver_proc import SCENARIOS

MAIL_FROM_REGEX = SCENARIOS / "data" / "mail-from-regex.scn"
BASIC = SCENARIOS / "basic" / "send-one-message.scn"
GOOD_MESSAGE = b"Subject: hello\r\n\r\nOne line of body.\r\n"
MAX_LINE = 64 * 1024  # scenario::PeerLimits::max_line: the longest line, CRLF included


def read_reply(f) -> bytes:
    """One whole reply (multiline included) from a socket file."""
    out = b""
    while True:
        line = f.readline(1 << 20)
        out += line
        if not line or line[3:4] != b"-":
            return out


def session(port: int, *lines: bytes) -> list[bytes]:
    """Reads the greeting, then sends each line and reads its reply; returns the replies."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        f = c.makefile("rb")
        replies = [read_reply(f)]
        for line in lines:
            c.sendall(line)
            replies.append(read_reply(f))
        return replies


def good_session(port: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        assert s.sendmail("alice@example.org", ["bob@example.org"], GOOD_MESSAGE) == {}


def scenario(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_mail_from_with_40000_size_digits_matches_the_regex_and_the_server_goes_on(fakeserver):
    # Issue 22's first reproduction: SIGSEGV (exit 139) with std::regex.
    srv = fakeserver("serve", MAIL_FROM_REGEX, "--transport", "plain", "--quiet")
    port = srv.listener("plain")["port"]
    replies = session(port, b"EHLO hostile.example\r\n",
                      b"MAIL FROM:<alice@example.org> SIZE=" + b"7" * 40000 + b"\r\n")
    assert replies[-1] == b"250 2.1.0 Ok\r\n", replies
    report = srv.next_session()
    mail = next(s for s in report["steps"] if s["text"].startswith("C: ~ MAIL FROM"))
    assert mail["status"] == "ok", report
    assert report["divergence"]["where"] == f"{MAIL_FROM_REGEX}:13"  # the RCPT that never came
    assert "closed" in report["divergence"]["reason"]
    good_session(port)
    assert srv.next_session()["ok"]
    assert srv.alive()


def test_20000_byte_ehlo_against_a_starred_alternation_and_the_server_goes_on(fakeserver, tmp_path):
    # Issue 22's second reproduction.
    path = scenario(tmp_path, "ehlo-alternation.scn", """\
description: EHLO matched by an alternation under a star (issue 22)
S: 220 mx.example.org ESMTP
C: ~ EHLO (a|b|.)*
S: 250 mx.example.org
C: QUIT
S: 221 bye
""")
    srv = fakeserver("serve", path, "--quiet")
    port = srv.listener("plain")["port"]
    name = (b"abx" * 7000)[:20000]
    assert session(port, b"EHLO " + name + b"\r\n", b"QUIT\r\n")[1:] == [
        b"250 mx.example.org\r\n", b"221 bye\r\n"]
    assert srv.next_session()["ok"]
    assert session(port, b"EHLO a\r\n", b"QUIT\r\n")[-1] == b"221 bye\r\n"
    assert srv.next_session()["ok"]
    assert srv.alive()


def test_pattern_too_complex_for_the_line_is_a_divergence_at_its_file_and_line(fakeserver, tmp_path):
    # Catastrophic backtracking: PCRE2's match limit ends it; the session says so, at the pattern.
    path = scenario(tmp_path, "backtracking.scn", """\
description: a pattern that backtracks exponentially on a line of x
S: 220 mx.example.org ESMTP
C: ~ EHLO (x+x+)+(y|z)
S: 250 mx.example.org
""")
    srv = fakeserver("serve", path, "--quiet")
    port = srv.listener("plain")["port"]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        f = c.makefile("rb")
        read_reply(f)
        c.sendall(b"EHLO " + b"x" * 60000 + b"\r\n")
        assert f.read() == b""  # no reply: the session ended at the divergence
    report = srv.next_session()
    div = report["divergence"]
    assert div["where"] == f"{path}:3", report
    assert div["reason"].startswith("pattern too complex for this input"), div
    assert div["received"].endswith("...(60007 bytes)"), div  # quoted short
    assert session(port, b"EHLO xxy\r\n")[-1] == b"250 mx.example.org\r\n"
    assert srv.next_session()["ok"]
    assert srv.alive()


COMMANDS = [b"EHLO ", b"HELO ", b"MAIL FROM:<", b"RCPT TO:<", b"DATA ", b"BDAT ", b"AUTH PLAIN ",
            b"STARTTLS ", b"VRFY ", b"EXPN ", b"NOOP ", b"RSET ", b"HELP ", b"QUIT ", b""]


def hostile_lines(verb: bytes) -> dict[str, bytes]:
    """One command in every shape a line can break a server: at and over the line limit (CRLF
    included), without a line end, binary, NUL, bare CR, bare LF."""
    rnd = random.Random(verb)
    fill = lambda n: b"x" * max(n, 0)  # noqa: E731
    return {
        "at-limit": verb + fill(MAX_LINE - len(verb) - 2) + b"\r\n",
        "over-limit": verb + fill(MAX_LINE - len(verb) - 1) + b"\r\n",
        "far-over-no-eol": verb + fill(3 * MAX_LINE),
        "binary": verb + bytes(rnd.randrange(256) for _ in range(4000)).replace(b"\n", b"") + b"\r\n",
        "nul": verb + b"a\0b\0" * 100 + b"\r\n",
        "bare-cr": verb + b"a\rb\r" * 100 + b"\r\n",
        "bare-lf": verb + b"a\nb\n" * 3 + b"\n",
    }


def send_and_close(port: int, data: bytes) -> bytes:
    """Sends after the greeting, half-closes, and reads whatever comes back until the close."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as c:
        f = c.makefile("rb")
        read_reply(f)
        try:
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
            return f.read()
        except (ConnectionResetError, BrokenPipeError):
            return b""  # the server may cut a line it will not read: that is its right


def test_scripted_mode_survives_every_hostile_command_and_reports_each(fakeserver):
    srv = fakeserver("serve", BASIC, "--transport", "plain", "--quiet", "--step-timeout", 5)
    port = srv.listener("plain")["port"]
    cases = [(verb, kind, line) for verb in COMMANDS for kind, line in hostile_lines(verb).items()]
    for verb, kind, line in cases:
        send_and_close(port, line)
        report = srv.next_session()
        case = f"{verb!r} {kind}: {report.get('divergence')}"
        assert not report["ok"], case  # the script wants more than one line
        div = report["divergence"]
        assert div["where"].split(":")[0].endswith((".inc", ".scn")), case  # file:line
        assert div["reason"], case
        if kind in ("over-limit", "far-over-no-eol"):
            assert "(max-line)" in div["reason"] and "65536" in div["reason"], case
        if kind == "at-limit" and verb == b"EHLO ":
            assert report["steps"][1]["status"] == "ok", case  # `C: EHLO *` took it
        assert len(div["received"]) < 2100, case  # quoted short (512 bytes, made visible)
        assert srv.alive(), case
    good_session(port)
    assert srv.next_session()["ok"]


def test_sink_mode_survives_every_hostile_command_and_refuses_long_lines(fakeserver):
    srv = fakeserver("sink", "--quiet", "--report-sessions")
    port = srv.listener("plain")["port"]
    for verb in COMMANDS:
        for kind, line in hostile_lines(verb).items():
            answer = send_and_close(port, line)
            report = srv.next_session()
            case = f"{verb!r} {kind}: {answer[:80]!r} {report.get('error')}"
            if kind in ("over-limit", "far-over-no-eol"):
                assert answer.startswith(b"500 5.5.2 Line too long"), case
                assert report["error"] == "line longer than 65536 bytes (max-line)", case
            elif kind == "at-limit":
                assert answer[:1] in (b"2", b"3", b"4", b"5"), case  # a reply, whatever it says
            assert srv.alive(), case
    good_session(port)
    assert srv.alive()


@pytest.mark.parametrize("max_line, length, taken", [(100, 100, True), (100, 101, False),
                                                     (200000, 150000, True)])
def test_max_line_header_sets_the_limit_for_the_scenario(fakeserver, tmp_path, max_line, length,
                                                          taken):
    path = scenario(tmp_path, "long-ehlo.scn", f"""\
description: a scenario that takes lines of up to {max_line} bytes
max-line: {max_line}
S: 220 mx.example.org ESMTP
C: EHLO *
S: 250 mx.example.org
""")
    srv = fakeserver("serve", path, "--quiet")
    port = srv.listener("plain")["port"]
    line = b"EHLO " + b"x" * (length - 7) + b"\r\n"
    answer = send_and_close(port, line)
    report = srv.next_session()
    if taken:
        assert answer == b"250 mx.example.org\r\n" and report["ok"], report
    else:
        assert answer == b"" and not report["ok"]
        assert report["divergence"]["where"] == f"{path}:4"
        assert report["divergence"]["reason"] == f"line longer than {max_line} bytes (max-line)"
