"""A TLS handshake that fails is named once (issue 19: "TLS handshake: TLS handshake: ..."): the
probe speaks TLS to a plaintext server (the fake server's sink), by implicit TLS and after
STARTTLS."""

from __future__ import annotations

import json
import subprocess

import pytest

import probe_servers


@pytest.fixture
def plain_sink():
    binary = probe_servers.find_binary("smtp-fakeserver")
    if binary is None:
        pytest.skip("smtp-fakeserver is not built")
    proc = subprocess.Popen([str(binary), "sink", "--quiet"], stdout=subprocess.PIPE, text=True)
    port = None
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "listening":
            port = event["port"]
        if event["event"] == "ready":
            break
    yield port
    proc.terminate()
    proc.wait(timeout=15)


def test_a_failed_handshake_is_named_once(probe_bin, plain_sink):
    p = subprocess.run([str(probe_bin), "--server", f"127.0.0.1:{plain_sink}", "--transport", "tls",
                        "--timeout", "5", "--json", "-q"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 6, p.stdout + p.stderr  # phase tls
    error = json.loads(p.stdout)["discovery"]["error"]
    assert error.startswith("TLS handshake: ") and error.count("TLS handshake") == 1, error
