#!/usr/bin/env bash
# e2e: DESIGN.md point 8 for Docker endpoints — DNS keeps working, through
# Docker's embedded resolver.  Private dockerd 20.10 started with
# --dns 192.168.77.10 (a resolver of this test's own, in the LAN: otherwise
# refused, so an allowed query proves the rule), the plugin with
# --resolv-conf naming the same server (what dockerd forwards to is what
# dns=auto allows), real packets.
#
# A container on a user-defined network resolves through 127.0.0.11 in its
# own netns; dockerd forwards each query from that netns, with the
# container's address, across our bridge.  Checked:
#   * dns=auto (network default): port 53, UDP and TCP, to 192.168.77.10;
#     a query sent to 127.0.0.11 inside the container (busybox nslookup, via
#     docker exec) reaches it; other ports of it and 53 on another address
#     (192.168.77.1, the host) stay refused;
#   * dns=none (--driver-opt): 53 refused everywhere, and the embedded
#     resolver's forwarded query never arrives;
#   * dns=192.168.77.1 (--driver-opt): that one only.
# And DESIGN point 7 as this driver stands: `docker run -p` on an alcatraz
# network fails at once with the reason (the driver does not publish ports,
# and Docker does not for a remote driver), leaving nothing behind.
set -u
AZ_SERVER_SECONDS=${AZ_SERVER_SECONDS:-400}
source "$(dirname "$0")/../lib/docker.sh"
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"
docker_plugin_test_begin curl nft

topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
docker_up --dns "$AZ_LAN4" || { t_fail docker_up "dockerd did not start"; exit 1; }
docker_image || { t_fail docker_image "import failed"; exit 1; }
source "$(dirname "$0")/../lib/dkplugin.sh"

{
	topo_serve lan udp "$AZ_LAN4" 53 && topo_serve lan tcp "$AZ_LAN4" 53 &&
		topo_serve lan udp "$AZ_LAN4" 8080 && topo_serve lan tcp "$AZ_LAN4" 8080 &&
		topo_serve host udp "$AZ_HOST_LAN4" 53 && topo_serve host tcp "$AZ_HOST_LAN4" 53
} || { t_fail setup "servers did not start"; exit 1; }
RESOLV=$AZ_TMP/resolv.conf
printf 'nameserver %s\n' "$AZ_LAN4" >"$RESOLV"
plugin_start --no-labels --resolv-conf "$RESOLV" && docker_register_plugin "$NAME" "$SOCK" ||
	{ t_fail "plugin start" "no answer"; plugin_log; exit 1; }
NET=${AZ_RUN}d
out=$(dk network create -d "$NAME" --subnet 10.93.0.0/24 "$NET" 2>&1) ||
	{ t_fail "network create" "$out"; plugin_log; exit 1; }
ctr_run auto "$NET" &&
	ctr_run none "name=$NET,driver-opt=alcatraz.network.dns=none" &&
	ctr_run list "name=$NET,driver-opt=alcatraz.network.dns=$AZ_HOST_LAN4" ||
	{ t_fail "docker run" "containers did not start"; plugin_log; exit 1; }
for c in auto none list; do
	wait_for 10 ctr_table_of "$c" "${CTR_EP[$c]}" || t_fail "$c netns table" "not in place"
done
t_log "auto's resolv.conf: $(dk exec "$AZ_RUN-auto" cat /etc/resolv.conf | grep -v '^#' | tr '\n' ' ')"

# embedded NAME — a query to 127.0.0.11 in NAME; did 192.168.77.10:53 get it?
embedded() {
	local before
	before=$(srv_count udp "$AZ_LAN4" 53)
	dk exec "$AZ_RUN-$1" timeout 4 nslookup "probe-$1.example" 127.0.0.11 >/dev/null 2>&1
	sleep 0.2
	(($(srv_count udp "$AZ_LAN4" 53) > before))
}

# --- auto ---
expect_reachable "8 auto: UDP 53 to dockerd's upstream $AZ_LAN4 (a LAN address)" ctr:auto udp "$AZ_LAN4" 53
expect_reachable "8 auto: TCP 53 to $AZ_LAN4" ctr:auto tcp "$AZ_LAN4" 53
t_check "8 auto: a lookup through Docker's embedded DNS (127.0.0.11) reaches $AZ_LAN4:53" embedded auto
expect_refused_fast "8 auto: another port of the resolver (udp 8080)" ctr:auto udp "$AZ_LAN4" 8080
expect_refused_fast "8 auto: another port of the resolver (tcp 8080)" ctr:auto tcp "$AZ_LAN4" 8080
expect_refused_fast "8 auto: 53 elsewhere (udp, the host $AZ_HOST_LAN4)" ctr:auto udp "$AZ_HOST_LAN4" 53
expect_refused_fast "8 auto: 53 elsewhere (tcp, the host $AZ_HOST_LAN4)" ctr:auto tcp "$AZ_HOST_LAN4" 53
# --- none ---
expect_refused_fast "8 none: UDP 53 to $AZ_LAN4" ctr:none udp "$AZ_LAN4" 53
expect_refused_fast "8 none: TCP 53 to $AZ_LAN4" ctr:none tcp "$AZ_LAN4" 53
t_check_not "8 none: Docker's embedded DNS forwards nothing that arrives" embedded none
# --- list ---
expect_reachable "8 list: UDP 53 to $AZ_HOST_LAN4 (its list)" ctr:list udp "$AZ_HOST_LAN4" 53
expect_reachable "8 list: TCP 53 to $AZ_HOST_LAN4" ctr:list tcp "$AZ_HOST_LAN4" 53
expect_refused_fast "8 list: UDP 53 to $AZ_LAN4 (not in its list)" ctr:list udp "$AZ_LAN4" 53
expect_refused_fast "8 list: TCP 53 to $AZ_LAN4" ctr:list tcp "$AZ_LAN4" 53
t_check_not "8 list: Docker's embedded DNS (upstream $AZ_LAN4, not in the list) forwards nothing that arrives" embedded list

# --- DESIGN point 7: published ports are refused, not silently dropped ---
t0=$(_t_now_ms)
out=$(dk run -d --init -p 8080:80 --network "$NET" --name "$AZ_RUN-pub" "$DK_IMAGE" sleep 60 2>&1) && rc=0 || rc=$?
ms=$(($(_t_now_ms) - t0))
if ((rc != 0)) && grep -qF "publishing ports" <<<"$out" && ((ms < 5000)); then
	t_pass "7 docker run -p on an alcatraz network fails in $ms ms with the reason: $(grep -o 'alcatraz: publishing[^.]*' <<<"$out" | head -1)"
else
	t_fail "7 docker run -p" "rc=$rc after $ms ms: $(tr '\n' ' ' <<<"$out" | cut -c1-300)"
fi
dk rm -f "$AZ_RUN-pub" >/dev/null 2>&1
t_check "7 the refused container left no endpoint record" count_is 3 records endpoints

for c in auto none list; do ctr_detach "$c"; done
dk rm -f "$AZ_RUN-auto" "$AZ_RUN-none" "$AZ_RUN-list" >/dev/null 2>&1
dk network rm "$NET" >/dev/null 2>&1
if wait_for 5 nothing_left >/dev/null; then t_pass "nothing left"; else t_fail "cleanup" "$(nothing_left | tr '\n' ' ')"; fi
t_log "$AZ_TEST_NAME: $(($(_t_now_ms) - T_START)) ms"
((T_FAILED)) && { dump_on_failure; plugin_log 30; }
exit 0
