#!/usr/bin/env bash
# Fuzz smoke (issue 9): builds the libFuzzer targets (clang-14, ASan + UBSan) in build/fuzz, replays
# each committed corpus (fuzz/corpus/<target>: seeds and reproducers of fixed findings), then
# fuzzes each target for FUZZ_SECONDS (default 20) starting from it. New inputs go to a scratch
# directory, never into the committed corpus. A crash, leak, timeout or sanitizer report fails.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-20}
targets="fuzz_reply_parser fuzz_ehlo fuzz_body_encoder fuzz_scenario fuzz_sasl fuzz_session fuzz_pattern_match"

cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  -DSMTPKIT_FUZZ=ON -DSMTPKIT_SANITIZE=address,undefined -DSMTPKIT_BUILD_TESTS=OFF -DSMTPKIT_WERROR=ON
cmake --build build/fuzz -j "${JOBS:-2}" --target $targets

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in $targets; do
  echo "== $t: replay fuzz/corpus/$t, then ${secs} s"
  "build/fuzz/bin/$t" -runs=0 "fuzz/corpus/$t" </dev/null
  mkdir -p "$scratch/$t"
  "build/fuzz/bin/$t" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 \
    -artifact_prefix="$scratch/$t-" -print_final_stats=1 "$scratch/$t" "fuzz/corpus/$t" </dev/null \
    2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Done' || true
  if compgen -G "$scratch/$t-*" >/dev/null; then
    echo "FAILED: $t found a crash:"; ls "$scratch/$t-"*
    cp "$scratch/$t-"* build/fuzz/ 2>/dev/null || true
    exit 1
  fi
done
echo "== fuzz smoke passed"
