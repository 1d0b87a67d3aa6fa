#!/usr/bin/env bash
# The main job: installs what the project needs, builds, then runs the scenario matrix (issue 5):
# every scenario in scenarios/ with a client section, over every transport it declares (plain TCP,
# STARTTLS, implicit TLS, Unix socket), against the C++ client (smtp-scenario-client) and Python's
# smtplib, each run checked against the scenario's expected outcome and the fake server's report.
# Next to it, the handful of cases against real third-party servers (aiosmtpd, Postfix's smtp-sink;
# the tests marked `mainjob`). Prints a summary a person reads at a glance: passed / failed /
# skipped per category and transport for each client, skipped runs by reason, the slowest runs,
# every failed case, and the JUnit file path. Exits non-zero if any run failed.
#
# The run also writes the comparison report (issue 18, --compare-report): out/compare/
# report.html (grid scenario × client), report.json, report-junit.xml. Any subset of clients,
# ours or others (harness/README.md, "Other clients"): `./ci/main.sh -- --clients curl,msmtp`.
#
# Environment: PRESET (default ci), MAIN_JOB_SELECT (pytest -m expression, default
# "matrix or mainjob"), PYTEST_WORKERS (default auto), OUT (default out/), and any pytest options
# after `--`, e.g. `./ci/main.sh -- --category lmtp --transport unix`.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${PRESET:-ci}"
out="${OUT:-out}"
extra=()
if [ "${1:-}" = "--" ]; then shift; extra=("$@"); fi

./ci/install-deps.sh
./ci/build.sh "$preset"

export SMTPKIT_BUILD_DIR="$PWD/build/$preset"
mkdir -p "$out"
rm -rf "$out/compare"

run_main_job() {
  local select="${MAIN_JOB_SELECT-matrix or mainjob}"
  local args=(harness/tests/test_matrix.py harness/tests/test_client_real_servers.py)
  [ -n "$select" ] && args+=(-m "$select")
  /usr/bin/python3 -m pytest -p harness.plugin "${args[@]}" \
    -n "${PYTEST_WORKERS:-auto}" -q -rfE -p no:cacheprovider \
    --require-smtp-client --job-summary \
    --junitxml="$out/main-junit.xml" --summary-json="$out/main-summary.json" \
    --compare-report="$out/compare" "${extra[@]}"
}

echo "== main job: scenario matrix (C++ client + smtplib against smtp-fakeserver) and real servers"
status=0
started=$(date +%s)
run_main_job || status=$?
took=$(( $(date +%s) - started ))
if [ "$status" -eq 0 ]; then
  echo "== main job passed in ${took}s (JUnit: $out/main-junit.xml, summary: $out/main-summary.json, report: $out/compare/report.html)"
else
  echo "== main job FAILED with status $status in ${took}s (JUnit: $out/main-junit.xml, summary: $out/main-summary.json, report: $out/compare/report.html)"
fi
exit "$status"
