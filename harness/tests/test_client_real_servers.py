"""The clients against real servers on loopback (issue 2, "Done when"): aiosmtpd's SMTP and LMTP
classes and Postfix's smtp-sink, through `smtp-client send --json` and, as the reference,
smtplib through harness/drivers/smtplib_driver.py with the same command line.

Each test states one expected outcome for both clients. Where smtplib behaves differently on
purpose or by its own limits, the test says so next to a `client == "smtplib"` branch; those
are the cases the client's "differences from smtplib" table has to list.
"""

from __future__ import annotations

import re

import pytest

from harness.clients import EXIT_FAILED, EXIT_OK, EXIT_USAGE, run_client

pytestmark = pytest.mark.realserver

DOMAIN = "harness.test"

# A message whose lines start with dots, including a line holding a single dot: the client must
# stuff them and the server un-stuff them, so what arrives equals what was given.
DOTTED = (b"From: <a@harness.test>\r\nTo: <b@harness.test>\r\nSubject: byte-exact\r\n\r\n"
          b"line one\r\n.leading dot\r\n..two dots\r\n.\r\n\r\nlast line\r\n")
# Lone LF, lone CR, and no line ending at the very end.
MIXED_EOL = b"Subject: eol\r\n\r\nlf only\nlone cr\rcrlf\r\n.dot after lf\nno final newline"


def crlf(data: bytes) -> bytes:
    """What issue 2 says the C++ client sends: lone CR and lone LF become CRLF, ends in CRLF."""
    out = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
    return out if out.endswith(b"\r\n") else out + b"\r\n"


def addr(token: str, tag: str = "", local: str = "") -> str:
    """token-carrying address: addr(t) = t@harness.test, addr(t, "+rcpt550", "bob")."""
    return f"{local or token}{tag}@{DOMAIN}" if local else f"{token}{tag}@{DOMAIN}"


def check(run, exit_code: int, server=None, token: str | None = None) -> str:
    """Assert the exit status; returns a context string (client run + server transcript)."""
    context = run.explain()
    if server is not None and token is not None and hasattr(server, "sessions_with"):
        context += "\n--- server transcript ---\n" + "".join(
            s.render() for s in server.sessions_with(token))
    assert run.exit_code == exit_code, context
    assert run.result is not None, f"no JSON object on stdout\n{context}"
    return context


# -- delivery ------------------------------------------------------------------------------------

@pytest.mark.mainjob
def test_message_arrives_byte_exact(client, send, aiosmtpd_smtp, token):
    run = send(aiosmtpd_smtp, sender=addr(token), to=[addr(token, local="rcpt")], data=DOTTED)
    ctx = check(run, EXIT_OK, aiosmtpd_smtp, token)
    assert run.result == {"ok": True, "refused": {}}, ctx
    session = aiosmtpd_smtp.session_with(token)
    [message] = session.messages
    assert message["content"] == DOTTED, ctx
    assert message["mail_from"] == addr(token)
    assert message["rcpt_tos"] == [addr(token, local="rcpt")]
    # On the wire every line that began with a dot was doubled.
    wire = b"".join(session.client_lines())
    assert b"\r\n..leading dot\r\n...two dots\r\n..\r\n" in wire, ctx


def test_line_endings_normalised(client, send, aiosmtpd_smtp, token):
    run = send(aiosmtpd_smtp, sender=addr(token), to=[addr(token, local="rcpt")], data=MIXED_EOL)
    ctx = check(run, EXIT_OK, aiosmtpd_smtp, token)
    [message] = aiosmtpd_smtp.session_with(token).messages
    if client == "smtplib":
        # Deliberate difference: smtplib normalises line endings only for str messages; bytes go
        # out as given, with CRLF appended at the end. Lone LF and CR reach the server.
        assert message["content"] == MIXED_EOL + b"\r\n", ctx
    else:
        assert message["content"] == crlf(MIXED_EOL), ctx


