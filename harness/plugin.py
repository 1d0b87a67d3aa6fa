"""The harness as a pytest plugin: options, report header, run summary, and the fixtures for
process-level tests (real third-party servers on loopback, the clients).

Loaded with `-p harness.plugin` (ci/test.sh, ci/main.sh), which makes the options and the report
header work even when pytest starts from the repository root without naming harness/ (pytest 7.2
reads only the root's conftest.py before parsing the command line). harness/conftest.py loads
it otherwise, e.g. for `pytest harness/tests/test_peers.py`.

Every server binds port 0 (or a Unix socket in the worker's temp dir) and reports where it
listens; nothing uses a fixed port, so `pytest -n auto` runs workers side by side. Session
fixtures start one server per worker; tests share it by putting a unique token in the sender
address (fixture `token`) and asking the server for the session that mentions it.
"""

from __future__ import annotations

import itertools
import os
import platform
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from harness import clients, compare, summary
from harness.servers.aiosmtpd_peer import AiosmtpdServer
from harness.servers.smtp_sink import SmtpSink
from harness.servers.sockets import DripServer, RefusingPort, SilentServer


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smtpkit harness")
    group.addoption("--clients", "--client", default=",".join(clients.CLIENTS + ("cpp-async",)),
                    help="comma-separated clients to run: cpp (smtp-client), smtplib (reference), "
                         "cpp-async (matrix only: the async API); matrix only, other clients "
                         "(harness/drivers/external): curl, swaks, msmtp, go-smtp, nodemailer")
    group.addoption("--require-smtp-client", action="store_true",
                    help="fail instead of skipping when smtp-client is not built (CI main job)")
    group.addoption("--tag", default="",
                    help="matrix: run only scenarios with one of these tags (comma-separated)")
    group.addoption("--transport", default="",
                    help="matrix: only these transports (comma-separated: plain, unix, starttls, tls)")
    group.addoption("--run-pending", action="store_true",
                    help="matrix: also run scenarios tagged `pending` (a client feature not landed yet)")
    group.addoption("--category", default="",
                    help="matrix: only these scenario folders (comma-separated, e.g. refusals,lmtp)")
    summary.add_options(parser)
    compare.add_options(parser)


# -- report header ------------------------------------------------------------------------------

def _first_line(argv: list[str]) -> str | None:
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = (proc.stdout or proc.stderr).decode("utf-8", "replace").strip()
    return out.splitlines()[0] if proc.returncode == 0 and out else None


def _deb_version(package: str) -> str:
    return _first_line(["dpkg-query", "-W", "-f", "${Version}", package]) or "not installed"


def _build_type(build: Path) -> str:
    cache = build / "CMakeCache.txt"
    if not cache.exists():
        return "not configured"
    m = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", cache.read_text(errors="replace"), re.M)
    return m.group(1) if m and m.group(1) else "unset"


def _boost_version() -> str:
    try:
        text = Path("/usr/include/boost/version.hpp").read_text()
    except OSError:
        return "not found"
    m = re.search(r'define BOOST_LIB_VERSION "([^"]+)"', text)
    return m.group(1).replace("_", ".") if m else "unknown"


def pytest_report_header(config: pytest.Config) -> list[str]:
    build = clients.build_dir()
    try:
        import aiosmtpd
        aiosmtpd_version = aiosmtpd.__version__
    except ImportError:
        aiosmtpd_version = "not installed"
    return [
        f"smtpkit build: {build} ({_build_type(build)}); "
        f"smtp-client: {clients.smtp_client_version() or clients.smtp_client_missing_reason()}",
        f"OpenSSL: {_first_line(['openssl', 'version']) or 'not found'}; Boost: {_boost_version()}; "
        f"Python: {platform.python_version()} ({sys.executable})",
        f"peers: aiosmtpd {aiosmtpd_version}; postfix (smtp-sink) {_deb_version('postfix')}; "
        f"clients: {config.getoption('--clients')}",
        _matrix_header(),
    ] + _external_header(config)


def _external_header(config: pytest.Config) -> list[str]:
    """One line per other client chosen with --clients: its version, or why it is skipped."""
    from harness.drivers import external
    chosen = [c.strip() for c in config.getoption("--clients").split(",") if c.strip()]
    return [f"client {name} ({d.package}, errors mapped from its {d.mapping}): "
            f"{d.missing_reason() or d.version()}"
            for name, d in external.DRIVERS.items() if name in chosen]


