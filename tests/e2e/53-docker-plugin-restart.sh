#!/usr/bin/env bash
# e2e: the Docker network plugin (issue 3) through restarts and load, with a
# private dockerd 20.10 in the sealed topology and real packets.  The
# plugin runs with --no-labels (labels: 52-docker-labels.sh).  Its socket is
# reached through a logging relay (socat -v), so the calls dockerd makes are
# checked, not guessed.
#
#   net L  10.96.0.0/24, -o lan-access=192.168.77.10:8080
#   net K  10.95.0.0/24 (the dockerd kill -9 case)
#
# Checked:
#   * plugin kill -9: the running containers stay isolated while it is
#     dead and after it is restarted on the same socket and state dir
#     (restart time measured); a new container starts on the existing
#     network and is isolated; dockerd re-sent nothing; no rule, element or
#     DOCKER-USER accept is doubled;
#   * dockerd restart (graceful): dockerd activates the plugin again and
#     never re-sends CreateNetwork (the network lives in the plugin's
#     store, which the kill -9 above made the only copy); the --restart
#     always container comes back on a new endpoint, isolated; the others'
#     endpoints were removed; new containers, and a stopped one started
#     again, are isolated;
#   * 20 containers started in parallel (bounded): all start (time
#     measured), each refused the LAN and reaches the internet, then all are
#     removed and nothing of their endpoints is left;
#   * removing the containers and the network leaves no interface, element,
#     state record, DOCKER-USER rule or table inet alcatraz_plugin;
#   * dockerd kill -9 with a container running (no live-restore): dockerd
#     drops the endpoint without a call; after the plugin restarts the
#     orphan must be gone ("orphaned veths and elements are cleaned at
#     start"), and `docker network rm` must leave nothing.
# Environment: Docker's FORWARD policy ACCEPT, br_netfilter on.
set -u
AZ_SERVER_SECONDS=${AZ_SERVER_SECONDS:-400}
source "$(dirname "$0")/../lib/docker.sh"
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"
docker_plugin_test_begin curl iptables socat

topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
docker_up || { t_fail docker_up "dockerd did not start"; exit 1; }
docker_image || { t_fail docker_image "import failed"; exit 1; }

# The relay in front of the plugin's socket: dockerd talks to it (the spec
# file names it), it logs every request.  Stopped after the plugin (pushed
# before the helpers' cleanup, which removes containers and networks first).
RELAY=$(docker_plugin_dir)/relay.sock
RELAY_LOG=$AZ_TMP/relay.log
RELAY_PID=
relay_stop() {
	local c
	[[ -n $RELAY_PID ]] || return 0
	for c in $(pgrep -P "$RELAY_PID"); do kill "$c" 2>/dev/null; done
	az_pid_stop "$RELAY_PID"
}
t_cleanup_push relay_stop
# calls — the plugin calls dockerd made so far, in order, one a line.
calls() { grep -ao 'POST /[A-Za-z]*\.[A-Za-z]*' "$RELAY_LOG" 2>/dev/null | sed 's|^POST /||'; }
calls_since() { calls | tail -n +$(($1 + 1)); }

source "$(dirname "$0")/../lib/dkplugin.sh"

NET_L=${AZ_RUN}l NET_K=${AZ_RUN}k
GW_L=10.96.0.1

relay_start() {
	socat -v "UNIX-LISTEN:$RELAY,fork,mode=600" "UNIX-CONNECT:$SOCK" 2>>"$RELAY_LOG" &
	RELAY_PID=$!
	wait_for 5 test -S "$RELAY"
}

# isolated LABEL CTR — the matrix for one container of net L.
isolated() {
	local l=$1 c=$2
	expect_reachable "$l: $c → internet $AZ_WAN4:80" "$c" tcp "$AZ_WAN4" 80
	expect_refused_fast "$l: $c → LAN $AZ_LAN4:80" "$c" tcp "$AZ_LAN4" 80
	expect_reachable "$l: $c → $AZ_LAN4:8080 (the network's lan-access)" "$c" tcp "$AZ_LAN4" 8080
	expect_refused_fast "$l: $c → host at its gateway $GW_L" "$c" tcp "$GW_L" 80
}

