#!/usr/bin/env bash
# e2e: the Docker network plugin (issue 3) whichever way Docker left
# forwarding, with a private dockerd 20.10 in the sealed topology and real
# packets.  br_netfilter is turned off before dockerd starts, and dockerd is
# started with forwarding off (DK_FORWARD_DROP=1), so that it turns it on
# itself and sets the FORWARD policy to DROP (docs/docker-notes.md, 2).
# The plugin runs with --no-labels (labels: 52-docker-labels.sh).
#
#   net F  10.94.0.0/24 + fd00:94::/64, -o lan-access=192.168.77.10:8080
#
# The same matrix — internet (TCP, UDP, IPv6) reachable, the allowed LAN
# entry reachable, the LAN and the host refused, the other container on
# the network blocked — in four states of the sim-host:
#   1. FORWARD DROP, br_netfilter off (as set before dockerd started)
#   2. FORWARD DROP, br_netfilter on
#   3. FORWARD ACCEPT (set by hand, as on a host where forwarding was on
#      before dockerd), br_netfilter on
#   4. FORWARD ACCEPT, br_netfilter off
# Also: the plugin's accepts in DOCKER-USER are what lets the traffic
# through Docker's DROP (their counters grow); it changed nothing else of
# iptables (FORWARD policy, Docker's other chains); after `docker network
# rm` DOCKER-USER is as Docker made it and nothing of the plugin is left.
set -u
AZ_SERVER_SECONDS=${AZ_SERVER_SECONDS:-400}
source "$(dirname "$0")/../lib/docker.sh"
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"
docker_plugin_test_begin curl iptables

topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
if ! topo_br_netfilter off; then
	t_skip "$AZ_TEST_NAME" "no br_netfilter in this kernel: the br_netfilter states cannot be set"
	exit 0
fi
DK_FORWARD_DROP=1 docker_up || { t_fail docker_up "dockerd did not start"; exit 1; }
docker_image || { t_fail docker_image "import failed"; exit 1; }

source "$(dirname "$0")/../lib/dkplugin.sh"

NET_F=${AZ_RUN}f
GW_F4=10.94.0.1 GW_F6=fd00:94::1
ipt() { ip netns exec "$AZ_NS_HOST" "$@"; }
brnf() { ip netns exec "$AZ_NS_HOST" cat /proc/sys/net/bridge/bridge-nf-call-iptables; }
policy() { ipt iptables -S FORWARD | awk '$1 == "-P" {print $3}'; }
# iptables and ip6tables of the sim-host without our DOCKER-USER accepts.
docker_fw() {
	{ ipt iptables -S; ipt ip6tables -S; ipt iptables -t nat -S; } 2>/dev/null | grep -v -- 'alcatraz-plugin:'
}
# packets through our "-i BRIDGE -j ACCEPT" in DOCKER-USER
accept_packets() {
	ipt iptables -t filter -L DOCKER-USER -v -n -x 2>/dev/null |
		awk -v br="$BR_F" '$3 == "ACCEPT" && $6 == br {print $1; exit}'
}

if [[ $(policy) == DROP && $(brnf) == 0 ]] && ipt iptables -S DOCKER-USER >/dev/null 2>&1; then
	t_pass "dockerd set FORWARD policy DROP (it turned ip_forward on), br_netfilter is off, DOCKER-USER exists"
else
	t_fail "setup" "FORWARD policy $(policy), br_netfilter $(brnf)"
fi
plugin_up
{
	topo_serve wan tcp "$AZ_WAN4" 80 && topo_serve wan udp "$AZ_WAN4" 80 &&
		topo_serve wan tcp "$AZ_WAN6" 80 && topo_serve lan tcp "$AZ_LAN4" 80 &&
		topo_serve lan tcp "$AZ_LAN4" 8080 && topo_serve lan tcp "$AZ_LAN6" 80 &&
		topo_serve host tcp "$AZ_HOST_UP4" 80
} || { t_fail setup "servers did not start"; exit 1; }

fw_before=$(docker_fw)
if out=$(dk network create -d "$NAME" --subnet 10.94.0.0/24 --ipv6 --subnet fd00:94::/64 \
	-o "alcatraz.network.lan-access=$AZ_LAN4:8080" "$NET_F" 2>&1); then
	NID_F=$(net_id "$NET_F")
	BR_F=$(br_of "$NID_F")
	t_pass "network $NET_F created (bridge $BR_F)"
else
	t_fail "network create" "$out"
	plugin_log
	exit 1
fi
topo_serve host tcp "$GW_F4" 80 && topo_serve host tcp "$GW_F6" 80 || { t_fail setup "gateway servers"; exit 1; }
users=$(ipt iptables -S DOCKER-USER | grep -F -- "alcatraz-plugin:$NID_F")
if [[ $(wc -l <<<"$users") == 2 && $users == *"-i $BR_F "*"-j ACCEPT"* && $users == *"-o $BR_F "*"RELATED,ESTABLISHED"* ]]; then
	t_pass "DOCKER-USER: the plugin's 2 accepts for $BR_F (out, and replies back)"
