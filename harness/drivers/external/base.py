"""The driver contract for clients that are not ours (issue 18): how a scenario's client section
becomes one run of another SMTP client, and how what that client says becomes the matrix's
outcome. harness/README.md ("Other clients: the driver contract") is the prose version.

A driver is a `Driver` subclass, registered in harness/drivers/external/__init__.py:

- `name`, `package` (where it comes from), `mapping` (how its errors become classes: "exit code"
  for the command-line tools, "error object" for the libraries);
- `missing_reason()`: None when the client can run here, else why not (the runs skip with it);
- `version()`: one line for the report header and the comparison report;
- `transports` and `lmtp`: what it can connect over;
- `shapes`: which call sequences it can make (see `plan()`);
- `run(scenario, listener, certs) -> ExternalRun`: one run, never raising for the client's own
  failures: the outcome is `{"ok": True, "reply": [code, text] | None, "refused": {...}}`,
  `{"ok": False, "error": {"type", "types", "code", "message", "mapped"}}` or
  `{"unsupported": reason}` (the run is a skip with that reason, never a pass).

Most of these clients send one message and stop; `plan()` reads a client section into that
shape or says why it cannot. An error's class comes from a per-driver table (exit status, or the
library's error kind) refined by the stage the client failed at, which `Transcript` reads from
the client's own protocol log; `mapped` says which rule gave the class so the comparison shows it.
"""

from __future__ import annotations

import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

# A run without `option: timeout=` still ends (the smtplib and C++ drivers use the same value).
DEFAULT_TIMEOUT = 10.0
# A client process that takes longer than this is stuck: the run fails instead of hanging.
PROCESS_DEADLINE = 60.0

# The seed's exception vocabulary (scenarios/FORMAT.md, "Outcomes"), with the class hierarchy
# smtplib gives them, so an expected base class matches as it does for the other drivers.
_CLASSES: dict[str, type] = {c.__name__: c for c in (
    smtplib.SMTPException, smtplib.SMTPNotSupportedError, smtplib.SMTPServerDisconnected,
    smtplib.SMTPResponseException, smtplib.SMTPSenderRefused, smtplib.SMTPRecipientsRefused,
    smtplib.SMTPDataError, smtplib.SMTPConnectError, smtplib.SMTPHeloError,
    smtplib.SMTPAuthenticationError, TimeoutError, OSError, ConnectionError,
    ConnectionRefusedError, ConnectionResetError, ssl.SSLError, ssl.SSLCertVerificationError,
    socket.timeout)}
# A failure the driver has no rule for: a class nothing in the corpus expects, so it never passes.
UNMAPPED = "ClientFailed"


# A client that gave up waiting and closed: our client's SMTPTimeoutError (client/README.md: a
# SMTPServerDisconnected, and the OS-level TimeoutError of the vocabulary, as
# smtp-scenario-client lists it), so the corpus's expectations read the same for every client.
_OURS = {"SMTPTimeoutError": ["SMTPTimeoutError", "TimeoutError", "SMTPServerDisconnected",
                              "SMTPException", "OSError"]}


def class_types(name: str) -> list[str]:
    """The class and its bases, as the matrix compares them (`types`)."""
    if name in _OURS:
        return list(_OURS[name])
    cls = _CLASSES.get(name)
    if cls is None:
        return [name]
    return [c.__name__ for c in cls.__mro__ if c not in (object, BaseException, Exception)]


def error_outcome(cls: str, code: int | None, message: str, mapped: str) -> dict:
    return {"ok": False, "error": {"type": cls, "types": class_types(cls), "code": code,
                                   "message": message[-500:], "mapped": mapped}}


# -- what a one-message client is asked to do -------------------------------------------------

@dataclass
class Plan:
    """A client section read as "connect, [EHLO], [STARTTLS], [AUTH], [one message], QUIT"."""
    protocol: str            # smtp | lmtp
    transport: str           # plain | starttls | tls | unix
    starttls: bool           # STARTTLS (the transport, or a `starttls` call)
    login: tuple[str, str] | None
    oauth2: bool             # the login is `login_oauth2` (XOAUTH2)
    sender: str | None       # None: no message (the session ends after EHLO/STARTTLS/AUTH)
    recipients: list[str]
    message: bytes
    timeout: float
    local_hostname: str | None
    quit: bool               # the section ends with `quit` (its reply is the outcome's `reply`)
    calls: list[dict] = field(default_factory=list)
    ehlo_after_tls: bool = False  # the section asks for EHLO again once TLS is up


