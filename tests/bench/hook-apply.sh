#!/usr/bin/env bash
# Timing, not a test: the hook's apply (createRuntime) and remove (poststop)
# time for one container, median and p99 of RUNS runs, with N other containers
# attached — calling build/alcatraz-hook as a runtime does, in the sealed
# topology.
#   tests/bench/hook-apply.sh [N...]     (default: 1 200; RUNS=100)
source "$(dirname "$0")/../lib/fakert.sh"
require_root
RUNS=${RUNS:-100}
sizes=("$@")
((${#sizes[@]})) || sizes=(1 200)

topo_up >/dev/null || exit 1
attached=0

# attach_more N — bring the number of attached background containers to N.
attach_more() {
	local want=$1 i name
	for ((i = attached; i < want; i++)); do
		name=bg$i
		# 10.77.0.0/24 holds 253 containers; spread them over suffixes 2..254
		topo_add_ctr "$name" $((i + 2)) >/dev/null || return 1
		fakert_create "$name" alcatraz.network=on "alcatraz.network.lan-access=$AZ_LAN4:8080" ||
			{ echo "attach $name: $FAKERT_ERR" >&2; return 1; }
	done
	attached=$want
}

# stats FILE — "median p99" of the numbers in FILE (ms).
stats() {
	sort -n "$1" | awk '{v[NR]=$1} END {m=v[int((NR+1)/2)]; p=v[int(NR*0.99)>0?int(NR*0.99):1]; printf "%.2f %.2f", m, p}'
}

topo_add_ctr probe 254 >/dev/null
printf '%-10s %-18s %-18s\n' attached "apply p50/p99 ms" "remove p50/p99 ms"
for n in "${sizes[@]}"; do
	if ((n > 250)); then echo "at most 250 background containers in this topology" >&2; exit 1; fi
	attach_more "$n" || exit 1
	: >"$AZ_TMP/apply" && : >"$AZ_TMP/remove"
	for ((r = 0; r < RUNS; r++)); do
		t0=$EPOCHREALTIME
		fakert_create probe alcatraz.network=on "alcatraz.network.lan-access=$AZ_LAN4:8080" ||
			{ echo "apply failed: $FAKERT_ERR" >&2; exit 1; }
		t1=$EPOCHREALTIME
		fakert_stop probe
		t2=$EPOCHREALTIME
		echo "($t1 - $t0) * 1000" | bc -l >>"$AZ_TMP/apply"
		echo "($t2 - $t1) * 1000" | bc -l >>"$AZ_TMP/remove"
	done
	read -r a50 a99 <<<"$(stats "$AZ_TMP/apply")"
	read -r r50 r99 <<<"$(stats "$AZ_TMP/remove")"
	printf '%-10s %-18s %-18s\n' "$n" "$a50 / $a99" "$r50 / $r99"
done
