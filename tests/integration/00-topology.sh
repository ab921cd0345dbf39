#!/usr/bin/env bash
# 00-topology — the harness proves itself with real packets, no alcatraz
# involved: the sealed world is built as TESTING.md draws it, probes and
# servers report what happened, the proxy chain carries a DNAT-ed connection,
# the rootfs runs, and every exit path (success, failure, SIGTERM) leaves
# nothing behind.
set -u
# shellcheck source=../lib/proxy.sh
source "$(dirname "$0")/../lib/proxy.sh"
# shellcheck source=../lib/rootfs.sh
source "$(dirname "$0")/../lib/rootfs.sh"

require_root
topo_up || exit 1
topo_add_ctr c1 2 >/dev/null || { t_fail topology "topo_add_ctr c1"; exit 1; }
topo_add_ctr c2 3 >/dev/null || { t_fail topology "topo_add_ctr c2"; exit 1; }
topo_start_servers 8080 || { t_fail topology "servers did not start"; exit 1; }
topo_start_dns || { t_fail topology "dns responder did not start"; exit 1; }
t_pass "topology: netns, links, servers up ($AZ_RUN)"

# ------------------------------------------------------------ sealed world
# Route lookups only (`ip route get` sends nothing).

host_links_are_ours() {
	local l bad=0
	for l in $(ip -n "$AZ_NS_HOST" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
		case $l in
		lo | "$AZ_BR" | "$AZ_IF_LAN" | "$AZ_IF_WAN" | "${AZ_RUN}"c*) ;;
		*) echo "unexpected link $l in sim-host"; bad=1 ;;
		esac
	done
	return "$bad"
}
t_check "sealed: sim-host has only the links the test made" host_links_are_ours
t_check "sealed: sim-host default route (v4) leads to the wan netns" \
	bash -c "ip -n $AZ_NS_HOST route get 192.0.2.1 | grep -q 'via $AZ_WANRTR4 dev $AZ_IF_WAN'"
t_check "sealed: sim-host default route (v6) leads to the wan netns" \
	bash -c "ip -n $AZ_NS_HOST -6 route get 2001:db8:dead::1 | grep -q 'via $AZ_WANRTR6 dev $AZ_IF_WAN'"
t_check_not "sealed: wan netns has no route beyond itself (v4)" ip -n "$AZ_NS_WAN" route get 192.0.2.1
t_check_not "sealed: wan netns has no route beyond itself (v6)" ip -n "$AZ_NS_WAN" -6 route get 2001:db8:dead::1
t_check_not "layout: internet 198.51.100.0/24 is not on a sim-host link" \
	bash -c "{ ip -n $AZ_NS_HOST -o addr; ip -n $AZ_NS_HOST route; } | grep 198.51.100"
t_check "layout: internet is routed via the wan router" \
	bash -c "ip -n $AZ_NS_HOST route get $AZ_WAN4 | grep -q 'via $AZ_WANRTR4' &&
		ip -n $AZ_NS_HOST -6 route get $AZ_WAN6 | grep -q 'via $AZ_WANRTR6'"

# ------------------------------------------------------------ reachability

for a in "$AZ_WAN4" "$AZ_WAN6"; do
	t_check "ctr reaches internet server tcp $a" probe_expect c1 ok tcp "$a" 8080 --read
	t_check "ctr reaches internet server udp $a" probe_expect c1 ok udp "$a" 8080
done
t_check "internet server logged the ctr's own address (v4, no NAT)" \
	srv_saw tcp "$AZ_WAN4" 8080 "${AZ_CTR_IP4[c1]}"
t_check "internet server logged the ctr's own address (v6, no NAT)" \
	srv_saw udp "$AZ_WAN6" 8080 "${AZ_CTR_IP6[c1]}"

for a in "${AZ_LAN_ADDRS[@]}"; do
	t_check "ctr reaches lan server tcp $a" probe_expect c1 ok tcp "$a" 8080 --read
	t_check "ctr reaches lan server udp $a" probe_expect c1 ok udp "$a" 8080
