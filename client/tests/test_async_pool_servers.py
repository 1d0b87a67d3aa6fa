"""smtp::AsyncPool (through smtp-async-bench: N AsyncSMTP connections on one thread) sending many
messages over several connections into real servers: the project's fake server sink (every
message stored in a Maildir, the sessions counted) and Postfix's smtp-sink (every message dumped
to a file). Every message must arrive, over no more connections than the pool's bound."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from harness.servers.smtp_sink import SmtpSink  # noqa: E402

BIN = Path(os.environ.get("SMTPKIT_BUILD_DIR", ROOT / "build" / "ci")) / "bin"
MESSAGES = 300
CONNECTIONS = 6


def bench(port: int, *extra: str) -> dict:
    exe = BIN / "smtp-async-bench"
    if not exe.exists():
        pytest.skip(f"{exe} not built (set SMTPKIT_BUILD_DIR)")
    p = subprocess.run([str(exe), "--port", str(port), "--connections", str(CONNECTIONS),
                        "--messages", str(MESSAGES), "--timeout", "20", *extra],
                       capture_output=True, text=True, timeout=120)
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert p.returncode == 0, (p.stdout, p.stderr)
    return result


@pytest.mark.parametrize("pipelining", [False, True], ids=["plain", "pipelining"])
def test_pool_into_the_fake_server_sink(tmp_path, pipelining):
    exe = BIN / "smtp-fakeserver"
    if not exe.exists():
        pytest.skip(f"{exe} not built (set SMTPKIT_BUILD_DIR)")
    maildir = tmp_path / "maildir"
    server = subprocess.Popen([str(exe), "sink", "--maildir", str(maildir), "--report-sessions",
                               "--quiet", "--time-limit", "120"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in server.stdout:
            event = json.loads(line)
            if event.get("event") == "listening":
                port = event["port"]
            if event.get("event") == "ready":
                break
        assert port, "the fake sink did not listen"
        result = bench(port, *(["--pipelining"] if pipelining else []))
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert result["ok"] == MESSAGES and result["failed"] == 0, result
    assert 1 <= result["opened"] <= CONNECTIONS, result
    stored = [p for p in (maildir / "new").iterdir()]
    assert len(stored) == MESSAGES
    assert all(p.read_bytes().startswith(b"Subject: bench") or b"Subject: bench" in p.read_bytes()
               for p in stored[:10])
    sessions = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    sessions = [s for s in sessions if s.get("event", "session") == "session"]
    assert len(sessions) == result["opened"], sessions[:3]


def test_pool_into_postfix_smtp_sink(tmp_path):
    if not Path("/usr/sbin/smtp-sink").exists():
        pytest.skip("Postfix smtp-sink is not installed (ci/install-deps.sh)")
    sink = SmtpSink(tmp_path).start()
    try:
        result = bench(sink.port)
        dumped = list(sink.dump_dir.glob("msg.*"))  # before stop(), which removes them
    finally:
        sink.stop()
    assert result["ok"] == MESSAGES and result["failed"] == 0, result
    assert 1 <= result["opened"] <= CONNECTIONS, result
    assert len(dumped) == MESSAGES
