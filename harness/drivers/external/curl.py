"""curl's SMTP support (Debian package curl): `--mail-from`, `--mail-rcpt`, `--upload-file`,
STARTTLS (`--ssl-reqd`), implicit TLS (`smtps://`), AUTH (`--user`, `--oauth2-bearer`), Unix
sockets (`--unix-socket`). No LMTP. curl always sends a message (without `--upload-file` it
sends VRFY), so sections without `sendmail` are unsupported.

`--mail-rcpt-allowfails` makes curl go on when some recipients are refused, as `sendmail()`
does; the refused map is read from curl's `-v` log (curl reports no such map itself).
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.drivers.external import base

# curl's exit status -> what it means for the outcome (harness/README.md has this table).
# "refusal": the class comes from the command the last reply answered (base.STAGE_CLASS).
EXIT_TABLE = {
    7: ("ConnectionRefusedError", "could not connect"),
    8: ("refusal", "weird server reply (greeting not 220, end of data not 250, bad reply)"),
    9: ("refusal", "remote access denied (EHLO and HELO refused)"),
    28: ("SMTPTimeoutError", "operation timed out"),
    35: ("SSLError", "TLS handshake failed"),
    52: ("SMTPServerDisconnected", "empty reply"),
    55: ("refusal", "send failed (MAIL, RCPT or DATA refused, or the socket)"),
    56: ("SMTPServerDisconnected", "receive failed (connection closed or reset)"),
    60: ("SSLCertVerificationError", "peer certificate cannot be verified"),
    64: ("starttls", "STARTTLS required but not advertised or refused (--ssl-reqd)"),
    67: ("auth", "login denied"),
    94: ("auth", "authentication error"),
}


class Curl(base.Driver):
    name = "curl"
    package = "Debian curl"
    mapping = "exit code"
    transports = ("plain", "starttls", "tls", "unix")
    lmtp = False

    def missing_reason(self) -> str | None:
        return base.which("curl", "curl")

    def version(self) -> str:
        return base.first_line(["curl", "--version"])

    def supports_oauth2(self) -> bool:
        return True

    def run_plan(self, p: base.Plan, listener: dict, cafile: Path, workdir: Path) -> base.ExternalRun:
        message = workdir / "message.eml"
        message.write_bytes(p.message)
        scheme = "smtps" if p.transport == "tls" else "smtp"
        if p.transport == "unix":
            host, extra = "localhost", ["--unix-socket", listener["path"]]
        else:
            h = listener["host"]
            host, extra = (f"[{h}]" if ":" in h else h) + f":{listener['port']}", []
        # The URL's path is the EHLO name.
        url = f"{scheme}://{host}/{p.local_hostname or 'client.smtpkit.test'}"
        argv = ["curl", "-sS", "-v", "--max-time", f"{p.timeout:g}", "--cacert", str(cafile),
                "-w", "\nsmtpkit-local %{local_ip} %{local_port}\n", *extra]
        if p.starttls:
            argv.append("--ssl-reqd")
        if p.login:
            if p.oauth2:
                argv += ["--user", f"{p.login[0]}:", "--oauth2-bearer", p.login[1]]
            else:
                argv += ["--user", f"{p.login[0]}:{p.login[1]}"]
        argv += ["--mail-from", p.sender or ""]
        for r in p.recipients:
            argv += ["--mail-rcpt", r]
        argv += ["--mail-rcpt-allowfails", "--upload-file", str(message), url]
        run = base.run_process(argv)
        transcript = base.Transcript()
        for line in run.stderr.splitlines():
            if line.startswith("> "):
                transcript.add(">", line[2:])
            elif line.startswith("< "):
                transcript.add("<", line[2:])
        run.trace = transcript.render()
        m = re.search(r"^smtpkit-local (\S+) (\d+)$", run.stdout, re.M)
        if m and m.group(2) != "0" and p.transport != "unix":
            ip = m.group(1)
            run.local = f"[{ip}]:{m.group(2)}" if ":" in ip else f"{ip}:{m.group(2)}"
        run.outcome = outcome(run, transcript, p)
        return run


def outcome(run: base.ExternalRun, transcript: base.Transcript, p: base.Plan) -> dict:
    code = run.exit_code
    said = " ".join(l for l in run.stderr.splitlines() if l.startswith("curl: ")) or run.stderr[-300:]
    if code == 0:
        # curl sends QUIT when it closes the connection, after its -v log has ended: the
        # reply to QUIT is not known (the fake server's script still checks QUIT was sent).
        return {"ok": True, "reply": None, "refused": transcript.refused(),
                "reply_unknown": "curl does not log the reply to QUIT" if p.quit else None}
    if code is None:
        return base.error_outcome(base.UNMAPPED, None, said, "curl killed by the harness's deadline")
    kind, meaning = EXIT_TABLE.get(code, (None, None))
    mapped = f"curl exit {code} ({meaning})" if meaning else f"curl exit {code} (not in the table)"
    if kind is None:
        return base.error_outcome(base.UNMAPPED, None, said, mapped)
    if kind == "refusal":
        return base.refusal_outcome(transcript, said, mapped)
    if kind == "starttls":
        last = transcript.last_reply()
        if "STARTTLS" in transcript.commands() and last and last[0] == "starttls":
            return base.error_outcome("SMTPResponseException", last[1], said,
                                      mapped + "; STARTTLS refused")
        return base.error_outcome("SMTPNotSupportedError", None, said,
                                  mapped + "; STARTTLS not advertised")
    if kind == "auth":
        last = transcript.last_reply()
        c = last[1] if last and last[0] == "auth" else None
        return base.error_outcome("SMTPAuthenticationError", c, said, mapped)
    return base.error_outcome(kind, None, said, mapped)
