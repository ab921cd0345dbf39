#!/usr/bin/env bash
# 17-lifecycle — what alcatraz leaves behind over a container's life
# (DESIGN.md point 10 "removed only after it is gone", "Intended
# architecture": state records, shared netns, gc):
#  - poststop removes every element commented with the container's id and
#    the table in its netns, and its state records; a second poststop, or a
#    poststop for an unknown id, succeeds and changes nothing;
#  - createRuntime twice for one container is idempotent;
#  - containers sharing one netns (a pod, --network container:X) share one
#    attachment: the rules stay until the last member stops; a member whose
#    settings differ is refused, naming the other container, and its
#    poststop (runtimes call it after a failed create) leaves the others'
#    rules alone;
#  - a container that vanished without poststop (its netns gone) is
#    collected by the start that claims its address again, by the first
#    start 5 minutes after the last collection, or by alcatraz gc;
#  - after everything stopped: no "alcatraz:<id>" element in the sim-host
#    ruleset, netns/ and containers/ of the state dir empty.
set -u
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"

require_root
require_cmd ip nft nsenter
require_hook
topo_up || exit 1
topo_start_servers 8080 8081 || { t_fail setup "servers did not start"; exit 1; }
for c in a:2 b:3 p1:4 crash:5 d:6; do
	topo_add_ctr "${c%:*}" "${c#*:}" >/dev/null || { t_fail setup "topo_add_ctr $c"; exit 1; }
done

id() { fakert_id "$1"; }
ids_elements() { host_elements_of "$(id "$1")"; }
has_elements() {
	local n
	n=$(ids_elements "$1")
	((n > 0)) && return 0
	echo "no element commented alcatraz:$(id "$1")"
	return 1
}
stop_rc() {
	local out rc
	out=$(fakert_stop "$1" 2>&1) && rc=0 || rc=$?
	((rc == 0)) && return 0
	echo "poststop exit $rc: $out"
	return 1
}
record_of() { test -e "$ALCATRAZ_STATE_DIR/containers/$(id "$1").json"; }

# ------------------------------------------------------------ one container
fakert_create a alcatraz.network=on && fakert_create b alcatraz.network=on &&
	t_pass "create a and b" || { t_fail "create a and b" "$FAKERT_ERR"; exit 1; }
t_check "a's elements are in the sim-host ruleset" has_elements a
t_check "state: 2 netns records, 2 container records" \
	bash -c "[[ \$(find '$ALCATRAZ_STATE_DIR/netns' -name '*.json' | wc -l) == 2 &&
		\$(find '$ALCATRAZ_STATE_DIR/containers' -name '*.json' | wc -l) == 2 ]]"
n_a=$(ids_elements a)
fakert_create a alcatraz.network=on && t_pass "createRuntime twice for a: exit 0" ||
	t_fail "createRuntime twice for a" "$FAKERT_ERR"
t_check "createRuntime twice: the same $n_a elements, not more" count_is "$n_a" ids_elements a
t_check "createRuntime twice: still one netns record for a" count_is 2 state_count netns
expect_refused_fast "createRuntime twice: a is still isolated" a tcp "$AZ_LAN4" 8080

t_check "poststop a: exit 0" stop_rc a
t_check "poststop a: none of a's elements remain" count_is 0 ids_elements a
t_check_not "poststop a: the table in a's netns is gone" ctr_has_table a
t_check_not "poststop a: a's container record is gone" record_of a
t_check "poststop a: b keeps its elements" has_elements b
t_check "poststop a: b keeps its in-netns table" ctr_has_table b
expect_refused_fast "poststop a: b is still isolated" b tcp "$AZ_LAN4" 8080
t_check "poststop a twice: exit 0" stop_rc a
t_check "poststop a twice: b still has its elements" has_elements b
unknown_poststop() {
	printf '{"ociVersion":"1.0.2","id":"%s","status":"stopped","bundle":"%s"}' \
		"$(printf 'nosuch%s' "$AZ_RUN" | sha256sum | cut -c1-64)" "$AZ_TMP" | in_host "$AZ_HOOK" poststop
}
t_check "poststop of an id never seen: exit 0" unknown_poststop
t_check "poststop b: exit 0" stop_rc b
t_check "all stopped: no alcatraz:<id> element in the sim-host" count_is 0 host_elements_any
t_check "all stopped: netns/ of the state dir is empty" count_is 0 state_count netns
t_check "all stopped: containers/ of the state dir is empty" count_is 0 state_count containers

# ------------------------------------------------------------ shared netns
fakert_share p2 p1 && fakert_share p3 p1 || { t_fail setup "fakert_share"; exit 1; }
fakert_create p1 alcatraz.network=on "alcatraz.network.lan-access=$AZ_LAN4:8080" ||
	t_fail "pod: create p1" "$FAKERT_ERR"
if fakert_create p2 alcatraz.network=on "alcatraz.network.lan-access=$AZ_LAN4:8080"; then
	t_pass "pod: p2 joins p1's netns with the same settings: exit 0"
else
	t_fail "pod: p2 joins p1's netns with the same settings" "$FAKERT_ERR"
fi
t_check "pod: one netns record for the two" count_is 1 state_count netns
t_check "pod: two container records" count_is 2 state_count containers
t_check "pod: the shared address is in ctr4 once" \
	count_is 1 bash -c "ip netns exec '$AZ_NS_HOST' nft list set inet alcatraz ctr4 | grep -cw '${AZ_CTR_IP4[p1]}'"