def test_message_from_standard_input(client, send, aiosmtpd_smtp, token):
    run = send(aiosmtpd_smtp, sender=addr(token), to=[addr(token, local="rcpt")], data=DOTTED,
               stdin=True)
    ctx = check(run, EXIT_OK, aiosmtpd_smtp, token)
    [message] = aiosmtpd_smtp.session_with(token).messages
    assert message["content"] == DOTTED, ctx


def test_smtp_over_unix_socket(client, send, aiosmtpd_smtp_unix, token):
    run = send(aiosmtpd_smtp_unix, sender=addr(token), to=[addr(token, local="rcpt")], data=DOTTED)
    ctx = check(run, EXIT_OK, aiosmtpd_smtp_unix, token)
    session = aiosmtpd_smtp_unix.session_with(token)
    assert session.client_lines()[0].upper().startswith(b"EHLO "), ctx
    assert [m["content"] for m in session.messages] == [DOTTED], ctx


@pytest.mark.mainjob
def test_multiple_recipients(client, send, aiosmtpd_smtp, token):
    rcpts = [addr(token, local=f"r{i}") for i in range(5)]
    run = send(aiosmtpd_smtp, sender=addr(token), to=rcpts)
    ctx = check(run, EXIT_OK, aiosmtpd_smtp, token)
    assert run.result == {"ok": True, "refused": {}}, ctx
    session = aiosmtpd_smtp.session_with(token)
    assert [m["rcpt_tos"] for m in session.messages] == [rcpts], ctx
    assert session.commands().count("RCPT") == 5, ctx


def test_local_hostname_and_options_reach_the_server(client, send, aiosmtpd_smtp, token):
    run = send(aiosmtpd_smtp, sender=addr(token), to=[addr(token, local="rcpt")],
               extra=["--local-hostname", "client.harness.test", "--mail-option", "BODY=8BITMIME"])
    ctx = check(run, EXIT_OK, aiosmtpd_smtp, token)
    session = aiosmtpd_smtp.session_with(token)
    assert session.client_lines()[0].upper() == b"EHLO CLIENT.HARNESS.TEST\r\n", ctx
    [mail] = session.command_lines("MAIL")
    assert mail.upper().endswith(b" BODY=8BITMIME\r\n"), ctx
    assert session.messages[0]["mail_options"] == ["BODY=8BITMIME"], ctx


# -- refusals ------------------------------------------------------------------------------------

@pytest.mark.mainjob
def test_some_recipients_refused(client, send, aiosmtpd_smtp, token):
    good = addr(token, local="good")
    bad550 = addr(token, "+rcpt550", "bad")
    bad451 = addr(token, "+rcpt451", "later")
    run = send(aiosmtpd_smtp, sender=addr(token), to=[bad550, good, bad451])
    ctx = check(run, EXIT_OK, aiosmtpd_smtp, token)
    assert run.result == {"ok": True, "refused": {
        bad550: [550, f"5.7.1 harness rule: RCPT refused for <{bad550}>"],
        bad451: [451, f"4.7.1 harness rule: RCPT refused for <{bad451}>"],
    }}, ctx
    session = aiosmtpd_smtp.session_with(token)
    assert [m["delivered_to"] for m in session.messages] == [[good]], ctx


@pytest.mark.mainjob
def test_all_recipients_refused(client, send, aiosmtpd_smtp, token):
    bad = [addr(token, "+rcpt550", "one"), addr(token, "+rcpt553", "two")]
    run = send(aiosmtpd_smtp, sender=addr(token), to=bad)
    ctx = check(run, EXIT_FAILED, aiosmtpd_smtp, token)
    assert run.ok is False, ctx
    assert run.error["type"] == "SMTPRecipientsRefused", ctx
    assert run.error["recipients"] == {
        bad[0]: [550, f"5.7.1 harness rule: RCPT refused for <{bad[0]}>"],
        bad[1]: [553, f"5.7.1 harness rule: RCPT refused for <{bad[1]}>"],
    }, ctx
    session = aiosmtpd_smtp.session_with(token)
    commands = session.commands()
    assert "DATA" not in commands and commands[commands.index("RCPT") + 2] == "RSET", ctx
    assert session.messages == [], ctx


