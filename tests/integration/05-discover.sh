#!/bin/bash
# 05-discover — hook/discover.c against real network namespaces.
#
# A fake "host" netns and "container" netns per case, wired with plain `ip`;
# no traffic is sent.  tests/tools/discover-dump runs inside the host netns
# against /run/netns/<container> and its output is compared with what was
# built.  Result lines per tests/lib/harness.sh.
set -u

# shellcheck source=../lib/harness.sh
source "$(dirname "$0")/../lib/harness.sh"

DUMP=${DISCOVER_DUMP:-$AZ_BUILD/tools/discover-dump}
P=$AZ_RUN

require_root
require_cmd ip
if [[ -z ${DISCOVER_DUMP:-} ]] &&
   [[ ! -x $DUMP || $AZ_ROOT/tests/tools/discover-dump.c -nt $DUMP ||
      $AZ_ROOT/hook/discover.c -nt $DUMP ]]; then
	make -s -C "$AZ_ROOT" B="$AZ_BUILD" "$DUMP" >&2
fi
if [[ ! -x $DUMP ]]; then
	t_fail "$AZ_TEST_NAME" "$DUMP not built (make tools)"
	exit 1
fi

pass() { t_pass "$1"; }
fail() { t_fail "$1" "$2"; }

mkns() {
	ip netns add "$1" || return 1
	t_cleanup_push "ip netns del '$1'"
	ip -n "$1" link set lo up
}

# Wait until dev in netns has an IPv6 link-local address (addrconf adds it
# after the carrier comes up, asynchronously).
wait_ll() {
	local i
	for i in $(seq 50); do
		ip -n "$1" -6 addr show dev "$2" scope link | grep -q inet6 && return 0
		sleep 0.1
	done
	return 1
}

# run_dump HOSTNS ARGS… → $out, $errout, $rc
run_dump() {
	local h=$1
	shift
	errout=$(mktemp)
	out=$(ip netns exec "$h" "$DUMP" "$@" 2>"$errout")
	rc=$?
	errout=$(cat "$errout"; rm -f "$errout")
}

# expect NAME LINE… : every LINE must be a whole line of $out; sets $why.
expect() {
	local l
	for l in "$@"; do
		if ! grep -qxF -- "$l" <<<"$out"; then
			why="missing \"$l\" in: $(tr '\n' '|' <<<"$out")"
			return 1
		fi
	done
}

# refuse LINE… : no line of $out may start with any LINE.
refuse() {
	local l
	for l in "$@"; do
		if grep -qF -- "$l" <<<"$out"; then
			why="unexpected \"$l\" in: $(tr '\n' '|' <<<"$out")"
			return 1
		fi
	done
}

# Host netns H with bridge br0 (10.77.0.1/24, fd77::1/64); container C whose
# eth0 is the peer of vh0, a port of br0.
bridge_pair() {
	local h=$1 c=$2
	mkns "$h" && mkns "$c" || return 1
	ip -n "$h" link add br0 type bridge &&
	ip -n "$h" link add vh0 type veth peer name eth0 netns "$c" &&
	ip -n "$h" link set vh0 master br0 &&
	ip -n "$h" link set br0 up && ip -n "$h" link set vh0 up &&
	ip -n "$h" addr add 10.77.0.1/24 dev br0 &&
	ip -n "$h" addr add fd77::1/64 dev br0 nodad &&
	ip -n "$c" link set eth0 up &&
	ip -n "$c" addr add 10.77.0.2/24 dev eth0 &&
	ip -n "$c" addr add fd77::2/64 dev eth0 &&
	ip -n "$c" route add default via 10.77.0.1 &&
	ip -n "$c" -6 route add default via fd77::1 dev eth0 &&
	wait_ll "$c" eth0
}

case_bridge() {
	local name=bridge-veth h=$P-h1 c=$P-c1 why=
	bridge_pair "$h" "$c" || { fail $name "setup failed"; return; }
	run_dump "$h" "/run/netns/$c"
	[ $rc = 0 ] || { fail $name "exit $rc: $errout"; return; }
	expect "iface eth0 host=vh0 bridge=br0" "addr eth0 10.77.0.2/24" "addr eth0 fd77::2/64" \
		"gw4 10.77.0.1" "gw6 fd77::1" "n_if 1" || { fail $name "$why"; return; }
	grep -qx 'addr eth0 fe80::[0-9a-f:]*/64' <<<"$out" ||
		{ fail $name "no link-local address in: $(tr '\n' '|' <<<"$out")"; return; }
	refuse "iface lo" || { fail $name "$why"; return; }
	pass $name
}

