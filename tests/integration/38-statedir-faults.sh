#!/usr/bin/env bash
# 38-statedir-faults — fail closed when the environment fails (issue 5,
# "Faults"; DESIGN.md point 10), the hook run as the runtime runs it:
#  - the state dir read-only (a read-only bind mount), absent under a
#    read-only parent, or full (a tmpfs of 64 KiB, filled): the hook exits
#    non-zero with a message naming the state dir, applies nothing (no table
#    in the container's netns, no host element), leaves no record and no
#    temporary file;
#  - a transaction the kernel rejects with an object no renderer can know
#    of: a table of our name that another process owns (nft "flags owner":
#    only its creator's netlink socket may change or delete it) in the
#    sim-host, then in the container's netns — clear error ("Operation not
#    permitted", naming the layer), nothing left, and once the owner is
#    gone the same container starts isolated.  (18-fail-closed covers a
#    host set of the wrong type and a foreign table we may replace.)
# Mounts are made in private mount namespaces (unshare -m): they end with
# the hook's process, whatever happens to this script.
set -u
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"

require_root
require_cmd ip nft nsenter unshare mount
require_hook
topo_up || exit 1
topo_start_servers 8080 || { t_fail setup "servers did not start"; exit 1; }
topo_add_ctr s 2 >/dev/null || { t_fail setup "topo_add_ctr"; exit 1; }
_fakert_init s || { t_fail setup "fakert init"; exit 1; }
_fakert_write_config s
ID=$(fakert_id s)
_fakert_state s creating 1 alcatraz.network=on >"$AZ_TMP/state-create"
_fakert_state s stopped 0 alcatraz.network=on >"$AZ_TMP/state-stop"

