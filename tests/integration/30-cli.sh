#!/bin/bash
# 30-cli — the admin CLI (`alcatraz`): usage and exit codes, status, list,
# explain, gc, restore, uninstall, human and --json output.
#
# Everything that touches nftables runs inside the sealed topology of
# tests/lib/topo.sh (sim-host netns + container netns): the machine's own
# ruleset is never read or written.  Containers are "started" the way a
# runtime does it: a process in the container netns, a bundle config.json,
# and `alcatraz-hook createRuntime` with the OCI state on stdin.  State and
# settings live in this run's temp dir (ALCATRAZ_STATE_DIR, ALCATRAZ_CONFIG).
# Result lines per tests/lib/harness.sh.
# The checks are eval'ed strings, expanded when they run.
# shellcheck disable=SC2016
set -u

# shellcheck source=../lib/topo.sh
source "$(dirname "$0")/../lib/topo.sh"

CLI=${ALCATRAZ_CLI:-$AZ_BUILD/alcatraz}
HOOK=${ALCATRAZ_HOOK:-$AZ_BUILD/alcatraz-hook}

require_root
require_cmd ip nft nsenter
for b in "$CLI" "$HOOK"; do
	if [[ ! -x $b ]]; then
		t_fail "$AZ_TEST_NAME" "$b not built (make)"
		exit 1
	fi
done

export ALCATRAZ_STATE_DIR=$AZ_TMP/state
export ALCATRAZ_CONFIG=$AZ_TMP/alcatraz.json	# absent: built-in defaults

# ---------------------------------------------------------------- helpers

# run CMD... → $out (stdout), $err (stderr), $rc; never fails.
run() {
	local e=$AZ_TMP/run.err
	out=$("$@" 2>"$e") && rc=0 || rc=$?
	err=$(cat "$e")
}

# The CLI and the hook as they run on the (simulated) host.
cli() { topo_nsenter_host "$CLI" "$@"; }
hook() { topo_nsenter_host "$HOOK" "$@"; }

# check NAME COND_CMD... — PASS when COND_CMD succeeds, else FAIL showing the
# last command's output.
check() {
	local name=$1
	shift
	if "$@"; then
		t_pass "$name"
		return 0
	fi
	t_fail "$name" "rc=$rc out=$(printf '%s' "$out" | tr '\n' '|' | cut -c1-300) err=$(printf '%s' "$err" | tr '\n' '|' | cut -c1-300)"
	return 1
}

has() { grep -qF -- "$1" <<<"$out"; }
has_err() { grep -qF -- "$1" <<<"$err"; }
rc_is() { ((rc == $1)); }

# json EXPR — evaluate a Python expression over d = the JSON in $out.
HAVE_PY=0
command -v python3 >/dev/null && HAVE_PY=1
json() {
	python3 -c 'import json, sys
d = json.loads(sys.stdin.read())
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" <<<"$out" 2>/dev/null
}
# jcheck NAME EXPR — check NAME json EXPR, or SKIP without python3.
jcheck() {
	if ((HAVE_PY)); then
		check "$1" json "$2"
	else
		t_skip "$1" "python3 not installed: JSON content not checked"
	fi
}

ruleset() { topo_exec_host nft -s list ruleset; }

