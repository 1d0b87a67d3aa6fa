#!/usr/bin/python3
"""Benchmark (not a test): smtp-fakeserver's sink mode and scenario replay against Postfix's
smtp-sink, both loaded by Postfix's smtp-source, side by side in one run; then idle connections
held and the server's memory for them.

    /usr/bin/python3 fakeserver/bench/sink_vs_smtp_sink.py [--build build/ci] [--sessions 20]
        [--messages 5000] [--size 1024] [--rounds 3] [--idle 10000]

Prints one line per measurement and the ratios. Every server listens on loopback; smtp-sink
cannot report a port-0 bind, so its port is picked free just before it starts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

REPLAY = """\
description: the exchange smtp-source makes (one message per connection), replayed
S: 220 bench.example ESMTP
C: HELO *
S: 250 bench.example
C: MAIL FROM:*
S: 250 2.1.0 Ok
C: RCPT TO:*
S: 250 2.1.5 Ok
C: DATA
S: 354 End data with <CR><LF>.<CR><LF>
data
S: 250 2.0.0 Ok
C: QUIT
S: 221 2.0.0 Bye
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_fakeserver(binary: Path, args: list[str]):
    proc = subprocess.Popen([str(binary), *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    port = None
    for line in proc.stdout:
        ev = json.loads(line)
        if ev["event"] == "listening":
            port = ev["port"]
        if ev["event"] == "ready":
            break
    # Keep reading: session reports go to stdout and a full pipe would stall the server.
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, port


def wait_listening(port: int, deadline: float = 10):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)  # smtp-sink has no readiness line: poll its port
    raise RuntimeError(f"nothing listening on {port}")


def load(port: int, sessions: int, messages: int, size: int) -> float:
    start = time.monotonic()
    subprocess.run(["smtp-source", "-s", str(sessions), "-m", str(messages), "-l", str(size),
                    f"127.0.0.1:{port}"], check=True, stdout=subprocess.DEVNULL)
    return messages / (time.monotonic() - start)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def idle_connections(binary: Path, count: int) -> tuple[int, int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    count = min(count, hard - 100)
    proc, port = start_fakeserver(binary, ["sink", "--quiet"])
    time.sleep(0.2)
    before = rss_kib(proc.pid)
    conns = []
    try:
        for _ in range(count):
            c = socket.create_connection(("127.0.0.1", port))
            conns.append(c)
        # every one has its greeting: the server holds them all
        for c in conns:
            c.settimeout(10)
            assert c.recv(100).startswith(b"220")
        after = rss_kib(proc.pid)
        # still serving a new client while holding them
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            assert c.recv(100).startswith(b"220")
    finally:
        for c in conns:
            c.close()
        proc.terminate()
        proc.wait()
    return count, before, after


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("SMTPKIT_BUILD_DIR", "build/ci"))
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--idle", type=int, default=10000)
    a = ap.parse_args()
    binary = (ROOT / a.build / "bin" / "smtp-fakeserver").resolve()
    for tool in ("smtp-source", "smtp-sink"):
        if shutil.which(tool) is None:
            print(f"{tool} not found (Debian package postfix)", file=sys.stderr)
            return 2
    if not binary.exists():
        print(f"{binary} not built", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="fakeserver-bench-"))
    scn = tmp / "replay.scn"
    scn.write_text(REPLAY)
    results: dict[str, list[float]] = {"smtp-sink": [], "fakeserver sink": [],
                                       "fakeserver sink+Maildir": [], "fakeserver replay": []}
    print(f"smtp-source -s {a.sessions} -m {a.messages} -l {a.size}, {a.rounds} rounds, "
          f"{os.cpu_count()} CPUs, {binary}")
    for r in range(a.rounds):
        port = free_port()
        sink = subprocess.Popen(["smtp-sink", "-u", "nobody", f"127.0.0.1:{port}", "1024"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_listening(port)
            results["smtp-sink"].append(load(port, a.sessions, a.messages, a.size))
        finally:
            sink.terminate()
            sink.wait()
        for name, args in (("fakeserver sink", ["sink", "--quiet"]),
                           ("fakeserver sink+Maildir",
                            ["sink", "--quiet", "--maildir", str(tmp / f"Maildir{r}")]),
                           ("fakeserver replay", ["serve", "--quiet", "--reports", os.devnull, str(scn)])):
            proc, port = start_fakeserver(binary, args)
            try:
                results[name].append(load(port, a.sessions, a.messages, a.size))
            finally:
                proc.terminate()
                proc.wait()
        print("round", r + 1, ", ".join(f"{k} {v[-1]:.0f}/s" for k, v in results.items()))
    med = {k: statistics.median(v) for k, v in results.items()}
    print("\nmedian messages per second (one message per connection):")
    for k, v in med.items():
        print(f"  {k:26s} {v:8.0f}")
    print(f"  sink / smtp-sink          {med['fakeserver sink'] / med['smtp-sink']:8.2f}")
    print(f"  replay / sink             {med['fakeserver replay'] / med['fakeserver sink']:8.2f}")
    if a.idle:
        n, before, after = idle_connections(binary, a.idle)
        print(f"\nidle connections held: {n}; server RSS {before} KiB -> {after} KiB "
              f"({(after - before) * 1024 / max(n, 1):.0f} bytes per connection)")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