@pytest.mark.mainjob
def test_sender_refused(client, send, aiosmtpd_smtp, token):
    sender = addr(token, "+mail553")
    run = send(aiosmtpd_smtp, sender=sender, to=[addr(token, local="rcpt")])
    ctx = check(run, EXIT_FAILED, aiosmtpd_smtp, token)
    assert run.error == {"type": "SMTPSenderRefused", "code": 553,
                         "message": f"5.7.1 harness rule: MAIL refused for <{sender}>",
                         "sender": sender}, ctx
    commands = aiosmtpd_smtp.session_with(token).commands()
    assert "RCPT" not in commands and commands[commands.index("MAIL") + 1] == "RSET", ctx


def test_sender_refused_temporarily(client, send, aiosmtpd_smtp, token):
    sender = addr(token, "+mail451")
    run = send(aiosmtpd_smtp, sender=sender, to=[addr(token, local="rcpt")])
    ctx = check(run, EXIT_FAILED, aiosmtpd_smtp, token)
    assert (run.error["type"], run.error["code"], run.error["sender"]) == (
        "SMTPSenderRefused", 451, sender), ctx


@pytest.mark.mainjob
def test_data_refused_after_the_dot(client, send, aiosmtpd_smtp, token):
    rcpt = addr(token, "+data554", "rcpt")
    run = send(aiosmtpd_smtp, sender=addr(token), to=[rcpt])
    ctx = check(run, EXIT_FAILED, aiosmtpd_smtp, token)
    assert (run.error["type"], run.error["code"], run.error["message"]) == (
        "SMTPDataError", 554, f"5.7.1 harness rule: DATA refused for <{rcpt}>"), ctx
    session = aiosmtpd_smtp.session_with(token)
    assert session.messages[0]["delivered_to"] == [], ctx
    commands = session.commands()
    assert commands[commands.index("DATA") + 1] == "RSET", ctx


# -- SIZE (RFC 1870) -----------------------------------------------------------------------------

def _size_param(mail_line: bytes) -> int | None:
    m = re.search(rb"\bSIZE=(\d+)", mail_line, re.I)
    return int(m.group(1)) if m else None


@pytest.mark.mainjob
def test_size_declared_when_advertised(client, send, aiosmtpd_smtp_sized, token):
    data = DOTTED
    run = send(aiosmtpd_smtp_sized, sender=addr(token), to=[addr(token, local="rcpt")], data=data)
    ctx = check(run, EXIT_OK, aiosmtpd_smtp_sized, token)
    [mail] = aiosmtpd_smtp_sized.session_with(token).command_lines("MAIL")
    size = _size_param(mail)
    assert size is not None, ctx
    # smtplib declares len(message); a client may count its stuffed/normalised bytes instead
    # (RFC 1870 s6.1 allows an estimate), but never less than the message.
    assert len(data) <= size <= len(data) + data.count(b"\n") + 2, ctx


def test_size_over_the_limit_refused_at_mail(client, send, aiosmtpd_smtp_sized, token):
    data = b"Subject: big\r\n\r\n" + b"x" * 70 + b"\r\n" * 0 + (b"y" * 76 + b"\r\n") * 80
    sender = addr(token)
    run = send(aiosmtpd_smtp_sized, sender=sender, to=[addr(token, local="rcpt")], data=data)
    ctx = check(run, EXIT_FAILED, aiosmtpd_smtp_sized, token)
    if client == "cpp":
        # Ours compares the message with the advertised SIZE before MAIL (issue 8): nothing of
        # the transaction is sent, so no session mentions the token.
        assert (run.error["type"], run.error["code"]) == ("SMTPMessageTooLarge", None), ctx
        assert aiosmtpd_smtp_sized.sessions_with(token) == [], ctx
        return
    assert (run.error["type"], run.error["code"], run.error["sender"]) == (
        "SMTPSenderRefused", 552, sender), ctx
    assert "DATA" not in aiosmtpd_smtp_sized.session_with(token).commands(), ctx


