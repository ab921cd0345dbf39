# shellcheck shell=bash
# fakert.sh — call alcatraz-hook exactly as an OCI runtime does, for
# containers made by topo.sh: a bundle with config.json, the OCI state on
# stdin, the hook run in the sim-host netns (the runtime's namespace).
#
#   fakert_create NAME [ANNOTATION=VALUE]...   createRuntime; returns the hook's exit code,
#                                              its stderr in $FAKERT_ERR
#   fakert_stop NAME                           poststop (no pid, status stopped)
#   fakert_config NAME JSON-FRAGMENT           extra top-level keys merged into config.json
#
# Each container gets a process sleeping in its netns (the "container init")
# whose pid is in the state, like runc/crun give it.  The hook's state dir
# and settings file are per run ($AZ_TMP/state, $AZ_TMP/alcatraz.json).

# shellcheck source=topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/topo.sh"

AZ_HOOK=${AZ_HOOK:-$AZ_BUILD/alcatraz-hook}
AZ_CLI=${AZ_CLI:-$AZ_BUILD/alcatraz}
export ALCATRAZ_STATE_DIR=${ALCATRAZ_STATE_DIR:-$AZ_TMP/state}
export ALCATRAZ_CONFIG=${ALCATRAZ_CONFIG:-$AZ_TMP/alcatraz.json}
declare -A FAKERT_PID=() FAKERT_ID=() FAKERT_EXTRA=()
FAKERT_ERR=

# in_host CMD... — run CMD in the sim-host netns the way a runtime runs
# hooks (nsenter keeps /sys and the cgroup mounts, unlike ip netns exec).
in_host() {
	nsenter --net="/run/netns/$AZ_NS_HOST" "$@"
}

# netns_bg NETNS CMD... — CMD in the background in NETNS, stopped by the
# test's cleanup; BG_PID is CMD's own pid.  (`in_host CMD &` would put a
# subshell in the background: its pid is not CMD's, and stopping it leaves
# CMD running.)  Redirections given to the call apply to CMD, but this
# shell opens them before CMD starts: not for a FIFO nobody writes to yet.
netns_bg() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@" &
	BG_PID=$!
	az_pid_track "$BG_PID"
}
# in_host_bg CMD... — the same in the sim-host.
in_host_bg() {
	netns_bg "$AZ_NS_HOST" "$@"
}

# az_cli ARGS... — the admin CLI against this run's state, in the sim-host.
az_cli() {
	in_host "$AZ_CLI" "$@"
}

_fakert_init() {
	local name=$1 ns
	[[ -n ${FAKERT_PID[$name]:-} ]] && return 0
	ns=$(topo_ns "ctr:$name") || return 1
	# the container's init: sleeps in its netns until the test ends
	ip netns exec "$ns" sleep 600 </dev/null >/dev/null 2>&1 &
	FAKERT_PID[$name]=$!
	az_pid_track "${FAKERT_PID[$name]}"
	# `ip netns exec` enters the netns after fork: wait until the pid is
	# there, as a runtime's init is before the hook runs.
	wait_for 5 _fakert_in_netns "${FAKERT_PID[$name]}" "$ns" ||
		{ echo "fakert: $name's init did not enter $ns" >&2; return 1; }
	FAKERT_ID[$name]=$(printf '%s%s' "$AZ_RUN" "$name" | sha256sum | cut -c1-64)
	mkdir -p "$AZ_TMP/bundle-$name"
}

_fakert_in_netns() {
	[[ $(stat -L -c %i "/proc/$1/ns/net" 2>/dev/null) == $(stat -L -c %i "/run/netns/$2" 2>/dev/null) ]]
}

fakert_config() {
	FAKERT_EXTRA[$1]=$2
}

_fakert_write_config() {
	local name=$1 ns extra
	ns=$(topo_ns "ctr:$name")
	extra=${FAKERT_EXTRA[$name]:-}
	cat >"$AZ_TMP/bundle-$name/config.json" <<-EOF
	{
	  "ociVersion": "1.0.2",
	  "process": {"args": ["sh"], "capabilities": {
	    "bounding": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE"],
	    "effective": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE"]}},
	  "root": {"path": "rootfs"},
	  "mounts": [{"destination": "/etc/resolv.conf", "type": "bind",
	              "source": "${AZ_CTR_RESOLV[$name]}", "options": ["bind"]}],
	  "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"},
	            {"type": "network", "path": "/run/netns/$ns"}]}${extra:+,
	  $extra}
	}
	EOF
}

# _fakert_state NAME STATUS [WITH_PID] ANNOTATION=VALUE...
_fakert_state() {
	local name=$1 status=$2 with_pid=$3
	shift 3
	local ann="" kv k v
	for kv in "$@"; do
		k=${kv%%=*}
		v=${kv#*=}
		ann+="${ann:+, }$(jq_str "$k"): $(jq_str "$v")"
	done
	printf '{"ociVersion": "1.0.2", "id": "%s", "status": "%s", %s"bundle": "%s", "annotations": {%s}}\n' \
		"${FAKERT_ID[$name]}" "$status" \
		"$( ((with_pid)) && echo "\"pid\": ${FAKERT_PID[$name]}, ")" \
		"$AZ_TMP/bundle-$name" "$ann"
}

# jq_str S — S as a JSON string (enough for test values).
jq_str() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\t'/\\t}
	printf '"%s"' "$s"
}

