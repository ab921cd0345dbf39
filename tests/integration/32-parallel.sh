#!/usr/bin/env bash
# Runtimes call hooks for many containers at once: N createRuntime hooks in
# parallel must each apply completely (the state lock and one transaction per
# change), every container isolated with real packets; then N poststop hooks
# in parallel leave nothing behind.
source "$(dirname "$0")/../lib/fakert.sh"
require_root
N=${AZ_PARALLEL:-16}
topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
P=$(azprobe_bin)
for ns in "$AZ_NS_WAN" "$AZ_NS_LAN"; do
	ip netns exec "$ns" "$P" serve tcp 0.0.0.0 80 --log "$AZ_TMP/$ns.log" --max-seconds 300 &
	az_pid_track $!
done
wait_for 5 topo_exec_wan "$P" tcp "$AZ_WAN4" 80 --timeout 200

names=()
for ((i = 0; i < N; i++)); do
	topo_add_ctr "p$i" $((i + 2)) >/dev/null || { t_fail setup "topo_add_ctr p$i"; exit 1; }
	_fakert_init "p$i" && _fakert_write_config "p$i" || { t_fail setup "init p$i"; exit 1; }
	FAKERT_ANN_LAST=(alcatraz.network=on)
	t_cleanup_push "fakert_stop_quiet p$i"
	names+=("p$i")
done

pids=()
for n in "${names[@]}"; do
	(_fakert_state "$n" creating 1 alcatraz.network=on "alcatraz.network.lan-access=$AZ_LAN4:8080" |
		in_host "$AZ_HOOK" createRuntime 2>"$AZ_TMP/err.$n") &
	pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
	wait "${pids[i]}" || { failed=$((failed + 1)); t_log "${names[i]}: $(cat "$AZ_TMP/err.${names[i]}")"; }
done
if ((failed == 0)) && [[ $(find "$ALCATRAZ_STATE_DIR/netns" -name '*.json' | wc -l) == "$N" ]]; then
	t_pass "$N createRuntime hooks in parallel: all succeeded, $N attachments recorded"
else
	t_fail "parallel create" "$failed hook(s) failed; $(find "$ALCATRAZ_STATE_DIR/netns" -name '*.json' | wc -l) attachments"
fi
n_ctr=$(in_host nft list set inet alcatraz ctr4 | grep -o 'comment "alcatraz:' | wc -l)
n_bind=$(in_host nft list set bridge alcatraz bind4 | grep -o 'comment "alcatraz:' | wc -l)
if [[ $n_ctr == "$N" && $n_bind == "$N" ]]; then
	t_pass "parallel create: every container's host elements present ($n_ctr ctr4, $n_bind bind4)"
else
	t_fail "parallel create" "host elements: ctr4=$n_ctr bind4=$n_bind, want $N"
fi
bad=()
for n in "${names[@]}"; do
	w=$(topo_exec_ctr "$n" "$P" tcp "$AZ_WAN4" 80 --timeout 2000 | awk '{print $1}')
	l=$(topo_exec_ctr "$n" "$P" tcp "$AZ_LAN4" 80 --timeout 2000 | awk '{print $1}')
	[[ $w == ok && $l == refused ]] || bad+=("$n:$w/$l")
done
if ((${#bad[@]} == 0)) && ! grep -q peer= "$AZ_TMP/$AZ_NS_LAN.log"; then
	t_pass "parallel create: all $N containers reach the internet, none reaches the LAN"
else
	t_fail "parallel create: packets" "${bad[*]}"
fi

pids=()
for n in "${names[@]}"; do
	(fakert_stop "$n" 2>"$AZ_TMP/stop.$n") &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
left=$(find "$ALCATRAZ_STATE_DIR" -name '*.json' | wc -l)
elems=$(in_host nft list ruleset | grep -c 'comment "alcatraz:')
if [[ $left == 0 && $elems == 0 ]]; then
	t_pass "$N poststop hooks in parallel: no record, no element left"
else
	t_fail "parallel stop" "$left record(s), $elems element(s) left"
fi