def test_size_not_declared_when_not_advertised(client, send, aiosmtpd_smtp, token):
    run = send(aiosmtpd_smtp, sender=addr(token), to=[addr(token, local="rcpt")])
    ctx = check(run, EXIT_OK, aiosmtpd_smtp, token)
    [mail] = aiosmtpd_smtp.session_with(token).command_lines("MAIL")
    assert _size_param(mail) is None, ctx


# -- LMTP over a Unix socket (RFC 2033) --------------------------------------------------------------

@pytest.mark.mainjob
def test_lmtp_delivers_to_every_recipient(client, send, aiosmtpd_lmtp, token):
    rcpts = [addr(token, local=f"box{i}") for i in range(3)]
    run = send(aiosmtpd_lmtp, sender=addr(token), to=rcpts, data=DOTTED)
    ctx = check(run, EXIT_OK, aiosmtpd_lmtp, token)
    assert run.result == {"ok": True, "refused": {}}, ctx
    session = aiosmtpd_lmtp.session_with(token)
    assert session.client_lines()[0].upper().startswith(b"LHLO "), ctx
    [message] = session.messages
    assert message["content"] == DOTTED and message["delivered_to"] == rcpts, ctx


@pytest.mark.mainjob
def test_lmtp_per_recipient_results(client, send, aiosmtpd_lmtp, token):
    ok1, bad, ok2 = (addr(token, local="ok1"), addr(token, "+data550", "full"),
                     addr(token, local="ok2"))
    run = send(aiosmtpd_lmtp, sender=addr(token), to=[ok1, bad, ok2])
    ctx = check(run, EXIT_OK, aiosmtpd_lmtp, token)
    assert aiosmtpd_lmtp.session_with(token).messages[0]["delivered_to"] == [ok1, ok2], ctx
    if client == "smtplib":
        # Deliberate difference (CPython gh-76984): smtplib's LMTP reads one reply after the dot,
        # the first recipient's, so the refusal of the second is never reported.
        assert run.result == {"ok": True, "refused": {}}, ctx
    else:
        assert run.result == {"ok": True, "refused": {
            bad: [550, f"5.7.1 harness rule: DATA refused for <{bad}>"]}}, ctx


def test_lmtp_first_recipient_refused_after_dot(client, send, aiosmtpd_lmtp, token):
    bad, ok = addr(token, "+data452", "first"), addr(token, local="second")
    run = send(aiosmtpd_lmtp, sender=addr(token), to=[bad, ok])
    if client == "smtplib":
        # Deliberate difference: the single reply smtplib reads is the first recipient's 452,
        # so it reports a data error although the message was delivered to the second.
        ctx = check(run, EXIT_FAILED, aiosmtpd_lmtp, token)
        assert (run.error["type"], run.error["code"]) == ("SMTPDataError", 452), ctx
    else:
        ctx = check(run, EXIT_OK, aiosmtpd_lmtp, token)
        assert run.result == {"ok": True, "refused": {
            bad: [452, f"4.7.1 harness rule: DATA refused for <{bad}>"]}}, ctx
    assert aiosmtpd_lmtp.session_with(token).messages[0]["delivered_to"] == [ok], ctx


