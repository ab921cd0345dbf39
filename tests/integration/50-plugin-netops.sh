#!/usr/bin/env bash
# 50-plugin-netops — the Docker plugin's real network operations (pl_netops)
# with real packets, called through tests/tools/plnetops in the sim-host
# netns the way the driver calls them; each "container" is a netns of this
# test into which the container end of the veth is moved, as Docker does.
#
#   net1  10.88.0.0/24 + fd00:88::/64, MTU 1400: iso (alcatraz.network=on)
#         and peer (no rules)
#   net2  10.89.0.0/24 --internal: int1, int2 (no rules)
#   net3  10.90.0.0/24: other (no rules)
#
# Checked: the bridge, its addresses and MTU; masquerade (the wan routes
# back nothing of these pools); iso reaches the internet, and is refused
# the LAN, the host and its peer; peer reaches the LAN; an internal network
# talks only to itself; two networks do not talk to each other; Docker's
# FORWARD policy DROP (a DOCKER-USER chain made here, as dockerd makes it)
# with br_netfilter on and off; dns=auto allows the resolv.conf upstreams (what
# Docker's embedded DNS forwards to, from the container's netns); new
# settings replace old ones; every operation twice (idempotent); and at the
# end no interface, element, table or DOCKER-USER rule of ours is left.
set -u
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"

require_root
require_cmd ip nft nsenter iptables ip6tables sha256sum pkg-config
topo_up || exit 1

# ------------------------------------------------------------------ driver

# plnetops: $PLNETOPS if set; the Makefile's; else compiled here from
# plugin/netops.c and the core library (the tool needs libnl and the
# plugin's netops, which `make tools` alone does not link).
plnetops_bin() {
	local pk=(libnftables libcjson libcap libnl-route-3.0) out=$AZ_TMP/plnetops
	if [[ -n ${PLNETOPS:-} ]]; then
		echo "$PLNETOPS"
		return 0
	fi
	if make -s -C "$AZ_ROOT" B="$AZ_BUILD" "$AZ_BUILD/tools/plnetops" >/dev/null 2>&1; then
		echo "$AZ_BUILD/tools/plnetops"
		return 0
	fi
	make -s -C "$AZ_ROOT" B="$AZ_BUILD" "$AZ_BUILD/libalcatraz.a" >&2 || return 1
	# shellcheck disable=SC2046  # pkg-config output is a list of flags
	"${CC:-cc}" -O2 -g -std=gnu17 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$AZ_ROOT" \
		$(pkg-config --cflags "${pk[@]}") -o "$out" "$AZ_ROOT/tests/tools/plnetops.c" \
		"$AZ_ROOT/plugin/netops.c" "$AZ_BUILD/libalcatraz.a" $(pkg-config --libs "${pk[@]}") \
		-lpthread >&2 ||
		return 1
	echo "$out"
}
PL=$(plnetops_bin) || { t_fail setup "cannot build plnetops"; exit 1; }

# dns=auto reads the upstreams from a resolv.conf: this test's own (the
# machine's would make the expectation depend on the host), documentation
# addresses only, never contacted; the loopback entry must be dropped.
RESOLV=$AZ_TMP/resolv.conf
printf 'nameserver 127.0.0.1\nnameserver 192.0.2.53\nnameserver 2001:db8:53::1\n' >"$RESOLV"
pl() { in_host "$PL" "$@" --resolv-conf "$RESOLV"; }
id_of() { printf '%s' "$AZ_RUN-$1" | sha256sum | cut -c1-64; }

BR1=${AZ_RUN}b1 BR2=${AZ_RUN}b2 BR3=${AZ_RUN}b3
NID1=$(id_of net1) NID2=$(id_of net2) NID3=$(id_of net3)
# shellcheck disable=SC2034  # NET1..3 are read through namerefs (net_args, ctr_up)
NET1=(--net "$NID1" --bridge "$BR1" --pool4 10.88.0.0/24 --gw4 10.88.0.1
	--pool6 fd00:88::/64 --gw6 fd00:88::1 --mtu 1400)
# shellcheck disable=SC2034
NET2=(--net "$NID2" --bridge "$BR2" --pool4 10.89.0.0/24 --gw4 10.89.0.1 --internal)
# shellcheck disable=SC2034
NET3=(--net "$NID3" --bridge "$BR3" --pool4 10.90.0.0/24 --gw4 10.90.0.1)
GW1_4=10.88.0.1 GW1_6=fd00:88::1

