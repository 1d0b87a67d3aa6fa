"""The scenario matrix (issue 5): every scenario file with a client section × every transport it
declares × every client. A run passes when the client ends as the scenario's `expect:` says (or
`expect-smtplib:` for smtplib, where given) and the fake server's session followed the script
(not checked for smtplib where it differs on purpose, as scenarios/FORMAT.md says).

Select with --tag, --transport, --category, --clients (see harness/README.md, "The matrix").
"""

from __future__ import annotations

import ssl
import time

import pytest

from harness import compare, matrix
from harness.drivers import external, smtplib_scenario


def _chosen(config, option: str) -> set[str]:
    value = config.getoption(option) or ""
    return {v.strip() for v in value.split(",") if v.strip()}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "matrix_case" not in metafunc.fixturenames:
        return
    config = metafunc.config
    from harness.plugin import check_worker_build
    check_worker_build(config)  # a remote worker without a build: say so, not "not-built"
    reason = matrix.missing_reason()
    if reason:  # one run that skips (or fails with --require-smtp-client) saying why
        metafunc.parametrize("matrix_case", [pytest.param(("missing", reason), id="not-built")])
        return
    clients = [c for c in (config.getoption("--clients") or "").split(",") if c]
    clients = [c for c in clients if c in matrix.MATRIX_CLIENTS or c in external.DRIVERS]
    tags, transports, categories = (_chosen(config, o) for o in ("--tag", "--transport", "--category"))
    corpus = matrix.corpus()
    params = []
    for file, error in sorted(corpus.errors.items()):
        if categories and matrix.category(file) not in categories:
            continue
        params.append(pytest.param(("error", file, error), id=f"{file}-parse"))
    for file, d in sorted(corpus.scenarios.items()):
        if not matrix.runnable(d):
            continue
        if tags and not tags & set(d["tags"]):
            continue
        if categories and matrix.category(file) not in categories:
            continue
        for transport in d["transports"]:
            if transports and transport not in transports:
                continue
            for client in clients:
                marks = [pytest.mark.matrix, getattr(pytest.mark, f"transport_{transport}"),
                         getattr(pytest.mark, f"client_{client.replace('-', '_')}"),
                         pytest.mark.summary(case=f"{file}:{transport}", client=client,
                                             group=f"{matrix.category(file)}/{transport}")]
                if "pending" in d["tags"] and not config.getoption("--run-pending"):
                    # A file for a client feature that has not landed: visible as a skip.
                    marks.append(pytest.mark.skip(
                        reason="tagged pending: tests a client feature that has not landed yet "
                               "(--run-pending runs it)"))
                only = d.get("clients") or []
                if only and client not in only:
                    # `clients:` (scenarios/FORMAT.md): the file is not for this client.
                    marks.append(pytest.mark.skip(
                        reason=f"{d['clients_note']} (clients: {' '.join(only)})"))
                params.append(pytest.param((file, transport, client), marks=marks,
                                           id=f"{file}-{transport}-{client}"))
    metafunc.parametrize("matrix_case", params)


@pytest.fixture(scope="session")
def matrix_certs(tmp_path_factory, request):
    reason = matrix.missing_reason()
    if reason:
        if request.config.getoption("--require-smtp-client"):
            pytest.fail(reason)
        pytest.skip(reason)
    return matrix.make_certs(tmp_path_factory.mktemp("matrix-certs"))


@pytest.fixture(scope="session")
def matrix_server(tmp_path_factory, matrix_certs):
    files = [f for f, d in matrix.corpus().scenarios.items() if matrix.runnable(d)]
    pool = matrix.ServerPool(files, tmp_path_factory.mktemp("matrix-server"),
                             matrix_certs.cert, matrix_certs.key, matrix_certs.sets)
    yield pool
    pool.stop()


@pytest.fixture(scope="session")
def smtplib_context(matrix_certs):
    return ssl.create_default_context(cafile=str(matrix_certs.ca))


