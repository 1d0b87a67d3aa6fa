"""Runs a scenario's client section with Python's smtplib (the reference client) and checks the
outcome against what the scenario states. The harness has its own driver for the matrix; this one
is the fake server's own proof that scenarios play against a real client."""

from __future__ import annotations

import smtplib
import socket
import ssl
from pathlib import Path

EXCEPTIONS = {
    name: getattr(smtplib, name)
    for name in ("SMTPException", "SMTPNotSupportedError", "SMTPServerDisconnected",
                 "SMTPResponseException", "SMTPSenderRefused", "SMTPRecipientsRefused",
                 "SMTPDataError", "SMTPConnectError", "SMTPHeloError", "SMTPAuthenticationError")
}
EXCEPTIONS.update(TimeoutError=TimeoutError, OSError=OSError, ConnectionError=ConnectionError,
                  SSLError=ssl.SSLError)


def unescape(text: str) -> bytes:
    """Inverse of the server's visible(): \\r \\n \\t \\0 \\\\ \\xNN."""
    out = bytearray()
    i = 0
    raw = text.encode("utf-8")
    while i < len(raw):
        c = raw[i]
        if c != 0x5C:
            out.append(c)
            i += 1
            continue
        e = chr(raw[i + 1])
        if e == "x":
            out.append(int(raw[i + 2:i + 4], 16))
            i += 4
            continue
        out += {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0", "\\": b"\\", "*": b"*"}[e]
        i += 2
    return bytes(out)


class _UnixSMTP(smtplib.SMTP):
    """smtplib.SMTP over a Unix socket (smtplib only has that for LMTP)."""

    def _get_socket(self, host, port, timeout):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(host)
        return s


def run(scenario: dict, listener: dict, cafile: Path | None) -> dict:
    """Executes the client section; returns {"result": "ok", "reply", "refused"} or
    {"result": "raises", "exception", "code", "message"}."""
    client = scenario["client"]
    opts = client["options"]
    timeout = float(opts.get("timeout", 10))
    kwargs = {"timeout": timeout}
    if "local_hostname" in opts:
        kwargs["local_hostname"] = opts["local_hostname"]
    ctx = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    transport = listener["transport"]
    lmtp = scenario["protocol"] == "lmtp"
    message = unescape(client["message_visible"]) if client["message"] is None and \
        client.get("message_visible") else (client["message"] or "").encode()
    smtp = None
    reply = None
    refused: dict = {}
    try:
        if transport == "unix":
            if lmtp:
                smtp = smtplib.LMTP(listener["path"], **kwargs)
            else:
                smtp = _UnixSMTP(**kwargs)
                code, msg = smtp.connect(listener["path"])
                if code != 220:  # what SMTP(host) does in its constructor
                    smtp.close()
                    raise smtplib.SMTPConnectError(code, msg)
        elif transport == "tls":
            smtp = smtplib.SMTP_SSL(listener["host"], listener["port"], context=ctx, **kwargs)
        else:
            cls = smtplib.LMTP if lmtp else smtplib.SMTP
            smtp = cls(listener["host"], listener["port"], **kwargs)
        if transport == "starttls":
            smtp.starttls(context=ctx)
        for call in client["calls"]:
            name, args, kw = call["name"], call["args"], call["kwargs"]
            if name == "sendmail":
                options = {k: v.split(",") for k, v in kw.items()}
                refused = smtp.sendmail(args[0], args[1].split(","), message, **options)
                refused = {addr: code for addr, (code, _text) in refused.items()}
                r = None
            elif name == "starttls":
                r = smtp.starttls(context=ctx)
            elif name == "data":
                r = smtp.data(message)
            elif name in ("mail", "rcpt"):
                r = getattr(smtp, name)(args[0], kw["options"].split(",") if "options" in kw else ())
            elif name == "send_message":
                import email
                msg = email.message_from_bytes(message)
                options = {k: (v.split(",") if k != "from_addr" else v) for k, v in kw.items()}
                refused = smtp.send_message(msg, **options)
                refused = {addr: code for addr, (code, _text) in refused.items()}
                r = None
            else:
                flags = {k: {"true": True, "false": False}.get(v.lower(), v) for k, v in kw.items()}
                r = getattr(smtp, name)(*args, **flags)
            if isinstance(r, tuple) and r and isinstance(r[0], int):
                reply = r[0]
        return {"result": "ok", "reply": reply, "refused": refused}
    except Exception as exc:  # the outcome is the exception
        return {"result": "raises", "exception": type(exc), "code": getattr(exc, "smtp_code", None),
                "message": str(exc)}
    finally:
        if smtp is not None:
            try:
                smtp.close()
            except Exception:
                pass


def matches(expect: dict, got: dict) -> bool:
    if expect["result"] == "ok":
        if got["result"] != "ok":
            return False
        if "reply" in expect and got["reply"] != expect["reply"]:
            return False
        return got["refused"] == expect["refused"]
    if got["result"] != "raises":
        return False
    if not issubclass(got["exception"], EXCEPTIONS[expect["exception"]]):
        return False
    return expect["code"] is None or got["code"] == expect["code"]
