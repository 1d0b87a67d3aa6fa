"""Reproduce one scenario: play FILE with the fake server over one transport and run the client
section against it with the C++ client (smtp-scenario-client) and/or Python's smtplib, printing
each client's debug trace, the server's step report (divergence file:line, transcript with CR/LF
visible) and a verdict.

    /usr/bin/python3 -m harness.reproduce FILE [--transport T]
                                         [--client cpp|cpp-async|smtplib|both|all]

`both` is cpp and smtplib, `all` adds cpp-async (the C++ client's async API). A client the file's
`clients:` header leaves out is not run: its verdict is SKIP with the file's `note-clients:`.

Exit status: 0 every client run ended as the file expects and the server's session followed the
script (at least one client ran), 1 some did not, 2 the file or the command line is wrong / the
tools are not built.

It reuses the matrix's pieces (harness/matrix.py: the dump, the C++ driver runner, the outcome
comparison, the session rendering, the certificates), so a file reproduces exactly as the matrix
would run it.
"""

from __future__ import annotations

import argparse
import json
import queue
import ssl
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from harness import matrix
from harness.drivers import smtplib_scenario

REPO = Path(__file__).resolve().parent.parent


def dump(path: Path) -> dict:
    """The one parser's view of FILE (raises ValueError with the parser's file:line message)."""
    proc = subprocess.run([str(matrix.fakeserver_binary()), "dump", "--lines", str(path)],
                          capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise ValueError(proc.stderr.decode("utf-8", "replace").strip())
    return json.loads(proc.stdout.decode().splitlines()[0])


def needs_certs(scenario: dict, transport: str) -> bool:
    return transport in ("tls", "starttls") or any(
        s.get("kind") in ("starttls", "expect_tls_reject") for s in scenario.get("steps", []))


@dataclass
class Served:
    """`smtp-fakeserver serve` for one file over one transport; session reports as they come."""
    proc: subprocess.Popen
    listener: dict
    sessions: "queue.Queue[dict]"
    stderr: list[str] = field(default_factory=list)

    def session(self, timeout: float = matrix.SESSION_WAIT) -> dict | None:
        try:
            return self.sessions.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def serve(path: Path, transport: str, workdir: Path, certs: matrix.Certs | None) -> Served:
    """Starts the fake server on port 0 (or a socket in workdir) and waits for its ready line."""
    argv = [str(matrix.fakeserver_binary()), "serve", "--transport", transport,
            "--step-timeout", matrix.STEP_TIMEOUT, "--unix-dir", str(workdir)]
    if certs:
        argv += ["--cert", str(certs.cert), "--key", str(certs.key)]
        for kind, (c, k) in sorted(certs.sets.items()):
            argv += ["--cert-set", f"{kind}={c},{k}"]
    argv.append(str(path))
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    sessions: queue.Queue = queue.Queue()
    ready: queue.Queue = queue.Queue()
    served = Served(proc, {}, sessions)

    def read_stdout() -> None:
        listener = None
        for raw in proc.stdout:
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            if ev.get("event") == "listening":
                listener = ev
            elif ev.get("event") == "skipped":
                ready.put(("skipped", ev.get("reason", "")))
            elif ev.get("event") == "ready":
                ready.put(("ready", listener))
            elif ev.get("event") == "session":
                sessions.put(ev)
        ready.put(("exit", None))

    def read_stderr() -> None:
        for raw in proc.stderr:
            served.stderr.append(raw.decode("utf-8", "replace").rstrip("\n"))

    threading.Thread(target=read_stdout, daemon=True).start()
    threading.Thread(target=read_stderr, daemon=True).start()
    while True:
        kind, value = ready.get(timeout=60)
        if kind == "skipped":
            served.stop()
            raise ValueError(f"the fake server cannot serve {path} over {transport}: {value}")
        if kind == "exit":
            raise ValueError("smtp-fakeserver exited before it was ready:\n" + "\n".join(served.stderr))
        if kind == "ready" and value:
            served.listener = value
            return served


@dataclass
class Verdict:
    client: str
    outcome: dict
    trace: list[str]
    outcome_problems: list[str]  # the client's outcome vs the file's `expect:`
    session_problems: list[str]  # the server's session vs the script
    session: dict | None
    skipped: str = ""  # not run: the file's `clients:` leaves this client out (the note says why)

    @property
    def problems(self) -> list[str]:
        return self.outcome_problems + self.session_problems

    @property
    def passed(self) -> bool:
        return not self.skipped and not self.problems


def run_client(client: str, path: Path, scenario: dict, served: Served,
               certs: matrix.Certs | None) -> Verdict:
    """One client against the served file: its outcome vs `expect:` (or `expect-smtplib:`), and
    the server's session report (it must have followed the script)."""
    if client in ("cpp", "cpp-async"):
        run = matrix.run_cpp(str(path), served.listener, certs.ca if certs else None,
                             async_api=client == "cpp-async")
        outcome, trace = run.outcome, run.trace
    else:
        context = ssl.create_default_context(cafile=str(certs.ca)) if certs else None
        r = smtplib_scenario.run(scenario, served.listener, context)
        outcome, trace = r.outcome, r.trace
    session = served.session()
    client_section = scenario["client"]
    expect = client_section["expect"]
    if client == "smtplib" and client_section.get("expect_smtplib"):
        expect = client_section["expect_smtplib"]
    problems: list[str] = []
    if "unsupported" in outcome:
        problems.append(f"the client cannot run this file: {outcome['unsupported']}")
    elif expect is None:
        problems.append("the file has no `expect:` line")
    else:
        problems += matrix.compare(expect, outcome)
    smtplib_differs = client == "smtplib" and client_section.get("expect_smtplib")
    session_problems = []
    if session is None:
        session_problems.append("no session report from the fake server")
    elif not session.get("ok") and not smtplib_differs:
        div = session.get("divergence") or {}
        session_problems.append(f"the server's session diverged at {div.get('where')}: "
                                f"{div.get('reason')}")
    return Verdict(client, outcome, trace, problems, session_problems, session)


def reproduce(path: Path, transport: str | None, clients: list[str],
              out=sys.stdout) -> list[Verdict]:
    scenario = dump(path)
    declared = scenario.get("transports") or ["plain"]
    transport = transport or declared[0]
    if transport not in declared:
        raise ValueError(f"{path} does not declare transport {transport} (it declares "
                         f"{', '.join(declared)})")
    if not scenario["client"]["calls"]:
        raise ValueError(f"{path} has no client section (client: / expect: lines) to run")
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="smtpkit-reproduce-") as tmp:
        certs = matrix.make_certs(Path(tmp) / "certs") if needs_certs(scenario, transport) else None
        served = serve(path, transport, Path(tmp), certs)
        allowed = scenario.get("clients") or []
        try:
            for client in clients:
                if allowed and client not in allowed:
                    v = Verdict(client, {}, [], [], [], None,
                                skipped=scenario.get("clients_note") or "left out by `clients:`")
                else:
                    v = run_client(client, path, scenario, served, certs)
                verdicts.append(v)
                report(v, scenario, transport, out)
        finally:
            served.stop()
    return verdicts


