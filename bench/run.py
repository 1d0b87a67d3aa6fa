#!/usr/bin/python3
"""Client throughput, side by side in one run: smtplib (the anchor) vs smtp::SMTP without and
with PIPELINING, 1 KiB messages over one connection into Postfix's smtp-sink; one large message
(MB/s and peak RSS of each client process); the Google Benchmark micro benchmarks. Prints the
load average with the figures: medians of --rounds rounds. --smoke: tiny sizes, one round (CTest)."""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from harness.servers.smtp_sink import SmtpSink  # noqa: E402

SMTPLIB_LOOP = r"""
import smtplib, sys, time
host, port, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
line = b"0123456789012345678901234567890123456789012345678901234567\r\n"
msg = (b"Subject: bench\r\n\r\n" + line * (size // len(line) + 1))[:size]
s = smtplib.SMTP(host, port)
t0 = time.monotonic()
for _ in range(count):
    if s.sendmail("from@example.com", ["rcpt@example.com"], msg):
        sys.exit(1)
dt = time.monotonic() - t0
s.quit()
print(f"{dt:.6f} {count}")
"""


def timed(argv: list[str]) -> tuple[float, int, int]:
    """Runs argv under /usr/bin/time -v: (seconds reported by the client, messages, peak RSS KiB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        out = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name, *argv], check=True,
                             stdout=subprocess.PIPE, text=True).stdout.split()
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", tf.read()).group(1))
    return float(out[0]), int(out[1]), rss


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--send-bench", default=str(ROOT / "build/dev/bin/smtp-send-bench"))
    ap.add_argument("--micro-bench", default=str(ROOT / "build/dev/bin/smtp-micro-bench"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--count", type=int, default=2000, help="1 KiB messages per round")
    ap.add_argument("--large-mib", type=int, default=64)
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.rounds, a.count, a.large_mib = 1, 20, 1

    with tempfile.TemporaryDirectory(prefix="smtpkit-bench-") as tmp:
        sink = SmtpSink(Path(tmp))
        # Without -d: smtp-sink discards the message, so the figures are the clients' and the wire's.
        sink.start = _start_without_dump(sink)
        sink.start()
        try:
            host, port = sink.host, str(sink.port)
            py = ["/usr/bin/python3", "-c", SMTPLIB_LOOP, host, port]
            cpp = [a.send_bench, host, port]
            rows = {
                "smtplib": py + [str(a.count), "1024"],
                "smtp::SMTP, no PIPELINING": cpp + [str(a.count), "1024", "--no-pipelining"],
                "smtp::SMTP, PIPELINING": cpp + [str(a.count), "1024"],
            }
            large = a.large_mib * 1024 * 1024
            large_rows = {
                "smtplib": py + ["1", str(large)],
                "smtp::SMTP": cpp + ["1", str(large)],
            }
            print(f"load average before: {loadavg()}")
            rates: dict[str, list[float]] = {k: [] for k in rows}
            mbs: dict[str, list[float]] = {k: [] for k in large_rows}
            rss: dict[str, list[int]] = {k: [] for k in large_rows}
            for _ in range(a.rounds):
                for name, argv in rows.items():
                    dt, n, _r = timed(argv)
                    rates[name].append(n / dt)
                for name, argv in large_rows.items():
                    dt, _n, r = timed(argv)
                    mbs[name].append(large / dt / 1e6)
                    rss[name].append(r)
            anchor = statistics.median(rates["smtplib"])
            print(f"\n1 KiB messages, one connection, into smtp-sink ({a.count} per round, "
                  f"median of {a.rounds}):")
            for name, v in rates.items():
                m = statistics.median(v)
                print(f"  {name:28s} {m:10.0f} msg/s  {m / anchor:5.2f}x smtplib")
            anchor = statistics.median(mbs["smtplib"])
            print(f"\none {a.large_mib} MiB message into smtp-sink (median of {a.rounds}; "
                  f"peak RSS of the client process, max):")
            for name, v in mbs.items():
                m = statistics.median(v)
                print(f"  {name:28s} {m:10.1f} MB/s   {m / anchor:5.2f}x smtplib   "
                      f"peak RSS {max(rss[name]) / 1024:.1f} MiB")
        finally:
            sink.stop()
    if os.path.exists(a.micro_bench):
        print("\nmicro benchmarks (Google Benchmark; memcpy is the ceiling):")
        extra = ["--benchmark_min_time=0.01"] if a.smoke else []
        out = subprocess.run([a.micro_bench, *extra], check=True, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True).stdout
        print("\n".join("  " + l for l in out.splitlines() if l.startswith("bm_")))
    print(f"\nload average after: {loadavg()}")
    return 0


def _start_without_dump(sink: SmtpSink):
    """SmtpSink.start() always adds -d DIR; the benchmark wants no disk writes, so drop it."""
    original = sink.start

    def start():
        real_popen = subprocess.Popen

        def popen(argv, *args, **kw):
            if "-d" in argv:
                i = argv.index("-d")
                argv = argv[:i] + argv[i + 2:]
            return real_popen(argv, *args, **kw)

        subprocess.Popen = popen
        try:
            return original()
        finally:
            subprocess.Popen = real_popen

    return start


if __name__ == "__main__":
    sys.exit(main())