done
for a in "${AZ_HOST_ADDRS[@]}"; do
	t_check "ctr reaches sim-host server tcp $a" probe_expect c1 ok tcp "$a" 8080 --read
done
topo_serve host tcp "$AZ_BR_LL%$AZ_BR" 8080
t_check "ctr reaches sim-host link-local $AZ_BR_LL" probe_expect c1 ok tcp "$AZ_BR_LL%eth0" 8080 --read
for a in "$AZ_BR4" "$AZ_BR6"; do
	t_check "dns responder round trip udp $a:53" probe_expect c1 ok udp "$a" 53
	t_check "dns responder round trip tcp $a:53" probe_expect c1 ok tcp "$a" 53 --read
done
t_check "resolv.conf for c1 names the bridge" grep -qx "nameserver $AZ_BR4" "${AZ_CTR_RESOLV[c1]}"

topo_serve ctr:c2 tcp "${AZ_CTR_IP4[c2]}" 8080 && topo_serve ctr:c2 tcp "${AZ_CTR_IP6[c2]}" 8080
t_check "ctr reaches another ctr on the bridge (v4)" probe_expect c1 ok tcp "${AZ_CTR_IP4[c2]}" 8080
t_check "ctr reaches another ctr on the bridge (v6)" probe_expect c1 ok tcp "${AZ_CTR_IP6[c2]}" 8080
if topo_br_netfilter off; then
	t_check "ctr reaches another ctr with br_netfilter off" probe_expect c1 ok tcp "${AZ_CTR_IP4[c2]}" 8080
	t_check "br_netfilter can be switched back on" topo_br_netfilter on
else
	t_skip "br_netfilter toggle" "kernel has no br_netfilter"
fi
t_check "host-side veth of c1 is a port of the bridge" \
	bash -c "ip -n $AZ_NS_HOST -o link show ${AZ_CTR_VETH[c1]} | grep -q 'master $AZ_BR'"

# --------------------------------------------- azprobe verdicts, servers' logs
# An nft table of the test's own, in the wan netns it created.

ip netns exec "$AZ_NS_WAN" nft -f - <<EOF || t_fail "selftest nft table" "nft -f failed"
table inet azselftest {
	chain input {
		type filter hook input priority 0; policy accept;
		meta l4proto { tcp, udp } th dport 8082 reject with icmpx admin-prohibited
		meta l4proto { tcp, udp } th dport 8083 drop
	}
}
EOF
for a in "${AZ_WAN_ADDRS[@]}"; do
	topo_serve wan tcp "$a" 8082 && topo_serve wan udp "$a" 8082 &&
		topo_serve wan tcp "$a" 8083 && topo_serve wan udp "$a" 8083
done
for a in "${AZ_WAN_ADDRS[@]}"; do
	t_check "verdict: closed tcp port is refused fast ($a)" probe_fast c1 refused 1000 tcp "$a" 8081
	t_check "verdict: closed udp port is refused fast ($a)" probe_fast c1 refused 1000 udp "$a" 8081
	# Linux retries a SYN once (~1 s) after ICMPv6 admin-prohibited, but not
	# after the ICMPv4 one: the reason DESIGN.md wants TCP refused by reset.
	if [[ $a == *:* ]]; then max=2500; else max=1000; fi
	t_check "verdict: icmp admin-prohibited tcp is unreachable within ${max} ms ($a)" \
		probe_fast c1 unreachable "$max" tcp "$a" 8082
	t_check "verdict: icmp admin-prohibited udp is unreachable fast ($a)" \
		probe_fast c1 unreachable 1000 udp "$a" 8082
	t_check "verdict: dropped tcp times out ($a)" probe_expect c1 timeout tcp "$a" 8083 --timeout 300
	t_check "verdict: dropped udp times out ($a)" probe_expect c1 timeout udp "$a" 8083 --timeout 300
	for p in tcp udp; do
		t_check "server behind reject/drop saw nothing ($p $a)" \
			bash -c "(( \$(cat '$(srv_log $p "$a" 8082)' '$(srv_log $p "$a" 8083)' | wc -l) == 0 ))"
	done
