"""Nodemailer (npm, pinned in harness/drivers/nodemailer/package.json + package-lock.json),
through harness/drivers/nodemailer/send.js under Debian's nodejs. The harness installs it into
the driver cache (`npm ci`, once per lock file; base.cache_dir()); when node or npm is missing or
the install fails (no registry), the runs skip with that reason, never fail.

A one-message client like the command-line tools (base.plan()): sendMail({envelope, raw}) sends
the scenario's message as is; sections without a message use verify() (connect, EHLO,
STARTTLS, AUTH, QUIT). `requireTLS` when the section starts TLS, `ignoreTLS` otherwise (so it
does not upgrade on its own); `lmtp: true` for LMTP; Unix sockets through `getSocket`.
Errors are Nodemailer's error objects (`code`, `command`, `responseCode`), mapped by the table
below; the refused map is its `rejectedErrors`; the protocol log is its own debug logger's.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from harness.drivers.external import base

HERE = Path(__file__).resolve().parent.parent / "nodemailer"
SCRIPT = HERE / "send.js"

# Nodemailer's err.code (+ err.command) -> class.
CODE_TABLE = {
    "EENVELOPE": "by command: MAIL FROM -> SMTPSenderRefused, RCPT TO -> SMTPRecipientsRefused",
    "EMESSAGE": "SMTPDataError (DATA or the end of data refused)",
    "EAUTH": "SMTPAuthenticationError (SMTPNotSupportedError when AUTH is not advertised)",
    "ETLS": "SMTPNotSupportedError when STARTTLS is missing, SSLCertVerificationError for a "
            "certificate, else SSLError",
    "ETIMEDOUT": "SMTPTimeoutError",
    "ECONNECTION": "SMTPServerDisconnected (ConnectionRefusedError when refused)",
    "ESOCKET": "SMTPServerDisconnected (ConnectionRefusedError when refused)",
    "EPROTOCOL": "by command: CONN -> SMTPConnectError, EHLO/HELO/LHLO -> SMTPHeloError, "
                 "else the class of the command the reply answered; no code: SMTPServerDisconnected",
}


def install_dir() -> Path:
    lock = (HERE / "package-lock.json").read_bytes()
    return base.cache_dir() / f"nodemailer-{hashlib.sha256(lock).hexdigest()[:16]}"


def node_needed() -> int | None:
    """The major node version the pinned Nodemailer asks for (its `engines` in the lock file)."""
    try:
        lock = json.loads((HERE / "package-lock.json").read_text())
        engines = lock["packages"]["node_modules/nodemailer"]["engines"]["node"]
    except (OSError, ValueError, KeyError):
        return None
    m = re.match(r"\s*>=\s*(\d+)", engines)
    return int(m.group(1)) if m else None


def node_major() -> int | None:
    m = re.match(r"v(\d+)", base.first_line(["node", "--version"]))
    return int(m.group(1)) if m else None


def install() -> str | None:
    """`npm ci` into the cache once; None when Nodemailer is there, else why not."""
    for program, package in (("node", "nodejs"), ("npm", "npm")):
        if shutil.which(program) is None:
            return f"{program} is not installed (Debian package {package}; ./ci/install-deps.sh)"
    need = node_needed()
    have = node_major()
    if need and have is not None and have < need:
        return (f"node v{have} is too old for the pinned Nodemailer (it needs node >= {need}; "
                "harness/drivers/nodemailer/package-lock.json)")
    target = install_dir()
    done = target / "node_modules" / "nodemailer" / "package.json"
    if done.exists():
        return None
    target.mkdir(parents=True, exist_ok=True)
    with open(target / "install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return None
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(HERE / name, target / name)
        try:
            proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                                  cwd=target, capture_output=True, timeout=300)
        except subprocess.TimeoutExpired:
            return "npm ci for Nodemailer took longer than 300 s (no npm registry?)"
        if proc.returncode != 0 or not done.exists():
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            return f"npm ci for Nodemailer failed (exit {proc.returncode}): {' '.join(tail)}"
    return None


class Nodemailer(base.Driver):
    name = "nodemailer"
    package = "npm nodemailer 10.6.1 (Debian nodejs + npm)"
    mapping = "error object"
    transports = ("plain", "starttls", "tls", "unix")
    lmtp = True
    handshake_only = True
    _missing: str | None = None
    _checked = False

    def missing_reason(self) -> str | None:
        if not self._checked:
            Nodemailer._missing = install()
            Nodemailer._checked = True
        return self._missing

    def version(self) -> str:
        try:
            pkg = json.loads((install_dir() / "node_modules" / "nodemailer" / "package.json").read_text())
            return f"nodemailer {pkg['version']}, node {base.first_line(['node', '--version'])}"
        except (OSError, ValueError, KeyError):
            return "not installed"

    def supports_oauth2(self) -> bool:
        return True

    def run_plan(self, p: base.Plan, listener: dict, cafile: Path, workdir: Path) -> base.ExternalRun:
        request = {"transport": p.transport, "host": listener.get("host", ""),
                   "port": listener.get("port", 0), "path": listener.get("path", ""),
                   "cafile": str(cafile), "timeout": p.timeout, "local_hostname": p.local_hostname,
                   "lmtp": p.protocol == "lmtp", "starttls": p.starttls,
                   "login": list(p.login) if p.login else None, "oauth2": p.oauth2,
                   "sender": p.sender, "recipients": p.recipients,
                   "message": p.message.decode("utf-8", "surrogateescape")}
        env = {**os.environ, "NODE_PATH": str(install_dir() / "node_modules")}
        run = base.run_process(["node", str(SCRIPT)], stdin=json.dumps(request).encode(), env=env)
        run.argv = ["node", str(SCRIPT), "(plan on stdin)"]
        try:
            data = json.loads(run.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            run.outcome = base.error_outcome(base.UNMAPPED, None, run.stderr[-500:],
                                             f"send.js exit {run.exit_code}, no JSON")
            return run
        transcript = base.Transcript()
        for direction, line in data.get("log") or []:
            if direction in ("<", ">"):
                transcript.add(direction, line)
        run.trace = [f"{d} {l}" for d, l in data.get("log") or []]
        run.stdout = run.stdout[-4000:]
        run.outcome = outcome(data["result"], transcript, p)
        return run


def outcome(result: dict, transcript: base.Transcript, p: base.Plan) -> dict:
    if result.get("ok"):
        refused = {e["recipient"]: [e.get("responseCode"), e.get("response") or ""]
                   for e in result.get("rejectedErrors") or []}
        # Nodemailer ends the connection after sendMail without QUIT (the fake server's script
        # shows it): there is no reply to QUIT to report.
        return {"ok": True, "reply": None, "refused": refused,
                "reply_unknown": "Nodemailer sends no QUIT (it ends the connection)" if p.quit else None}
    e = result.get("error") or {}
    code, command = e.get("code", ""), (e.get("command") or "").upper()
    rc = e.get("responseCode")
    message = e.get("response") or e.get("message") or ""
    mapped = f"Nodemailer {code or 'error'} in {command or '?'}"
    text = f"{e.get('message', '')} {e.get('cause', '')}"
    if code == "EENVELOPE":
        if command.startswith("RCPT"):
            return base.error_outcome("SMTPRecipientsRefused", None, message, mapped)
        if command.startswith("MAIL"):
            return base.error_outcome("SMTPSenderRefused", rc, message, mapped)
        return base.refusal_outcome(transcript, message, mapped)
    if code == "EMESSAGE":
        return base.error_outcome("SMTPDataError", rc, message, mapped)
    if code == "EAUTH":
        if rc is None and re.search(r"not supported|no supported|Missing credentials", text, re.I):
            return base.error_outcome("SMTPNotSupportedError", None, message, mapped)
        return base.error_outcome("SMTPAuthenticationError", rc, message, mapped)
    if code == "ETLS":
        if re.search(r"STARTTLS", text) and rc is None:
            return base.error_outcome("SMTPNotSupportedError", None, message, mapped)
        if rc is not None:
            return base.error_outcome("SMTPResponseException", rc, message, mapped)
        if re.search(r"certificate|CERT_|self.signed|issuer|altname", text, re.I):
            return base.error_outcome("SSLCertVerificationError", None, text, mapped)
        return base.error_outcome("SSLError", None, text, mapped)
    if code == "ETIMEDOUT":
        return base.error_outcome("SMTPTimeoutError", None, text, mapped)
    if code in ("ECONNECTION", "ESOCKET"):
        if "ECONNREFUSED" in text:
            return base.error_outcome("ConnectionRefusedError", None, text, mapped)
        if re.search(r"certificate|CERT_|self.signed|issuer|altname", text, re.I):
            return base.error_outcome("SSLCertVerificationError", None, text, mapped)
        if re.search(r"SSL|TLS|handshake|alert", text, re.I):
            return base.error_outcome("SSLError", None, text, mapped)
        return base.error_outcome("SMTPServerDisconnected", None, text, mapped)
    if code == "EPROTOCOL":
        if rc is None:
            return base.error_outcome("SMTPServerDisconnected", None, text, mapped)
        if command == "CONN":
            return base.error_outcome("SMTPConnectError", rc, message, mapped)
        if command in ("EHLO", "HELO", "LHLO"):
            return base.error_outcome("SMTPHeloError", rc, message, mapped)
        return base.refusal_outcome(transcript, message, mapped)
    return base.error_outcome(base.UNMAPPED, rc, text, mapped + " (not in the table)")
