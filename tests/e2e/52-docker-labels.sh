#!/usr/bin/env bash
# e2e: the Docker plugin's label route (issue 3), with a private dockerd in
# the sealed topology and real packets.
#
# Docker never sends labels to a driver, so Join holds every endpoint
# (nothing but DNS passes) and the plugin's events thread releases it with
# the container's alcatraz.network.* labels once Docker says "connect".
# Checked:
#   * a container labelled lan-access=192.168.77.10:8080 reaches that
#     host:port, not port 80 of it; one without labels reaches no LAN port;
#     both reach the internet server; the release is in the state record;
#   * a container with an invalid label starts (Docker cannot be told any
#     more) but stays held: internet refused, DNS server reachable, and the
#     plugin logged the container, the label and the reason;
#   * after a dockerd restart the event stream reconnects by itself: a new
#     labelled container is released;
#   * with the Engine API unreachable (plugin pointed at a dead socket) a
#     new container reaches nothing but DNS; once the plugin is restarted
#     against dockerd, the reconcile releases it;
#   * a plugin restarted with --no-labels releases what a previous run
#     held, with the network's settings;
#   * after the containers and the network are removed, no state record,
#     element or interface of the plugin is left.
# The network sets alcatraz.network.dns to a server of the wan netns, so
# that "only DNS passes" is tested against an address this test made.
set -u
# shellcheck source=../lib/docker.sh
source "$(dirname "$0")/../lib/docker.sh"
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"
docker_plugin_test_begin

topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
docker_up || { t_fail docker_up "dockerd did not start"; exit 1; }
docker_image || { t_fail docker_image "import failed"; exit 1; }
azprobe_bin >/dev/null || { t_fail azprobe "cannot build azprobe"; exit 1; }

if ! { topo_serve lan tcp "$AZ_LAN4" 8080 && topo_serve lan tcp "$AZ_LAN4" 80 &&
	topo_serve wan tcp "$AZ_WAN4" 80 && topo_serve wan tcp "$AZ_WAN4" 53; }; then
	t_fail servers "did not start"
	exit 1
fi

NAME=$(docker_plugin_name)
SOCK=$(docker_plugin_dir)/$NAME.sock
PSTATE=$AZ_TMP/plugin
PLOG=$AZ_TMP/plugin.log
NET=${AZ_RUN}a
PL_PID=

# plugin_start DOCKER-HOST|--no-labels — the plugin in the sim-host netns,
# like dockerd.  nsenter itself (it execs the plugin), not
# topo_nsenter_host: a function run with & is a subshell, and $! would not
# be the plugin.
plugin_start() {
	local how=(--docker-host "$1")
	[[ $1 == --no-labels ]] && how=(--no-labels)
	nsenter --net="/run/netns/$AZ_NS_HOST" "$PLUGIN" --socket "$SOCK" --state-dir "$PSTATE" \
		"${how[@]}" </dev/null >>"$PLOG" 2>&1 &
	PL_PID=$!
	docker_plugin_track "$PL_PID"
	wait_for 5 test -S "$SOCK"
}

plugin_stop() {
	az_pid_stop "$PL_PID"
	wait_for 5 test ! -e "$SOCK"
}

dump() {
	t_log "plugin log (last lines):"
	tail -n 12 "$PLOG" 2>/dev/null | sed 's/^/#   /' >&2
}

# run NAME [docker run options] — a detached container on $NET.
run() {
	local name=$1
	shift
	dk run -d --init --stop-timeout 1 --network "$NET" --name "$AZ_RUN-$name" "$@" "$DK_IMAGE" \
		sleep 300 >/dev/null 2>"$AZ_TMP/run-$name.err"
}

# probe NAME ADDR PORT — azprobe inside a running container: its verdict word.
probe() {
	dk exec "$AZ_RUN-$1" azprobe tcp "$2" "$3" --timeout 1500 2>/dev/null | awk '{print $1}'
}

