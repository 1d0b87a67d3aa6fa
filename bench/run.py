#!/usr/bin/python3
"""Client throughput, side by side in one run: smtplib (the anchor) vs smtp::SMTP without and
with PIPELINING, 1 KiB messages over one connection into Postfix's smtp-sink, and into
`smtp-fakeserver sink` with CHUNKING (BDAT); large messages streamed from a file (64 and 256 MiB,
1 GiB with --large) into smtp-sink (DATA) and the fake sink (BDAT), MB/s and peak RSS of each client
process; the Google Benchmark micro benchmarks. Prints the
load average with the figures: medians of --rounds rounds. --smoke: tiny sizes, one round (CTest).

Issue 20: the physical limits are measured in the same run and under the same pinning, and each
figure is printed as a ratio to its limit: memcpy (the micro benchmarks' bm_memcpy) for the body
encoder, loopback TCP with iperf3 (one stream) for the streamed bodies, `openssl speed -evp` for
TLS."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
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
path = sys.argv[5] if len(sys.argv) > 5 else None
line = b"0123456789012345678901234567890123456789012345678901234567\r\n"
s = smtplib.SMTP(host, port)
t0 = time.monotonic()
if path:
    with open(path, "rb") as f:  # smtplib needs the whole message in memory
        msg = f.read()
else:
    msg = (b"Subject: bench\r\n\r\n" + line * (size // len(line) + 1))[:size]
for _ in range(count):
    if s.sendmail("from@example.com", ["rcpt@example.com"], msg):
        sys.exit(1)
dt = time.monotonic() - t0
s.quit()
print(f"{dt:.6f} {count}")
"""


def timed(argv: list[str]) -> tuple[float, int, int, float]:
    """Runs argv under /usr/bin/time -v: (seconds reported by the client, messages, peak RSS KiB,
    CPU seconds of the client process, user + system)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        out = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name, *argv], check=True,
                             stdout=subprocess.PIPE, text=True).stdout.split()
        report = tf.read()
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", report).group(1))
        cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", report).group(1))
                  for k in ("User", "System"))
    return float(out[0]), int(out[1]), rss, cpu


def free_port() -> int:
    """A loopback port nobody holds right now (iperf3 cannot listen on port 0 and report it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iperf3_loopback(seconds: int) -> float | None:
    """Bytes/s of one TCP stream over loopback (iperf3 -c 127.0.0.1 -t SECONDS), or None without
    iperf3. The server is one-off (-s -1) on a free port; it says when it listens."""
    if not shutil.which("iperf3"):
        return None
    for _ in range(3):  # the port may be taken between free_port() and iperf3's bind
        port = free_port()
        server = subprocess.Popen(["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", str(port),
                                   "--forceflush"], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        try:
            listening = False
            for line in server.stdout:
                if "listening on" in line:
                    listening = True
                    break
            if not listening:
                continue
            out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t",
                                  str(seconds), "-J"], stdout=subprocess.PIPE, text=True,
                                 check=True, timeout=seconds + 30).stdout
            return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 8
        finally:
            if server.poll() is None:
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
            server.stdout.close()
    return None


def openssl_speed(cipher: str, seconds: int) -> float | None:
    """Bytes/s of `openssl speed -evp CIPHER` on 16 KiB buffers (a full TLS record), wall clock
    (-elapsed), or None when openssl is missing or does not know the cipher."""
    if not shutil.which("openssl"):
        return None
    out = subprocess.run(["openssl", "speed", "-mr", "-elapsed", "-seconds", str(seconds),
                          "-bytes", "16384", "-evp", cipher], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True).stdout
    rates = [float(l.rsplit(":", 1)[1]) for l in out.splitlines() if l.startswith("+F:")]
    return rates[-1] if rates else None


