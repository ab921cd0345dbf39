# shellcheck shell=bash
# results.sh — counting for tests/run-all.sh and tests/run-unit.sh.
#
# Every layer reports lines "PASS: name", "FAIL: name: reason",
# "SKIP: name: reason"; this file counts them and prints the one summary
# line "N passed, N failed[, N skipped]".  Under CI=true a skip is a failure:
# in CI every layer must run.

R_PASSED=0
R_FAILED=0
R_SKIPPED=0
R_FAILS=()
R_SKIPS=()
R_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
R_BUILD=${B:-build}
[[ $R_BUILD == /* ]] || R_BUILD=$R_ROOT/$R_BUILD
R_TMP=$(mktemp -d /tmp/azresults.XXXXXX)
R_CHILD=
R_TAIL=
R_RUNNING=
R_RUNNING_RUN=
trap 'rm -rf "$R_TMP"' EXIT
trap 'r_on_signal 130' INT
trap 'r_on_signal 143' TERM

# Interrupted (Ctrl-C, TERM): let the running test clean up, then report.
# The test runs under `timeout`, in a process group of its own, so the
# terminal's signal does not reach it: forward it.
r_on_signal() {
	trap '' INT TERM
	if [[ -n $R_CHILD ]] && kill -0 "$R_CHILD" 2>/dev/null; then
		echo "run-all: interrupted; stopping ${R_RUNNING:-the running test} (its cleanup runs)" >&2
		kill -TERM "$R_CHILD" 2>/dev/null
		wait "$R_CHILD" 2>/dev/null
	fi
	[[ -n $R_TAIL ]] && wait "$R_TAIL" 2>/dev/null
	r_emit "FAIL: ${R_RUNNING:-run-all}: interrupted"
	[[ -n $R_RUNNING_RUN ]] && r_check_leaks "$R_RUNNING" "$R_RUNNING_RUN"
	r_summary
	exit "$1"
}

# r_exec_logged LIMIT OUT CMD... — run CMD under `timeout LIMIT`, its output
# to OUT and shown live; sets R_RC.  Waiting with the `wait` builtin keeps
# this shell responsive to signals while the test runs.
r_exec_logged() {
	local limit=$1 out=$2
	shift 2
	: >"$out"
	timeout -k 30 "$limit" "$@" >"$out" 2>&1 </dev/null &
	R_CHILD=$!
	tail -s 0.2 --pid="$R_CHILD" -n +1 -f "$out" &
	R_TAIL=$!
	wait "$R_CHILD"
	R_RC=$?
	R_CHILD=
	# tail ends by itself within 0.2 s once the test is reaped.
	wait "$R_TAIL" 2>/dev/null
	R_TAIL=
}

r_ci() { [[ ${CI:-} == true || ${CI:-} == 1 ]]; }

# r_emit LINE — print a result line we made ourselves, and count it.
r_emit() {
	echo "$1"
	r_count_line "$1"
}

# R_CONTEXT: the script being counted, named in the summary's lists.
R_CONTEXT=

r_count_line() {
	local line=$1 ctx=${R_CONTEXT:+$R_CONTEXT: }
	case $line in
	PASS:*) R_PASSED=$((R_PASSED + 1)) ;;
	FAIL:*)
		R_FAILED=$((R_FAILED + 1))
		R_FAILS+=("$ctx${line#FAIL: }")
		;;
	SKIP:*)
		if r_ci; then
			R_FAILED=$((R_FAILED + 1))
			R_FAILS+=("${ctx}skipped under CI: ${line#SKIP: }")
		else
			R_SKIPPED=$((R_SKIPPED + 1))
			R_SKIPS+=("$ctx${line#SKIP: }")
		fi
		;;
	esac
}

# r_count_file FILE — count every result line of FILE; sets R_FILE_P,
# R_FILE_F, R_FILE_S to what that file alone held.  (Not in $(...): the
# counts must reach this shell.)
r_count_file() {
	local line
	R_FILE_P=0 R_FILE_F=0 R_FILE_S=0
	while IFS= read -r line || [[ -n $line ]]; do
		case $line in
		PASS:*) R_FILE_P=$((R_FILE_P + 1)) ;;
		FAIL:*) R_FILE_F=$((R_FILE_F + 1)) ;;
		SKIP:*) R_FILE_S=$((R_FILE_S + 1)) ;;
		*) continue ;;
		esac
		r_count_line "$line"
	done <"$1"
}

# r_selected NAME — honour TESTS="extended regex" (matched against
# "unit", "integration/00-topology.sh", …).
r_selected() {
	[[ -z ${TESTS:-} ]] && return 0
	grep -qE -- "$TESTS" <<<"$1"
}

# r_tap_results TAP — Criterion's TAP report as result lines named
# unit/SUITE::TEST; a failure carries its first assertion's place and message.
# Last line: "PLAN N".
r_tap_results() {
	awk '
	function flush(r) {
		if (!pending) return
		r = (msg != "") ? msg : extra
		if (loc != "") r = loc ": " r
		if (r == "") r = "failed"
		print "FAIL: unit/" pname ": " r
		pending = 0
	}
	/^1\.\./ { plan = substr($0, 4); next }
	/^ok - / {
		flush()
		rest = substr($0, 6); name = rest
		sub(/ +#.*/, "", name); sub(/  .*/, "", name)
		if (rest ~ /# SKIP/) {
			reason = rest; sub(/.*# SKIP */, "", reason)
			print "SKIP: unit/" name ": " (reason == "" ? "skipped" : reason)
		} else
			print "PASS: unit/" name
		next
	}
	/^not ok - / {
		flush()
		rest = substr($0, 10); pname = rest; sub(/ .*/, "", pname)
		extra = rest; sub(/^[^ ]* */, "", extra); sub(/^\([0-9.]+s\) */, "", extra)
		pending = 1; loc = ""; msg = ""
		next
	}
	pending && /^  - .*:[0-9]+:/ && loc == "" {
		loc = $0; sub(/^  - /, "", loc); sub(/: *\|[-+]? *$/, "", loc); next
	}
	pending && /^      [^ ]/ && msg == "" { msg = $0; sub(/^ +/, "", msg); next }
	pending && /^  \.\.\./ { flush() }
	END { flush(); print "PLAN " (plan == "" ? 0 : plan) }
	' "$1"
}

