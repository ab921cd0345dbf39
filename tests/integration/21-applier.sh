#!/usr/bin/env bash
# 21-applier — the long-lived applier (`alcatraz-apply serve`, issue 4): the
# hook hands its work to it, and when it cannot (none, dead, hung, in
# another netns, another binary) the hook applies alone; never a container
# without its rules, never rules in the wrong netns.
#  - served: createRuntime and poststop through the applier (the answer
#    says so under ALCATRAZ_TIMING), isolation proved with packets, a
#    refusal's message reaches the runtime unchanged, nothing left after;
#  - a dead applier's socket (kill -9): the hook applies alone at once;
#  - a hung applier (SIGSTOP): the hook applies alone after its wait, and
#    the request the applier takes up later changes nothing (idempotent);
#  - an applier in another network namespace, or running another copy of
#    alcatraz-apply: it answers "not here", the hook applies alone, in the
#    right netns;
#  - an applier whose program file was replaced (an upgrade) exits after
#    its next answer, for systemd to start the new one;
#  - a second applier refuses to start; SIGTERM removes the socket; a
#    non-root process cannot reach the socket; `alcatraz status` says
#    whether one runs.
set -u
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"

require_root
require_cmd ip nft nsenter setpriv socat flock
require_hook
APPLY=$(dirname "$AZ_HOOK")/alcatraz-apply
[[ -x $APPLY ]] || { t_fail setup "$APPLY is not built"; exit 1; }
topo_up || exit 1
topo_start_servers 8080 || { t_fail setup "servers did not start"; exit 1; }
for c in a:2 b:3 c:4 d:5 e:6; do
	topo_add_ctr "${c%:*}" "${c#*:}" >/dev/null || { t_fail setup "topo_add_ctr $c"; exit 1; }
done
SOCK=$ALCATRAZ_STATE_DIR/applier.sock

# must_start WHAT [applier_start ARGS] — or FAIL and stop here
must_start() {
	local what=$1
	shift
	applier_start "$@" || { t_fail "$what" "$(tail -n 3 "${_APPLIER_LOG:-/dev/null}")"; exit 1; }
}

# create_via NAME WANT — createRuntime of NAME; WANT "served" or "alone":
# who did the work, read from the ALCATRAZ_TIMING answer.
create_via() {
	local c=$1 want=$2 got
	if ! ALCATRAZ_TIMING=1 fakert_create "$c" alcatraz.network=on; then
		t_fail "$c: createRuntime" "$FAKERT_ERR"
		return 1
	fi
	if [[ $FAKERT_ERR == *"served by the applier"* ]]; then got=served; else got=alone; fi
	if [[ $got == "$want" ]]; then
		t_pass "$c: createRuntime exit 0, $([[ $got == served ]] && echo "served by the applier" || echo "applied by the hook alone")$(grep -o 'applying alone: .*' <<<"$FAKERT_ERR" | head -n1 | sed 's/^/ (/; s/$/)/')"
	else
		t_fail "$c: createRuntime $want" "it was $got: $(head -n 3 <<<"$FAKERT_ERR")"
	fi
}

# isolated NAME WHAT — packets: the internet reached, the LAN refused.
isolated() {
	expect_reachable "$1: $2: internet reached" "$1" tcp "$AZ_WAN4" 8080
	expect_refused_fast "$1: $2: LAN refused" "$1" tcp "$AZ_LAN4" 8080
}

clean_after_stop() {
	local c=$1 id n
	id=$(fakert_id "$c")
	fakert_stop "$c" >/dev/null 2>&1
	n=$(host_elements_of "$id")
	((n == 0)) || { echo "$n host element(s) of $c left"; return 1; }
	[[ ! -e $ALCATRAZ_STATE_DIR/containers/$id.json ]] || { echo "container record of $c left"; return 1; }
	! ctr_has_table "$c" || { echo "table in $c's netns left"; return 1; }
}

