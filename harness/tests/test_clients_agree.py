"""Both clients against the same real server with the same arguments, side by side: where
smtplib's behaviour is the expected one, the C++ client's outcome must equal it
(harness/outcome.py says what is compared). Cases where they differ on purpose live in
test_client_real_servers.py, each with the reason."""

from __future__ import annotations

import uuid

import pytest

from harness import clients
from harness.outcome import comparable

pytestmark = pytest.mark.realserver

MESSAGE = b"Subject: agree\r\n\r\n.dot\r\nbody\r\n"

# case id: (server fixture, recipient local parts with tags, sender tag, body padding)
CASES = {
    "delivered": ("aiosmtpd_smtp", ["a", "b"], "", 0),
    "some_refused": ("aiosmtpd_smtp", ["a", "b+rcpt550", "c+rcpt452"], "", 0),
    "all_refused": ("aiosmtpd_smtp", ["a+rcpt550", "b+rcpt551"], "", 0),
    "sender_refused": ("aiosmtpd_smtp", ["a"], "+mail550", 0),
    "data_refused": ("aiosmtpd_smtp", ["a+data554"], "", 0),
    # No size case: our client refuses a message over the advertised SIZE before MAIL
    # (SMTPMessageTooLarge), smtplib gets the server's 552; test_client_real_servers.py
    # test_size_over_the_limit_refused_at_mail states both.
    "lmtp_all_delivered": ("aiosmtpd_lmtp", ["a", "b"], "", 0),
    "lmtp_rcpt_refused": ("aiosmtpd_lmtp", ["a+rcpt550", "b"], "", 0),
    "sink_delivered": ("smtp_sink", ["a", "b"], "", 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_cpp_matches_smtplib(request, tmp_path, case):
    chosen = request.config.getoption("--clients").split(",")
    if not {"cpp", "smtplib"} <= set(chosen):
        pytest.skip(f"compares cpp with smtplib; --clients selects {','.join(chosen)}")
    reason = clients.smtp_client_missing_reason()
    if reason:
        if request.config.getoption("--require-smtp-client"):
            pytest.fail(reason)
        pytest.skip(reason)
    server_name, rcpts, sender_tag, padding = CASES[case]
    server = request.getfixturevalue(server_name)
    path = tmp_path / "message.eml"
    path.write_bytes(MESSAGE + b"x" * padding + (b"\r\n" if padding else b""))
    token = f"t{uuid.uuid4().hex[:12]}"
    args = server.client_args() + ["--from", f"{token}{sender_tag}@harness.test",
                                   "--data", str(path)]
    for rcpt in rcpts:
        args += ["--to", f"{rcpt}@harness.test"]
    runs = {client: clients.run_client(client, args) for client in clients.CLIENTS}
    detail = "\n\n".join(run.explain() for run in runs.values())
    assert runs["smtplib"].result is not None, detail
    assert comparable(runs["cpp"]) == comparable(runs["smtplib"]), detail
    request.node.user_properties.append(("client_outcome", runs["cpp"].summary()))
