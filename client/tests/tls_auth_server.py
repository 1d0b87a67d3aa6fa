"""aiosmtpd for the client's TLS and AUTH tests (run as a subprocess by test_tls_auth_*.py).

Listens on 127.0.0.1 port 0 and prints `READY PORT`. --cert/--key: STARTTLS offered, or, with
--implicit, TLS from the first byte (SMTP_SSL). --user/--password: AUTH PLAIN and LOGIN offered
(aiosmtpd's own implementation), every attempt appended to --log as {"auth": mechanism, "ok": bool};
every accepted message as {"from", "to", "auth"}."""

import argparse
import asyncio
import json
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--implicit", action="store_true")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--log", required=True)
    a = p.parse_args()

    def log(entry: dict) -> None:
        with open(a.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            log({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                 "auth": bool(session.authenticated), "tls": session.ssl is not None})
            return "250 2.0.0 queued"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (a.user is not None and auth_data.login == a.user.encode()
              and auth_data.password == a.password.encode())
        log({"auth": mechanism, "ok": ok})
        return AuthResult(success=ok, handled=False)

    tls = None
    if a.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.cert, a.key)

    def factory():
        kwargs = {}
        if a.user:
            # Cleartext AUTH is allowed by the server so the client's own refusal can be tested.
            kwargs = dict(authenticator=authenticator, auth_require_tls=False)
        return SMTP(Handler(), hostname="aiosmtpd.tls.test",
                    tls_context=None if a.implicit else tls, **kwargs)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(factory, "127.0.0.1", 0,
                                          ssl=tls if a.implicit else None)
        print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
