#!/usr/bin/env bash
# 11-lan-access — the lan-access allow-list with real packets (DESIGN.md
# "User-facing settings" and point 1 "minus the entries of lan-access"):
# host:port (TCP only), udp://, *://, port ranges, a bare host and host:*,
# CIDR with and without a port, IPv6 in brackets, ${alca:HOST_IP}:PORT, and
# "*".  Each allowed destination answers; the neighbours of each entry (other
# port, other protocol, other host) are refused fast and their servers see
# nothing.  Everything is checked twice: with both layers, then with the
# container's in-netns table deleted (the host layer alone must make the
# same decisions).
set -u
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"

require_root
require_cmd ip nft nsenter
require_hook
topo_up || exit 1

LAN4B=192.168.77.11 LAN6B=fd77::11
topo_add_addr lan "$LAN4B/24" && topo_add_addr lan "$LAN6B/64" || { t_fail setup "lan addresses"; exit 1; }
{
	for port in 8080 8081 8082; do
		for a in "$AZ_LAN4" "$AZ_LAN6" "$LAN4B" "$LAN6B"; do
			topo_serve lan tcp "$a" "$port" && topo_serve lan udp "$a" "$port" || exit 1
		done
	done
	for a in "$AZ_WAN4" "$AZ_WAN6"; do topo_serve wan tcp "$a" 8080 || exit 1; done
	for port in 8080 9000; do
		for a in "${AZ_HOST_ADDRS[@]}"; do
			topo_serve host tcp "$a" "$port" && topo_serve host udp "$a" "$port" || exit 1
		done
	done
} || { t_fail setup "servers did not start"; exit 1; }

# A server in one of the containers, for "'*' does not open other containers".
peer_servers() {
	topo_serve ctr:hp tcp "${AZ_CTR_IP4[hp]}" 8080 && topo_serve ctr:hp udp "${AZ_CTR_IP6[hp]}" 8080
}

declare -A LAN_ACCESS=(
	[hp]="192.168.77.10:8080 [fd77::10]:8080"
	[proto]="udp://192.168.77.10:8080 *://[fd77::10]:8081"
	[cidr]="192.168.77.0/24:8080 fd77::/64"
	[star]="*"
	[gw]='${alca:HOST_IP}:9000'
	[range]="192.168.77.10 tcp://[fd77::10]:8080-8081"
	[anyport]="192.168.77.11:*, [fd77::11]:*"
)
sfx=2
for c in hp proto cidr star gw range anyport; do
	topo_add_ctr "$c" "$sfx" >/dev/null || { t_fail setup "topo_add_ctr $c"; exit 1; }
	sfx=$((sfx + 1))
	if fakert_create "$c" alcatraz.network=on "alcatraz.network.lan-access=${LAN_ACCESS[$c]}"; then
		t_pass "hook applies lan-access=\"${LAN_ACCESS[$c]}\" ($c)"
	else
		t_fail "hook applies lan-access=\"${LAN_ACCESS[$c]}\" ($c)" "$FAKERT_ERR"
	fi
done

peer_servers || { t_fail setup "servers in hp"; exit 1; }

ok() { expect_reachable "$L $1" "${@:2}"; }
no() { expect_refused_fast "$L $1" "${@:2}"; }

