#!/usr/bin/env bash
# 37-faults — the hook killed (SIGKILL) at random moments of its apply
# (issue 5, "Faults"; DESIGN.md point 10).  Each round is a fresh container
# netns whose init sleeps in it; the hook runs as the runtime runs it and is
# killed after a delay drawn uniformly over the duration of an uninterrupted
# apply (measured first, with tests/tools/azkillat: a shell's sleep costs as
# much as the whole apply).  After each kill:
#  - the fake runtime saw a failure (the hook's status is not 0);
#  - each layer is all or nothing: the table in the container's netns is
#    exactly the one an uninterrupted apply writes, or absent; the host
#    elements commented alcatraz:<id> are exactly those of an uninterrupted
#    apply, or none;
#  - no rule without a state record (the records come first, so gc can undo
#    any crash), and no netns table without the host elements (the table
#    comes last: it marks a whole attachment, see the reuse case below);
#  - then, as the runtime cleans up after a refused start — poststop (runc
#    runs it from destroy) on odd rounds, only the netns removed on even
#    rounds — and `alcatraz gc`: no element, no table, no record, no
#    temporary file in the state dir.
# Every 10th round starts without the host tables (the first container on a
# host, or after a flush): the kill then lands in the rebuild path.
# The rounds per phase (none / records only / + host elements / everything)
# are reported.
set -u
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"

require_root
require_cmd ip nft nsenter
require_hook
topo_up || exit 1

KILLAT=$AZ_BUILD/tools/azkillat
if [[ ! -x $KILLAT || $AZ_ROOT/tests/tools/azkillat.c -nt $KILLAT ]]; then
	make -s -C "$AZ_ROOT" B="$AZ_BUILD" "$KILLAT" >&2 ||
		{ t_fail setup "cannot build $KILLAT"; exit 1; }
fi

ROUNDS_MIN=${AZ_FAULT_ROUNDS:-100}	# killed rounds wanted
ROUNDS_MAX=$((ROUNDS_MIN * 3))
BUDGET_S=${AZ_FAULT_BUDGET_S:-150}
ANN=(alcatraz.network=on "alcatraz.network.lan-access=$AZ_LAN4:8080 udp://[$AZ_LAN6]:53"
	"alcatraz.network.proxy=$AZ_BR4:12345")
VETH=${AZ_RUN}kv
CTR_MAC=02:00:0a:4d:00:63	# fixed, so the link-local address (a host element) is too
HOST=/run/netns/$AZ_NS_HOST
echo "nameserver $AZ_BR4" >"$AZ_TMP/resolv.conf"

# round_up N [TAG] — the container of round N (TAG: another id for it): netns ${AZ_RUN}-kN with eth0
# 10.77.0.99 / fd00:77::63, host port $VETH on the bridge, an init asleep in
# it, bundle and state on disk (fakert.sh's writers).  Name: kN.
round_up() {
	local n=k$1 ns=${AZ_RUN}-k$1 pid i
	[[ -e /run/netns/$ns ]] || ip netns add "$ns" || return 1
	nsenter --net="/run/netns/$ns" sh -c 'for f in /proc/sys/net/ipv6/conf/all/accept_dad \
		/proc/sys/net/ipv6/conf/default/accept_dad; do echo 0 >$f; done' || return 1
	ip -n "$AZ_NS_HOST" -batch - <<-EOF || return 1
		link add $VETH type veth peer name eth0 address $CTR_MAC netns $ns
		link set $VETH master $AZ_BR
		link set $VETH up
	EOF
	ip -n "$ns" -batch - <<-EOF || return 1
		link set lo up
		addr add 10.77.0.99/24 dev eth0
		addr add fd00:77::63/64 dev eth0 nodad
		link set eth0 up
		route add default via $AZ_BR4
		route add default via $AZ_BR6
	EOF
	nsenter --net="/run/netns/$ns" sleep 600 </dev/null >/dev/null 2>&1 &
	pid=$!
	for ((i = 0; i < 200; i++)); do
		_fakert_in_netns "$pid" "$ns" && break
		sleep 0.005
	done
	_fakert_in_netns "$pid" "$ns" || { echo "round $1: init not in $ns" >&2; return 1; }
	# shellcheck disable=SC2034  # read by fakert.sh
	AZ_CTR_NS[$n]=$ns
	# shellcheck disable=SC2034
	AZ_CTR_RESOLV[$n]=$AZ_TMP/resolv.conf
	FAKERT_PID[$n]=$pid
	FAKERT_ID[$n]=$(printf '%sfault%s%s' "$AZ_RUN" "$1" "${2:-}" | sha256sum | cut -c1-64)
	mkdir -p "$AZ_TMP/bundle-$n"
	_fakert_write_config "$n"
	_fakert_state "$n" creating 1 "${ANN[@]}" >"$AZ_TMP/state-create"
	_fakert_state "$n" stopped 0 "${ANN[@]}" >"$AZ_TMP/state-stop"
}