declare -A EP=() EP_NET=() EP_HOST=() EP_CTR=() EP_IP4=() EP_IP6=()
declare -A EP_MAC=()
# ep_define NAME NETVAR N IP4 [IP6 [MAC]]
ep_define() {
	local name=$1 net=$2 n=$3 ip4=$4 ip6=${5:-}
	EP_MAC[$name]=${6:-}
	EP[$name]=$(id_of "ep-$name")
	EP_NET[$name]=$net
	EP_HOST[$name]=${AZ_RUN}h$n
	EP_CTR[$name]=${AZ_RUN}p$n
	EP_IP4[$name]=$ip4
	EP_IP6[$name]=$ip6
}
ep_define iso NET1 1 10.88.0.2/24 fd00:88::2/64
ep_define peer NET1 2 10.88.0.3/24 fd00:88::3/64 02:42:0a:58:00:03
ep_define int1 NET2 3 10.89.0.2/24
ep_define int2 NET2 4 10.89.0.3/24
ep_define other NET3 5 10.90.0.2/24

# ep_args NAME — the endpoint options of plnetops
ep_args() {
	local a=(--ep "${EP[$1]}" --host-if "${EP_HOST[$1]}" --ctr-if "${EP_CTR[$1]}" --addr4 "${EP_IP4[$1]}")
	[[ -n ${EP_IP6[$1]} ]] && a+=(--addr6 "${EP_IP6[$1]}")
	[[ -n ${EP_MAC[$1]} ]] && a+=(--mac "${EP_MAC[$1]}")
	printf '%s\n' "${a[@]}"
}
net_args() { local -n _n=$1; printf '%s\n' "${_n[@]}"; }

pl_net() { local op=$1 net=$2; shift 2; mapfile -t a < <(net_args "$net"); pl "$op" "${a[@]}" "$@"; }
pl_ep() {
	local op=$1 name=$2 n e
	shift 2
	mapfile -t n < <(net_args "${EP_NET[$name]}")
	mapfile -t e < <(ep_args "$name")
	case $op in
	endpoint-delete | rules-remove) pl "$op" "${e[@]}" "$@" ;;
	*) pl "$op" "${n[@]}" "${e[@]}" "$@" ;;
	esac
}

