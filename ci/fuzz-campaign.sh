#!/usr/bin/env bash
# The long local fuzz campaign (issue 9): every target ONE AT A TIME under nice 19, one job, one
# worker, for SECONDS_PER_TARGET (default 600) each. New inputs go to build/fuzz/corpus-work/<t>
# (the committed seeds under fuzz/corpus/<t> stay small); crashes land in build/fuzz/artifacts/.
# Prints one line per target with its exec count for /work/status/hardening.md and BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECONDS_PER_TARGET:-600}
targets=${TARGETS:-"fuzz_reply_parser fuzz_ehlo fuzz_body_encoder fuzz_scenario fuzz_sasl fuzz_session fuzz_pattern_match"}
mkdir -p build/fuzz/artifacts build/fuzz/logs
for t in $targets; do
  mkdir -p "build/fuzz/corpus-work/$t"
  log="build/fuzz/logs/$t.log"
  rc=0
  nice -n 19 "build/fuzz/bin/$t" -jobs=1 -workers=1 -max_total_time="$secs" -timeout=30 \
    -rss_limit_mb=2048 -artifact_prefix="build/fuzz/artifacts/$t-" -print_final_stats=1 \
    "build/fuzz/corpus-work/$t" "fuzz/corpus/$t" </dev/null >"$log" 2>&1 || rc=$?
  # -jobs=1 runs the fuzzer in a child whose output goes to fuzz-0.log
  [[ -f fuzz-0.log ]] && cat fuzz-0.log >>"$log" && rm -f fuzz-0.log
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  echo "$(date -u +%H:%M) $t: ${secs}s, execs=${execs:-?}, exit=$rc, corpus=$(ls "build/fuzz/corpus-work/$t" | wc -l)"
done
