#!/usr/bin/env bash
# Other clients under the corpus (issue 18): runs the scenario matrix with the Debian-packaged
# clients' drivers (curl, swaks, msmtp; CLIENTS=... for another set, e.g. go-smtp,nodemailer)
# over every scenario file and transport, and writes the comparison report: out/clients/
# report.html (grid scenario × client), report.json, report-junit.xml.
#
# A run where a client does not do what `expect:` says is a finding, not a CI failure: the
# step fails when pytest itself breaks (exit status > 1), when a run is an `error` (the harness
# could not make it), or when a client's verdicts differ from harness/clients-baseline.json
# (so a change in a driver, the corpus or the fake server that changes what the report says is
# seen; `python3 -m harness.baseline update` records the new verdicts, to be reviewed in the diff).
# Extra arguments go to pytest (e.g. --category lmtp); the baseline is then not checked.
# Assumes ./ci/install-deps.sh and ./ci/build.sh have run (ci/test.sh and ci/main.sh do both).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${PRESET:-ci}"
clients="${CLIENTS:-curl,swaks,msmtp}"
out="${OUT:-out}/clients"
rm -rf "$out"
mkdir -p "$out"
start=$SECONDS
echo "== other clients ($clients) over the corpus"
status=0
SMTPKIT_BUILD_DIR="$PWD/build/$preset" /usr/bin/python3 -m pytest -p harness.plugin \
  harness/tests/test_matrix.py -q -p no:cacheprovider -n "${PYTEST_WORKERS:-auto}" \
  --require-smtp-client --clients "$clients" --compare-report "$out" \
  --junitxml="$out/pytest-junit.xml" --job-summary "$@" >"$out/pytest.log" 2>&1 || status=$?
tail -n 40 "$out/pytest.log"
if [ "$status" -gt 1 ]; then
  echo "== other clients: pytest failed to run (status $status); log: $out/pytest.log"
  exit "$status"
fi
if [ "$#" -gt 0 ]; then
  # A narrowed run (extra pytest options) is not the whole corpus the baseline records.
  echo "== other clients: pytest options given ($*): verdicts not checked against the baseline"
else
  /usr/bin/python3 -m harness.baseline check "$out/report.json" harness/clients-baseline.json \
    --clients "$clients"
fi
echo "== other clients took $((SECONDS - start)) s (report: $out/report.html)"
