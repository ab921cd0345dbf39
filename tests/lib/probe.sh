# shellcheck shell=bash disable=SC2034  # the variables are for the tests
# probe.sh — assertions about real traffic, for the integration tests of
# DESIGN.md "What isolated means".  Each expect_* prints exactly one result
# line (PASS/FAIL) and returns 0/1; none of them ends the script.
#
#   expect_reachable    NAME WHERE PROTO ADDR PORT [azprobe opts]
#   expect_refused_fast NAME WHERE PROTO ADDR PORT [azprobe opts]
#   expect_blocked      NAME WHERE PROTO ADDR PORT [azprobe opts]
#
# WHERE is a ctr name, ctr:NAME, host, lan or wan (topo_ns).  ADDR:PORT must
# be a server started with topo_serve / topo_start_servers: "saw nothing" is
# read from its log, and a refusal only means something when a server was
# there to be reached.
#
# "refused fast" = TCP: a reset (ECONNREFUSED); anything else: ICMP
# admin-prohibited or a local reject (EHOSTUNREACH, EACCES, EPERM) — within
# AZ_FAST_MS (500) ms, and the server logged nothing from the attempt.
# "blocked" = not reached by any means (a drop is allowed: this kernel has no
# bridge-family reject), the server logged nothing.  TCP probes read the
# server's greeting (--read) unless other options are given, so "reachable"
# means a round trip through the application, not only a handshake.

# shellcheck source=fakert.sh
source "$(dirname "${BASH_SOURCE[0]}")/fakert.sh"

AZ_FAST_MS=${AZ_FAST_MS:-500}
AZ_DROP_MS=${AZ_DROP_MS:-1000}
# Servers of these tests live at most this long (the trap ends them sooner).
AZ_SERVER_SECONDS=${AZ_SERVER_SECONDS:-180}

PROBE_LINE='' PROBE_RC='' PROBE_VERDICT='' PROBE_MS=''

