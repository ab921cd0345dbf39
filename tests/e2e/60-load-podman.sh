#!/usr/bin/env bash
# e2e load, real Podman + the built hook (issue 5, "Load"): N (50) containers
# started in parallel (`podman run -d`, alcatraz.network=on, long-running),
# all running at the same time, each checked with real packets from inside it
# (`podman exec azprobe`): the internet server reachable, the LAN server
# refused fast and it saw nothing.  Then all stopped and removed: no element
# commented alcatraz:<id> in the sim-host ruleset, no state record, no
# container netns left.  Timings are informational lines, never asserted.
#
#   AZ_LOAD_N      containers (50)
#   AZ_LOAD_BATCH  `podman run` at once (all N by default; smaller on a slow box)
source "$(dirname "$0")/../lib/podman.sh"
source "$(dirname "$0")/../lib/probe.sh"
podman_test_begin load-podman
[[ -x $AZ_HOOK ]] || { t_fail load-podman "the hook $AZ_HOOK is not built (make)"; exit 1; }

N=${AZ_LOAD_N:-50}
BATCH=${AZ_LOAD_BATCH:-$N}
NAMES=()
for ((i = 1; i <= N; i++)); do NAMES+=("${AZ_RUN}-l$i"); done

topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
podman_setup || { t_fail podman-setup "cannot prepare podman"; exit 1; }
P=$(azprobe_bin) || { t_fail azprobe "cannot build azprobe"; exit 1; }
topo_serve wan tcp "$AZ_WAN4" 80 || { t_fail servers "wan server did not start"; exit 1; }
topo_serve lan tcp "$AZ_LAN4" 80 || { t_fail servers "lan server did not start"; exit 1; }
wait_for 5 topo_exec_wan "$P" tcp "$AZ_WAN4" 80 --timeout 200
srv_reset
# The containers go first at exit (pushed last): the bounded, parallel way;
# podman_setup's own `rm -af` follows as a fallback.
t_cleanup_push "in_host timeout 120 ${PM[*]} rm -f -t 0 ${NAMES[*]} >/dev/null 2>&1 || true"

# ================================================================ start
T0=$(_t_now_ms)
for ((b = 1; b <= N; b += BATCH)); do
	pids=()
	for ((i = b; i < b + BATCH && i <= N; i++)); do
		(
			s=$(_t_now_ms)
			timeout 150 nsenter --net="/run/netns/$AZ_NS_HOST" "${PM[@]}" run -d \
				--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
				--name "${NAMES[i - 1]}" --annotation alcatraz.network=on \
				--rootfs "$AZ_PM_ROOTFS" sleep 600 >"$AZ_TMP/l$i.out" 2>&1
			echo "$? $(($(_t_now_ms) - s))" >"$AZ_TMP/l$i.rc"
		) &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
done
START_MS=$(($(_t_now_ms) - T0))
failed=() times=() CIDS=()
for ((i = 1; i <= N; i++)); do
	rc=x ms=0
	read -r rc ms <"$AZ_TMP/l$i.rc" 2>/dev/null
	times+=("${ms:-0}")
	cid=$(tail -n 1 "$AZ_TMP/l$i.out")
	if [[ $rc == 0 && $cid =~ ^[0-9a-f]{64}$ ]]; then
		CIDS[i]=$cid
	else
		failed+=("l$i: rc=$rc $(tail -n 1 "$AZ_TMP/l$i.out")")
	fi
