#!/usr/bin/env bash
# The sanitizer job (issue 9): the `sanitize` preset (clang-14, ASan + UBSan, every UBSan finding
# fatal) builds the whole project; then the whole CTest suite and the pytest matrix run against
# the sanitized binaries (SMTPKIT_BUILD_DIR=build/sanitize). Any sanitizer report fails the job.
# CLEAN=1 removes build/sanitize first (what the CI time budget was measured with).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
[[ "${CLEAN:-0}" == 1 ]] && rm -rf build/sanitize

# halt_on_error: the first report ends the process with a failure. detect_leaks stays on.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

echo "== configure + build (preset sanitize)"
cmake --preset sanitize -DSMTPKIT_WERROR=ON
cmake --build --preset sanitize -j "${JOBS:-2}"
echo "   build took $((SECONDS - start)) s"

echo "== unit tests (ctest, preset sanitize)"
ctest --preset sanitize -j "${JOBS:-2}"

echo "== process tests (pytest against build/sanitize)"
export SMTPKIT_BUILD_DIR="$PWD/build/sanitize"
mkdir -p out
/usr/bin/python3 -m pytest -n "${PYTEST_WORKERS:-2}" --junitxml=out/pytest-sanitize-junit.xml \
  --require-smtp-client
echo "== sanitize job took $((SECONDS - start)) s"
