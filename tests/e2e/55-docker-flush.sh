#!/usr/bin/env bash
# e2e: DESIGN.md point 12 for Docker endpoints — a host `nft flush ruleset`
# (in the sim-host, where dockerd and the plugin run) does not open a
# container on an alcatraz network, with no `alcatraz restore --watch`
# running: the table in the container's own netns is out of the flush's
# reach.  Private dockerd 20.10, the plugin on the label route, real packets.
#
# Checked:
#   * `docker run`: Join comes before the container's netns exists; the
#     plugin puts the table there as soon as Docker has bound the SandboxKey
#     (the log gives the delay), with the container's label settings once
#     they are read (lan-access from a label is in the netns table);
#   * `docker network connect` to a running container: the SandboxKey is a
#     netns at Join, the table goes in at once;
#   * after `nft flush ruleset` in the sim-host (no alcatraz, no Docker, no
#     plugin table left there): the LAN (TCP, UDP), the host (gateway,
#     192.168.77.1, 203.0.113.1) and the metadata address 169.254.169.254
#     are still refused, fast, and the servers saw nothing;
#   * held endpoints (labels not readable: the plugin is pointed at a dead
#     Engine API socket) carry the held table into the netns: after a flush
#     even the internet is refused;
#   * a plugin restart applies the netns layer again from its records;
#   * `docker network disconnect` removes the table from a container that
#     keeps running; removal of everything leaves nothing (no table,
#     element, record, veth).
set -u
AZ_SERVER_SECONDS=${AZ_SERVER_SECONDS:-400}
source "$(dirname "$0")/../lib/docker.sh"
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"
docker_plugin_test_begin curl nft

topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
docker_up || { t_fail docker_up "dockerd did not start"; exit 1; }
docker_image || { t_fail docker_image "import failed"; exit 1; }
source "$(dirname "$0")/../lib/dkplugin.sh"

META=169.254.169.254
NET=${AZ_RUN}f GW4=10.95.0.1
{
	topo_add_addr wan "$META/32" &&
		topo_serve wan tcp "$AZ_WAN4" 80 && topo_serve wan tcp "$META" 80 &&
		topo_serve lan tcp "$AZ_LAN4" 80 && topo_serve lan udp "$AZ_LAN4" 80 &&
		topo_serve lan tcp "$AZ_LAN4" 8080 &&
		topo_serve host tcp "$AZ_HOST_LAN4" 80 && topo_serve host tcp "$AZ_HOST_UP4" 80
} || { t_fail setup "servers did not start"; exit 1; }

if plugin_start --docker-host "unix://$DK_SOCK" && docker_register_plugin "$NAME" "$SOCK"; then
	t_pass "plugin $NAME on the label route ($PL_START_MS ms)"
else
	t_fail "plugin start" "no answer on $SOCK"; plugin_log; exit 1
fi
out=$(dk network create -d "$NAME" --subnet 10.95.0.0/24 "$NET" 2>&1) ||
	{ t_fail "network create" "$out"; plugin_log; exit 1; }
NID=$(net_id "$NET")
topo_serve host tcp "$GW4" 80 || { t_fail setup "gateway server"; exit 1; }

# released NAME EP — NAME's netns holds EP's table with the label's entry.
released() { ctr_table_of "$1" "$2" && ctr_nft "$1" list table inet alcatraz | grep -qF "$AZ_LAN4 . tcp . 8080"; }
held() { ctr_table_of "$1" "$2" && ctr_nft "$1" list table inet alcatraz | grep -q "meta nfproto ipv4 goto refuse"; }

# --- docker run: the netns layer follows Join -------------------------------------
ctr_run c1 "$NET" --label "alcatraz.network.lan-access=$AZ_LAN4:8080" ||
	{ t_fail "docker run c1" "did not start"; plugin_log; exit 1; }
t0=$(_t_now_ms)
E1=${CTR_EP[c1]}
if wait_for 10 released c1 "$E1"; then
	t_pass "c1 (docker run): the table in its netns is its endpoint's, with its label's lan-access ($(($(_t_now_ms) - t0)) ms after docker run -d returned)"
else
	t_fail "c1 netns table" "$(ctr_nft c1 list ruleset 2>&1 | head -20 | tr '\n' ' ')"; plugin_log 20
fi
expect_reachable "c1 → internet" ctr:c1 tcp "$AZ_WAN4" 80
expect_reachable "c1 → LAN 8080 (its label)" ctr:c1 tcp "$AZ_LAN4" 8080

# --- network connect: the netns exists at Join ------------------------------------
dk run -d --init --stop-timeout 1 --name "$AZ_RUN-c2" "$DK_IMAGE" sleep 600 >/dev/null 2>&1 &&
	dk network connect --driver-opt "alcatraz.network.lan-access=$AZ_LAN4:8080" "$NET" "$AZ_RUN-c2" ||
	{ t_fail "network connect c2" "failed"; plugin_log; exit 1; }
ctr_attach c2 >/dev/null 2>&1 || true
E2=$(dk inspect -f "{{(index .NetworkSettings.Networks \"$NET\").EndpointID}}" "$AZ_RUN-c2")
ALL_EPS=("$E1" "$E2")	# not c2's endpoint on Docker's bridge
if wait_for 10 released c2 "$E2"; then
	t_pass "c2 (network connect to a running container): its endpoint's table is in its netns"
