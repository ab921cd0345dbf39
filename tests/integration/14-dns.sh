#!/usr/bin/env bash
# 14-dns — DESIGN.md point 8 with real packets: DNS keeps working.
#   dns=auto (the default): port 53, UDP and TCP, to the resolvers of the
#     container's own resolv.conf (the file the runtime bind-mounts on
#     /etc/resolv.conf) — 10.77.0.1 and fd00:77::1, on the host itself;
#     other ports of the resolver stay refused, so does 53 elsewhere.
#   auto follows the container's file: a container whose resolv.conf names a
#     LAN resolver gets that one, not the others'.
#   dns=none: port 53 refused everywhere.
#   dns=ADDRESSES: exactly those, on port 53.
# Each is checked with both layers, then with the in-netns table deleted.
set -u
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"

require_root
require_cmd ip nft nsenter
require_hook
topo_up || exit 1
{
	topo_start_dns || exit 1
	for a in "$AZ_BR4" "$AZ_BR6"; do
		for port in 8080 5353; do
			topo_serve host tcp "$a" "$port" && topo_serve host udp "$a" "$port" || exit 1
		done
	done
	for a in "$AZ_LAN4" "$AZ_LAN6"; do
		for port in 53 8080; do
			topo_serve lan tcp "$a" "$port" && topo_serve lan udp "$a" "$port" || exit 1
		done
	done
	for a in "$AZ_WAN4" "$AZ_WAN6"; do
		topo_serve wan tcp "$a" 53 && topo_serve wan udp "$a" 53 || exit 1
	done
} || { t_fail setup "servers did not start"; exit 1; }

topo_add_ctr auto 2 >/dev/null &&
	topo_add_ctr none 3 >/dev/null &&
	topo_add_ctr list 4 >/dev/null &&
	topo_add_ctr lanres 5 >/dev/null || { t_fail setup "topo_add_ctr"; exit 1; }
# resolv.conf as a runtime writes it: the bridge resolver, both families
# (topo writes the v4 line), with an option line and a comment
for c in auto none list; do
	printf 'search example.test\nnameserver %s # the host\noptions ndots:1\n' "$AZ_BR6" \
		>>"${AZ_CTR_RESOLV[$c]}"
done
printf 'nameserver %s\nnameserver %s\n' "$AZ_LAN4" "$AZ_LAN6" >"${AZ_CTR_RESOLV[lanres]}"

apply() {
	local c=$1
	shift
	if fakert_create "$c" alcatraz.network=on "$@"; then
		t_pass "hook applies to $c ${*:-(dns default)}"
	else
		t_fail "hook applies to $c ${*:-(dns default)}" "$FAKERT_ERR"
	fi
}
apply auto
apply none alcatraz.network.dns=none
apply list "alcatraz.network.dns=$AZ_LAN4 $AZ_LAN6"
apply lanres alcatraz.network.dns=auto

checks() {
	local L=$1 a p
	for a in "$AZ_BR4" "$AZ_BR6"; do
		for p in udp tcp; do
			expect_reachable "8 $L auto: $p $a:53 (resolv.conf)" auto "$p" "$a" 53
		done
		expect_refused_fast "8 $L auto: other port of the resolver tcp $a:8080" auto tcp "$a" 8080
		expect_refused_fast "8 $L auto: other port of the resolver udp $a:5353" auto udp "$a" 5353
	done
	expect_refused_fast "8 $L auto: 53 to a LAN host not in resolv.conf (udp $AZ_LAN4)" auto udp "$AZ_LAN4" 53
	expect_refused_fast "8 $L auto: 53 to a LAN host not in resolv.conf (tcp $AZ_LAN6)" auto tcp "$AZ_LAN6" 53
	expect_reachable "8 $L auto: 53 on the internet is just the internet (udp $AZ_WAN4)" auto udp "$AZ_WAN4" 53

	for a in "$AZ_BR4" "$AZ_BR6"; do
		for p in udp tcp; do
			expect_refused_fast "8 $L none: $p $a:53 refused" none "$p" "$a" 53
		done
	done

	for a in "$AZ_LAN4" "$AZ_LAN6"; do
		for p in udp tcp; do
			expect_reachable "8 $L list: $p $a:53 (dns=$AZ_LAN4 $AZ_LAN6)" list "$p" "$a" 53
		done
		expect_refused_fast "8 $L list: other port of a listed resolver udp $a:8080" list udp "$a" 8080
	done
	expect_refused_fast "8 $L list: the resolv.conf resolver is not listed (udp $AZ_BR4:53)" list udp "$AZ_BR4" 53
	expect_refused_fast "8 $L list: the resolv.conf resolver is not listed (tcp $AZ_BR6:53)" list tcp "$AZ_BR6" 53

	expect_reachable "8 $L auto follows this container's resolv.conf: udp $AZ_LAN4:53" lanres udp "$AZ_LAN4" 53
	expect_reachable "8 $L auto follows this container's resolv.conf: tcp $AZ_LAN6:53" lanres tcp "$AZ_LAN6" 53
	expect_refused_fast "8 $L auto follows this container's resolv.conf: not $AZ_BR4:53" lanres udp "$AZ_BR4" 53
}

checks "[both layers]"
for c in auto none list lanres; do
	ctr_delete_table "$c" || t_fail "attacker: delete $c's in-netns table" "nft failed"
done
checks "[host layer alone]"

dump_on_failure auto
