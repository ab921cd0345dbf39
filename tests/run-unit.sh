#!/usr/bin/env bash
# run-unit.sh [BINARY] — the Criterion unit tests only (default build/unit-tests),
# counted like run-all.sh: one result line per test, then
# "N passed, N failed[, N skipped]".  Exit status non-zero on any failure.
set -u
# shellcheck source=lib/results.sh
source "$(dirname "$0")/lib/results.sh"
r_run_unit "${1:-}"
r_summary
