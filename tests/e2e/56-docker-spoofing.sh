#!/usr/bin/env bash
# e2e: DESIGN.md point 5 for Docker endpoints — identity cannot be spoofed.
# Private dockerd 20.10, the plugin (--no-labels), real packets.
#
# A Docker container holds CAP_NET_RAW by default: with a packet socket it
# injects frames that pass neither its IP stack nor the table in its own
# netns (tests/tools/azraw, run in the container's netns).  And one that
# holds CAP_NET_ADMIN (--cap-add; here: root in its netns) can add any
# address and send from it with an ordinary socket.  Checked, IPv4 and IPv6:
#   * baseline: the packet socket with the container's real source reaches
#     the internet server (the tool works, so a refusal below means
#     something);
#   * packet socket, real source, to the LAN: the host layer refuses it
#     (the netns table never saw it); the LAN server got nothing;
#   * packet socket, forged sources (an unused address of the network,
#     another container's, a LAN one): nothing reaches the internet or the
#     LAN server;
#   * an address added in the container (10.94.0.99, fd00:94::99) and a
#     TCP/UDP socket bound to it, after the attacker also deleted the table
#     in its netns: nothing reaches the internet; the real address still
#     does (it is the binding of port to address that decides).
# Arrival is read from the servers' logs (counted before and after), since
# the plugin masquerades the network's pool on the way out.
set -u
AZ_SERVER_SECONDS=${AZ_SERVER_SECONDS:-400}
source "$(dirname "$0")/../lib/docker.sh"
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"
docker_plugin_test_begin curl nft
azraw_bin >/dev/null || { t_fail setup "cannot build azraw"; exit 1; }

topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
docker_up || { t_fail docker_up "dockerd did not start"; exit 1; }
docker_image || { t_fail docker_image "import failed"; exit 1; }
source "$(dirname "$0")/../lib/dkplugin.sh"

NET=${AZ_RUN}s
{
	for a in "$AZ_WAN4" "$AZ_WAN6" "$AZ_LAN4" "$AZ_LAN6"; do
		w=wan
		[[ $a == "$AZ_LAN4" || $a == "$AZ_LAN6" ]] && w=lan
		topo_serve $w udp "$a" 8080 && topo_serve $w tcp "$a" 8080 || exit 1
	done
} || { t_fail setup "servers did not start"; exit 1; }
plugin_up
out=$(dk network create -d "$NAME" --subnet 10.94.0.0/24 --ipv6 --subnet fd00:94::/64 "$NET" 2>&1) ||
	{ t_fail "network create" "$out"; plugin_log; exit 1; }
BR=$(br_of "$(net_id "$NET")")
ctr_run s1 "$NET" && ctr_run s2 "$NET" || { t_fail "docker run" "containers did not start"; plugin_log; exit 1; }
t_pass "s1 ${AZ_CTR_IP4[s1]} ${AZ_CTR_IP6[s1]} and s2 ${AZ_CTR_IP4[s2]} on $NET"
wait_for 10 ctr_table_of s1 "${CTR_EP[s1]}" || t_fail "s1 netns table" "not in place"
# Docker grants CAP_NET_RAW by default: the container itself could do this.
caps=$(dk inspect -f '{{.HostConfig.CapDrop}}' "$AZ_RUN-s1")
t_log "s1 CapDrop: $caps (NET_RAW not dropped: Docker's default set includes it)"

