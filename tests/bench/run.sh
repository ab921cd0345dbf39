#!/usr/bin/env bash
# run.sh — `make bench` (issue 4): what one container costs as containers
# grow, ours against the anchor's layout, in the sealed topology of
# tests/lib/topo.sh.  A timing, not a test: it never fails on a number.
#
#   tests/bench/run.sh [--smoke] [--control-only] [--out DIR] [--sizes "0 100 1000"] [--runs N]
#
# --control-only: only our control path (apply/remove times, phases,
# syscall profile) — the quick loop while optimizing the hook; its results go
# to build/bench-control unless --out says otherwise.
#
# For each N (other containers attached — real netns, veth, init process,
# bundle; attached through build/alcatraz-hook exactly as a runtime calls it):
#   control  apply (createRuntime) and remove (poststop) of one more
#            container: p50/p99 over --runs runs (hyperfine, each run a fresh
#            hook process in the runtime's netns), with the hook's own phase
#            profile (ALCATRAZ_TIMING=1) and a syscall profile (strace: netlink
#            bytes received, state records opened, time blocked in close());
#   data     from that container to the internet server (wan netns) through
#            the rules: UDP packets/s of 64-byte datagrams (iperf3 -u -b 0,
#            received count) and TCP connections/s (azcps, full handshake and
#            teardown each);
#   anchor   the same with the anchor's layout (one `table inet alca-<id>`
#            per container, forward chain at filter - 1 matching ip saddr,
#            proxy table at dstnat - 1, each loaded by its own `nft -f`);
# then `podman run --rm` with and without the hook, interleaved.
#
# Writes DIR/results.json (keys of issue 4, extras under "detail"),
# DIR/plot.png (gnuplot) and prints one table.  DIR: build/bench, or
# build/bench-smoke with --smoke (tiny N, few runs: checks that the bench
# works, never a timing).  Everything it creates is removed at exit, even
# on failure or Ctrl-C.  Bounded by BENCH_LIMIT seconds (600; smoke 240).
#
# "ours" is the hook as installed: with the applier (`alcatraz-apply serve`,
# alcatraz-applier.service) running, which the hook hands its work to; the
# control path is measured a second time with the hook alone ("hook alone"
# rows, detail.control.hook_alone).  BENCH_APPLIER=0: the hook alone only.
#
# Between a preparation and the timed command the bench waits
# BENCH_SETTLE_MS (50): a removal leaves the kernel an RCU grace period of
# work (5-35 ms here) that the next nf_tables socket release anywhere on the
# host waits for, so an apply timed 1 ms after a removal measures the
# removal's tail (9-10 ms instead of 5 for ours).  A runtime rarely starts a
# container within 50 ms of a removal; with BENCH_SETTLE_MS=0 the bench
# times that case.
#
# Knobs (environment): BENCH_HOST_VETH_LL=0 gives host-side veths no IPv6
# link-local address (Podman and Docker give them one; see lib.sh);
# BENCH_DATA_SECONDS, BENCH_DATA_REPS, BENCH_PODMAN_RUNS.

set -u
BENCH_T0=${EPOCHREALTIME/[.,]/}
BENCH_LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
SMOKE=0
CONTROL_ONLY=0
APPLIER=${BENCH_APPLIER:-1}
SETTLE_S=$(printf '%d.%03d' $((${BENCH_SETTLE_MS:-50} / 1000)) $((${BENCH_SETTLE_MS:-50} % 1000)))
OUT=
SIZES=
RUNS=
while (($#)); do
	case $1 in
	--smoke) SMOKE=1 ;;
	--control-only) CONTROL_ONLY=1 ;;
	--out) OUT=$2; shift ;;
	--sizes) SIZES=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	-h | --help) sed -n '2,45p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

# shellcheck source=../lib/podman.sh
source "$(dirname "$0")/../lib/podman.sh"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_root

if ((SMOKE)); then
	SIZES=${SIZES:-0 3}
	RUNS=${RUNS:-3}
	WARMUP=0
	DATA_SECONDS=${BENCH_DATA_SECONDS:-1}
	DATA_REPS=${BENCH_DATA_REPS:-1}
	PODMAN_RUNS=${BENCH_PODMAN_RUNS:-2}
	LIMIT=${BENCH_LIMIT:-240}
	OUT=${OUT:-$AZ_BUILD/bench-smoke}
else
	SIZES=${SIZES:-0 100 1000}
	RUNS=${RUNS:-200}
	WARMUP=3
	DATA_SECONDS=${BENCH_DATA_SECONDS:-1}
	DATA_REPS=${BENCH_DATA_REPS:-5}
	PODMAN_RUNS=${BENCH_PODMAN_RUNS:-30}
	LIMIT=${BENCH_LIMIT:-600}
	OUT=${OUT:-$AZ_BUILD/bench}
fi
((CONTROL_ONLY)) && [[ $OUT == "$AZ_BUILD/bench" ]] && OUT=$AZ_BUILD/bench-control
read -r -a NS_LIST <<<"$SIZES"
for n in "${NS_LIST[@]}"; do
	[[ $n =~ ^[0-9]+$ ]] && ((n <= 2000)) || { echo "run.sh: bad size '$n' (0..2000)" >&2; exit 2; }
done
[[ $RUNS =~ ^[0-9]+$ ]] && ((RUNS >= 2)) || { echo "run.sh: --runs must be >= 2" >&2; exit 2; }
# iperf3 -t takes whole seconds (0 would mean "forever")
[[ $DATA_SECONDS =~ ^[0-9]+$ ]] && ((DATA_SECONDS >= 1 && DATA_SECONDS <= 30)) ||
	{ echo "run.sh: BENCH_DATA_SECONDS must be a whole number of seconds, 1..30" >&2; exit 2; }
N_MAX=${NS_LIST[-1]}

missing=()
for c in hyperfine iperf3 jq nft ip nsenter taskset strace "${CC:-cc}"; do
	command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