def test_scenario(matrix_case, matrix_server, matrix_certs, smtplib_context, request, tmp_path):
    if matrix_case[0] == "error":
        pytest.fail(f"scenario does not parse: {matrix_case[2]}")
    file, transport, client = matrix_case
    driver = external.get(client)
    if driver is not None and driver.missing_reason():
        pytest.skip(driver.missing_reason())
    d = matrix.corpus().scenarios[file]
    props = request.node.user_properties
    props += [("scenario", file), ("transport", transport)]  # case, client, group: the summary mark
    listener = matrix_server.listener(file, transport)
    if listener is None:
        why = matrix_server.skipped.get((file, transport), "no listener")
        pytest.fail(f"the fake server has no {transport} listener for {file}: {why}")

    started = time.monotonic()
    output = ""
    if client in ("cpp", "cpp-async"):
        run = matrix.run_cpp(file, listener, matrix_certs.ca, async_api=client == "cpp-async")
        outcome, local, trace, output = run.outcome, run.local, run.trace, run.raw
    elif driver is not None:
        # Another client (harness/drivers/external): its own process; unsupported calls skip.
        r = driver.run(d, listener, matrix_certs.ca, tmp_path)
        outcome, local, trace, output = r.outcome, r.local, r.trace, r.output()
    else:
        r = smtplib_scenario.run(d, listener, smtplib_context)
        outcome, local, trace = r.outcome, r.local, r.trace
    seconds = time.monotonic() - started
    props += [("client_outcome", matrix.describe(outcome)[:60]), ("client_seconds", round(seconds, 3))]
    section = d["client"]
    differs = client == "smtplib" and section["expect_smtplib"] is not None
    expect = section["expect_smtplib"] if differs else section["expect"]
    record = compare.Record(request, file, transport, client, expect["text"], outcome, seconds,
                            trace=trace, output=output)
    if "unsupported" in outcome:
        record.write("unsupported", outcome["unsupported"])
        pytest.skip(outcome["unsupported"])

    note = ""
    if outcome.get("reply_unknown") and expect.get("reply") is not None:
        # The client does not say what the last reply was (curl's log ends before QUIT): the
        # reply is not compared; the fake server's script still checks the command was sent.
        note = f"reply={expect['reply']} not compared: {outcome['reply_unknown']}"
        expect = {**expect, "reply": None}
    problems = matrix.compare(expect, outcome)
    outcome_ok = not problems
    # Always claim the session (Unix listeners are matched in arrival order; clients that do not
    # say their own address, by arrival order on the listener too).
    report = matrix_server.session(listener, local if transport != "unix" else None)
    record.session = matrix.render_session(report)
    down = matrix_server.failure() if report is None else None
    if down:
        # One reason for every run of this worker, not a run of unexplained failures.
        problems.append(down)
    elif not differs:
        if report is None:
            problems.append("no session report from the fake server (did the client connect?)")
        elif not report.get("ok"):
            where = (report.get("divergence") or {}).get("where", "?")
            problems.append(f"the session departed from the script at {where}")
    record.write("pass" if not problems else "fail" if not outcome_ok else "diverged",
                 "; ".join(problems + ([note] if note else [])))
    if problems:
        where = f"{d['file']}:{expect['line']}"
        lines = [f"{file} over {transport} with {client}: " + "; ".join(problems),
                 f"  expected ({where}): {expect['text']}",
                 f"  actual: {matrix.describe(outcome)}"]
        if differs:
            lines.append(f"  (smtplib differs on purpose: {section['note_smtplib']}; session not checked)")
        mapped = (outcome.get("error") or {}).get("mapped")
        if mapped:
            # A coarse client: the class was read from its exit status (harness/README.md's tables).
            lines.append(f"  (class mapped from {mapped}; tables in harness/README.md)")
        lines.append(matrix.render_session(report))
        lines.append(f"client trace ({client}, debuglevel 2):")
        lines += [f"  {t}" for t in trace] or ["  (empty)"]
        if output:
            lines.append(f"client output ({client}):")
            lines += [f"  {t}" for t in output.splitlines()[-60:]]
        pytest.fail("\n".join(lines), pytrace=False)