done
read -r MIN_MS MAX_MS < <(printf '%s\n' "${times[@]}" | sort -n | sed -n '1p;$p' | tr '\n' ' ')
t_log "start: $N podman run -d (batches of $BATCH) in $START_MS ms, each $MIN_MS–$MAX_MS ms"
if ((${#failed[@]} == 0)); then
	t_pass "$N containers started in parallel (batches of $BATCH) with the hook"
else
	t_fail "$N started in parallel" "${#failed[@]} failed: ${failed[*]::3}"
fi

# All of them running at once, each with its own netns.
running=$(pm ps -q --no-trunc --filter status=running 2>/dev/null | grep -cFf <(printf '%s\n' "${CIDS[@]}") || true)
declare -A NSPATH=()
for i in "${!CIDS[@]}"; do
	NSPATH[$i]=$(pm inspect -f '{{.NetworkSettings.SandboxKey}}' "${CIDS[i]}" 2>/dev/null)
done
nsuniq=$(printf '%s\n' "${NSPATH[@]}" | grep -c . | tr -d ' ')
nsdistinct=$(printf '%s\n' "${NSPATH[@]}" | grep . | sort -u | wc -l)
if ((running == N && nsdistinct == N)); then
	t_pass "all $N running at the same time, $N distinct netns"
else
	t_fail "all running at once" "$running of $N running; netns paths $nsuniq, distinct $nsdistinct"
fi

# Every one has its rules in the sim-host and a state record.
RULESET=$(host_ruleset)
norule=()
for i in "${!CIDS[@]}"; do
	grep -qF -- "alcatraz:${CIDS[i]:0:12}" <<<"$RULESET" || norule+=("l$i")
done
RECS=$(az_records)
if ((${#norule[@]} == 0)) && ((RECS >= ${#CIDS[@]})); then
	t_pass "each of the ${#CIDS[@]} has elements commented alcatraz:<id> in the sim-host ($(az_elements) lines) and a state record ($RECS records)"
else
	t_fail "rules of each container" "${#norule[@]} without an element (${norule[*]::5}); $RECS record(s)"
fi

# ================================================================ real packets
# azprobe in each container: internet, then LAN.  Several execs at once,
# bounded; each writes its verdicts to a file.
T1=$(_t_now_ms)
lan_before=$(srv_count tcp "$AZ_LAN4" 80)
wan_before=$(srv_count tcp "$AZ_WAN4" 80)
idx=("${!CIDS[@]}")
for ((k = 0; k < ${#idx[@]}; k += 10)); do
	pids=()
	for i in "${idx[@]:k:10}"; do
		timeout 30 nsenter --net="/run/netns/$AZ_NS_HOST" "${PM[@]}" exec "${CIDS[i]}" sh -c \
			"azprobe tcp $AZ_WAN4 80 --read --timeout 3000; azprobe tcp $AZ_LAN4 80 --timeout 2000" \
			>"$AZ_TMP/p$i.out" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
done
CHECK_MS=$(($(_t_now_ms) - T1))
sleep 0.2
bad_wan=() bad_lan=() worst=0
for i in "${idx[@]}"; do
	mapfile -t l <"$AZ_TMP/p$i.out"
	read -r v1 _ <<<"${l[0]:-}"
	read -r v2 ms2 _ <<<"${l[1]:-}"
	[[ $v1 == ok ]] || bad_wan+=("l$i: ${l[0]:-no output}")
	[[ $ms2 =~ ^[0-9]+$ ]] || ms2=99999
	if [[ $v2 == refused ]] && ((ms2 <= AZ_FAST_MS)); then
		((ms2 > worst)) && worst=$ms2
	else
		bad_lan+=("l$i: ${l[1]:-no output}")
	fi
done
t_log "checks: $((2 * ${#idx[@]})) probes from ${#idx[@]} containers (podman exec, 10 at once) in $CHECK_MS ms; slowest LAN refusal $worst ms"
wan_got=$(($(srv_count tcp "$AZ_WAN4" 80) - wan_before))
if ((${#idx[@]} == N && ${#bad_wan[@]} == 0)); then
	t_pass "all $N reach the internet server $AZ_WAN4:80 (round trip; the server logged $wan_got connections)"
else
	t_fail "$N: internet" "${#bad_wan[@]} failed of ${#idx[@]}: ${bad_wan[*]::3}"
fi
lan_after=$(srv_count tcp "$AZ_LAN4" 80)
if ((${#idx[@]} == N && ${#bad_lan[@]} == 0)) && ((lan_after == lan_before)); then
	t_pass "all $N refused the LAN $AZ_LAN4:80 fast (≤ $AZ_FAST_MS ms, slowest $worst ms), the LAN server saw nothing"
else
	t_fail "$N: LAN" "${#bad_lan[@]} not refused fast: ${bad_lan[*]::3}; LAN server lines $lan_before → $lan_after"
fi

# ================================================================ cleanup
# leftovers [rm]: one line per thing left of the containers (with rm: the
# containers themselves too).
leftovers() {
	local i rs
	rs=$(host_ruleset)
	for i in "${!CIDS[@]}"; do
		grep -qF -- "alcatraz:${CIDS[i]:0:12}" <<<"$rs" && echo "element alcatraz:${CIDS[i]:0:12}"
		[[ -n ${NSPATH[$i]:-} && -e ${NSPATH[$i]} ]] && echo "netns ${NSPATH[$i]}"
	done
	grep -c 'comment "alcatraz:' <<<"$rs" | sed -n '/^[1-9]/s/^/elements in all: /p'
	find "$ALCATRAZ_STATE_DIR" -name '*.json' 2>/dev/null | sed 's/^/record /'
	[[ ${1:-} == rm ]] && pm ps -aq 2>/dev/null | sed 's/^/container /'
	return 0
}
nothing_left() { [[ -z $(leftovers "$@") ]]; }

# Stop: the poststop hook (conmon's `podman container cleanup`) must remove
# everything of each container before any `podman rm`.
T2=$(_t_now_ms)
timeout 150 nsenter --net="/run/netns/$AZ_NS_HOST" "${PM[@]}" stop -t 1 "${CIDS[@]}" >"$AZ_TMP/stop.out" 2>&1
STOP_MS=$(($(_t_now_ms) - T2))
wait_for 30 nothing_left
STOPCLEAN_MS=$(($(_t_now_ms) - T2))
left=$(leftovers)
if [[ -z $left ]]; then
	t_pass "all $N stopped: no alcatraz:<id> element in the sim-host ruleset, no state record, no container netns"
else
	t_fail "$N cleaned after stop" "$(wc -l <<<"$left") left: $(head -n 5 <<<"$left" | tr '\n' ' ')"
	t_log "stop: $(tail -n 3 "$AZ_TMP/stop.out" | tr '\n' ' ')"
fi
T3=$(_t_now_ms)
timeout 150 nsenter --net="/run/netns/$AZ_NS_HOST" "${PM[@]}" rm -f -t 0 "${CIDS[@]}" >"$AZ_TMP/rm.out" 2>&1
wait_for 30 nothing_left rm
RM_MS=$(($(_t_now_ms) - T3))
CLEAN_MS=$(($(_t_now_ms) - T2))
t_log "cleanup: podman stop of $N in $STOP_MS ms, all of theirs gone $STOPCLEAN_MS ms after the stop began; podman rm in $RM_MS ms"
t_log "total: start $START_MS ms, checks $CHECK_MS ms, cleanup (stop+rm) $CLEAN_MS ms"
left=$(leftovers rm)
if [[ -z $left ]]; then
	t_pass "all $N removed: nothing of theirs left, no container in podman"
else
	t_fail "$N removed" "$(wc -l <<<"$left") left: $(head -n 5 <<<"$left" | tr '\n' ' ')"
fi
if [[ -x $AZ_CLI ]]; then
	out=$(az_cli list --json 2>&1)
	if [[ $out == "[]" ]]; then
		t_pass "afterwards: alcatraz list is empty"
	else
		t_fail "afterwards: alcatraz list" "not empty: ${out:0:200}"
	fi
fi
