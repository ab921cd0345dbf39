#!/usr/bin/env bash
# 10-isolation — DESIGN.md points 1 and 6 with real packets, IPv4 and IPv6:
# an isolated container reaches the internet (TCP and UDP) and is refused,
# fast, by everything in the blocked set — the LAN, and special-purpose
# ranges even when they are routed out through the "internet" router
# (metadata 169.254.169.254, CGNAT, RFC 1918, benchmarking, ULA, NAT64,
# 6to4) — while containers without the annotation, or with
# alcatraz.network=off, are untouched.
set -u
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"

require_root
require_cmd ip nft nsenter
require_hook
topo_up || exit 1
topo_add_ctr iso 2 >/dev/null &&
	topo_add_ctr plain 3 >/dev/null &&
	topo_add_ctr off 4 >/dev/null || { t_fail setup "topo_add_ctr"; exit 1; }

# Special-purpose addresses made to exist behind the wan router: without the
# rules they are reachable exactly like the internet.
EXTRA4=(169.254.169.254 100.64.0.1 10.99.0.1 172.16.5.5 198.18.0.1)
EXTRA6=(fd12::1 64:ff9b::1 2002:c0a8:4d0a::1)
for a in "${EXTRA4[@]}"; do topo_add_addr wan "$a/32"; done
for a in "${EXTRA6[@]}"; do topo_add_addr wan "$a/128"; done
ip -n "$AZ_NS_HOST" route add 10.99.0.0/16 via "$AZ_WANRTR4" # 10/8 is not a LAN here
topo_start_servers 8080 || { t_fail setup "servers did not start"; exit 1; }
for a in "${EXTRA4[@]}" "${EXTRA6[@]}"; do
	topo_serve wan tcp "$a" 8080 && topo_serve wan udp "$a" 8080 ||
		{ t_fail setup "server on $a"; exit 1; }
done

# ---------------------------------------------------------------- baseline
# Before any hook: every destination answers, so a refusal later is the
# rules' doing and not the topology's.
for a in "$AZ_LAN4" "$AZ_LAN6" "${EXTRA4[@]}" "${EXTRA6[@]}"; do
	expect_reachable "baseline: iso reaches $a tcp before the hook" iso tcp "$a" 8080
done
expect_reachable "baseline: iso reaches $AZ_LAN4 udp before the hook" iso udp "$AZ_LAN4" 8080

# ---------------------------------------------------------------- apply
if fakert_create iso alcatraz.network=on; then
	t_pass "hook createRuntime for iso (alcatraz.network=on) exits 0"
else
	t_fail "hook createRuntime for iso" "exit non-zero: $FAKERT_ERR"
	exit 1
fi
fakert_create plain || t_fail "hook for plain (no annotation)" "$FAKERT_ERR"
fakert_create off alcatraz.network=off || t_fail "hook for off (alcatraz.network=off)" "$FAKERT_ERR"

# ---------------------------------------------------------------- 1: internet
for a in "$AZ_WAN4" "$AZ_WAN6"; do
	for p in tcp udp; do
		expect_reachable "1 internet: iso reaches $p $a" iso "$p" "$a" 8080
	done
done
t_check "1 internet: the server saw iso's own address (v4, no NAT)" \
	srv_saw tcp "$AZ_WAN4" 8080 "${AZ_CTR_IP4[iso]}"
t_check "1 internet: the server saw iso's own address (v6, no NAT)" \
	srv_saw udp "$AZ_WAN6" 8080 "${AZ_CTR_IP6[iso]}"

# ---------------------------------------------------------------- 1+6: LAN
for a in "$AZ_LAN4" "$AZ_LAN6"; do
	for p in tcp udp; do
		expect_refused_fast "1,6 lan: iso refused $p $a:8080" iso "$p" "$a" 8080
	done
done

# --------------------------------------------- 1+6: special ranges via wan
for a in "${EXTRA4[@]}" "${EXTRA6[@]}"; do
	for p in tcp udp; do
		expect_refused_fast "1,6 blocked range routed via the internet: iso refused $p $a" \
			iso "$p" "$a" 8080
	done
done

# -------------------------------------------- 6: refusals are counted
t_check "6 counted: the in-netns refuse chain counted the refusals" \
	bash -c "ip netns exec '${AZ_CTR_NS[iso]}' nft list chain inet alcatraz refuse |
		grep -Eq 'counter packets [1-9]'"

# --------------------------------------------- untouched containers
for c in plain off; do
	for a in "$AZ_LAN4" "$AZ_LAN6" 169.254.169.254 fd12::1; do
		expect_reachable "1 untouched: $c reaches tcp $a" "$c" tcp "$a" 8080
	done
	expect_reachable "1 untouched: $c reaches udp $AZ_LAN4" "$c" udp "$AZ_LAN4" 8080
	expect_reachable "1 untouched: $c reaches the host $AZ_BR4" "$c" tcp "$AZ_BR4" 8080
	t_check_not "1 untouched: $c's netns has no nft table" \
		bash -c "ip netns exec '${AZ_CTR_NS[$c]}' nft list tables | grep -q ."
	t_check "1 untouched: no host element for $c" count_is 0 host_elements_of "$(fakert_id "$c")"
	t_check "1 untouched: no state record for $c" \
		test ! -e "$ALCATRAZ_STATE_DIR/containers/$(fakert_id "$c").json"
done
# the untouched ones stay untouched next to an isolated one: iso's rules
# did not widen into them (their addresses are not in the host sets)
no_plain_addrs() {
	host_ruleset >"$AZ_TMP/ruleset" || return 1
	grep -q "${AZ_CTR_IP4[iso]}" "$AZ_TMP/ruleset" || { echo "iso's address is not in the ruleset"; return 1; }
	! grep -Ew -- "${AZ_CTR_IP4[plain]}|${AZ_CTR_IP4[off]}|${AZ_CTR_IP6[plain]}|${AZ_CTR_IP6[off]}" "$AZ_TMP/ruleset"
}
t_check "1 untouched: host sets hold only iso's addresses" no_plain_addrs

# ------------------------------------------ the host layer alone (1, 5, 6)
# An attacker with CAP_NET_ADMIN inside iso deletes the in-netns table: the
# same decisions, as fast, come from the sim-host's prerouting chain.
if ctr_delete_table iso; then
	t_pass "attacker: iso's in-netns table deleted"
	for a in "$AZ_WAN4" "$AZ_WAN6"; do
		expect_reachable "1 host layer alone: iso still reaches tcp $a" iso tcp "$a" 8080
		expect_reachable "1 host layer alone: iso still reaches udp $a" iso udp "$a" 8080
	done
	for a in "$AZ_LAN4" "$AZ_LAN6" "${EXTRA4[@]}" "${EXTRA6[@]}"; do
		for p in tcp udp; do
			expect_refused_fast "1,6 host layer alone: iso refused $p $a" iso "$p" "$a" 8080
		done
	done
	refused_counted() {
		ip netns exec "$AZ_NS_HOST" nft list set inet alcatraz refused4 |
			grep -F "${AZ_CTR_IP4[iso]}" | grep -Eq 'counter packets [1-9]'
	}
	t_check "6 counted: the host's refused4 counter of iso's address grew" refused_counted
else
	t_fail "attacker: delete iso's in-netns table" "nft delete table failed"
fi

dump_on_failure iso