# probe_from WHERE PROTO ADDR PORT [opts] — run azprobe in WHERE; sets
# PROBE_LINE, PROBE_RC, PROBE_VERDICT, PROBE_MS.  Always returns 0.
probe_from() {
	local ns
	ns=$(topo_ns "$1") || { PROBE_LINE="error 0 no netns $1" PROBE_RC=5 PROBE_VERDICT=error PROBE_MS=0; return 0; }
	shift
	PROBE_LINE=$(ip netns exec "$ns" "$AZPROBE" "$@" 2>&1) && PROBE_RC=0 || PROBE_RC=$?
	PROBE_LINE=${PROBE_LINE//$'\n'/ }
	PROBE_VERDICT=${PROBE_LINE%% *}
	PROBE_MS=$(awk '{print $2}' <<<"$PROBE_LINE")
	[[ $PROBE_MS =~ ^[0-9]+$ ]] || PROBE_MS=0
	return 0
}

# _probe_opts PROTO [opts] — the options, with --read added for a bare TCP probe.
_probe_opts() {
	local proto=$1
	shift
	if [[ $proto == tcp && $# -eq 0 ]]; then
		echo --read
	elif (($#)); then
		printf '%s\n' "$@"
	fi
}

_srv_log_exists() { [[ -e $(srv_log "$1" "$2" "$3") ]]; }
_srv_grew() { (($(srv_count "$1" "$2" "$3") > $4)); }

# expect_reachable NAME WHERE PROTO ADDR PORT [opts] — a round trip
# succeeded and (when a server of ours is there) the server logged it.
expect_reachable() {
	local name=$1 where=$2 proto=$3 addr=$4 port=$5 before=0 opts
	shift 5
	mapfile -t opts < <(_probe_opts "$proto" "$@")
	_srv_log_exists "$proto" "$addr" "$port" && before=$(srv_count "$proto" "$addr" "$port")
	probe_from "$where" "$proto" "$addr" "$port" "${opts[@]}"
	if [[ $PROBE_VERDICT != ok ]]; then
		t_fail "$name" "$where → $proto $addr:$port: $PROBE_LINE (expected ok)"
		return 1
	fi
	if _srv_log_exists "$proto" "$addr" "$port" &&
		! wait_for 1 _srv_grew "$proto" "$addr" "$port" "$before"; then
		t_fail "$name" "$where → $proto $addr:$port: $PROBE_LINE, but the server logged nothing"
		return 1
	fi
	t_pass "$name (ok in $PROBE_MS ms)"
}

# expect_refused_fast NAME WHERE PROTO ADDR PORT [opts] — see the top.
# WANT="v1|v2" overrides the accepted verdicts.
expect_refused_fast() {
	local name=$1 where=$2 proto=$3 addr=$4 port=$5 before after want opts
	shift 5
	if [[ $proto == tcp ]]; then want=${WANT:-refused}; else want=${WANT:-unreachable}; fi
	if ! _srv_log_exists "$proto" "$addr" "$port"; then
		t_fail "$name" "no server listens on $proto $addr:$port: a refusal would prove nothing"
		return 1
	fi
	mapfile -t opts < <(_probe_opts "$proto" "$@")
	before=$(srv_count "$proto" "$addr" "$port")
	probe_from "$where" "$proto" "$addr" "$port" --timeout 2000 "${opts[@]}"
	sleep 0.1
	after=$(srv_count "$proto" "$addr" "$port")
	if [[ "|$want|" != *"|$PROBE_VERDICT|"* ]]; then
		t_fail "$name" "$where → $proto $addr:$port: $PROBE_LINE (expected $want within $AZ_FAST_MS ms; server logged $((after - before)))"
		return 1
	fi
	if ((PROBE_MS > AZ_FAST_MS)); then
		t_fail "$name" "$where → $proto $addr:$port: $PROBE_LINE: refused, but slowly (> $AZ_FAST_MS ms)"
		return 1
	fi
	if ((after != before)); then
		t_fail "$name" "$where → $proto $addr:$port: $PROBE_LINE, but the server logged $((after - before)) line(s): $(tail -n 1 "$(srv_log "$proto" "$addr" "$port")")"
		return 1
	fi
	t_pass "$name (${PROBE_VERDICT} in $PROBE_MS ms: ${PROBE_LINE#* * }; server saw nothing)"
}

# expect_blocked NAME WHERE PROTO ADDR PORT [opts] — not reached: refused or
# dropped (timeout after AZ_DROP_MS), and the server logged nothing.
expect_blocked() {
	local name=$1 where=$2 proto=$3 addr=$4 port=$5 before after opts how
	shift 5
	if ! _srv_log_exists "$proto" "$addr" "$port"; then
		t_fail "$name" "no server listens on $proto $addr:$port: a failure would prove nothing"
		return 1
	fi
	mapfile -t opts < <(_probe_opts "$proto" "$@")
	before=$(srv_count "$proto" "$addr" "$port")
	probe_from "$where" "$proto" "$addr" "$port" --timeout "$AZ_DROP_MS" "${opts[@]}"
	sleep 0.2
	after=$(srv_count "$proto" "$addr" "$port")
	case $PROBE_VERDICT in
	refused | unreachable | timeout) ;;
	*)
		t_fail "$name" "$where → $proto $addr:$port: $PROBE_LINE (expected refused or dropped; server logged $((after - before)))"
		return 1
		;;
	esac
	if ((after != before)); then
		t_fail "$name" "$where → $proto $addr:$port: $PROBE_LINE, but the server logged $((after - before)) line(s): $(tail -n 1 "$(srv_log "$proto" "$addr" "$port")")"
		return 1
	fi
	if [[ $PROBE_VERDICT == timeout ]]; then how="dropped: no answer in $PROBE_MS ms"; else how="$PROBE_LINE"; fi
	t_pass "$name ($how; server saw nothing)"
}

# srv_last_peer PROTO ADDR PORT — the peer address of the last logged line.
srv_last_peer() {
	local log
	log=$(srv_log "$1" "$2" "$3")
	[[ -s $log ]] || return 1
	tail -n 1 "$log" | sed -n 's/^peer=\([^ ]*\) .*/\1/p'
}

# count_is N CMD... — CMD prints the number N (else says what it printed).
count_is() {
	local want=$1 got
	shift
	got=$("$@")
	[[ $got == "$want" ]] && return 0
	echo "$* printed '$got', expected '$want'"
	return 1
}

# ------------------------------------------------------------ nft state

# ctr_nft CTR ARGS... — nft inside a container's netns.
ctr_nft() {
	local ns
	ns=$(topo_ns "ctr:$1") || return 1
	shift
	ip netns exec "$ns" nft "$@"
}

# ctr_has_table CTR — the container's netns holds table inet alcatraz.
ctr_has_table() { ctr_nft "$1" list table inet alcatraz >/dev/null 2>&1; }

# ctr_delete_table CTR — what an attacker with CAP_NET_ADMIN inside the
# container does first.
ctr_delete_table() { ctr_nft "$1" delete table inet alcatraz; }

# host_ruleset — the sim-host's ruleset (stateless).
host_ruleset() { ip netns exec "$AZ_NS_HOST" nft -s list ruleset 2>/dev/null; }

# host_elements_of ID — how many lines of the sim-host ruleset carry
# "alcatraz:ID" (each element is commented with its container id).
host_elements_of() { host_ruleset | grep -cF -- "alcatraz:$1" || true; }

# host_elements_any — lines carrying any "alcatraz:<id>" comment.
host_elements_any() { host_ruleset | grep -cE -- 'comment "alcatraz:[0-9a-zA-Z]' || true; }

# state_count SUB — files in $ALCATRAZ_STATE_DIR/SUB (netns or containers).
state_count() {
	local d=$ALCATRAZ_STATE_DIR/$1
	[[ -d $d ]] || { echo 0; return 0; }
	find "$d" -maxdepth 1 -type f -name '*.json' | wc -l
}

# require_hook — FAIL the script unless the hook is built.
require_hook() {
	if [[ ! -x $AZ_HOOK ]]; then
		t_fail "$AZ_TEST_NAME" "$AZ_HOOK is not built (run make)"
		exit 1
	fi
}

# dump_on_failure CTR... — the rules and addresses, on stderr, when any
# check of the script failed (for the report).
dump_on_failure() {
	local c
	((T_FAILED)) || return 0
	topo_dump
	for c in "$@"; do
		echo "## nft ruleset in ctr $c (${AZ_CTR_NS[$c]:-?})" >&2
		ctr_nft "$c" list ruleset >&2 2>/dev/null
	done
	return 0
}

# ------------------------------------------------------------ packet socket

AZRAW=$AZ_BUILD/tools/azraw
azraw_bin() {
	local src=$AZ_ROOT/tests/tools/azraw.c
	if [[ ! -x $AZRAW || $src -nt $AZRAW ]]; then
		make -s -C "$AZ_ROOT" B="$AZ_BUILD" "$AZRAW" >&2 ||
			{ mkdir -p "${AZRAW%/*}" && "${CC:-cc}" -O2 -std=gnu17 -Wall -Wextra -Werror \
				-D_GNU_SOURCE -o "$AZRAW.$$" "$src" && mv -f "$AZRAW.$$" "$AZRAW"; } ||
			return 1
	fi
	echo "$AZRAW"
}

# raw_send CTR SRC DST DPORT [azraw opts] — inject a UDP datagram from the
# container's eth0 with a packet socket (no IP stack, no netfilter in the
# container's netns), addressed to the bridge's MAC (the gateway).
raw_send() {
	local ctr=$1 ns mac
	ns=$(topo_ns "ctr:$ctr") || return 1
	mac=$(ip netns exec "$AZ_NS_HOST" cat "/sys/class/net/$AZ_BR/address") || return 1
	ip netns exec "$ns" "$AZRAW" eth0 "$mac" "${@:2}"
}