# Calls a one-message client makes on its own anyway (EHLO before anything, QUIT at the end).
_IMPLICIT = {"ehlo", "ehlo_or_helo_if_needed"}


def plan(scenario: dict, transport: str) -> Plan | str:
    """The client section as a Plan, or why a client that sends one message cannot make it.

    Accepted: [ehlo|ehlo_or_helo_if_needed] [starttls] [ehlo] [login|login_oauth2]
    [sendmail FROM TO,...] [quit|close]. Everything else (noop, rset, verify, mail, rcpt, data,
    docmd, help, sendmail_many, a second message, mail/rcpt options) is unsupported, with the call
    named in the reason."""
    section = scenario["client"]
    options = section["options"]
    calls = section["calls"]
    starttls = transport == "starttls"
    login = None
    oauth2 = False
    sender = None
    recipients: list[str] = []
    quit = False
    ehlo_after_tls = False
    stage = 0  # 0 before starttls, 1 after it, 2 after login, 3 after the message, 4 ended
    for i, call in enumerate(calls):
        name, args, kw = call["name"], call["args"], call["kwargs"]
        where = f"call {i + 1} `{call.get('text') or name}`"
        if stage == 4:
            return f"{where} after the end of the session: this client makes one session and stops"
        if name in _IMPLICIT:
            if args and args[0] != options.get("local_hostname"):
                if stage > 0 or options.get("local_hostname"):
                    return f"{where}: a second EHLO name"
                options = {**options, "local_hostname": args[0]}
            if stage > 1:
                return f"{where}: EHLO after AUTH or a message (this client sends EHLO only at the start and after STARTTLS)"
            ehlo_after_tls = ehlo_after_tls or starttls
            continue
        if name == "starttls" and stage == 0 and not starttls:
            starttls, stage = True, 1
            continue
        if name in ("login", "login_oauth2") and stage < 2 and len(args) >= 2 and not kw:
            login, oauth2, stage = (args[0], args[1]), name == "login_oauth2", 2
            continue
        if name == "sendmail" and stage < 3:
            if kw:
                return f"{where}: mail/rcpt options ({', '.join(sorted(kw))}) are not passed by this client's driver"
            sender = args[0]
            recipients = [a for a in args[1].split(",") if a]
            stage = 3
            continue
        if name in ("quit", "close"):
            quit = name == "quit"
            stage = 4
            continue
        return f"{where}: this client only connects, [STARTTLS], [AUTH], sends one message and quits (no `{name}` call)"
    if "timeout" in options:
        timeout = float(options["timeout"])
    else:
        timeout = DEFAULT_TIMEOUT
    message = (section.get("message") or "").encode("utf-8", "surrogateescape")
    return Plan(scenario["protocol"], transport, starttls, login, oauth2, sender, recipients,
                message, timeout, options.get("local_hostname"), quit, calls, ehlo_after_tls)


# -- reading a client's own protocol log --------------------------------------------------------

_STAGES = (("EHLO", "helo"), ("HELO", "helo"), ("LHLO", "helo"), ("STARTTLS", "starttls"),
           ("AUTH", "auth"), ("MAIL", "mail"), ("RCPT", "rcpt"), ("DATA", "data"),
           ("QUIT", "quit"), ("RSET", "rset"))