def test_lmtp_every_recipient_refused_after_dot(client, send, aiosmtpd_lmtp, token):
    bad = [addr(token, "+data550", "a"), addr(token, "+data554", "b")]
    run = send(aiosmtpd_lmtp, sender=addr(token), to=bad)
    ctx = check(run, EXIT_FAILED, aiosmtpd_lmtp, token)
    assert run.ok is False, ctx  # never a success when no recipient got the message
    if client == "smtplib":
        assert (run.error["type"], run.error["code"]) == ("SMTPDataError", 550), ctx
    else:
        # smtp-client reports every recipient's own reply, as sendmail does for RCPT refusals.
        assert run.error["type"] == "SMTPRecipientsRefused", ctx
        assert {a: v[0] for a, v in run.error["recipients"].items()} == {bad[0]: 550, bad[1]: 554}, ctx


def test_lmtp_recipient_refused_at_rcpt(client, send, aiosmtpd_lmtp, token):
    bad, ok = addr(token, "+rcpt550", "nobox"), addr(token, local="box")
    run = send(aiosmtpd_lmtp, sender=addr(token), to=[bad, ok])
    ctx = check(run, EXIT_OK, aiosmtpd_lmtp, token)
    assert run.result == {"ok": True, "refused": {
        bad: [550, f"5.7.1 harness rule: RCPT refused for <{bad}>"]}}, ctx


# -- Postfix smtp-sink ---------------------------------------------------------------------------

@pytest.mark.mainjob
def test_smtp_sink_receives_message(client, send, smtp_sink, token):
    rcpts = [addr(token, local="one"), addr(token, local="two")]
    run = send(smtp_sink, sender=addr(token), to=rcpts, data=DOTTED,
               extra=["--rcpt-option", "NOTIFY=NEVER"])
    ctx = check(run, EXIT_OK)
    assert run.result == {"ok": True, "refused": {}}, ctx
    [message] = smtp_sink.messages_from(token)
    assert message.mail_args.startswith(f"<{addr(token)}>"), ctx
    assert message.rcpt_args == [f"<{r}> NOTIFY=NEVER" for r in rcpts], ctx
    assert message.protocol == "ESMTP", ctx
    # smtp-sink stores lines with LF endings, dots already un-stuffed.
    assert message.content == DOTTED.replace(b"\r\n", b"\n"), ctx


@pytest.mark.parametrize("unix", [True, False], ids=["unix", "tcp"])
def test_smtp_sink_lmtp(client, send, smtp_sink_factory, token, unix):
    sink = smtp_sink_factory(lmtp=True, unix=unix)
    rcpts = [addr(token, local=f"box{i}") for i in range(3)]
    run = send(sink, sender=addr(token), to=rcpts)
    ctx = check(run, EXIT_OK)
    assert run.result == {"ok": True, "refused": {}}, ctx
    [message] = sink.messages_from(token)
    assert message.protocol == "LMTP" and message.rcpt_args == [f"<{r}>" for r in rcpts], ctx


@pytest.mark.parametrize("flag, verb, code, error_type", [
    ("-f", "MAIL", 500, "SMTPSenderRefused"),
    ("-r", "MAIL", 450, "SMTPSenderRefused"),
    ("-Q", "MAIL", 421, "SMTPSenderRefused"),
    ("-f", "RCPT", 500, "SMTPRecipientsRefused"),
    ("-r", "RCPT", 450, "SMTPRecipientsRefused"),
    ("-f", "DATA", 500, "SMTPDataError"),
    ("-f", ".", 500, "SMTPDataError"),
    ("-r", ".", 450, "SMTPDataError"),
], ids=lambda v: {".": "dot"}.get(v, str(v)) if isinstance(v, str) else str(v))
def test_smtp_sink_refusals(client, send, smtp_sink_factory, token, flag, verb, code, error_type):
    sink = smtp_sink_factory(flag, verb)
    rcpt = addr(token, local="rcpt")
    run = send(sink, sender=addr(token), to=[rcpt])
    ctx = check(run, EXIT_FAILED)
    assert run.error["type"] == error_type, ctx
    if error_type == "SMTPRecipientsRefused":
        assert list(run.error["recipients"]) == [rcpt], ctx
        assert run.error["recipients"][rcpt][0] == code, ctx
    else:
        assert run.error["code"] == code, ctx
    assert sink.messages_from(token) == [] or verb == ".", ctx


