#!/usr/bin/env bash
# e2e: the Docker network plugin (issue 3) with a private dockerd 20.10 in the
# sealed topology, containers from the imported busybox image, real packets.
# The plugin runs with --no-labels (the label route is 52-docker-labels.sh).
#
#   net A  10.99.0.0/24 + fd00:99::/64, -o lan-access=192.168.77.10:8080
#   net P  10.98.0.0/24, -o proxy=10.77.0.1:12345 (redsocks → microsocks)
#
# Checked:
#   * (probes run azprobe in the container's netns, attached with `ip netns
#     attach`; one runs in the container itself with docker exec)
#   * a container on A reaches the internet server (TCP, UDP, IPv6); is
#     refused fast the LAN (port 80, IPv4 and IPv6, UDP) while the server
#     saw nothing; reaches 192.168.77.10:8080 (the network's option); is
#     refused the host (A's gateway v4/v6, 192.168.77.1, 203.0.113.1,
#     10.77.0.1); cannot reach another container on A (dropped: this kernel
#     has no bridge-family reject);
#   * `run --network name=A,driver-opt=alcatraz.network.lan-access=…:9090`
#     opens 192.168.77.10:9090 for that container only (the driver option
#     replaces the network's lan-access: file < network < driver-opt);
#   * on P, internet TCP arrives through the proxy chain (redsocks logged
#     the original destination), the LAN is refused and never reaches the
#     proxy;
#   * bad options fail `docker network create` (and `docker run` for a bad
#     driver-opt) at once, with the reason in the error text, and leave
#     nothing behind;
#   * removing the containers, then the networks, leaves no interface, no
#     nft element, no state record (plugin state dir and
#     ALCATRAZ_STATE_DIR), no DOCKER-USER rule and no table inet
#     alcatraz_plugin.
# Environment: Docker's FORWARD policy ACCEPT, br_netfilter on (the other
# combinations: 53-docker-plugin-forward.sh).
set -u
AZ_SERVER_SECONDS=${AZ_SERVER_SECONDS:-400}
source "$(dirname "$0")/../lib/docker.sh"
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"
# shellcheck source=../lib/proxy.sh
source "$(dirname "$0")/../lib/proxy.sh"
docker_plugin_test_begin curl iptables
HAVE_PROXY=1
command -v redsocks >/dev/null && command -v microsocks >/dev/null || HAVE_PROXY=0

topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
docker_up || { t_fail docker_up "dockerd did not start"; exit 1; }
docker_image || { t_fail docker_image "import failed"; exit 1; }

source "$(dirname "$0")/../lib/dkplugin.sh"

NET_A=${AZ_RUN}a NET_P=${AZ_RUN}p
ALL_NETS=()
GW_A4=10.99.0.1 GW_A6=fd00:99::1 GW_P4=10.98.0.1

plugin_up

# --- servers ---------------------------------------------------------------------
{
	topo_serve wan tcp "$AZ_WAN4" 80 && topo_serve wan udp "$AZ_WAN4" 80 &&
		topo_serve wan tcp "$AZ_WAN6" 80 &&
		topo_serve lan tcp "$AZ_LAN4" 80 && topo_serve lan udp "$AZ_LAN4" 80 &&
		topo_serve lan tcp "$AZ_LAN6" 80 &&
		topo_serve lan tcp "$AZ_LAN4" 8080 && topo_serve lan tcp "$AZ_LAN4" 9090 &&
		topo_serve host tcp "$AZ_HOST_LAN4" 80 && topo_serve host tcp "$AZ_HOST_UP4" 80 &&
		topo_serve host tcp "$AZ_BR4" 80 &&
		{ ((!HAVE_PROXY)) || start_proxy_chain; }
} || { t_fail setup "servers or the proxy chain did not start"; exit 1; }

# --- network A: options, IPv6 -----------------------------------------------------
t0=$(_t_now_ms)
if out=$(dk network create -d "$NAME" --subnet 10.99.0.0/24 --ipv6 --subnet fd00:99::/64 \
	-o "alcatraz.network.lan-access=$AZ_LAN4:8080" "$NET_A" 2>&1); then
	t_pass "network create -d $NAME --ipv6 -o lan-access=$AZ_LAN4:8080 ($(($(_t_now_ms) - t0)) ms)"
else
	t_fail "network create $NET_A" "$out"
	plugin_log
	exit 1
