#!/usr/bin/env bash
# The test command: installs what the project needs, builds, and runs every test: the C++ unit
# tests (CTest) and the process-level tests (pytest, Debian's, under /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${PRESET:-ci}"

./ci/install-deps.sh
./ci/build.sh "$preset"

echo "== unit tests (ctest, preset $preset)"
ctest --preset "$preset"

echo "== process tests (pytest)"
export SMTPKIT_BUILD_DIR="$PWD/build/$preset"
mkdir -p out
/usr/bin/python3 -m pytest -n "${PYTEST_WORKERS:-auto}" --junitxml=out/pytest-junit.xml --require-smtp-client
