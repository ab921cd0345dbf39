#!/usr/bin/env bash
# 13-spoofing — DESIGN.md point 5 with real packets: identity cannot be
# spoofed.
#  a. A packet socket (CAP_NET_RAW, Docker's default) injects frames that
#     pass neither the IP stack nor the in-netns table: a handmade UDP
#     datagram to the LAN from the container's real address is refused by the
#     host layer, and one with a forged source (a made-up address, another
#     container's, a LAN-looking one) never leaves the bridge — while the
#     same sender with its real address reaches the internet (the tool works).
#  b. An attacker with CAP_NET_ADMIN deletes the in-netns table, adds an
#     address (10.77.0.99, fd00:77::99) and sends from it, or from another
#     container's address: nothing of it reaches the internet or the LAN;
#     its real address still works.
# "Arrived" is read from counters in the wan and lan netns (this test's own
# table, counting every packet by source address before anything else), so
# even a TCP SYN that never completes a handshake is seen.
set -u
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"
# shellcheck disable=SC2034 # read by probe.sh
AZ_DROP_MS=600 # 32 probes are dropped here: enough to see nothing comes back

require_root
require_cmd ip nft nsenter
require_hook
azraw_bin >/dev/null || { t_fail setup "cannot build azraw"; exit 1; }
topo_up || exit 1
topo_add_ctr iso 2 >/dev/null &&
	topo_add_ctr iso2 3 >/dev/null &&
	topo_add_ctr plain 5 >/dev/null || { t_fail setup "topo_add_ctr"; exit 1; }
{
	for a in "$AZ_WAN4" "$AZ_WAN6"; do
		topo_serve wan tcp "$a" 8080 && topo_serve wan udp "$a" 8080 || exit 1
	done
	for a in "$AZ_LAN4" "$AZ_LAN6"; do
		topo_serve lan tcp "$a" 8080 && topo_serve lan udp "$a" 8080 || exit 1
	done
} || { t_fail setup "servers did not start"; exit 1; }

FORGED4=(10.77.0.99 "${AZ_CTR_IP4[iso2]}" "${AZ_CTR_IP4[plain]}" 192.168.77.50)
FORGED6=(fd00:77::99 "${AZ_CTR_IP6[iso2]}" "${AZ_CTR_IP6[plain]}" fd77::50)
WATCH=("${AZ_CTR_IP4[iso]}" "${AZ_CTR_IP6[iso]}" "${FORGED4[@]}" "${FORGED6[@]}" 10.77.0.98)

# spy_install — (re)create the counting table in wan and lan: one rule per
# watched source, commented "from ADDR".
spy_install() {
	local where ns a fam rules
	for where in wan lan; do
		ns=$(topo_ns "$where")
		rules=""
		for a in "${WATCH[@]}"; do
			if [[ $a == *:* ]]; then fam=ip6; else fam=ip; fi
			rules+="		$fam saddr $a counter comment \"from $a\""$'\n'
		done
		ip netns exec "$ns" nft delete table inet azspy 2>/dev/null
		ip netns exec "$ns" nft -f - <<-EOF || return 1
			table inet azspy {
				chain pre {
					type filter hook prerouting priority -400; policy accept;
			$rules
				}
			}
		EOF
	done
}
# spy_count WHERE ADDR — packets from ADDR that arrived in WHERE.
spy_count() {
	ip netns exec "$(topo_ns "$1")" nft list chain inet azspy pre |
		grep -F "comment \"from $2\"" | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}
# arrived_nowhere ADDR — no packet from ADDR reached wan or lan.
arrived_nowhere() {
	local w l
	w=$(spy_count wan "$1") l=$(spy_count lan "$1")
	[[ $w == 0 && $l == 0 ]] && return 0
	echo "packets from $1: wan $w, lan $l"
	return 1
}
arrived_wan() {
	local n
	n=$(spy_count wan "$1")
	((n > 0)) && return 0
	echo "packets from $1 at wan: $n"
	return 1
}
spy_install || { t_fail setup "counting table in wan/lan"; exit 1; }

# ---------------------------------------------------------------- baseline
# Without alcatraz, forged packets do arrive: the test can see a failure.
t_check "baseline: azraw sends a forged v4 datagram" raw_send iso 10.77.0.99 "$AZ_WAN4" 8080
t_check "baseline: azraw sends a forged v6 datagram" raw_send iso fd00:77::99 "$AZ_WAN6" 8080
topo_add_addr iso 10.77.0.98/24
probe_from iso udp "$AZ_WAN4" 8080 --src 10.77.0.98 --timeout 300
ip -n "${AZ_CTR_NS[iso]}" addr del 10.77.0.98/24 dev eth0
spy_baseline() { arrived_wan 10.77.0.99 && arrived_wan fd00:77::99 && arrived_wan 10.77.0.98; }
wait_for 1 spy_baseline &&
	t_pass "baseline: forged packets (packet socket, an added address) reach the internet before the hook" ||
	t_fail "baseline: forged packets reach the internet before the hook" \
		"10.77.0.99: $(spy_count wan 10.77.0.99), fd00:77::99: $(spy_count wan fd00:77::99), 10.77.0.98: $(spy_count wan 10.77.0.98)"
spy_install

fakert_create iso alcatraz.network=on && t_pass "hook applies to iso" ||
	{ t_fail "hook applies to iso" "$FAKERT_ERR"; exit 1; }
fakert_create iso2 alcatraz.network=on || t_fail "hook applies to iso2" "$FAKERT_ERR"