def _matrix_header() -> str:
    from harness import matrix
    files = len(matrix.scenario_files())
    where = matrix.build_dir()
    missing = matrix.missing_reason()
    tools = missing or f"smtp-fakeserver + smtp-scenario-client from {where} ({_build_type(where)})"
    return f"matrix: {files} scenario files under {matrix.SCENARIOS}; {tools}"


# -- clients ------------------------------------------------------------------------------------

def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "client" in metafunc.fixturenames:
        chosen = [c.strip() for c in metafunc.config.getoption("--clients").split(",") if c.strip()]
        # Matrix-only clients (cpp-async has no `smtp-client send` form) are not run here.
        from harness import matrix
        from harness.drivers import external
        matrix_only = set(matrix.MATRIX_CLIENTS) | {"cpp-async"} | set(external.DRIVERS)
        unknown = set(chosen) - set(clients.CLIENTS) - matrix_only
        if unknown:
            raise pytest.UsageError(f"--clients: unknown {sorted(unknown)}; known "
                                    f"{sorted(set(clients.CLIENTS) | matrix_only)}")
        metafunc.parametrize("client", [c for c in chosen if c in clients.CLIENTS], indirect=True)


@pytest.fixture
def client(request: pytest.FixtureRequest) -> str:
    """The client under test ("cpp" or "smtplib"); cpp is skipped with a reason when not built."""
    name = request.param
    if name == "cpp":
        reason = clients.smtp_client_missing_reason()
        if reason:
            if request.config.getoption("--require-smtp-client"):
                pytest.fail(reason)
            pytest.skip(reason)
    return name


@pytest.fixture
def token() -> str:
    """A unique marker for this test's mail: put it in the sender, then find the session by it."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def send(client: str, request: pytest.FixtureRequest, tmp_path: Path):
    """send(server, sender=..., to=[...], data=b"...", extra=[...]) -> clients.ClientRun.

    Runs the current client once against `server` (anything with client_args()), with the message
    in a file (--data), and records the outcome for the run summary.
    """
    counter = itertools.count()

    def _send(server, *, sender: str, to: list[str], data: bytes = b"Subject: test\r\n\r\nbody\r\n",
              extra: list[str] | None = None, stdin: bool = False) -> clients.ClientRun:
        args = list(server.client_args()) + ["--from", sender]
        for rcpt in to:
            args += ["--to", rcpt]
        if not stdin:
            path = tmp_path / f"message-{next(counter)}.eml"
            path.write_bytes(data)
            args += ["--data", str(path)]
        args += extra or []
        run = clients.run_client(client, args, stdin=data if stdin else None)
        request.node.user_properties.append(("client_outcome", run.summary()))
        request.node.user_properties.append(("client_seconds", round(run.seconds, 3)))
        return run

    return _send


# -- real servers, one per xdist worker ------------------------------------------------------------

@pytest.fixture(scope="session")
def aiosmtpd_smtp(tmp_path_factory: pytest.TempPathFactory):
    """aiosmtpd's SMTP class on 127.0.0.1:<port 0>, no SIZE limit, recording everything."""
    server = AiosmtpdServer(tmp_path_factory.mktemp("aiosmtpd-smtp"), name="aiosmtpd-smtp").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def aiosmtpd_smtp_sized(tmp_path_factory: pytest.TempPathFactory):
    """aiosmtpd SMTP advertising and enforcing SIZE 4096."""
    server = AiosmtpdServer(tmp_path_factory.mktemp("aiosmtpd-sized"), size=4096,
                            name="aiosmtpd-sized").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def aiosmtpd_smtp_unix(tmp_path_factory: pytest.TempPathFactory):
    """aiosmtpd SMTP (not LMTP) on a Unix socket."""
    server = AiosmtpdServer(tmp_path_factory.mktemp("aiosmtpd-unix"), unix=True,
                            name="aiosmtpd-smtp-unix").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def aiosmtpd_lmtp(tmp_path_factory: pytest.TempPathFactory):
    """aiosmtpd.lmtp.LMTP on a Unix socket; answers one reply per recipient after the dot."""
    server = AiosmtpdServer(tmp_path_factory.mktemp("aiosmtpd-lmtp"), lmtp=True, unix=True,
                            name="aiosmtpd-lmtp").start()
    yield server
    server.stop()


