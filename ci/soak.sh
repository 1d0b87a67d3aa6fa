#!/usr/bin/env bash
# Load and soak of the fake server's sink mode (issue 9): see fuzz/soak.py. Raises the open-file
# limit for 10,000 held connections (soft limit up to the hard limit; the hard limit itself needs
# root: `ulimit -Hn 65536` or LimitNOFILE= in a unit). Arguments go to soak.py, e.g.
#   ci/soak.sh --messages 100000 --time-limit 600
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
exec nice -n "${NICE:-19}" /usr/bin/python3 fuzz/soak.py "$@"