# ctr_start NAME ID [ANNOTATIONS_JSON] — what a runtime does at create: a
# process in the ctr netns, a bundle, the hook at createRuntime.  Sets $out,
# $err, $rc like run.  Call directly, not in $(...) or run: it registers
# cleanup.
declare -A CTR_PID=() CTR_BUNDLE=()
ctr_start() {
	local name=$1 id=$2 ann=${3:-'{"alcatraz.network": "on"}'} ns pid bundle
	ns=${AZ_CTR_NS[$name]}
	bundle=$AZ_TMP/bundle-$id
	mkdir -p "$bundle"
	cat >"$bundle/config.json" <<-EOF
	{"ociVersion": "1.0.2",
	 "process": {"capabilities": {"bounding": ["CAP_NET_BIND_SERVICE"],
	                              "effective": ["CAP_NET_BIND_SERVICE"]}},
	 "mounts": [{"destination": "/etc/resolv.conf", "type": "bind",
	             "source": "${AZ_CTR_RESOLV[$name]}"}],
	 "linux": {"namespaces": [{"type": "network", "path": "/run/netns/$ns"}]}}
	EOF
	ip netns exec "$ns" sleep 600 &
	pid=$!
	az_pid_track "$pid"
	# A runtime calls the hook once its process is in the netns; here
	# `ip netns exec` may not have entered it yet.
	if ! wait_for 5 in_netns "$pid" "/run/netns/$ns"; then
		rc=1 out='' err="process $pid did not enter $ns"
		return 1
	fi
	CTR_PID[$id]=$pid
	CTR_BUNDLE[$id]=$bundle
	printf '{"ociVersion": "1.0.2", "id": "%s", "status": "created", "pid": %d, "bundle": "%s", "annotations": %s}' \
		"$id" "$pid" "$bundle" "$ann" >"$bundle/state.json"
	hook createRuntime <"$bundle/state.json" >"$AZ_TMP/hook.out" 2>"$AZ_TMP/hook.err" && rc=0 || rc=$?
	out=$(cat "$AZ_TMP/hook.out")
	err=$(cat "$AZ_TMP/hook.err")
}

# in_netns PID NETNS_PATH — is PID in that network namespace?
in_netns() {
	[[ $(stat -L -c %d:%i "/proc/$1/ns/net" 2>/dev/null) == "$(stat -L -c %d:%i "$2")" ]]
}

# ctr_gone NAME ID — the container and its netns disappear without a
# poststop (a crash, a killed runtime): what gc is for.
ctr_gone() {
	az_pid_stop "${CTR_PID[$2]}"
	ip netns del "${AZ_CTR_NS[$1]}"
}

# ---------------------------------------------------------------- usage

usage_checks() {
	run "$CLI" --version
	check "version" eval 'rc_is 0 && [[ $out == "alcatraz "[0-9]* ]]'
	run "$CLI" --help
	check "help: exit 0, lists every verb" eval 'rc_is 0 && has status && has list && has explain && has gc && has restore && has uninstall'
	run "$CLI" help explain
	check "help VERB" eval 'rc_is 0 && has "--annotation" && has "--skeleton"'
	run "$CLI" explain --help
	check "VERB --help" eval 'rc_is 0 && has "Usage: alcatraz explain"'
	run "$CLI"
	check "no verb: usage error 2" rc_is 2
	run "$CLI" frobnicate
	check "unknown verb: usage error 2" eval 'rc_is 2 && has_err "unknown verb"'
	run "$CLI" list --frobnicate
	check "unknown option: usage error 2" rc_is 2
	run "$CLI" gc extra
	check "stray argument: usage error 2" rc_is 2
	run "$CLI" explain -a nokeyvalue
	check "explain -a without '=': usage error 2" rc_is 2
	run "$CLI" explain --ip 10.0.0.1/99
	check "explain --ip bad: usage error 2" rc_is 2
	run "$CLI" help frobnicate
	check "help of an unknown verb: usage error 2" rc_is 2
}

# ---------------------------------------------------------------- empty state

