"""Sink mode as a development mail catcher (issue 19), with smtplib and with our smtp-client:
the envelope recorded (envelope/NAME.json beside each Maildir message, the session report,
optional Return-Path/Delivered-To headers) so a Bcc recipient leaves a trace; AUTH PLAIN/LOGIN
accepting any credentials or a configured set; SIZE enforced at MAIL; HELP listing STARTTLS
only when it is offered."""

from __future__ import annotations

import json
import os
import smtplib
import subprocess
from pathlib import Path

import pytest

from fakeserver_proc import ROOT

MESSAGE = b"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nhello\r\n"


def smtp_client() -> Path:
    env = os.environ.get("SMTPKIT_BUILD_DIR")
    binary = (Path(env) if env else ROOT / "build" / "ci") / "bin" / "smtp-client"
    if not binary.exists():
        pytest.skip(f"{binary} is not built")
    return binary


def envelopes(md: Path) -> dict[str, dict]:
    """Maildir file name -> its envelope."""
    return {p.name.removesuffix(".json"): json.loads(p.read_text())
            for p in (md / "envelope").iterdir()}


def test_envelope_beside_each_message_and_in_the_report(fakeserver, tmp_path):
    md = tmp_path / "Maildir"
    srv = fakeserver("sink", "--maildir", md, "--report-sessions", "--quiet")
    l = srv.listener("plain")
    with smtplib.SMTP(l["host"], l["port"], timeout=10) as s:
        # bob is in To:, carol only in the envelope (a Bcc): her only trace is the envelope.
        assert s.sendmail("alice@example.org", ["bob@example.org", "carol@example.org"],
                          MESSAGE) == {}
    report = srv.next_session()
    names = [p.name for p in (md / "new").iterdir()]
    assert len(names) == 1
    assert (md / "new" / names[0]).read_bytes() == MESSAGE  # still byte-exact
    env = envelopes(md)[names[0]]
    assert env["mail_from"] == "alice@example.org"
    assert env["rcpt_to"] == ["bob@example.org", "carol@example.org"]
    assert env["size"] == len(MESSAGE) and env["auth_user"] is None and env["transport"] == "plain"
    assert report["envelopes"] == [{"id": names[0], "mail_from": "alice@example.org",
                                    "rcpt_to": ["bob@example.org", "carol@example.org"],
                                    "size": len(MESSAGE)}], report


def test_envelope_headers_in_front_of_the_stored_message(fakeserver, tmp_path):
    md = tmp_path / "Maildir"
    srv = fakeserver("sink", "--maildir", md, "--envelope-headers", "--quiet")
    l = srv.listener("plain")
    with smtplib.SMTP(l["host"], l["port"], timeout=10) as s:
        s.sendmail("alice@example.org", ["bob@example.org", "carol@example.org"], MESSAGE)
    (stored,) = [p.read_bytes() for p in (md / "new").iterdir()]
    assert stored == (b"Return-Path: <alice@example.org>\r\nDelivered-To: bob@example.org\r\n"
                      b"Delivered-To: carol@example.org\r\n" + MESSAGE)


def test_auth_accepts_any_credentials_by_default_smtplib(fakeserver, tmp_path):
    md = tmp_path / "Maildir"
    srv = fakeserver("sink", "--maildir", md, "--report-sessions", "--quiet")
    l = srv.listener("plain")
    with smtplib.SMTP(l["host"], l["port"], timeout=10) as s:
        s.ehlo()
        assert "PLAIN" in s.esmtp_features["auth"] and "LOGIN" in s.esmtp_features["auth"]
        assert s.login("app@example.org", "whatever")[0] == 235  # smtplib picks PLAIN
        s.sendmail("app@example.org", ["bob@example.org"], MESSAGE)
    with smtplib.SMTP(l["host"], l["port"], timeout=10) as s:
        s.ehlo()
        s.user, s.password = "other", "x"
        assert s.auth("LOGIN", s.auth_login, initial_response_ok=False)[0] == 235
    first, second = srv.next_session(), srv.next_session()
    assert first["auth_user"] == "app@example.org" and second["auth_user"] == "other"
    assert [e["auth_user"] for e in envelopes(md).values()] == ["app@example.org"]