# fw_lines — the sim-host's alcatraz nft state, one item a line, each with
# its place: "table chain: rule" or "table set: element" (nft prints several
# elements on one line; they are split here), then our iptables and
# ip6tables rules.
fw_lines() {
	host_ruleset | awk '
		/^table / { t = $2 " " $3; next }
		/^\t(chain|set|map) / { c = $2; next }
		/elements = \{/ { el = 1; sub(/.*elements = \{/, "") }
		el {
			l = $0
			if (l ~ /\}/) { sub(/\}.*/, "", l); el = 0 }
			n = split(l, a, ",")
			for (i = 1; i <= n; i++) {
				x = a[i]; gsub(/^[ \t]+|[ \t]+$/, "", x)
				if (x != "") print t " " c ": " x
			}
			next
		}
		/^\t\t[^ \t}]/ && t ~ /alcatraz/ { x = $0; gsub(/^[ \t]+/, "", x); print t " " c ": " x }
	'
	ip netns exec "$AZ_NS_HOST" iptables -S 2>/dev/null | sed 's/^/iptables /'
	ip netns exec "$AZ_NS_HOST" ip6tables -S 2>/dev/null | sed 's/^/ip6tables /'
}
# fw_snapshot EP... — what the plugin made for the network and for these
# endpoints: every item naming them (element, rule, DOCKER-USER accept).
fw_snapshot() {
	local e pat="alcatraz-plugin:"
	for e in "$@"; do pat+="|alcatraz:$e"; done
	fw_lines | grep -E -- "$pat" | sort
}
# Items that are there twice (a rule added again).
fw_doubles() { fw_lines | sort | uniq -d; }

# SIGKILL to the plugin / dockerd (both started by this test, by pid);
# reaped here, quietly (bash would report "Killed" on stderr).
plugin_kill9() {
	{
		kill -KILL "$PL_PID"
		wait "$PL_PID"
	} 2>/dev/null
	return 0
}
dockerd_kill9() {
	local pid
	pid=$(cat "$DK_PIDFILE" 2>/dev/null)
	[[ $pid == "$DK_PID" ]] || { echo "dockerd's pid file names '$pid', not $DK_PID" >&2; return 1; }
	{
		kill -KILL "$DK_PID"
		wait "$DK_PID"
	} 2>/dev/null
	return 0
}

running() { [[ $(dk inspect -f '{{.State.Running}}' "$AZ_RUN-$1" 2>/dev/null) == true ]]; }
stopped() { [[ $(dk inspect -f '{{.State.Status}}' "$AZ_RUN-$1" 2>/dev/null) == exited ]]; }

if plugin_start && relay_start && docker_register_plugin "$NAME" "$RELAY"; then
	t_pass "plugin $NAME serving on $SOCK ($PL_START_MS ms), dockerd reaches it through a logging relay"
else
	t_fail "plugin start" "no answer on $SOCK, or the relay did not start"
	plugin_log
	exit 1
fi
{
	topo_serve wan tcp "$AZ_WAN4" 80 && topo_serve lan tcp "$AZ_LAN4" 80 &&
		topo_serve lan tcp "$AZ_LAN4" 8080 && topo_serve host tcp "$AZ_HOST_LAN4" 80
} || { t_fail setup "servers did not start"; exit 1; }
if out=$(dk network create -d "$NAME" --subnet 10.96.0.0/24 -o "alcatraz.network.lan-access=$AZ_LAN4:8080" \
	"$NET_L" 2>&1) && topo_serve host tcp "$GW_L" 80; then
	NID_L=$(net_id "$NET_L")
	t_pass "network $NET_L created (${NID_L:0:12}, bridge $(br_of "$NID_L"))"
