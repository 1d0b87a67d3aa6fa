#!/usr/bin/env bash
# The main job: installs what the project needs, builds, then runs the client against real
# servers that the job starts itself (aiosmtpd's SMTP over TCP and LMTP over a Unix socket, and
# Postfix's smtp-sink, all on loopback with port 0), next to Python's smtplib as the reference
# client, and prints a summary: one line per case with each client's outcome, time and result.
# Exits non-zero if any case failed (or if smtp-client was not built).
#
# The servers are pytest fixtures (harness/conftest.py); the cases are the tests marked `mainjob`
# in harness/tests/. Issue 5 turns this into the scenario matrix by changing run_main_job only.
#
# Environment: PRESET (default ci), MAIN_JOB_SELECT (pytest -m expression, default "mainjob";
# empty runs every real-server test), PYTEST_WORKERS (default auto), OUT (default out/).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${PRESET:-ci}"
out="${OUT:-out}"

./ci/install-deps.sh
./ci/build.sh "$preset"

export SMTPKIT_BUILD_DIR="$PWD/build/$preset"
mkdir -p "$out"

run_main_job() {
  local select="${MAIN_JOB_SELECT-mainjob}"
  local args=(harness/tests/test_client_real_servers.py)
  [ -n "$select" ] && args+=(-m "$select")
  /usr/bin/python3 -m pytest -p harness.plugin "${args[@]}" \
    -n "${PYTEST_WORKERS:-auto}" -q -rfE -p no:cacheprovider \
    --require-smtp-client --job-summary \
    --junitxml="$out/main-junit.xml" --summary-json="$out/main-summary.json"
}

echo "== main job: smtp-client ($SMTPKIT_BUILD_DIR/bin/smtp-client) and smtplib against real servers"
status=0
run_main_job || status=$?
if [ "$status" -eq 0 ]; then
  echo "== main job passed (JUnit: $out/main-junit.xml, summary: $out/main-summary.json)"
else
  echo "== main job FAILED with status $status (JUnit: $out/main-junit.xml, summary: $out/main-summary.json)"
fi
exit "$status"
