"""A strict SMTP server for the probe's tests, behaving as some real servers do (issue 17's two
false alarms): it refuses every command but EHLO/HELO and QUIT before EHLO (503, RSET included),
and when a client sends a command before the reply to the previous one (a second line in the
same read), it answers 500 and closes. It advertises STARTTLS but never gets to start it.
Listens on 127.0.0.1 port 0 and prints `READY PORT`."""

import asyncio


async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    def send(line: str) -> None:
        writer.write(line.encode() + b"\r\n")

    send("220 strict.probe.test ESMTP")
    greeted = False
    pending = b""
    try:
        while True:
            chunk = await reader.read(4096)
            if not chunk:
                break
            pending += chunk
            if b"\r\n" not in pending:
                continue
            line, _, pending = pending.partition(b"\r\n")
            if pending:  # a command behind this one, sent before its reply
                send("500 5.5.0 Error: commands sent ahead of the reply (no PIPELINING)")
                break
            verb = line.decode("latin-1").strip().split(" ", 1)[0].upper()
            if verb == "QUIT":
                send("221 2.0.0 Bye")
                break
            if verb in ("EHLO", "HELO"):
                greeted = True
                send("250-strict.probe.test" if verb == "EHLO" else "250 strict.probe.test")
                if verb == "EHLO":
                    send("250 STARTTLS")
            elif not greeted:
                send("503 5.5.1 Error: send HELO/EHLO first")
            elif verb in ("NOOP", "RSET"):
                send("250 2.0.0 Ok")
            else:
                send("502 5.5.2 Error: command not implemented")
            await writer.drain()
        await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def main() -> None:
    server = await asyncio.start_server(session, "127.0.0.1", 0)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