# Two interfaces: eth0 on the bridge, eth1 a routed veth with no master; only
# a v4 default route, a second (worse) one through eth1.
case_two() {
	local name=two-interfaces h=$P-h2 c=$P-c2 why=
	{ bridge_pair "$h" "$c" &&
	  ip -n "$h" link add vh1 type veth peer name eth1 netns "$c" &&
	  ip -n "$h" link set vh1 up && ip -n "$c" link set eth1 up &&
	  ip -n "$h" addr add 10.78.0.1/24 dev vh1 &&
	  ip -n "$c" addr add 10.78.0.2/24 dev eth1 &&
	  ip -n "$c" addr add 10.78.0.3/24 dev eth1 &&
	  ip -n "$c" route add default via 10.78.0.1 metric 500; } ||
		{ fail $name "setup failed"; return; }
	run_dump "$h" "/run/netns/$c"
	[ $rc = 0 ] || { fail $name "exit $rc: $errout"; return; }
	expect "iface eth0 host=vh0 bridge=br0" "iface eth1 host=vh1 bridge=-" \
		"addr eth0 10.77.0.2/24" "addr eth1 10.78.0.2/24" "addr eth1 10.78.0.3/24" \
		"gw4 10.77.0.1" "n_if 2" || { fail $name "$why"; return; }
	pass $name
}

case_lo_only() {
	local name=lo-only h=$P-h3 c=$P-c3 why=
	{ mkns "$h" && mkns "$c" && ip -n "$c" addr add 10.79.0.1/32 dev lo; } ||
		{ fail $name "setup failed"; return; }
	run_dump "$h" "/run/netns/$c"
	[ $rc = 0 ] || { fail $name "exit $rc: $errout"; return; }
	expect "n_if 0" || { fail $name "$why"; return; }
	refuse "iface" "addr" "gw4" "gw6" || { fail $name "$why"; return; }
	pass $name
}

# A macvlan's IFLA_LINK names its host parent (a bridge here: this kernel has
# no dummy): not a veth peer.
case_macvlan() {
	local name=macvlan-no-peer h=$P-h4 c=$P-c4 why=
	{ mkns "$h" && mkns "$c" &&
	  ip -n "$h" link add lan0 type bridge && ip -n "$h" link set lan0 up &&
	  ip -n "$h" link add mv0 link lan0 type macvlan mode bridge &&
	  ip -n "$h" link set mv0 netns "$c" &&
	  ip -n "$c" link set mv0 up && ip -n "$c" addr add 10.80.0.2/24 dev mv0; } ||
		{ fail $name "setup failed"; return; }
	run_dump "$h" "/run/netns/$c"
	[ $rc = 0 ] || { fail $name "exit $rc: $errout"; return; }
	expect "iface mv0 host=- bridge=-" "addr mv0 10.80.0.2/24" "n_if 1" ||
		{ fail $name "$why"; return; }
	pass $name
}

# Interface indexes are per netns.  The container's cA (50) peers with index
# 60 of another netns O; the host's own index 60 is a veth whose peer is index
# 50 of yet another netns O2.  The numbers match; the namespaces do not: no
# host peer.  Same for cB/cC, a veth pair with both ends in the container.
# A real pair eth0/vh0 makes the host and the container know each other's
# netns ids, so only the id comparisons can tell.
case_foreign_peer() {
	local name=foreign-peer-rejected h=$P-h5 c=$P-c5 o=$P-o5 o2=$P-p5 why=
	{ mkns "$h" && mkns "$c" && mkns "$o" && mkns "$o2" &&
	  ip -n "$c" link add cA index 50 type veth peer name oB index 60 netns "$o" &&
	  ip -n "$h" link add hX index 60 type veth peer name oC index 50 netns "$o2" &&
	  ip -n "$c" link add cB index 70 type veth peer name cC index 71 &&
	  ip -n "$h" link add hY index 71 type veth peer name oD index 70 netns "$o2" &&
	  ip -n "$h" link add vh0 index 80 type veth peer name eth0 index 81 netns "$c"; } ||
		{ fail $name "setup failed"; return; }
	run_dump "$h" "/run/netns/$c"
	[ $rc = 0 ] || { fail $name "exit $rc: $errout"; return; }
	expect "iface cA host=- bridge=-" "iface cB host=- bridge=-" "iface cC host=- bridge=-" \
		"iface eth0 host=vh0 bridge=-" "n_if 4" || { fail $name "$why"; return; }
	pass $name
}

