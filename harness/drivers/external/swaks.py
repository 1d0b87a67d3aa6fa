"""swaks (Debian package swaks), the SMTP test tool: `--server/--port` or `--socket`, `--tls`
(STARTTLS required), `--tls-on-connect`, `--tls-verify --tls-ca-path`, `--auth`, `--protocol
LMTP`, the message on stdin (`--data -`). `--quit-after` lets it end a session after EHLO, TLS or
AUTH, so handshake-only sections run too. Its `--timeout` takes whole seconds: a section with a
sub-second `option: timeout=` is unsupported. swaks writes the CRLF before the final "." itself,
so the message goes to it without its last CRLF. swaks goes on when some recipients are refused (as
`sendmail()`); the refused map comes from its transcript.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.drivers.external import base

# swaks's exit status (man swaks, EXIT CODES) -> the stage it failed at; the class is then the
# stage's (base.STAGE_CLASS) with the code of the last reply, or a disconnect without one.
EXIT_TABLE = {
    2: ("ConnectionRefusedError", "error connecting to remote server"),
    6: ("SMTPServerDisconnected", "connection closed unexpectedly"),
    21: ("greeting", "error reading initial banner from server"),
    22: ("helo", "error in HELO transaction"),
    23: ("mail", "error in MAIL transaction"),
    24: ("rcpt", "no RCPTs accepted"),
    25: ("data", "server returned error to DATA request"),
    26: ("body", "server did not accept mail following data"),
    27: ("quit", "server returned error after normal-session quit request"),
    28: ("auth", "error in AUTH transaction"),
    29: ("tls", "error in TLS transaction"),
    32: ("helo", "error in EHLO following TLS negotiation"),
}


class Swaks(base.Driver):
    name = "swaks"
    package = "Debian swaks (+ libnet-ssleay-perl, libio-socket-ssl-perl for TLS)"
    mapping = "exit code"
    transports = ("plain", "starttls", "tls", "unix")
    lmtp = True
    handshake_only = True

    def missing_reason(self) -> str | None:
        return base.which("swaks", "swaks")

    def version(self) -> str:
        return base.first_line(["swaks", "--version"])

    def unsupported(self, scenario, transport):
        p, reason = super().unsupported(scenario, transport)
        if p is not None and p.timeout != int(p.timeout):
            return None, f"swaks's --timeout takes whole seconds (the section sets {p.timeout:g} s)"
        return p, reason

    def run_plan(self, p: base.Plan, listener: dict, cafile: Path, workdir: Path) -> base.ExternalRun:
        argv = ["swaks", "--timeout", f"{int(p.timeout)}s",
                "--protocol", "LMTP" if p.protocol == "lmtp" else "ESMTP",
                "--helo", p.local_hostname or "client.smtpkit.test"]
        if p.transport == "unix":
            argv += ["--socket", listener["path"]]
        else:
            argv += ["--server", listener["host"], "--port", str(listener["port"])]
        if p.transport == "tls":
            argv.append("--tls-on-connect")
        elif p.starttls:
            argv.append("--tls")
        if p.transport == "tls" or p.starttls:
            argv += ["--tls-verify", "--tls-ca-path", str(cafile)]
        if p.login:
            argv += ["--auth", "--auth-user", p.login[0], "--auth-password", p.login[1]]
        if p.sender is None:
            # "HELO" is swaks's name for the last EHLO: the one after TLS when there is TLS.
            stop = ("AUTH" if p.login else ("HELO" if p.ehlo_after_tls else "TLS") if p.starttls
                    else "EHLO")
            argv += ["--quit-after", stop,
                     "--from", "nobody@example.org", "--to", "nobody@example.org"]
        else:
            argv += ["--from", p.sender, "--to", ",".join(p.recipients), "--data", "-"]
        # swaks ends the data with CRLF "." itself, after a line end of its own: the message's last
        # CRLF is left to it, or the server would get an extra empty line.
        message = p.message[:-2] if p.message.endswith(b"\r\n") else p.message
        run = base.run_process(argv, stdin=message)
        transcript = base.Transcript()
        for line in run.stdout.splitlines():
            m = re.match(r"^(<-|<\*\*|<~|<~\*) ?\s(.*)$", line)
            if m:
                transcript.add("<", m.group(2))
                continue
            m = re.match(r"^ ?(->|~>|\*\*>) (.*)$", line)
            if m:
                transcript.add(">", m.group(2))
        run.trace = transcript.render()
        run.outcome = outcome(run, transcript, p)
        return run


def outcome(run: base.ExternalRun, transcript: base.Transcript, p: base.Plan) -> dict:
    code = run.exit_code
    said = " | ".join(l for l in (run.stdout + "\n" + run.stderr).splitlines()
                      if l.startswith("***")) or run.stderr[-300:]
    if code == 0:
        last = transcript.last_reply()
        return {"ok": True, "reply": [last[1], last[2]] if last and p.quit else None,
                "refused": transcript.refused(p.protocol == "lmtp")}
    if code is None:
        return base.error_outcome(base.UNMAPPED, None, said, "swaks killed by the harness's deadline")
    stage, meaning = EXIT_TABLE.get(code, (None, None))
    mapped = f"swaks exit {code} ({meaning})" if meaning else f"swaks exit {code} (not in the table)"
    if stage is None:
        return base.error_outcome(base.UNMAPPED, None, said, mapped)
    if re.search(r"Timeout|timed out", said):
        return base.error_outcome("SMTPTimeoutError", None, said, mapped + "; it reported a timeout")
    if stage in ("ConnectionRefusedError", "SMTPServerDisconnected"):
        return base.error_outcome(stage, None, said, mapped)
    last = transcript.last_reply()
    if stage == "tls":
        if re.search(r"did not advertise STARTTLS|STARTTLS not advertised", said, re.I):
            return base.error_outcome("SMTPNotSupportedError", None, said, mapped + "; STARTTLS not advertised")
        if last and last[0] == "starttls" and last[1] != 220:
            return base.error_outcome("SMTPResponseException", last[1], said, mapped + "; STARTTLS refused")
        if re.search(r"certificate verify failed|verify", said, re.I):
            return base.error_outcome("SSLCertVerificationError", None, said, mapped + "; certificate")
        return base.error_outcome("SSLError", None, said, mapped)
    if stage == "auth" and re.search(r"advertise.*AUTH|not advertise", said, re.I):
        return base.error_outcome("SMTPNotSupportedError", None, said, mapped + "; AUTH not advertised")
    if last is None or last[1] < 400:
        return base.error_outcome("SMTPServerDisconnected", None, said,
                                  mapped + "; no refusing reply in its transcript")
    cls = base.STAGE_CLASS[stage]
    return base.error_outcome(cls, None if stage == "rcpt" else last[1], said,
                              mapped + f"; last reply {last[1]}")