@pytest.fixture
def fresh_aiosmtpd(tmp_path: Path):
    """A private aiosmtpd SMTP server for one test, when the test asserts what did NOT happen."""
    server = AiosmtpdServer(tmp_path / "aiosmtpd", name="aiosmtpd-private").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_sink_factory(tmp_path_factory: pytest.TempPathFactory):
    """smtp_sink_factory(*options, lmtp=False, unix=False) -> a running smtp-sink, one per
    distinct configuration per worker (e.g. ("-f", "RCPT") refuses every RCPT with 5xx)."""
    if not os.path.exists("/usr/sbin/smtp-sink"):
        pytest.skip("/usr/sbin/smtp-sink not installed (Debian package postfix; ci/install-deps.sh)")
    running: dict[tuple, SmtpSink] = {}

    def _get(*options: str, lmtp: bool = False, unix: bool = False) -> SmtpSink:
        key = (options, lmtp, unix)
        if key not in running:
            workdir = tmp_path_factory.mktemp("smtp-sink")
            running[key] = SmtpSink(workdir, *options, lmtp=lmtp, unix=unix).start()
        return running[key]

    yield _get
    for sink in running.values():
        sink.stop()


@pytest.fixture(scope="session")
def smtp_sink(smtp_sink_factory):
    """Plain smtp-sink SMTP on 127.0.0.1:<port 0>."""
    return smtp_sink_factory()


# -- servers written here, for what real servers will not do -------------------------------------

@pytest.fixture
def silent_server():
    server = SilentServer().start()
    yield server
    server.stop()


@pytest.fixture
def drip_server():
    """A greeting sent one byte every 0.2 s (4 s in all), then silence."""
    server = DripServer(b"220 drip.harness.t\r\n", 0.2).start()  # 20 bytes
    yield server
    server.stop()


@pytest.fixture
def refusing_port():
    port = RefusingPort()
    yield port
    port.close()


# -- run summary (harness/summary.py) ---------------------------------------------------------------

def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                   items: list[pytest.Item]) -> None:
    # At collection, not at setup: a run skipped by a mark never reaches its setup hooks.
    for item in items:
        summary.setup_item(item)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Under xdist this runs on the controller too, with the worker's user_properties.
    if _CONFIG is not None:
        summary.collect(_CONFIG, report)
        compare.collect(_CONFIG, report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = compare.finish(session.config)
    if path is not None:
        session.config.stash[_COMPARE_KEY] = path


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """pytest-xdist, on the controller: tell each worker whether the controller has a build, so a
    worker (another machine's checkout) without one can say so instead of collecting other tests."""
    from harness import matrix
    node.workerinput["smtpkit_controller_build"] = str(matrix.build_dir()) \
        if matrix.missing_reason() is None else ""


def check_worker_build(config: pytest.Config) -> None:
    """On an xdist worker whose controller has a build: no build here is an error naming the
    machine, the checkout and the fix (harness/README.md, "Scaling out"). Raised while the matrix
    is collected (a collection error the controller prints and stops on; an error at start-up
    would make xdist restart the worker over and over)."""
    workerinput = getattr(config, "workerinput", None)
    if not workerinput or not workerinput.get("smtpkit_controller_build"):
        return
    from harness import matrix
    reason = matrix.missing_reason()
    if reason is None:
        return
    raise pytest.UsageError(
        f"the xdist worker {workerinput.get('workerid', '?')} on {platform.node()} (checkout "
        f"{os.getcwd()}) has no build: {reason}. Every worker needs the same commit built in its "
        f"own checkout: run ./ci/build.sh ci there, or name its build with "
        f"--tx ...//env:SMTPKIT_BUILD_DIR=/path/to/build (the controller's environment is not sent)")


def pytest_configure(config: pytest.Config) -> None:
    global _CONFIG
    _CONFIG = config
    config.addinivalue_line(
        "markers", "mainjob: one of the handful of cases ci/main.sh runs (until the matrix, issue 5)")
    # The matrix marks each run with its transport and client, so -m works as well as the options.
    config.addinivalue_line("markers", "matrix: a run of the scenario matrix (harness/tests/test_matrix.py)")
    config.addinivalue_line("markers", "summary(case, client, group): the run's labels in the "
                                       "summary and the JUnit properties (harness/summary.py)")
    for transport in ("plain", "unix", "starttls", "tls"):
        config.addinivalue_line("markers", f"transport_{transport}: matrix run over {transport}")
    from harness.drivers import external
    for name in ("cpp", "smtplib", "cpp-async", *external.DRIVERS):
        config.addinivalue_line("markers", f"client_{name.replace('-', '_')}: matrix run with the {name} client")


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    summary.terminal_summary(terminalreporter, config)
    path = config.stash.get(_COMPARE_KEY, None)
    if path is not None:
        terminalreporter.write_line(f"comparison report: {path} (+ report.json, report-junit.xml)")


_CONFIG: pytest.Config | None = None
_COMPARE_KEY = pytest.StashKey[Path]()
