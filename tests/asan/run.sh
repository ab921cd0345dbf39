#!/usr/bin/env bash
# run.sh — the sanitizer layer: the unit tests (Criterion) and every
# tests/integration/*.sh again, with the ASan+UBSan binaries of build-asan
# (make asan-build).  Each program's reports go to files of their own
# (log_path), so a report counts even when the test expected the program to
# fail (a fail-closed test would otherwise take the abort for a refusal):
#   FAIL: asan/<test>: sanitizer report: <its summary line>
# LeakSanitizer is on (detect_leaks=1) for every instrumented program: the
# hook and the CLI as the integration tests start them, the plugin in
# integration/51-plugin-http.sh.
#
#   tests/asan/run.sh [REGEX]     REGEX picks among "unit" and
#                                 "integration/NAME.sh"
# Result lines are counted by tests/run-all.sh (TESTS='^asan/' runs this
# layer alone: make check-asan).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export B=${ASAN_B:-build-asan}
# shellcheck source=../lib/results.sh
source "$ROOT/tests/lib/results.sh"
cd "$R_ROOT" || exit 1
pick=${1:-}

if [[ ! -f $R_BUILD/san.flags || ! -x $R_BUILD/unit-tests ]]; then
	echo "FAIL: asan: $R_BUILD is not built (make asan-build)"
	exit 1
fi
# Makes started by the tests (tools built on demand) use the same flags.
read -r -a flags <"$R_BUILD/san.flags"
SAN=""
for f in "${flags[@]}"; do [[ $f == -f* ]] && SAN+="${SAN:+ }$f"; done
export SAN

LOGS=$R_TMP/san
common=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=$common:detect_leaks=1:abort_on_error=0:log_path=$LOGS/asan
export UBSAN_OPTIONS=$common:log_path=$LOGS/ubsan
export LSAN_OPTIONS=${LSAN_OPTIONS:-}

# reports NAME — one FAIL line per program that reported, then forget them.
reports() {
	local name=$1 f sum
	shopt -s nullglob
	for f in "$LOGS"/*; do
		sum=$(grep -m1 '^SUMMARY: ' "$f" || grep -m1 -E 'ERROR|runtime error' "$f" || head -n1 "$f")
		# a sanitizer opens its log when it starts a report: an empty one
		# means the program ended (was killed) before it wrote a line
		[[ -s $f ]] || sum="(empty: the program ended before the report's first line)"
		echo "FAIL: asan/$name: sanitizer report ($(basename "$f")): $sum"
		grep -E '^ *#[0-9]+ ' "$f" | head -n 8 | sed 's/^/    | /'
		rm -f "$f"
	done
	shopt -u nullglob
}

mkdir -p "$LOGS"
start=$(date +%s)
picked() { [[ -z $pick ]] || grep -qE -- "$pick" <<<"$1"; }

if picked unit; then
	# Criterion's own runner is not ours to leak-check; its test processes are.
	r_run_unit "$R_BUILD/unit-tests"
	reports unit
fi
for s in "$R_ROOT"/tests/integration/*.sh; do
	picked "integration/${s##*/}" || continue
	# Timings, not behaviour, and its programs run under strace, where
	# LeakSanitizer cannot work (it needs ptrace itself).
	if [[ ${s##*/} == 90-bench-smoke.sh ]]; then
		echo "asan: not run here: integration/90-bench-smoke.sh (strace and LeakSanitizer exclude each other)"
		continue
	fi
	r_run_script "$s"
	reports "integration/${s##*/}"
done
echo "asan: layer took $(($(date +%s) - start)) s"
# Counted by the caller; fail when anything here failed.
((R_FAILED == 0))
