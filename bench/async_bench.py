#!/usr/bin/python3
"""The async client over 20 connections vs Postfix's smtp-source with 20 sessions, into the same
Postfix smtp-sink, in one run (issue 8): messages/s of each and the ratio, medians of --rounds
rounds, 1 KiB messages. smtp-source runs twice: with its default (one message per connection)
and with -d (sessions kept open, as the pool keeps its connections). The async client is
smtp-async-bench (bench/async_bench.cpp: smtp::AsyncPool of AsyncSMTP connections, one thread),
one message per call (without and with PIPELINING) and in batches of 50 through sendmail_many.

  /usr/bin/python3 bench/async_bench.py --async-bench build/ci/bin/smtp-async-bench
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from harness.servers import process  # noqa: E402
from harness.servers.smtp_sink import BACKLOG, SMTP_SINK, listening_port  # noqa: E402


class Sink:
    """smtp-sink on 127.0.0.1, port 0, no dump files (disk writes would be measured too)."""

    def __init__(self) -> None:
        argv = [SMTP_SINK]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]  # as root smtp-sink refuses to run without it
        argv += ["127.0.0.1:0", str(BACKLOG)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=process.die_with_parent)
        deadline = time.monotonic() + process.STARTUP_DEADLINE
        self.port = None
        while self.port is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("smtp-sink did not start")
            self.port = listening_port(self.proc.pid)
            if self.port is None:
                time.sleep(0.005)

    def stop(self) -> None:
        process.stop(self.proc)


def run_source(port: int, sessions: int, messages: int, size: int, keep: bool) -> float:
    argv = ["smtp-source", "-s", str(sessions), "-m", str(messages), "-l", str(size),
            "-f", "from@example.com", "-t", "rcpt@example.com"]
    if keep:
        argv.append("-d")
    t0 = time.monotonic()
    subprocess.run(argv + [f"127.0.0.1:{port}"], check=True, stdout=subprocess.DEVNULL)
    return messages / (time.monotonic() - t0)


def run_async(binary: str, port: int, connections: int, messages: int, size: int,
              pipelining: bool, many: int = 0) -> float:
    argv = [binary, "--port", str(port), "--connections", str(connections), "--messages",
            str(messages), "--size", str(size)]
    if pipelining:
        argv.append("--pipelining")
    if many:
        argv += ["--many", str(many)]
    out = subprocess.run(argv, check=True, stdout=subprocess.PIPE, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if result["ok"] != messages:
        raise RuntimeError(f"smtp-async-bench lost messages: {result}")
    return messages / result["seconds"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--async-bench", default=str(ROOT / "build/ci/bin/smtp-async-bench"))
    ap.add_argument("--connections", type=int, default=20)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="tiny: 200 messages, one round")
    a = ap.parse_args()
    if a.smoke:
        a.messages, a.rounds = 200, 1
    rows: dict[str, list[float]] = {}
    sink = Sink()
    try:
        for _ in range(a.rounds):
            rows.setdefault(f"smtp-source -s {a.connections} (1 msg/conn)", []).append(
                run_source(sink.port, a.connections, a.messages, a.size, False))
            rows.setdefault(f"smtp-source -s {a.connections} -d (kept)", []).append(
                run_source(sink.port, a.connections, a.messages, a.size, True))
            rows.setdefault(f"AsyncPool {a.connections} conns", []).append(
                run_async(a.async_bench, sink.port, a.connections, a.messages, a.size, False))
            rows.setdefault(f"AsyncPool {a.connections} conns PIPELINING", []).append(
                run_async(a.async_bench, sink.port, a.connections, a.messages, a.size, True))
            rows.setdefault(f"AsyncPool {a.connections} conns sendmail_many", []).append(
                run_async(a.async_bench, sink.port, a.connections, a.messages, a.size, True,
                          many=50))
    finally:
        sink.stop()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"async client vs smtp-source into smtp-sink: {a.messages} x {a.size} B messages, "
          f"{a.connections} connections/sessions, median of {a.rounds} rounds, load {load}")
    medians = {k: statistics.median(v) for k, v in rows.items()}
    anchor = medians[f"smtp-source -s {a.connections} (1 msg/conn)"]
    anchor_kept = medians[f"smtp-source -s {a.connections} -d (kept)"]
    for name, value in medians.items():
        print(f"  {name:<40} {value:>10.0f} msg/s  {value / anchor:5.2f}x smtp-source  "
              f"{value / anchor_kept:5.2f}x smtp-source -d")
    return 0


if __name__ == "__main__":
    sys.exit(main())
