#!/usr/bin/env bash
# 15-proxy — DESIGN.md points 4 and 9 with real packets and a real
# redirect-mode proxy chain (redsocks → microsocks, tests/lib/proxy.sh):
#  9. every TCP connection the policy allows is DNAT-ed to the proxy in the
#     host netns: the internet server sees the proxy (the sim-host's uplink
#     address), never the container, and redsocks recovers the original
#     destination with SO_ORIGINAL_DST; UDP goes direct (proxy-udp=direct) or
#     is refused except DNS (proxy-udp=block); IPv6 TCP goes to an IPv6 proxy
#     when one is given, and is refused when the proxy is IPv4 only; DNS over
#     TCP to the resolver is not redirected; an allowed LAN destination goes
#     through the proxy too.
#  4. the decision is made on the original destination, before the DNAT: a
#     refused destination never reaches the proxy — also with the in-netns
#     table deleted, where only the host's prerouting filter (priority -150,
#     before the nat chain) can decide.
set -u
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"
# shellcheck source=../lib/proxy.sh
source "$(dirname "$0")/../lib/proxy.sh"

require_root
require_cmd ip nft nsenter redsocks microsocks
require_hook
topo_up || exit 1
META=169.254.169.254
topo_add_addr wan "$META/32"
{
	topo_start_dns || exit 1
	for port in 8080 8081; do
		for a in "$AZ_WAN4" "$AZ_WAN6" "$AZ_LAN4" "$AZ_LAN6" "$AZ_HOST_LAN4"; do
			where=wan
			[[ $a == "$AZ_LAN4" || $a == "$AZ_LAN6" ]] && where=lan
			[[ $a == "$AZ_HOST_LAN4" ]] && where=host
			topo_serve "$where" tcp "$a" "$port" && topo_serve "$where" udp "$a" "$port" || exit 1
		done
	done
	topo_serve wan tcp "$META" 80 || exit 1
} || { t_fail setup "servers did not start"; exit 1; }
start_proxy_chain || { t_fail setup "proxy chain did not start"; exit 1; }
start_proxy6_sink || { t_fail setup "IPv6 proxy sink did not start"; exit 1; }
PROXY="$AZ_PROXY4:$AZ_PROXY_PORT"
PROXY6="[$AZ_PROXY6]:$AZ_PROXY_PORT"

topo_add_ctr px 2 >/dev/null &&
	topo_add_ctr pxb 3 >/dev/null &&
	topo_add_ctr px6 4 >/dev/null &&
	topo_add_ctr pxl 5 >/dev/null || { t_fail setup "topo_add_ctr"; exit 1; }
for c in px pxb px6 pxl; do echo "nameserver $AZ_BR6" >>"${AZ_CTR_RESOLV[$c]}"; done
apply() {
	local c=$1
	shift
	if fakert_create "$c" alcatraz.network=on "$@"; then
		t_pass "hook applies to $c: $*"
	else
		t_fail "hook applies to $c: $*" "$FAKERT_ERR"
	fi
}
apply px "alcatraz.network.proxy=$PROXY"
apply pxb "alcatraz.network.proxy=$PROXY" alcatraz.network.proxy-udp=block
apply px6 "alcatraz.network.proxy=$PROXY $PROXY6"
apply pxl "alcatraz.network.proxy=$PROXY" "alcatraz.network.lan-access=$AZ_LAN4:8080"

# via_proxy NAME CTR ADDR PORT — reachable, through redsocks: the proxy
# logged the original destination, the server saw the proxy's address (PEER),
# not the container.
via_proxy() {
	local name=$1 c=$2 addr=$3 port=$4 peer=$5 before after last
	before=$(proxy_count "$addr:$port")
	expect_reachable "$name: reachable" "$c" tcp "$addr" "$port" || return 1
	after=$(proxy_count "$addr:$port")
	last=$(srv_last_peer tcp "$addr" "$port")
	if ((after == before + 1)) && [[ $last == "$peer" ]] &&
		(($(srv_count tcp "$addr" "$port" "${AZ_CTR_IP4[$c]}") == 0)); then
		t_pass "$name: through the proxy (redsocks logged ->$addr:$port; the server saw $last, not ${AZ_CTR_IP4[$c]})"
	else
		t_fail "$name: through the proxy" "redsocks count for $addr:$port $before -> $after, server's last peer '$last' (want $peer), lines from ${AZ_CTR_IP4[$c]}: $(srv_count tcp "$addr" "$port" "${AZ_CTR_IP4[$c]}")"
	fi
}

# proxied_lines CTR ADDR PORT — lines of redsocks' log and the IPv6 sink's
# log about a connection from CTR originally aimed at ADDR:PORT.
proxied_lines() {
	local c=$1 addr=$2 port=$3
	grep -F -- "[${AZ_CTR_IP4[$c]}:" "$AZ_PROXY_LOG" | grep -F -- "->$addr:$port]"
	grep -F -- "peer=${AZ_CTR_IP6[$c]} " "$AZ_PROXY6_LOG" | grep -F -- " orig=$addr oport=$port"
	return 0
}