ep_of() {
	dk inspect -f "{{(index .NetworkSettings.Networks \"$NET\").EndpointID}}" "$AZ_RUN-$1" 2>/dev/null
}
cid_of() { dk inspect -f '{{.Id}}' "$AZ_RUN-$1" 2>/dev/null; }
record_of() { echo "$ALCATRAZ_STATE_DIR/netns/ep-${1:0:40}.json"; }
held() { grep -Eq '"hold":[[:space:]]*true' "$(record_of "$1")"; }
released() { [[ -e $(record_of "$1") ]] && ! held "$1"; }
stored_cid() { grep -Eo '"ContainerID":[[:space:]]*"[0-9a-f]*"' "$PSTATE/endpoints/$1.json" | grep -Eo '[0-9a-f]{64}'; }

# expect NAME WHAT ADDR PORT VERDICT — one PASS/FAIL line.
expect() {
	local got
	got=$(probe "$1" "$3" "$4")
	if [[ $got == "$5" ]]; then
		t_pass "$1 → $2 $3:$4: $got"
	else
		t_fail "$1 → $2 $3:$4" "expected $5, got '${got:-nothing}'"
	fi
}

t0=$(_t_now_ms)
# --- plugin with the label route, network ----------------------------------------
if plugin_start "unix://$DK_SOCK" && docker_register_plugin "$NAME" "$SOCK" &&
	dk network create -d "$NAME" --subnet 10.99.0.0/24 -o "alcatraz.network.dns=$AZ_WAN4" \
		"$NET" >"$AZ_TMP/net.out" 2>&1; then
	t_pass "plugin up (label route on $DK_SOCK); network $NET created"
else
	t_fail "setup" "plugin or network create failed: $(tail -n 2 "$AZ_TMP/net.out" 2>/dev/null)"
	dump
	exit 1
fi
NID=$(dk network inspect -f '{{.Id}}' "$NET")

# --- a labelled container, and one without labels --------------------------------
run lab --label "alcatraz.network.lan-access=$AZ_LAN4:8080" || t_fail "run lab" "$(cat "$AZ_TMP/run-lab.err")"
t1=$(_t_now_ms)
EP_LAB=$(ep_of lab)
wait_for 5 released "$EP_LAB"
ms=$(($(_t_now_ms) - t1))
run plain || t_fail "run plain" "$(cat "$AZ_TMP/run-plain.err")"
EP_PLAIN=$(ep_of plain)
if released "$EP_LAB" && wait_for 5 released "$EP_PLAIN"; then
	t_pass "both endpoints released from the hold (state records without hold; the first ${ms} ms after docker run returned)"
else
	t_fail "release" "lab: $(tr -d '\n\t' <"$(record_of "$EP_LAB")" 2>&1 | head -c 200)"
	dump
fi
# The record names the container as Docker does (alcatraz list and watch
# show it): learnt with its labels.
if grep -Eq "\"name\":[[:space:]]*\"$AZ_RUN-lab\"" "$(record_of "$EP_LAB")"; then
	t_pass "the released endpoint's record carries the container's name ($AZ_RUN-lab)"
else
	t_fail "container name" "no \"name\": \"$AZ_RUN-lab\" in $(record_of "$EP_LAB"): $(grep -E '"(id|name)"' "$(record_of "$EP_LAB")" | tr -d '\n\t')"
fi
if [[ $(stored_cid "$EP_LAB") == "$(cid_of lab)" ]]; then
	t_pass "the plugin recorded which container endpoint ${EP_LAB:0:12} belongs to"
else
	t_fail "plugin record" "ContainerID of ${EP_LAB:0:12} is '$(stored_cid "$EP_LAB")'"
fi
expect lab "allowed LAN entry" "$AZ_LAN4" 8080 ok
expect lab "other LAN port" "$AZ_LAN4" 80 refused
expect lab internet "$AZ_WAN4" 80 ok
expect plain "LAN" "$AZ_LAN4" 8080 refused
expect plain "LAN" "$AZ_LAN4" 80 refused
expect plain internet "$AZ_WAN4" 80 ok
if [[ $(srv_count tcp "$AZ_LAN4" 80) == 0 ]]; then
	t_pass "the LAN server on port 80 saw nothing"
else
	t_fail "LAN port 80" "saw: $(tr '\n' ' ' <"$(srv_log tcp "$AZ_LAN4" 80)")"
fi

# --- an invalid label: the container starts, its endpoint stays held ----------------
if run bad --label "alcatraz.network.lan-access=192.168.1.300:80"; then
	t_pass "docker run with an invalid label still starts (Docker cannot be told any more)"