def test_auth_with_a_configured_set_smtplib(fakeserver):
    srv = fakeserver("sink", "--auth-user", "alice:s3cret", "--auth-user", "bob:pw", "--quiet")
    l = srv.listener("plain")
    with smtplib.SMTP(l["host"], l["port"], timeout=10) as s:
        s.ehlo()
        assert s.mail("alice@example.org")[0] == 530  # AUTH first when users are configured
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login("alice", "wrong")
        assert e.value.smtp_code == 535
    with smtplib.SMTP(l["host"], l["port"], timeout=10) as s:
        s.user, s.password = "alice", "s3cret"
        s.ehlo()
        assert s.auth("LOGIN", s.auth_login, initial_response_ok=True)[0] == 235
        assert s.sendmail("alice@example.org", ["x@example.org"], MESSAGE) == {}


def test_auth_and_envelope_with_smtp_client(fakeserver, tmp_path):
    md = tmp_path / "Maildir"
    srv = fakeserver("sink", "--maildir", md, "--auth-user", "alice:s3cret", "--quiet")
    l = srv.listener("plain")
    base = [str(smtp_client()), "send", "--server", f"{l['host']}:{l['port']}", "--json",
            "--timeout", "10", "--from", "alice@example.org", "--to", "bob@example.org",
            "--to", "carol@example.org", "--user", "alice"]
    msg = tmp_path / "m.eml"
    msg.write_bytes(MESSAGE)
    wrong = subprocess.run(base + ["--data", str(msg)], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, SMTP_PASSWORD="wrong"))
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert json.loads(wrong.stdout)["error"]["type"] == "SMTPAuthenticationError"
    assert json.loads(wrong.stdout)["error"]["code"] == 535
    human = [a for a in base if a != "--json"]
    right = subprocess.run(human + ["--data", str(msg)], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, SMTP_PASSWORD="s3cret"))
    assert right.returncode == 0, right.stdout + right.stderr
    (name,) = [p.name for p in (md / "new").iterdir()]
    # The queue id smtp-client prints is the Maildir file's name.
    assert right.stdout.strip() == (
        f"accepted for 2 of 2 recipient(s): 250 2.0.0 Ok: queued as {name}"), right.stdout
    env = envelopes(md)[name]
    assert (env["mail_from"], env["rcpt_to"], env["auth_user"]) == (
        "alice@example.org", ["bob@example.org", "carol@example.org"], "alice")


def test_size_enforced_at_mail(fakeserver):
    srv = fakeserver("sink", "--quiet")
    l = srv.listener("plain")
    with smtplib.SMTP(l["host"], l["port"], timeout=10) as s:
        s.ehlo()
        limit = int(s.esmtp_features["size"])
        code, text = s.mail("alice@example.org", [f"SIZE={limit + 1}"])
        assert (code, text[:5]) == (552, b"5.3.4"), (code, text)
        assert s.rcpt("bob@example.org")[0] == 503  # no transaction was opened
        assert s.mail("alice@example.org", [f"SIZE={limit}"])[0] == 250
        assert s.rcpt("bob@example.org")[0] == 250
        assert s.mail("alice@example.org", ["SIZE=12x"])[0] == 501


def test_help_lists_starttls_only_when_offered(fakeserver, certs):
    plain = fakeserver("sink", "--quiet").listener("plain")
    with smtplib.SMTP(plain["host"], plain["port"], timeout=10) as s:
        text = s.help().decode()
        assert "STARTTLS" not in text and "AUTH" in text, text
    tls = fakeserver("sink", "--cert", certs["cert"], "--key", certs["key"], "--quiet")
    l = tls.listener("plain")
    with smtplib.SMTP(l["host"], l["port"], timeout=10) as s:
        assert "STARTTLS" in s.help().decode()


@pytest.mark.parametrize("last", ["LAST", "last", "Last", "lAsT"])
def test_bdat_last_in_any_case(fakeserver, tmp_path, last):
    """Issue 15: the sink took only "LAST" and "last" while the scripted session took any case;
    both now parse BDAT with the wire core's parse_bdat (RFC 3030: keywords are case-blind)."""
    md = tmp_path / "Maildir"
    srv = fakeserver("sink", "--maildir", md, "--quiet")
    l = srv.listener("plain")
    with smtplib.SMTP(l["host"], l["port"], timeout=10) as s:
        s.ehlo()
        assert s.mail("alice@example.org")[0] == 250
        assert s.rcpt("bob@example.org")[0] == 250
        s.send(f"BDAT {len(MESSAGE)} {last}\r\n".encode() + MESSAGE)
        code, text = s.getreply()
        assert code == 250, (code, text)
    (stored,) = [p.read_bytes() for p in (md / "new").iterdir()]
    assert stored == MESSAGE