empty_checks() {
	run cli status
	check "status: no settings file = built-in defaults" eval 'rc_is 0 && has "not found: built-in defaults" && has "annotated"'
	check "status: state dir from ALCATRAZ_STATE_DIR" has "$ALCATRAZ_STATE_DIR"
	check "status: host layer absent, 0 attachments" eval 'has "absent" && has "0 (0 alive, 0 gone)"'
	check "status: says how bridged frames are refused" eval 'has "rejected" || has "dropped (no bridge reject in this kernel)"'
	run cli status --json
	jcheck "status --json" 'd["version"] and d["config"]["exists"] is False and d["isolate"] == "annotated" and d["annotations"] == "any" and d["host_layer"] is False and d["attachments"]["total"] == 0 and d["features"]["bridge_refuse"] in ("reject", "drop") and isinstance(d["features"]["br_netfilter"], bool)'
	run cli --json status
	jcheck "--json before the verb" 'd["state_dir"] == "'"$ALCATRAZ_STATE_DIR"'"'

	run cli list
	check "list, empty: header + message" eval 'rc_is 0 && has CONTAINER && has "no containers are isolated"'
	run cli list --json
	check "list --json, empty: []" eval 'rc_is 0 && [[ $(tr -d " \n\t" <<<"$out") == "[]" ]]'

	run cli gc
	check "gc, nothing to do" eval 'rc_is 0 && has "removed 0 attachment(s)"'
	run cli gc --json
	jcheck "gc --json" 'd["removed"] == 0'
}

# ---------------------------------------------------------------- explain

explain_checks() {
	local before after
	before=$(ruleset)
	run cli explain -a alcatraz.network=on \
		-a 'alcatraz.network.lan-access=192.168.1.50:5432 udp://${alca:HOST_IP}:53 [fd00::1]:443' \
		--ip 10.88.0.5/16 --ip fd00:88::5/64 --gateway 10.88.0.1 --gateway fd00:88::1 \
		--resolv-conf "${AZ_CTR_RESOLV[c1]}" --skeleton
	after=$(ruleset)
	check "explain: exit 0" rc_is 0
	check "explain: the netns table" eval 'has "table inet alcatraz {" && has "comment \"alcatraz:explain\"" && has "chain refuse"'
	check "explain: lan-access entries rendered" eval 'has "192.168.1.50 . tcp . 5432" && has "10.88.0.1 . udp . 53" && has "fd00::1 . tcp . 443"'
	check "explain: host elements of the synthetic veth" eval 'has "add element bridge alcatraz ports { \"vethEXPLAIN\"" && has "add element inet alcatraz ctr4 { 10.88.0.5"'
	check "explain: resolvers from --resolv-conf" has "10.88.0.5 . $AZ_BR4"
	check "explain: --skeleton prints the host tables" eval 'has "add table bridge alcatraz" && has "add chain inet alcatraz prerouting"'
	check "explain leaves the ruleset unchanged (empty)" test "$before" == "$after"

	run cli explain --json -a alcatraz.network.dns=none --host-if none
	jcheck "explain --json, no host peer" 'd["enabled"] and d["host"] is None and "table inet alcatraz" in d["netns"] and "dns=none" in d["settings"]'
	# The sim-host's uplink 203.0.113.0/30 is a documentation range, not in
	# the catalogue: it is blocked because the host is connected to it.
	jcheck "explain: prefixes connected to the host are blocked" '"203.0.113.0/30" in d["netns"]'

	run cli explain
	check "explain without isolation: says nothing applies" eval 'rc_is 0 && has "isolation is off"'

	run cli explain -a alcatraz.network.lan-access=192.168.1.300
	check "explain: invalid entry → exit 1 naming it" eval 'rc_is 1 && has_err "lan-access entry \"192.168.1.300\""'
	run cli explain -a alcatraz.network.bogus=1
	check "explain: unknown setting → exit 1" eval 'rc_is 1 && has_err "alcatraz.network.bogus"'

	echo '{"isolate": "al"}' >"$ALCATRAZ_CONFIG"
	run cli explain
	check "explain: invalid settings file → exit 1 with its error" eval 'rc_is 1 && has_err "$ALCATRAZ_CONFIG" && has_err "isolate"'
	run cli status
	check "status: invalid settings file → exit 1, shown" eval 'rc_is 1 && has "INVALID"'

	cat >"$ALCATRAZ_CONFIG" <<-'EOF'
	{"isolate": "all", "annotations": "narrow",
	 "lan-access": ["192.168.1.0/24:443"], "proxy-udp": "block"}
	EOF
	run cli explain -a alcatraz.network.lan-access=192.168.1.20:22
	check "explain: narrow refuses a widening annotation" eval 'rc_is 1 && has_err "widens"'
	run cli explain -a alcatraz.network=off
	check "explain: narrow refuses off under isolate=all" eval 'rc_is 1 && has_err "widens"'
	run cli explain -a alcatraz.network.lan-access=192.168.1.20:443
	check "explain: narrow accepts a narrower entry" eval 'rc_is 0 && has "192.168.1.20 . tcp . 443"'
	run cli -c "$AZ_TMP/none.json" status
	check "-c FILE overrides ALCATRAZ_CONFIG" eval 'rc_is 0 && has "$AZ_TMP/none.json (not found"'
	rm -f "$ALCATRAZ_CONFIG"
}

