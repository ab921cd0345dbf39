#!/usr/bin/env bash
# run.sh — the fuzz layer: for each libFuzzer target in $FUZZ_B (build-fuzz/,
# made by `make fuzz-build`), replay every file under tests/fuzz/TARGET/
# (seeds, and regressions/: inputs that once crashed), then fuzz it for a
# bounded time.  Result lines as in tests/lib/harness.sh:
#   PASS: fuzz/TARGET: replayed N inputs (M regressions)
#   PASS: fuzz/TARGET: 20 s, 123456 runs (6172/s), corpus 310 inputs
#   FAIL: fuzz/TARGET: crash, input in build-fuzz/crashes/TARGET-...
#
#   tests/fuzz/run.sh [--seconds N] [--replay-only] [TARGET...]
#
# The corpus grows in $FUZZ_B/corpus/TARGET (never in the source tree); a
# crash input is kept in $FUZZ_B/crashes/.  To keep one as a regression:
# fix the bug, then copy it to tests/fuzz/TARGET/regressions/.
# Bounded: one core (-jobs are not used), -max_total_time per target, every
# input given at most 10 s and 2 GB.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
FUZZ_B=${FUZZ_B:-build-fuzz}
seconds=${FUZZ_SECONDS:-60}
replay_only=0
targets=()
while (($#)); do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--replay-only) replay_only=1; shift ;;
	-h|--help) sed -n '2,18p' "$0"; exit 0 ;;
	*) targets+=("$1"); shift ;;
	esac
done

if ! command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1; then
	echo "SKIP: fuzz: clang is not installed (packaging/deps.sh fuzz, or make fuzz)"
	exit 0
fi
if ((${#targets[@]} == 0)); then
	for s in tests/fuzz/fuzz_*.c; do
		t=${s#tests/fuzz/fuzz_}
		targets+=("${t%.c}")
	done
fi

rc=0
# Scratch space of the targets (the plugin's state dir), gone with this run.
TMPDIR=$(mktemp -d /tmp/azfuzz.XXXXXX) || exit 1
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p "$FUZZ_B/crashes"
for t in "${targets[@]}"; do
	bin=$FUZZ_B/fuzz_$t seeds=tests/fuzz/$t corpus=$FUZZ_B/corpus/$t log=$FUZZ_B/fuzz_$t.log
	echo "=== fuzz/$t"
	if [[ ! -x $bin ]]; then
		echo "FAIL: fuzz/$t: $bin is not built (make fuzz-build)"
		rc=1
		continue
	fi
	if [[ ! -d $seeds ]] || [[ -z $(find "$seeds" -type f -print -quit) ]]; then
		echo "FAIL: fuzz/$t: no seed corpus in $seeds"
		rc=1
		continue
	fi
	dict=()
	[[ -f tests/fuzz/$t.dict ]] && dict=(-dict="tests/fuzz/$t.dict")

	# Replay: every seed and regression, each run once, as files (so a
	# failure names the file).
	n=$(find "$seeds" -type f | wc -l)
	nreg=$(find "$seeds/regressions" -type f 2>/dev/null | wc -l)
	if find "$seeds" -type f -print0 | sort -z |
		xargs -0 -n 200 timeout -k 10 300 "$bin" -timeout=10 -rss_limit_mb=2048 >"$log" 2>&1; then
		ran=$(grep -c '^Running: ' "$log")
		if ((ran == n)); then
			echo "PASS: fuzz/$t: replayed $n inputs ($nreg regressions)"
		else
			echo "FAIL: fuzz/$t: replay ran $ran of $n inputs"
			rc=1
		fi
	else
		bad=$(grep '^Running: ' "$log" | tail -n1)
		echo "FAIL: fuzz/$t: replay crashed on ${bad#Running: }"
		grep -E 'ERROR|SUMMARY|fuzz: |runtime error' "$log" | head -n 5 | sed 's/^/    | /'
		rc=1
		continue
	fi
	((replay_only)) && continue

	mkdir -p "$corpus"
	start=$(date +%s)
	timeout -k 10 $((seconds + 120)) "$bin" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$FUZZ_B/crashes/$t-" "${dict[@]}" "$corpus" "$seeds" >"$log" 2>&1
	frc=$?
	took=$(($(date +%s) - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
	size=$(find "$corpus" -type f | wc -l)
	if ((frc == 0)) && [[ -n $runs ]]; then
		echo "PASS: fuzz/$t: ${took} s, ${runs} runs (${speed}/s), corpus $size inputs, no crash"
	else
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n1)
		echo "FAIL: fuzz/$t: exit $frc after ${took} s${art:+, input in $art}"
		grep -E 'ERROR|SUMMARY|fuzz: |runtime error|Timeout|out-of-memory' "$log" | head -n 8 | sed 's/^/    | /'
		rc=1
	fi
done
exit $rc
