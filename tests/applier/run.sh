#!/usr/bin/env bash
# run.sh — the applier layer: integration tests again, with an applier
# (`alcatraz-apply serve`) running in the sim-host, so that every hook run
# is handed to it (AZ_APPLIER=1: tests/lib/fakert.sh starts it with the
# test's first container).  What the hook does alone must hold when the
# applier does it: the same packets refused and reaching, the same
# messages, nothing left behind.
#
#   tests/applier/run.sh [REGEX]   REGEX picks among "integration/NAME.sh"
#
# Not here: 37-faults (it kills the hook process at chosen moments; with an
# applier the work is not in that process — 21-applier kills the applier
# instead), 38-statedir-faults (it swaps the state dir under the hook, where
# the applier's socket lives), the plugin's and the bench's tests (no
# hook), 00/05 (no hook run).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/results.sh
source "$ROOT/tests/lib/results.sh"
cd "$R_ROOT" || exit 1
pick=${1:-}
export AZ_APPLIER=1
start=$(date +%s)
for t in 10-isolation 11-lan-access 12-host-and-peers 13-spoofing 14-dns 15-proxy 16-flush \
	17-lifecycle 18-fail-closed 19-published 32-parallel 33-hook-input 36-watch 39-hostile-input; do
	s=$R_ROOT/tests/integration/$t.sh
	[[ -z $pick ]] || grep -qE -- "$pick" <<<"integration/$t.sh" || continue
	r_run_script "$s"
done
echo "applier: layer took $(($(date +%s) - start)) s"
((R_FAILED == 0))
