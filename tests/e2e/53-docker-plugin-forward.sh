#!/usr/bin/env bash
# e2e: the Docker network plugin (issue 3) whichever way Docker left
# forwarding, with a private dockerd 20.10 in the sealed topology and real
# packets.  br_netfilter is turned off before dockerd starts, and dockerd is
# started with forwarding off (DK_FORWARD_DROP=1), so that it turns it on
# itself and sets the FORWARD policy to DROP (docs/docker-notes.md, 2).
# The plugin runs with --no-labels (labels: 52-docker-labels.sh).
#
#   net F  10.94.0.0/24 + fd00:94::/64, -o lan-access=192.168.77.10:8080
#
# The same matrix — internet (TCP, UDP, IPv6) reachable, the allowed LAN
# entry reachable, the LAN and the host refused, the other container on
# the network blocked — in four states of the sim-host:
#   1. FORWARD DROP, br_netfilter off (as set before dockerd started)
#   2. FORWARD DROP, br_netfilter on
#   3. FORWARD ACCEPT (set by hand, as on a host where forwarding was on
#      before dockerd), br_netfilter on
#   4. FORWARD ACCEPT, br_netfilter off
# Also: the plugin's accepts in DOCKER-USER are what lets the traffic
# through Docker's DROP (their counters grow); it changed nothing else of
# iptables (FORWARD policy, Docker's other chains); after `docker network
# rm` DOCKER-USER is as Docker made it and nothing of the plugin is left.
set -u
AZ_SERVER_SECONDS=${AZ_SERVER_SECONDS:-400}
source "$(dirname "$0")/../lib/docker.sh"
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"
require_root
why=$(docker_missing)
if [[ -n $why ]]; then
	t_skip docker "$why"
	exit 0
fi
require_cmd curl iptables
PLUGIN=$AZ_BUILD/alcatraz-plugin
if [[ ! -x $PLUGIN ]]; then
	t_fail "$AZ_TEST_NAME" "$PLUGIN is not built (run make)"
	exit 1
fi
T_START=$(_t_now_ms)

topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
if ! topo_br_netfilter off; then
	t_skip "$AZ_TEST_NAME" "no br_netfilter in this kernel: the br_netfilter states cannot be set"
	exit 0
fi
DK_FORWARD_DROP=1 docker_up || { t_fail docker_up "dockerd did not start"; exit 1; }
docker_image || { t_fail docker_image "import failed"; exit 1; }

# ------------------------------------------------------------------ helpers
# (the same block is in 51-docker-plugin.sh and 53-docker-plugin-restart.sh)

NAME=$(docker_plugin_name)
SOCK=$(docker_plugin_dir)/$NAME.sock
PSTATE=$AZ_TMP/plugin-state
PLOG=$AZ_TMP/plugin.log
PL_PID=
declare -A CTR_EP=()
ALL_EPS=()