# round_down N — the runtime's teardown: init gone, host port and netns
# deleted (the port explicitly, so the next round can take its name now).
round_down() {
	local n=k$1
	az_pid_stop "${FAKERT_PID[$n]}"
	ip -n "$AZ_NS_HOST" link del "$VETH" 2>/dev/null
	ip netns del "${AZ_RUN}-k$1" 2>/dev/null
	return 0
}

# hook_at DELAY_US STAGE STATE-FILE — the hook in the sim-host, killed after
# DELAY_US (-1: never); sets HOOK_RC and HOOK_OUT (its stderr, azkillat's
# line last).  Under the sanitizer layer a hook that may be killed runs
# without LeakSanitizer: a kill that lands in its exit-time leak check makes
# LSan's tracer report the kill itself ("Unable to get registers from
# thread N", or an empty log), not anything of ours.  Address and UB checks
# stay on; the runs that are never killed (-1) keep the leak check.
hook_at() {
	local san=${ASAN_OPTIONS:-}
	[[ -n $san && $1 != -1 ]] && san+=:detect_leaks=0
	HOOK_OUT=$(ASAN_OPTIONS=$san "$KILLAT" "$1" nsenter --net="$HOST" "$AZ_HOOK" "$2" <"$3" 2>&1 >/dev/null) &&
		HOOK_RC=0 || HOOK_RC=$?
}

# What of round N is there now: NS_NOW (its netns table, id normalised),
# HOST_NOW (host lines carrying its id, normalised), REC_NOW (its records).
observe() {
	local n=k$1 id ns
	id=${FAKERT_ID[$n]}
	ns=/run/netns/${AZ_RUN}-k$1
	NS_NOW=
	[[ -e $ns ]] && NS_NOW=$(nsenter --net="$ns" nft -s list table inet alcatraz 2>/dev/null | sed "s/$id/ID/g; s/${id:0:12}/SHORTID/g")
	HOST_NOW=$(nsenter --net="$HOST" nft -s list ruleset 2>/dev/null | grep -F "alcatraz:$id" | sed "s/$id/ID/g; s/${id:0:12}/SHORTID/g")
	REC_NOW=$(
		[[ -e $ALCATRAZ_STATE_DIR/containers/$id.json ]] && echo containers
		find "$ALCATRAZ_STATE_DIR/netns" -maxdepth 1 -name '*.json' 2>/dev/null | sed 's/.*/netns/'
	)
}

