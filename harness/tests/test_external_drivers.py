"""The other clients' drivers (issue 18) and the comparison report, checked the way the matrix's
own self-test checks the matrix: a throwaway corpus (SMTPKIT_SCENARIOS_DIR) run in a separate
pytest process with --clients curl,swaks,msmtp,go-smtp,nodemailer --compare-report DIR, where
one file passes, one states a wrong outcome on purpose, one a wrong exception class (the mapped
class must not match it), one asks for a call the command-line clients cannot make (unsupported:
a skip, never a pass) and one is not for these clients (`clients:`). The report is then read back
as JSON and JUnit. The mapping rules themselves are checked in-process on recorded outputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET

import pytest

from harness import matrix
from harness.clients import PYTHON, REPO
from harness.drivers import external
from harness.drivers.external import base, curl, msmtp, swaks

CLIENTS = ("curl", "swaks", "msmtp", "go-smtp", "nodemailer")

SEND = """
S: 220 mx.example.org ESMTP
C: EHLO *
S: 250-mx.example.org
S: 250 8BITMIME
C: MAIL FROM:<alice@example.org>*
S: 250 2.1.0 Ok
C: RCPT TO:<bob@example.org>
S: 250 2.1.5 Ok
C: DATA
S: 354 go ahead
data
D: Subject: driver self-test
D:
D: one line
S: 250 2.0.0 queued
C: QUIT
S: 221 2.0.0 Bye
"""
MESSAGE = "message: Subject: driver self-test\nmessage:\nmessage: one line\n"
SENDER_REFUSED = """
S: 220 mx.example.org ESMTP
C: EHLO *
S: 250-mx.example.org
S: 250 8BITMIME
C: MAIL FROM:<spammer@example.net>*
S: 553 5.7.1 Sender address rejected
close
"""

CORPUS = {
    "good/send.scn": "description: one message accepted\nclient: sendmail alice@example.org bob@example.org\n"
                     "client: quit\n" + MESSAGE + "expect: ok reply=221\n" + SEND,
    # No `quit`: the script ends after the message and the server closes.
    "good/send-no-quit.scn": "description: one message accepted, no QUIT asked\n"
                             "client: sendmail alice@example.org bob@example.org\n" + MESSAGE
                             + "expect: ok\n" + SEND.split("C: QUIT")[0],
    "bad/wrong-expect.scn": "description: the expectation is wrong on purpose\n"
                            "client: sendmail alice@example.org bob@example.org\nclient: quit\n" + MESSAGE
                            + "expect: raises SMTPSenderRefused 553\n" + SEND,
    "refusals/sender-refused.scn": "description: MAIL refused with 553\n"
                                   "client: sendmail spammer@example.net bob@example.org\n"
                                   "expect: raises SMTPSenderRefused 553\n" + SENDER_REFUSED,
    "bad/wrong-class.scn": "description: MAIL refused, the expectation names DATA's class on purpose\n"
                           "client: sendmail spammer@example.net bob@example.org\n"
                           "expect: raises SMTPDataError\n" + SENDER_REFUSED,
    "calls/noop.scn": "description: NOOP, which only a library can send\nclient: noop\nclient: quit\n"
                      "expect: ok reply=221\n\nS: 220 mx.example.org ESMTP\nC: EHLO *\nS: 250 mx\n"
                      "C: NOOP\nS: 250 Ok\nC: QUIT\nS: 221 Bye\n",
    "calls/cpp-only.scn": "description: not for the other clients\nclients: cpp\n"
                          "note-clients: only our client runs this\nclient: quit\nexpect: ok reply=221\n"
                          "\nS: 220 mx.example.org ESMTP\nC: QUIT\nS: 221 Bye\n",
}

# The verdict each client must get on each file (plain transport).
WANT = {
    # Nodemailer ends the connection without QUIT: the script's `C: QUIT` is not met.
    "good/send.scn": {**dict.fromkeys(CLIENTS, "pass"), "nodemailer": "diverged"},
    # swaks exits 6 when the server closes before its QUIT is answered, message queued or not.
    "good/send-no-quit.scn": {**dict.fromkeys(CLIENTS, "pass"), "swaks": "fail"},
    "bad/wrong-expect.scn": dict.fromkeys(CLIENTS, "fail"),
    "refusals/sender-refused.scn": dict.fromkeys(CLIENTS, "pass"),
    "bad/wrong-class.scn": dict.fromkeys(CLIENTS, "fail"),
    "calls/noop.scn": {**dict.fromkeys(CLIENTS, "unsupported"), "go-smtp": "pass"},
    "calls/cpp-only.scn": dict.fromkeys(CLIENTS, "not-run"),
}


def _available() -> list[str]:
    return [c for c in CLIENTS if external.get(c).missing_reason() is None]


@pytest.fixture(scope="module")
def drivers_run(tmp_path_factory):
    reason = matrix.missing_reason()
    if reason:
        pytest.skip(reason)
    corpus = tmp_path_factory.mktemp("corpus")
    for name, text in CORPUS.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text)
    report = tmp_path_factory.mktemp("report")
    env = dict(os.environ, SMTPKIT_SCENARIOS_DIR=str(corpus),
               SMTPKIT_BUILD_DIR=str(matrix.build_dir()))
    proc = subprocess.run(
        [PYTHON, "-m", "pytest", "-p", "harness.plugin", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-q", "--job-summary", "--clients", ",".join(CLIENTS), "--compare-report", str(report),
         "harness/tests/test_matrix.py"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    return proc, report


def test_every_driver_gets_the_verdict_the_corpus_predicts(drivers_run):
    proc, report = drivers_run
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the wrong expectations fail
    data = json.loads((report / "report.json").read_text())
    got = {(r["file"], r["client"]): r["verdict"] for r in data["runs"]}
    available = _available()
    assert available, "no other client installed: ./ci/install-deps.sh"
    for file, per_client in WANT.items():
        for client, verdict in per_client.items():
            want = verdict if client in available else "not-run"
            assert got.get((file, client)) == want, (file, client, got.get((file, client)), proc.stdout[-5000:])
    # A skip is never counted as a pass: the unsupported runs say which call and why.
    noop = {r["client"]: r for r in data["runs"] if r["file"] == "calls/noop.scn"}
    for client in set(available) - {"go-smtp"}:
        assert "`noop`" in noop[client]["reason"], noop[client]


def test_failures_show_the_mapping_transcript_and_client_output(drivers_run):
    proc, report = drivers_run
    out = proc.stdout
    data = json.loads((report / "report.json").read_text())
    runs = {(r["file"], r["client"]): r for r in data["runs"]}
    if "curl" in _available():
        r = runs[("bad/wrong-class.scn", "curl")]
        # curl says only "exit 55": the class comes from the table plus the command refused.
        assert r["mapped"].startswith("curl exit 55"), r
        assert "SMTPSenderRefused" in r["actual"] and "553" in r["actual"]
        assert "(class mapped from curl exit 55" in out
        assert "MAIL FROM:<spammer@example.net>" in r["session"]  # the server's transcript
        assert "curl: (55)" in r["output"]                          # the client's own words
    for client in _available():
        r = runs[("bad/wrong-expect.scn", client)]
        assert r["expected"] == "raises SMTPSenderRefused 553" and r["actual"].startswith("ok"), r
        assert "S: 250 2.0.0 queued" in r["session"] or "250 2.0.0 queued" in r["session"], r


def test_report_json_and_junit_count_what_ran(drivers_run):
    _, report = drivers_run
    data = json.loads((report / "report.json").read_text())
    assert data["clients"] == list(CLIENTS)
    for client in _available():
        counts = data["totals"][client]["all"]
        want = [v[client] for v in WANT.values()]
        for verdict in base_verdicts():
            assert counts[verdict] == want.count(verdict), (client, counts)
        assert data["totals"][client]["bad"]["fail"] == 2
    suites = {s.get("name"): s for s in ET.parse(report / "report-junit.xml").getroot()}
    assert set(suites) == set(CLIENTS)
    curl_suite = suites["curl"]
    if "curl" in _available():
        assert curl_suite.get("tests") == "7" and curl_suite.get("failures") == "2"
        assert curl_suite.get("skipped") == "2"
        failed = [c.get("name") for c in curl_suite if c.find("failure") is not None]
        assert sorted(failed) == ["bad/wrong-class.scn-plain", "bad/wrong-expect.scn-plain"]


def base_verdicts():
    from harness import compare
    return compare.VERDICTS


# -- the mapping rules on recorded outputs ----------------------------------------------------------

def _transcript(*events: tuple[str, str]) -> base.Transcript:
    t = base.Transcript()
    for d, line in events:
        t.add(d, line)
    return t


PLAN = base.Plan("smtp", "plain", False, None, False, "a@example.org", ["b@example.org"], b"",
                 10.0, None, True)


def test_transcript_reads_stages_refusals_and_multiline_replies():
    t = _transcript(("<", "220 mx"), (">", "EHLO x"), ("<", "250-mx"), ("<", "250 SIZE"),
                    (">", "MAIL FROM:<a@example.org>"), ("<", "250 ok"),
                    (">", "RCPT TO:<b@example.org>"), ("<", "250 ok"),
                    (">", "RCPT TO:<c@example.org>"), ("<", "550 5.1.1 no such user"),
                    (">", "DATA"), ("<", "354 go"), (">", "Subject: x"), (">", "."),
                    ("<", "250 queued"), (">", "QUIT"), ("<", "221 bye"))
    assert [s for s, _, _ in t.replies()] == ["greeting", "helo", "mail", "rcpt:b@example.org",
                                              "rcpt:c@example.org", "data", "body", "quit"]
    assert t.replies()[1] == ("helo", 250, "mx\nSIZE")
    assert t.refused() == {"c@example.org": [550, "5.1.1 no such user"]}
    assert t.last_reply() == ("quit", 221, "bye")


def test_curl_exit_codes_map_by_table_and_stage():
    mail = _transcript(("<", "220 mx"), (">", "EHLO x"), ("<", "250 mx"),
                       (">", "MAIL FROM:<a@example.org>"), ("<", "553 5.7.1 no"))
    run = base.ExternalRun({}, exit_code=55, stderr="curl: (55) MAIL failed: 553")
    o = curl.outcome(run, mail, PLAN)
    assert o["error"]["type"] == "SMTPSenderRefused" and o["error"]["code"] == 553
    assert "SMTPResponseException" in o["error"]["types"]
    assert o["error"]["mapped"].startswith("curl exit 55")
    data = _transcript(("<", "220 mx"), (">", "DATA"), ("<", "354 go"), (">", "."),
                       ("<", "554 5.6.0 spam"))
    o = curl.outcome(base.ExternalRun({}, exit_code=8, stderr="curl: (8) ..."), data, PLAN)
    assert (o["error"]["type"], o["error"]["code"]) == ("SMTPDataError", 554)
    # No refusing reply: a disconnect, whatever the exit status said.
    closed = _transcript(("<", "220 mx"), (">", "EHLO x"), ("<", "250 mx"), (">", "MAIL FROM:<a@example.org>"))
    o = curl.outcome(base.ExternalRun({}, exit_code=56, stderr="curl: (56) Recv failure"), closed, PLAN)
    assert o["error"]["type"] == "SMTPServerDisconnected"
    o = curl.outcome(base.ExternalRun({}, exit_code=60, stderr="curl: (60) SSL certificate problem"),
                     closed, PLAN)
    assert o["error"]["type"] == "SSLCertVerificationError" and "SSLError" in o["error"]["types"]
    # Gave up waiting: our client's SMTPTimeoutError, which the corpus expects as a disconnect.
    o = curl.outcome(base.ExternalRun({}, exit_code=28, stderr="curl: (28) Operation timed out"), closed, PLAN)
    assert o["error"]["type"] == "SMTPTimeoutError"
    assert {"TimeoutError", "SMTPServerDisconnected", "SMTPException"} <= set(o["error"]["types"])
    # An exit status the table does not know matches no expected class (not even SMTPException).
    o = curl.outcome(base.ExternalRun({}, exit_code=3, stderr="curl: (3) bad URL"), closed, PLAN)
    assert o["error"]["type"] == base.UNMAPPED and "SMTPException" not in o["error"]["types"]


def test_swaks_and_msmtp_exit_codes_map_by_table():
    rcpt = _transcript(("<", "220 mx"), (">", "RCPT TO:<b@example.org>"), ("<", "550 no"))
    o = swaks.outcome(base.ExternalRun({}, exit_code=24, stdout="*** No recipients"), rcpt, PLAN)
    assert o["error"]["type"] == "SMTPRecipientsRefused" and o["error"]["code"] is None
    auth = _transcript(("<", "220 mx"), (">", "AUTH PLAIN x"), ("<", "535 5.7.8 bad"))
    o = swaks.outcome(base.ExternalRun({}, exit_code=28, stdout="*** Auth failed"), auth, PLAN)
    assert (o["error"]["type"], o["error"]["code"]) == ("SMTPAuthenticationError", 535)
    o = msmtp.outcome(base.ExternalRun({}, exit_code=77, stderr="msmtp: authentication failed"), auth, PLAN)
    assert (o["error"]["type"], o["error"]["code"]) == ("SMTPAuthenticationError", 535)
    # msmtp's words say more than its exit status: STARTTLS missing, or answered with a non-220.
    o = msmtp.outcome(base.ExternalRun({}, exit_code=69, stderr="msmtp: the server does not support "
                                       "TLS via the STARTTLS command"), base.Transcript(), PLAN)
    assert o["error"]["type"] == "SMTPNotSupportedError"
    starttls = _transcript(("<", "220 mx"), (">", "EHLO x"), ("<", "250 STARTTLS"), (">", "STARTTLS"),
                           ("<", "250 2.0.0 Ok"))
    o = msmtp.outcome(base.ExternalRun({}, exit_code=76, stderr="msmtp: command STARTTLS failed"), starttls, PLAN)
    assert (o["error"]["type"], o["error"]["code"]) == ("SMTPResponseException", 250)
    # A 220 with an injected reply behind it: msmtp refuses to start TLS (no code to report).
    injected = _transcript(("<", "220 mx"), (">", "EHLO x"), ("<", "250 STARTTLS"), (">", "STARTTLS"),
                           ("<", "220 go ahead"), ("<", "250 injected"))
    o = msmtp.outcome(base.ExternalRun({}, exit_code=76, stderr="msmtp: command STARTTLS failed"), injected, PLAN)
    assert (o["error"]["type"], o["error"]["code"]) == ("SMTPResponseException", None)
    mail = _transcript(("<", "220 mx"), (">", "MAIL FROM:<a@example.org>"), ("<", "451 4.3.0 later"))
    o = msmtp.outcome(base.ExternalRun({}, exit_code=75, stderr="msmtp: envelope from address a not accepted"), mail, PLAN)
    assert (o["error"]["type"], o["error"]["code"]) == ("SMTPSenderRefused", 451)


def test_lmtp_replies_after_the_dot_refuse_recipients_in_rcpt_order():
    t = _transcript(("<", "220 lmtp"), (">", "LHLO x"), ("<", "250 lmtp"),
                    (">", "MAIL FROM:<a@example.org>"), ("<", "250 ok"),
                    (">", "RCPT TO:<b@example.org>"), ("<", "250 ok"),
                    (">", "RCPT TO:<x@example.org>"), ("<", "550 no such user"),
                    (">", "RCPT TO:<c@example.org>"), ("<", "250 ok"),
                    (">", "DATA"), ("<", "354 go"), (">", "."),
                    ("<", "250 delivered to b"), ("<", "452 c over quota"))
    assert t.refused(lmtp=True) == {"x@example.org": [550, "no such user"],
                                    "c@example.org": [452, "c over quota"]}
    assert t.refused() == {"x@example.org": [550, "no such user"]}  # SMTP: one reply after the dot


def test_pipelined_group_is_matched_reply_by_reply():
    # msmtp and Nodemailer pipeline MAIL, RCPT... DATA when PIPELINING is offered.
    t = _transcript(("<", "220 mx"), (">", "EHLO x"), ("<", "250 PIPELINING"),
                    (">", "MAIL FROM:<a@example.org>"), (">", "RCPT TO:<b@example.org>"),
                    (">", "RCPT TO:<c@example.org>"), (">", "DATA"),
                    ("<", "250 ok"), ("<", "550 no b"), ("<", "250 ok"), ("<", "354 go"))
    assert [s for s, _, _ in t.replies()] == ["greeting", "helo", "mail", "rcpt:b@example.org",
                                              "rcpt:c@example.org", "data"]
    assert t.refused() == {"b@example.org": [550, "no b"]}


def test_plan_accepts_one_message_sessions_and_names_the_call_it_cannot_make():
    def scenario(*calls, **options):
        return {"protocol": "smtp", "client": {"options": options, "message": "x",
                "calls": [{"name": c.split()[0], "args": c.split()[1:], "kwargs": {}, "text": c} for c in calls]}}
    p = base.plan(scenario("ehlo", "starttls", "login u p", "sendmail a@x b@x,c@x", "quit"), "plain")
    assert isinstance(p, base.Plan)
    assert (p.starttls, p.login, p.sender, p.recipients, p.quit) == (True, ("u", "p"), "a@x", ["b@x", "c@x"], True)
    assert not p.ehlo_after_tls
    assert base.plan(scenario("ehlo", "quit"), "starttls").ehlo_after_tls  # EHLO again over TLS
    assert "`noop`" in base.plan(scenario("noop", "quit"), "plain")
    assert "after the end of the session" in base.plan(scenario("quit", "noop"), "plain")
    assert "`sendmail a@x c@x`" in base.plan(scenario("sendmail a@x b@x", "sendmail a@x c@x"), "plain")
    _, reason = external.get("curl").unsupported(scenario("starttls", "quit"), "plain")
    assert reason == "curl always sends a message; the section has no `sendmail`"
    _, reason = external.get("curl").unsupported({**scenario("sendmail a@x b@x"), "protocol": "lmtp"}, "unix")
    assert reason == "curl does not speak LMTP"


# -- a missing toolchain skips the driver with the reason -----------------------------------------

def test_go_and_npm_missing_or_failing_give_a_reason_not_an_error(tmp_path, monkeypatch):
    from harness.drivers.external import go_smtp, nodemailer
    monkeypatch.setenv("SMTPKIT_DRIVER_CACHE", str(tmp_path / "cache"))
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert go_smtp.build() == "go is not installed (Debian package golang-go; ./ci/install-deps.sh)"
    assert nodemailer.install() == "node is not installed (Debian package nodejs; ./ci/install-deps.sh)"
    assert base.which("msmtp", "msmtp") == "msmtp is not installed (Debian package msmtp; ./ci/install-deps.sh)"


def test_npm_without_a_registry_gives_a_reason(tmp_path, monkeypatch):
    import shutil
    from harness.drivers.external import nodemailer
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm / node not installed")
    monkeypatch.setenv("SMTPKIT_DRIVER_CACHE", str(tmp_path / "cache"))
    # Nothing listens on port 9 of loopback: the install fails at once, as without a registry.
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    monkeypatch.setenv("npm_config_offline", "false")
    reason = nodemailer.install()
    assert reason is not None and reason.startswith("npm ci for Nodemailer failed"), reason


def test_a_node_older_than_nodemailer_needs_gives_a_reason(tmp_path, monkeypatch):
    import shutil
    from harness.drivers.external import nodemailer
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm / node not installed")
    monkeypatch.setenv("SMTPKIT_DRIVER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(nodemailer, "node_major", lambda: 18)  # Debian 12's nodejs
    assert nodemailer.node_needed() == 20
    assert nodemailer.install() == ("node v18 is too old for the pinned Nodemailer (it needs node >= 20; "
                                    "harness/drivers/nodemailer/package-lock.json)")
