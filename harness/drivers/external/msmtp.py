"""msmtp (Debian package msmtp), the sendmail-compatible SMTP/LMTP client, configured on the
command line only (`--host` makes it ignore every configuration file): `--tls`,
`--tls-starttls`, `--tls-trust-file`, `--auth --user --passwordeval`, `--protocol=lmtp`,
`--socket`, the message on stdin, `--debug` for the protocol log. `--set-*-header=off` keeps it
from adding From/Date/Message-ID, so the message arrives as the scenario wrote it.
`--serverinfo` (connect, EHLO, STARTTLS, QUIT) makes the sections without a message and without
AUTH. Its `--timeout` takes whole seconds. msmtp stops at the first refused recipient.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.drivers.external import base

# msmtp's exit status is a sysexits.h code (man msmtp, EXIT STATUS).
EXIT_TABLE = {
    65: ("refusal", "EX_DATAERR: an address or the mail refused"),
    68: ("ConnectionRefusedError", "EX_NOHOST: cannot resolve or reach the host"),
    69: ("refusal", "EX_UNAVAILABLE: the server refused (5xx) or cannot be reached"),
    70: (base.UNMAPPED, "EX_SOFTWARE: internal error"),
    71: (base.UNMAPPED, "EX_OSERR"),
    74: ("io", "EX_IOERR: network error (connection closed, reset, refused, TLS)"),
    75: ("refusal", "EX_TEMPFAIL: the server refused (4xx) or timed out"),
    76: ("protocol", "EX_PROTOCOL: unexpected or malformed reply, missing capability"),
    77: ("auth", "EX_NOPERM: authentication failed"),
    78: (base.UNMAPPED, "EX_CONFIG: configuration"),
}


class Msmtp(base.Driver):
    name = "msmtp"
    package = "Debian msmtp (GnuTLS)"
    mapping = "exit code"
    transports = ("plain", "starttls", "tls", "unix")
    lmtp = True
    handshake_only = True

    def missing_reason(self) -> str | None:
        return base.which("msmtp", "msmtp")

    def version(self) -> str:
        return base.first_line(["msmtp", "--version"])

    def supports_oauth2(self) -> bool:
        return True

    def unsupported(self, scenario, transport):
        p, reason = super().unsupported(scenario, transport)
        if p is None:
            return p, reason
        if p.timeout != int(p.timeout):
            return None, f"msmtp's --timeout takes whole seconds (the section sets {p.timeout:g} s)"
        if p.sender is None and p.login:
            return None, "msmtp authenticates only to send a message (--serverinfo does no AUTH)"
        return p, None

    def run_plan(self, p: base.Plan, listener: dict, cafile: Path, workdir: Path) -> base.ExternalRun:
        tls = p.transport == "tls" or p.starttls
        argv = ["msmtp", "--debug", f"--timeout={int(p.timeout)}",
                f"--protocol={'lmtp' if p.protocol == 'lmtp' else 'smtp'}",
                f"--domain={p.local_hostname or 'client.smtpkit.test'}",
                f"--tls={'on' if tls else 'off'}",
                f"--tls-starttls={'off' if p.transport == 'tls' else 'on'}"]
        if tls:
            argv.append(f"--tls-trust-file={cafile}")
        if p.transport == "unix":
            # msmtp wants a port even with --socket (LMTP has no default one); it is not used.
            argv += ["--host=localhost", "--port=24", f"--socket={listener['path']}"]
        else:
            argv += [f"--host={listener['host']}", f"--port={listener['port']}"]
        if p.login:
            secret = workdir / "secret"
            secret.write_text(p.login[1])
            argv += ["--auth=xoauth2" if p.oauth2 else "--auth=on", f"--user={p.login[0]}",
                     f"--passwordeval=cat {secret}"]
        else:
            argv.append("--auth=off")
        if p.sender is None:
            argv.append("--serverinfo")
        else:
            argv += ["--set-from-header=off", "--set-date-header=off", "--set-msgid-header=off",
                     f"--from={p.sender}", "--", *p.recipients]
        run = base.run_process(argv, stdin=p.message if p.sender else b"")
        transcript = base.Transcript()
        for line in (run.stdout + "\n" + run.stderr).splitlines():
            if line.startswith("<-- "):
                transcript.add("<", line[4:])
            elif line.startswith("--> "):
                transcript.add(">", line[4:])
        run.trace = transcript.render()
        run.outcome = outcome(run, transcript, p)
        return run


def outcome(run: base.ExternalRun, transcript: base.Transcript, p: base.Plan) -> dict:
    code = run.exit_code
    said = " | ".join(l for l in run.stderr.splitlines() if l.startswith("msmtp: ")) \
        or run.stderr[-300:]
    if code == 0:
        last = transcript.last_reply()
        return {"ok": True, "reply": [last[1], last[2]] if last and p.quit else None,
                "refused": transcript.refused(p.protocol == "lmtp")}
    if code is None:
        return base.error_outcome(base.UNMAPPED, None, said, "msmtp killed by the harness's deadline")
    kind, meaning = EXIT_TABLE.get(code, (None, None))
    mapped = f"msmtp exit {code} ({meaning})" if meaning else f"msmtp exit {code} (not in the table)"
    if kind is None:
        return base.error_outcome(base.UNMAPPED, None, said, mapped)
    if re.search(r"timeout|timed out", said, re.I):
        return base.error_outcome("SMTPTimeoutError", None, said, mapped + "; it reported a timeout")
    # Its messages say more than the exit status: a capability missing, STARTTLS refused.
    if re.search(r"does not support TLS via the STARTTLS|does not support STARTTLS", said):
        return base.error_outcome("SMTPNotSupportedError", None, said, mapped + "; no STARTTLS")
    if re.search(r"does not support authentication", said):
        return base.error_outcome("SMTPNotSupportedError", None, said, mapped + "; no AUTH")
    # "command STARTTLS failed": msmtp did not start TLS (a non-220 reply, or a 220 with more
    # bytes after it); the code is STARTTLS's reply when that was not 220.
    if "command STARTTLS failed" in said:
        answer = next((code for stage, code, _ in transcript.replies() if stage == "starttls"), None)
        return base.error_outcome("SMTPResponseException", answer if answer != 220 else None, said,
                                  mapped + f"; STARTTLS answered {answer}, TLS not started")
    if kind == "io" or kind == "protocol":
        if re.search(r"certificate|trust", said, re.I):
            return base.error_outcome("SSLCertVerificationError", None, said, mapped + "; certificate")
        if re.search(r"TLS|handshake", said):
            return base.error_outcome("SSLError", None, said, mapped + "; TLS")
        if re.search(r"connection refused|cannot connect", said, re.I):
            return base.error_outcome("ConnectionRefusedError", None, said, mapped)
        last = transcript.last_reply()
        if kind == "protocol" and last and last[1] >= 400:
            return base.refusal_outcome(transcript, said, mapped)
        return base.error_outcome("SMTPServerDisconnected", None, said, mapped)
    if kind == "auth":
        last = transcript.last_reply()
        c = last[1] if last and last[0] == "auth" else None
        return base.error_outcome("SMTPAuthenticationError", c, said, mapped)
    if kind == "refusal":
        return base.refusal_outcome(transcript, said, mapped)
    return base.error_outcome(kind, None, said, mapped)