# ------------------------------------------------------------- served
must_start "applier starts"
t_pass "applier starts: $SOCK ($(stat -c %A "$SOCK"))"
create_via a served
isolated a "served"
n_a=$(host_elements_of "$(fakert_id a)")
t_check "a: host elements in place ($n_a)" test "$n_a" -gt 0
if ALCATRAZ_TIMING=1 fakert_create b alcatraz.network=on alcatraz.network.lan-access=10.0.0.0/33; then
	t_fail "served refusal: exit non-zero" "exit 0"
elif [[ $FAKERT_ERR == *"served by the applier"* && $FAKERT_ERR == *"refusing to start the container"*"10.0.0.0/33"* ]]; then
	t_pass "served refusal: exit 1, the applier's message on the hook's stderr: $(tail -n1 <<<"$FAKERT_ERR" | cut -c1-160)"
else
	t_fail "served refusal: message" "$FAKERT_ERR"
fi
t_check "served refusal: nothing of b left" clean_after_stop b
out=$(ALCATRAZ_TIMING=1 fakert_stop a 2>&1)
t_check "a: poststop served by the applier" grep -q "served by the applier" <<<"$out"
t_check "a: poststop through the applier leaves nothing" clean_after_stop a

# ------------------------------------------------------------- dead applier
kill -KILL "$APPLIER_PID"
wait "$APPLIER_PID" 2>/dev/null
t_check "kill -9: the socket file stays behind" test -S "$SOCK"
t0=$(_t_now_ms)
create_via c alone
dt=$(($(_t_now_ms) - t0))
t_check "c: the hook alone after a dead applier: no wait ($dt ms < 2000)" test "$dt" -lt 2000
isolated c "dead applier"
t_check "c: nothing left after poststop" clean_after_stop c

# ------------------------------------------------------------- hung applier
must_start "applier restarts over the dead one's socket"
t_pass "a new applier starts over the dead one's socket"
kill -STOP "$APPLIER_PID"
t0=$(_t_now_ms)
create_via d alone
dt=$(($(_t_now_ms) - t0))
t_check "d: the hook alone after a hung applier, after its wait ($dt ms, 8 s + the apply)" \
	bash -c "((dt = $dt, dt >= 8000 && dt < 15000))"
isolated d "hung applier"
n_d=$(host_elements_of "$(fakert_id d)")
kill -CONT "$APPLIER_PID"
# the applier now takes up d's request, whose hook is gone: same rules
sleep 0.5
t_check "d: the late request changed nothing ($n_d host elements)" count_is "$n_d" host_elements_of "$(fakert_id d)"
applier_stop
t_check "d: the applier dropped the late request (its hook was gone)" \
	grep -q 'applier stopped after 0 requests served, 0 not served, 1 dropped' "$AZ_TMP/applier.log"
must_start "applier restarts"
t_check "d: one netns record" count_is 1 state_count netns
isolated d "after the late request"
t_check "d: nothing left after poststop" clean_after_stop d

# ------------------------------------------------------------- slow applier
# The applier waits for the state lock (held here, as a long gc would)
# longer than the hook waits for it: the hook applies alone once the lock
# is free, and the applier's late request, refused at the lock, must not
# undo what came since (a poststop undoing the container's next start).
must_start "applier restarts"
create_via b served
flock -x "$ALCATRAZ_STATE_DIR/lock" sleep 10 &
lk=$!
az_pid_track "$lk"
sleep 0.2
t0=$(_t_now_ms)
out=$(ALCATRAZ_TIMING=1 fakert_stop b 2>&1)
dt=$(($(_t_now_ms) - t0))
t_check "b: poststop with the applier stuck at the lock: applied alone after the lock ($dt ms)" \
	bash -c "grep -q 'applying alone: the applier did not answer in time' <<<'$out' && (($dt >= 9000))"
create_via b served
wait "$lk" 2>/dev/null
sleep 0.5
isolated b "started again after a poststop whose applier request came late"
t_check "b: its rules are all there" test "$(host_elements_of "$(fakert_id b)")" -eq "$n_a"
applier_stop
t_check "b: the late poststop was dropped at the lock" \
	grep -q 'requests served, 0 not served, 1 dropped' "$AZ_TMP/applier.log"
t_check "b: nothing left after poststop" clean_after_stop b