# ---------------------------------------------------------------- live containers

ID1=c1c1c1c1c1c1aaaabbbbccccdddd$AZ_RUN
ID2=c2c2c2c2c2c2aaaabbbbccccdddd$AZ_RUN

list_checks() {
	local veth=${AZ_CTR_VETH[c1]} before after
	ctr_start c1 "$ID1" '{"alcatraz.network": "on", "alcatraz.network.lan-access": "tcp://192.168.77.10:8080"}'
	if ! check "hook attaches container 1" rc_is 0; then
		topo_dump
		return 1
	fi

	run cli status
	check "status: host layer present, 1 attachment alive" eval 'rc_is 0 && has "present" && has "1 (1 alive, 0 gone)"'

	run cli list
	check "list: one row with short id, alive, interface, settings" eval 'rc_is 0 && has "${ID1:0:12}" && has alive && has "eth0->$veth@$AZ_BR" && has "${AZ_CTR_IP4[c1]}/24" && has "lan-access=192.168.77.10:8080"'

	# The in-netns table refuses LAN TCP and counts it.
	probe_expect c1 "refused|unreachable" tcp "$AZ_LAN4" 80 --timeout 2000 >/dev/null
	run cli list --json
	jcheck "list --json: members, netns, interfaces, settings" 'len(d) == 1 and d[0]["members"] == ["'"$ID1"'"] and d[0]["alive"] and d[0]["netns"] == "/run/netns/'"${AZ_CTR_NS[c1]}"'" and d[0]["interfaces"][0]["host"] == "'"$veth"'" and d[0]["interfaces"][0]["bridge"] == "'"$AZ_BR"'" and "'"${AZ_CTR_IP4[c1]}"'/24" in d[0]["interfaces"][0]["ipv4"] and d[0]["policy"]["lan-access"] == "192.168.77.10:8080"'
	jcheck "list --json: netns refuse counter counts a refused probe" 'd[0]["refused"]["netns"]["packets"] >= 1'
	jcheck "list --json: host refused4/6 counters readable" 'd[0]["refused"]["host"] is not None and d[0]["refused"]["host"]["packets"] == 0'

	# A container that removed its own table (CAP_NET_ADMIN) still meets
	# the host layer, which counts on its refused4 element.
	topo_exec_ctr c1 nft delete table inet alcatraz
	probe_expect c1 "refused|unreachable|timeout" tcp "$AZ_LAN4" 80 --timeout 2000 >/dev/null
	run cli list --json
	jcheck "list --json: host refused counter counts a refused probe" 'd[0]["refused"]["host"]["packets"] >= 1 and d[0]["refused"]["netns"] is None'
	run cli list
	check "list: counters shown" eval 'rc_is 0 && has "REFUSED(HOST)"'

	before=$(ruleset)
	run cli explain -a alcatraz.network=on --skeleton
	after=$(ruleset)
	check "explain leaves the ruleset unchanged (host layer present)" test "$before" == "$after"
}

