#!/usr/bin/python3
"""Load and soak of `smtp-fakeserver sink --maildir` (issue 9). Bounded, loopback only.

    ulimit -n 65536   # or run ci/soak.sh, which raises it (10,000 held connections need > 10,000)
    /usr/bin/python3 fuzz/soak.py [--build build/ci] [--messages 1000000] [--generators 4]
        [--sessions 25] [--hold 10000] [--garbage 4] [--time-limit 1200]

Phases, all against one sink process with a Maildir on disk:
1. hold: open --hold connections and keep them open (each gets its 220 greeting) for the whole
   run: the server must keep serving new clients while they sit there;
2. load: --generators parallel Postfix smtp-source processes, each sending messages/generators
   messages of a fixed file (-F: every message is the same bytes, with lines starting with '.'),
   --sessions parallel sessions each;
3. hostile clients meanwhile: --garbage threads that connect and send random bytes, stop
   mid-command or mid-DATA, or reset (SO_LINGER 0), at random;
4. check: every file in Maildir/new is byte-exact (SHA-256 equal to the expected message),
   stored == the sink's own "messages" count == what the generators sent, and lost = 0.
RSS of the server is sampled every second (peak, first and last minute reported).
Prints one JSON summary line at the end; exit status 0 only when lost = 0 and nothing is corrupt.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The message: header, body, lines starting with dots (stuffed on the wire, un-stuffed in the
# Maildir), an 8-bit line. smtp-source sends each line with CRLF.
MESSAGE_LINES = [
    "From: soak@example.org",
    "To: sink@example.org",
    "Subject: soak",
    "",
    "First line of the soak message.",
    ".a line starting with a dot",
    "..two dots",
    ".",
    "caf\u00e9 8-bit line",
] + [f"filler line {i:04d} " + "x" * 60 for i in range(12)]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def hostile_client(port: int, stop: threading.Event, counts: dict, lock: threading.Lock) -> None:
    rng = random.Random()
    while not stop.is_set():
        kind = rng.choice(["garbage", "vanish-mid-command", "vanish-mid-data", "reset", "huge-line"])
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.recv(512)
            if kind == "garbage":
                s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4096))))
            elif kind == "vanish-mid-command":
                s.sendall(b"EHLO hostile\r\nMAIL FROM:<a@exa")
            elif kind == "vanish-mid-data":
                s.sendall(b"EHLO hostile\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
                time.sleep(0.05)
                s.sendall(b"Subject: never finished\r\n\r\nhalf a body")
            elif kind == "reset":
                s.sendall(b"EHLO hostile\r\n")
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            else:
                s.sendall(b"NOOP " + b"A" * 200_000 + b"\r\n")
            s.close()
            with lock:
                counts[kind] = counts.get(kind, 0) + 1
        except OSError:
            with lock:
                counts["refused-or-reset"] = counts.get("refused-or-reset", 0) + 1
        time.sleep(rng.uniform(0.0, 0.05))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("SMTPKIT_BUILD_DIR", "build/ci"))
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--generators", type=int, default=4)
    ap.add_argument("--sessions", type=int, default=25)
    ap.add_argument("--hold", type=int, default=10_000)
    ap.add_argument("--garbage", type=int, default=4)
    ap.add_argument("--time-limit", type=float, default=1200)
    ap.add_argument("--keep", action="store_true", help="keep the Maildir")
    a = ap.parse_args()

    binary = (ROOT / a.build / "bin" / "smtp-fakeserver").resolve()
    if not binary.exists() or not shutil.which("smtp-source"):
        print(f"needs {binary} and smtp-source (postfix)", file=sys.stderr)
        return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = a.hold + a.generators * a.sessions + 1000
    if soft < need:
        if hard < need:
            print(f"ulimit -n is {soft} (hard {hard}); {need} needed: raise it (ci/soak.sh)", file=sys.stderr)
            return 2
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    work = Path(tempfile.mkdtemp(prefix="smtpkit-soak-"))
    maildir = work / "Maildir"
    msgfile = work / "message.txt"
    msgfile.write_text("\n".join(MESSAGE_LINES) + "\n", encoding="utf-8")
    # smtp-source -F sends the file's lines with CRLF and then "\r\n.\r\n": the empty line before
    # the dot is part of the message as sent, so it is stored too.
    expected = ("\r\n".join(MESSAGE_LINES) + "\r\n\r\n").encode("utf-8")
    expected_sha = hashlib.sha256(expected).hexdigest()

    # The server inherits the raised limit (it needs one fd per held connection).
    proc = subprocess.Popen([str(binary), "sink", "--maildir", str(maildir), "--listen", "plain:127.0.0.1:0",
                             "--time-limit", str(int(a.time_limit) + 120)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = None
    for line in proc.stdout:
        ev = json.loads(line)
        if ev.get("event") == "listening":
            port = ev["port"]
        if ev.get("event") == "ready":
            break
    assert port, "sink did not report a port"
    t0 = time.monotonic()
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sampler() -> None:
        while not stop.is_set():
            try:
                samples.append((time.monotonic() - t0, rss_kib(proc.pid)))
            except OSError:
                return
            time.sleep(1)

    threading.Thread(target=sampler, daemon=True).start()

    held = []
    for _ in range(a.hold):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        held.append(s)
    greeted = sum(1 for s in held if s.recv(512).startswith(b"220"))
    rss_after_hold = rss_kib(proc.pid)

    counts: dict = {}
    lock = threading.Lock()
    hostile = [threading.Thread(target=hostile_client, args=(port, stop, counts, lock), daemon=True)
               for _ in range(a.garbage)]
    for t in hostile:
        t.start()

    per_gen = a.messages // a.generators
    gens = [subprocess.Popen(["smtp-source", "-s", str(a.sessions), "-m", str(per_gen), "-F", str(msgfile),
                              "-f", "soak@example.org", "-t", "sink@example.org",
                              f"127.0.0.1:{port}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for _ in range(a.generators)]
    load_start = time.monotonic()
    timed_out = False
    for g in gens:
        left = a.time_limit - (time.monotonic() - t0)
        try:
            g.wait(timeout=max(left, 1))
        except subprocess.TimeoutExpired:
            timed_out = True
    for g in gens:
        if g.poll() is None:
            g.kill()
            g.wait()
    load_seconds = time.monotonic() - load_start
    gen_errors = [g.stderr.read().strip() for g in gens if g.returncode != 0]
    stop.set()
    for t in hostile:
        t.join(timeout=10)

    # The held connections are still served: one of them completes a NOOP.
    # The sink closes a session idle for 300 s (its step timeout x 30, RFC 5321 section 4.5.3.2
    # allows 5 minutes), so after a long load the held connections are expected to be closed by
    # the server, not to be broken: a NOOP gets 250 or a clean EOF, never an RST or a hang.
    probe = held[0]
    try:
        probe.sendall(b"NOOP\r\n")
        answer = probe.recv(512)
    except OSError:
        answer = b"error"
    held_alive = answer.startswith(b"250") or (answer == b"" and time.monotonic() - t0 > 300)
    for s in held:
        s.close()
    proc.terminate()
    exit_line = {}
    for line in proc.stdout:
        ev = json.loads(line)
        if ev.get("event") == "exit":
            exit_line = ev
    proc.wait(timeout=30)

    stored = 0
    corrupt = 0
    for f in (maildir / "new").iterdir():
        stored += 1
        if hashlib.sha256(f.read_bytes()).hexdigest() != expected_sha:
            corrupt += 1
    accepted = int(exit_line.get("messages", -1))
    sent = 0 if timed_out else per_gen * a.generators
    rss = [r for _, r in samples]
    first_min = [r for t, r in samples if t < 60]
    last_min = [r for t, r in samples if t > samples[-1][0] - 60] if samples else []
    summary = {
        "messages_requested": per_gen * a.generators,
        "generators": a.generators, "sessions_per_generator": a.sessions,
        "generators_completed": not timed_out, "generator_errors": gen_errors[:3],
        "accepted_by_sink": accepted, "stored": stored, "corrupt": corrupt,
        "lost": (accepted - stored) if accepted >= 0 else None,
        "lost_vs_sent": (sent - stored) if sent else None,
        "load_seconds": round(load_seconds, 1), "messages_per_second": round(stored / load_seconds, 1),
        "held_connections": len(held), "held_greeted": greeted, "held_still_served": held_alive, "held_probe_answer": answer.decode("latin-1")[:40],
        "hostile_clients": counts,
        "rss_kib": {"start": rss[0] if rss else None, "after_hold": rss_after_hold,
                    "peak": max(rss) if rss else None,
                    "first_minute_max": max(first_min) if first_min else None,
                    "last_minute_max": max(last_min) if last_min else None},
        "sink_exit": exit_line, "message_bytes": len(expected), "sha256": expected_sha,
    }
    print(json.dumps(summary))
    if corrupt:
        bad = next(f for f in (maildir / "new").iterdir() if hashlib.sha256(f.read_bytes()).digest() != hashlib.sha256(expected).digest())
        print("first corrupt file:", bad, file=sys.stderr)
        a.keep = True
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    ok = corrupt == 0 and summary["lost"] == 0 and held_alive and (timed_out or summary["lost_vs_sent"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
