#!/usr/bin/env bash
# Point 12: `nft flush ruleset` on the host.  The in-netns tables survive it
# (tested in 16-flush); `alcatraz restore --watch` (the alcatraz-restore
# service) puts the host layer back at once, so the proxy redirect and the
# anti-spoofing binding return without waiting for the next container.
source "$(dirname "$0")/../lib/fakert.sh"
source "$(dirname "$0")/../lib/proxy.sh"
require_root
topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
topo_add_ctr a 2 >/dev/null
start_proxy_chain >/dev/null || { t_fail proxy "cannot start the proxy chain"; exit 1; }
P=$(azprobe_bin)
ip netns exec "$AZ_NS_WAN" "$P" serve tcp 0.0.0.0 80 --log "$AZ_TMP/wan.log" --max-seconds 300 &
az_pid_track $!
ip netns exec "$AZ_NS_LAN" "$P" serve tcp 0.0.0.0 80 --log "$AZ_TMP/lan.log" --max-seconds 300 &
az_pid_track $!
wait_for 5 topo_exec_wan "$P" tcp "$AZ_WAN4" 80 --timeout 200

fakert_create a "alcatraz.network.proxy=$AZ_PROXY4:$AZ_PROXY_PORT" ||
	{ t_fail apply "$FAKERT_ERR"; exit 1; }
in_host_bg "$AZ_CLI" restore --watch 2>"$AZ_TMP/watch.err"
wait_for 5 grep -q watching "$AZ_TMP/watch.err" || { t_fail watch "did not start: $(cat "$AZ_TMP/watch.err")"; exit 1; }

host_tables() { in_host nft list tables | grep -c ' alcatraz$'; }
host_tables_are() { [[ $(host_tables) == "$1" ]]; }
before=$(proxy_count "$AZ_WAN4:80")
topo_exec_ctr a "$P" tcp "$AZ_WAN4" 80 --read >/dev/null
in_host nft flush ruleset
t0=$(_t_now_ms)
if wait_for 3 host_tables_are 2; then
	t_pass "flush: both host tables restored by restore --watch in $(($(_t_now_ms) - t0)) ms"
else
	t_fail "flush" "host tables not back after 3 s: $(in_host nft list tables | tr '\n' ' ')"
fi
mid=$(proxy_count "$AZ_WAN4:80")
out=$(topo_exec_ctr a "$P" tcp "$AZ_WAN4" 80 --read)
after=$(proxy_count "$AZ_WAN4:80")
if [[ $out == ok* ]] && ((after == mid + 1 && mid == before + 1)); then
	t_pass "flush: internet TCP goes through the proxy again (proxy saw it: $after connections)"
else
	t_fail "flush: proxy" "probe '$out', proxy count $before -> $mid -> $after"
fi
out=$(topo_exec_ctr a "$P" tcp "$AZ_LAN4" 80)
if [[ $out == refused* ]] && ! grep -q peer= "$AZ_TMP/lan.log"; then
	t_pass "flush: the LAN stays refused"
else
	t_fail "flush: LAN" "probe '$out'"
fi
if in_host nft list set bridge alcatraz bind4 2>/dev/null | grep -q "${AZ_CTR_VETH[a]}"; then
	t_pass "flush: the anti-spoofing binding of the running container is back"
else
	t_fail "flush: binding" "bind4 has no element for ${AZ_CTR_VETH[a]}"
fi
