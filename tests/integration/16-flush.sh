#!/usr/bin/env bash
# 16-flush — DESIGN.md point 12 with real packets: a host `nft flush ruleset`
# (systemctl restart nftables) while containers run.
#  - the containers stay isolated: LAN, host and peers still refused, fast —
#    the in-netns tables are out of the flush's reach;
#  - `alcatraz restore` puts the host layer back: the proxy redirect and the
#    anti-spoofing binding work again (packet-socket frames are refused again);
#  - the next hook start repairs a flush as well, for the containers already
#    running, not only its own.
# What the window between the flush and the repair lets through (proxy
# bypass, packet-socket frames) is printed as "# observed" lines: closing it
# is the job of `alcatraz restore --watch` (31-restore-watch).
set -u
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"
# shellcheck source=../lib/proxy.sh
source "$(dirname "$0")/../lib/proxy.sh"

require_root
require_cmd ip nft nsenter redsocks microsocks
require_hook
azraw_bin >/dev/null || { t_fail setup "cannot build azraw"; exit 1; }
topo_up || exit 1
{
	topo_start_servers 8080 || exit 1
	topo_start_dns || exit 1
} || { t_fail setup "servers did not start"; exit 1; }
start_proxy_chain || { t_fail setup "proxy chain did not start"; exit 1; }
topo_add_ctr px 2 >/dev/null &&
	topo_add_ctr iso 3 >/dev/null &&
	topo_add_ctr late 4 >/dev/null || { t_fail setup "topo_add_ctr"; exit 1; }
fakert_create px alcatraz.network=on "alcatraz.network.proxy=$AZ_PROXY4:$AZ_PROXY_PORT" &&
	fakert_create iso alcatraz.network=on && t_pass "hook applies to px (proxied) and iso" ||
	{ t_fail "hook applies" "$FAKERT_ERR"; exit 1; }
topo_serve ctr:px tcp "${AZ_CTR_IP4[px]}" 8080 && topo_serve ctr:px udp "${AZ_CTR_IP6[px]}" 8080 ||
	{ t_fail setup "server in px"; exit 1; }

# proxied ADDR PORT — px's TCP to ADDR:PORT went through redsocks.
proxied() {
	local before after
	before=$(proxy_count "$1:$2")
	probe_from px tcp "$1" "$2" --read
	after=$(proxy_count "$1:$2")
	[[ $PROBE_VERDICT == ok ]] && ((after == before + 1)) && [[ $(srv_last_peer tcp "$1" "$2") == "$AZ_HOST_UP4" ]] && return 0
	echo "probe: $PROBE_LINE; redsocks count $before -> $after; server's last peer $(srv_last_peer tcp "$1" "$2")"
	return 1
}
# raw_lan_arrives — iso injects a UDP datagram to the LAN with a packet
# socket (its real address); true when the LAN server got it.
raw_lan_arrives() {
	local before
	before=$(srv_count udp "$AZ_LAN4" 8080)
	raw_send iso "${AZ_CTR_IP4[iso]}" "$AZ_LAN4" 8080 --count 2 >/dev/null
	wait_for 0.5 _srv_grew udp "$AZ_LAN4" 8080 "$before"
}
host_tables() { ip netns exec "$AZ_NS_HOST" nft list tables | grep -c ' alcatraz$'; }

t_check "before the flush: px's internet TCP goes through the proxy" proxied "$AZ_WAN4" 8080
t_check_not "before the flush: a packet-socket datagram from iso to the LAN is refused" raw_lan_arrives

isolated_checks() {
	local L=$1 c a p
	for c in px iso; do
		for a in "$AZ_LAN4" "$AZ_LAN6"; do
			for p in tcp udp; do
				expect_refused_fast "12 $L: $c refused $p $a" "$c" "$p" "$a" 8080
			done
		done
		for a in "$AZ_BR4" "$AZ_HOST_LAN4" "$AZ_HOST_UP4" "$AZ_BR6" "$AZ_HOST_UP6"; do
			expect_refused_fast "12 $L: $c refused the host tcp $a" "$c" tcp "$a" 8080
		done
		expect_reachable "12 $L: $c DNS udp $AZ_BR4:53 still works" "$c" udp "$AZ_BR4" 53
	done
	expect_refused_fast "12 $L: iso refused peer px tcp ${AZ_CTR_IP4[px]}" iso tcp "${AZ_CTR_IP4[px]}" 8080
	expect_refused_fast "12 $L: iso refused peer px udp ${AZ_CTR_IP6[px]}" iso udp "${AZ_CTR_IP6[px]}" 8080
	expect_reachable "12 $L: iso still reaches the internet" iso tcp "$AZ_WAN6" 8080
}