# r_run_unit [BINARY] — the Criterion layer.  Each test becomes a result
# line (from the TAP report); the Synthesis line and the exit status are
# cross-checked so a crash of the whole binary is never a silent pass.
r_run_unit() {
	local bin=${1:-$R_BUILD/unit-tests} tap=$R_TMP/unit.tap out=$R_TMP/unit.out rc
	local line plan=0 seen=0 p f s synth
	echo "=== unit ($bin)"
	if [[ ! -x $bin ]]; then
		r_emit "SKIP: unit: $bin is not built (make $bin)"
		return 0
	fi
	rm -f "$tap"
	R_RUNNING=unit
	r_exec_logged "${AZ_UNIT_TIMEOUT:-600}" "$out" \
		"$bin" --color=never --timeout "${AZ_UNIT_TEST_TIMEOUT:-60}" --tap="$tap"
	rc=$R_RC
	R_RUNNING=

	p=0 f=0 s=0
	if [[ -f $tap ]]; then
		while IFS= read -r line; do
			case $line in
			"PLAN "*) plan=${line#PLAN } ;;
			PASS:*) p=$((p + 1)) seen=$((seen + 1)) ;;
			FAIL:*) f=$((f + 1)) seen=$((seen + 1)) ;;
			SKIP:*) s=$((s + 1)) seen=$((seen + 1)) ;;
			esac
			[[ $line == "PLAN "* ]] || r_emit "$line"
		done < <(r_tap_results "$tap")
	fi

	# Cross-checks against what Criterion itself counted.
	synth=$(grep -o 'Synthesis: Tested: [0-9]* | Passing: [0-9]* | Failing: [0-9]* | Crashing: [0-9]*' "$out" | tail -n1)
	if [[ -n $synth ]]; then
		local sp sf sc
		read -r sp sf sc < <(sed -E 's/.*Passing: ([0-9]+) \| Failing: ([0-9]+) \| Crashing: ([0-9]+).*/\1 \2 \3/' <<<"$synth")
		# Failing already includes Crashing in Criterion 2.4; take the larger
		# in case a version counts them apart.
		((sc > sf)) && sf=$sc
		((sp != p)) && r_emit "FAIL: unit: Criterion counted $sp passing, the TAP report $p"
		((sf > f)) && r_emit "FAIL: unit: Criterion counted $sf failing/crashing, the TAP report $f"
	fi
	if ((plan > seen)); then
		r_emit "FAIL: unit: $((plan - seen)) of $plan tests reported no result"
	fi
	if ((rc == 124 || rc == 137)); then
		r_emit "FAIL: unit: timed out after ${AZ_UNIT_TIMEOUT:-600}s"
	elif ((rc != 0 && f == 0)); then
		r_emit "FAIL: unit: $bin exited $rc without a failing test"
	elif ((seen == 0 && rc == 0)); then
		r_emit "FAIL: unit: no test result (empty or unreadable TAP report)"
	fi
	return 0
}