# ------------------------------------------------ a. packet socket (CAP_NET_RAW)
t_check "5a rootless path: iso's in-netns table is in place" ctr_has_table iso
srv_reset
raw_send iso "${AZ_CTR_IP4[iso]}" "$AZ_WAN4" 8080 --send raw-real4 >/dev/null
raw_send iso "${AZ_CTR_IP6[iso]}" "$AZ_WAN6" 8080 --send raw-real6 >/dev/null
wait_for 1 srv_saw udp "$AZ_WAN4" 8080 "${AZ_CTR_IP4[iso]}" &&
	t_pass "5a packet socket, real source: the internet server got it (v4) — the sender works" ||
	t_fail "5a packet socket, real source, v4" "the internet server saw nothing: the test proves nothing"
wait_for 1 srv_saw udp "$AZ_WAN6" 8080 "${AZ_CTR_IP6[iso]}" &&
	t_pass "5a packet socket, real source: the internet server got it (v6)" ||
	t_fail "5a packet socket, real source, v6" "the internet server saw nothing"

for a in "$AZ_LAN4" "$AZ_LAN6"; do
	if [[ $a == *:* ]]; then src=${AZ_CTR_IP6[iso]}; else src=${AZ_CTR_IP4[iso]}; fi
	raw_send iso "$src" "$a" 8080 --count 3 >/dev/null
	sleep 0.3
	t_check "5a packet socket bypasses the in-netns table, host layer refuses: LAN $a got nothing" \
		count_is 0 srv_count udp "$a" 8080
done
for s in "${FORGED4[@]}" "${FORGED6[@]}"; do
	if [[ $s == *:* ]]; then dsts=("$AZ_WAN6" "$AZ_LAN6"); else dsts=("$AZ_WAN4" "$AZ_LAN4"); fi
	for d in "${dsts[@]}"; do raw_send iso "$s" "$d" 8080 --count 2 >/dev/null; done
done
sleep 0.3
for s in "${FORGED4[@]}" "${FORGED6[@]}"; do
	t_check "5a packet socket, forged source $s: nothing arrived at wan or lan" arrived_nowhere "$s"
done
t_check "5a the internet server logged only iso's real addresses" \
	count_is 0 bash -c "cat '$(srv_log udp "$AZ_WAN4" 8080)' '$(srv_log udp "$AZ_WAN6" 8080)' |
		grep -vcE 'peer=(${AZ_CTR_IP4[iso]}|${AZ_CTR_IP6[iso]}) '"

# ------------------------------------------------ b. CAP_NET_ADMIN attacker
spy_install
srv_reset
ctr_delete_table iso && t_pass "5b attacker: iso's in-netns table deleted" ||
	t_fail "5b attacker: delete iso's in-netns table" "nft failed"
# A source the socket may use must be local (IP_FREEBIND does not lift that
# for sending over IPv4): the attacker adds every forged address to eth0.
add_forged() {
	local s
	for s in "${FORGED4[@]}"; do
		if [[ $s == 10.77.0.99 ]]; then topo_add_addr iso "$s/24"; else topo_add_addr iso "$s/32"; fi || return 1
	done
	for s in "${FORGED6[@]}"; do
		if [[ $s == fd00:77::99 ]]; then topo_add_addr iso "$s/64"; else topo_add_addr iso "$s/128"; fi || return 1
	done
}
add_forged && t_pass "5b attacker: iso adds ${FORGED4[*]} ${FORGED6[*]} to its eth0" ||
	t_fail "5b attacker: add addresses" "ip addr add failed"

for s in "${FORGED4[@]}" "${FORGED6[@]}"; do
	if [[ $s == *:* ]]; then dsts=("$AZ_WAN6" "$AZ_LAN6"); else dsts=("$AZ_WAN4" "$AZ_LAN4"); fi
	for d in "${dsts[@]}"; do
		for p in tcp udp; do
			expect_blocked "5b --src $s → $p $d: not delivered" iso "$p" "$d" 8080 --src "$s"
		done
	done
done
for s in "${FORGED4[@]}" "${FORGED6[@]}"; do
	t_check "5b forged source $s: no packet arrived at wan or lan (SYNs included)" arrived_nowhere "$s"
done
# With several addresses in fd00:77::/64 the kernel may pick a forged one
# as the default source: name the real one.
for p in tcp udp; do
	read_opt=()
	[[ $p == tcp ]] && read_opt=(--read)
	expect_reachable "5b iso's real address still reaches $p $AZ_WAN4" iso "$p" "$AZ_WAN4" 8080 \
		--src "${AZ_CTR_IP4[iso]}" "${read_opt[@]}"
	expect_reachable "5b iso's real address still reaches $p $AZ_WAN6" iso "$p" "$AZ_WAN6" 8080 \
		--src "${AZ_CTR_IP6[iso]}" "${read_opt[@]}"
done
t_check "5b the internet servers logged only iso's real addresses" \
	count_is 0 bash -c "cat '$AZ_TMP'/srv/*-$AZ_WAN4-8080.log '$AZ_TMP'/srv/*-$AZ_WAN6-8080.log |
		grep -vcE 'peer=(${AZ_CTR_IP4[iso]}|${AZ_CTR_IP6[iso]}) '"
expect_refused_fast "5b real address, LAN still refused (v4)" iso tcp "$AZ_LAN4" 8080 --src "${AZ_CTR_IP4[iso]}"
expect_refused_fast "5b real address, LAN still refused (v6)" iso udp "$AZ_LAN6" 8080 --src "${AZ_CTR_IP6[iso]}"
bound_drops() {
	ip netns exec "$AZ_NS_HOST" nft list chain bridge alcatraz port |
		grep -F 'counter' | tail -n 1 | grep -Eq 'counter packets [1-9]'
}
t_check "5 the bridge port chain counted the forged frames" bound_drops

dump_on_failure iso