# ------------------------------------------------------------ the flush
in_host nft flush ruleset
t_check "flush: the sim-host has no alcatraz table left" count_is 0 host_tables
t_check "flush: px's in-netns table survived" ctr_has_table px
t_check "flush: iso's in-netns table survived" ctr_has_table iso
isolated_checks "[after flush]"

# The window, until something repairs the host layer:
probe_from px tcp "$AZ_WAN4" 8080 --read
t_log "observed [after flush, before restore]: px (proxy=$AZ_PROXY4:$AZ_PROXY_PORT) → tcp $AZ_WAN4:8080: $PROBE_LINE; the server's last peer: $(srv_last_peer tcp "$AZ_WAN4" 8080) (${AZ_CTR_IP4[px]} = direct, the proxy was bypassed)"
if raw_lan_arrives; then
	t_log "observed [after flush, before restore]: a packet-socket UDP datagram from iso reached the LAN server $AZ_LAN4:8080 (CAP_NET_RAW bypasses the in-netns table; the host layer is gone)"
else
	t_log "observed [after flush, before restore]: a packet-socket datagram from iso did not reach the LAN"
fi

# ------------------------------------------------------------ restore
if ! az_cli help restore >/dev/null 2>&1; then
	t_skip "12 restore" "$AZ_CLI has no 'restore' verb yet"
else
	out=$(az_cli restore 2>&1) && rc=0 || rc=$?
	if ((rc == 0)); then t_pass "12 alcatraz restore exits 0: $out"; else t_fail "12 alcatraz restore" "exit $rc: $out"; fi
	t_check "12 restore: both host tables are back" count_is 2 host_tables
	for c in px iso; do
		t_check "12 restore: $c's host elements are back" \
			bash -c "(( \$(ip netns exec '$AZ_NS_HOST' nft list ruleset | grep -cF 'alcatraz:$(fakert_id "$c")') > 0 ))"
	done
	t_check "12 restore: px's internet TCP goes through the proxy again" proxied "$AZ_WAN4" 8080
	t_check_not "12 restore: a packet-socket datagram from iso to the LAN is refused again" raw_lan_arrives
	isolated_checks "[after restore]"
fi

# ------------------------------------------- a hook start repairs it too
in_host nft flush ruleset
if fakert_create late alcatraz.network=on; then
	t_pass "12 a new container starts after a second flush"
else
	t_fail "12 a new container starts after a second flush" "$FAKERT_ERR"
fi
for c in px iso late; do
	t_check "12 after the hook: $c's host elements are in place" \
		bash -c "(( \$(ip netns exec '$AZ_NS_HOST' nft list ruleset | grep -cF 'alcatraz:$(fakert_id "$c")') > 0 ))"
done
t_check "12 after the hook: px's internet TCP goes through the proxy again" proxied "$AZ_WAN4" 8080
t_check_not "12 after the hook: a packet-socket datagram from iso to the LAN is refused" raw_lan_arrives

# ------------------------------------- only the bridge family flushed
# (`nft flush ruleset bridge`): the anti-spoofing binding is gone while the
# inet table stays; the next hook start must notice and put it back.
forged_arrives() {
	local before
	before=$(srv_count udp "$AZ_WAN4" 8080)
	raw_send iso 10.77.0.99 "$AZ_WAN4" 8080 --count 2 >/dev/null
	wait_for 0.5 _srv_grew udp "$AZ_WAN4" 8080 "$before"
}
t_check_not "12 before: a forged packet-socket datagram from iso is dropped" forged_arrives
in_host nft flush ruleset bridge
t_check "12 flush ruleset bridge: only the inet table is left" count_is 1 host_tables
topo_add_ctr late2 5 >/dev/null
if fakert_create late2 alcatraz.network=on; then
	t_pass "12 flush ruleset bridge: the next container starts"
else
	t_fail "12 flush ruleset bridge: the next container starts" "$FAKERT_ERR"
fi
t_check "12 flush ruleset bridge: the hook put the bridge table back" count_is 2 host_tables
t_check_not "12 flush ruleset bridge: a forged datagram from iso is dropped again" forged_arrives

# ------------------------------------- the host layer alone, after repairs
ctr_delete_table iso
expect_refused_fast "12 after the repairs, the host layer alone refuses iso → LAN tcp" iso tcp "$AZ_LAN4" 8080
expect_refused_fast "12 after the repairs, the host layer alone refuses iso → host udp" iso udp "$AZ_BR6" 8080

dump_on_failure px iso
