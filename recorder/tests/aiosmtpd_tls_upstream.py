"""A real STARTTLS + AUTH upstream for the recorder's tests: aiosmtpd's SMTP class with a TLS
context (certificate made by the test) and an authenticator for one user. Run under
/usr/bin/python3; prints `READY tcp HOST PORT` once listening on 127.0.0.1:<port 0>."""

import argparse
import asyncio
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult


class Handler:
    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 Ok: queued"


def authenticator(user: str, password: str):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode() == user and auth_data.password.decode() == password)
        return AuthResult(success=ok)
    return check


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", default="alice")
    parser.add_argument("--password", default="s3cret-pw")
    parser.add_argument("--implicit", action="store_true", help="implicit TLS (SMTPS)")
    args = parser.parse_args()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    loop = asyncio.get_running_loop()
    if args.implicit:
        server = await loop.create_server(
            lambda: SMTP(Handler(), hostname="tls-upstream.test", auth_require_tls=False,
                         authenticator=authenticator(args.user, args.password)),
            "127.0.0.1", 0, ssl=context)
    else:
        server = await loop.create_server(
            lambda: SMTP(Handler(), hostname="tls-upstream.test", tls_context=context,
                         require_starttls=False, auth_require_tls=True,
                         authenticator=authenticator(args.user, args.password)),
            "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"READY tcp {host} {port}", flush=True)
    # Ends when the test closes stdin (or kills the process).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