if fakert_create p3 alcatraz.network=on "alcatraz.network.lan-access=$AZ_LAN4:8081"; then
	t_fail "pod: p3 with other settings is refused" "the hook exited 0"
else
	t_pass "pod: p3 with other settings is refused (exit non-zero)"
	[[ $FAKERT_ERR == *"$(id p1)"* || $FAKERT_ERR == *"$(id p2)"* ]] &&
		t_pass "pod: the error names the other container: $(tail -n 1 <<<"$FAKERT_ERR" | cut -c1-300)" ||
		t_fail "pod: the error names the other container" "$FAKERT_ERR"
fi
t_check_not "pod: refused p3 has no container record" record_of p3
t_check "pod: refused p3 did not change the netns record count" count_is 1 state_count netns
# runc calls poststop after a failed createRuntime
t_check "pod: poststop of the refused p3: exit 0" stop_rc p3
t_check "pod: after p3's poststop, the pod's elements stay" has_elements p1
t_check "pod: after p3's poststop, the in-netns table stays" ctr_has_table p1
expect_reachable "pod: the shared settings still apply (allowed $AZ_LAN4:8080)" p2 tcp "$AZ_LAN4" 8080
expect_refused_fast "pod: after p3's poststop, still isolated ($AZ_LAN4:8081)" p2 tcp "$AZ_LAN4" 8081

t_check "pod: poststop p1: exit 0" stop_rc p1
t_check "pod: p1 stopped, p2 runs: the rules stay (host elements)" \
	bash -c "(( \$(ip netns exec '$AZ_NS_HOST' nft list ruleset | grep -c 'comment \"alcatraz:') > 0 ))"
t_check "pod: p1 stopped, p2 runs: the in-netns table stays" ctr_has_table p2
expect_refused_fast "pod: p1 stopped, p2 runs: LAN still refused" p2 udp "$AZ_LAN6" 8080
ctr_delete_table p2
expect_refused_fast "pod: p1 stopped, p2 runs: the host layer still refuses" p2 tcp "$AZ_LAN6" 8080
t_check "pod: one container record left" count_is 1 state_count containers
t_check "pod: poststop p2: exit 0" stop_rc p2
t_check "pod: all stopped: no alcatraz:<id> element" count_is 0 host_elements_any
t_check "pod: all stopped: state dir empty" \
	bash -c "[[ \$(find '$ALCATRAZ_STATE_DIR/netns' '$ALCATRAZ_STATE_DIR/containers' -name '*.json' | wc -l) == 0 ]]"

# ------------------------------------------------------------ vanished
fakert_create crash alcatraz.network=on || t_fail "crash: create" "$FAKERT_ERR"
t_check "crash: elements present" has_elements crash
az_pid_stop "${FAKERT_PID[crash]}"
_topo_ns_del "${AZ_CTR_NS[crash]}"
t_check "crash: its netns is gone (no poststop)" test ! -e "/run/netns/${AZ_CTR_NS[crash]}"
fakert_create d alcatraz.network=on && t_pass "crash: the next container starts" ||
	t_fail "crash: the next container starts" "$FAKERT_ERR"
t_check "crash: the new container's elements are there" has_elements d
# A start reads no other record (issue 4: that grew with every container):
# the vanished one is collected when its address is claimed again...
topo_add_ctr crash2 5 >/dev/null || t_fail "crash2: setup" "topo_add_ctr crash2 5"
fakert_create crash2 alcatraz.network=on && t_pass "crash: a container on its address starts" ||
	t_fail "crash: a container on its address starts" "$FAKERT_ERR"
t_check "crash: the vanished container's elements were collected" count_is 0 ids_elements crash
t_check_not "crash: its container record was collected" record_of crash
t_check "crash: the container on its address has its elements" has_elements crash2
t_check "crash: two netns records (d's, crash2's)" count_is 2 state_count netns
# ... or by the start after AZ_GC_INTERVAL_S (300 s) since the last collection
az_pid_stop "${FAKERT_PID[crash2]}"
_topo_ns_del "${AZ_CTR_NS[crash2]}"
touch -d '-10 minutes' "$ALCATRAZ_STATE_DIR/gc.stamp"
fakert_create a alcatraz.network=on && t_pass "crash: a start after 10 minutes" ||
	t_fail "crash: a start after 10 minutes" "$FAKERT_ERR"
t_check "crash: that start collected the vanished container" count_is 0 ids_elements crash2
t_check "crash: two netns records (d's, a's)" count_is 2 state_count netns
if az_cli help gc >/dev/null 2>&1; then
	t_check "alcatraz gc (in the sim-host): exit 0" az_cli gc
	t_check "alcatraz gc: d keeps its elements" has_elements d
fi
t_check "poststop a: exit 0" stop_rc a
t_check "poststop d: exit 0" stop_rc d
t_check "end: no alcatraz:<id> element in the sim-host" count_is 0 host_elements_any
t_check "end: netns/ and containers/ are empty" \
	bash -c "[[ \$(find '$ALCATRAZ_STATE_DIR/netns' '$ALCATRAZ_STATE_DIR/containers' -name '*.json' | wc -l) == 0 ]]"

dump_on_failure d