# ------------------------------------------------------------- not here
must_start "an applier in the LAN netns starts" "$AZ_NS_LAN" "$APPLY" "$AZ_TMP/applier-lan.log"
create_via e alone
t_check "e: the applier in another netns said so" grep -q "another network namespace" <<<"$FAKERT_ERR"
isolated e "applier in another netns"
t_check "e: no alcatraz table in the LAN netns" \
	bash -c "! ip netns exec '$AZ_NS_LAN' nft list tables | grep -q alcatraz"
t_check "e: nothing left after poststop" clean_after_stop e
applier_stop

mkdir -p "$AZ_TMP/copy"
cp "$APPLY" "$AZ_TMP/copy/alcatraz-apply"
must_start "a copied applier starts" "$AZ_NS_HOST" "$AZ_TMP/copy/alcatraz-apply" "$AZ_TMP/applier-copy.log"
copy_pid=$APPLIER_PID
create_via a alone
t_check "a: an applier of another file said so" grep -q "another file" <<<"$FAKERT_ERR"
isolated a "applier of another file"
t_check "a: nothing left after poststop" clean_after_stop a
# an upgrade: a new file at the applier's path; at its next request it
# answers, then exits non-zero for the service manager to start the new one
cp "$APPLY" "$AZ_TMP/copy/alcatraz-apply.new"
mv -f "$AZ_TMP/copy/alcatraz-apply.new" "$AZ_TMP/copy/alcatraz-apply"
create_via a alone
t_check "upgrade: the old applier exits after answering" wait_for 3 bash -c "! kill -0 $copy_pid"
wait "$copy_pid" 2>/dev/null
rc=$?
t_check "upgrade: it exits non-zero ($rc) saying why" \
	bash -c "(($rc != 0)) && grep -q 'was replaced' '$AZ_TMP/applier-copy.log'"
t_check "upgrade: a: nothing left after poststop" clean_after_stop a
APPLIER_PID=

# ------------------------------------------------------------- lifecycle
must_start "applier starts again"
out=$(nsenter --net="/run/netns/$AZ_NS_HOST" "$APPLY" serve 2>&1) && rc=0 || rc=$?
if ((rc != 0)) && [[ $out == *"already serves"* ]]; then
	t_pass "a second applier refuses to start: exit $rc: $out"
else
	t_fail "a second applier refuses to start" "exit $rc: $out"
fi
t_check "the first still serves after that" test -S "$SOCK"
t_check "the socket is root's, mode 0700" bash -c "[[ \$(stat -c '%U %a' '$SOCK') == 'root 700' ]]"
# only the socket's own mode in the way: the directories above it opened
# for the moment (the test's temp dir is 0700)
modes=$(stat -c %a "$AZ_TMP" "$ALCATRAZ_STATE_DIR" | tr '\n' ' ')
chmod 0711 "$AZ_TMP" "$ALCATRAZ_STATE_DIR"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups socat -u /dev/null "UNIX-CONNECT:$SOCK,type=5" 2>&1 &&
	echo connected)
read -r m1 m2 <<<"$modes"
chmod "$m1" "$AZ_TMP"
chmod "$m2" "$ALCATRAZ_STATE_DIR"
if [[ $out == *"Permission denied"* && $out != *connected ]]; then
	t_pass "a non-root process cannot connect (directories open, the socket's mode refuses): ${out##*: }"
else
	t_fail "a non-root process cannot connect" "$out"
fi
kill -TERM "$APPLIER_PID"
wait "$APPLIER_PID"
rc=$?
APPLIER_PID=
t_check "SIGTERM: exit 0 ($rc)" test "$rc" -eq 0
t_check "SIGTERM: the socket is removed" test ! -e "$SOCK"
t_check "SIGTERM: it said how many it served" grep -q "applier stopped after [0-9]* requests served" "$AZ_TMP/applier.log"
t_check "nothing of any container left" count_is 0 state_count netns
t_check "alcatraz status: not running, the hook applies alone" bash -c "'$AZ_CLI' status | grep -q '^applier *not running: the hook applies alone'"
