#!/usr/bin/python3
"""Python's smtplib as the reference client, behind the same command line as `smtp-client send`.

    smtplib_driver.py send (--server HOST[:PORT] | --unix PATH) [--lmtp] --from ADDR --to ADDR...
                      [--data FILE] [--mail-option OPT]... [--rcpt-option OPT]...
                      [--local-hostname NAME] [--timeout SECONDS] [--debug LEVEL] [--json]

With --json it prints one JSON object, the same shape as smtp-client's:
    {"ok": true, "refused": {"ADDR": [CODE, "TEXT"], ...}}
    {"ok": false, "error": {"type": "SMTPSenderRefused", "code": 553, "message": "...",
                            "sender": "..."}}            # "recipients": {...} for SMTPRecipientsRefused
Exit status: 0 accepted for at least one recipient, 1 SMTP or network failure, 2 usage error or
input refused before the transaction (smtplib raises ValueError for CR/LF in a command).

What smtplib does is reported as is, including where it differs from the C++ client on purpose
(the harness tests document each case):
  - the message is sent as bytes, so smtplib neither turns lone LF/CR into CRLF nor checks NUL
    (it only normalises line endings of str messages);
  - LMTP: smtplib reads a single reply after the final dot (CPython gh-76984), so later
    recipients' results are never reported;
  - CR/LF in an address is caught when the command is written, after the connection and EHLO;
  - NUL in the message is sent as is;
  - an unreadable --data file is reported as {"type": "UsageError"} with exit 2, like smtp-client;
  - a refused connection is ConnectionRefusedError (an OSError), not an SMTP exception;
  - a timeout while waiting for a reply is SMTPServerDisconnected ("...: timed out").
"""

from __future__ import annotations

import argparse
import json
import smtplib
import socket
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UnixSMTP(smtplib.SMTP):
    """SMTP over a Unix-domain socket (smtplib only does that for LMTP)."""

    def connect(self, host="localhost", port=0, source_address=None):
        if not host.startswith("/"):
            return super().connect(host, port, source_address=source_address)
        if self.debuglevel > 0:
            self._print_debug("connect:", host)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
            self.sock.settimeout(self.timeout)
        self.file = None
        self.sock.connect(host)
        code, msg = self.getreply()
        if self.debuglevel > 0:
            self._print_debug("connect:", msg)
        return code, msg


def text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def refused_map(refused: dict) -> dict:
    return {addr: [code, text(msg)] for addr, (code, msg) in refused.items()}


def describe_error(exc: BaseException) -> dict:
    error: dict = {"type": type(exc).__name__, "code": None, "message": text(exc)}
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        error["recipients"] = refused_map(exc.recipients)
        error["message"] = "all recipients were refused"
    elif isinstance(exc, smtplib.SMTPResponseException):
        error["code"] = exc.smtp_code
        error["message"] = text(exc.smtp_error)
        if isinstance(exc, smtplib.SMTPSenderRefused):
            error["sender"] = exc.sender
    return error


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="smtplib_driver", description="smtplib reference client")
    sub = parser.add_subparsers(dest="command", required=True)
    send = sub.add_parser("send", help="send one message")
    target = send.add_mutually_exclusive_group(required=True)
    target.add_argument("--server", help="HOST[:PORT]")
    target.add_argument("--unix", help="path of a Unix-domain socket")
    send.add_argument("--lmtp", action="store_true")
    send.add_argument("--from", dest="sender", required=True)
    send.add_argument("--to", dest="recipients", action="append", required=True)
    send.add_argument("--data", help="message file (standard input when absent)")
    send.add_argument("--mail-option", action="append", default=[])
    send.add_argument("--rcpt-option", action="append", default=[])
    send.add_argument("--local-hostname")
    send.add_argument("--timeout", type=float)
    send.add_argument("--debug", type=int, default=0)
    send.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def send(args: argparse.Namespace) -> tuple[int, dict]:
    try:
        if args.data and args.data != "-":
            with open(args.data, "rb") as f:
                message = f.read()
        else:
            message = sys.stdin.buffer.read()
    except OSError as exc:
        return EXIT_USAGE, {"ok": False, "error": {"type": "UsageError", "code": None,
                                                   "message": f"cannot read {args.data}: {exc}"}}
    kwargs = {"local_hostname": args.local_hostname}
    if args.timeout is not None:
        kwargs["timeout"] = args.timeout
    cls = smtplib.LMTP if args.lmtp else UnixSMTP
    # The constructor form connects and checks the greeting (SMTPConnectError unless 220), as
    # smtplib.SMTP(host) does for its users. smtplib parses "host:port" itself.
    client = cls(**kwargs)
    client.set_debuglevel(args.debug)
    try:
        code, msg = client.connect(args.unix or args.server)
        if code != 220:
            client.close()
            raise smtplib.SMTPConnectError(code, msg)
        refused = client.sendmail(args.sender, args.recipients, message,
                                  args.mail_option, args.rcpt_option)
        outcome = (EXIT_OK, {"ok": True, "refused": refused_map(refused)})
    except ValueError as exc:  # smtplib's check for CR/LF in a command line
        outcome = (EXIT_USAGE, {"ok": False, "error": describe_error(exc)})
    except (smtplib.SMTPException, OSError) as exc:
        outcome = (EXIT_FAILED, {"ok": False, "error": describe_error(exc)})
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
    return outcome


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    status, result = send(args)
    if args.json:
        print(json.dumps(result))
    elif result["ok"]:
        print(f"accepted; refused: {result['refused'] or 'none'}")
    else:
        error = result["error"]
        print(f"{error['type']}: {error['code'] or ''} {error['message']}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