# leftovers N — nothing of round N remains (prints what does).
leftovers() {
	local id=${FAKERT_ID[k$1]} bad=0 n f
	observe "$1"
	[[ -z $NS_NOW ]] || { echo "table inet alcatraz in the netns"; bad=1; }
	n=$(grep -c . <<<"$HOST_NOW")
	((n == 0)) || { echo "$n host line(s) commented alcatraz:$id"; bad=1; }
	for f in "$ALCATRAZ_STATE_DIR"/netns/* "$ALCATRAZ_STATE_DIR"/containers/* "$ALCATRAZ_STATE_DIR"/*.tmp.*; do
		[[ -e $f ]] && { echo "state file ${f#"$ALCATRAZ_STATE_DIR"/}"; bad=1; }
	done
	return "$bad"
}

# ------------------------------------------- reference and the apply's time
# Uninterrupted applies: the first makes the host layer; every one must
# leave the same rules (that is what "the full rule set" is compared with).
durs=()
REF_NS='' REF_HOST=''
for ((r = 1; r <= 9; r++)); do
	round_up "$r" || { t_fail setup "round_up $r"; exit 1; }
	hook_at -1 createRuntime "$AZ_TMP/state-create"
	((HOOK_RC == 0)) || { t_fail "reference apply $r" "exit $HOOK_RC: $HOOK_OUT"; exit 1; }
	observe "$r"
	if ((r == 1)); then
		REF_NS=$NS_NOW REF_HOST=$HOST_NOW
		[[ -n $REF_NS && -n $REF_HOST ]] ||
			{ t_fail "reference apply" "no netns table or no host element"; exit 1; }
	else
		durs+=("$(sed -n 's/^azkillat: exited 0 after \([0-9]*\) us$/\1/p' <<<"$HOOK_OUT")")
		[[ $NS_NOW == "$REF_NS" && $HOST_NOW == "$REF_HOST" ]] ||
			{ t_fail "reference apply $r gives the same rules as the first" \
				"$(diff <(echo "$REF_NS$REF_HOST") <(echo "$NS_NOW$HOST_NOW") | head -5)"; exit 1; }
	fi
	hook_at -1 poststop "$AZ_TMP/state-stop"
	round_down "$r"
	t_check "reference apply $r: poststop leaves nothing" leftovers "$r" >/dev/null || exit 1
done
mapfile -t sorted < <(printf '%s\n' "${durs[@]}" | sort -n)
T_US=${sorted[${#sorted[@]} / 2]}
[[ $T_US =~ ^[0-9]+$ ]] && ((T_US > 0)) || { t_fail setup "cannot measure the apply: ${durs[*]}"; exit 1; }
t_pass "an uninterrupted apply (hook under nsenter) takes ${sorted[0]}..${sorted[-1]} us, median $T_US us: $(grep -c . <<<"$REF_NS") netns table lines, $(grep -c . <<<"$REF_HOST") host lines"
HOST_ELEMS=$(grep -c . <<<"$REF_HOST")

# ------------------------------------------------------------- the rounds
# Over the whole apply and past it: the last phase ("full") is only the
# moment between the netns transaction's commit and the hook's exit.
SPAN_US=$((T_US * 13 / 10))
declare -A PHASE=() PMIN=() PMAX=()
killed=0 completed=0 bad=0 rebuild_rounds=0
t_start=$(_t_now_ms)
for ((r = 10; killed < ROUNDS_MIN && r < 10 + ROUNDS_MAX; r++)); do
	if (($(_t_now_ms) - t_start > BUDGET_S * 1000)); then
		t_log "time budget of $BUDGET_S s spent after $((r - 10)) rounds"
		break
	fi
	round_up "$r" || { t_fail "round $r" "round_up"; bad=$((bad + 1)); break; }
	if ((r % 10 == 0)); then
		nsenter --net="$HOST" nft delete table inet alcatraz 2>/dev/null
		nsenter --net="$HOST" nft delete table bridge alcatraz 2>/dev/null
		rebuild_rounds=$((rebuild_rounds + 1))
	fi
	delay=$((SRANDOM % SPAN_US))
	hook_at "$delay" createRuntime "$AZ_TMP/state-create"
	observe "$r"
	[[ -n $REC_NOW ]] && rec=1 || rec=0
	[[ -n $NS_NOW ]] && ns=1 || ns=0
	[[ -n $HOST_NOW ]] && host=1 || host=0
	why=()
	[[ $ns == 0 || $NS_NOW == "$REF_NS" ]] ||
		why+=("netns table differs from the reference: $(diff <(echo "$REF_NS") <(echo "$NS_NOW") | head -4 | tr '\n' ' ')")
	[[ $host == 0 || $HOST_NOW == "$REF_HOST" ]] ||
		why+=("host elements differ from the reference ($(grep -c . <<<"$HOST_NOW") lines of $HOST_ELEMS)")
	((rec || !(ns || host))) || why+=("rules without a state record")
	((host || !ns)) || why+=("the netns table without the host elements (it is written last)")
	if [[ $HOOK_OUT == *"azkillat: killed"* ]]; then
		killed=$((killed + 1))
		((HOOK_RC != 0)) || why+=("killed, yet status 0")
		if ((ns && host)); then phase=full; elif ((host)); then phase=host; elif ((rec)); then phase=records; else phase=none; fi
		((r % 10 == 0)) && phase+="(rebuild)"
	elif ((HOOK_RC == 0)); then
		completed=$((completed + 1))
		phase=completed
		((ns && host && rec)) || why+=("the hook succeeded without the full rule set")
	else
		phase=failed
		why+=("the hook failed on its own (exit $HOOK_RC): $(tail -n 3 <<<"$HOOK_OUT" | tr '\n' ' ')")
	fi
	PHASE[$phase]=$((${PHASE[$phase]:-0} + 1))
	((${PMIN[$phase]:-999999999} < delay)) || PMIN[$phase]=$delay
	((${PMAX[$phase]:-0} > delay)) || PMAX[$phase]=$delay

	# the runtime refused the start: it cleans up
	if ((r % 2)); then
		hook_at -1 poststop "$AZ_TMP/state-stop"
		((HOOK_RC == 0)) || why+=("poststop exit $HOOK_RC: $HOOK_OUT")
	fi
	round_down "$r"
	out=$(in_host "$AZ_CLI" gc 2>&1) || why+=("alcatraz gc failed: $out")
	left=$(leftovers "$r") || why+=("left after $( ((r % 2)) && echo poststop+)gc: ${left//$'\n'/, }")
	if ((${#why[@]})); then
		bad=$((bad + 1))
		t_fail "round $r (kill after $delay us, phase $phase)" "${why[*]}"
		((bad >= 5)) && break
	fi
done
ms=$(($(_t_now_ms) - t_start))
summary=$(for k in "${!PHASE[@]}"; do echo "$k=${PHASE[$k]} (${PMIN[$k]}..${PMAX[$k]} us)"; done | sort | tr '\n' ' ')
t_log "rounds: $((r - 10)) in $ms ms; phases: $summary"
if ((killed >= ROUNDS_MIN)); then
	t_pass "$killed rounds killed at 0..$SPAN_US us (+$completed that finished first, $rebuild_rounds from no host layer) in $((ms / 1000)) s: ${summary% }"
else
	t_fail "at least $ROUNDS_MIN killed rounds" "only $killed in $((ms / 1000)) s (phases: $summary)"
fi
if ((bad == 0)); then
	t_pass "every round: status non-zero when killed, each layer all or nothing and recorded, nothing left after poststop/gc"
fi
# The kill must have landed before, between and after the record and host
# writes at least once, or the rounds proved little.  "full" (between the
# last commit and the exit) is a window of some microseconds: counted, not
# required.
for p in none records host; do
	n=$(( ${PHASE[$p]:-0} + ${PHASE[$p(rebuild)]:-0} ))
	((n > 0)) && t_pass "phase '$p' hit $n time(s)" || t_fail "phase '$p' hit" "never: widen the delays"
done

# ------------------------------------------ a dead record, a reused netns
# A killed hook (or a container gone without poststop) leaves its records
# until gc, which the hook runs at most every 5 minutes.  The kernel reuses
# a freed netns inode number at once, and a runtime may reuse a netns path
# (a named netns): the next container can get the very path and inode the
# dead record names.  It must still get its own rules, not be taken for a
# member of the dead one's pod (it did, before: no rule at all, exit 0).
r=900
round_up "$r" || { t_fail setup "round_up $r"; exit 1; }
hook_at -1 createRuntime "$AZ_TMP/state-create"
((HOOK_RC == 0)) || t_fail "reuse: first container" "exit $HOOK_RC: $HOOK_OUT"
old_ino=$(stat -L -c %i "/run/netns/${AZ_RUN}-k$r")
round_down "$r"
for ((i = 0; i < 100; i++)); do
	ip netns add "${AZ_RUN}-k$r" || break
	[[ $(stat -L -c %i "/run/netns/${AZ_RUN}-k$r") == "$old_ino" ]] && break
	ip netns del "${AZ_RUN}-k$r"
	sleep 0.05
done
# full_rule_set NAME — the last hook_at exited 0 and observe found both
# layers as the reference run has them.
full_rule_set() {
	if ((HOOK_RC == 0)) && [[ $NS_NOW == "$REF_NS" && $HOST_NOW == "$REF_HOST" ]]; then
		t_pass "$1"
	else
		t_fail "$1" "exit $HOOK_RC, netns table $([[ $NS_NOW == "$REF_NS" ]] && echo as the reference || echo "${NS_NOW:+not }absent"), $(grep -c . <<<"$HOST_NOW") of $HOST_ELEMS host lines; $(tail -n 2 <<<"$HOOK_OUT" | tr '\n' ' ')"
	fi
}

if [[ $(stat -L -c %i "/run/netns/${AZ_RUN}-k$r" 2>/dev/null) != "$old_ino" ]]; then
	t_skip "reuse: a new netns on the dead one's path and inode" "the kernel did not reuse inode $old_ino in 5 s (another netns took it?)"
else
	round_up "$r" second || { t_fail setup "round_up $r second"; exit 1; }
	hook_at -1 createRuntime "$AZ_TMP/state-create"
	observe "$r"
	full_rule_set "reuse: a new container on the dead one's netns path and inode $old_ino gets its full rule set"
	hook_at -1 poststop "$AZ_TMP/state-stop"
	round_down "$r"
	in_host "$AZ_CLI" gc >/dev/null 2>&1
	t_check "reuse: nothing left after poststop and gc" leftovers "$r"
fi

# A pod's netns outlives a member whose hook was killed before the netns
# table (phases "records" and "host"): the next member must not join that
# half attachment but get the whole rule set.  The kill is made exact here:
# a complete apply, then its netns table taken away.
r=901
round_up "$r" || { t_fail setup "round_up $r"; exit 1; }
hook_at -1 createRuntime "$AZ_TMP/state-create"
((HOOK_RC == 0)) || t_fail "pod: first member" "exit $HOOK_RC: $HOOK_OUT"
nsenter --net="/run/netns/${AZ_RUN}-k$r" nft delete table inet alcatraz
first=${FAKERT_ID[k$r]}
FAKERT_ID[k$r]=$(printf '%sfault%smember2' "$AZ_RUN" "$r" | sha256sum | cut -c1-64)
_fakert_state "k$r" creating 1 "${ANN[@]}" >"$AZ_TMP/state-create"
_fakert_state "k$r" stopped 0 "${ANN[@]}" >"$AZ_TMP/state-stop"
hook_at -1 createRuntime "$AZ_TMP/state-create"
observe "$r"
full_rule_set "pod: a member joining a netns whose first member's apply stopped before the netns table gets the full rule set"
t_check "pod: nothing of the first member's half attachment is left" count_is 0 host_elements_of "$first"
hook_at -1 poststop "$AZ_TMP/state-stop"
FAKERT_ID[k$r]=$first
_fakert_state "k$r" stopped 0 "${ANN[@]}" >"$AZ_TMP/state-stop"
hook_at -1 poststop "$AZ_TMP/state-stop"
round_down "$r"
in_host "$AZ_CLI" gc >/dev/null 2>&1
t_check "pod: nothing left after both poststops and gc" leftovers "$r"
