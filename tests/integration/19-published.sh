#!/usr/bin/env bash
# 19-published — DESIGN.md point 7 with real packets: replies to connections
# an isolated container accepted (a published port) still work.  The sim-host
# publishes 203.0.113.1:8088 and [2001:db8:ff::1]:8088 (TCP and UDP) to the
# container's port 80 with a DNAT table of this test's own (as Docker and
# Podman do); the "internet" (the wan netns, from its router address and from
# 198.51.100.10) connects and gets the container's answer — which goes to
# destinations that are otherwise refused (203.0.113.2 is on a link of the
# host, so blocked), so only the conntrack state lets it pass.  Also with
# the in-netns table deleted, and for a proxied container (a reply must not
# be redirected to the proxy).  The published container still cannot open a
# connection of its own to the client's network.
set -u
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"

require_root
require_cmd ip nft nsenter
require_hook
topo_up || exit 1
topo_add_ctr web 2 >/dev/null && topo_add_ctr pweb 3 >/dev/null || { t_fail setup "topo_add_ctr"; exit 1; }
{
	for c in web pweb; do
		for a in "${AZ_CTR_IP4[$c]}" "${AZ_CTR_IP6[$c]}"; do
			topo_serve "ctr:$c" tcp "$a" 80 && topo_serve "ctr:$c" udp "$a" 80 || exit 1
		done
	done
	topo_serve wan tcp "$AZ_WANRTR4" 9000 && topo_serve wan tcp "$AZ_WANRTR6" 9000 || exit 1
} || { t_fail setup "servers did not start"; exit 1; }

# The publishing: this test's own nat table in the sim-host.
ip netns exec "$AZ_NS_HOST" nft -f - <<EOF || { t_fail setup "publish table"; exit 1; }
table inet aztpub {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "$AZ_IF_WAN" ip daddr $AZ_HOST_UP4 meta l4proto { tcp, udp } th dport 8088 dnat ip to ${AZ_CTR_IP4[web]}:80
		iifname "$AZ_IF_WAN" ip6 daddr $AZ_HOST_UP6 meta l4proto { tcp, udp } th dport 8088 dnat ip6 to [${AZ_CTR_IP6[web]}]:80
		iifname "$AZ_IF_WAN" ip daddr $AZ_HOST_UP4 tcp dport 8089 dnat ip to ${AZ_CTR_IP4[pweb]}:80
		iifname "$AZ_IF_WAN" ip6 daddr $AZ_HOST_UP6 tcp dport 8089 dnat ip6 to [${AZ_CTR_IP6[pweb]}]:80
	}
}
EOF
t_cleanup_push "ip netns exec '$AZ_NS_HOST' nft delete table inet aztpub"

fakert_create web alcatraz.network=on && t_pass "hook applies to web" ||
	{ t_fail "hook applies to web" "$FAKERT_ERR"; exit 1; }
fakert_create pweb alcatraz.network=on "alcatraz.network.proxy=$AZ_BR4:12345" &&
	t_pass "hook applies to pweb (proxied)" || t_fail "hook applies to pweb" "$FAKERT_ERR"

# published NAME PROTO PUBADDR PUBPORT CTRADDR CTR [--src CLIENT] — the wan
# reaches the container through the published port (a full round trip), and
# the server in the container logged the client.
published() {
	local name=$1 proto=$2 pub=$3 pport=$4 caddr=$5 c=$6 client opts=()
	shift 6
	client=${2:-}
	[[ -n $client ]] || if [[ $pub == *:* ]]; then client=$AZ_WANRTR6; else client=$AZ_WANRTR4; fi
	[[ $proto == tcp ]] && opts=(--read)
	probe_from wan "$proto" "$pub" "$pport" "$@" "${opts[@]}"
	if [[ $PROBE_VERDICT != ok ]]; then
		t_fail "$name" "wan → $proto $pub:$pport: $PROBE_LINE (expected ok)"
	elif ! wait_for 1 srv_saw "$proto" "$caddr" 80 "$client"; then
		t_fail "$name" "$PROBE_LINE, but the server in $c logged no line from $client"
	else
		t_pass "$name ($PROBE_LINE; the server in $c saw $client)"
	fi
}

checks() {
	local L=$1
	published "7 $L web: tcp $AZ_HOST_UP4:8088 from the wan router" tcp "$AZ_HOST_UP4" 8088 "${AZ_CTR_IP4[web]}" web
	published "7 $L web: tcp $AZ_HOST_UP4:8088 from the internet ($AZ_WAN4)" tcp "$AZ_HOST_UP4" 8088 "${AZ_CTR_IP4[web]}" web --src "$AZ_WAN4"
	published "7 $L web: udp $AZ_HOST_UP4:8088 (reply to a datagram)" udp "$AZ_HOST_UP4" 8088 "${AZ_CTR_IP4[web]}" web
	published "7 $L web: tcp [$AZ_HOST_UP6]:8088" tcp "$AZ_HOST_UP6" 8088 "${AZ_CTR_IP6[web]}" web
	published "7 $L web: tcp [$AZ_HOST_UP6]:8088 from the internet ($AZ_WAN6)" tcp "$AZ_HOST_UP6" 8088 "${AZ_CTR_IP6[web]}" web --src "$AZ_WAN6"
	published "7 $L web: udp [$AZ_HOST_UP6]:8088" udp "$AZ_HOST_UP6" 8088 "${AZ_CTR_IP6[web]}" web
	published "7 $L pweb (proxied): tcp $AZ_HOST_UP4:8089, the reply is not sent to the proxy" tcp "$AZ_HOST_UP4" 8089 "${AZ_CTR_IP4[pweb]}" pweb
	published "7 $L pweb (proxied): tcp [$AZ_HOST_UP6]:8089" tcp "$AZ_HOST_UP6" 8089 "${AZ_CTR_IP6[pweb]}" pweb
	# the reply path opened nothing: web cannot start a connection to the
	# client's address (on a link of the host: blocked)
	expect_refused_fast "7 $L web: cannot itself connect to the wan router $AZ_WANRTR4" web tcp "$AZ_WANRTR4" 9000
	expect_refused_fast "7 $L web: cannot itself connect to the wan router [$AZ_WANRTR6]" web tcp "$AZ_WANRTR6" 9000
}

checks "[both layers]"
ctr_delete_table web && ctr_delete_table pweb || t_fail "attacker: delete the in-netns tables" "nft failed"
checks "[host layer alone]"

dump_on_failure web
