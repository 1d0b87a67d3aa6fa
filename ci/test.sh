#!/usr/bin/env bash
# The test command (what CI runs through .ci/run): installs what the project needs, builds, and
# runs every test:
#   1. the `ci` build (RelWithDebInfo, warnings are errors): C++ unit tests (CTest) and the
#      process-level tests (pytest, Debian's, under /usr/bin/python3: matrix, real servers, tools);
#   2. the sanitizer job (ci/sanitize.sh): the same two suites against a clang-14 ASan + UBSan build;
#   3. the fuzz smoke (ci/fuzz-smoke.sh): each libFuzzer target replays its committed corpus and
#      fuzzes for FUZZ_SECONDS (default 20);
#   4. the other clients (ci/clients.sh, issue 18): curl, swaks and msmtp over the whole corpus,
#      the comparison report in out/clients/, verdicts checked against harness/clients-baseline.json.
# QUICK=1 runs step 1 only (the edit-compile-test loop); CI always runs all four.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${PRESET:-ci}"
start=$SECONDS

./ci/install-deps.sh
./ci/build.sh "$preset"

echo "== unit tests (ctest, preset $preset)"
ctest --preset "$preset"

echo "== process tests (pytest)"
mkdir -p out
SMTPKIT_BUILD_DIR="$PWD/build/$preset" /usr/bin/python3 -m pytest -n "${PYTEST_WORKERS:-auto}" \
  --junitxml=out/pytest-junit.xml --require-smtp-client
echo "== step 1 (build $preset + ctest + pytest) took $((SECONDS - start)) s"

if [[ "${QUICK:-0}" == 1 && "${CI:-}" != true ]]; then
  echo "== QUICK=1: sanitizer job and fuzz smoke skipped (CI runs them)"
  exit 0
fi

./ci/sanitize.sh
./ci/fuzz-smoke.sh
./ci/clients.sh
echo "== all tests passed in $((SECONDS - start)) s"
