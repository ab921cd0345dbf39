#!/usr/bin/env bash
# e2e: the Docker plugin killed (SIGKILL) in the middle of Join (issue 5,
# "Faults"), with a private dockerd in the sealed topology.  No test knob in
# the plugin: tests/tools/azkillat watches the rules' state dir with inotify
# and kills the plugin the moment Join writes the endpoint's rules record —
#   create: its temporary file appears (the record not yet in place, no rule);
#   rename: the record is in place (the rules are about to go in).
# For each moment:
#   * `docker run` fails with an error (dockerd retries the dead plugin,
#     then gives up), and the container does not run;
#   * the plugin restarted on the same socket and state dir, and the failed
#     container removed: nothing of that endpoint is left — no interface,
#     element, plugin record, rules record or temporary file;
#   * a new container then starts on the same network, isolated (packets).
# At the end, removing the network leaves nothing of the plugin anywhere.
set -u
AZ_SERVER_SECONDS=${AZ_SERVER_SECONDS:-400}
source "$(dirname "$0")/../lib/docker.sh"
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"
docker_plugin_test_begin curl
KILLAT=$AZ_BUILD/tools/azkillat
if [[ ! -x $KILLAT || $AZ_ROOT/tests/tools/azkillat.c -nt $KILLAT ]]; then
	make -s -C "$AZ_ROOT" B="$AZ_BUILD" "$KILLAT" >&2 ||
		{ t_fail setup "cannot build $KILLAT"; exit 1; }
fi

topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
docker_up || { t_fail docker_up "dockerd did not start"; exit 1; }
docker_image || { t_fail docker_image "import failed"; exit 1; }
source "$(dirname "$0")/../lib/dkplugin.sh"

NET=${AZ_RUN}j
plugin_up
{
	topo_serve wan tcp "$AZ_WAN4" 80 && topo_serve lan tcp "$AZ_LAN4" 80
} || { t_fail setup "servers did not start"; exit 1; }
out=$(dk network create -d "$NAME" --subnet 10.94.0.0/24 "$NET" 2>&1) ||
	{ t_fail "network create $NET" "$out"; plugin_log; exit 1; }
mkdir -p "$ALCATRAZ_STATE_DIR/netns"

# one_endpoint_gone EP — nothing of EP (full id) left, temporaries included.
one_endpoint_gone() {
	local bad=0 f
	nothing_of_endpoints "$1" || bad=1
	for f in "$ALCATRAZ_STATE_DIR"/netns/ep-"${1:0:40}"*; do
		[[ -e $f ]] && { echo "rules state file ${f##*/}"; bad=1; }
	done
	return "$bad"
}

i=0
for moment in create rename; do
	i=$((i + 1))
	c=$AZ_RUN-j$moment
	before=$(ls "$PSTATE/endpoints" 2>/dev/null)
	"$KILLAT" --when "$moment" "$ALCATRAZ_STATE_DIR/netns" ep- "$PL_PID" 60000 >"$AZ_TMP/w-$moment" 2>&1 &
	wpid=$!
	az_pid_track "$wpid"
	wait_for 5 grep -q ready "$AZ_TMP/w-$moment" || { t_fail "$moment: watcher" "$(cat "$AZ_TMP/w-$moment")"; continue; }
	t0=$(_t_now_ms)
	out=$(dk run -d --init --stop-timeout 1 --network "$NET" --name "$c" "$DK_IMAGE" sleep 600 2>&1) && rc=0 || rc=$?
	ms=$(($(_t_now_ms) - t0))
	wait "$wpid" 2>/dev/null
	killed=$(grep '^killed' "$AZ_TMP/w-$moment")
	{ wait "$PL_PID"; } 2>/dev/null
	if [[ -n $killed ]] && ! kill -0 "$PL_PID" 2>/dev/null; then
		t_pass "$moment: the plugin was killed in Join ($killed)"
	else
		t_fail "$moment: the plugin killed in Join" "no rules record appeared: $(cat "$AZ_TMP/w-$moment")"
	fi
	if ((rc != 0)); then
		t_pass "$moment: docker run failed after $ms ms: $(tail -n 1 <<<"$out" | cut -c1-200)"
	else
		t_fail "$moment: docker run failed" "it succeeded ($ms ms) with the plugin dead"
	fi
	[[ $(dk inspect -f '{{.State.Running}}' "$c" 2>/dev/null) == true ]] &&
		t_fail "$moment: the container does not run" "it runs"
	ep=$(comm -13 <(echo "$before") <(ls "$PSTATE/endpoints" 2>/dev/null) | head -n 1)
	ep=${ep%.json}
	[[ -n $ep ]] || ep=$(sed -n 's/^killed [0-9]* at ep-\([0-9a-f]*\).*/\1/p' <<<"$killed")
	t_log "$moment: endpoint ${ep:0:12}, left while the plugin is dead: $(one_endpoint_gone "$ep" | tr '\n' ' ')"

	if plugin_start; then
		t_pass "$moment: plugin restarted on the same socket and state dir ($PL_START_MS ms)"
	else
		t_fail "$moment: plugin restart" "no answer on $SOCK"
		plugin_log
		exit 1
	fi
	dk rm -f "$c" >/dev/null 2>&1
	if wait_for 10 one_endpoint_gone "$ep"; then
		t_pass "$moment: after the restart and docker rm, nothing of endpoint ${ep:0:12} is left"
	else
		t_fail "$moment: nothing of endpoint ${ep:0:12} is left" "$(one_endpoint_gone "$ep" | tr '\n' ' ')"
		plugin_log 20
	fi
	if ctr_run "ok$i" "$NET"; then
		t_pass "$moment: a new container ok$i ${AZ_CTR_IP4[ok$i]} starts on the network"
		expect_reachable "$moment: ok$i → internet" "ok$i" tcp "$AZ_WAN4" 80
		expect_refused_fast "$moment: ok$i → LAN" "ok$i" tcp "$AZ_LAN4" 80
		ctr_detach "ok$i"
		dk rm -f "$AZ_RUN-ok$i" >/dev/null 2>&1
	else
		t_fail "$moment: a new container starts after the restart" "ok$i did not start"
		plugin_log
	fi
done

dk network rm "$NET" >/dev/null 2>&1 || t_fail "network rm" "failed"
if wait_for 10 nothing_left; then
	t_pass "after the network is removed: nothing of the plugin is left"
else
	t_fail "nothing left" "$(nothing_left | tr '\n' ' ')"
	plugin_log 20
fi