done
t_check "timeout verdict honours --timeout" \
	bash -c "out=\$(ip netns exec ${AZ_CTR_NS[c1]} $AZPROBE tcp $AZ_WAN4 8083 --timeout 300); echo \$out;
		ms=\${out#timeout }; (( ms >= 290 && ms < 1500 ))"
ip netns exec "$AZ_NS_WAN" nft delete table inet azselftest

# --src: a secondary address, as a spoofing test would use.
topo_add_addr c1 10.77.0.200/24
t_check "--src binds a secondary source address" \
	probe_expect c1 ok tcp "$AZ_WAN4" 8080 --src 10.77.0.200
t_check "server logged the --src address" srv_saw tcp "$AZ_WAN4" 8080 10.77.0.200

# wan extra addresses stand for special ranges ("metadata" here).
topo_add_addr wan 169.254.169.254/32
topo_serve wan tcp 169.254.169.254 80
t_check "an address added on wan is reached via the default route" \
	probe_expect c1 ok tcp 169.254.169.254 80 --read

# ---------------------------------------------------------------- proxy chain

if start_proxy_chain && start_proxy6_sink; then
	t_pass "proxy: redsocks, microsocks and the IPv6 sink listen"
	ip netns exec "$AZ_NS_HOST" nft -f - <<EOF
table inet azselftest_nat {
	chain pre {
		type nat hook prerouting priority dstnat;
		iifname "$AZ_BR" ip daddr $AZ_WAN4 tcp dport 8080 dnat ip to $AZ_PROXY4:$AZ_PROXY_PORT
		iifname "$AZ_BR" ip6 daddr $AZ_WAN6 tcp dport 8080 dnat ip6 to [$AZ_PROXY6]:$AZ_PROXY_PORT
	}
}
EOF
	srv_reset
	t_check "proxy: DNAT-ed tcp reaches the internet server through the chain" \
		probe_expect c1 ok tcp "$AZ_WAN4" 8080 --read
	t_check "proxy: redsocks logged the original destination" proxy_saw "$AZ_WAN4:8080"
	t_check "proxy: internet server saw the proxy (sim-host uplink), not the ctr" \
		bash -c "[[ \$(cat '$(srv_log tcp "$AZ_WAN4" 8080)') == 'peer=$AZ_HOST_UP4 '* ]]"
	t_check "proxy6: DNAT-ed tcp reaches the IPv6 sink" probe_expect c1 ok tcp "$AZ_WAN6" 8080 --read
	t_check "proxy6: sink logged the original destination" proxy6_saw "$AZ_WAN6" 8080
	t_check "proxy6: internet server saw nothing" bash -c "! [ -s '$(srv_log tcp "$AZ_WAN6" 8080)' ]"
	ip netns exec "$AZ_NS_HOST" nft delete table inet azselftest_nat
else
	t_fail "proxy: chain did not start" "see stderr"
fi

# ------------------------------------------------------------------- rootfs

if root=$(build_rootfs "$AZ_TMP/rootfs"); then
	t_check "rootfs: busybox sh runs" chroot "$root" /bin/sh -c 'echo ok'
	t_check "rootfs: static azprobe reaches the internet from a ctr" \
		ip netns exec "${AZ_CTR_NS[c1]}" chroot "$root" /usr/bin/azprobe tcp "$AZ_WAN4" 8080 --read
	t_check "rootfs: cached copy is reused" test -f "$AZ_BUILD/rootfs/.stamp"
else
	t_fail "rootfs: build" "build_rootfs failed"
fi

# ------------------------------------------------------- harness primitives

t_check "wait_for is bounded" bash -c "source '$AZ_ROOT/tests/lib/harness.sh' >/dev/null;
	t0=\$(_t_now_ms); wait_for 0.3 false && exit 1; t1=\$(_t_now_ms); (( t1 - t0 < 1500 ))"
t_check "t_cleanup_push refuses to run in a subshell" \
	bash -c "source '$AZ_ROOT/tests/lib/harness.sh'; out=\$(t_cleanup_push true 2>&1; echo rc=\$?); [[ \$out == *rc=1 ]]"

# --------------------------------------------- cleanup on every exit path
# A child run builds a world, then ends one way or another; afterwards
# nothing of it may remain.

# The child: $MODE = how it ends (ok | fail | errexit | term), $INFO = where
# it lists what it made.
# shellcheck disable=SC2016
CHILD_SCRIPT='
	set -u
	[[ $MODE == errexit ]] && set -e
	source "$LIB/proxy.sh"
	topo_up >/dev/null && topo_add_ctr k 9 >/dev/null && topo_start_servers 7000 &&
		start_proxy_chain || exit 99
	sleep 30 &
	sp=$!
	az_pid_track "$sp"
	{
		echo "tmp $AZ_TMP"
		for ns in $(ip netns list | awk "{print \$1}"); do
			[[ $ns == "$AZ_RUN-"* ]] && echo "ns $ns" && ip netns pids "$ns" | sed "s/^/pid /"
		done
		echo "pid $sp"
	} >"$INFO.tmp" && mv "$INFO.tmp" "$INFO"
	case $MODE in
	ok) exit 0 ;;
	fail) t_fail x "deliberate"; exit 1 ;;
	errexit) false; echo "not reached" ;;
	term) wait "$sp" ;;
	esac