# refused_not_proxied NAME CTR ADDR PORT — refused fast, and neither the
# proxy nor the IPv6 sink ever heard of CTR → ADDR:PORT.
refused_not_proxied() {
	local name=$1 c=$2 addr=$3 port=$4 lines
	expect_refused_fast "$name: refused" "$c" tcp "$addr" "$port"
	lines=$(proxied_lines "$c" "$addr" "$port")
	if [[ -n $lines ]]; then
		t_fail "$name: the proxy never saw it" "the proxy logged: $(tail -n 1 <<<"$lines")"
	else
		t_pass "$name: the proxy never saw it"
	fi
}

checks() {
	local L=$1 p a
	# px: IPv4-only proxy, UDP direct
	via_proxy "9 $L px: tcp $AZ_WAN4:8080" px "$AZ_WAN4" 8080 "$AZ_HOST_UP4"
	via_proxy "9 $L px: tcp $AZ_WAN4:8081" px "$AZ_WAN4" 8081 "$AZ_HOST_UP4"
	refused_not_proxied "4 $L px: LAN tcp $AZ_LAN4:8080" px "$AZ_LAN4" 8080
	refused_not_proxied "4 $L px: the host's LAN address tcp $AZ_HOST_LAN4:8080" px "$AZ_HOST_LAN4" 8080
	refused_not_proxied "4 $L px: metadata tcp $META:80" px "$META" 80
	refused_not_proxied "9 $L px: IPv6 tcp with an IPv4-only proxy [$AZ_WAN6]:8080" px "$AZ_WAN6" 8080
	refused_not_proxied "4,9 $L px: IPv6 LAN tcp [$AZ_LAN6]:8080" px "$AZ_LAN6" 8080
	for a in "$AZ_WAN4" "$AZ_WAN6"; do
		expect_reachable "9 $L px: proxy-udp=direct (default) udp $a:8080" px udp "$a" 8080
	done
	t_check "9 $L px: direct UDP arrives from the container's own address" \
		srv_saw udp "$AZ_WAN4" 8080 "${AZ_CTR_IP4[px]}"
	expect_refused_fast "4 $L px: LAN udp $AZ_LAN4:8080 (direct UDP is still filtered)" px udp "$AZ_LAN4" 8080
	for p in udp tcp; do
		expect_reachable "8,9 $L px: DNS $p $AZ_BR4:53" px "$p" "$AZ_BR4" 53
	done
	t_check "9 $L px: DNS over TCP is not redirected to the proxy" \
		bash -c "! grep -qF -- '->$AZ_BR4:53]' '$AZ_PROXY_LOG' && grep -q 'peer=${AZ_CTR_IP4[px]} .* lport=53' '$(srv_log tcp "$AZ_BR4" 53)'"

	# pxb: proxy-udp=block
	for a in "$AZ_WAN4" "$AZ_WAN6"; do
		expect_refused_fast "9 $L pxb: proxy-udp=block refuses udp $a:8080" pxb udp "$a" 8080
	done
	expect_reachable "9 $L pxb: proxy-udp=block keeps DNS udp $AZ_BR4:53" pxb udp "$AZ_BR4" 53
	expect_reachable "9 $L pxb: proxy-udp=block keeps DNS udp [$AZ_BR6]:53" pxb udp "$AZ_BR6" 53
	via_proxy "9 $L pxb: tcp $AZ_WAN4:8080" pxb "$AZ_WAN4" 8080 "$AZ_HOST_UP4"

	# px6: an IPv6 proxy too
	local before6
	before6=$(grep -c " orig=$AZ_WAN6 oport=8081\$" "$AZ_PROXY6_LOG")
	probe_from px6 tcp "$AZ_WAN6" 8081 --read
	if [[ $PROBE_VERDICT == ok ]] && (($(grep -c " orig=$AZ_WAN6 oport=8081\$" "$AZ_PROXY6_LOG") == before6 + 1)) &&
		grep -q "peer=${AZ_CTR_IP6[px6]} .* orig=$AZ_WAN6 oport=8081\$" "$AZ_PROXY6_LOG"; then
		t_pass "9 $L px6: IPv6 tcp went to the IPv6 proxy, which recovered [$AZ_WAN6]:8081 (IP6T_SO_ORIGINAL_DST)"
	else
		t_fail "9 $L px6: IPv6 tcp to the IPv6 proxy" "sink log: $(tail -n 2 "$AZ_PROXY6_LOG" | tr '\n' '|'); probe: $PROBE_LINE"
	fi
	t_check "9 $L px6: the IPv6 internet server itself saw nothing of px6" \
		count_is 0 srv_count tcp "$AZ_WAN6" 8081 "${AZ_CTR_IP6[px6]}"
	via_proxy "9 $L px6: IPv4 tcp still through redsocks" px6 "$AZ_WAN4" 8081 "$AZ_HOST_UP4"
	refused_not_proxied "4 $L px6: IPv6 LAN tcp [$AZ_LAN6]:8081" px6 "$AZ_LAN6" 8081

	# pxl: an allowed LAN destination goes through the proxy as well
	via_proxy "9 $L pxl: allowed LAN tcp $AZ_LAN4:8080" pxl "$AZ_LAN4" 8080 "$AZ_HOST_LAN4"
	refused_not_proxied "4 $L pxl: LAN tcp $AZ_LAN4:8081 (not allowed)" pxl "$AZ_LAN4" 8081
}

checks "[both layers]"
for c in px pxb px6 pxl; do
	ctr_delete_table "$c" || t_fail "attacker: delete $c's in-netns table" "nft failed"
done
checks "[host layer alone]"

dump_on_failure px
