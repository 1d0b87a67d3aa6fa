#!/usr/bin/python3
"""aiosmtpd (Debian's python3-aiosmtpd) as a recording test peer, one process per fixture.

Run under /usr/bin/python3:

    aiosmtpd_server.py --listen tcp:127.0.0.1:0 --record DIR [--lmtp] [--size N] [--rules FILE]
    aiosmtpd_server.py --listen unix:/path/to/sock --lmtp --record DIR

It binds, then prints exactly one readiness line on stdout and keeps serving until SIGTERM/SIGINT:

    READY tcp 127.0.0.1 41234
    READY unix /path/to/sock

Everything the server sees and says is appended to DIR/events.jsonl, one JSON object per line,
flushed before the server acts on it (so once a client has read a reply, the events that led to it
are on disk). Bytes are stored as latin-1 strings, which round-trips every byte exactly:

    {"ev": "connect", "conn": 3, "peer": "..."}
    {"ev": "line", "conn": 3, "dir": "C", "bytes": "MAIL FROM:<a@b>\r\n"}   # what the client wrote
    {"ev": "line", "conn": 3, "dir": "S", "bytes": "250 OK\r\n"}            # what the server answered
    {"ev": "message", "conn": 3, "mail_from": ..., "mail_options": [...], "rcpt_tos": [...],
     "rcpt_options": [...], "content": "<exact bytes after un-stuffing>", "replies": [...],
     "delivered_to": [...]}
    {"ev": "close", "conn": 3}

Refusals are chosen by the client, per address, so one server serves many parallel tests. A tag
`+<verb><code>` in an address's local part makes the server answer that verb with that code:

    alice+mail553@x   MAIL FROM refused with 553
    bob+rcpt550@x     RCPT TO refused with 550 (451, 452, ... likewise)
    carol+data554@x   after the final dot: SMTP answers 554 for the whole message if any recipient
                      carries the tag; LMTP answers 554 for that recipient only (RFC 2033 s4.2)

A rules file (JSON: {"rules": [{"verb": "RCPT", "match": "<regex>", "reply": "550 ..."}]}) adds
replies for addresses matching a regex; `reply` may hold several lines separated by CRLF.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import signal
import sys

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

# A tag in the local part: "+rcpt550". Several tags may follow each other: "x+rcpt250+data554".
TAG = re.compile(r"\+(mail|rcpt|data)([2-5]\d\d)(?=[+@]|$)", re.IGNORECASE)


class Recorder:
    """Appends one JSON object per event to events.jsonl; the loop is single-threaded."""

    def __init__(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self._file = open(os.path.join(directory, "events.jsonl"), "a", encoding="utf-8")

    def write(self, **event: object) -> None:
        self._file.write(json.dumps(event) + "\n")
        self._file.flush()


def as_text(data: bytes) -> str:
    return data.decode("latin-1")


class Rules:
    def __init__(self, extra: list[dict]) -> None:
        self._extra = [(r["verb"].upper(), re.compile(r["match"]), r["reply"]) for r in extra]

    def reply_for(self, verb: str, address: str) -> str | None:
        for rule_verb, pattern, reply in self._extra:
            if rule_verb == verb and pattern.search(address):
                return reply
        local = address.rsplit("@", 1)[0]
        for tag_verb, code in TAG.findall(local):
            if tag_verb.upper() == verb:
                return f"{code} {code[0]}.7.1 harness rule: {verb} refused for <{address}>"
        return None


class Handler:
    def __init__(self, rules: Rules, recorder: Recorder, lmtp: bool) -> None:
        self.rules = rules
        self.recorder = recorder
        self.lmtp = lmtp

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = self.rules.reply_for("MAIL", address)
        if reply is not None and not reply.startswith("2"):
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return reply or "250 2.1.0 sender ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rules.reply_for("RCPT", address)
        if reply is not None and not reply.startswith("2"):
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return reply or "250 2.1.5 recipient ok"

    async def handle_DATA(self, server, session, envelope):
        per_rcpt = [
            self.rules.reply_for("DATA", rcpt) or f"250 2.0.0 delivered to <{rcpt}>"
            for rcpt in envelope.rcpt_tos
        ]
        if self.lmtp:
            # RFC 2033 s4.2: one reply per accepted recipient, in RCPT order. aiosmtpd pushes the
            # returned string followed by CRLF, so CRLF-joined replies go out as separate replies.
            replies = per_rcpt
            delivered = [r for r, reply in zip(envelope.rcpt_tos, per_rcpt) if reply[0] == "2"]
        else:
            failed = [reply for reply in per_rcpt if reply[0] != "2"]
            replies = [failed[0] if failed else "250 2.0.0 message accepted"]
            delivered = [] if failed else list(envelope.rcpt_tos)
        self.recorder.write(
            ev="message",
            conn=getattr(server, "conn_id", None),
            mail_from=envelope.mail_from,
            mail_options=envelope.mail_options,
            rcpt_tos=envelope.rcpt_tos,
            rcpt_options=envelope.rcpt_options,
            content=as_text(envelope.original_content),
            replies=replies,
            delivered_to=delivered,
        )
        return "\r\n".join(replies)


def recording(base: type) -> type:
    """Wraps an aiosmtpd protocol class so every line read and every reply pushed is recorded."""

    class Recording(base):  # type: ignore[misc, valid-type]
        recorder: Recorder
        ids = itertools.count(1)

        def connection_made(self, transport):
            self.conn_id = next(self.ids)
            self.recorder.write(ev="connect", conn=self.conn_id,
                                peer=str(transport.get_extra_info("peername")))
            super().connection_made(transport)

        def connection_lost(self, error):
            self.recorder.write(ev="close", conn=self.conn_id)
            super().connection_lost(error)

        async def _handle_client(self):
            reader = self._reader
            for name in ("readuntil", "readline"):
                original = getattr(reader, name)

                async def logged(*args, _original=original, **kwargs):
                    data = await _original(*args, **kwargs)
                    if data:
                        self.recorder.write(ev="line", conn=self.conn_id, dir="C",
                                            bytes=as_text(data))
                    return data

                setattr(reader, name, logged)
            return await super()._handle_client()

        async def push(self, status):
            raw = status.encode("utf-8") if isinstance(status, str) else status
            self.recorder.write(ev="line", conn=self.conn_id, dir="S",
                                bytes=as_text(raw + b"\r\n"))
            await super().push(status)

    Recording.__name__ = f"Recording{base.__name__}"
    return Recording


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    recorder = Recorder(args.record)
    extra = []
    if args.rules:
        with open(args.rules, encoding="utf-8") as f:
            extra = json.load(f).get("rules", [])
    handler = Handler(Rules(extra), recorder, args.lmtp)
    protocol = recording(LMTP if args.lmtp else SMTP)
    protocol.recorder = recorder

    def factory():
        return protocol(handler, data_size_limit=args.size or None, hostname=args.hostname,
                        timeout=args.idle_timeout, loop=loop)

    kind, _, where = args.listen.partition(":")
    if kind == "tcp":
        host, _, port = where.rpartition(":")
        server = await loop.create_server(factory, host=host, port=int(port))
        bound = server.sockets[0].getsockname()
        ready = f"READY tcp {bound[0]} {bound[1]}"
    elif kind == "unix":
        server = await loop.create_unix_server(factory, path=where)
        ready = f"READY unix {where}"
    else:
        raise SystemExit(f"--listen: expected tcp:HOST:PORT or unix:PATH, got {args.listen!r}")

    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    print(ready, flush=True)
    await stop
    server.close()
    if kind == "unix":
        try:
            os.unlink(where)
        except FileNotFoundError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="tcp:HOST:PORT (port 0 picks one) or unix:PATH")
    parser.add_argument("--record", required=True, help="directory for events.jsonl")
    parser.add_argument("--lmtp", action="store_true", help="speak LMTP (aiosmtpd.lmtp.LMTP)")
    parser.add_argument("--size", type=int, default=0, help="advertise and enforce SIZE (0: off)")
    parser.add_argument("--hostname", default="aiosmtpd.harness.test")
    parser.add_argument("--rules", help="JSON file with extra reply rules")
    parser.add_argument("--idle-timeout", type=float, default=60.0)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
