"""The reference driver for the matrix: a scenario's client section executed with Python's
smtplib, in the pytest worker itself (no process per run). It reads the client section from the
one parser's JSON (`smtp-fakeserver dump --lines`) and returns the same outcome shape as the C++
driver (`smtp-scenario-client`):

    {"ok": True, "reply": [code, text] | None, "refused": {addr: [code, text]}}
    {"ok": False, "error": {"type", "types", "code", "message"}}

"types" is the exception's class and its bases (the MRO), so an expected base class matches.
"""

from __future__ import annotations

import email
import smtplib
import socket
import ssl

# A run with no `option: timeout=` still ends (the C++ driver uses the same value).
DEFAULT_TIMEOUT = 10.0


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


class _Traced:
    """Mixin: debug output (set_debuglevel(2)) goes into a list, and the client's own address is
    remembered as soon as the socket exists (before a refused greeting closes it)."""

    trace: list[str]
    local: str | None

    def _print_debug(self, *args):  # smtplib's hook for its debug lines
        self.trace.append(" ".join(_text(a) for a in args))

    def _remember(self, sock):
        try:
            name = sock.getsockname()
        except OSError:
            return sock
        if isinstance(name, tuple):
            host = f"[{name[0]}]" if ":" in name[0] else name[0]
            self.local = f"{host}:{name[1]}"
        return sock


class TracedSMTP(_Traced, smtplib.SMTP):
    def _get_socket(self, host, port, timeout):
        return self._remember(super()._get_socket(host, port, timeout))


class TracedSMTPSSL(_Traced, smtplib.SMTP_SSL):
    def _get_socket(self, host, port, timeout):
        return self._remember(super()._get_socket(host, port, timeout))


class TracedLMTP(_Traced, smtplib.LMTP):
    def _get_socket(self, host, port, timeout):
        return self._remember(super()._get_socket(host, port, timeout))


class TracedUnixSMTP(_Traced, smtplib.SMTP):
    """smtplib.SMTP over a Unix socket (smtplib has that only for LMTP)."""

    def _get_socket(self, host, port, timeout):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(host)
        except OSError:
            s.close()
            raise
        return s


def _types(exc: BaseException) -> list[str]:
    return [cls.__name__ for cls in type(exc).__mro__ if cls not in (object, BaseException)]


def _reply(r) -> list | None:
    if isinstance(r, tuple) and len(r) == 2 and isinstance(r[0], int):
        return [r[0], _text(r[1])]
    return None


def _list(kwargs: dict, key: str) -> list[str]:
    value = kwargs.get(key)
    return [v for v in value.split(",") if v] if value else []


class Run:
    """One execution: `outcome`, `local` (client address for TCP), `trace` (debug lines)."""

    def __init__(self) -> None:
        self.outcome: dict = {}
        self.local: str | None = None
        self.trace: list[str] = []


def run(scenario: dict, listener: dict, context: ssl.SSLContext | None) -> Run:
    """Connects as the listener's transport says, makes the client section's calls in order."""
    section = scenario["client"]
    options = section["options"]
    timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
    kwargs: dict = {"timeout": timeout}
    if "local_hostname" in options:
        kwargs["local_hostname"] = options["local_hostname"]
    message = section["message"] or ""
    transport = listener["transport"]
    lmtp = scenario["protocol"] == "lmtp"
    result = Run()
    smtp = None
    last = None
    refused: dict = {}

    if transport == "unix":
        cls = TracedLMTP if lmtp else TracedUnixSMTP
        address = (listener["path"], 0)
    elif transport == "tls":
        cls = TracedSMTPSSL
        kwargs["context"] = context
        address = (listener["host"], listener["port"])
    else:
        cls = TracedLMTP if lmtp else TracedSMTP
        address = (listener["host"], listener["port"])
    try:
        smtp = cls(**kwargs)  # unconnected: the trace and the local address are ours first
        smtp.trace = result.trace
        smtp.local = None
        smtp.set_debuglevel(2)
        smtp._host = address[0]  # what SMTP(host) sets: the name TLS verifies and sends as SNI
        try:
            code, msg = smtp.connect(*address)
        finally:
            result.local = smtp.local
        if code != 220:  # what SMTP(host, port) does in its constructor
            smtp.close()
            raise smtplib.SMTPConnectError(code, msg)
        if transport == "starttls":
            smtp.starttls(context=context)
        for call in section["calls"]:
            name, args, kw = call["name"], call["args"], call["kwargs"]
            r = None
            if name == "sendmail":
                got = smtp.sendmail(args[0], [a for a in args[1].split(",") if a], message,
                                    _list(kw, "mail_options"), _list(kw, "rcpt_options"))
                refused = {addr: [c, _text(t)] for addr, (c, t) in got.items()}
            elif name == "send_message":
                msg = email.message_from_string(message)
                to = _list(kw, "to_addrs") or None
                got = smtp.send_message(msg, kw.get("from_addr"), to,
                                        _list(kw, "mail_options"), _list(kw, "rcpt_options"))
                refused = {addr: [c, _text(t)] for addr, (c, t) in got.items()}
            elif name == "starttls":
                r = smtp.starttls(context=context)
            elif name == "data":
                r = smtp.data(message)
            elif name in ("mail", "rcpt"):
                r = getattr(smtp, name)(args[0], _list(kw, "options"))
            elif name == "login":
                extra = {}
                if "initial_response_ok" in kw:
                    extra["initial_response_ok"] = kw["initial_response_ok"].lower() in (
                        "1", "true", "yes")
                r = smtp.login(args[0], args[1], **extra)
            elif name == "login_oauth2":
                # smtplib has no XOAUTH2 helper: auth() with a callback. It gives the SASL string
                # as the initial response and an empty line to any challenge (the server's error
                # JSON), which is what XOAUTH2 asks a client to answer.
                extra = {}
                if "initial_response_ok" in kw:
                    extra["initial_response_ok"] = kw["initial_response_ok"].lower() in (
                        "1", "true", "yes")
                user, token = args[0], args[1]
                r = smtp.auth("XOAUTH2", lambda challenge=None: (
                    f"user={user}\x01auth=Bearer {token}\x01\x01" if challenge is None else ""),
                    **extra)
            elif name == "docmd":
                r = smtp.docmd(args[0], " ".join(args[1:]))
            else:
                r = getattr(smtp, name)(*args)
            if _reply(r) is not None:
                last = _reply(r)
        result.outcome = {"ok": True, "reply": last, "refused": refused}
    except Exception as exc:  # the outcome is the exception
        error = {"type": type(exc).__name__, "types": _types(exc),
                 "code": getattr(exc, "smtp_code", None),
                 "message": _text(getattr(exc, "smtp_error", exc))}
        if isinstance(exc, smtplib.SMTPSenderRefused):
            error["sender"] = exc.sender
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            error["recipients"] = {a: [c, _text(t)] for a, (c, t) in exc.recipients.items()}
        result.outcome = {"ok": False, "error": error}
    finally:
        if smtp is not None:
            try:
                smtp.close()
            except Exception:
                pass
    return result