'

check_child_clean() {
	local info=$1 run=$2 kind v bad=0
	[[ -s $info ]] || { echo "child wrote no info"; return 1; }
	grep -q '^ns ' "$info" || { echo "child recorded no netns"; return 1; }
	grep -q '^pid ' "$info" || { echo "child recorded no pids"; return 1; }
	while read -r kind v; do
		case $kind in
		tmp) [[ -e $v ]] && { echo "temp dir $v remains"; bad=1; } ;;
		ns) [[ -e /run/netns/$v ]] && { echo "netns $v remains"; bad=1; } ;;
		pid) kill -0 "$v" 2>/dev/null && { echo "pid $v alive: $(tr '\0' ' ' </proc/"$v"/cmdline)"; bad=1; } ;;
		esac
	done <"$info"
	ip netns list | grep -q "^$run-" && { echo "netns with prefix $run remain"; bad=1; }
	return "$bad"
}

for mode in ok fail errexit term; do
	crun=az$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-5)
	info=$AZ_TMP/child-$mode.info
	t_cleanup_push "_topo_sweep $crun; rm -rf /tmp/$crun.*"
	MODE=$mode INFO=$info LIB=$AZ_ROOT/tests/lib AZ_RUN_NEXT=$crun \
		bash -c "$CHILD_SCRIPT" >"$AZ_TMP/child-$mode.out" 2>&1 &
	cpid=$!
	az_pid_track "$cpid"
	if [[ $mode == term ]]; then
		wait_for 30 test -e "$info" && kill -TERM "$cpid" 2>/dev/null
	fi
	wait_for 60 bash -c "! kill -0 $cpid 2>/dev/null"
	wait "$cpid" 2>/dev/null
	crc=$?
	case $mode in ok) want=0 ;; fail | errexit) want=1 ;; term) want=143 ;; esac
	if ((crc == 99)); then
		t_fail "cleanup after exit path '$mode'" "child could not build its world: $(tail -n 3 "$AZ_TMP/child-$mode.out")"
		continue
	fi
	t_check "cleanup after exit path '$mode' (exit $crc, want $want)" \
		bash -c "(( $crc == $want ))"
	t_check "nothing left after exit path '$mode'" check_child_clean "$info" "$crun"
done

# ------------------------------------------------- our own cleanup, last

own_ns=$(ip netns list | awk '{print $1}' | grep -c "^$AZ_RUN-")
t_cleanup_run
t_check "own cleanup removed all $own_ns netns of this run" \
	bash -c "! ip netns list | grep -q '^$AZ_RUN-'"
t_check "own cleanup removed the temp dir" test ! -e "$AZ_TMP"