restore_checks() {
	topo_exec_host nft flush ruleset
	run cli status --json
	jcheck "status --json: host layer absent after a flush" 'd["host_layer"] is False and d["attachments"]["alive"] == 1'
	run cli restore
	check "restore: re-applies 1 attachment" eval 'rc_is 0 && has "of 1 attachment(s)" && has "host layer was missing"'
	run topo_exec_host nft list set inet alcatraz ctr4
	check "restore: container's elements are back" eval 'rc_is 0 && has "${AZ_CTR_IP4[c1]}" && has "alcatraz:$ID1"'
	run cli restore --json
	jcheck "restore --json" 'd["restored"] == 1 and d["removed"] == 0 and d["host_layer_was_present"] is True'
}

gc_checks() {
	ctr_gone c1 "$ID1"
	run cli list
	check "list: a container whose netns is gone shows as gone" eval 'rc_is 0 && has gone'
	run cli status --json
	jcheck "status --json: 1 gone" 'd["attachments"]["gone"] == 1'
	run cli gc
	check "gc: removes the gone attachment" eval 'rc_is 0 && has "removed 1 attachment(s)"'
	run cli list --json
	check "gc: list is empty afterwards" eval 'rc_is 0 && [[ $(tr -d " \n\t" <<<"$out") == "[]" ]]'
	run ruleset
	check "gc: no element of the container is left" eval '! has "alcatraz:$ID1"'
	check "gc: no state record is left" test -z "$(find "$ALCATRAZ_STATE_DIR" -name '*.json' 2>/dev/null)"
}

uninstall_checks() {
	topo_add_ctr c2 11 >/dev/null || { t_fail "uninstall setup" "topo_add_ctr c2"; return 1; }
	ctr_start c2 "$ID2"
	check "hook attaches container 2" rc_is 0 || return 1
	# Tables alcatraz does not own must survive.
	topo_exec_host nft add table inet azkeep
	topo_exec_ctr c2 nft add table inet azkeep

	run cli uninstall </dev/null
	check "uninstall without --yes and no terminal: refused" eval 'rc_is 1 && has_err "--yes"'
	run topo_exec_host nft list table inet alcatraz
	check "refused uninstall removed nothing" rc_is 0

	run cli uninstall --yes
	check "uninstall --yes" eval 'rc_is 0 && has "removed 1 attachment(s)"'
	run topo_exec_host nft list tables
	check "uninstall: host tables inet/bridge alcatraz gone" eval '! has "table inet alcatraz" && ! has "table bridge alcatraz"'
	check "uninstall: other host tables untouched" has "table inet azkeep"
	run topo_exec_ctr c2 nft list tables
	check "uninstall: table in the live container netns gone, others kept" eval '! has "table inet alcatraz" && has "table inet azkeep"'
	check "uninstall: no state record left" test -z "$(find "$ALCATRAZ_STATE_DIR" -name '*.json' 2>/dev/null)"
	run cli list --json
	check "uninstall: list is empty" eval 'rc_is 0 && [[ $(tr -d " \n\t" <<<"$out") == "[]" ]]'
	run cli uninstall --yes --json
	jcheck "uninstall again: nothing to do (--json)" 'd["attachments"] == 0 and d["errors"] == 0'
	run hook poststop <<<"{\"id\": \"$ID2\", \"status\": \"stopped\", \"bundle\": \"${CTR_BUNDLE[$ID2]}\"}"
	check "poststop after uninstall is harmless" rc_is 0
}

# ---------------------------------------------------------------- main

usage_checks
topo_up || exit 1
topo_add_ctr c1 10 >/dev/null || { t_fail "$AZ_TEST_NAME" "topo_add_ctr c1"; exit 1; }
empty_checks
explain_checks
if list_checks; then
	restore_checks
	gc_checks
fi
uninstall_checks