else
	t_fail "DOCKER-USER" "$(ipt iptables -S DOCKER-USER | tr '\n' '|')"
fi
if [[ $(docker_fw) == "$fw_before" && $(policy) == DROP ]]; then
	t_pass "nothing else of iptables/ip6tables changed (FORWARD policy still DROP, Docker's chains as they were)"
else
	t_fail "iptables" "changed beyond DOCKER-USER: $(diff <(echo "$fw_before") <(docker_fw) | head -n 4 | tr '\n' ' ')"
fi

ctr_run f1 "$NET_F" && ctr_run f2 "$NET_F" || { t_fail "docker run" "f1/f2 did not start"; plugin_log; exit 1; }
topo_serve ctr:f2 tcp "${AZ_CTR_IP4[f2]}" 8080 && topo_serve ctr:f2 tcp "${AZ_CTR_IP6[f2]}" 8080 ||
	{ t_fail setup "server in f2"; exit 1; }
t_pass "containers f1 ${AZ_CTR_IP4[f1]} ${AZ_CTR_IP6[f1]}, f2 ${AZ_CTR_IP4[f2]} on $NET_F"

matrix() {
	local l=$1 before
	before=$(accept_packets)
	expect_reachable "$l: f1 → internet $AZ_WAN4:80 (TCP)" f1 tcp "$AZ_WAN4" 80
	expect_reachable "$l: f1 → internet $AZ_WAN4:80 (UDP)" f1 udp "$AZ_WAN4" 80
	expect_reachable "$l: f1 → internet [$AZ_WAN6]:80" f1 tcp "$AZ_WAN6" 80
	expect_reachable "$l: f1 → $AZ_LAN4:8080 (allowed)" f1 tcp "$AZ_LAN4" 8080
	expect_refused_fast "$l: f1 → LAN $AZ_LAN4:80" f1 tcp "$AZ_LAN4" 80
	expect_refused_fast "$l: f1 → LAN [$AZ_LAN6]:80" f1 tcp "$AZ_LAN6" 80
	expect_refused_fast "$l: f1 → host at its gateway $GW_F4" f1 tcp "$GW_F4" 80
	expect_refused_fast "$l: f1 → host at its gateway $GW_F6" f1 tcp "$GW_F6" 80
	expect_refused_fast "$l: f1 → host at $AZ_HOST_UP4" f1 tcp "$AZ_HOST_UP4" 80
	expect_blocked "$l: f1 → f2 ${AZ_CTR_IP4[f2]}" f1 tcp "${AZ_CTR_IP4[f2]}" 8080
	expect_blocked "$l: f1 → f2 ${AZ_CTR_IP6[f2]}" f1 tcp "${AZ_CTR_IP6[f2]}" 8080
	if [[ $(policy) == DROP ]]; then
		if (($(accept_packets) > before)); then
			t_pass "$l: the traffic went through the plugin's DOCKER-USER accept (packets $before → $(accept_packets))"
		else
			t_fail "$l: DOCKER-USER" "the accept for $BR_F saw no packet ($before → $(accept_packets))"
		fi
	fi
}

matrix "[FORWARD DROP, br_nf off]"
topo_br_netfilter on
matrix "[FORWARD DROP, br_nf on]"
ipt iptables -P FORWARD ACCEPT
matrix "[FORWARD ACCEPT, br_nf on]"
topo_br_netfilter off
matrix "[FORWARD ACCEPT, br_nf off]"
ipt iptables -P FORWARD DROP

for c in f1 f2; do ctr_detach "$c"; done
dk rm -f "$AZ_RUN-f1" "$AZ_RUN-f2" >/dev/null 2>&1
if wait_for 5 nothing_of_endpoints "${ALL_EPS[@]}"; then
	t_pass "containers removed: nothing of their endpoints is left"
else
	t_fail "container removal" "$(nothing_of_endpoints "${ALL_EPS[@]}" | tr '\n' ' ')"
fi
if out=$(dk network rm "$NET_F" 2>&1) && nothing_left >/dev/null; then
	t_pass "network rm: no az* link, element, record, DOCKER-USER rule or table inet alcatraz_plugin left"
else
	t_fail "network rm" "$out; $(nothing_left | tr '\n' ' ')"
fi
if [[ $(docker_fw) == "$fw_before" ]] && ! ipt iptables -S DOCKER-USER | grep -qF alcatraz; then
	t_pass "iptables and ip6tables are exactly as Docker made them"
else
	t_fail "iptables after" "$(diff <(echo "$fw_before") <(docker_fw) | head -n 4 | tr '\n' ' ')"
fi
t_check "the plugin is still running" kill -0 "$PL_PID"
t_log "$AZ_TEST_NAME: $(($(_t_now_ms) - T_START)) ms"
((T_FAILED)) && { dump_on_failure; plugin_log 30; }
exit 0