if ((${#missing[@]})); then
	echo "run.sh: missing ${missing[*]} (Debian: apt-get install hyperfine iperf3 jq gnuplot-nox strace)" >&2
	exit 1
fi

# ---------------------------------------------------------------- bounds

# The whole run is bounded: past LIMIT the script is told to stop (its
# cleanup runs).  Every step inside is bounded too (hyperfine --runs,
# iperf3 -t, azcps --seconds, timeouts around the tools).
t_cleanup_push bench_fg_stop
# (The watchdog's own sleep is ended with it: nothing outlives the run.)
(
	trap 'kill "$sp" 2>/dev/null; exit 0' TERM
	sleep "$LIMIT" >/dev/null 2>&1 &
	sp=$!
	wait "$sp" || exit 0
	echo "bench: over the time limit of ${LIMIT}s, stopping (everything made is removed)" >&2
	kill -TERM $$
) </dev/null >/dev/null &
az_pid_track $!

elapsed_s() { echo $(((${EPOCHREALTIME/[.,]/} - BENCH_T0) / 1000000)); }

mkdir -p "$OUT" || exit 1
rm -f "$OUT/results.json" "$OUT/plot.png" "$OUT/table.txt"
W=$AZ_TMP/bench
mkdir -p "$W"

# results: R[key]=number|null; NOTES: human lines for the report.
declare -A R=()
NOTES=()
note() {
	NOTES+=("$*")
	bench_log "$*"
}

# ---------------------------------------------------------------- build

bench_log "build"
make -s -C "$AZ_ROOT" B="$AZ_BUILD" all >&2 || { echo "run.sh: make all failed" >&2; exit 1; }
AZCPS=$AZ_BUILD/bench/azcps
mkdir -p "$AZ_BUILD/bench"
if [[ ! -x $AZCPS || $AZ_ROOT/tests/bench/azcps.c -nt $AZCPS ]]; then
	"${CC:-cc}" -O2 -std=gnu17 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$AZCPS.$$" \
		"$AZ_ROOT/tests/bench/azcps.c" && mv -f "$AZCPS.$$" "$AZCPS" ||
		{ echo "run.sh: cannot build azcps" >&2; exit 1; }
fi

# ---------------------------------------------------------------- world

bench_log "topology (sim-host, lan, wan) and the measured container"
topo_up >/dev/null || { echo "run.sh: topology setup failed" >&2; exit 1; }
topo_add_ctr probe 254 >/dev/null || { echo "run.sh: probe container failed" >&2; exit 1; }
PROBE_NS=${AZ_CTR_NS[probe]}
PROBE_IP=${AZ_CTR_IP4[probe]}
# a wide port range: tens of thousands of connections in a few seconds
ip netns exec "$PROBE_NS" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
# Every rule with a `ct` expression that makes a netns start using conntrack
# walks the whole conntrack table (nf_ct_netns_get → nf_ct_iterate_cleanup),
# and the hook recreates the container's table on every apply: apply time
# depends on how many conntrack entries exist.  The data path leaves tens of
# thousands (TIME_WAIT: 120 s), so before each control measurement the bench
# empties the conntrack tables of its own netns (ct_settle: `conntrack -F`,
# or, without conntrack-tools, 1 s timeouts and a bounded wait), and it
# measures that dependence once on purpose (detail.control.conntrack_sensitivity).
ct_count() { # conntrack entries in the probe and the sim-host
	local ns n t=0
	for ns in "$PROBE_NS" "$AZ_NS_HOST"; do
		n=$(ip netns exec "$ns" cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null)
		t=$((t + ${n:-0}))
	done
	echo "$t"
}
modprobe nf_conntrack 2>/dev/null
if command -v conntrack >/dev/null 2>&1; then
	CT_FLUSH=1
	ct_settle() {
		local ns
		for ns in "$PROBE_NS" "$AZ_NS_HOST"; do
			ip netns exec "$ns" conntrack -F >/dev/null 2>&1
		done
		return 0
	}
else
	CT_FLUSH=0
	for ns in "$PROBE_NS" "$AZ_NS_HOST"; do
		for k in tcp_timeout_time_wait udp_timeout udp_timeout_stream; do
			ip netns exec "$ns" sysctl -qw "net.netfilter.nf_conntrack_$k=1" 2>/dev/null
		done
	done
	ct_settle() {
		local i
		for ((i = 0; i < 50; i++)); do
			(($(ct_count) <= 20)) && return 0
			sleep 0.1
		done
		return 0
	}
fi
_fakert_init probe && _fakert_write_config probe || { echo "run.sh: probe bundle failed" >&2; exit 1; }
_fakert_state probe creating 1 alcatraz.network=on "alcatraz.network.lan-access=$BENCH_LAN_ACCESS" >"$W/probe-create.json"
_fakert_state probe stopped 0 alcatraz.network=on "alcatraz.network.lan-access=$BENCH_LAN_ACCESS" >"$W/probe-stop.json"
PROBE_ID=$(fakert_id probe)
PROBE_ID12=${PROBE_ID:0:12}
bench_anchor_render "$PROBE_ID12" "$PROBE_IP" 0 >"$W/probe-anchor.nft"

HOOK_APPLY="$AZ_HOOK createRuntime <$W/probe-create.json"
HOOK_REMOVE="$AZ_HOOK poststop <$W/probe-stop.json"
ANCHOR_APPLY="nft -f $W/probe-anchor.nft"
# the anchor's cleanupOnLinux: delete the isolation table, then the proxy
# table (absent here: its error is ignored, as the anchor ignores it)
ANCHOR_REMOVE="nft delete table inet alca-$PROBE_ID12 && { nft delete table ip alca-proxy-$PROBE_ID12 2>/dev/null; true; }"

# a safety net: nothing of the probe stays applied
t_cleanup_push "in_host $HOOK_REMOVE >/dev/null 2>&1; in_host nft delete table inet alca-$PROBE_ID12 >/dev/null 2>&1; true"

# Servers in the wan netns, on CPU 1; clients in the probe on CPU 0.
ip netns exec "$AZ_NS_WAN" taskset -c 1 iperf3 -s -B "$AZ_WAN4" -p 5201 >"$W/iperf3-server.log" 2>&1 &
az_pid_track $!
ip netns exec "$AZ_NS_WAN" taskset -c 1 "$AZCPS" serve "$AZ_WAN4" 5202 --max-seconds $((LIMIT + 60)) \
	>"$W/azcps-server.log" 2>&1 &
az_pid_track $!
wait_for 5 ip netns exec "$PROBE_NS" "$AZCPS" run "$AZ_WAN4" 5202 --seconds 0.05 --procs 1 ||
	{ echo "run.sh: the internet server is not reachable from the probe" >&2; exit 1; }

# ---------------------------------------------------------------- measurements

# control_measure TAG APPLY REMOVE [PHASES] [RUNS] — hyperfine in the
# sim-host: apply timed with remove as preparation, then remove with apply as
# preparation.  Sets R[TAG.apply_p50|apply_p99|remove_p50|remove_p99]; on
# failure they stay null and ERR[TAG] says why.
control_measure() {
	local tag=$1 apply=$2 remove=$3 phases=${4:-} runs=${5:-$RUNS} json=$W/$1.hyperfine.json
	local ap=$apply
	[[ -n $phases ]] && ap="ALCATRAZ_TIMING=1 $apply 2>>$phases"
	local warm=$WARMUP
	((runs < RUNS && warm > 1)) && warm=1
	R[$tag.runs]=$runs
	if ! bench_fg nsenter --net="/run/netns/$AZ_NS_HOST" hyperfine --runs "$runs" --warmup "$warm" --style none \
		--export-json "$json" \
		--prepare "$remove >/dev/null 2>&1; sleep $SETTLE_S" "$ap" \
		--prepare "$apply; sleep $SETTLE_S" "$remove" >"$W/$tag.hyperfine.log" 2>&1; then
		ERR[$tag]=$(grep -v '^\s*$' "$W/$tag.hyperfine.log" | tail -n 3 | tr '\n' ' ')
		note "$tag: control measurement failed: ${ERR[$tag]}"
		in_host sh -c "$remove" >/dev/null 2>&1
		return 1
	fi
	local k i
	for i in 0 1; do
		k=$([[ $i == 0 ]] && echo apply || echo remove)
		jq -r ".results[$i].times[] * 1000" "$json" >"$W/$tag.$k.ms"
		R[$tag.${k}_p50]=$(bench_pct "$W/$tag.$k.ms" 50)
		R[$tag.${k}_p99]=$(bench_pct "$W/$tag.$k.ms" 99)
		R[$tag.${k}_n]=$(wc -l <"$W/$tag.$k.ms")
	done
}
declare -A ERR=()

# runs_within SECONDS APPLY REMOVE — how many control runs fit in SECONDS
# (each run is an apply and a remove, each with its preparation: 2 pairs),
# between BENCH_MIN_RUNS (10) and RUNS.  For the anchor's layout, whose
# every `nft` lists the whole ruleset: ~0.6 s per command at N=1000.
runs_within() {
	local t0 t1
	in_host sh -c "$3" >/dev/null 2>&1
	t0=${EPOCHREALTIME/[.,]/}
	in_host sh -c "$2" >/dev/null 2>&1
	in_host sh -c "$3" >/dev/null 2>&1
	t1=${EPOCHREALTIME/[.,]/}
	awk -v b="$1" -v pair="$(( (t1 - t0) ))" -v lo="${BENCH_MIN_RUNS:-10}" -v hi="$RUNS" 'BEGIN {
		n = int(b * 1e6 / (2 * (pair > 0 ? pair : 1)))
		if (n < lo) n = lo; if (n > hi) n = hi; print n }'
}

# phases_median FILE — "phase=median_ms ..." from ALCATRAZ_TIMING lines.
phases_median() {
	local f=$1 p out=""
	for p in config discover hostnet features records render write host_txn netns_txn attach; do
		grep -E "^alcatraz-hook: $p " "$f" | awk '{print $3}' >"$f.$p"
		out+="$p=$(bench_median "$f.$p") "
	done
	echo "${out% }"
}

# data_measure TAG — DATA_REPS rounds of UDP then TCP from the probe to the
# internet server.  R[TAG.pps|pps_sent|cps] are the best round (the capacity
# of the path: on a shared machine, other work only ever lowers a round),
# R[TAG.*_median] the medians.
data_measure() {
	local tag=$1 r j
	: >"$W/$tag.pps" && : >"$W/$tag.pps_sent" && : >"$W/$tag.cps"
	for ((r = 0; r < DATA_REPS; r++)); do
		j=$W/$tag.udp.$r.json
		if bench_fg timeout $((DATA_SECONDS + 15)) ip netns exec "$PROBE_NS" taskset -c 0 iperf3 -c "$AZ_WAN4" -p 5201 -u -b 0 \
			-l 64 -t "$DATA_SECONDS" -J >"$j" 2>/dev/null; then
			jq -r '.end.sum_received | .bytes / 64 / .seconds' "$j" >>"$W/$tag.pps"
			jq -r '.end.sum_sent | .packets / .seconds' "$j" >>"$W/$tag.pps_sent"
		else
			note "$tag: iperf3 round $r failed: $(jq -r '.error? // empty' "$j" 2>/dev/null)"
		fi
		bench_fg timeout $((DATA_SECONDS + 15)) ip netns exec "$PROBE_NS" taskset -c 0 "$AZCPS" run "$AZ_WAN4" 5202 \
			--seconds "$DATA_SECONDS" --procs 2 >"$W/$tag.cps.$r" 2>&1 &&
			sed -n 's/^cps=\([0-9.]*\) .*/\1/p' "$W/$tag.cps.$r" >>"$W/$tag.cps" ||
			note "$tag: connection round $r failed: $(tail -n1 "$W/$tag.cps.$r")"
	done
	local k
	for k in pps pps_sent cps; do
		R[$tag.$k]=$(bench_pct "$W/$tag.$k" 100)
		R[$tag.${k}_median]=$(bench_median "$W/$tag.$k")
	done
}

# syscall_profile TAG CMD — one run of CMD (in the sim-host) under strace:
# netlink bytes received on nf_tables and on rtnetlink sockets, state
# records opened, and the time spent in close() calls that blocked > 1 ms
# (the kernel waits there for nf_tables' deferred destruction, an RCU grace
# period, when the transaction deleted anything).
syscall_profile() {
	local tag=$1 cmd=$2 st=$W/$1.strace
	rm -f "$st".*
	in_host strace -ff -qq -T -s 300 -e verbose=none -e trace=socket,recvmsg,recvfrom,openat,close \
		-o "$st" sh -c "$cmd" >/dev/null 2>&1 || { note "$tag: strace run failed"; return 1; }
	read -r "R[$tag.nft_rx_bytes]" "R[$tag.rtnl_rx_bytes]" "R[$tag.state_opens]" \
		"R[$tag.slow_close_ms]" "R[$tag.slow_closes]" < <(awk -v state="$ALCATRAZ_STATE_DIR/netns/" '
		function ret(s) { sub(/.*\) +=  */, "", s); sub(/ .*/, "", s); return s }
		function dur(s) { if (s !~ /<[0-9.]+>$/) return 0; sub(/.*</, "", s); sub(/>.*/, "", s); return s + 0 }
		/^socket\(AF_NETLINK/ {
			kind[FILENAME " " ret($0)] = ($0 ~ /NETLINK_NETFILTER/) ? "nf" : (($0 ~ /NETLINK_ROUTE/) ? "rt" : "x")
		}
		/^(recvmsg|recvfrom)\(/ {
			fd = $0; sub(/^[a-z]*\(/, "", fd); sub(/,.*/, "", fd); n = ret($0) + 0
			if (n > 0) { k = kind[FILENAME " " fd]; if (k == "nf") nf += n; else if (k == "rt") rt += n }
		}
		/^openat\(/ && index($0, state) { opens++ }
		/^close\(/ { d = dur($0); if (d > 0.001) { slow += d; nslow++ } }
		END { printf "%d %d %d %.1f %d\n", nf, rt, opens, slow * 1000, nslow }' "$st".*)
}

# ---------------------------------------------------------------- phase 0: podman
# First, while no other container is attached: the start of one container,
# with the hook (its default policy) and without, nothing else varying.

# The no-rules reference: half its rounds before Podman, half after.
DATA_REPS_ALL=$DATA_REPS
if ((!CONTROL_ONLY)); then
	bench_log "data path with no rules at all (reference, first half)"
	DATA_REPS=$(((DATA_REPS_ALL + 1) / 2))
	data_measure none_a
	DATA_REPS=$DATA_REPS_ALL
fi

PODMAN_WHY=$(podman_missing)
((CONTROL_ONLY)) && PODMAN_WHY="not run (--control-only)"
if [[ -z $PODMAN_WHY ]]; then
	bench_log "podman run --rm, with and without the hook, $PODMAN_RUNS runs each, interleaved"
	if podman_setup; then
		((APPLIER)) && { applier_start || note "podman: the applier did not start: the hook applies alone"; }
		mkdir -p "$W/no-hooks"
		PM_WITHOUT=("${PM[@]}")
		for i in "${!PM_WITHOUT[@]}"; do
			[[ ${PM_WITHOUT[i]} == "$AZ_PM_HOOKS" ]] && PM_WITHOUT[i]=$W/no-hooks
		done
		pm_once() { # pm_once with|without → ms, or nothing on failure
			local -a cmd=("${PM[@]}")
			[[ $1 == without ]] && cmd=("${PM_WITHOUT[@]}")
			local t0=$EPOCHREALTIME
			bench_fg nsenter --net="/run/netns/$AZ_NS_HOST" timeout 60 "${cmd[@]}" run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
				--annotation alcatraz.network=on --rootfs "$AZ_PM_ROOTFS" true >/dev/null 2>>"$W/podman.err" ||
				return 1
			awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f\n", (b - a) * 1000}'
		}
		: >"$W/pm.with" && : >"$W/pm.without"
		# one of each first, not counted (storage, network and bridge setup)
		pm_once with >/dev/null && pm_once without >/dev/null
		for ((i = 0; i < PODMAN_RUNS; i++)); do
			if ((i % 2)); then order=(without with); else order=(with without); fi
			for o in "${order[@]}"; do
				pm_once "$o" >>"$W/pm.$o" || note "podman run ($o hook) failed: $(tail -n1 "$W/podman.err")"
			done
		done
		R[pm.with]=$(bench_median "$W/pm.with")
		R[pm.without]=$(bench_median "$W/pm.without")
		R[pm.with_n]=$(grep -c . "$W/pm.with")
		R[pm.without_n]=$(grep -c . "$W/pm.without")
		R[pm.with_p90]=$(bench_pct "$W/pm.with" 90)
		R[pm.without_p90]=$(bench_pct "$W/pm.without" 90)
	else
		PODMAN_WHY="podman setup failed"
	fi
fi
[[ -n $PODMAN_WHY ]] && note "podman start not measured: $PODMAN_WHY"

if [[ -n ${PM[*]} ]]; then
	bench_log "podman: removing its containers, storage and the firewall rules netavark left"
	in_host "${PM[@]}" rm -af -t 0 >/dev/null 2>&1
	in_host "${PM[@]}" system reset -f >/dev/null 2>&1
fi
# What the hook (host layer) and netavark (ip/ip6 filter and nat tables)
# left in the sim-host: the data path below starts from an empty ruleset.
applier_stop
_bench_bg_detach_all
in_host nft list tables 2>/dev/null | awk '{print "delete table " $2 " " $3}' | in_host nft -f - 2>/dev/null
R[host_tables_after_podman]=$(in_host nft list tables 2>/dev/null | wc -l)

# ---------------------------------------------------------------- phase 1: no rules

if ((!CONTROL_ONLY)); then
	bench_log "data path with no rules at all (reference, second half)"
	DATA_REPS=$((DATA_REPS_ALL / 2 > 0 ? DATA_REPS_ALL / 2 : 1))
	data_measure none_b
	DATA_REPS=$DATA_REPS_ALL
	for k in pps pps_sent cps; do
		cat "$W/none_a.$k" "$W/none_b.$k" >"$W/none.$k"
		R[none.$k]=$(bench_pct "$W/none.$k" 100)
	done
fi

# ---------------------------------------------------------------- phase 2: ours

OURS_FAILED_AT=
for n in "${NS_LIST[@]}"; do
	if [[ -n $OURS_FAILED_AT ]]; then
		ERR[ours$n]="not measured: attaching background containers failed at $OURS_FAILED_AT"
		continue
	fi
	# the state dir is new after a detach: the applier's socket with it
	((APPLIER)) && [[ ! -S $ALCATRAZ_STATE_DIR/applier.sock ]] && { applier_start || note "the applier did not start"; }
	bench_log "ours: attaching background containers up to N=$n through the hook"
	t=$(bench_now_ms)
	if ! bench_bg_attach "$n" 2>"$W/attach.$n.err"; then
		OURS_FAILED_AT="N=$n ($(grep -c . <"$W/attach.$n.err") hook refusal(s); first: $(head -n1 "$W/attach.$n.err"))"
		ERR[ours$n]="hook failed while attaching the background containers: $(head -n1 "$W/attach.$n.err")"
		R[ours$n.attached]=$(find "$ALCATRAZ_STATE_DIR/netns" -name '*.json' 2>/dev/null | wc -l)
		note "ours N=$n: $(head -n1 "$W/attach.$n.err") — ${R[ours$n.attached]} attached"
		continue
	fi
	R[ours$n.attached]=$(find "$ALCATRAZ_STATE_DIR/netns" -name '*.json' 2>/dev/null | wc -l)
	R[ours$n.attach_s]=$(awk -v a="$t" -v b="$(bench_now_ms)" 'BEGIN {printf "%.1f", (b - a) / 1000}')
	R[ours$n.host_addrs]=$(in_host ip -o addr show | wc -l)
	bench_log "ours N=$n: control path ($RUNS runs$( ((APPLIER)) && echo ", the applier running"))"
	ct_settle
	R[ours$n.conntrack]=$(ct_count)
	: >"$W/ours$n.phases"
	control_measure "ours$n" "$HOOK_APPLY" "$HOOK_REMOVE" "$W/ours$n.phases" &&
		R[ours$n.phases]=$(phases_median "$W/ours$n.phases")
	if ((APPLIER)); then
		bench_log "ours N=$n: control path, the hook alone (no applier)"
		applier_stop
		: >"$W/alone$n.phases"
		control_measure "alone$n" "$HOOK_APPLY" "$HOOK_REMOVE" "$W/alone$n.phases" &&
			R[alone$n.phases]=$(phases_median "$W/alone$n.phases")
		applier_start || note "ours N=$n: the applier did not restart: $(tail -n1 "$AZ_TMP/applier.log")"
	fi
	syscall_profile "ours$n.prof_apply" "$HOOK_APPLY"
	syscall_profile "ours$n.prof_remove" "$HOOK_REMOVE"
	if [[ -n ${BENCH_EXEC:-} ]]; then
		# profiling aid: a command run in the sim-host with the topology of
		# this N in place ($HOOK_APPLY / $HOOK_REMOVE exported)
		bench_log "ours N=$n: BENCH_EXEC"
		HOOK_APPLY=$HOOK_APPLY HOOK_REMOVE=$HOOK_REMOVE N=$n in_host sh -c "$BENCH_EXEC" || note "BENCH_EXEC failed at N=$n"
	fi
	((CONTROL_ONLY)) && continue
	bench_log "ours N=$n: data path"
	if in_host sh -c "$HOOK_APPLY" 2>"$W/ours$n.data.err"; then
		data_measure "ours$n"
		in_host sh -c "$HOOK_REMOVE" >/dev/null 2>&1
		if [[ $n == "${NS_LIST[0]}" ]] && ((CT_FLUSH)); then
			# the apply with a populated conntrack table, once
			bench_log "ours N=$n: apply with conntrack entries present"
			in_host sh -c "$HOOK_APPLY" >/dev/null 2>&1
			bench_fg timeout 20 ip netns exec "$PROBE_NS" taskset -c 0 "$AZCPS" run "$AZ_WAN4" 5202 \
				--seconds 1 --procs 2 >/dev/null 2>&1
			in_host sh -c "$HOOK_REMOVE" >/dev/null 2>&1
			R[ct.entries]=$(ct_count)
			SAVE_RUNS=$RUNS SAVE_WARMUP=$WARMUP
			RUNS=$((RUNS < 30 ? RUNS : 30)) WARMUP=0
			control_measure "ct" "$HOOK_APPLY" "$HOOK_REMOVE"
			RUNS=$SAVE_RUNS WARMUP=$SAVE_WARMUP
			R[ct.entries_after]=$(ct_count)
		fi
	else
		note "ours N=$n: data path not measured: $(cat "$W/ours$n.data.err")"
	fi
done
bench_log "ours: removing every rule the hook applied"
applier_stop
_bench_bg_detach_all

# ---------------------------------------------------------------- phase 3: the anchor

((CONTROL_ONLY)) && NS_ANCHOR=() || NS_ANCHOR=("${NS_LIST[@]}")
for n in "${NS_ANCHOR[@]}"; do
	bench_log "anchor: loading per-container tables up to N=$n (nft -f each)"
	t=$(bench_now_ms)
	if ! bench_anchor_attach "$n" 2>"$W/anchor.$n.err"; then
		ERR[anchor$n]="loading the anchor's tables failed: $(head -n1 "$W/anchor.$n.err")"
		note "anchor N=$n: ${ERR[anchor$n]}"
		break
	fi
	R[anchor$n.attach_s]=$(awk -v a="$t" -v b="$(bench_now_ms)" 'BEGIN {printf "%.1f", (b - a) / 1000}')
	bench_log "anchor N=$n: control path"
	ct_settle
	R[anchor$n.conntrack]=$(ct_count)
	control_measure "anchor$n" "$ANCHOR_APPLY" "$ANCHOR_REMOVE" "" \
		"$(runs_within "${BENCH_ANCHOR_BUDGET:-45}" "$ANCHOR_APPLY" "$ANCHOR_REMOVE")"
	syscall_profile "anchor$n.prof_apply" "$ANCHOR_APPLY"
	in_host sh -c "$ANCHOR_REMOVE" >/dev/null 2>&1
	bench_log "anchor N=$n: data path"
	if in_host sh -c "$ANCHOR_APPLY" 2>"$W/anchor$n.data.err"; then
		data_measure "anchor$n"
		in_host sh -c "$ANCHOR_REMOVE" >/dev/null 2>&1
	else
		note "anchor N=$n: data path not measured: $(cat "$W/anchor$n.data.err")"
	fi
done
# No removal here: deleting 2000 base chains one by one takes minutes on
# this kernel; they go with the sim-host netns at exit.

# ---------------------------------------------------------------- results

v() { # v KEY — the value or null
	local x=${R[$1]:-null}
	[[ $x =~ ^-?[0-9]+(\.[0-9]+)?$ ]] && echo "$x" || echo null
}
# nmap TAGPREFIX FIELD — {"N": value, ...} over the sizes
nmap() {
	local n s="" sep=""
	for n in "${NS_LIST[@]}"; do
		s+="$sep\"$n\": $(v "$1$n.$2")"
		sep=", "
	done
	echo "{$s}"
}
smap() { # smap TAGPREFIX FIELD — {"N": "string"|null}
	local n s="" sep="" x
	for n in "${NS_LIST[@]}"; do
		x=${R[$1$n.$2]:-}
		s+="$sep\"$n\": $([[ -n $x ]] && jq -Rn --arg x "$x" '$x' || echo null)"
		sep=", "
	done
	echo "{$s}"
}
emap() { # emap TAGPREFIX — errors per N
	local n s="" sep="" x
	for n in "${NS_LIST[@]}"; do
		x=${ERR[$1$n]:-}
		[[ -z $x ]] && continue
		s+="$sep\"$n\": $(jq -Rn --arg x "$x" '$x')"
		sep=", "
	done
	echo "{$s}"
}
ratio() { # ratio A B — A/B or null
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "null" || b == "null" || b == 0) print "null"; else printf "%.3f\n", a / b }'
}
met() { # met EXPR-on-values... — true/false/null
	awk -v e="$1" 'BEGIN { print e }'
}

a0=$(v "ours${NS_LIST[0]}.apply_p50")
aN=$(v "ours$N_MAX.apply_p50")
p0=$(v "ours${NS_LIST[0]}.pps")
pN=$(v "ours$N_MAX.pps")
xaN=$(v "anchor$N_MAX.apply_p50")
xpN=$(v "anchor$N_MAX.pps")
pmw=$(v pm.with)
pmo=$(v pm.without)
t_apply_ratio=$(ratio "$aN" "$a0")
t_pps_ratio=$(ratio "$pN" "$p0")
t_pm_ratio=$(ratio "$pmw" "$pmo")
tf() { # tf VALUE OP LIMIT — true|false|null
	[[ $1 == null || $3 == null ]] && { echo null; return; }
	awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
		r = (op == "<=") ? a <= b : (op == "<") ? a < b : (op == ">=") ? a >= b : a > b
		print r ? "true" : "false" }'
}
T1=$(tf "$t_apply_ratio" "<=" 1.5)
T1b=$(tf "$a0" "<" 5)
T2=$(tf "$t_pps_ratio" ">=" 0.95)
T3a=$(tf "$aN" "<" "$xaN")
T3b=$(tf "$pN" ">" "$xpN")
T4=$(tf "$t_pm_ratio" "<=" 1.05)

sizes_json=$(printf '%s\n' "${NS_LIST[@]}" | jq -s -c .)
notes_json=$( ((${#NOTES[@]})) && printf '%s\n' "${NOTES[@]}" | jq -R . | jq -s -c . || echo '[]')
profile_json() { # profile_json PREFIX SUFFIX
	local n s="" sep=""
	for n in "${NS_LIST[@]}"; do
		s+="$sep\"$n\": {\"nft_netlink_rx_bytes\": $(v "$1$n.$2.nft_rx_bytes"), \"rtnetlink_rx_bytes\": $(v "$1$n.$2.rtnl_rx_bytes"), \"state_records_opened\": $(v "$1$n.$2.state_opens"), \"close_blocked_ms\": $(v "$1$n.$2.slow_close_ms"), \"closes_blocked\": $(v "$1$n.$2.slow_closes")}"
		sep=", "
	done
	echo "{$s}"
}

jq -n \
	--argjson ap50 "$(nmap ours apply_p50)" --argjson ap99 "$(nmap ours apply_p99)" \
	--argjson rp50 "$(nmap ours remove_p50)" --argjson rp99 "$(nmap ours remove_p99)" \
	--argjson pps "$(nmap ours pps)" --argjson cps "$(nmap ours cps)" \
	--argjson pps_sent "$(nmap ours pps_sent)" --argjson pps_med "$(nmap ours pps_median)" \
	--argjson cps_med "$(nmap ours cps_median)" --argjson xpps_med "$(nmap anchor pps_median)" \
	--argjson xap50 "$(nmap anchor apply_p50)" --argjson xap99 "$(nmap anchor apply_p99)" \
	--argjson xrp50 "$(nmap anchor remove_p50)" \
	--argjson xpps "$(nmap anchor pps)" --argjson xcps "$(nmap anchor cps)" \
	--argjson xpps_sent "$(nmap anchor pps_sent)" --argjson xruns "$(nmap anchor runs)" \
	--argjson xload "$(nmap anchor attach_s)" --argjson oload "$(nmap ours attach_s)" \
	--argjson oct "$(nmap ours conntrack)" --argjson xct "$(nmap anchor conntrack)" \
	--argjson ct_n "$(v ct.entries)" --argjson ct_n2 "$(v ct.entries_after)" --argjson ct_a50 "$(v ct.apply_p50)" \
	--argjson ct_r50 "$(v ct.remove_p50)" --argjson ct_runs "$(v ct.runs)" \
	--argjson pmw "$pmw" --argjson pmo "$pmo" \
	--argjson pmw90 "$(v pm.with_p90)" --argjson pmo90 "$(v pm.without_p90)" \
	--argjson pmwn "$(v pm.with_n)" --argjson pmon "$(v pm.without_n)" \
	--argjson sizes "$sizes_json" --argjson runs "$RUNS" --argjson smoke "$SMOKE" --argjson control_only "$CONTROL_ONLY" \
	--argjson ll "$BENCH_HOST_VETH_LL" --argjson single "$BENCH_ANCHOR_SINGLE" --argjson batch "$BENCH_ANCHOR_BATCH" \
	--argjson data_s "$DATA_SECONDS" --argjson data_reps "$DATA_REPS" \
	--argjson none_pps "$(v none.pps)" --argjson none_cps "$(v none.cps)" \
	--argjson none_pps_sent "$(v none.pps_sent)" \
	--argjson phases "$(smap ours phases)" \
	--argjson applier "$APPLIER" --argjson lap50 "$(nmap alone apply_p50)" \
	--argjson lap99 "$(nmap alone apply_p99)" --argjson lrp50 "$(nmap alone remove_p50)" \
	--argjson lphases "$(smap alone phases)" \
	--argjson attached "$(nmap ours attached)" --argjson host_addrs "$(nmap ours host_addrs)" \
	--argjson prof_apply "$(profile_json ours prof_apply)" \
	--argjson prof_remove "$(profile_json ours prof_remove)" \
	--argjson xprof_apply "$(profile_json anchor prof_apply)" \
	--argjson errors "$(emap ours)" --argjson xerrors "$(emap anchor)" \
	--argjson notes "$notes_json" \
	--arg podman_why "$PODMAN_WHY" \
	--argjson t1 "$T1" --argjson t1b "$T1b" --argjson t2 "$T2" --argjson t3a "$T3a" \
	--argjson t3b "$T3b" --argjson t4 "$T4" \
	--argjson r_apply "$t_apply_ratio" --argjson r_pps "$t_pps_ratio" --argjson r_pm "$t_pm_ratio" \
	--argjson elapsed "$(elapsed_s)" --arg kernel "$(uname -r)" --arg nft "$(nft --version)" \
	--arg load0 "$BENCH_LOAD0" --arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" \
	--argjson cpus "$(nproc)" --arg date "$(date -u +%FT%TZ)" \
	--arg commit "${BENCH_COMMIT:-$(git -C "$AZ_ROOT" describe --always --dirty 2>/dev/null || echo unknown)}" '
{
  control: {apply_p50_ms: $ap50, apply_p99_ms: $ap99, remove_p50_ms: $rp50},
  data: {pps: $pps, cps: $cps},
  anchor: {control_apply_p50_ms: $xap50, data_pps: $xpps},
  podman_start: {with_hook_ms: $pmw, without_ms: $pmo},
  detail: {
    mode: (if $smoke == 1 then "smoke" elif $control_only == 1 then "control-only" else "full" end),
    sizes: $sizes, runs: $runs, date: $date, commit: $commit, kernel: $kernel, nft: $nft,
    cpus: $cpus, elapsed_s: $elapsed, loadavg_start: $load0, loadavg_end: $load1,
    host_veth_ipv6_link_local: ($ll == 1),
    control: {remove_p99_ms: $rp99, background_attach_s: $oload, conntrack_entries: $oct,
              conntrack_sensitivity: {n: $sizes[0], conntrack_entries: $ct_n, conntrack_entries_after: $ct_n2,
                                      apply_p50_ms: $ct_a50, remove_p50_ms: $ct_r50, runs: $ct_runs}, phases_p50_ms: $phases, background_attached: $attached,
              host_addresses: $host_addrs, errors: $errors,
              syscalls_apply: $prof_apply, syscalls_remove: $prof_remove,
              applier: ($applier == 1),
              hook_alone: (if $applier == 1 then {apply_p50_ms: $lap50, apply_p99_ms: $lap99,
                           remove_p50_ms: $lrp50, phases_p50_ms: $lphases} else null end)},
    data: {statistic: "best of \($data_reps) rounds of \($data_s) s (pps: datagrams received by the server per second; cps: connections completed per second)",
           pps_sent: $pps_sent, pps_median: $pps_med, cps_median: $cps_med,
           no_rules: {pps: $none_pps, pps_sent: $none_pps_sent, cps: $none_cps},
           datagram_bytes: 64, seconds_per_round: $data_s, rounds: $data_reps},
    anchor: {runs: $xruns, conntrack_entries: $xct, background_loading: "first \($single) one nft -f each, then \($batch) files per nft -f", background_load_s: $xload, control_apply_p99_ms: $xap99, control_remove_p50_ms: $xrp50, data_cps: $xcps,
             data_pps_sent: $xpps_sent, data_pps_median: $xpps_med, errors: $xerrors, syscalls_apply: $xprof_apply},
    podman_start: {with_hook_p90_ms: $pmw90, without_p90_ms: $pmo90, runs_with: $pmwn,
                   runs_without: $pmon, skipped: (if $podman_why == "" then null else $podman_why end)},
    targets: {
      apply_flat: {ratio: $r_apply, limit: 1.5, met: $t1},
      apply_under_5ms_at_0: {value: $ap50[($sizes[0]|tostring)], limit: 5, met: $t1b},
      pps_flat: {ratio: $r_pps, limit: 0.95, met: $t2},
      apply_beats_anchor: {ours: $ap50[($sizes[-1]|tostring)], anchor: $xap50[($sizes[-1]|tostring)], met: $t3a},
      pps_beats_anchor: {ours: $pps[($sizes[-1]|tostring)], anchor: $xpps[($sizes[-1]|tostring)], met: $t3b},
      podman_start: {ratio: $r_pm, limit: 1.05, met: $t4}
    },
    notes: $notes
  }
}' >"$OUT/results.json.tmp" && mv -f "$OUT/results.json.tmp" "$OUT/results.json" ||
	{ echo "run.sh: writing results.json failed" >&2; exit 1; }

# ---------------------------------------------------------------- the table

fmt() { # fmt VALUE [DECIMALS] — a number, or "—"
	[[ $1 == null || -z $1 ]] && { printf '%s' "—"; return; }
	awk -v x="$1" -v d="${2:-1}" 'BEGIN { if (x >= 10000) printf "%.0f", x; else printf "%.*f", d, x }'
}
row() { # row LABEL TAGPREFIX FIELD [DECIMALS]
	local n line
	line=$(printf '%-40s' "$1")
	for n in "${NS_LIST[@]}"; do
		line+=$(printf ' %12s' "$(fmt "$(v "$2$n.$3")" "${4:-1}")")
	done
	echo "$line"
}
yn() { case $1 in true) echo "met" ;; false) echo "MISSED" ;; *) echo "not measured" ;; esac; }
{
	echo
	echo "alcatraz bench ($(jq -r .detail.mode "$OUT/results.json"), $(date -u +%F), kernel $(uname -r), $(nproc) CPUs, load $BENCH_LOAD0 at start, $RUNS runs per control point)"
	printf '%-40s' "N other containers attached"
	for n in "${NS_LIST[@]}"; do printf ' %12s' "$n"; done
	echo
	row "ours   background attached" ours attached 0
	row "ours   host addresses (ip -o addr)" ours host_addrs 0
	row "ours   apply p50 (ms)" ours apply_p50 1
	row "ours   apply p99 (ms)" ours apply_p99 1
	row "ours   remove p50 (ms)" ours remove_p50 1
	row "ours   remove p99 (ms)" ours remove_p99 1
	for p in discover hostnet host_txn netns_txn; do
		line=$(printf '%-40s' "ours     phase $p p50 (ms)")
		for n in "${NS_LIST[@]}"; do
			x=$(sed -n "s/.*\b$p=\([0-9.]*\|null\).*/\1/p" <<<"${R[ours$n.phases]:-}")
			line+=$(printf ' %12s' "$(fmt "${x:-null}" 1)")
		done
		echo "$line"
	done
	if ((APPLIER)); then
		row "ours, hook alone: apply p50 (ms)" alone apply_p50 1
		row "ours, hook alone: apply p99 (ms)" alone apply_p99 1
		row "ours, hook alone: remove p50 (ms)" alone remove_p50 1
	fi
	row "ours     blocked in close() (ms)" ours prof_apply.slow_close_ms 1
	row "ours     nf_tables rx bytes/apply" ours prof_apply.nft_rx_bytes 0
	row "ours     state records read/apply" ours prof_apply.state_opens 0
	row "ours   UDP 64 B pkt/s (received, best)" ours pps 0
	row "ours   UDP 64 B pkt/s (received, median)" ours pps_median 0
	row "ours   UDP 64 B pkt/s (sent)" ours pps_sent 0
	row "ours   TCP connections/s (best)" ours cps 0
	row "anchor control runs" anchor runs 0
	row "anchor apply p50 (ms)" anchor apply_p50 1
	row "anchor apply p99 (ms)" anchor apply_p99 1
	row "anchor remove p50 (ms)" anchor remove_p50 1
	row "anchor   nf_tables rx bytes/apply" anchor prof_apply.nft_rx_bytes 0
	row "anchor UDP 64 B pkt/s (received, best)" anchor pps 0
	row "anchor UDP 64 B pkt/s (received, median)" anchor pps_median 0
	row "anchor UDP 64 B pkt/s (sent)" anchor pps_sent 0
	row "anchor TCP connections/s (best)" anchor cps 0
	echo "ours at N=${NS_LIST[0]} with $(fmt "$(v ct.entries)" 0) conntrack entries present: apply p50 $(fmt "$(v ct.apply_p50)" 1) ms (vs $(fmt "$a0" 1) ms with none)"
	echo "no rules at all (best of $(grep -c . "$W/none.pps") rounds): UDP $(fmt "$(v none.pps)" 0) pkt/s received, TCP $(fmt "$(v none.cps)" 0) connections/s"
	echo "podman run --rm true (median of $PODMAN_RUNS, interleaved): with the hook $(fmt "$pmw" 1) ms, without $(fmt "$pmo" 1) ms, ratio $(fmt "$t_pm_ratio" 3)"
	echo
	echo "targets (issue 4; N=$N_MAX against N=${NS_LIST[0]}):"
	echo "  apply p50 N=$N_MAX / N=${NS_LIST[0]} = $(fmt "$t_apply_ratio" 2) (<= 1.5): $(yn "$T1")"
	echo "  apply p50 at N=${NS_LIST[0]} = $(fmt "$a0" 1) ms (< 5): $(yn "$T1b")"
	echo "  pkt/s N=$N_MAX / N=${NS_LIST[0]} = $(fmt "$t_pps_ratio" 3) (>= 0.95): $(yn "$T2")"
	echo "  apply at N=$N_MAX below the anchor's ($(fmt "$aN" 1) vs $(fmt "$xaN" 1) ms): $(yn "$T3a")"
	echo "  pkt/s at N=$N_MAX above the anchor's ($(fmt "$pN" 0) vs $(fmt "$xpN" 0)): $(yn "$T3b")"
	echo "  podman run with/without hook = $(fmt "$t_pm_ratio" 3) (<= 1.05): $(yn "$T4")"
	if ((${#NOTES[@]})); then
		echo "notes:"
		printf '  - %s\n' "${NOTES[@]}"
	fi
	echo "results: $OUT/results.json, plot: $OUT/plot.png ($(elapsed_s) s)"
} | tee "$OUT/table.txt"

# ---------------------------------------------------------------- the plot

if command -v gnuplot >/dev/null 2>&1; then
	{
		for n in "${NS_LIST[@]}"; do
			echo "$n $(v "ours$n.apply_p50") $(v "anchor$n.apply_p50") $(v "ours$n.pps") $(v "anchor$n.pps") $(v "alone$n.apply_p50")"
		done
	} | sed 's/null/NaN/g' >"$W/plot.dat"
	gnuplot <<-EOF 2>"$W/gnuplot.err" || note "gnuplot failed: $(tail -n1 "$W/gnuplot.err")"
	set terminal pngcairo size 1100,450 font ",10"
	set output "$OUT/plot.png.tmp"
	set multiplot layout 1,2 title "alcatraz bench: ours (fixed chains + set elements) vs the anchor (a table per container), $(date -u +%F)$( ((BENCH_HOST_VETH_LL)) || echo ', host veths without IPv6 link-local')"
	set key top left
	set grid
	set xlabel "other containers attached (N)"
	set xrange [$(awk -v m="$N_MAX" 'BEGIN {d = (m > 0 ? m : 1) * 0.04; printf "%g:%g", -d, (m > 0 ? m : 1) + d}')]
	set logscale y
	set yrange [1:*]
	set ylabel "apply time p50 (ms, log scale)"
	set title "control path: apply one container"
	plot "$W/plot.dat" using 1:2 with linespoints lw 2 pt 7 title "ours (hook$( ((APPLIER)) && echo ' + applier'))", \
	     "" using 1:6 with linespoints lw 2 pt 9 title "ours (hook alone)", \
	     "" using 1:3 with linespoints lw 2 pt 5 title "anchor (nft -f)"
	unset logscale y
	set yrange [0:*]
	set ylabel "UDP 64-byte packets/s received"
	set title "data path: one container to the internet"
	set key bottom left
	plot "$W/plot.dat" using 1:4 with linespoints lw 2 pt 7 title "ours", \
	     "" using 1:5 with linespoints lw 2 pt 5 title "anchor"
	unset multiplot
	EOF
	[[ -s $OUT/plot.png.tmp ]] && mv -f "$OUT/plot.png.tmp" "$OUT/plot.png"
else
	note "gnuplot is not installed: no plot (apt-get install gnuplot-nox)"
fi
bench_log "done in $(elapsed_s) s"
exit 0