else
	t_fail "network create $NET_L" "$out"
	plugin_log
	exit 1
fi
ctr_run a1 "$NET_L" && ctr_run a2 "$NET_L" && ctr_run r1 "$NET_L" --restart always ||
	{ t_fail "docker run" "a1, a2, r1 did not start"; plugin_log; exit 1; }
topo_serve ctr:a2 tcp "${AZ_CTR_IP4[a2]}" 8080 || { t_fail setup "server in a2"; exit 1; }
t_pass "containers a1 ${AZ_CTR_IP4[a1]}, a2 ${AZ_CTR_IP4[a2]}, r1 ${AZ_CTR_IP4[r1]} (--restart always) on $NET_L"
isolated "before" a1
expect_blocked "before: a1 → a2" a1 tcp "${AZ_CTR_IP4[a2]}" 8080

# ================================================================ plugin kill -9
OLD_EPS=("${CTR_EP[a1]}" "${CTR_EP[a2]}" "${CTR_EP[r1]}")
snap_before=$(fw_snapshot "${OLD_EPS[@]}")
mark=$(calls | wc -l)
plugin_kill9
if ! kill -0 "$PL_PID" 2>/dev/null && [[ -S $SOCK ]]; then
	t_pass "plugin killed with SIGKILL (its socket file stays behind)"
else
	t_fail "kill -9" "plugin $PL_PID still alive, or no socket file"
fi
isolated "plugin dead" a1
expect_blocked "plugin dead: a1 → a2" a1 tcp "${AZ_CTR_IP4[a2]}" 8080

if plugin_start; then
	RESTART_MS=$PL_START_MS
	t_pass "plugin restarted on the same socket and state dir: answering after $RESTART_MS ms"
else
	t_fail "plugin restart" "no answer on $SOCK"
	plugin_log
	exit 1
fi
isolated "plugin restarted" a1
expect_blocked "plugin restarted: a1 → a2" a1 tcp "${AZ_CTR_IP4[a2]}" 8080
t0=$(_t_now_ms)
if ctr_run a3 "$NET_L"; then
	FIRST_RUN_MS=$(($(_t_now_ms) - t0))
	t_pass "a new container a3 ${AZ_CTR_IP4[a3]} starts on the existing network after the restart ($FIRST_RUN_MS ms)"
	isolated "plugin restarted" a3
	expect_blocked "plugin restarted: a3 → a2" a3 tcp "${AZ_CTR_IP4[a2]}" 8080
else
	t_fail "docker run after the plugin restart" "a3 did not start"
	plugin_log
fi
got=$(calls_since "$mark" | sort -u | tr '\n' ' ')
if [[ $got != *Activate* && $got != *CreateNetwork* && $got == *CreateEndpoint*Join* ]]; then
	t_pass "dockerd re-sent nothing after the plugin restart (calls since: $got)"
else
	t_fail "calls after the plugin restart" "$got"
fi
snap_after=$(fw_snapshot "${OLD_EPS[@]}")
if [[ $snap_after == "$snap_before" && -n $snap_before ]]; then
	t_pass "no duplicate: the network's and the old endpoints' rules, elements and DOCKER-USER accepts are exactly as before ($(wc -l <<<"$snap_before") lines)"
else
	t_fail "after the plugin restart" "firewall changed: $(diff <(echo "$snap_before") <(echo "$snap_after") | head -n 6 | tr '\n' ' ')"
fi
d=$(fw_doubles)
if [[ -z $d ]]; then
	t_pass "no rule or element of the sim-host's firewall (alcatraz tables, iptables, ip6tables) is there twice ($(fw_lines | wc -l) items)"
else
	t_fail "doubled lines" "$(head -n 5 <<<"$d" | tr '\n' ' ')"
fi
t_check "plugin records: 1 network, 4 endpoints" \
	bash -c "[[ \$(ls '$PSTATE/networks' | wc -l) == 1 && \$(ls '$PSTATE/endpoints' | wc -l) == 4 ]]"