# -- network failures ----------------------------------------------------------------------------

@pytest.mark.mainjob
def test_timeout_on_silent_server(client, send, silent_server, token):
    run = send(silent_server, sender=addr(token), to=[addr(token, local="rcpt")],
               extra=["--timeout", "1"])
    ctx = check(run, EXIT_FAILED)
    assert run.ok is False and run.error["type"], ctx
    assert 0.9 <= run.seconds < 10, ctx
    assert silent_server.accepted == 1, ctx
    if client == "smtplib":
        # smtplib turns a timeout while reading a reply into SMTPServerDisconnected.
        assert (run.error["type"], run.error["message"]) == (
            "SMTPServerDisconnected", "Connection unexpectedly closed: timed out"), ctx
    else:
        assert run.error["type"] == "SMTPTimeoutError", ctx


def test_timeout_on_stalled_data_reply(client, send, smtp_sink_factory, token):
    # smtp-sink -w 5: waits five seconds before answering DATA; the client gives up after one.
    sink = smtp_sink_factory("-w", "5")
    run = send(sink, sender=addr(token), to=[addr(token, local="rcpt")],
               extra=["--timeout", "1"])
    ctx = check(run, EXIT_FAILED)
    assert run.ok is False, ctx
    assert 0.9 <= run.seconds < 4.5, ctx
    if client == "smtplib":
        # smtplib turns a timeout while reading a reply into SMTPServerDisconnected.
        assert (run.error["type"], run.error["message"]) == (
            "SMTPServerDisconnected", "Connection unexpectedly closed: timed out"), ctx
    else:
        assert run.error["type"] == "SMTPTimeoutError", ctx


@pytest.mark.mainjob
def test_connection_refused(client, send, refusing_port, token):
    run = send(refusing_port, sender=addr(token), to=[addr(token, local="rcpt")],
               extra=["--timeout", "5"])
    ctx = check(run, EXIT_FAILED)
    assert run.ok is False and run.error["code"] is None, ctx
    if client == "smtplib":
        # smtplib lets the OSError through; it is not an SMTP exception.
        assert run.error["type"] == "ConnectionRefusedError", ctx
    else:
        assert re.search(r"refused|connect", run.error["type"] + run.error["message"], re.I), ctx


# -- bad input: refused before the transaction ----------------------------------------------------

@pytest.mark.parametrize("where", ["sender", "recipient", "mail_option", "rcpt_option",
                                   "bare_lf_in_sender", "local_hostname"])
def test_crlf_in_input_refused_before_sending(client, send, fresh_aiosmtpd, token, where):
    sender, rcpts, extra = addr(token), [addr(token, local="rcpt")], []
    if where == "sender":
        sender = f"{token}@{DOMAIN}>\r\nRCPT TO:<evil@{DOMAIN}"
    elif where == "recipient":
        rcpts = [f"rcpt@{DOMAIN}>\r\nRSET"]
    elif where == "mail_option":
        extra = ["--mail-option", "BODY=8BITMIME\r\nRSET"]
    elif where == "rcpt_option":
        extra = ["--rcpt-option", "NOTIFY=NEVER\nRSET"]
    elif where == "bare_lf_in_sender":
        sender = f"{token}\n@{DOMAIN}"
    elif where == "local_hostname":
        extra = ["--local-hostname", "client.test\r\nMAIL FROM:<evil@x>"]
    run = send(fresh_aiosmtpd, sender=sender, to=rcpts, extra=extra)
    sessions = fresh_aiosmtpd.sessions()
    transcript = "".join(s.render() for s in sessions)
    ctx = run.explain() + "\n--- server transcript ---\n" + transcript
    mails = [line for s in sessions for line in s.command_lines("MAIL")]
    if client == "smtplib" and where == "bare_lf_in_sender":
        # Deliberate difference: smtplib passes addresses through email.utils.parseaddr, which
        # drops the LF, and sends MAIL FROM:<token@...> as if nothing were wrong.
        assert run.exit_code == EXIT_OK, ctx
        assert mails == [f"mail FROM:<{token}@{DOMAIN}>\r\n".encode()], ctx
        return
    assert run.exit_code == EXIT_USAGE, ctx
    assert run.result is not None and run.ok is False, ctx
    if client == "smtplib" and where in ("recipient", "rcpt_option"):
        # Deliberate difference: smtplib checks each command line only when it writes it, so
        # MAIL FROM is already out when the bad RCPT is refused.
        assert len(mails) == 1, ctx
        assert not any(s.command_lines("RCPT") or s.command_lines("DATA") for s in sessions), ctx
        return
    assert mails == [], ctx
    assert not any(s.command_lines("RCPT") or s.command_lines("DATA") for s in sessions), ctx


