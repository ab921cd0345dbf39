#!/usr/bin/env bash
# A host with hundreds of containers has hundreds of veths, each with an IPv6
# link-local address.  Those must not count against the host-network set
# (they are all inside fe80::/10, refused by the catalogue): the hook once
# refused every container past ~245 ("more than 256 host addresses").
source "$(dirname "$0")/../lib/fakert.sh"
require_root
N=${AZ_HOST_LINKS:-400}
topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
topo_add_ctr a 2 >/dev/null
P=$(azprobe_bin)
ip netns exec "$AZ_NS_LAN" "$P" serve tcp 0.0.0.0 80 --log "$AZ_TMP/lan.log" --max-seconds 120 &
az_pid_track $!
# N veth pairs in the sim-host, up, each end with its link-local address
for ((i = 0; i < N; i++)); do
	echo "link add ${AZ_RUN}x$i type veth peer name ${AZ_RUN}y$i"
	echo "link set ${AZ_RUN}x$i up"
	echo "link set ${AZ_RUN}y$i up"
done >"$AZ_TMP/links.batch"
ip -n "$AZ_NS_HOST" -batch "$AZ_TMP/links.batch" || { t_fail setup "ip -batch"; exit 1; }
ll=$(ip -n "$AZ_NS_HOST" -6 addr show scope link | grep -c 'inet6 fe80')
if fakert_create a alcatraz.network=on; then
	t_pass "hook applies with $ll link-local addresses on the host"
else
	t_fail "many host links" "$FAKERT_ERR"
fi
out=$(topo_exec_ctr a "$P" tcp "$AZ_LAN4" 80 --timeout 2000)
[[ $out == refused* ]] && t_pass "and the container is isolated ($out)" || t_fail isolated "$out"
