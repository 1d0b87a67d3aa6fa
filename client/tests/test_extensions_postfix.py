"""smtp-client against a real Postfix smtpd (PIPELINING, CHUNKING, SIZE, DSN, SMTPUTF8, 8BITMIME,
ENHANCEDSTATUSCODES advertised): BDAT with and without pipelining, DATA, streamed multi-MiB files,
the SIZE limit enforced before MAIL, DSN/SMTPUTF8 options, and a NUL in the middle of a streamed
message never delivering anything. Postfix is the probe's throwaway instance (its fixture is
imported, not copied), configured to put every accepted message on hold so the delivered bytes can
be read back with postcat."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.realserver, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SMTPKIT_BUILD_DIR", ROOT / "build" / "ci")) / "bin" / "smtp-client"

_spec = importlib.util.spec_from_file_location("probe_tests_conftest",
                                               ROOT / "probe" / "tests" / "conftest.py")
probe_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(probe_conftest)
certs = probe_conftest.certs  # the probe's certificate fixture, reused

# Every accepted message is held (not delivered, not discarded) so postcat can show its bytes.
HOLD = ("message_size_limit = 8000000\n"
        "smtpd_recipient_restrictions = check_client_access static:HOLD\n")
LIMIT = 8000000


@pytest.fixture(scope="module")
def postfix(certs):
    if not BIN.exists():
        pytest.skip(f"smtp-client is not built at {BIN} (set SMTPKIT_BUILD_DIR)")
    yield from probe_conftest._postfix(certs, HOLD)


def send(pf, tmp_path: Path, data: bytes, *args: str, sender: str | None = None,
         to: str = "rcpt@example.net"):
    msg = tmp_path / f"m-{uuid.uuid4().hex}.eml"
    msg.write_bytes(data)
    sender = sender or f"s{uuid.uuid4().hex[:12]}@example.org"
    argv = [str(BIN), "send", *pf.target, "--from", sender, "--to", to, "--data", str(msg),
            "--json", "--timeout", "30", *args]
    p = subprocess.run(argv, capture_output=True, timeout=120)
    out = json.loads(p.stdout.decode().strip().splitlines()[-1])
    return p.returncode, out, p.stderr.decode(errors="replace"), sender


def held(pf, sender: str) -> list[bytes]:
    """The held messages from `sender`: header and body as Postfix stored them."""
    q = subprocess.run(["postqueue", "-c", str(pf.dir), "-j"], capture_output=True, check=True)
    ids = [e["queue_id"] for e in map(json.loads, q.stdout.decode().splitlines())
           if e.get("sender") == sender]
    out = []
    for qid in ids:
        c = subprocess.run(["postcat", "-c", str(pf.dir), "-bh", "-q", qid], capture_output=True,
                           check=True)
        out.append(c.stdout)
    return out


def body_of(stored: bytes) -> bytes:
    # postcat prints the stored lines with LF endings and section markers; keep what follows the
    # header section's blank line, without the markers.
    lines = [l for l in stored.split(b"\n") if not l.startswith(b"*** ")]
    text = b"\n".join(lines)
    return text.split(b"\n\n", 1)[1] if b"\n\n" in text else b""


def wire_lines(stderr: str) -> list[str]:
    return [l for l in stderr.splitlines() if l.startswith("send: ")]


def message(size: int) -> bytes:
    # Bare LF, dots at line starts: exercises normalisation (and stuffing on the DATA path).
    line = b".0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\n"
    body = (line * (size // len(line) + 1))[:size]
    return b"Subject: throughput\n\n" + body + b"\n"


def test_bdat_pipelined_small_message_in_one_write(postfix, tmp_path):
    data = b"Subject: small\r\n\r\n.leading dot\r\nbody\r\n"
    rc, out, err, sender = send(postfix, tmp_path, data, "--pipelining", "--debug", "1")
    assert rc == 0 and out == {"ok": True, "refused": {}}, (out, err, postfix.log_tail())
    sends = wire_lines(err)
    # EHLO, then MAIL + RCPT + BDAT LAST in one write, then QUIT.
    assert len(sends) == 3, sends
    assert "mail FROM:" in sends[1] and "rcpt TO:" in sends[1] and f"BDAT {len(data)} LAST" in sends[1]
    [stored] = held(postfix, sender)
    assert body_of(stored) == b".leading dot\nbody\n"


@pytest.mark.parametrize("mode", ["bdat-pipelined", "bdat", "data-pipelined", "data"])
def test_streamed_3_mib_file_delivered_intact(postfix, tmp_path, mode):
    data = message(3 * 1024 * 1024)
    args = {"bdat-pipelined": ["--pipelining"], "bdat": ["--no-pipelining"],
            "data-pipelined": ["--pipelining", "--no-chunking"],
            "data": ["--no-pipelining", "--no-chunking"]}[mode]
    rc, out, err, sender = send(postfix, tmp_path, data, *args)
    assert rc == 0, (out, postfix.log_tail())
    [stored] = held(postfix, sender)
    expected = data.split(b"\n\n", 1)[1]
    got = body_of(stored)
    assert len(got) == len(expected) and got == expected


def test_bdat_chunks_are_visible_in_the_trace(postfix, tmp_path):
    rc, out, err, _ = send(postfix, tmp_path, message(2_500_000), "--debug", "1")
    assert rc == 0, out
    bdat = [l for l in wire_lines(err) if "BDAT " in l[:40]]
    assert len(bdat) == 3 and "LAST" in bdat[-1][:40] and "LAST" not in bdat[0][:40]


def test_size_over_the_limit_is_refused_before_mail(postfix, tmp_path):
    rc, out, err, sender = send(postfix, tmp_path, b"x" * (LIMIT + 10) + b"\r\n", "--debug", "1")
    assert rc == 1, out
    assert out["error"]["type"] == "SMTPMessageTooLarge" and out["error"]["code"] is None, out
    assert str(LIMIT) in out["error"]["message"]
    assert not any("mail FROM" in l for l in wire_lines(err))
    assert held(postfix, sender) == []


def test_dsn_and_8bitmime_options_accepted(postfix, tmp_path):
    data = "Subject: dsn\r\n\r\nGr\u00fc\u00dfe\r\n".encode()
    rc, out, err, sender = send(postfix, tmp_path, data, "--mail-option", "BODY=8BITMIME",
                                "--mail-option", "RET=HDRS", "--mail-option", "ENVID=QQ+2B1",
                                "--rcpt-option", "NOTIFY=SUCCESS,FAILURE",
                                "--rcpt-option", "ORCPT=rfc822;rcpt+40example.net")
    assert rc == 0, (out, postfix.log_tail())
    [stored] = held(postfix, sender)
    assert body_of(stored) == "Gr\u00fc\u00dfe\n".encode()


def test_dsn_grammar_refused_before_connecting(postfix, tmp_path):
    rc, out, _, _ = send(postfix, tmp_path, b"x\r\n", "--rcpt-option", "NOTIFY=NEVER,SUCCESS")
    assert rc == 2 and out["error"]["type"] == "ValueError", out


def test_smtputf8_address(postfix, tmp_path):
    rc, out, _, sender = send(postfix, tmp_path, b"Subject: u\r\n\r\nu\r\n", "--mail-option",
                              "SMTPUTF8", to="j\u00f6rg@example.net")
    assert rc == 0, (out, postfix.log_tail())
    assert len(held(postfix, sender)) == 1
    rc, out, _, _ = send(postfix, tmp_path, b"x\r\n", to="j\u00f6rg@example.net")
    assert rc == 2 and out["error"]["type"] == "ValueError" and "SMTPUTF8" in out["error"]["message"]


@pytest.mark.parametrize("mode,offset", [("bdat", 1_500_000), ("data", 200_000)])
def test_nul_mid_stream_delivers_nothing(postfix, tmp_path, mode, offset):
    data = bytearray(message(2 * 1024 * 1024))
    data[offset] = 0
    args = ["--no-chunking"] if mode == "data" else []
    rc, out, err, sender = send(postfix, tmp_path, bytes(data), "--pipelining", *args)
    assert rc == 2 and out["error"]["type"] == "ValueError", out
    assert f"offset {offset}" in out["error"]["message"], out
    assert held(postfix, sender) == []


# -- sendmail_many: several --data files over one connection ----------------------------------------

def send_many(pf, tmp_path: Path, bodies: list[bytes], *args: str):
    paths = []
    for i, data in enumerate(bodies):
        p = tmp_path / f"many-{i:03d}-{uuid.uuid4().hex[:6]}.eml"
        p.write_bytes(data)
        paths.append(p)
    sender = f"s{uuid.uuid4().hex[:12]}@example.org"
    argv = [str(BIN), "send", *pf.target, "--from", sender, "--to", "rcpt@example.net", "--json",
            "--timeout", "30", "--debug", "1", *args]
    for p in paths:
        argv += ["--data", str(p)]
    p = subprocess.run(argv, capture_output=True, timeout=120)
    out = json.loads(p.stdout.decode().strip().splitlines()[-1])
    return p.returncode, out, p.stderr.decode(errors="replace"), sender


@pytest.mark.parametrize("mode", ["bdat", "data"])
def test_many_messages_pipelined_all_delivered_intact(postfix, tmp_path, mode):
    bodies = [f"Subject: many {i}\r\n\r\n.dot line {i}\r\nbody {i}\r\n".encode() for i in range(25)]
    args = ["--no-chunking"] if mode == "data" else []
    rc, out, err, sender = send_many(postfix, tmp_path, bodies, *args)
    assert rc == 0 and out["ok"] and len(out["messages"]) == 25, (out, postfix.log_tail())
    assert all(m["ok"] for m in out["messages"]), out
    stored = sorted(body_of(s) for s in held(postfix, sender))
    assert stored == sorted(f".dot line {i}\nbody {i}\n".encode() for i in range(25))
    sends = wire_lines(err)
    # The groups really overlap: one write carries a message's end and the next message's group,
    # which starts with RSET (a refusal swapped with the reply to the end would then show as a
    # reply RSET cannot get).
    if mode == "data":
        assert any(".\\r\\nrset\\r\\nmail FROM:" in s for s in sends), sends[:6]
    else:
        assert any("rset\\r\\nmail FROM:" in s for s in sends), sends[:6]


def test_many_one_message_too_large_fails_alone(postfix, tmp_path):
    bodies = [b"Subject: a\r\n\r\nfirst\r\n", b"x" * (LIMIT + 10) + b"\r\n",
              b"Subject: c\r\n\r\nthird\r\n"]
    rc, out, err, sender = send_many(postfix, tmp_path, bodies)
    assert rc == 1 and not out["ok"], out
    results = out["messages"]
    assert [m["ok"] for m in results] == [True, False, True], out
    assert results[1]["error"]["type"] == "SMTPMessageTooLarge", out
    stored = sorted(body_of(s) for s in held(postfix, sender))
    assert stored == [b"first\n", b"third\n"]