# ================================================================ dockerd restart
for c in a1 a2 a3 r1; do ctr_detach "$c"; done
OLD_R1=${CTR_EP[r1]}
mark=$(calls | wc -l)
if dockerd_restart; then
	t_pass "dockerd restarted (stopped in $DK_STOP_MS ms, answering in $DK_START_MS ms)"
else
	t_fail "dockerd_restart" "$(tail -n 3 "$DK_LOG")"
	exit 1
fi
if wait_for 20 running r1 && ctr_attach r1; then
	t_pass "r1 (--restart always) is running again, on a new endpoint (${OLD_R1:0:12} → ${CTR_EP[r1]:0:12})"
	[[ ${CTR_EP[r1]} != "$OLD_R1" ]] || t_fail "r1" "same endpoint id as before the restart"
	isolated "dockerd restarted" r1
else
	t_fail "r1 after the dockerd restart" "not running: $(dk ps -a --format '{{.Names}} {{.Status}}' | tr '\n' ' ')"
	plugin_log
fi
if stopped a1 && stopped a2 && stopped a3 && wait_for 5 nothing_of_endpoints "${CTR_EP[a1]}" "${CTR_EP[a2]}" "${CTR_EP[a3]}" "$OLD_R1"; then
	t_pass "dockerd stopped a1, a2, a3 and the old r1: no veth, element or record of their endpoints is left"
else
	t_fail "endpoints of the stopped containers" "$(nothing_of_endpoints "${CTR_EP[a1]}" "${CTR_EP[a2]}" "${CTR_EP[a3]}" "$OLD_R1" | tr '\n' ' ')"
fi
if ctr_run n1 "$NET_L"; then
	t_pass "a new container n1 ${AZ_CTR_IP4[n1]} starts on the existing network after the dockerd restart"
	isolated "dockerd restarted" n1
	topo_serve ctr:n1 tcp "${AZ_CTR_IP4[n1]}" 8080 &&
		expect_blocked "dockerd restarted: r1 → n1" r1 tcp "${AZ_CTR_IP4[n1]}" 8080
else
	t_fail "docker run after the dockerd restart" "n1 did not start"
	plugin_log
fi
if dk start "$AZ_RUN-a1" >/dev/null 2>&1 && ctr_attach a1; then
	t_pass "a1, stopped by the restart, starts again (new endpoint ${CTR_EP[a1]:0:12})"
	expect_refused_fast "dockerd restarted: a1 → LAN $AZ_LAN4:80" a1 tcp "$AZ_LAN4" 80
	expect_reachable "dockerd restarted: a1 → internet" a1 tcp "$AZ_WAN4" 80
else
	t_fail "docker start a1" "did not start"
fi
got=$(calls_since "$mark" | tr '\n' ' ')
if [[ $got == *Plugin.Activate* && $got != *CreateNetwork* ]]; then
	t_pass "dockerd activated the plugin again and did not re-send CreateNetwork: the network came from the plugin's store"
else
	t_fail "calls around the dockerd restart" "$got"
fi
t_log "calls around the dockerd restart: $(calls_since "$mark" | uniq -c | awk '{printf "%s×%s ", $2, $1}')"

# ================================================================ 20 in parallel
N=20
pids=()
t0=$(_t_now_ms)
for ((i = 1; i <= N; i++)); do
	(
		s=$(_t_now_ms)
		timeout 60 "${DK[@]}" run -d --init --stop-timeout 1 --network "$NET_L" --name "$AZ_RUN-p$i" \
			"$DK_IMAGE" sleep 600 >"$AZ_TMP/p$i.out" 2>&1
		rc=$?
		echo "$rc $(($(_t_now_ms) - s))" >"$AZ_TMP/p$i.rc"
	) &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