# r_run_script PATH — one integration/e2e script, output live and counted.
# It runs with its own AZ_RUN prefix so that anything it leaks (netns, temp
# dirs, interfaces) is found, reported as a failure, and removed.
r_run_script() {
	local path=$1 name rc p f s run limit=${AZ_TEST_TIMEOUT:-900}
	name=${path#"$R_ROOT"/tests/}
	run=az$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-5)
	echo "=== $name"
	R_RUNNING=$name R_RUNNING_RUN=$run
	r_exec_logged "$limit" "$R_TMP/script.out" \
		env AZ_RUN_NEXT="$run" AZ_TEST_NAME="${name%.sh}" bash "$path"
	rc=$R_RC
	R_RUNNING='' R_RUNNING_RUN=''
	R_CONTEXT=$name
	r_count_file "$R_TMP/script.out"
	R_CONTEXT=
	p=$R_FILE_P f=$R_FILE_F s=$R_FILE_S
	if ((rc == 124 || rc == 137)); then
		r_emit "FAIL: $name: timed out after ${limit}s"
	elif ((rc != 0 && f == 0)); then
		r_emit "FAIL: $name: exited $rc without a FAIL line"
	elif ((p + f + s == 0)); then
		r_emit "FAIL: $name: printed no PASS/FAIL/SKIP line"
	fi
	r_check_leaks "$name" "$run"
}

# r_check_leaks NAME RUN — a script must leave nothing behind.  Everything
# named with its unique RUN prefix is its own: report it and remove it.
r_check_leaks() {
	local name=$1 run=$2 ns pids d left=()
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		[[ $ns == "$run-"* ]] || continue
		left+=("netns $ns")
		pids=$(ip netns pids "$ns" 2>/dev/null)
		if [[ -n $pids ]]; then
			left+=("processes ${pids//$'\n'/ }")
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null
			sleep 0.2
		fi
		ip netns del "$ns" 2>/dev/null
	done
	for d in /tmp/"$run".*; do
		[[ -e $d ]] || continue
		left+=("temp dir $d")
		rm -rf "$d"
	done
	for d in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
		[[ $d == "$run"* ]] || continue
		left+=("interface $d")
		ip link del "$d" 2>/dev/null
	done
	if ((${#left[@]})); then
		r_emit "FAIL: $name: left behind (now removed): $(IFS=,; echo "${left[*]}")"
	fi
	return 0
}

# r_summary — the list of failures and skips, then the one final line.
r_summary() {
	local x
	echo
	if ((${#R_FAILS[@]})); then
		echo "FAILED:"
		for x in "${R_FAILS[@]}"; do echo "  - $x"; done
	fi
	if ((${#R_SKIPS[@]})); then
		echo "SKIPPED (not run, see why):"
		for x in "${R_SKIPS[@]}"; do echo "  - $x"; done
	fi
	if ((R_SKIPPED)); then
		echo "$R_PASSED passed, $R_FAILED failed, $R_SKIPPED skipped"
	else
		echo "$R_PASSED passed, $R_FAILED failed"
	fi
	((R_FAILED == 0))
}