case_too_many() {
	local name=too-many-refused h=$P-h6 c=$P-c6 i why=
	{ mkns "$h" && mkns "$c"; } || { fail $name "setup failed"; return; }
	for i in $(seq 0 8); do
		ip -n "$c" link add "d$i" type bridge || { fail $name "setup failed"; return; }
	done
	run_dump "$h" "/run/netns/$c"
	[ $rc != 0 ] && grep -q "netns discovery: more than 8 interfaces" <<<"$errout" ||
		{ fail $name "interfaces: exit $rc, stderr: $errout"; return; }
	for i in $(seq 1 8); do ip -n "$c" link del "d$i"; done
	for i in $(seq 1 9); do
		ip -n "$c" addr add "10.81.0.$i/24" dev d0 || { fail $name "setup failed"; return; }
	done
	run_dump "$h" "/run/netns/$c"
	[ $rc != 0 ] && grep -q "netns discovery: d0 has more than 8 IPv4 addresses" <<<"$errout" ||
		{ fail $name "addresses: exit $rc, stderr: $errout"; return; }
	pass $name
}

case_bad_netns() {
	local name=not-a-netns h=$P-h7 why=
	mkns "$h" || { fail $name "setup failed"; return; }
	run_dump "$h" /etc/hostname
	[ $rc != 0 ] && grep -q "^error: netns discovery: setns.*: Invalid argument" <<<"$errout" ||
		{ fail $name "exit $rc, stderr: $errout"; return; }
	pass $name
}

case_hostnet() {
	local name=hostnet h=$P-h8 c=$P-c8 why=
	bridge_pair "$h" "$c" || { fail $name "setup failed"; return; }
	ip -n "$h" addr add 198.51.100.7/24 dev br0 || { fail $name "setup failed"; return; }
	wait_ll "$h" br0 || { fail $name "no link-local on br0"; return; }
	run_dump "$h" --hostnet
	[ $rc = 0 ] || { fail $name "exit $rc: $errout"; return; }
	expect "hostnet 127.0.0.1/32" "hostnet 127.0.0.0/8" "hostnet ::1/128" \
		"hostnet 10.77.0.1/32" "hostnet 10.77.0.0/24" \
		"hostnet 198.51.100.7/32" "hostnet 198.51.100.0/24" \
		"hostnet fd77::1/128" "hostnet fd77::/64" ||
		{ fail $name "$why"; return; }
	[ "$(sort <<<"$out" | uniq -d)" = "" ] || { fail $name "duplicates: $out"; return; }
	refuse "hostnet 10.77.0.2/" || { fail $name "$why"; return; }
	# link-local addresses (one per host veth) are covered by fe80::/10 in
	# the catalogue; listing them overflowed the set at ~245 containers
	refuse "hostnet fe80:" || { fail $name "$why"; return; }
	pass $name
}

case_resolv() {
	local name=resolv-conf h=$P-h9 why=
	mkns "$h" || { fail $name "setup failed"; return; }
	printf '%s\n' '# generated' 'search example.org' 'nameserver 10.0.0.53' \
		'  nameserver   fe80::1%eth0' 'nameserver bogus' ';nameserver 10.9.9.9' \
		'options ndots:2' 'nameserver 2001:db8::53 # upstream' >"$AZ_TMP/resolv.conf"
	run_dump "$h" --resolv "$AZ_TMP/resolv.conf"
	[ $rc = 0 ] || { fail $name "exit $rc: $errout"; return; }
	expect "nameserver 10.0.0.53" "nameserver fe80::1" "nameserver 2001:db8::53" ||
		{ fail $name "$why"; return; }
	[ "$(grep -c . <<<"$out")" = 3 ] || { fail $name "expected 3 lines: $out"; return; }
	pass $name
}

case_bridge
case_two
case_lo_only
case_macvlan
case_foreign_peer
case_too_many
case_bad_netns
case_hostnet
case_resolv
