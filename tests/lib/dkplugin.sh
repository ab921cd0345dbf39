# shellcheck shell=bash
# dkplugin.sh — build/alcatraz-plugin under a private dockerd (tests/lib/docker.sh):
# start/stop/kill the plugin in the sim-host netns, find endpoints and their
# container netns, and check that nothing of a network or endpoint is left.
# Source it after docker_up; it reads NAME/SOCK from docker_plugin_name/dir.

NAME=$(docker_plugin_name)
SOCK=$(docker_plugin_dir)/$NAME.sock
PSTATE=$AZ_TMP/plugin-state
PLOG=$AZ_TMP/plugin.log
PL_PID=
declare -A CTR_EP=()
ALL_EPS=()

# plugin_start [ARG...] — the plugin in the sim-host netns, like dockerd
# (nsenter execs it: $! is the plugin), with ARGs (default --no-labels; e.g.
# --docker-host unix://$DK_SOCK for the label route).  Waits until it
# answers a call (after a kill -9 the old socket file is still there, so its
# presence proves nothing).  Sets PL_PID, PL_START_MS.
plugin_start() {
	local t0 how=(--no-labels)
	(($#)) && how=("$@")
	t0=$(_t_now_ms)
	nsenter --net="/run/netns/$AZ_NS_HOST" "$PLUGIN" --socket "$SOCK" --state-dir "$PSTATE" \
		"${how[@]}" </dev/null >>"$PLOG" 2>&1 &
	PL_PID=$!
	wait_for 10 plugin_answers || return 1
	PL_START_MS=$(($(_t_now_ms) - t0))
}
plugin_answers() {
	curl -sf --max-time 1 --unix-socket "$SOCK" -X POST http://plugin/Plugin.Activate 2>/dev/null |
		grep -q NetworkDriver
}
# The cleanup stops whichever plugin process is current then, after every
# container and network is gone (LIFO: docker_rm_all runs first).
t_cleanup_push 'az_pid_stop "$PL_PID"'
t_cleanup_push docker_rm_all

# plugin_up — plugin_start, registered with dockerd as $NAME on $SOCK: PASS,
# or FAIL with the plugin's log and stop the test.
plugin_up() {
	if plugin_start && docker_register_plugin "$NAME" "$SOCK"; then
		t_pass "plugin $NAME serving on $SOCK in $AZ_NS_HOST ($PL_START_MS ms)"
	else
		t_fail "plugin start" "no answer on $SOCK"
		plugin_log
		exit 1
	fi
}

plugin_log() {
	t_log "plugin log (last lines):"
	tail -n "${1:-12}" "$PLOG" 2>/dev/null | sed 's/^/#   /' >&2
}

# ctr_run NAME NETWORK-ARG [docker run options] — a detached container
# (--init: it stops at once), its netns attached as ${AZ_RUN}-kNAME so that
# probe.sh's expect_* run azprobe in it; sets AZ_CTR_NS/IP4/IP6[NAME],
# CTR_EP[NAME] (its endpoint on its first network), and adds it to ALL_EPS.
ctr_run() {
	local name=$1 net=$2 err
	shift 2
	if ! err=$(dk run -d --init --stop-timeout 1 --network "$net" --name "$AZ_RUN-$name" "$@" \
		"$DK_IMAGE" sleep 600 2>&1); then
		echo "docker run $name: $err" >&2
		return 1
	fi
	ctr_attach "$name"
}
# shellcheck disable=SC2034  # AZ_CTR_IP6 is read by probe.sh
ctr_attach() {
	local name=$1 ns=${AZ_RUN}-k$1 pid ip4 ip6 ep
	IFS='|' read -r pid ip4 ip6 ep _ < <(dk inspect -f '{{.State.Pid}}|{{range .NetworkSettings.Networks}}{{.IPAddress}}|{{.GlobalIPv6Address}}|{{.EndpointID}}|{{end}}' "$AZ_RUN-$name" 2>/dev/null)
	[[ ${pid:-} =~ ^[1-9][0-9]*$ && -n ${ep:-} ]] || { echo "ctr_attach $name: not running" >&2; return 1; }
	ip netns del "$ns" 2>/dev/null
	ip netns attach "$ns" "$pid" || return 1
	AZ_CTR_NS[$name]=$ns
	AZ_CTR_IP4[$name]=$ip4
	AZ_CTR_IP6[$name]=$ip6
	CTR_EP[$name]=$ep
	ALL_EPS+=("$ep")
	# IPv6: Docker adds the global address with nodad; wait anyway should
	# another version not (the link-local one stays tentative for a while
	# and does not matter)
	[[ -z $ip6 ]] || wait_for 5 _no_tentative "$ns"
}
_no_tentative() { [[ -z $(ip -n "$1" -6 addr show scope global tentative 2>/dev/null) ]]; }

# ctr_detach NAME — forget the netns (before the container is removed, so
# the pinned netns does not keep its interface alive).
ctr_detach() {
	[[ -n ${AZ_CTR_NS[$1]:-} ]] && ip netns del "${AZ_CTR_NS[$1]}" 2>/dev/null
	unset 'AZ_CTR_NS[$1]'
	return 0
}

net_id() { dk network inspect -f '{{.Id}}' "$1" 2>/dev/null; }

# What the plugin makes for network id N / endpoint id E, in the sim-host.
br_of() { echo "az${1:0:12}"; }
host_if_of() { echo "azh${1:0:11}"; }
ctr_if_of() { echo "azc${1:0:11}"; }
host_links() { ip -n "$AZ_NS_HOST" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1; }
has_link() { ip -n "$AZ_NS_HOST" link show "$1" >/dev/null 2>&1; }
# Links of the plugin's naming scheme, whichever network or endpoint.
plugin_links() { host_links | grep -E '^az([0-9a-f]{12}|[hc][0-9a-f]{11})$' || true; }
fw_user_rules() {
	ip netns exec "$AZ_NS_HOST" "$1" -S DOCKER-USER 2>/dev/null | grep -c -- 'alcatraz-plugin:' || true
}
plugin_table() { ip netns exec "$AZ_NS_HOST" nft list table inet alcatraz_plugin 2>/dev/null; }
net_elements() { host_ruleset | grep -cF -- "alcatraz-plugin:$1" || true; }
records() { find "$PSTATE/$1" -maxdepth 1 -name '*.json' 2>/dev/null | wc -l; }
rules_record() { [[ -e $ALCATRAZ_STATE_DIR/netns/ep-${1:0:40}.json ]]; }

# ctr_table_of NAME EP — NAME's netns holds the table of endpoint EP.
ctr_table_of() { ctr_nft "$1" list table inet alcatraz 2>/dev/null | grep -qF "comment \"alcatraz:$2\""; }

# nothing_of_endpoints EP... — no interface, element or state of them.
nothing_of_endpoints() {
	local e bad=0
	for e in "$@"; do
		has_link "$(host_if_of "$e")" && { echo "interface $(host_if_of "$e") left"; bad=1; }
		has_link "$(ctr_if_of "$e")" && { echo "interface $(ctr_if_of "$e") left"; bad=1; }
		(($(host_elements_of "$e") == 0)) || { echo "$(host_elements_of "$e") element(s) alcatraz:${e:0:12}… left"; bad=1; }
		[[ -e $PSTATE/endpoints/$e.json ]] && { echo "plugin record endpoints/${e:0:12}… left"; bad=1; }
		rules_record "$e" && { echo "rules record netns/ep-${e:0:12}… left"; bad=1; }
	done
	return "$bad"
}

# nothing_left — after the last network: nothing of the plugin anywhere.
nothing_left() {
	local bad=0 l n
	l=$(plugin_links)
	[[ -z $l ]] || { echo "interfaces $(tr '\n' ' ' <<<"$l")"; bad=1; }
	n=$(host_elements_any)
	((n == 0)) || { echo "$n alcatraz:<id> element(s);"; bad=1; }
	plugin_table >/dev/null && { echo "table inet alcatraz_plugin;"; bad=1; }
	n=$(($(records networks) + $(records endpoints)))
	((n == 0)) || { echo "plugin records: $(records networks) network(s), $(records endpoints) endpoint(s);"; bad=1; }
	n=$(($(state_count netns) + $(state_count containers)))
	((n == 0)) || { echo "rules records in \$ALCATRAZ_STATE_DIR: $(state_count netns) netns/, $(state_count containers) containers/;"; bad=1; }
	n=$(($(fw_user_rules iptables) + $(fw_user_rules ip6tables)))
	((n == 0)) || { echo "$n DOCKER-USER rule(s) of ours;"; bad=1; }
	return "$bad"
}
