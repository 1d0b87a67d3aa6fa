"""Go's net/smtp (standard library), through harness/drivers/go-smtp/main.go, built with
Debian's golang-go into the driver cache (base.cache_dir(), keyed by the source's hash; never
committed; no module is fetched: GOPROXY=off, standard library only).

net/smtp is a library, so more of the corpus runs than with the command-line tools: ehlo,
starttls, login (AUTH PLAIN: net/smtp's PlainAuth; it has no LOGIN), login_oauth2 (XOAUTH2, a
ten-line smtp.Auth), sendmail (Mail, Rcpt for each, Data: what a Go program writes; refused
recipients are collected, every one refused is SMTPRecipientsRefused), mail, rcpt, data, noop,
rset, verify, has_extn, quit, close. No LMTP, no HELO-only, no ESMTP parameters. A successful
call's reply is the code net/smtp checked (it returns no reply). Errors are Go values, mapped by
kind: *textproto.Error (a reply: the class by the command it answered), io.EOF / ECONNRESET
(SMTPServerDisconnected), net.Error.Timeout (TimeoutError), x509 errors
(SSLCertVerificationError), other TLS errors (SSLError).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from harness.drivers.external import base

# The calls main.go makes (scenarios/FORMAT.md's names).
CALLS = {"ehlo", "ehlo_or_helo_if_needed", "starttls", "login", "login_oauth2", "sendmail", "mail",
         "rcpt", "data", "noop", "rset", "verify", "has_extn", "quit", "close"}
SOURCE = Path(__file__).resolve().parent.parent / "go-smtp" / "main.go"

KIND_TABLE = {
    "reply": "refusal: the class by the command the reply answered (base.STAGE_CLASS)",
    "all-refused": "SMTPRecipientsRefused",
    "disconnected": "SMTPServerDisconnected",
    "timeout": "SMTPTimeoutError",
    "cert": "SSLCertVerificationError",
    "tls": "SSLError",
    "protocol": "SMTPServerDisconnected",  # textproto.ProtocolError: a malformed reply line
    "connect": "ConnectionRefusedError",
    "not-supported": "SMTPNotSupportedError",
}


def binary() -> Path:
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    return base.cache_dir() / f"go-smtp-{digest}" / "go-smtp-driver"


def build() -> str | None:
    """Builds the driver once (a lock keeps xdist workers from building it twice); None when it
    is there, else why it cannot be."""
    if shutil.which("go") is None:
        return "go is not installed (Debian package golang-go; ./ci/install-deps.sh)"
    target = binary()
    if target.exists():
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return None
        cache = base.cache_dir()
        env = {**os.environ, "GOPROXY": "off", "GOFLAGS": "-mod=mod", "GO111MODULE": "off",
               "GOCACHE": str(cache / "gocache"), "GOPATH": str(cache / "gopath"),
               "CGO_ENABLED": "0"}
        tmp = target.with_suffix(".tmp")
        try:
            proc = subprocess.run(["go", "build", "-o", str(tmp), str(SOURCE)], env=env,
                                  capture_output=True, timeout=600, cwd=target.parent)
        except subprocess.TimeoutExpired:
            return "go build of the net/smtp driver took longer than 600 s"
        if proc.returncode != 0:
            return f"go build of {SOURCE} failed: {proc.stderr.decode('utf-8', 'replace')[-500:]}"
        tmp.rename(target)
    return None


class GoSmtp(base.Driver):
    name = "go-smtp"
    package = "Go's net/smtp (Debian golang-go), harness/drivers/go-smtp/main.go"
    mapping = "error object"
    transports = ("plain", "starttls", "tls", "unix")
    lmtp = False
    handshake_only = True
    _missing: str | None = None
    _checked = False

    def missing_reason(self) -> str | None:
        if not self._checked:
            GoSmtp._missing = build()
            GoSmtp._checked = True
        return self._missing

    def version(self) -> str:
        return base.first_line(["go", "version"]) + " net/smtp"

    def unsupported(self, scenario, transport):
        if transport not in self.transports:
            return None, f"{self.name} cannot connect over {transport}"
        if scenario["protocol"] == "lmtp":
            return None, "net/smtp does not speak LMTP (no LHLO, one reply after the dot)"
        for i, call in enumerate(scenario["client"]["calls"]):
            if call["name"] not in CALLS:
                return None, (f"go-smtp: call {i + 1} `{call['name']}`: net/smtp has no such call "
                              "(its Client: Hello, StartTLS, Auth, Mail, Rcpt, Data, Reset, Noop, "
                              "Verify, Extension, Quit, Close)")
            if call["kwargs"] and call["name"] in ("sendmail", "mail", "rcpt", "login", "login_oauth2"):
                return None, (f"go-smtp: call {i + 1} `{call['name']}`: net/smtp's Mail and Rcpt "
                              "take no ESMTP parameters, Auth no options")
        return scenario, None

    def run(self, scenario: dict, listener: dict, cafile: Path, workdir: Path) -> base.ExternalRun:
        _, reason = self.unsupported(scenario, listener["transport"])
        if reason:
            return base.ExternalRun({"unsupported": reason})
        section = scenario["client"]
        options = section["options"]
        request = {"transport": listener["transport"], "host": listener.get("host", ""),
                   "port": listener.get("port", 0), "path": listener.get("path", ""),
                   "cafile": str(cafile),
                   "timeout": float(options.get("timeout", base.DEFAULT_TIMEOUT)),
                   "local_hostname": options.get("local_hostname", ""),
                   "message": section.get("message") or "",
                   "calls": [{"name": c["name"], "args": c["args"], "kwargs": c["kwargs"]}
                             for c in section["calls"]]}
        run = base.run_process([str(binary())], stdin=json.dumps(request).encode())
        try:
            data = json.loads(run.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            run.outcome = base.error_outcome(base.UNMAPPED, None, run.stderr[-500:],
                                             f"go-smtp-driver exit {run.exit_code}, no JSON")
            return run
        run.local = data.get("local")
        run.trace = data.get("trace") or []
        run.outcome = outcome(data["result"])
        return run


def outcome(result: dict) -> dict:
    if "unsupported" in result:
        return {"unsupported": f"go-smtp: {result['unsupported']}"}
    if result.get("ok"):
        return {"ok": True, "reply": result.get("reply"), "refused": result.get("refused") or {}}
    kind, stage, code = result.get("kind"), result.get("stage"), result.get("code")
    mapped = f"net/smtp error kind {kind} in {result.get('call')} (stage {stage})"
    if kind == "reply":
        cls = base.STAGE_CLASS.get(stage, "SMTPResponseException")
        if stage in ("connect", "greeting"):
            cls = "SMTPConnectError"
        return base.error_outcome(cls, None if stage == "rcpt" else code, result["message"], mapped)
    if kind == "other" and stage == "auth":
        # The mechanism's own error (PlainAuth's "unexpected server challenge", "unencrypted
        # connection"): net/smtp has answered "*" and the AUTH failed.
        return base.error_outcome("SMTPAuthenticationError", None, result.get("message", ""), mapped)
    cls = KIND_TABLE.get(kind, base.UNMAPPED)
    return base.error_outcome(cls, None, result.get("message", ""), mapped)