fi
NID_A=$(net_id "$NET_A")
ALL_NETS+=("$NID_A")
BR_A=$(br_of "$NID_A")
bridge_ok() {
	local a
	a=$(ip -n "$AZ_NS_HOST" addr show "$BR_A") || return 1
	grep -q "inet $GW_A4/24" <<<"$a" && grep -q "inet6 $GW_A6/64" <<<"$a" &&
		[[ -e $PSTATE/networks/$NID_A.json ]]
}
t_check "bridge $BR_A in the sim-host with both gateways; network record stored" bridge_ok
t_check "the bridge is not in the real host's netns" bash -c "! ip link show $BR_A"
topo_serve host tcp "$GW_A4" 80 && topo_serve host tcp "$GW_A6" 80 ||
	{ t_fail setup "gateway servers did not start"; exit 1; }

t0=$(_t_now_ms)
ctr_run c1 "$NET_A" && ctr_run c2 "$NET_A" ||
	{ t_fail "docker run on $NET_A" "containers did not start"; plugin_log; exit 1; }
t_pass "two containers on $NET_A: c1 ${AZ_CTR_IP4[c1]} ${AZ_CTR_IP6[c1]}, c2 ${AZ_CTR_IP4[c2]} ($(($(_t_now_ms) - t0)) ms)"
ep_ok() {
	local e=${CTR_EP[c1]}
	[[ -e $PSTATE/endpoints/$e.json ]] && rules_record "$e" && (($(host_elements_of "$e") > 0)) &&
		ip -n "$AZ_NS_HOST" link show "$(host_if_of "$e")" | grep -q "master $BR_A"
}
t_check "c1's endpoint: veth $(host_if_of "${CTR_EP[c1]}") on $BR_A, elements, plugin and rules records" ep_ok
topo_serve ctr:c2 tcp "${AZ_CTR_IP4[c2]}" 8080 && topo_serve ctr:c2 tcp "${AZ_CTR_IP6[c2]}" 8080 ||
	{ t_fail setup "server in c2 did not start"; exit 1; }

expect_reachable "c1 → internet $AZ_WAN4:80 (TCP)" c1 tcp "$AZ_WAN4" 80
t_check "the internet server saw the sim-host's uplink address (masqueraded)" \
	count_is "$AZ_HOST_UP4" srv_last_peer tcp "$AZ_WAN4" 80
expect_reachable "c1 → internet $AZ_WAN4:80 (UDP)" c1 udp "$AZ_WAN4" 80
expect_reachable "c1 → internet [$AZ_WAN6]:80 (IPv6)" c1 tcp "$AZ_WAN6" 80
expect_refused_fast "c1 → LAN $AZ_LAN4:80" c1 tcp "$AZ_LAN4" 80
expect_refused_fast "c1 → LAN $AZ_LAN4:80 (UDP)" c1 udp "$AZ_LAN4" 80
expect_refused_fast "c1 → LAN [$AZ_LAN6]:80" c1 tcp "$AZ_LAN6" 80
expect_reachable "c1 → $AZ_LAN4:8080, allowed by the network's -o lan-access" c1 tcp "$AZ_LAN4" 8080
expect_refused_fast "c1 → $AZ_LAN4:9090 (no option opens it)" c1 tcp "$AZ_LAN4" 9090
expect_refused_fast "c1 → host at its gateway $GW_A4" c1 tcp "$GW_A4" 80
expect_refused_fast "c1 → host at its gateway $GW_A6" c1 tcp "$GW_A6" 80
expect_refused_fast "c1 → host at $AZ_HOST_LAN4" c1 tcp "$AZ_HOST_LAN4" 80
expect_refused_fast "c1 → host at $AZ_HOST_UP4" c1 tcp "$AZ_HOST_UP4" 80
expect_refused_fast "c1 → host at $AZ_BR4" c1 tcp "$AZ_BR4" 80
expect_blocked "c1 → c2 ${AZ_CTR_IP4[c2]} on the same network" c1 tcp "${AZ_CTR_IP4[c2]}" 8080
expect_blocked "c1 → c2 ${AZ_CTR_IP6[c2]} on the same network" c1 tcp "${AZ_CTR_IP6[c2]}" 8080
# The same from the container's own process (docker exec), once.
out=$(dk exec "$AZ_RUN-c1" sh -c "azprobe tcp $AZ_WAN4 80 --read; azprobe tcp $AZ_LAN4 80" 2>&1)
if [[ $(awk '{print $1}' <<<"$out" | tr '\n' ' ') == "ok refused " ]]; then
	t_pass "docker exec c1 azprobe: internet ok, LAN refused ($(tr '\n' '|' <<<"$out"))"
else
	t_fail "docker exec c1" "expected ok then refused: $(tr '\n' '|' <<<"$out")"
fi
t_check "the LAN servers on port 80 saw nothing at all" count_is 0 bash -c \
	"cat '$(srv_log tcp "$AZ_LAN4" 80)' '$(srv_log udp "$AZ_LAN4" 80)' '$(srv_log tcp "$AZ_LAN6" 80)' | wc -l"