else
	t_fail "run bad" "$(cat "$AZ_TMP/run-bad.err")"
fi
EP_BAD=$(ep_of bad)
CID_BAD=$(cid_of bad)
if wait_for 5 grep -q "container ${CID_BAD:0:12} (\"$AZ_RUN-bad\"): label alcatraz.network.lan-access" "$PLOG"; then
	t_pass "the plugin logged the container, the label and the reason: $(grep -m1 "${CID_BAD:0:12}" "$PLOG" | cut -c1-220)"
else
	t_fail "bad label log" "no line naming container ${CID_BAD:0:12} and the label"
	dump
fi
if grep "${CID_BAD:0:12}" "$PLOG" | grep -q "192.168.1.300" && held "$EP_BAD"; then
	t_pass "the reason names the value; the endpoint is still held (state record)"
else
	t_fail "bad label" "reason without the value, or the endpoint is not held"
fi
expect bad internet "$AZ_WAN4" 80 refused
expect bad "LAN" "$AZ_LAN4" 8080 refused
expect bad "DNS server" "$AZ_WAN4" 53 ok

# --- hostile labels (issue 5): nftables syntax, quotes and braces, a newline, a
# 64 KiB value — each held and logged, the host's chains unchanged, the plugin
# still serving ---------------------------------------------------------------
chains_before=$(in_host nft list chains 2>&1)
HOSTILE=(
	"alcatraz.network.lan-access=$AZ_LAN4:8080; flush ruleset"
	"alcatraz.network.dns=$AZ_WAN4 } ; add rule inet alcatraz output accept"
	"alcatraz.network.proxy=\"$AZ_WAN4:3128\" # comment"
	$'alcatraz.network.lan-access='"$AZ_LAN4"$':8080\nflush ruleset'
	"alcatraz.network.lan-access=$(head -c 65536 /dev/zero | tr '\0' 'x')"
)
for i in "${!HOSTILE[@]}"; do
	c=hostile$i
	if ! run "$c" --label "${HOSTILE[i]}"; then
		t_fail "hostile label $i: docker run" "$(head -c 300 "$AZ_TMP/run-$c.err")"
		continue
	fi
	ep=$(ep_of "$c")
	cid=$(cid_of "$c")
	if wait_for 5 grep -q "container ${cid:0:12} (\"$AZ_RUN-$c\"): label alcatraz.network" "$PLOG" && held "$ep"; then
		t_pass "hostile label $i ($(printf '%s' "${HOSTILE[i]}" | head -c 60 | tr '\n' '~')…): held, logged ($(grep -m1 "${cid:0:12}" "$PLOG" | cut -c1-140 | tr -d '\n'))"
	else
		t_fail "hostile label $i" "not held or not logged: $(grep "${cid:0:12}" "$PLOG" | tail -n 1 | cut -c1-200)"
		dump
	fi
	expect "$c" "LAN (held)" "$AZ_LAN4" 8080 refused
done
if [[ $(in_host nft list chains 2>&1) == "$chains_before" ]]; then
	t_pass "hostile labels: the host's tables and chains are unchanged"
else
	t_fail "hostile labels" "nft list chains differs: $(diff <(echo "$chains_before") <(in_host nft list chains 2>&1) | head -n 4 | tr '\n' ' ')"
fi
if run afterhostile --label "alcatraz.network.lan-access=$AZ_LAN4:8080" && wait_for 5 released "$(ep_of afterhostile)"; then
	t_pass "hostile labels: the plugin still serves — a new labelled container is released"
	expect afterhostile "allowed LAN entry" "$AZ_LAN4" 8080 ok
else
	t_fail "after hostile labels" "$(cat "$AZ_TMP/run-afterhostile.err")"
fi
for i in "${!HOSTILE[@]}"; do dk rm -f "$AZ_RUN-hostile$i" >/dev/null 2>&1; done
dk rm -f "$AZ_RUN-afterhostile" >/dev/null 2>&1

# --- dockerd restarts: the stream reconnects ------------------------------------------
if dockerd_restart; then
	if run again --label "alcatraz.network.lan-access=$AZ_LAN4:8080" &&
		EP_AGAIN=$(ep_of again) && wait_for 10 released "$EP_AGAIN"; then
		t_pass "dockerd restarted: the event stream reconnected, a new labelled container is released"
	else
		t_fail "after dockerd restart" "endpoint ${EP_AGAIN:-?} not released: $(cat "$AZ_TMP/run-again.err")"
		dump
	fi
	expect again "allowed LAN entry" "$AZ_LAN4" 8080 ok
	expect again "other LAN port" "$AZ_LAN4" 80 refused
