#!/usr/bin/env bash
# The hook's apply (createRuntime) and remove (poststop) time for one
# container with N others attached — the quick loop while optimizing the
# hook.  Now a shorthand for the control-path part of the bench:
#   tests/bench/hook-apply.sh [N...]     (default: 0 100 1000; RUNS=200)
# Results: build/bench-control/results.json and the table on stdout.
sizes="$*"
exec "$(dirname "$0")/run.sh" --control-only --sizes "${sizes:-0 100 1000}" --runs "${RUNS:-200}"