# --- a per-container driver option -------------------------------------------------
if ctr_run d1 "name=$NET_A,driver-opt=alcatraz.network.lan-access=$AZ_LAN4:9090"; then
	t_pass "docker run --network name=$NET_A,driver-opt=alcatraz.network.lan-access=$AZ_LAN4:9090"
	t_check "the driver option is in d1's endpoint record" \
		grep -Eq "\"alcatraz.network.lan-access\":[[:space:]]*\"$AZ_LAN4:9090\"" "$PSTATE/endpoints/${CTR_EP[d1]}.json"
	expect_reachable "d1 → $AZ_LAN4:9090, opened by its driver-opt" d1 tcp "$AZ_LAN4" 9090
	expect_refused_fast "d1 → $AZ_LAN4:80" d1 tcp "$AZ_LAN4" 80
	expect_refused_fast "d1 → $AZ_LAN4:8080 (its driver-opt replaces the network's lan-access)" \
		d1 tcp "$AZ_LAN4" 8080
	expect_reachable "d1 → internet" d1 tcp "$AZ_WAN4" 80
	expect_refused_fast "d1 → host at $GW_A4" d1 tcp "$GW_A4" 80
	expect_refused_fast "c1 → $AZ_LAN4:9090 still (the driver-opt is d1's only)" c1 tcp "$AZ_LAN4" 9090
	expect_refused_fast "c2 → $AZ_LAN4:9090 (the driver-opt is d1's only)" c2 tcp "$AZ_LAN4" 9090
else
	t_fail "docker run with driver-opt" "did not start"
	plugin_log
fi

# --- the proxy chain -----------------------------------------------------------------
PROXY=$AZ_PROXY4:$AZ_PROXY_PORT
if ((!HAVE_PROXY)); then
	t_skip "proxy chain" "redsocks and microsocks are not installed (apt-get install redsocks microsocks)"
elif out=$(dk network create -d "$NAME" --subnet 10.98.0.0/24 -o "alcatraz.network.proxy=$PROXY" \
	"$NET_P" 2>&1) && ctr_run x1 "$NET_P"; then
	NID_P=$(net_id "$NET_P")
	ALL_NETS+=("$NID_P")
	t_pass "network $NET_P with -o alcatraz.network.proxy=$PROXY, container x1 ${AZ_CTR_IP4[x1]}"
	topo_serve host tcp "$GW_P4" 80 || t_fail setup "gateway server on $GW_P4 did not start"
	expect_reachable "x1 → internet $AZ_WAN4:80 through the proxy" x1 tcp "$AZ_WAN4" 80
	if proxy_saw "$AZ_WAN4:80"; then
		t_pass "redsocks logged the original destination $AZ_WAN4:80 ($(grep -F -- "->$AZ_WAN4:80]" "$AZ_PROXY_LOG" | head -n 1 | grep -o '\[.*\]'))"
	else
		t_fail "proxy chain" "redsocks did not log $AZ_WAN4:80: $(tail -n 3 "$AZ_PROXY_LOG" | tr '\n' ' ')"
	fi
	t_check "the connection came from the proxy side: the server saw $AZ_HOST_UP4" \
		count_is "$AZ_HOST_UP4" srv_last_peer tcp "$AZ_WAN4" 80
	expect_refused_fast "x1 → LAN $AZ_LAN4:80 (proxy network)" x1 tcp "$AZ_LAN4" 80
	expect_refused_fast "x1 → LAN $AZ_LAN4:8080 (A's option is not P's)" x1 tcp "$AZ_LAN4" 8080
	expect_refused_fast "x1 → host at its gateway $GW_P4" x1 tcp "$GW_P4" 80
	t_check "the LAN never reached the proxy" count_is 0 proxy_count "$AZ_LAN4"
	expect_blocked "x1 → c2 on network A (networks are apart)" x1 tcp "${AZ_CTR_IP4[c2]}" 8080
else
	t_fail "proxy network" "${out:-docker run x1 failed}"
	plugin_log
fi