# hook_in_mountns SETUP STATE_DIR STAGE — the hook in a private mount
# namespace where the shell snippet SETUP ran first ($D is STATE_DIR in it),
# in the sim-host netns.  Then, still in that namespace, the state files
# under $D (netns/, containers/, temporaries) are listed after a line
# "--files--".  Sets HOOK_RC, HOOK_ERR, STATE_FILES.
hook_in_mountns() {
	local out
	# shellcheck disable=SC2016
	out=$(unshare -m --propagation private sh -c '
		D=$1; set -e; eval "$2"; set +e
		nsenter --net="/run/netns/$3" env ALCATRAZ_STATE_DIR="$D" "$4" "$5" 2>&1 >/dev/null
		rc=$?
		echo "--files--"
		find "$D" \( -path "$D/netns/*" -o -path "$D/containers/*" -o -name "*.tmp.*" \) 2>/dev/null
		exit $rc' sh "$2" "$1" "$AZ_NS_HOST" "$AZ_HOOK" "$3" <"$AZ_TMP/state-create" 2>&1) &&
		HOOK_RC=0 || HOOK_RC=$?
	HOOK_ERR=${out%%--files--*}
	HOOK_ERR=${HOOK_ERR%$'\n'}
	STATE_FILES=${out#*--files--}
	STATE_FILES=${STATE_FILES#$'\n'}
}

# nothing_here — nothing of s applied in either netns.
nothing_here() {
	local n bad=0
	n=$(host_elements_of "$ID")
	((n == 0)) || { echo "$n host element(s) commented alcatraz:$ID"; bad=1; }
	# (a table of our name that is not ours may be there: see the owned ones)
	ctr_nft s list table inet alcatraz 2>/dev/null | grep -qF "alcatraz:$ID" &&
		{ echo "s's table inet alcatraz in its netns"; bad=1; }
	return "$bad"
}

# refused_naming NAME NEEDLE — the last hook_in_mountns failed, its message
# names NEEDLE, nothing applied, no state file left.
refused_naming() {
	local name=$1 needle=$2
	if ((HOOK_RC == 0)); then
		t_fail "$name: refused" "the hook exited 0"
		in_host "$AZ_HOOK" poststop <"$AZ_TMP/state-stop" >/dev/null 2>&1
	elif [[ $HOOK_ERR == *"$needle"* ]]; then
		t_pass "$name: refused (exit $HOOK_RC), naming $needle: $(tail -n 1 <<<"$HOOK_ERR" | cut -c1-220)"
	else
		t_fail "$name: the message names $needle" "exit $HOOK_RC: $HOOK_ERR"
	fi
	t_check "$name: nothing applied" nothing_here
	if [[ -z $STATE_FILES ]]; then
		t_pass "$name: no record, no temporary file"
	else
		t_fail "$name: no record, no temporary file" "$(tr '\n' ' ' <<<"$STATE_FILES")"
	fi
}

# A baseline: the same container, the same hook, a writable state dir: it
# starts (so the refusals below are the faults', nothing else's).
mkdir -p "$AZ_TMP/sd-ok"
hook_in_mountns ":" "$AZ_TMP/sd-ok" createRuntime
if ((HOOK_RC == 0)) && ctr_has_table s && (($(host_elements_of "$ID") > 0)); then
	t_pass "baseline: with a writable state dir the container starts isolated"
else
	t_fail "baseline: with a writable state dir the container starts isolated" "exit $HOOK_RC: $HOOK_ERR"
fi
ALCATRAZ_STATE_DIR=$AZ_TMP/sd-ok in_host "$AZ_HOOK" poststop <"$AZ_TMP/state-stop" >/dev/null 2>&1
t_check "baseline: poststop leaves nothing" nothing_here

# ------------------------------------------------------ read-only state dir
# One that a previous hook made (lock file, features, gc stamp in it), then
# the mount turned read-only, as after a remount or a full-disk emergency.
D=$AZ_TMP/sd-ro
mkdir -p "$D"
ALCATRAZ_STATE_DIR=$D in_host "$AZ_CLI" gc >/dev/null 2>&1	# makes the lock file
hook_in_mountns 'mount --bind "$D" "$D" && mount -o remount,bind,ro "$D"' "$D" createRuntime
refused_naming "state dir read-only" "$D"

# absent, and its parent read-only: it cannot be created
P=$AZ_TMP/sd-ro-parent
mkdir -p "$P"
hook_in_mountns 'mount --bind "${D%/*}" "${D%/*}" && mount -o remount,bind,ro "${D%/*}"' \
	"$P/state" createRuntime
refused_naming "state dir absent under a read-only parent" "$P/state"

# ------------------------------------------------------------ full state dir
# A tmpfs of 64 KiB, filled to the last byte: the directory and the lock
# file (no data) can still be made, no record can be written.
D=$AZ_TMP/sd-full
mkdir -p "$D"
hook_in_mountns 'mount -t tmpfs -o size=64k,mode=0700 azfull "$D" &&
	{ dd if=/dev/zero of="$D/filler" bs=4k 2>/dev/null || true; }' "$D" createRuntime
refused_naming "state dir full (tmpfs 64 KiB, filled)" "$D"
[[ $HOOK_ERR == *"No space left"* ]] && t_pass "state dir full: the message says why (ENOSPC)" ||
	t_fail "state dir full: the message says why" "$HOOK_ERR"

# ------------------------------------------------ transactions the kernel rejects
# owned_table WHERE — a table inet alcatraz owned by a process of ours in
# netns WHERE: nft -i keeps its socket, and so the ownership, while it reads
# a fifo this script holds open (fd 7); sets OWNER_PID.  The table goes when
# the owner exits.
owned_table() {
	local ns=$1 i f=$AZ_TMP/owner.fifo
	rm -f "$f" && mkfifo "$f" || return 1
	nsenter --net="/run/netns/$ns" nft -i <"$f" >/dev/null 2>&1 &
	OWNER_PID=$!
	az_pid_track "$OWNER_PID"
	exec 7>"$f"
	echo 'add table inet alcatraz { flags owner; }' >&7
	for ((i = 0; i < 100; i++)); do
		nsenter --net="/run/netns/$ns" nft list table inet alcatraz >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	return 1
}

# owner_gone — end of its input: the owner exits (and is stopped if not).
owner_gone() {
	exec 7>&-
	wait_for 2 bash -c "! kill -0 $OWNER_PID 2>/dev/null"
	az_pid_stop "$OWNER_PID"
}

for where in host ctr; do
	case $where in
	host) ns=$AZ_NS_HOST layer="host rules" ;;
	ctr) ns=$(topo_ns ctr:s) layer="network namespace" ;;
	esac
	in_host nft delete table inet alcatraz 2>/dev/null
	in_host nft delete table bridge alcatraz 2>/dev/null
	if ! owned_table "$ns"; then
		owner_gone
		t_skip "a table of our name owned by another process ($where)" "nft cannot make an owned table here"
		continue
	fi
	mkdir -p "$AZ_TMP/sd-own-$where"
	hook_in_mountns ":" "$AZ_TMP/sd-own-$where" createRuntime
	# the owned table itself stays (not ours to remove): count only our marks
	refused_naming "an owned table inet alcatraz in the $where netns: kernel says EPERM" "$layer"
	[[ $HOOK_ERR == *"Operation not permitted"* ]] &&
		t_pass "owned table ($where): the kernel's reason is in the message" ||
		t_fail "owned table ($where): the kernel's reason is in the message" "$HOOK_ERR"
	owner_gone
	wait_for 5 bash -c "! nsenter --net=/run/netns/$ns nft list table inet alcatraz" ||
		t_fail "owned table ($where): gone with its owner" "still there"
	hook_in_mountns ":" "$AZ_TMP/sd-own-$where" createRuntime
	if ((HOOK_RC == 0)); then
		t_pass "owned table ($where): once its owner is gone, the same container starts"
		expect_refused_fast "owned table ($where): and is isolated" s tcp "$AZ_LAN4" 8080
	else
		t_fail "owned table ($where): once its owner is gone, the same container starts" "$HOOK_ERR"
	fi
	ALCATRAZ_STATE_DIR=$AZ_TMP/sd-own-$where in_host "$AZ_HOOK" poststop <"$AZ_TMP/state-stop" >/dev/null 2>&1
	t_check "owned table ($where): poststop leaves nothing" nothing_here
done

dump_on_failure s