else
	t_fail "c2 netns table" "$(ctr_nft c2 list ruleset 2>&1 | head -20 | tr '\n' ' ')"; plugin_log 20
fi

# --- the flush -------------------------------------------------------------------------
no_watch() { ! pgrep -f 'alcatraz restore --watch' >/dev/null; }
t_check "no alcatraz restore --watch is running" no_watch
ip netns exec "$AZ_NS_HOST" nft flush ruleset
t_check "flush: the sim-host has no table left at all" count_is 0 bash -c "ip netns exec $AZ_NS_HOST nft list tables | wc -l"
t_check "flush: c1's table survived" ctr_table_of c1 "$E1"
t_check "flush: c2's table survived" ctr_table_of c2 "$E2"
for c in c1 c2; do
	expect_refused_fast "[after flush] $c → LAN tcp 80" "ctr:$c" tcp "$AZ_LAN4" 80
	expect_refused_fast "[after flush] $c → LAN udp 80" "ctr:$c" udp "$AZ_LAN4" 80
	expect_refused_fast "[after flush] $c → metadata $META" "ctr:$c" tcp "$META" 80
	expect_refused_fast "[after flush] $c → host (gateway $GW4)" "ctr:$c" tcp "$GW4" 80
	expect_refused_fast "[after flush] $c → host ($AZ_HOST_LAN4)" "ctr:$c" tcp "$AZ_HOST_LAN4" 80
	expect_refused_fast "[after flush] $c → host ($AZ_HOST_UP4)" "ctr:$c" tcp "$AZ_HOST_UP4" 80
done

# --- held endpoints carry the held table -----------------------------------------------
az_pid_stop "$PL_PID"
if plugin_start --docker-host "unix://$AZ_TMP/dead.sock"; then
	t_pass "plugin restarted, pointed at a dead Engine API socket (labels cannot be read)"
else
	t_fail "plugin restart" "no answer"; plugin_log; exit 1
fi
# The restart applied both layers again from the records (the host layer
# rebuilt: the flush had taken it).
t_check "restart: the host layer is back" bash -c "ip netns exec $AZ_NS_HOST nft list table inet alcatraz >/dev/null"
t_check "restart: c1 keeps its released table" released c1 "$E1"
ctr_run c3 "$NET" || { t_fail "docker run c3" "did not start"; plugin_log; exit 1; }
E3=${CTR_EP[c3]}
if wait_for 10 held c3 "$E3"; then
	t_pass "c3 (labels unreadable): the held table is in its netns"
else
	t_fail "c3 held table" "$(ctr_nft c3 list ruleset 2>&1 | head -20 | tr '\n' ' ')"; plugin_log 20
fi
ip netns exec "$AZ_NS_HOST" nft flush ruleset
t_check "second flush: the sim-host has no table left" count_is 0 bash -c "ip netns exec $AZ_NS_HOST nft list tables | wc -l"
expect_refused_fast "[after flush] held c3 → internet (only DNS passes)" ctr:c3 tcp "$AZ_WAN4" 80
expect_refused_fast "[after flush] held c3 → LAN 8080" ctr:c3 tcp "$AZ_LAN4" 8080
expect_refused_fast "[after flush] held c3 → metadata" ctr:c3 tcp "$META" 80

# --- disconnect, removal: nothing left -------------------------------------------------
dk network disconnect "$NET" "$AZ_RUN-c2" >/dev/null 2>&1
gone() { ! ctr_nft "$1" list table inet alcatraz >/dev/null 2>&1; }
if wait_for 5 gone c2 && kill -0 "$(dk inspect -f '{{.State.Pid}}' "$AZ_RUN-c2")" 2>/dev/null; then
	t_pass "network disconnect: c2 runs on without the table in its netns"
else
	t_fail "disconnect c2" "$(ctr_nft c2 list ruleset 2>&1 | head -5 | tr '\n' ' ')"
fi
for c in c1 c2 c3; do ctr_detach "$c"; done
dk rm -f "$AZ_RUN-c1" "$AZ_RUN-c2" "$AZ_RUN-c3" >/dev/null 2>&1
if wait_for 5 nothing_of_endpoints "${ALL_EPS[@]}"; then
	t_pass "containers removed: no veth, element, plugin record or rules record of their ${#ALL_EPS[@]} endpoints"
else
	t_fail "container removal" "$(nothing_of_endpoints "${ALL_EPS[@]}" | tr '\n' ' ')"
fi
out=$(dk network rm "$NET" 2>&1) || t_fail "network rm" "$out"
if nothing_left >/dev/null; then
	t_pass "nothing left after network rm"
else
	t_fail "after network rm" "$(nothing_left | tr '\n' ' ')"
fi
t_check "the plugin is still running" kill -0 "$PL_PID"
t_log "$AZ_TEST_NAME: $(($(_t_now_ms) - T_START)) ms"
((T_FAILED)) && { dump_on_failure; plugin_log 30; }
exit 0