@dataclass
class Transcript:
    """The client's view of the session as its verbose output shows it: (">", command) and
    ("<", reply line) events. `stage` is what the last reply answered; `refused` the RCPTs that got
    a 4xx/5xx; `last_reply` the last complete reply."""
    events: list[tuple[str, str]] = field(default_factory=list)

    def add(self, direction: str, line: str) -> None:
        self.events.append((direction, line.rstrip("\r\n")))

    def replies(self) -> list[tuple[str, int, str]]:
        """(stage, code, text) of every complete reply, the stage being the command it answered
        ("greeting" before any command, "body" for the reply after the message, "rcpt:ADDR" for a
        RCPT). Commands wait in order for their replies, so a pipelined group (MAIL, RCPT, DATA
        sent together) is matched one reply per command. Lines the client sends after DATA's 354
        up to "." are the message, not commands; a log without the "." (curl's) is read the
        same way: a reply after 354 with no command waiting answers the message."""
        out: list[tuple[str, int, str]] = []
        pending: list[str] = []
        in_body = False
        text: list[str] = []
        for direction, line in self.events:
            if direction == ">":
                if in_body:
                    if line == ".":
                        in_body = False
                        pending.append("body")
                    continue
                verb = line.split(" ", 1)[0].split(":", 1)[0].upper()
                stage = next((s for v, s in _STAGES if verb == v), "other")
                if stage == "rcpt":
                    stage = "rcpt:" + _address(line)
                pending.append(stage)
                continue
            m = re.match(r"^(\d{3})([ -]?)(.*)$", line)
            if not m:
                continue
            text.append(m.group(3))
            if m.group(2) == "-":
                continue
            code = int(m.group(1))
            if pending:
                stage = pending.pop(0)
            elif not out:
                stage = "greeting"
            elif out[-1][0] in ("data", "body") and (out[-1][1] == 354 or out[-1][0] == "body"):
                stage = "body"  # the message's reply (LMTP: one per recipient)
                in_body = False
            else:
                stage = "other"
            if stage == "data" and code == 354:
                in_body = True
            out.append((stage, code, "\n".join(text)))
            text = []
        return out

    def refused(self, lmtp: bool = False) -> dict[str, list]:
        """The recipients refused at RCPT; with `lmtp`, also those refused after the dot (LMTP
        answers the message once per accepted recipient, in RCPT order; RFC 2033 section 4.2)."""
        replies = self.replies()
        out = {s.split(":", 1)[1]: [code, text] for s, code, text in replies
               if s.startswith("rcpt:") and code >= 400}
        if lmtp:
            accepted = [s.split(":", 1)[1] for s, code, _ in replies if s.startswith("rcpt:") and code < 400]
            after_dot = [(code, text) for s, code, text in replies if s == "body"]
            for rcpt, (code, text) in zip(accepted, after_dot):
                if code >= 400:
                    out[rcpt] = [code, text]
        return out

    def last_reply(self) -> tuple[str, int, str] | None:
        r = self.replies()
        return r[-1] if r else None

    def commands(self) -> list[str]:
        return [line for d, line in self.events if d == ">"]

    def render(self) -> list[str]:
        return [f"{d} {line}" for d, line in self.events]


def _address(rcpt_line: str) -> str:
    m = re.search(r"<([^>]*)>", rcpt_line)
    return m.group(1) if m else rcpt_line.split(":", 1)[-1].strip()


# Which class a refusal raises in smtplib, by the command the reply answered.
STAGE_CLASS = {
    "greeting": "SMTPConnectError",
    "helo": "SMTPHeloError",
    "starttls": "SMTPResponseException",
    "auth": "SMTPAuthenticationError",
    "mail": "SMTPSenderRefused",
    "rcpt": "SMTPRecipientsRefused",
    "data": "SMTPDataError",
    "body": "SMTPDataError",
    "quit": "SMTPResponseException",
    "rset": "SMTPResponseException",
    "other": "SMTPResponseException",
}


def refusal_outcome(transcript: Transcript, message: str, mapped: str) -> dict:
    """The client stopped on a refusal: the class by the command the last refusing reply answered
    (the table above), the code from that reply. Without a 4xx/5xx reply it was a disconnect."""
    replies = transcript.replies()
    # The last refusing reply: after LMTP's per-recipient replies a 2xx may come after it.
    last = next((r for r in reversed(replies) if r[1] >= 400), None)
    if last is None:
        return error_outcome("SMTPServerDisconnected", None, message,
                             mapped + "; no refusing reply in its log: SMTPServerDisconnected")
    stage = last[0].split(":", 1)[0]
    cls = STAGE_CLASS.get(stage, "SMTPResponseException")
    if stage == "rcpt":
        # smtplib raises SMTPRecipientsRefused (no code) only when every recipient was refused.
        return error_outcome(cls, None, message, mapped + f"; last reply {last[1]} answered RCPT")
    return error_outcome(cls, last[1], message, mapped + f"; last reply {last[1]} answered {stage}")