# -- greeting, EHLO/HELO and disconnects (smtp-sink's fault options) ----------------------------------

@pytest.mark.parametrize("flag, code", [("-Q", 421), ("-f", 500)], ids=["421", "500"])
def test_greeting_refused(client, send, smtp_sink_factory, token, flag, code):
    sink = smtp_sink_factory(flag, "CONNECT")
    run = send(sink, sender=addr(token), to=[addr(token, local="rcpt")])
    ctx = check(run, EXIT_FAILED)
    assert (run.error["type"], run.error["code"]) == ("SMTPConnectError", code), ctx
    assert sink.messages_from(token) == [], ctx


@pytest.mark.parametrize("options", [("-f", "EHLO"), ("-e",)], ids=["ehlo_refused", "no_esmtp"])
def test_helo_fallback(client, send, smtp_sink_factory, token, options):
    sink = smtp_sink_factory(*options)
    run = send(sink, sender=addr(token), to=[addr(token, local="rcpt")], data=DOTTED)
    ctx = check(run, EXIT_OK)
    [message] = sink.messages_from(token)
    assert message.protocol == "SMTP", ctx  # smtp-sink saw HELO, not EHLO
    assert message.content == DOTTED.replace(b"\r\n", b"\n"), ctx


def test_helo_refused_too(client, send, smtp_sink_factory, token):
    sink = smtp_sink_factory("-f", "EHLO,HELO")
    run = send(sink, sender=addr(token), to=[addr(token, local="rcpt")])
    ctx = check(run, EXIT_FAILED)
    assert (run.error["type"], run.error["code"]) == ("SMTPHeloError", 500), ctx


@pytest.mark.parametrize("verb", ["MAIL", "RCPT", "DATA", "."], ids=["mail", "rcpt", "data", "dot"])
def test_server_disconnects_without_reply(client, send, smtp_sink_factory, token, verb):
    # smtp-sink -q CMD closes the connection instead of answering CMD. After "." the message
    # was stored by the server, but the client never got a reply: that is never a success.
    sink = smtp_sink_factory("-q", verb)
    run = send(sink, sender=addr(token), to=[addr(token, local="rcpt")])
    ctx = check(run, EXIT_FAILED)
    assert run.ok is False and run.error["code"] is None, ctx
    if client == "smtplib":
        assert run.error["type"] == "SMTPServerDisconnected", ctx


def test_421_after_the_dot(client, send, smtp_sink_factory, token):
    sink = smtp_sink_factory("-Q", ".")
    run = send(sink, sender=addr(token), to=[addr(token, local="rcpt")])
    ctx = check(run, EXIT_FAILED)
    assert (run.error["type"], run.error["code"]) == ("SMTPDataError", 421), ctx