else
	t_fail "dockerd_restart" "dockerd did not come back"
	exit 1
fi

# --- Engine API unreachable: held until it answers ------------------------------------
plugin_stop
plugin_start "unix://$AZ_TMP/dead.sock" || t_fail "plugin restart" "no socket"
if run dead; then
	EP_DEAD=$(ep_of dead)
	if held "$EP_DEAD"; then
		t_pass "Engine API unreachable: the new endpoint is held"
	else
		t_fail "dead socket" "endpoint ${EP_DEAD:0:12} is not held"
	fi
	expect dead internet "$AZ_WAN4" 80 refused
	expect dead "LAN" "$AZ_LAN4" 8080 refused
	expect dead "DNS server" "$AZ_WAN4" 53 ok
	if grep -q "cannot watch Docker's events" "$PLOG"; then
		t_pass "the plugin says it cannot watch Docker's events"
	else
		t_fail "dead socket log" "no warning"
	fi
	# the labelled container released before keeps its settings
	expect again "allowed LAN entry (plugin restarted)" "$AZ_LAN4" 8080 ok
	plugin_stop
	plugin_start "unix://$DK_SOCK" || t_fail "plugin restart" "no socket"
	if wait_for 5 released "$EP_DEAD"; then
		t_pass "plugin back on dockerd's socket: the reconcile released the missed endpoint"
	else
		t_fail "reconcile" "endpoint ${EP_DEAD:0:12} still held"
		dump
	fi
	expect dead internet "$AZ_WAN4" 80 ok
else
	t_fail "run dead" "$(cat "$AZ_TMP/run-dead.err")"
fi

# --- --no-labels: what a previous run held is released ----------------------------------
if run bad2 --label "alcatraz.network.lan-access=$AZ_LAN4:8080,nonsense"; then
	EP_BAD2=$(ep_of bad2)
	if wait_for 5 grep -q "$(cid_of bad2 | cut -c1-12).*nonsense" "$PLOG" && held "$EP_BAD2"; then
		t_pass "a second invalid label (\"nonsense\" entry) is held and logged"
	else
		t_fail "bad2" "not held, or not logged"
	fi
	plugin_stop
	plugin_start --no-labels || t_fail "plugin --no-labels" "no socket"
	if wait_for 5 released "$EP_BAD2"; then
		t_pass "--no-labels: the endpoint a previous run held is released at start"
	else
		t_fail "--no-labels" "endpoint ${EP_BAD2:0:12} still held"
		dump
	fi
	expect bad2 "internet (labels ignored)" "$AZ_WAN4" 80 ok
	expect bad2 "LAN (labels ignored)" "$AZ_LAN4" 8080 refused
else
	t_fail "run bad2" "$(cat "$AZ_TMP/run-bad2.err")"
fi

# --- removal leaves nothing ----------------------------------------------------------
for c in lab plain bad again dead bad2; do
	dk rm -f "$AZ_RUN-$c" >/dev/null 2>&1
done
if dk network rm "$NET" >/dev/null 2>&1; then
	t_pass "containers and network removed"
else
	t_fail "network rm" "failed"
fi
records=$(find "$ALCATRAZ_STATE_DIR/netns" "$ALCATRAZ_STATE_DIR/containers" "$PSTATE/networks" \
	"$PSTATE/endpoints" -name '*.json' 2>/dev/null | wc -l)
elements=$(host_ruleset | grep -cE 'comment "alcatraz(-plugin)?:' || true)
links=$(ip -n "$AZ_NS_HOST" -o link show 2>/dev/null | grep -cE ": az(h|c)[0-9a-f]{11}|: az${NID:0:12}" || true)
if [[ $records == 0 && $elements == 0 && $links == 0 ]]; then
	t_pass "afterwards: no state record, element or interface of the plugin"
else
	t_fail "afterwards" "$records record(s), $elements element(s), $links interface(s) left"
fi
t_log "52-docker-labels: $(($(_t_now_ms) - t0)) ms after setup"