# raw CTR SRC DST PORT [opts] — a UDP datagram by packet socket from CTR's
# eth0 to the bridge's MAC (the gateway).
raw() {
	local ns mac
	ns=$(topo_ns "ctr:$1") || return 1
	mac=$(ip -n "$AZ_NS_HOST" -o link show "$BR" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
	ip netns exec "$ns" "$AZRAW" eth0 "$mac" "${@:2}" >/dev/null
}
# lines PROTO ADDR — lines the server on ADDR:8080 logged so far
lines() { srv_count "$1" "$2" 8080; }
# nothing_new NAME PROTO ADDR BEFORE — the server logged nothing since BEFORE.
nothing_new() {
	sleep 0.3
	local now
	now=$(lines "$2" "$3")
	if ((now == $4)); then t_pass "$1 (server on $3 logged nothing)"; else
		t_fail "$1" "the server on $3 logged $((now - $4)) line(s): $(tail -n 1 "$(srv_log "$2" "$3" 8080)")"; fi
}

for fam in 4 6; do
	if ((fam == 4)); then
		real=${AZ_CTR_IP4[s1]} wan=$AZ_WAN4 lan=$AZ_LAN4
		forged=(10.94.0.99 "${AZ_CTR_IP4[s2]}" 192.168.77.50)
	else
		real=${AZ_CTR_IP6[s1]} wan=$AZ_WAN6 lan=$AZ_LAN6
		forged=(fd00:94::99 "${AZ_CTR_IP6[s2]}" fd77::50)
	fi
	b=$(lines udp "$wan")
	raw s1 "$real" "$wan" 8080 --send "raw-real$fam"
	if wait_for 2 bash -c "(( \$(wc -l <'$(srv_log udp "$wan" 8080)') > $b ))"; then
		t_pass "5 baseline IPv$fam: packet socket with s1's real source reaches the internet server (the sender works)"
	else
		t_fail "5 baseline IPv$fam" "the internet server saw nothing: the checks below would prove nothing"
	fi
	b=$(lines udp "$lan")
	raw s1 "$real" "$lan" 8080 --count 3
	nothing_new "5 IPv$fam packet socket, real source → LAN: refused by the host layer" udp "$lan" "$b"
	for s in "${forged[@]}"; do
		bw=$(lines udp "$wan") bl=$(lines udp "$lan")
		raw s1 "$s" "$wan" 8080 --count 2
		raw s1 "$s" "$lan" 8080 --count 2
		nothing_new "5 IPv$fam packet socket, forged source $s → internet" udp "$wan" "$bw"
		nothing_new "5 IPv$fam packet socket, forged source $s → LAN" udp "$lan" "$bl"
	done
done

# --- CAP_NET_ADMIN: table deleted, an address added ---------------------------------
ctr_delete_table s1 && t_pass "attacker: s1's netns table deleted" || t_fail "delete s1's table" "nft failed"
ip -n "${AZ_CTR_NS[s1]}" addr add 10.94.0.99/24 dev eth0 &&
	ip -n "${AZ_CTR_NS[s1]}" addr add fd00:94::99/64 dev eth0 nodad ||
	t_fail "attacker: add addresses" "ip addr add failed"
for fam in 4 6; do
	if ((fam == 4)); then src=10.94.0.99 wan=$AZ_WAN4 real=${AZ_CTR_IP4[s1]}; else
		src=fd00:94::99 wan=$AZ_WAN6 real=${AZ_CTR_IP6[s1]}; fi
	for proto in tcp udp; do
		b=$(lines "$proto" "$wan")
		probe_from ctr:s1 "$proto" "$wan" 8080 --src "$src" --timeout 600
		nothing_new "5 IPv$fam $proto from the added address $src → internet (probe: ${PROBE_VERDICT})" "$proto" "$wan" "$b"
	done
	expect_reachable "5 IPv$fam s1's real address $real still reaches the internet" ctr:s1 tcp "$wan" 8080 --src "$real" --read
done

for c in s1 s2; do ctr_detach "$c"; done
dk rm -f "$AZ_RUN-s1" "$AZ_RUN-s2" >/dev/null 2>&1
dk network rm "$NET" >/dev/null 2>&1
if wait_for 5 nothing_left >/dev/null; then t_pass "nothing left"; else t_fail "cleanup" "$(nothing_left | tr '\n' ' ')"; fi
t_log "$AZ_TEST_NAME: $(($(_t_now_ms) - T_START)) ms"
((T_FAILED)) && { dump_on_failure; plugin_log 30; }
exit 0