# ctr_up NAME — what Docker does after Join: a fresh netns (default sysctls:
# IPv6 duplicate detection on, as in a container), the container end moved
# in as eth0, its addresses, the default routes via the gateway.
ctr_up() {
	local name=$1 ns=${AZ_RUN}-pl$1 gw4 gw6 net
	local -n nv=${EP_NET[$name]}
	net=" ${nv[*]} "
	gw4=$(sed -n 's/.* --gw4 \([^ ]*\) .*/\1/p' <<<"$net")
	gw6=$(sed -n 's/.* --gw6 \([^ ]*\) .*/\1/p' <<<"$net")
	ip netns add "$ns" || return 1
	t_cleanup_push "_topo_ns_del '$ns'"
	ip -n "$ns" link set lo up &&
		ip -n "$AZ_NS_HOST" link set "${EP_CTR[$name]}" netns "$ns" &&
		ip -n "$ns" link set "${EP_CTR[$name]}" name eth0 &&
		ip -n "$ns" addr add "${EP_IP4[$name]}" dev eth0 &&
		ip -n "$ns" link set eth0 up || return 1
	if [[ -n ${EP_IP6[$name]} ]]; then
		ip -n "$ns" addr add "${EP_IP6[$name]}" dev eth0 || return 1
	fi
	if [[ $net != *" --internal "* ]]; then
		ip -n "$ns" route add default via "$gw4" || return 1
		[[ -z $gw6 || -z ${EP_IP6[$name]} ]] || ip -n "$ns" -6 route add default via "$gw6" || return 1
	fi
	AZ_CTR_NS[$name]=$ns
	AZ_CTR_IP4[$name]=${EP_IP4[$name]%/*}
	AZ_CTR_IP6[$name]=${EP_IP6[$name]%/*}
	wait_for 5 _topo_link_up "$ns" eth0 || return 1
	[[ -z ${EP_IP6[$name]} ]] || wait_for 5 _no_tentative "$ns"
}
_no_tentative() { [[ -z $(ip -n "$1" -6 addr show dev eth0 tentative) ]]; }

# ctr_leave NAME — Docker at Leave: the interface back to the host netns
# under its original name, the netns gone.
ctr_leave() {
	local name=$1 ns=${AZ_CTR_NS[$1]}
	ip -n "$ns" link set eth0 down &&
		ip -n "$ns" link set eth0 netns "$AZ_NS_HOST" &&
		ip -n "$AZ_NS_HOST" link set eth0 name "${EP_CTR[$name]}" &&
		_topo_ns_del "$ns"
}

host_links() { ip -n "$AZ_NS_HOST" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1; }
ours_left() { host_links | grep -E "^${AZ_RUN}[bhp][0-9]+$" || true; }
fw() { in_host "$@" 2>&1; }
user_rules() { fw "$1" -S DOCKER-USER | grep -c -- 'alcatraz-plugin:' || true; }
plugin_table() { ip netns exec "$AZ_NS_HOST" nft list table inet alcatraz_plugin 2>/dev/null; }

real_fw_before=$(nft list ruleset 2>/dev/null | sha256sum)

# ------------------------------------------------------------------ networks

t_check "network_create net1 (v4 + v6 pools, MTU 1400)" pl_net network-create NET1
t_check "network_create net1 again succeeds (idempotent)" pl_net network-create NET1
t_check "network_create net2 (--internal)" pl_net network-create NET2
t_check "network_create net3" pl_net network-create NET3

br_ok() {
	local l a
	l=$(ip -n "$AZ_NS_HOST" -d link show "$BR1") || return 1
	a=$(ip -n "$AZ_NS_HOST" addr show "$BR1")
	echo "$l" | head -3
	echo "$a" | grep inet
	[[ $l == *"mtu 1400"* && $l == *"mcast_snooping 0"* ]] && grep -q '[<,]UP[,>]' <<<"$l" &&
		grep -q "inet 10.88.0.1/24" <<<"$a" && grep -q "inet6 fd00:88::1/64 scope global nodad" <<<"$a" &&
		[[ $(grep -c "inet 10.88.0.1/24" <<<"$a") == 1 ]]
}
t_check "bridge $BR1: up, MTU 1400, snooping off, gateways 10.88.0.1/24 and fd00:88::1/64 nodad, once" br_ok

elements_ok() {
	local t
	t=$(plugin_table) || { echo "no table inet alcatraz_plugin"; return 1; }
	grep -q "10.88.0.0/24 comment \"alcatraz-plugin:$NID1\"" <<<"$t" &&
		grep -q "fd00:88::/64 comment \"alcatraz-plugin:$NID1\"" <<<"$t" &&
		grep -q "10.90.0.0/24 comment \"alcatraz-plugin:$NID3\"" <<<"$t" &&
		! grep -q "10.89.0.0/24" <<<"$t" &&
		grep -A2 'set internal' <<<"$t" | grep -q "\"$BR2\"" &&
		[[ $(grep -o "alcatraz-plugin:" <<<"$t" | wc -l) == 10 ]] ||
		{ echo "$t"; return 1; }
}
t_check "nft: one table, pools of net1/net3 masqueraded, net2 internal, 10 elements, no per-network chain" elements_ok
t_check "no DOCKER-USER chain (no Docker): iptables left alone" \
	count_is 0 bash -c "ip netns exec $AZ_NS_HOST iptables-save | grep -c -- '-A ' || true"

fwd_on() { [[ $(ip netns exec "$AZ_NS_HOST" cat /proc/sys/net/ipv4/ip_forward) == 1 ]]; }
t_check "ip_forward is on in the plugin's netns" fwd_on

# ------------------------------------------------------------------ endpoints

for c in iso peer int1 int2 other; do
	t_check "endpoint_create $c" pl_ep endpoint-create "$c" || exit 1
done
t_check "endpoint_create iso again succeeds (idempotent)" pl_ep endpoint-create iso
veth_ok() {
	local h
	h=$(ip -n "$AZ_NS_HOST" -d link show "${EP_HOST[iso]}") || return 1
	echo "$h" | head -2
	[[ $h == *"master $BR1"* && $h == *"mtu 1400"* ]] &&
		ip -n "$AZ_NS_HOST" link show "${EP_CTR[iso]}" | grep -q "mtu 1400"
}
t_check "iso: host end on $BR1, both ends MTU 1400, container end in the host netns" veth_ok
mac_ok() { ip -n "$AZ_NS_HOST" link show "${EP_CTR[peer]}" | grep -q "link/ether ${EP_MAC[peer]} "; }
t_check "peer: the container end has the MAC Docker asked for (${EP_MAC[peer]})" mac_ok

for c in iso peer int1 int2 other; do
	ctr_up "$c" || { t_fail setup "moving $c's interface into its netns"; topo_dump; exit 1; }
done
t_pass "five 'containers' got their interfaces, as Docker moves them after Join"

# servers
{
	for a in "$AZ_WAN4" "$AZ_WAN6" "$AZ_LAN4" "$AZ_LAN6" "$AZ_HOST_LAN4" "$GW1_4" "$GW1_6"; do
		where=wan
		[[ $a == "$AZ_LAN4" || $a == "$AZ_LAN6" ]] && where=lan
		[[ $a == "$AZ_HOST_LAN4" || $a == "$GW1_4" || $a == "$GW1_6" ]] && where=host
		topo_serve "$where" tcp "$a" 8080 || exit 1
	done
	topo_serve wan udp "$AZ_WAN4" 8080 && topo_serve lan udp "$AZ_LAN4" 8080 &&
		topo_serve ctr:peer tcp "${AZ_CTR_IP4[peer]}" 8080 &&
		topo_serve ctr:peer tcp "${AZ_CTR_IP6[peer]}" 8080 &&
		topo_serve ctr:int2 tcp "${AZ_CTR_IP4[int2]}" 8080 &&
		topo_serve ctr:int1 tcp "${AZ_CTR_IP4[int1]}" 8080 &&
		topo_serve ctr:other tcp "${AZ_CTR_IP4[other]}" 8080 || exit 1
} || { t_fail setup "servers did not start"; exit 1; }

expect_reachable "baseline: iso reaches the LAN before its rules" iso tcp "$AZ_LAN4" 8080

# ------------------------------------------------------------------ rules

export ALCATRAZ_STATE_DIR ALCATRAZ_CONFIG
t_check "rules_apply iso alcatraz.network=on (host layer only)" pl_ep rules-apply iso alcatraz.network=on
t_check "rules_apply iso again, same settings (idempotent)" pl_ep rules-apply iso alcatraz.network=on
t_check "iso's elements are in the host layer" bash -c "(( \$(ip netns exec $AZ_NS_HOST nft -s list ruleset | grep -cF 'alcatraz:${EP[iso]}') > 0 ))"

# dns = auto: Docker's embedded DNS (127.0.0.11 in the container) forwards
# from the container's netns, so the host's resolvers must be allowed for
# the container's address — the list dockerd derives from resolv.conf
# (here $RESOLV, given as alcatraz-plugin's --resolv-conf).
expected_resolvers() { printf '%s\n' 192.0.2.53 2001:db8:53::1; }
dns_ok() {
	local s r ip
	s=$(ip netns exec "$AZ_NS_HOST" nft list set inet alcatraz dns4; ip netns exec "$AZ_NS_HOST" nft list set inet alcatraz dns6)
	while read -r r; do
		[[ -n $r ]] || continue
		ip=${AZ_CTR_IP4[iso]}
		[[ $r == *:* ]] && ip=${AZ_CTR_IP6[iso]}
		grep -qF "$ip . $r " <<<"$s" || { echo "missing $ip . $r in: $s"; return 1; }
		echo "allowed: $ip . $r"
	done < <(expected_resolvers)
	! grep -qF "127.0.0.1" <<<"$s" || { echo "the loopback upstream was kept: $s"; return 1; }
}
t_check "dns=auto: iso may ask the resolv.conf upstreams, not its loopback one (Docker's embedded DNS forwards from its netns)" dns_ok

# checks NAME-SUFFIX — the whole traffic matrix, under the current firewall
checks() {
	local L=$1
	expect_reachable "$L: iso reaches the internet (IPv4, masqueraded)" iso tcp "$AZ_WAN4" 8080
	t_check "$L: the wan server saw the sim-host's uplink address (NAT)" \
		count_is "$AZ_HOST_UP4" srv_last_peer tcp "$AZ_WAN4" 8080
	expect_reachable "$L: iso reaches the internet (IPv6)" iso tcp "$AZ_WAN6" 8080
	expect_reachable "$L: iso reaches the internet (UDP)" iso udp "$AZ_WAN4" 8080
	expect_refused_fast "$L: iso refused the LAN $AZ_LAN4" iso tcp "$AZ_LAN4" 8080
	expect_refused_fast "$L: iso refused the LAN $AZ_LAN6" iso tcp "$AZ_LAN6" 8080
	expect_refused_fast "$L: iso refused the LAN (UDP)" iso udp "$AZ_LAN4" 8080
	expect_refused_fast "$L: iso refused the host at its gateway $GW1_4" iso tcp "$GW1_4" 8080
	expect_refused_fast "$L: iso refused the host at its gateway $GW1_6" iso tcp "$GW1_6" 8080
	expect_refused_fast "$L: iso refused the host at $AZ_HOST_LAN4" iso tcp "$AZ_HOST_LAN4" 8080
	expect_blocked "$L: iso blocked towards peer ${AZ_CTR_IP4[peer]}" iso tcp "${AZ_CTR_IP4[peer]}" 8080
	expect_blocked "$L: iso blocked towards peer ${AZ_CTR_IP6[peer]}" iso tcp "${AZ_CTR_IP6[peer]}" 8080
	expect_reachable "$L: peer (no rules) reaches the LAN" peer tcp "$AZ_LAN4" 8080
	expect_reachable "$L: peer reaches the LAN (IPv6)" peer tcp "$AZ_LAN6" 8080
	expect_reachable "$L: peer reaches the internet" peer tcp "$AZ_WAN4" 8080
	expect_reachable "$L: int1 reaches int2 on its internal network" int1 tcp "${AZ_CTR_IP4[int2]}" 8080
	expect_blocked "$L: int1 (internal) blocked towards the internet" int1 tcp "$AZ_WAN4" 8080
	expect_blocked "$L: int1 (internal) blocked towards peer on net1" int1 tcp "${AZ_CTR_IP4[peer]}" 8080
	expect_blocked "$L: peer blocked towards int1 (internal)" peer tcp "${AZ_CTR_IP4[int1]}" 8080
	expect_blocked "$L: peer blocked towards other on net3 (networks are apart)" peer tcp "${AZ_CTR_IP4[other]}" 8080
	expect_reachable "$L: other reaches the internet" other tcp "$AZ_WAN4" 8080
}

# int1 has no default route on an internal network (Join gives none); a
# container with one — or raw frames to the gateway's MAC — must still not
# get out: give it one.
ip -n "${AZ_CTR_NS[int1]}" route add default via 10.89.0.1

topo_br_netfilter on || t_log "no br_netfilter in this kernel"
checks "[no Docker, FORWARD accept, br_nf on]"

# IPv6 neighbour discovery through the bridge binding, which knows only the
# container's global address: flush both neighbour caches and go again.
ip -n "${AZ_CTR_NS[iso]}" neigh flush dev eth0
ip -n "$AZ_NS_HOST" neigh flush dev "$BR1"
expect_reachable "IPv6 after both neighbour caches were flushed (ND from the global address)" \
	iso tcp "$AZ_WAN6" 8080
t_log "observed: link-local frames iso sent that the bridge port dropped: $(ip netns exec "$AZ_NS_HOST" nft list chain bridge alcatraz port | grep -o 'counter packets [0-9]*' | tail -1)"

# ------------------------------------------------------------------ Docker

# What dockerd makes when it had to turn forwarding on: DOCKER-USER (with
# its final RETURN) jumped to first from FORWARD, FORWARD policy DROP.  An
# admin rule stands first in DOCKER-USER.
for t in iptables ip6tables; do
	fw "$t" -N DOCKER-USER && fw "$t" -A DOCKER-USER -i "${AZ_RUN}zz" -j DROP &&
		fw "$t" -A DOCKER-USER -j RETURN && fw "$t" -I FORWARD -j DOCKER-USER &&
		fw "$t" -P FORWARD DROP || { t_fail setup "$t DOCKER-USER"; exit 1; }
done
t_pass "Docker simulated: DOCKER-USER in iptables and ip6tables, FORWARD policy DROP"

expect_blocked "control: with Docker's DROP and no accept of ours, peer cannot get out" \
	peer tcp "$AZ_WAN4" 8080
expect_blocked "control: nor can int1 reach int2 (br_netfilter sends bridged frames through FORWARD)" \
	int1 tcp "${AZ_CTR_IP4[int2]}" 8080

for n in NET1 NET2 NET3; do
	t_check "network_create ${n,,} with Docker present adds its DOCKER-USER accepts" pl_net network-create "$n"
done
t_check "network_create net1 once more adds nothing twice" pl_net network-create NET1
order_ok() {
	local s want
	s=$(fw iptables -S DOCKER-USER)
	echo "$s"
	want="-N DOCKER-USER
-A DOCKER-USER -i ${AZ_RUN}zz -j DROP
-A DOCKER-USER -i $BR1 -m comment --comment \"alcatraz-plugin:$NID1\" -j ACCEPT
-A DOCKER-USER -o $BR1 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \"alcatraz-plugin:$NID1\" -j ACCEPT
-A DOCKER-USER -i $BR2 -o $BR2 -m comment --comment \"alcatraz-plugin:$NID2\" -j ACCEPT
-A DOCKER-USER -i $BR3 -m comment --comment \"alcatraz-plugin:$NID3\" -j ACCEPT
-A DOCKER-USER -o $BR3 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \"alcatraz-plugin:$NID3\" -j ACCEPT
-A DOCKER-USER -j RETURN"
	[[ $(sort <<<"$s") == $(sort <<<"$want") ]] &&
		[[ $(sed -n 2p <<<"$s") == "-A DOCKER-USER -i ${AZ_RUN}zz -j DROP" ]] &&
		[[ $(tail -n 1 <<<"$s") == "-A DOCKER-USER -j RETURN" ]]
}
t_check "DOCKER-USER: our 5 accepts, once each, below the admin's rule and above RETURN" order_ok
t_check "ip6tables DOCKER-USER got the same 5" count_is 5 user_rules ip6tables

checks "[Docker FORWARD drop, br_nf on]"
if topo_br_netfilter off; then
	checks "[Docker FORWARD drop, br_nf off]"
	topo_br_netfilter on
fi

# ------------------------------------------------------------------ new settings

# The driver learns a container's own settings after Join: the new rules
# replace the old in one transaction (az_reattach), never a moment without.
t_check "rules_apply iso with new settings (lan-access $AZ_LAN4:8080)" \
	pl_ep rules-apply iso alcatraz.network=on "alcatraz.network.lan-access=$AZ_LAN4:8080"
port_fwd() { ip -n "$AZ_NS_HOST" -d link show "${EP_HOST[iso]}" | grep -q 'state forwarding'; }
t_check "iso's bridge port still forwards" port_fwd
expect_reachable "new settings: iso reaches $AZ_LAN4:8080 now" iso tcp "$AZ_LAN4" 8080
expect_refused_fast "new settings: iso still refused $AZ_LAN6" iso tcp "$AZ_LAN6" 8080
expect_reachable "new settings: iso still reaches the internet" iso tcp "$AZ_WAN4" 8080

# ------------------------------------------------------------------ teardown

t_check "rules_remove iso" pl_ep rules-remove iso
t_check "rules_remove iso again (unknown id) succeeds" pl_ep rules-remove iso
t_check "no element of iso is left in the host layer" count_is 0 host_elements_of "${EP[iso]}"
expect_reachable "iso, its rules removed, reaches the LAN again" iso tcp "$AZ_LAN4" 8080

for c in iso peer int1 int2 other; do
	ctr_leave "$c" || t_fail "leave $c" "could not move $c's interface back"
done
for c in iso peer int1 int2 other; do
	t_check "endpoint_delete $c" pl_ep endpoint-delete "$c"
done
t_check "endpoint_delete iso again succeeds (idempotent)" pl_ep endpoint-delete iso
for n in NET1 NET2 NET3; do
	t_check "network_delete ${n,,}" pl_net network-delete "$n"
done
t_check "network_delete net1 again succeeds (idempotent)" pl_net network-delete NET1

t_check "no bridge or veth of ours is left" count_is "" ours_left
t_check "table inet alcatraz_plugin is gone" bash -c "! ip netns exec $AZ_NS_HOST nft list table inet alcatraz_plugin"
t_check "no alcatraz element is left" count_is 0 host_elements_any
t_check "iptables DOCKER-USER: our accepts are gone" count_is 0 user_rules iptables
t_check "ip6tables DOCKER-USER: our accepts are gone" count_is 0 user_rules ip6tables
t_check "the admin's rule and RETURN are still there" count_is 3 bash -c "ip netns exec $AZ_NS_HOST iptables -S DOCKER-USER | wc -l"
t_check "the real host's ruleset is unchanged" count_is "$real_fw_before" bash -c "nft list ruleset 2>/dev/null | sha256sum"

dump_on_failure