def report(v: Verdict, scenario: dict, transport: str, out) -> None:
    expect = scenario["client"]["expect"] or {}
    print(f"=== {scenario['file']} over {transport} with the {v.client} client", file=out)
    if v.skipped:
        print(f"VERDICT ({v.client}): SKIP (the file's clients: leaves it out: {v.skipped})",
              file=out)
        print(file=out)
        return
    print(f"expected: {expect.get('text')}", file=out)
    print(f"got:      {matrix.describe(v.outcome)}", file=out)
    print("client trace:", file=out)
    for line in v.trace:
        print(f"  {line}", file=out)
    print(matrix.render_session(v.session), file=out)
    if v.session:
        print("server steps:", file=out)
        for st in v.session.get("steps", []):
            print(f"  {st.get('status', ''):11} {st.get('where', '')}  {st.get('text', '')}", file=out)
    if v.passed:
        print(f"VERDICT ({v.client}): PASS", file=out)
    else:
        print(f"VERDICT ({v.client}): FAIL", file=out)
        for p in v.problems:
            print(f"  - {p}", file=out)
    print(file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m harness.reproduce", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="a scenario file (.scn)")
    parser.add_argument("--transport", choices=matrix.TRANSPORTS,
                        help="default: the first transport the file declares")
    parser.add_argument("--client", choices=("cpp", "cpp-async", "smtplib", "both", "all"),
                        default="cpp")
    args = parser.parse_args(argv)
    missing = matrix.missing_reason()
    if missing:
        print(f"reproduce: {missing}", file=sys.stderr)
        return 2
    clients = {"both": ["cpp", "smtplib"], "all": ["cpp", "cpp-async", "smtplib"]}.get(
        args.client, [args.client])
    try:
        verdicts = reproduce(args.file.resolve(), args.transport, clients)
    except ValueError as e:
        print(f"reproduce: {e}", file=sys.stderr)
        return 2
    ran = [v for v in verdicts if not v.skipped]
    ok = bool(ran) and all(v.passed for v in ran)
    each = ", ".join(f"{v.client}: {'skip' if v.skipped else 'pass' if v.passed else 'fail'}"
                     for v in verdicts)
    print(f"reproduce: {'PASS' if ok else 'FAIL'} ({each})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