PAR_MS=$(($(_t_now_ms) - t0))
failed=() times=()
for ((i = 1; i <= N; i++)); do
	read -r rc ms <"$AZ_TMP/p$i.rc" 2>/dev/null || rc=x
	times+=("${ms:-0}")
	[[ $rc == 0 ]] || failed+=("p$i: rc=$rc $(tail -n 1 "$AZ_TMP/p$i.out")")
done
read -r MIN_MS MAX_MS < <(printf '%s\n' "${times[@]}" | sort -n | sed -n '1p;$p' | tr '\n' ' ')
if ((${#failed[@]} == 0)); then
	t_pass "$N containers started in parallel: all up in $PAR_MS ms (each docker run $MIN_MS–$MAX_MS ms)"
else
	t_fail "$N in parallel" "${#failed[@]} failed: ${failed[*]::3}"
	plugin_log
fi
P_EPS=()
for ((i = 1; i <= N; i++)); do
	ctr_attach "p$i" 2>/dev/null && P_EPS+=("${CTR_EP[p$i]}")
done
lan_before=$(srv_count tcp "$AZ_LAN4" 80)
bad_lan=() bad_wan=() worst=0
for ((i = 1; i <= N; i++)); do
	[[ -n ${AZ_CTR_NS[p$i]:-} ]] || { bad_lan+=("p$i: not running"); continue; }
	probe_from "p$i" tcp "$AZ_LAN4" 80 --timeout 2000
	[[ $PROBE_VERDICT == refused ]] && ((PROBE_MS <= AZ_FAST_MS)) || bad_lan+=("p$i: $PROBE_LINE")
	((PROBE_MS > worst)) && worst=$PROBE_MS
	probe_from "p$i" tcp "$AZ_WAN4" 80 --read --timeout 2000
	[[ $PROBE_VERDICT == ok ]] || bad_wan+=("p$i: $PROBE_LINE")
done
sleep 0.1
if ((${#bad_lan[@]} == 0)) && [[ $(srv_count tcp "$AZ_LAN4" 80) == "$lan_before" ]]; then
	t_pass "all $N refused the LAN $AZ_LAN4:80 (slowest refusal $worst ms), the LAN server saw nothing"
else
	t_fail "$N in parallel: LAN" "${bad_lan[*]::3}; LAN server lines: $lan_before → $(srv_count tcp "$AZ_LAN4" 80)"
fi
if ((${#bad_wan[@]} == 0)); then
	t_pass "all $N reach the internet server"
else
	t_fail "$N in parallel: internet" "${#bad_wan[@]} failed: ${bad_wan[*]::3}"
fi
if [[ -n ${AZ_CTR_NS[p2]:-} ]] && topo_serve ctr:p2 tcp "${AZ_CTR_IP4[p2]}" 8080; then
	expect_blocked "parallel: p1 → p2" p1 tcp "${AZ_CTR_IP4[p2]}" 8080
fi
t_check "$N endpoint records of theirs in the plugin's state dir" \
	count_is "$N" bash -c "cd '$PSTATE/endpoints' && ls $(printf '%s.json ' "${P_EPS[@]}") | wc -l"
names=()
for ((i = 1; i <= N; i++)); do
	ctr_detach "p$i"
	names+=("$AZ_RUN-p$i")
done
t0=$(_t_now_ms)
timeout 60 "${DK[@]}" rm -f "${names[@]}" >/dev/null 2>&1
RM_MS=$(($(_t_now_ms) - t0))
if wait_for 10 nothing_of_endpoints "${P_EPS[@]}"; then
	t_pass "all $N removed in $RM_MS ms: no veth, element or record of their ${#P_EPS[@]} endpoints is left"
else
	t_fail "$N removed" "$(nothing_of_endpoints "${P_EPS[@]}" | head -n 5 | tr '\n' ' ')"
fi

# ================================================================ removal
for c in a1 r1 n1; do ctr_detach "$c"; done
dk rm -f "$AZ_RUN-a1" "$AZ_RUN-a2" "$AZ_RUN-a3" "$AZ_RUN-r1" "$AZ_RUN-n1" >/dev/null 2>&1
if wait_for 5 nothing_of_endpoints "${ALL_EPS[@]}"; then
	t_pass "every container removed: nothing of any of the ${#ALL_EPS[@]} endpoints this test saw"
else
	t_fail "container removal" "$(nothing_of_endpoints "${ALL_EPS[@]}" | head -n 5 | tr '\n' ' ')"
fi
if out=$(dk network rm "$NET_L" 2>&1) && nothing_left >/dev/null; then
	t_pass "network rm $NET_L: no az* link, element, record, DOCKER-USER rule or table inet alcatraz_plugin left"
else
	t_fail "network rm $NET_L" "$out; $(nothing_left | tr '\n' ' ')"
fi

# ================================================================ dockerd kill -9
# No live-restore: dockerd killed, then started, kills the container and
# drops its endpoint without any call (docs/docker-notes.md).
if dk network create -d "$NAME" --subnet 10.95.0.0/24 "$NET_K" >/dev/null 2>&1 && ctr_run o1 "$NET_K"; then
	ctr_detach o1
	O_EP=${CTR_EP[o1]}
	NID_K=$(net_id "$NET_K")
	if dockerd_kill9 && dockerd_start && wait_for 10 stopped o1; then
		t_pass "dockerd killed with SIGKILL and started again ($DK_START_MS ms); o1 is stopped"
	else
		t_fail "dockerd kill -9" "dockerd or o1: $(dk ps -a --format '{{.Names}} {{.Status}}' 2>&1 | tr '\n' ' ')"
	fi
	plugin_kill9
	plugin_start || t_fail "plugin restart" "no answer"
	if wait_for 3 nothing_of_endpoints "$O_EP"; then
		t_pass "after the plugin's restart, the orphaned endpoint of o1 is cleaned (no veth, element or record)"
	else
		t_fail "orphaned endpoint after dockerd kill -9 and plugin restart" \
			"$(nothing_of_endpoints "$O_EP" | tr '\n' ' ')"
	fi
	dk rm -f "$AZ_RUN-o1" >/dev/null 2>&1
	out=$(dk network rm "$NET_K" 2>&1)
	if ! dk network inspect "$NET_K" >/dev/null 2>&1 && nothing_left >/dev/null; then
		t_pass "network rm $NET_K after the orphan: nothing of the plugin left"
	else
		t_fail "network rm $NET_K after dockerd kill -9" "docker removed it ('$out'), the plugin kept: $(nothing_left | tr '\n' ' ')"
		t_log "plugin stderr: $(grep -F "${NID_K:0:12}" "$PLOG" | tail -n 1)"
	fi
	# What a user sees next: Docker hands out the same pool again.
	if dk network create -d "$NAME" --subnet 10.95.0.0/24 "${NET_K}2" >/dev/null 2>&1 && ctr_run o2 "${NET_K}2"; then
		expect_reachable "a new network on the same subnet 10.95.0.0/24: o2 → internet" o2 tcp "$AZ_WAN4" 80
		ctr_detach o2
		dk rm -f "$AZ_RUN-o2" >/dev/null 2>&1
		dk network rm "${NET_K}2" >/dev/null 2>&1
	else
		t_fail "new network on 10.95.0.0/24" "network create or docker run failed"
	fi
else
	t_fail "dockerd kill -9 case" "network $NET_K or o1 did not start"
fi

t_check "the plugin is still running" kill -0 "$PL_PID"
t_log "numbers: plugin kill -9 → answering again $RESTART_MS ms, first docker run after it ${FIRST_RUN_MS:-?} ms; $N parallel docker run: all in $PAR_MS ms (each $MIN_MS–$MAX_MS ms), docker rm -f of $N: $RM_MS ms"
t_log "$AZ_TEST_NAME: $(($(_t_now_ms) - T_START)) ms"
((T_FAILED)) && plugin_log 30
exit 0