def ratio_row(name: str, value: float, limit: float | None, limit_name: str,
              target: str = "") -> None:
    """One figure in GB/s with its ratio to the limit measured in this run."""
    ratio = f"{value / limit:6.3f}x {limit_name}" if limit else f"{'':6s}  (no {limit_name})"
    print(f"  {name:52s} {value / 1e9:8.3f} GB/s  {ratio}{'   target ' + target if target else ''}")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class FakeSink:
    """`smtp-fakeserver sink` (advertises PIPELINING and CHUNKING, counts messages), port 0."""

    def __init__(self, binary: str) -> None:
        self.proc = subprocess.Popen([binary, "sink", "--quiet"], stdout=subprocess.PIPE,
                                     text=True)
        self.host, self.port = "", 0
        for line in self.proc.stdout:
            ev = json.loads(line)
            if ev.get("event") == "listening":
                self.host, self.port = ev["host"], ev["port"]
            if ev.get("event") == "ready":
                break
        if not self.port:
            raise RuntimeError("smtp-fakeserver sink did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def make_message_file(path: Path, size: int) -> None:
    """A text message of `size` bytes (CRLF lines, some starting with a dot), written in 1 MiB
    blocks so the benchmark itself never holds it."""
    line = b"0123456789012345678901234567890123456789012345678901234567\r\n"
    block = b"".join((b"." if i % 7 == 0 else b"") + line for i in range(16384))[: 1 << 20]
    with open(path, "wb") as f:
        f.write(b"Subject: bench\r\n\r\n")
        left = size - 18
        while left > 0:
            chunk = block[:left]
            f.write(chunk)
            left -= len(chunk)


# Postfix's own load generator as a reference client (C, no PIPELINING): prints "<seconds> <count>"
# like the other clients. Its RSS and CPU are not shown (this wrapper is what /usr/bin/time sees).
SOURCE_TIMED = r"""
import subprocess, sys, time
host, port, count, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
t0 = time.monotonic()
subprocess.run(["smtp-source", "-s", "1", "-d", "-m", str(count), "-l", str(size),
                f"{host}:{port}"], check=True)
print(f"{time.monotonic() - t0:.6f} {count}")
"""


def median_rows(rows: dict[str, list[str]], rounds: int, unit_size: int | None):
    """Runs every row `rounds` times (interleaved); returns name -> (median rate, max RSS KiB).
    The rate is messages/s, or MB/s when unit_size (bytes per message) is given."""
    rates: dict[str, list[float]] = {k: [] for k in rows}
    rss: dict[str, list[int]] = {k: [] for k in rows}
    cpu: dict[str, list[float]] = {k: [] for k in rows}
    for _ in range(rounds):
        for name, argv in rows.items():
            dt, n, r, c = timed(argv)
            rates[name].append(n / dt if unit_size is None else n * unit_size / dt / 1e6)
            rss[name].append(r)
            cpu[name].append(c)
    return {k: (statistics.median(v), max(rss[k]), statistics.median(cpu[k]))
            for k, v in rates.items()}


def print_table(title: str, results, unit: str, anchor: str, with_rss: bool = False,
                size: int | None = None) -> None:
    """with_rss: peak RSS too; size (bytes per message): the client's own CPU cost as MB per
    CPU-second of the client process and its ratio to the anchor's (what the client could move
    if the server were not the limit)."""
    print(f"\n{title}")
    fake_anchor = "smtplib -> fake sink"
    for name, (m, r, c) in results.items():
        # Every row is compared with smtplib against the same server.
        row_anchor = fake_anchor if "fake sink" in name and fake_anchor in results else anchor
        base, base_cpu = results[row_anchor][0], results[row_anchor][2]
        reference = name.startswith("smtp-source")
        extra = f"   peak RSS {r / 1024:7.1f} MiB" if with_rss and not reference else ""
        if size and c > 0 and base_cpu > 0 and not reference:
            extra += (f"   client CPU {c:5.2f} s = {size / c / 1e6:6.0f} MB/CPU-s"
                      f" ({base_cpu / c:5.2f}x)")
        print(f"  {name:52s} {m:10.1f} {unit}  {m / base:6.2f}x {row_anchor}{extra}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--send-bench", default=str(ROOT / "build/dev/bin/smtp-send-bench"))
    ap.add_argument("--micro-bench", default=str(ROOT / "build/dev/bin/smtp-micro-bench"))
    ap.add_argument("--fakeserver", default=None,
                    help="smtp-fakeserver (default: next to --send-bench)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--count", type=int, default=2000, help="1 KiB messages per round")
    ap.add_argument("--sizes-mib", default="64,256", help="streamed file sizes (MiB)")
    ap.add_argument("--large", action="store_true", help="also 1 GiB (C++ only: smtplib would "
                    "need about 4 GiB of memory for it)")
    ap.add_argument("--smtplib-max-mib", type=int, default=256,
                    help="skip smtplib above this size")
    ap.add_argument("--bdat-mib", type=int, default=48,
                    help="size of the message also sent into the fake sink (BDAT vs DATA); "
                    "under its 64 MiB SIZE limit")
    ap.add_argument("--async-bench", default=None,
                    help="smtp-async-bench: also run bench/async_bench.py (async client over 20 "
                    "connections vs smtp-source)")
    ap.add_argument("--pin-cpu", type=int, default=None, metavar="N",
                    help="run everything (servers, clients, load generators) on CPU N only. On a "
                         "VM an idle CPU takes ~10x longer to wake for a loopback reply than a "
                         "busy one, so unpinned figures measure wake-up latency more than the "
                         "clients; pinned, a round trip is two context switches")
    ap.add_argument("--no-small", action="store_true", help="skip the 1 KiB message table")
    ap.add_argument("--micro-only", action="store_true",
                    help="only the physical limits and the micro benchmarks (no servers)")
    ap.add_argument("--iperf-seconds", type=int, default=3)
    ap.add_argument("--micro-repetitions", type=int, default=3,
                    help="Google Benchmark repetitions; the medians are printed and used")
    ap.add_argument("--tls-ciphers", default="aes-128-gcm,aes-256-gcm,chacha20-poly1305",
                    help="openssl speed -evp ciphers printed as the TLS ceiling (TLS 1.3 "
                         "negotiates one of these)")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.pin_cpu is not None:
        os.sched_setaffinity(0, {a.pin_cpu})  # inherited by every process started below
        print(f"pinned to CPU {a.pin_cpu}: every process of this run shares it")
    sizes = [int(x) for x in a.sizes_mib.split(",") if x]
    sizes.insert(0, a.bdat_mib)
    if a.large:
        sizes.append(1024)
    if a.smoke:
        a.rounds, a.count, sizes = 1, 20, [1]
        a.iperf_seconds = 1
    print(f"load average before: {loadavg()}")
    limits: dict[str, float | None] = {}
    fake_stream: dict[str, float] = {}  # streamed into the fake sink: row name -> bytes/s
    if not a.micro_only:
        limits["iperf3"] = iperf3_loopback(a.iperf_seconds)
        fakeserver = a.fakeserver or str(Path(a.send_bench).with_name("smtp-fakeserver"))
        client_tables(a, sizes, fakeserver, fake_stream)
    micro: dict[str, float] = {}
    if os.path.exists(a.micro_bench):
        print("\nmicro benchmarks (Google Benchmark; memcpy is the ceiling):")
        # Repetitions, medians shown: the machine is shared, single runs vary.
        extra = (["--benchmark_min_time=0.01"] if a.smoke else
                 [f"--benchmark_repetitions={a.micro_repetitions}", "--benchmark_min_time=1",
                  "--benchmark_report_aggregates_only=true"])
        with tempfile.NamedTemporaryFile("r", suffix=".json") as jf:
            out = subprocess.run([a.micro_bench, *extra, f"--benchmark_out={jf.name}",
                                  "--benchmark_out_format=json"], check=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
            for b in json.load(jf)["benchmarks"]:
                if "bytes_per_second" in b and b.get("aggregate_name", "median") == "median":
                    micro[b.get("run_name", b["name"])] = b["bytes_per_second"]
        print("\n".join("  " + l for l in out.splitlines()
                        if l.startswith("bm_") and ("_median" in l or a.smoke)))
    if a.async_bench and os.path.exists(a.async_bench) and not a.micro_only:
        print("\nasync client (bench/async_bench.py):", flush=True)
        extra = ["--smoke"] if a.smoke else ["--rounds", str(a.rounds)]
        subprocess.run(["/usr/bin/python3", str(ROOT / "bench" / "async_bench.py"),
                        "--async-bench", a.async_bench, *extra], check=True)
    for cipher in (c for c in a.tls_ciphers.split(",") if c):
        limits[f"openssl speed -evp {cipher}"] = openssl_speed(cipher, 1 if a.smoke else 2)
    limits["memcpy"] = micro.get("bm_memcpy")
    print_limits(limits, micro, fake_stream)
    print(f"\nload average after: {loadavg()}")
    return 0


def print_limits(limits: dict[str, float | None], micro: dict[str, float],
                 fake_stream: dict[str, float]) -> None:
    """The physical limits measured in this run, then each figure as a ratio to its limit."""
    print("\nphysical limits (this run, same pinning):")
    for name, value in limits.items():
        shown = f"{value / 1e9:8.3f} GB/s" if value else "  not measured (tool missing)"
        print(f"  {name:52s} {shown}")
    print("\nfigures against their limits (issue 20):")
    memcpy, iperf = limits.get("memcpy"), limits.get("iperf3")
    encoder_rows = {
        "bm_body_encoder": ("BodyEncoder, 68-byte CRLF lines", ""),
        "bm_body_encoder_text_60_1000": ("BodyEncoder, text, CRLF lines of 60-1000 bytes",
                                         ">= 0.25x memcpy"),
        "bm_body_encoder_every_line_dot": ("BodyEncoder, every line starts with '.'",
                                           ">= 1 GB/s"),
        "bm_body_encoder_lf_lines": ("BodyEncoder, LF line endings (each one an event)", ""),
        "bm_body_encoder_dot_crlf_only": ("BodyEncoder, \".\" CRLF repeated (3-byte lines)", ""),
    }
    for key, (name, target) in encoder_rows.items():
        if key in micro:
            ratio_row(name, micro[key], memcpy, "memcpy", target)
    for key, name in (("bm_reply_parser", "ReplyParser, 3-line replies, new parser each"),
                      ("bm_reply_parser_ehlo", "ReplyParser, 12-line EHLO replies")):
        if key in micro:
            ratio_row(name, micro[key], memcpy, "memcpy", ">= 1 GB/s" if "ehlo" in key else "")
    for name, rate in fake_stream.items():
        target = ">= 0.6x iperf3" if "BDAT" in name else ">= 0.4x iperf3"
        ratio_row(name, rate, iperf, "iperf3", target)


def client_tables(a, sizes: list[int], fakeserver: str, fake_stream: dict[str, float]) -> None:
    """smtplib, smtp::SMTP and smtp-source into smtp-sink and the fake sink: the 1 KiB table and
    one streamed message per size. Fills fake_stream with the streamed rows into the fake sink."""
    with tempfile.TemporaryDirectory(prefix="smtpkit-bench-") as tmp:
        sink = SmtpSink(Path(tmp))
        # Without -d: smtp-sink discards the message, so the figures are the clients' and the wire's.
        sink.start = _start_without_dump(sink)
        sink.start()
        fake = FakeSink(fakeserver) if os.path.exists(fakeserver) else None
        try:
            host, port = sink.host, str(sink.port)
            py = ["/usr/bin/python3", "-c", SMTPLIB_LOOP, host, port]
            cpp = [a.send_bench, host, port]
            import smtplib
            with smtplib.SMTP(host, int(port)) as probe:
                probe.ehlo()
                print("smtp-sink advertises: " + " ".join(sorted(probe.esmtp_features)))
            small = {
                "smtplib": py + [str(a.count), "1024"],
                "smtp::SMTP, no PIPELINING": cpp + [str(a.count), "1024", "--no-pipelining"],
                "smtp::SMTP, PIPELINING": cpp + [str(a.count), "1024"],
                "smtp::SMTP, PIPELINING, sendmail_many": cpp + [str(a.count), "1024", "--many"],
                "smtp-source -s 1 -d (C reference, no PIPELINING)":
                    ["/usr/bin/python3", "-c", SOURCE_TIMED, host, port, str(a.count), "1024"],
            }
            if fake:
                fpy = ["/usr/bin/python3", "-c", SMTPLIB_LOOP, fake.host, str(fake.port)]
                fcpp = [a.send_bench, fake.host, str(fake.port)]
                small |= {
                    "smtplib -> fake sink": fpy + [str(a.count), "1024"],
                    "smtp::SMTP -> fake sink, PIPELINING, DATA":
                        fcpp + [str(a.count), "1024", "--no-chunking"],
                    "smtp::SMTP -> fake sink, PIPELINING+CHUNKING": fcpp + [str(a.count), "1024"],
                    "smtp::SMTP -> fake sink, PIPELINING+CHUNKING, sendmail_many":
                        fcpp + [str(a.count), "1024", "--many"],
                }
            if not a.no_small:
                res = median_rows(small, a.rounds, None)
                print_table(f"1 KiB messages, one connection, into smtp-sink unless said "
                            f"({a.count} per round, median of {a.rounds}):", res, "msg/s",
                            "smtplib")
            for size_mib in sizes:
                size = size_mib * 1024 * 1024
                path = Path(tmp) / f"msg-{size_mib}.eml"
                make_message_file(path, size)
                rows = {}
                if size_mib <= a.smtplib_max_mib:
                    rows["smtplib (file read whole)"] = py + ["1", str(size), str(path)]
                rows["smtp::SMTP streamed from the file"] = cpp + ["1", "0", "--file", str(path)]
                if size_mib <= a.smtplib_max_mib:
                    # What smtp-sink takes from Postfix's own C client: the server's ceiling.
                    rows["smtp-source (C reference, message generated)"] = [
                        "/usr/bin/python3", "-c", SOURCE_TIMED, host, port, "1", str(size)]
                if fake and size_mib < 64:  # the fake sink's SIZE limit is 64 MiB
                    if size_mib <= a.smtplib_max_mib:
                        rows["smtplib -> fake sink"] = fpy + ["1", str(size), str(path)]
                    rows["smtp::SMTP streamed -> fake sink, BDAT"] = (
                        fcpp + ["1", "0", "--file", str(path)])
                    rows["smtp::SMTP streamed -> fake sink, DATA"] = (
                        fcpp + ["1", "0", "--file", str(path), "--no-chunking"])
                res = median_rows(rows, a.rounds, size)
                anchor = next(iter(rows))
                print_table(f"one {size_mib} MiB message from a file into smtp-sink unless said "
                            f"(median of {a.rounds}; peak RSS of the client process, max):",
                            res, "MB/s ", anchor, with_rss=True, size=size)
                for name, (rate, _, _) in res.items():
                    if name.startswith("smtp::SMTP streamed -> fake sink"):
                        fake_stream[f"{size_mib} MiB {name[len('smtp::SMTP streamed -> '):]}"] = (
                            rate * 1e6)
                path.unlink()
        finally:
            sink.stop()
            if fake:
                fake.stop()


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
