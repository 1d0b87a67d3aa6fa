"""aiosmtpd for the probe's tests: SMTP with STARTTLS (a certificate made by the test), or LMTP on a
Unix socket. Listens on port 0 and prints one readiness line: `READY tcp HOST PORT` or
`READY unix PATH`. Every accepted message is appended to --messages (one line: sender, recipients,
size), so a test can assert that a safe run delivered nothing."""

import argparse
import asyncio
import json
import ssl
import sys

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, messages: str) -> None:
        self.messages = messages

    async def handle_DATA(self, server, session, envelope):
        with open(self.messages, "a", encoding="utf-8") as f:
            f.write(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                                "size": len(envelope.original_content or b"")}) + "\n")
        if isinstance(server, LMTP):
            return "\r\n".join("250 2.0.0 delivered" for _ in envelope.rcpt_tos)
        return "250 2.0.0 queued"


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--unix")
    p.add_argument("--lmtp", action="store_true")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--size", type=int, default=0)
    p.add_argument("--messages", required=True)
    p.add_argument("--sni-log", help="append the server name of every TLS handshake (or '-')")
    a = p.parse_args()
    handler = Handler(a.messages)
    tls = None
    if a.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.cert, a.key)
        if a.sni_log:
            def note_sni(_sock, name, _ctx):
                with open(a.sni_log, "a", encoding="utf-8") as f:
                    f.write(f"{name or '-'}\n")
            tls.sni_callback = note_sni

    def factory():
        if a.lmtp:
            return LMTP(handler, hostname="lmtp.probe.test")
        return SMTP(handler, hostname="aiosmtpd.probe.test", tls_context=tls,
                    data_size_limit=a.size or None, enable_SMTPUTF8=True)

    loop = asyncio.get_running_loop()
    if a.unix:
        server = await loop.create_unix_server(factory, a.unix)
        print(f"READY unix {a.unix}", flush=True)
    else:
        server = await loop.create_server(factory, "127.0.0.1", 0)
        host, port = server.sockets[0].getsockname()[:2]
        print(f"READY tcp {host} {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