# -- running a process --------------------------------------------------------------------------

@dataclass
class ExternalRun:
    """One run: the outcome in the matrix's shape plus everything the report shows."""
    outcome: dict
    local: str | None = None          # the client's address, when known (TCP)
    trace: list[str] = field(default_factory=list)
    argv: list[str] = field(default_factory=list)
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0

    def output(self) -> str:
        """What the client printed, for the report's cell."""
        parts = [f"$ {' '.join(self.argv)}" if self.argv else "",
                 f"exit {self.exit_code}" if self.exit_code is not None else ""]
        if self.stdout:
            parts.append("stdout:\n" + self.stdout[-8000:])
        if self.stderr:
            parts.append("stderr:\n" + self.stderr[-8000:])
        return "\n".join(p for p in parts if p)


def run_process(argv: list[str], *, stdin: bytes = b"", env: dict | None = None,
                deadline: float = PROCESS_DEADLINE, cwd: Path | None = None) -> ExternalRun:
    started = time.monotonic()
    try:
        proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=deadline,
                              env=env, cwd=cwd)
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = None, exc.stdout or b"", (exc.stderr or b"") + \
            f"\n(harness: killed after {deadline:.0f}s)".encode()
    return ExternalRun({}, argv=list(argv), exit_code=code,
                       stdout=out.decode("utf-8", "replace"),
                       stderr=err.decode("utf-8", "replace"),
                       seconds=time.monotonic() - started)


# -- the contract ------------------------------------------------------------------------------

class Driver:
    name = ""
    package = ""          # where the client comes from (a Debian package, npm, Go's stdlib)
    mapping = "exit code"  # how errors become classes: "exit code" (coarse) or "error object"
    transports = ("plain", "starttls", "tls", "unix")
    lmtp = False
    # Whether the client can end a session without sending a message (after EHLO / STARTTLS /
    # AUTH); when False, sections without `sendmail` are unsupported.
    handshake_only = False

    def missing_reason(self) -> str | None:
        raise NotImplementedError

    def version(self) -> str:
        return "unknown"

    def unsupported(self, scenario: dict, transport: str) -> tuple[Plan | None, str | None]:
        """(plan, None) when this client can make the run, else (None, reason)."""
        if transport not in self.transports:
            return None, f"{self.name} cannot connect over {transport}"
        if scenario["protocol"] == "lmtp" and not self.lmtp:
            return None, f"{self.name} does not speak LMTP"
        p = plan(scenario, transport)
        if isinstance(p, str):
            return None, f"{self.name}: {p}"
        if p.sender is None and not self.handshake_only:
            return None, f"{self.name} always sends a message; the section has no `sendmail`"
        if p.oauth2 and not self.supports_oauth2():
            return None, f"{self.name} has no XOAUTH2 from the command line"
        return p, None

    def supports_oauth2(self) -> bool:
        return False

    def run(self, scenario: dict, listener: dict, cafile: Path, workdir: Path) -> ExternalRun:
        p, reason = self.unsupported(scenario, listener["transport"])
        if p is None:
            return ExternalRun({"unsupported": reason})
        return self.run_plan(p, listener, cafile, workdir)

    def run_plan(self, p: Plan, listener: dict, cafile: Path, workdir: Path) -> ExternalRun:
        raise NotImplementedError


def which(program: str, package: str) -> str | None:
    """None when `program` is on PATH, else the reason a run skips."""
    if shutil.which(program):
        return None
    return f"{program} is not installed (Debian package {package}; ./ci/install-deps.sh)"


def first_line(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (proc.stdout or proc.stderr).decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else "unknown"


def cache_dir() -> Path:
    """Where drivers that need building (Go) or installing (npm) keep their artefacts:
    $SMTPKIT_DRIVER_CACHE, else ~/.cache/smtpkit/drivers. Never committed."""
    env = os.environ.get("SMTPKIT_DRIVER_CACHE")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME")
                                      or Path.home() / ".cache") / "smtpkit" / "drivers"
    base.mkdir(parents=True, exist_ok=True)
    return base