# --- bad options -------------------------------------------------------------------------
# bad_net WHAT EXPECT-IN-ERROR -o ... — network create must fail at once,
# saying EXPECT, and leave nothing.
bad_net() {
	local what=$1 want=$2 out rc t0 ms
	shift 2
	t0=$(_t_now_ms)
	out=$(dk network create -d "$NAME" --subnet 10.97.0.0/24 "$@" "${AZ_RUN}bad" 2>&1) && rc=0 || rc=$?
	ms=$(($(_t_now_ms) - t0))
	out=${out//$'\n'/ }
	if ((rc != 0)) && grep -qF -- "$want" <<<"$out" && ((ms < 5000)); then
		t_pass "$what: network create fails in $ms ms: $out"
	else
		t_fail "$what" "rc=$rc after $ms ms, expected an error naming '$want': $out"
	fi
	if ! dk network inspect "${AZ_RUN}bad" >/dev/null 2>&1 && (($(records networks) == ${#ALL_NETS[@]})) &&
		[[ $(plugin_links | grep -cE '^az[0-9a-f]{12}$') == "${#ALL_NETS[@]}" ]]; then
		t_pass "$what: no network, bridge or record left"
	else
		t_fail "$what" "left: $(dk network ls --filter "name=${AZ_RUN}bad" -q) records=$(records networks) links=$(plugin_links | tr '\n' ' ')"
		dk network rm "${AZ_RUN}bad" >/dev/null 2>&1
	fi
}
bad_net "lan-access 192.168.1.300" "192.168.1.300" -o alcatraz.network.lan-access=192.168.1.300:80
bad_net "lan-access 192.168.1.300 (no port)" "192.168.1.300" -o alcatraz.network.lan-access=192.168.1.300
bad_net "misspelt key alcatraz.network.lan-acess" "unknown setting" -o "alcatraz.network.lan-acess=$AZ_LAN4:80"
bad_net "proxy without a port" "alcatraz.network.proxy" -o alcatraz.network.proxy=10.77.0.1

t0=$(_t_now_ms)
out=$(dk run -d --init --network "name=$NET_A,driver-opt=alcatraz.network.lan-access=10.0.0.999:80" \
	--name "$AZ_RUN-bad" "$DK_IMAGE" sleep 60 2>&1) && rc=0 || rc=$?
ms=$(($(_t_now_ms) - t0))
if ((rc != 0)) && grep -qF "10.0.0.999" <<<"$out" && ((ms < 5000)); then
	t_pass "a bad driver-opt fails docker run in $ms ms naming it: $(tail -n 1 <<<"$out" | cut -c1-200)"
else
	t_fail "bad driver-opt" "rc=$rc after $ms ms: $(tr '\n' ' ' <<<"$out")"
fi
dk rm -f "$AZ_RUN-bad" >/dev/null 2>&1
t_check "the bad driver-opt left no endpoint record" count_is "${#ALL_EPS[@]}" records endpoints

# --- container removal, then network removal: nothing left -------------------------------
for c in c1 c2 d1 x1; do ctr_detach "$c"; done
t0=$(_t_now_ms)
dk rm -f "$AZ_RUN-c1" "$AZ_RUN-c2" "$AZ_RUN-d1" "$AZ_RUN-x1" >/dev/null 2>&1
t_log "docker rm -f of 4 containers: $(($(_t_now_ms) - t0)) ms"
if wait_for 5 nothing_of_endpoints "${ALL_EPS[@]}"; then
	t_pass "containers removed: no veth, element, plugin record or rules record of their ${#ALL_EPS[@]} endpoints"
else
	t_fail "container removal" "$(nothing_of_endpoints "${ALL_EPS[@]}" | tr '\n' ' ')"
fi
t_check "the networks' bridges stay while the networks exist" \
	bash -c "ip -n $AZ_NS_HOST link show $BR_A >/dev/null && [[ -e $PSTATE/networks/$NID_A.json ]]"
if (($(fw_user_rules iptables) == 2 * ${#ALL_NETS[@]})); then
	t_pass "DOCKER-USER holds our 2 accepts per network ($(fw_user_rules iptables)), nothing more"
else
	t_fail "DOCKER-USER" "$(fw_user_rules iptables) rules of ours for ${#ALL_NETS[@]} networks: $(ip netns exec "$AZ_NS_HOST" iptables -S DOCKER-USER | tr '\n' '|')"
fi
t0=$(_t_now_ms)
if out=$(dk network rm "$NET_A" "$NET_P" 2>&1); then
	t_pass "docker network rm of both networks ($(($(_t_now_ms) - t0)) ms)"
else
	t_fail "network rm" "$out"
fi
if nothing_left >/dev/null; then
	t_pass "nothing left: no az* link, element, record, DOCKER-USER rule, table inet alcatraz_plugin"
else
	t_fail "after network rm" "$(nothing_left | tr '\n' ' ')"
fi
t_check "the plugin is still running" kill -0 "$PL_PID"
if grep -q . "$PLOG"; then
	t_log "plugin stderr (warnings):"
	sed 's/^/#   /' "$PLOG" | tail -n 20 >&2
fi
t_log "$AZ_TEST_NAME: $(($(_t_now_ms) - T_START)) ms"
((T_FAILED)) && { dump_on_failure; plugin_log 30; }
exit 0