def test_debug_trace_on_stderr(client, send, aiosmtpd_smtp, token):
    run = send(aiosmtpd_smtp, sender=addr(token), to=[addr(token, local="rcpt")],
               extra=["--debug", "1"])
    ctx = check(run, EXIT_OK, aiosmtpd_smtp, token)
    # smtplib's set_debuglevel(1) format: "send: 'mail FROM:<...>\r\n'" and "reply: b'250 ...'".
    assert re.search(rf"^send: .*mail from:<{token}@", run.stderr, re.I | re.M), ctx
    assert re.search(r"^reply: .*250", run.stderr, re.M), ctx


def test_nul_in_message_refused_before_sending(client, send, fresh_aiosmtpd, token):
    data = b"Subject: nul\r\n\r\nbefore\x00after\r\n"
    run = send(fresh_aiosmtpd, sender=addr(token), to=[addr(token, local="rcpt")], data=data)
    sessions = fresh_aiosmtpd.sessions()
    ctx = run.explain() + "\n--- server transcript ---\n" + "".join(s.render() for s in sessions)
    if client == "smtplib":
        # Deliberate difference: smtplib sends NUL as is; the server stored it.
        assert run.exit_code == EXIT_OK, ctx
        assert [m["content"] for s in sessions for m in s.messages] == [data], ctx
        return
    assert run.exit_code == EXIT_USAGE and run.ok is False, ctx
    assert not any(s.command_lines("MAIL") or s.command_lines("DATA") for s in sessions), ctx


@pytest.mark.parametrize("args", [
    ["--to", "rcpt@harness.test"],                                        # no --from
    ["--from", "a@harness.test", "--to", "b@harness.test", "--no-such-flag"],
], ids=["missing_from", "unknown_flag"])
def test_usage_errors_exit_2(client, aiosmtpd_smtp, args):
    run = run_client(client, aiosmtpd_smtp.client_args() + args + ["--data", "/dev/null"])
    assert run.exit_code == EXIT_USAGE, run.explain()


def test_unreadable_data_file(client, aiosmtpd_smtp, token, tmp_path):
    missing = tmp_path / "no-such-message.eml"
    run = run_client(client, aiosmtpd_smtp.client_args() + [
        "--from", addr(token), "--to", addr(token, local="rcpt"), "--data", str(missing)])
    assert run.exit_code == EXIT_USAGE, run.explain()
    assert run.error["type"] == "UsageError", run.explain()
    assert aiosmtpd_smtp.sessions_with(token) == [], run.explain()


@pytest.mark.slow
def test_timeout_is_a_deadline_per_reply(client, send, drip_server, token):
    # The greeting arrives one byte every 0.2 s for 4 s. Issue 2: the timeout is a deadline for
    # the whole reply, so a dripping server cannot stretch it.
    run = send(drip_server, sender=addr(token), to=[addr(token, local="rcpt")],
               extra=["--timeout", "1"])
    ctx = check(run, EXIT_FAILED)
    if client == "smtplib":
        # Deliberate difference: smtplib's timeout applies to each recv(), so the drip keeps it
        # alive until the greeting is complete; it then times out waiting for the EHLO reply.
        assert run.seconds >= 3.5, ctx
        assert run.error["type"] == "SMTPServerDisconnected", ctx
    else:
        assert 0.9 <= run.seconds < 2.5, ctx
        assert run.error["type"] == "SMTPTimeoutError", ctx


def test_debug_level_2_adds_times(client, send, aiosmtpd_smtp, token):
    run = send(aiosmtpd_smtp, sender=addr(token), to=[addr(token, local="rcpt")],
               extra=["--debug", "2"])
    ctx = check(run, EXIT_OK, aiosmtpd_smtp, token)
    # smtplib's level 2 prefixes each debug line with the time of day, HH:MM:SS.ffffff.
    assert re.search(rf"^\d\d:\d\d:\d\d\.\d{{6}} send: .*mail from:<{token}@", run.stderr,
                     re.I | re.M), ctx
    assert re.search(r"^\d\d:\d\d:\d\d\.\d{6} reply: ", run.stderr, re.M), ctx