# plugin_start — the plugin in the sim-host netns, like dockerd (nsenter
# execs it: $! is the plugin).  Waits until it answers a call (after a
# kill -9 the old socket file is still there, so its presence proves
# nothing).  Sets PL_PID, PL_START_MS.
plugin_start() {
	local t0
	t0=$(_t_now_ms)
	nsenter --net="/run/netns/$AZ_NS_HOST" "$PLUGIN" --socket "$SOCK" --state-dir "$PSTATE" \
		--no-labels </dev/null >>"$PLOG" 2>&1 &
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
# ------------------------------------------------------------------ end of helpers

NET_F=${AZ_RUN}f
GW_F4=10.94.0.1 GW_F6=fd00:94::1
ipt() { ip netns exec "$AZ_NS_HOST" "$@"; }
brnf() { ip netns exec "$AZ_NS_HOST" cat /proc/sys/net/bridge/bridge-nf-call-iptables; }
policy() { ipt iptables -S FORWARD | awk '$1 == "-P" {print $3}'; }
# iptables and ip6tables of the sim-host without our DOCKER-USER accepts.
docker_fw() {
	{ ipt iptables -S; ipt ip6tables -S; ipt iptables -t nat -S; } 2>/dev/null | grep -v -- 'alcatraz-plugin:'
}
# packets through our "-i BRIDGE -j ACCEPT" in DOCKER-USER
accept_packets() {
	ipt iptables -t filter -L DOCKER-USER -v -n -x 2>/dev/null |
		awk -v br="$BR_F" '$3 == "ACCEPT" && $6 == br {print $1; exit}'
}

if [[ $(policy) == DROP && $(brnf) == 0 ]] && ipt iptables -S DOCKER-USER >/dev/null 2>&1; then
	t_pass "dockerd set FORWARD policy DROP (it turned ip_forward on), br_netfilter is off, DOCKER-USER exists"
else
	t_fail "setup" "FORWARD policy $(policy), br_netfilter $(brnf)"
fi
if plugin_start && docker_register_plugin "$NAME" "$SOCK"; then
	t_pass "plugin $NAME serving on $SOCK ($PL_START_MS ms)"
else
	t_fail "plugin start" "no answer on $SOCK"
	plugin_log
	exit 1
fi
{
	topo_serve wan tcp "$AZ_WAN4" 80 && topo_serve wan udp "$AZ_WAN4" 80 &&
		topo_serve wan tcp "$AZ_WAN6" 80 && topo_serve lan tcp "$AZ_LAN4" 80 &&
		topo_serve lan tcp "$AZ_LAN4" 8080 && topo_serve lan tcp "$AZ_LAN6" 80 &&
		topo_serve host tcp "$AZ_HOST_UP4" 80
} || { t_fail setup "servers did not start"; exit 1; }

fw_before=$(docker_fw)
if out=$(dk network create -d "$NAME" --subnet 10.94.0.0/24 --ipv6 --subnet fd00:94::/64 \
	-o "alcatraz.network.lan-access=$AZ_LAN4:8080" "$NET_F" 2>&1); then
	NID_F=$(net_id "$NET_F")
	BR_F=$(br_of "$NID_F")
	t_pass "network $NET_F created (bridge $BR_F)"
else
	t_fail "network create" "$out"
	plugin_log
	exit 1
fi
topo_serve host tcp "$GW_F4" 80 && topo_serve host tcp "$GW_F6" 80 || { t_fail setup "gateway servers"; exit 1; }
users=$(ipt iptables -S DOCKER-USER | grep -F -- "alcatraz-plugin:$NID_F")
if [[ $(wc -l <<<"$users") == 2 && $users == *"-i $BR_F "*"-j ACCEPT"* && $users == *"-o $BR_F "*"RELATED,ESTABLISHED"* ]]; then
	t_pass "DOCKER-USER: the plugin's 2 accepts for $BR_F (out, and replies back)"
else
	t_fail "DOCKER-USER" "$(ipt iptables -S DOCKER-USER | tr '\n' '|')"
fi
if [[ $(docker_fw) == "$fw_before" && $(policy) == DROP ]]; then
	t_pass "nothing else of iptables/ip6tables changed (FORWARD policy still DROP, Docker's chains as they were)"
else
	t_fail "iptables" "changed beyond DOCKER-USER: $(diff <(echo "$fw_before") <(docker_fw) | head -n 4 | tr '\n' ' ')"
fi

ctr_run f1 "$NET_F" && ctr_run f2 "$NET_F" || { t_fail "docker run" "f1/f2 did not start"; plugin_log; exit 1; }
topo_serve ctr:f2 tcp "${AZ_CTR_IP4[f2]}" 8080 && topo_serve ctr:f2 tcp "${AZ_CTR_IP6[f2]}" 8080 ||
	{ t_fail setup "server in f2"; exit 1; }
t_pass "containers f1 ${AZ_CTR_IP4[f1]} ${AZ_CTR_IP6[f1]}, f2 ${AZ_CTR_IP4[f2]} on $NET_F"

matrix() {
	local l=$1 before
	before=$(accept_packets)
	expect_reachable "$l: f1 → internet $AZ_WAN4:80 (TCP)" f1 tcp "$AZ_WAN4" 80
	expect_reachable "$l: f1 → internet $AZ_WAN4:80 (UDP)" f1 udp "$AZ_WAN4" 80
	expect_reachable "$l: f1 → internet [$AZ_WAN6]:80" f1 tcp "$AZ_WAN6" 80
	expect_reachable "$l: f1 → $AZ_LAN4:8080 (allowed)" f1 tcp "$AZ_LAN4" 8080
	expect_refused_fast "$l: f1 → LAN $AZ_LAN4:80" f1 tcp "$AZ_LAN4" 80
	expect_refused_fast "$l: f1 → LAN [$AZ_LAN6]:80" f1 tcp "$AZ_LAN6" 80
	expect_refused_fast "$l: f1 → host at its gateway $GW_F4" f1 tcp "$GW_F4" 80
	expect_refused_fast "$l: f1 → host at its gateway $GW_F6" f1 tcp "$GW_F6" 80
	expect_refused_fast "$l: f1 → host at $AZ_HOST_UP4" f1 tcp "$AZ_HOST_UP4" 80
	expect_blocked "$l: f1 → f2 ${AZ_CTR_IP4[f2]}" f1 tcp "${AZ_CTR_IP4[f2]}" 8080
	expect_blocked "$l: f1 → f2 ${AZ_CTR_IP6[f2]}" f1 tcp "${AZ_CTR_IP6[f2]}" 8080
	if [[ $(policy) == DROP ]]; then
		if (($(accept_packets) > before)); then
			t_pass "$l: the traffic went through the plugin's DOCKER-USER accept (packets $before → $(accept_packets))"
		else
			t_fail "$l: DOCKER-USER" "the accept for $BR_F saw no packet ($before → $(accept_packets))"
		fi
	fi
}

matrix "[FORWARD DROP, br_nf off]"
topo_br_netfilter on
matrix "[FORWARD DROP, br_nf on]"
ipt iptables -P FORWARD ACCEPT
matrix "[FORWARD ACCEPT, br_nf on]"
topo_br_netfilter off
matrix "[FORWARD ACCEPT, br_nf off]"
ipt iptables -P FORWARD DROP

for c in f1 f2; do ctr_detach "$c"; done
dk rm -f "$AZ_RUN-f1" "$AZ_RUN-f2" >/dev/null 2>&1
if wait_for 5 nothing_of_endpoints "${ALL_EPS[@]}"; then
	t_pass "containers removed: nothing of their endpoints is left"
else
	t_fail "container removal" "$(nothing_of_endpoints "${ALL_EPS[@]}" | tr '\n' ' ')"
fi
if out=$(dk network rm "$NET_F" 2>&1) && nothing_left >/dev/null; then
	t_pass "network rm: no az* link, element, record, DOCKER-USER rule or table inet alcatraz_plugin left"
else
	t_fail "network rm" "$out; $(nothing_left | tr '\n' ' ')"
fi
if [[ $(docker_fw) == "$fw_before" ]] && ! ipt iptables -S DOCKER-USER | grep -qF alcatraz; then
	t_pass "iptables and ip6tables are exactly as Docker made them"
else
	t_fail "iptables after" "$(diff <(echo "$fw_before") <(docker_fw) | head -n 4 | tr '\n' ' ')"
fi
t_check "the plugin is still running" kill -0 "$PL_PID"
t_log "$AZ_TEST_NAME: $(($(_t_now_ms) - T_START)) ms"
((T_FAILED)) && { dump_on_failure; plugin_log 30; }
exit 0
