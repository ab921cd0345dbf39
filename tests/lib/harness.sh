# shellcheck shell=bash
# harness.sh — sourced by every integration and e2e test script.
#
# Result protocol, one line per check, counted by tests/run-all.sh:
#   PASS: <name>
#   FAIL: <name>: <reason>
#   SKIP: <name>: <reason>
#
# Everything a test creates (netns, processes, temp files) is undone by a LIFO
# cleanup list that runs from the EXIT/INT/TERM trap, every step even when one
# fails.  Names of netns and interfaces start with $AZ_RUN, unique per run, so
# parallel runs never collide and leftovers are attributable.
#
# Not set here: errexit.  A test decides for itself.  t_check and wait_for
# return the status of what they ran: under `set -e` a failed check ends the
# script (its FAIL line printed, cleanup run); add `|| true` to go on.
# Never set an EXIT/INT/TERM trap in a test: it would replace the harness'
# cleanup.  Use t_cleanup_push.

if [[ -n ${AZ_HARNESS_LOADED:-} ]]; then
	return 0
fi
AZ_HARNESS_LOADED=1

AZ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AZ_BUILD=${B:-build}
[[ $AZ_BUILD == /* ]] || AZ_BUILD=$AZ_ROOT/$AZ_BUILD
# run-all.sh hands a script its name and run prefix (so it can find what the
# script leaks); neither is passed on to scripts this one starts.
AZ_TEST_NAME=${AZ_TEST_NAME:-$(basename "${BASH_SOURCE[-1]:-$0}" .sh)}
# "az" + 5 hex digits: 7 chars, leaving 8 for suffixes in 15-char ifnames.
AZ_RUN=${AZ_RUN_NEXT:-az$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-5)}
export -n AZ_TEST_NAME
unset AZ_RUN_NEXT
if [[ ! $AZ_RUN =~ ^[a-z][a-z0-9]{1,6}$ ]]; then
	echo "harness: run prefix '$AZ_RUN' must be 2-7 lowercase letters/digits" >&2
	exit 2
fi
export AZ_RUN AZ_ROOT AZ_BUILD

T_PASSED=0
T_FAILED=0
T_SKIPPED=0
_T_CLEANUP=()
_T_CLEANED=0
_T_SUBSHELL=$BASH_SUBSHELL

t_pass() {
	T_PASSED=$((T_PASSED + 1))
	echo "PASS: $1"
}

# t_fail NAME REASON...
t_fail() {
	local name=$1
	shift
	T_FAILED=$((T_FAILED + 1))
	echo "FAIL: $name: ${*:-failed}"
}

# t_skip NAME REASON...
t_skip() {
	local name=$1
	shift
	T_SKIPPED=$((T_SKIPPED + 1))
	echo "SKIP: $name: ${*:-skipped}"
}

# t_check NAME CMD [ARG...] — PASS if CMD exits 0, else FAIL with its exit
# code and the last line it printed (stdout and stderr are captured; on
# failure the last 5 lines are shown indented).  Returns CMD's status.
t_check() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	if ((rc == 0)); then
		t_pass "$name"
	else
		t_fail "$name" "exit $rc from '$*': $(_t_last_line "$out")"
		[[ -n $out ]] && printf '%s\n' "$out" | tail -n 5 | sed 's/^/    | /'
	fi
	return "$rc"
}

# t_check_not NAME CMD [ARG...] — PASS if CMD exits non-zero.
t_check_not() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	if ((rc != 0)); then
		t_pass "$name"
		return 0
	fi
	t_fail "$name" "'$*' succeeded, expected failure: $(_t_last_line "$out")"
	return 1
}

_t_last_line() {
	local s=${1%$'\n'}
	s=${s##*$'\n'}
	printf '%s' "${s:-no output}"
}

# t_log MSG... — informational line on stderr (never counted).
t_log() {
	echo "# $*" >&2
}

# t_cleanup_push "CMD" — run CMD (eval'd) at exit, last pushed first.
# Refuses to run in a subshell, where the registration would be lost:
# call the functions that register cleanup directly, not in $(...).
t_cleanup_push() {
	if ((BASH_SUBSHELL != _T_SUBSHELL)); then
		echo "harness: t_cleanup_push '$1' called in a subshell; the cleanup would be lost" >&2
		return 1
	fi
	_T_CLEANUP+=("$1")
}

# t_cleanup_run — run (and empty) the cleanup list now, last pushed first;
# a failing step does not stop the others.  Safe to call again.
t_cleanup_run() {
	local i
	for ((i = ${#_T_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${_T_CLEANUP[i]}" </dev/null >&2 || true
		unset '_T_CLEANUP[i]'
	done
	_T_CLEANUP=()
}

_t_on_exit() {
	local rc=$?
	# A second Ctrl-C must not cut the cleanup short (run-all's timeout
	# still ends a cleanup that hangs).
	trap - EXIT
	trap '' INT TERM
	# Cleanup must run to the end even under errexit/nounset in the test.
	set +e +u
	if ((!_T_CLEANED)); then
		_T_CLEANED=1
		t_cleanup_run
	fi
	if ((rc == 0 && T_FAILED > 0)); then
		rc=1
	fi
	exit "$rc"
}
trap _t_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# require_root — SKIP the whole script (exit 0) unless running as root.
require_root() {
	if ((EUID != 0)); then
		t_skip "$AZ_TEST_NAME" "needs root (run as root or via sudo)"
		exit 0
	fi
}

# require_cmd CMD... — SKIP the whole script unless every CMD is on PATH.
require_cmd() {
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			t_skip "$AZ_TEST_NAME" "needs '$c' (not installed)"
			exit 0
		fi
	done
}

# wait_for TIMEOUT_SECONDS CMD [ARG...] — poll CMD every 0.05 s until it
# succeeds (return 0) or the timeout (may be fractional) passes (return 1).
wait_for() {
	local timeout=$1
	shift
	local deadline now
	deadline=$(_t_ms_after "$timeout")
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		now=$(_t_now_ms)
		((now >= deadline)) && return 1
		sleep 0.05
	done
}

_t_now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

_t_ms_after() {
	local secs=$1 whole frac
	whole=${secs%%.*}
	frac=0
	if [[ $secs == *.* ]]; then
		frac=${secs#*.}000
		frac=$((10#${frac:0:3}))
	fi
	echo $(($(_t_now_ms) + ${whole:-0} * 1000 + frac))
}

# AZ_TMP — a private temp directory, removed at exit.
AZ_TMP=$(mktemp -d "/tmp/${AZ_RUN}.XXXXXX")
chmod 755 "$AZ_TMP"
t_cleanup_push "rm -rf '$AZ_TMP'"
export AZ_TMP

# az_pid_track PID — kill PID (TERM, then KILL after 2 s) at exit.
az_pid_track() {
	t_cleanup_push "az_pid_stop $1"
}

# az_pid_stop PID — stop one process we started, bounded.
az_pid_stop() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 40; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	# Reap it if it is our child so it leaves no zombie behind.
	wait "$pid" 2>/dev/null
	return 0
}

# azprobe_bin — path of the azprobe helper, built with `make` when missing
# or older than its source.
AZPROBE=$AZ_BUILD/tools/azprobe
azprobe_bin() {
	local src=$AZ_ROOT/tests/tools/azprobe.c
	if [[ ! -x $AZPROBE || $src -nt $AZPROBE ]]; then
		# The Makefile's rule first; the plain compiler if the tree's
		# Makefile is broken at the moment (azprobe needs nothing of it).
		make -s -C "$AZ_ROOT" B="$AZ_BUILD" "$AZPROBE" >&2 ||
			{ mkdir -p "${AZPROBE%/*}" && "${CC:-cc}" -O2 -std=gnu17 -Wall -Wextra -Werror \
				-D_GNU_SOURCE -o "$AZPROBE.$$" "$src" && mv -f "$AZPROBE.$$" "$AZPROBE"; } ||
			return 1
	fi
	echo "$AZPROBE"
}