fakert_create() {
	local name=$1
	shift
	_fakert_init "$name" || return 1
	# AZ_APPLIER=1 (the applier layer, tests/applier/run.sh): the same
	# tests with the hook handing its work to a running applier
	if [[ ${AZ_APPLIER:-0} == 1 && ! -S $ALCATRAZ_STATE_DIR/applier.sock ]]; then
		applier_start || return 1
	fi
	_fakert_write_config "$name"
	FAKERT_ANN_LAST=("$@")
	local rc=0
	FAKERT_ERR=$(_fakert_state "$name" creating 1 "$@" | _fakert_hook createRuntime 2>&1 >/dev/null) || rc=$?
	t_cleanup_push "fakert_stop_quiet '$name'"
	return $rc
}

fakert_stop() {
	local name=$1
	[[ -n ${FAKERT_ID[$name]:-} ]] || return 0
	_fakert_state "$name" stopped 0 "${FAKERT_ANN_LAST[@]}" | _fakert_hook poststop
}

# _fakert_hook STAGE — the hook as the runtime runs it.  In the applier
# layer (AZ_APPLIER=1) it asks who did the work (ALCATRAZ_TIMING), notes it
# in $AZ_TMP/applier.runs for applier_report, and passes on the rest of its
# stderr unchanged.
_fakert_hook() {
	if [[ ${AZ_APPLIER:-0} != 1 ]]; then
		in_host "$AZ_HOOK" "$1"
		return
	fi
	local rc=0 err=$AZ_TMP/hook.err.$BASHPID
	ALCATRAZ_TIMING=1 in_host "$AZ_HOOK" "$1" 2>"$err" || rc=$?
	if grep -q "^alcatraz-hook: served by the applier" "$err"; then
		echo "served $1" >>"$AZ_TMP/applier.runs"
	else
		echo "alone $1 $(grep -m1 '^alcatraz-hook: applying alone' "$err")" >>"$AZ_TMP/applier.runs"
	fi
	grep -v "^alcatraz-hook: " "$err" >&2
	rm -f "$err"
	return "$rc"
}

fakert_stop_quiet() {
	fakert_stop "$1" >/dev/null 2>&1 || true
}

# fakert_id NAME — the container id given to the hook.
fakert_id() {
	echo "${FAKERT_ID[$1]}"
}

# fakert_share NAME2 NAME1 — NAME2 is a second container in NAME1's netns (a
# pod member, --network container:NAME1): same netns, veth, addresses and
# resolv.conf; its own init process, bundle and id.  Then fakert_create NAME2.
fakert_share() {
	local n2=$1 n1=$2
	[[ -n ${AZ_CTR_NS[$n1]:-} ]] || { echo "fakert_share: no ctr '$n1'" >&2; return 1; }
	[[ -z ${AZ_CTR_NS[$n2]:-} ]] || { echo "fakert_share: '$n2' exists" >&2; return 1; }
	AZ_CTR_NS[$n2]=${AZ_CTR_NS[$n1]}
	AZ_CTR_VETH[$n2]=${AZ_CTR_VETH[$n1]}
	AZ_CTR_IP4[$n2]=${AZ_CTR_IP4[$n1]}
	AZ_CTR_IP6[$n2]=${AZ_CTR_IP6[$n1]}
	AZ_CTR_RESOLV[$n2]=${AZ_CTR_RESOLV[$n1]}
}

# applier_start [NETNS [PROGRAM [LOG]]] — `alcatraz-apply serve` (the
# long-lived applier; PROGRAM, default the built one) in NETNS (default the
# sim-host), on this run's state dir and settings, its stderr appended to
# LOG (default $AZ_TMP/applier.log); waits until it serves.  Returns 1 if
# it did not come up.  applier_stop ends it (also at exit); APPLIER_PID.
APPLIER_PID=
applier_start() {
	applier_stop
	mkdir -p "$ALCATRAZ_STATE_DIR"
	local ns=${1:-$AZ_NS_HOST} prog=${2:-$(dirname "$AZ_HOOK")/alcatraz-apply}
	_APPLIER_LOG=${3:-$AZ_TMP/applier.log}
	_APPLIER_UP0=$(grep -c "applier serving" "$_APPLIER_LOG" 2>/dev/null)
	netns_bg "$ns" "$prog" serve 2>>"$_APPLIER_LOG"
	APPLIER_PID=$BG_PID
	if [[ ${AZ_APPLIER:-0} == 1 && -z ${_APPLIER_REPORT:-} ]]; then
		_APPLIER_REPORT=1
		t_cleanup_push applier_report
	fi
	if ! wait_for 5 _applier_up || ! kill -0 "$APPLIER_PID" 2>/dev/null; then
		echo "applier did not come up: $(tail -n 3 "$_APPLIER_LOG")" >&2
		return 1
	fi
}
# up: it said it serves (a dead applier's socket file may still be there)
_applier_up() {
	(($(grep -c "applier serving" "$_APPLIER_LOG" 2>/dev/null) > ${_APPLIER_UP0:-0})) ||
		! kill -0 "$APPLIER_PID" 2>/dev/null
}
applier_stop() {
	[[ -n $APPLIER_PID ]] && az_pid_stop "$APPLIER_PID"
	APPLIER_PID=
	return 0
}

# applier_report — (the applier layer) at exit: the applier must have
# served every hook run of this test made through fakert, or the layer
# proved less than it says.
applier_report() {
	applier_stop
	local served alone
	served=$(grep -c '^served' "$AZ_TMP/applier.runs" 2>/dev/null)
	alone=$(grep -c '^alone' "$AZ_TMP/applier.runs" 2>/dev/null)
	if ((${served:-0} > 0 && ${alone:-0} == 0)); then
		t_pass "applier: it served all $served hook runs of this test"
	else
		t_fail "applier: it served every hook run" \
			"served ${served:-0}, alone ${alone:-0}: $(grep -m2 '^alone' "$AZ_TMP/applier.runs" 2>/dev/null | tr '\n' ' ') $(tail -n 2 "$AZ_TMP/applier.log" 2>/dev/null)"
	fi
}
