#!/usr/bin/env bash
# run-all.sh — every test layer, in order: unit (Criterion), then each
# tests/integration/*.sh, then each tests/e2e/*.sh, then integration tests
# with the applier running, the fuzz round and the sanitizer layer.
# Output is shown live and every "PASS:", "FAIL:", "SKIP:" line is counted;
# the last line is exactly
#   N passed, N failed            or   N passed, N failed, N skipped
# A script that exits non-zero without a FAIL line, prints no result, times
# out (AZ_TEST_TIMEOUT, default 900 s) or leaves netns/temp dirs behind counts
# as a failure.  CI=true: every skip counts as a failure.
# TESTS='regex' runs the matching subset ("unit", "integration/00-topology.sh").
# Exit status non-zero when anything failed.
set -u
# shellcheck source=lib/results.sh
source "$(dirname "$0")/lib/results.sh"
cd "$R_ROOT" || exit 1

if r_selected unit; then
	r_run_unit "$R_BUILD/unit-tests"
fi

for layer in integration e2e; do
	shopt -s nullglob
	scripts=("$R_ROOT/tests/$layer"/*.sh)
	shopt -u nullglob
	if ((${#scripts[@]} == 0)); then
		r_selected "$layer/" && r_emit "SKIP: $layer: no test scripts in tests/$layer"
		continue
	fi
	for s in "${scripts[@]}"; do
		r_selected "$layer/${s##*/}" || continue
		r_run_script "$s"
	done
done

# The integration tests again with the applier serving the hook (issue 4):
# tests/applier/run.sh.
if r_selected applier/run.sh; then
	r_run_script "$R_ROOT/tests/applier/run.sh"
fi
# Hardening (issue 5): a short round of every fuzz target, seeds and
# regressions replayed (tests/fuzz/run.sh; make fuzz runs longer); then
# unit and integration again with the ASan+UBSan build (tests/asan/run.sh).
if r_selected fuzz/run.sh; then
	FUZZ_SECONDS=${AZ_FUZZ_CHECK_SECONDS:-20} r_run_script "$R_ROOT/tests/fuzz/run.sh"
fi
if r_selected asan/run.sh; then
	AZ_TEST_TIMEOUT=${AZ_ASAN_TIMEOUT:-2400} r_run_script "$R_ROOT/tests/asan/run.sh"
fi

r_summary
