"""The scenario matrix: every scenario file with a client section, over every transport it
declares, against every client (the C++ client through smtp-scenario-client, Python's smtplib
in-process). One `smtp-fakeserver serve` per xdist worker serves every file × transport at once;
each run's session report is found by the client's own address (the report's `peer`), or, for
Unix sockets (whose peers have no name), by listener in arrival order (a worker runs one test
at a time).

The scenarios are read once per process with the one parser: `smtp-fakeserver dump --lines`.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.clients import REPO

# The corpus; SMTPKIT_SCENARIOS_DIR points the matrix elsewhere (the harness's own tests do).
SCENARIOS = Path(os.environ.get("SMTPKIT_SCENARIOS_DIR") or REPO / "scenarios").resolve()
TRANSPORTS = ("plain", "unix", "starttls", "tls")
MATRIX_CLIENTS = ("cpp", "cpp-async", "smtplib")
# The fake server's step timeout: a client that stalls longer has diverged (the runs' own
# timeouts are shorter, see scenarios/timeouts).
STEP_TIMEOUT = "5"
# How long a run waits for its session report after the client has finished.
SESSION_WAIT = 15.0
# The C++ driver's process deadline: a run that takes longer is stuck.
DRIVER_DEADLINE = 60.0


def build_dir() -> Path:
    """$SMTPKIT_BUILD_DIR, else the first of build/ci, build/dev, build/* holding
    bin/smtp-scenario-client."""
    env = os.environ.get("SMTPKIT_BUILD_DIR")
    if env:
        return Path(env).resolve()
    candidates = [REPO / "build" / "ci", REPO / "build" / "dev"]
    candidates += sorted(p for p in (REPO / "build").glob("*") if p not in candidates)
    for c in candidates:
        if (c / "bin" / "smtp-scenario-client").is_file() and (c / "bin" / "smtp-fakeserver").is_file():
            return c
    return candidates[0]


def fakeserver_binary() -> Path:
    return build_dir() / "bin" / "smtp-fakeserver"


def driver_binary() -> Path:
    return build_dir() / "bin" / "smtp-scenario-client"


def missing_reason() -> str | None:
    for b in (fakeserver_binary(), driver_binary()):
        if not (b.is_file() and os.access(b, os.X_OK)):
            return f"{b.name} is not built ({b} does not exist; run ./ci/build.sh)"
    return None


def scenario_files() -> list[Path]:
    return sorted(SCENARIOS.rglob("*.scn"))


def arg_path(path: Path) -> str:
    """A scenario path as given to the tools: relative to the repository when inside it, so reports
    say `scenarios/x.scn:12`."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path.resolve())


def rel(path: Path | str) -> str:
    """A scenario's name in ids and reports: its path under scenarios/."""
    return str(Path(path).resolve().relative_to(SCENARIOS.resolve()))


def category(file: str) -> str:
    """The folder of a scenario given by its path under scenarios/ (`refusals/x.scn` -> refusals)."""
    return file.split("/", 1)[0]


# -- the one parser's view of the corpus ------------------------------------------------------

@dataclass
class Corpus:
    scenarios: dict[str, dict] = field(default_factory=dict)  # rel path -> dump
    errors: dict[str, str] = field(default_factory=dict)      # rel path -> parser error


_CORPUS: Corpus | None = None


def _dump(files: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run([str(fakeserver_binary()), "dump", "--lines", *map(str, files)],
                          cwd=REPO, capture_output=True, timeout=60)


def corpus() -> Corpus:
    """Every scenario file, parsed once per process (cached)."""
    global _CORPUS
    if _CORPUS is not None:
        return _CORPUS
    out = Corpus()
    files = [Path(arg_path(f)) for f in scenario_files()]
    proc = _dump(files)
    if proc.returncode == 0:
        for line in proc.stdout.decode().splitlines():
            d = json.loads(line)
            out.scenarios[rel(REPO / d["file"])] = d
    else:  # some file does not parse: find which, keep the rest
        for f in files:
            p = _dump([f])
            if p.returncode == 0:
                d = json.loads(p.stdout.decode().splitlines()[0])
                out.scenarios[rel(REPO / d["file"])] = d
            else:
                out.errors[rel(REPO / f)] = p.stderr.decode("utf-8", "replace").strip()
    _CORPUS = out
    return out


def runnable(d: dict) -> bool:
    """A file the matrix runs: it has client calls and the fake server can play it."""
    return bool(d["client"]["calls"]) and "server" in d["roles"]


# -- the fake server, one per worker ----------------------------------------------------------

class ServerPool:
    """One `smtp-fakeserver serve` for every runnable file × declared transport."""

    def __init__(self, files: list[str], workdir: Path, cert: Path | None, key: Path | None,
                 cert_sets: dict[str, tuple[Path, Path]] | None = None):
        sockets = workdir / "sockets"
        sockets.mkdir(parents=True, exist_ok=True)
        argv = [str(fakeserver_binary()), "serve", "--unix-dir", str(sockets),
                "--step-timeout", STEP_TIMEOUT, "--quiet"]
        for t in TRANSPORTS:
            argv += ["--transport", t]
        if cert and key:
            argv += ["--cert", str(cert), "--key", str(key)]
        # One process serves every certificate: each listener uses its scenario's `server-cert:`.
        for kind, (c, k) in sorted((cert_sets or {}).items()):
            argv += ["--cert-set", f"{kind}={c},{k}"]
        argv += [arg_path(SCENARIOS / f) for f in files]
        self.argv = argv
        self.stderr_path = workdir / "fakeserver.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self._stderr)
        self.listeners: dict[tuple[str, str], dict] = {}
        self.skipped: dict[tuple[str, str], str] = {}
        self._by_peer: dict[str, dict] = {}
        self.fatal: str | None = None  # the server's `fatal` event, when it failed as a whole
        self._by_listener: dict[str, list[dict]] = {}
        self._cond = threading.Condition()
        ready: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(ready,), daemon=True)
        self._reader.start()
        try:
            ok = ready.get(timeout=60)
        except queue.Empty:
            ok = False
        if not ok:
            self.stop()
            raise RuntimeError(f"smtp-fakeserver did not get ready: {self.stderr_tail()}")

    def _read(self, ready: queue.Queue) -> None:
        signalled = False
        for raw in self.proc.stdout:
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            kind = ev.get("event")
            if kind == "listening":
                self.listeners[(rel(REPO / ev["scenario"]), ev["transport"])] = ev
            elif kind == "skipped":
                self.skipped[(rel(REPO / ev["scenario"]), ev["transport"])] = ev.get("reason", "")
            elif kind == "ready":
                signalled = True
                ready.put(True)
            elif kind == "fatal":
                with self._cond:
                    self.fatal = ev.get("error") or "(no reason given)"
                    self._cond.notify_all()
            elif kind == "session":
                with self._cond:
                    if ev.get("peer") and ev["peer"] != "unix":
                        self._by_peer[ev["peer"]] = ev
                    self._by_listener.setdefault(ev.get("listener", ""), []).append(ev)
                    self._cond.notify_all()
        if not signalled:
            ready.put(False)
        with self._cond:
            self._cond.notify_all()

    def stderr_tail(self) -> str:
        try:
            return self.stderr_path.read_bytes()[-3000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def failure(self) -> str | None:
        """Why the fake server no longer serves (None while it does): its `fatal` event, or how
        its process ended (a signal such as SIGSEGV). Every run of this worker then fails with
        this reason, not with an unexplained missing session report."""
        status = self.proc.poll()
        if status is None and self.fatal is None:
            return None
        parts = []
        if self.fatal is not None:
            parts.append(f"fatal error: {self.fatal}")
        if status is not None:
            if status < 0:
                try:
                    name = signal.Signals(-status).name
                except ValueError:
                    name = f"signal {-status}"
                parts.append(f"killed by {name}")
            else:
                parts.append(f"exited with status {status}")
        tail = self.stderr_tail().strip().splitlines()[-5:]
        if tail:
            parts.append("stderr: " + " | ".join(tail))
        return "the fake server is down (" + "; ".join(parts) + ")"

    def listener(self, file: str, transport: str) -> dict | None:
        return self.listeners.get((file, transport))

    @staticmethod
    def _listener_key(listener: dict) -> str:
        if listener["transport"] == "unix":
            return listener["path"]
        return f"{listener['host']}:{listener['port']}"

    def session(self, listener: dict, peer: str | None, timeout: float = SESSION_WAIT) -> dict | None:
        """The report of the run's session: by peer for TCP; otherwise the oldest unclaimed
        session on the listener."""
        key = self._listener_key(listener)
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                found = None
                if peer:
                    found = self._by_peer.pop(peer, None)
                    if found is not None:
                        pending = self._by_listener.get(key, [])
                        if found in pending:
                            pending.remove(found)
                else:
                    pending = self._by_listener.get(key, [])
                    if pending:
                        found = pending.pop(0)
                        self._by_peer.pop(found.get("peer", ""), None)
                if found is not None:
                    return found
                left = end - time.monotonic()
                if left <= 0 or self.proc.poll() is not None or self.fatal is not None:
                    return None
                self._cond.wait(left)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        self._stderr.close()


# -- certificates -------------------------------------------------------------------------------

@dataclass
class Certs:
    ca: Path
    cert: Path
    key: Path
    # The other certificates a scenario's `server-cert:` can choose: kind -> (chain PEM, key PEM).
    sets: dict[str, tuple[Path, Path]] = field(default_factory=dict)


SERVER_NAMES = ("localhost", "127.0.0.1", "::1")


def _write_issued(issued, cert: Path, key: Path) -> None:
    """A trustme LeafCert as a chain file (leaf first) and a key file."""
    cert.write_bytes(b"".join(p.bytes() for p in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(key))


def _self_signed(cert: Path, key: Path) -> None:
    """A leaf certificate for the loopback names that signs itself (no CA vouches for it)."""
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    built = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
             .public_key(private.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=30))
             .add_extension(x509.SubjectAlternativeName(
                 [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                  x509.IPAddress(ipaddress.ip_address("::1"))]), critical=False)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .sign(private, hashes.SHA256()))
    cert.write_bytes(built.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))


def make_certs(directory: Path) -> Certs:
    """A throwaway CA (the one the clients trust) and the server certificates the scenarios can
    choose with `server-cert:` (scenarios/FORMAT.md, "Certificates"):

    good          issued by the CA for localhost / 127.0.0.1 / ::1
    wrong-name    issued by the CA for wrong-name.example only
    expired       issued by the CA for the loopback names, valid 2000-01-01 .. 2001-01-01
    self-signed   for the loopback names, signed by its own key
    untrusted-ca  for the loopback names, issued by a second CA nobody trusts
    """
    import datetime

    import trustme
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    certs = Certs(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    ca.cert_pem.write_to_path(str(certs.ca))
    _write_issued(ca.issue_cert(*SERVER_NAMES), certs.cert, certs.key)

    def kind(name: str) -> tuple[Path, Path]:
        pair = (directory / f"{name}.pem", directory / f"{name}.key")
        certs.sets[name] = pair
        return pair

    _write_issued(ca.issue_cert("wrong-name.example"), *kind("wrong-name"))
    _write_issued(ca.issue_cert(*SERVER_NAMES, not_after=datetime.datetime(2001, 1, 1)),
                  *kind("expired"))
    _self_signed(*kind("self-signed"))
    _write_issued(trustme.CA().issue_cert(*SERVER_NAMES), *kind("untrusted-ca"))
    return certs


# -- the C++ driver --------------------------------------------------------------------------------

@dataclass
class DriverRun:
    outcome: dict
    local: str | None
    trace: list[str]
    seconds: float
    raw: str = ""


def run_cpp(file: str, listener: dict, cafile: Path | None, async_api: bool = False) -> DriverRun:
    """One run of smtp-scenario-client (with --async: the client's async API, `cpp-async`)."""
    argv = [str(driver_binary()), "--scenario", arg_path(SCENARIOS / file),
            "--transport", listener["transport"]]
    if async_api:
        argv.append("--async")
    if listener["transport"] == "unix":
        argv += ["--unix", listener["path"]]
    else:
        argv += ["--host", listener["host"], "--port", str(listener["port"])]
    if cafile:
        argv += ["--cafile", str(cafile)]
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, timeout=DRIVER_DEADLINE)
    seconds = time.monotonic() - started
    text = proc.stdout.decode("utf-8", "replace")
    try:
        data = json.loads(text.strip().splitlines()[-1])
    except (ValueError, IndexError):
        status = proc.returncode
        return DriverRun({"ok": False, "error": {"type": "DriverFailed", "types": ["DriverFailed"],
                                                 "code": None,
                                                 "message": f"exit {status}, stdout {text!r}, stderr "
                                                            f"{proc.stderr.decode('utf-8', 'replace')[-2000:]!r}"}},
                         None, [], seconds, text)
    return DriverRun(data["outcome"], data.get("local"), data.get("trace", []), seconds, text)


# -- outcomes ---------------------------------------------------------------------------------------

def _describe_result(result: dict) -> str:
    """One message of sendmail_many, as `results=` writes it: `ok` or `SMTPDataError:554`."""
    if result.get("ok"):
        return "ok"
    e = result.get("error") or {}
    return f"{e.get('type')}:{e['code']}" if e.get("code") is not None else f"{e.get('type')}"


def describe(outcome: dict) -> str:
    """One line: `ok reply=221 refused=carol@example.org:550 results=ok,SMTPDataError:554` or
    `raises SMTPSenderRefused 553 (text)`."""
    if "unsupported" in outcome:
        return f"unsupported: {outcome['unsupported']}"
    if outcome.get("ok"):
        parts = ["ok"]
        if outcome.get("reply"):
            parts.append(f"reply={outcome['reply'][0]}")
        if outcome.get("refused"):
            parts.append("refused=" + ",".join(f"{a}:{v[0]}" for a, v in outcome["refused"].items()))
        if outcome.get("results") is not None:
            parts.append("results=" + ",".join(_describe_result(r) for r in outcome["results"]))
        return " ".join(parts)
    e = outcome.get("error") or {}
    code = f" {e['code']}" if e.get("code") is not None else ""
    return f"raises {e.get('type')}{code} ({e.get('message', '')!s:.200})"


def _compare_results(want: list[dict], got: list[dict] | None) -> list[str]:
    """sendmail_many's results, message by message (1-based in the messages)."""
    if got is None:
        return [f"expected results for {len(want)} message(s), the client reported none "
                "(no sendmail_many result)"]
    if len(got) != len(want):
        return [f"expected results for {len(want)} message(s), got {len(got)}: "
                + ",".join(_describe_result(r) for r in got)]
    problems = []
    for i, (w, g) in enumerate(zip(want, got), start=1):
        if w["result"] == "ok":
            if not g.get("ok"):
                e = g.get("error") or {}
                problems.append(f"message {i}: expected ok, got {_describe_result(g)} "
                                f"({e.get('message', '')!s:.200})")
            continue
        if g.get("ok"):
            problems.append(f"message {i}: expected {w['exception']}, got ok")
            continue
        problems += _exception_problems(w, g.get("error") or {}, f"message {i}: ")
    return problems


def _exception_problems(want: dict, error: dict, prefix: str = "") -> list[str]:
    """An expected exception (`exception`, optional `code`) against a driver's error object: the
    class or a subclass of it (the error's `types`), and the code when one is expected."""
    problems = []
    if want["exception"] not in (error.get("types") or [error.get("type")]):
        problems.append(f"{prefix}expected {want['exception']} (or a subclass), got "
                        f"{error.get('type')} (classes {error.get('types')})")
    if want.get("code") is not None and error.get("code") != want["code"]:
        problems.append(f"{prefix}expected code {want['code']}, got {error.get('code')}")
    return problems


def compare(expect: dict, outcome: dict) -> list[str]:
    """What differs between the scenario's expected outcome (dump form) and a driver's outcome."""
    problems = []
    if expect["result"] == "ok":
        if not outcome.get("ok"):
            return [f"expected `{expect['text']}`, got {describe(outcome)}"]
        want_reply = expect.get("reply")
        if want_reply is not None:
            got = (outcome.get("reply") or [None])[0]
            if got != want_reply:
                problems.append(f"expected the last reply {want_reply}, got {got}")
        got_refused = {a: v[0] for a, v in (outcome.get("refused") or {}).items()}
        if got_refused != (expect.get("refused") or {}):
            problems.append(f"expected refused {expect.get('refused') or {}}, got {got_refused}")
        if expect.get("results") is not None:
            problems += _compare_results(expect["results"], outcome.get("results"))
        return problems
    if outcome.get("ok"):
        return [f"expected `{expect['text']}`, got {describe(outcome)}"]
    return _exception_problems(expect, outcome.get("error") or {})


def render_session(report: dict | None) -> str:
    """The server's view: divergence (file:line, expected, received, reason) and the transcript
    with CR and LF visible (the report has them escaped already)."""
    if report is None:
        return "no session report from the fake server"
    lines = []
    div = report.get("divergence")
    if div:
        lines.append(f"session DIVERGED at {div.get('where')}")
        lines.append(f"  expected: {div.get('expected')}")
        lines.append(f"  received: {div.get('received')}")
        lines.append(f"  reason:   {div.get('reason')}")
    else:
        lines.append(f"session followed the script ({'ok' if report.get('ok') else 'not ok'})")
    lines.append("transcript (server's view, CR/LF visible):")
    for t in report.get("transcript") or []:
        lines.append(f"  {t.get('t_ms', 0):8.2f}ms {t.get('from')}: {t.get('data')}")
    if report.get("transcript_truncated"):
        lines.append("  ... (truncated)")
    return "\n".join(lines)