checks() {
	# host:port — TCP only, that port only, that host only
	ok "hp: allowed tcp $AZ_LAN4:8080" hp tcp "$AZ_LAN4" 8080
	ok "hp: allowed tcp [$AZ_LAN6]:8080" hp tcp "$AZ_LAN6" 8080
	no "hp: other port tcp $AZ_LAN4:8081" hp tcp "$AZ_LAN4" 8081
	no "hp: other port tcp [$AZ_LAN6]:8081" hp tcp "$AZ_LAN6" 8081
	no "hp: no scheme means TCP only: udp $AZ_LAN4:8080" hp udp "$AZ_LAN4" 8080
	no "hp: no scheme means TCP only: udp [$AZ_LAN6]:8080" hp udp "$AZ_LAN6" 8080
	no "hp: other host tcp $LAN4B:8080" hp tcp "$LAN4B" 8080
	no "hp: other host tcp [$LAN6B]:8080" hp tcp "$LAN6B" 8080
	ok "hp: internet still reachable" hp tcp "$AZ_WAN4" 8080

	# udp:// and *://
	ok "proto: udp:// allowed udp $AZ_LAN4:8080" proto udp "$AZ_LAN4" 8080
	no "proto: udp:// does not open tcp $AZ_LAN4:8080" proto tcp "$AZ_LAN4" 8080
	ok "proto: *:// allowed tcp [$AZ_LAN6]:8081" proto tcp "$AZ_LAN6" 8081
	ok "proto: *:// allowed udp [$AZ_LAN6]:8081" proto udp "$AZ_LAN6" 8081
	no "proto: *:// other port tcp [$AZ_LAN6]:8080" proto tcp "$AZ_LAN6" 8080
	no "proto: *:// other port udp [$AZ_LAN6]:8082" proto udp "$AZ_LAN6" 8082
	no "proto: v4 entry does not open [$AZ_LAN6] udp 8080" proto udp "$AZ_LAN6" 8080

	# CIDR:port and a bare v6 CIDR
	ok "cidr: $AZ_LAN4:8080 inside 192.168.77.0/24:8080" cidr tcp "$AZ_LAN4" 8080
	ok "cidr: $LAN4B:8080 inside 192.168.77.0/24:8080" cidr tcp "$LAN4B" 8080
	no "cidr: other port tcp $LAN4B:8081" cidr tcp "$LAN4B" 8081
	no "cidr: udp $AZ_LAN4:8080 (CIDR:port is TCP only)" cidr udp "$AZ_LAN4" 8080
	ok "cidr: fd77::/64 every port tcp [$LAN6B]:8082" cidr tcp "$LAN6B" 8082
	ok "cidr: fd77::/64 every protocol udp [$AZ_LAN6]:8081" cidr udp "$AZ_LAN6" 8081
	no "cidr: the host (bridge gateway) is still refused" cidr tcp "$AZ_BR4" 8080

	# ${alca:HOST_IP}:PORT — the gateway, that port, TCP
	ok "gw: \${alca:HOST_IP}:9000 reaches $AZ_BR4:9000" gw tcp "$AZ_BR4" 9000
	ok "gw: \${alca:HOST_IP}:9000 reaches [$AZ_BR6]:9000 (v6 gateway)" gw tcp "$AZ_BR6" 9000
	no "gw: other port of the gateway $AZ_BR4:8080" gw tcp "$AZ_BR4" 8080
	no "gw: other port of the gateway [$AZ_BR6]:8080" gw tcp "$AZ_BR6" 8080
	no "gw: udp $AZ_BR4:9000 (TCP only)" gw udp "$AZ_BR4" 9000
	no "gw: the host's LAN address $AZ_HOST_LAN4:9000 is not the gateway" gw tcp "$AZ_HOST_LAN4" 9000
	no "gw: the host's uplink address $AZ_HOST_UP4:9000 is not the gateway" gw tcp "$AZ_HOST_UP4" 9000
	no "gw: the host's uplink address [$AZ_HOST_UP6]:9000 is not the gateway" gw tcp "$AZ_HOST_UP6" 9000
	no "gw: the LAN is still refused" gw tcp "$AZ_LAN4" 8080

	# a bare host (every protocol and port) and a v6 port range
	ok "range: bare host tcp $AZ_LAN4:8081" range tcp "$AZ_LAN4" 8081
	ok "range: bare host udp $AZ_LAN4:8082" range udp "$AZ_LAN4" 8082
	no "range: other host tcp $LAN4B:8080" range tcp "$LAN4B" 8080
	ok "range: tcp://[..]:8080-8081 low end" range tcp "$AZ_LAN6" 8080
	ok "range: tcp://[..]:8080-8081 high end" range tcp "$AZ_LAN6" 8081
	no "range: outside the range tcp [$AZ_LAN6]:8082" range tcp "$AZ_LAN6" 8082
	no "range: tcp:// does not open udp [$AZ_LAN6]:8080" range udp "$AZ_LAN6" 8080

	# host:* (comma-separated, as Podman's --annotation would split)
	ok "anyport: $LAN4B:* tcp 8082" anyport tcp "$LAN4B" 8082
	ok "anyport: $LAN4B:* udp 8080" anyport udp "$LAN4B" 8080
	ok "anyport: [$LAN6B]:* udp 8081" anyport udp "$LAN6B" 8081
	no "anyport: other host $AZ_LAN4 tcp 8080" anyport tcp "$AZ_LAN4" 8080
	no "anyport: other host [$AZ_LAN6] udp 8080" anyport udp "$AZ_LAN6" 8080

	# "*": isolation off for the LAN (DESIGN.md, lan-access table)
	ok "star: '*' opens the LAN tcp $AZ_LAN4:8080" star tcp "$AZ_LAN4" 8080
	ok "star: '*' opens the LAN udp $LAN4B:8081" star udp "$LAN4B" 8081
	ok "star: '*' opens the LAN tcp [$AZ_LAN6]:8082" star tcp "$AZ_LAN6" 8082
	# DESIGN.md lists the host (point 2) apart from the LAN (point 1), and
	# gives ${alca:HOST_IP} as the one way to open it: "*" must not.
	no "star: '*' does not open the host $AZ_BR4" star tcp "$AZ_BR4" 8080
	no "star: '*' does not open the host [$AZ_BR6]" star tcp "$AZ_BR6" 8080
	no "star: '*' does not open the host's uplink $AZ_HOST_UP4" star tcp "$AZ_HOST_UP4" 8080
	# nor other containers (point 3), though their bridge prefix is
	# "directly connected to a host interface" like a LAN
	expect_blocked "$L star: '*' does not open another container ${AZ_CTR_IP4[hp]}" star tcp "${AZ_CTR_IP4[hp]}" 8080
	expect_blocked "$L star: '*' does not open another container ${AZ_CTR_IP6[hp]}" star udp "${AZ_CTR_IP6[hp]}" 8080
}

# What a CIDR covering the host's own LAN address does (DESIGN.md does not
# say): reported, not judged.
observe_cidr_host() {
	probe_from cidr tcp "$AZ_HOST_LAN4" 8080 --read
	t_log "observed ($L): lan-access 192.168.77.0/24:8080 → the host's own LAN address $AZ_HOST_LAN4:8080: $PROBE_LINE"
}

L="[both layers]"
checks
observe_cidr_host

for c in hp proto cidr star gw range anyport; do
	ctr_delete_table "$c" || t_fail "attacker: delete $c's in-netns table" "nft failed"
done
L="[host layer alone]"
checks
observe_cidr_host

dump_on_failure star
