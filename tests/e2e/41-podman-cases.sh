#!/usr/bin/env bash
# e2e, real Podman: CAP_NET_ADMIN, macvlan (no host-side peer), user
# namespaces (network configured after create), several interfaces.
source "$(dirname "$0")/../lib/podman.sh"
source "$(dirname "$0")/../lib/proxy.sh"
podman_test_begin podman-cases

topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
podman_setup || { t_fail podman-setup "cannot prepare podman"; exit 1; }
P=$(azprobe_bin)
for a in 0.0.0.0 ::; do
	ip netns exec "$AZ_NS_LAN" "$P" serve tcp $a 80 --log "$AZ_TMP/lan.log" --max-seconds 600 &
	az_pid_track $!
	ip netns exec "$AZ_NS_WAN" "$P" serve tcp $a 80 --log "$AZ_TMP/wan.log" --max-seconds 600 &
	az_pid_track $!
done
wait_for 5 topo_exec_wan "$P" tcp "$AZ_WAN4" 80 --timeout 200

verdicts() { awk '{printf "%s ", $1}'; }

# --- CAP_NET_ADMIN on a bridge: the host layer is out of its reach -------------
out=$(pm_run --rm --cap-add NET_ADMIN --cap-add NET_RAW --annotation alcatraz.network=on -- sh -c \
	"azprobe tcp $AZ_WAN4 80; azprobe tcp $AZ_LAN4 80" 2>/dev/null | verdicts)
if [[ $out == "ok refused " ]]; then
	t_pass "CAP_NET_ADMIN and CAP_NET_RAW on a bridge: start, isolated (the host layer is out of reach)"
else
	t_fail "CAP_NET_ADMIN on a bridge" "got: $out"
fi

# --- macvlan: no host-side peer ---------------------------------------------
if pm network create -d macvlan -o parent="$AZ_IF_LAN" --subnet 192.168.77.0/24 \
	--gateway 192.168.77.1 "${AZ_RUN}mv" >/dev/null 2>"$AZ_TMP/mv.err"; then
	out=$(pm_run --rm --network "${AZ_RUN}mv" --cap-add NET_ADMIN --annotation alcatraz.network=on -- true 2>&1)
	if (($? != 0)) && grep -q "CAP_NET_ADMIN" <<<"$out"; then
		t_pass "CAP_NET_ADMIN without a host-side peer (macvlan): refused with a clear error"
	else
		t_fail "CAP_NET_ADMIN on macvlan" "not refused: $(tr '\n' '|' <<<"$out")"
	fi
	out=$(pm_run --rm --network "${AZ_RUN}mv" --cap-add NET_RAW --annotation alcatraz.network=on -- true 2>&1)
	if (($? != 0)) && grep -q "CAP_NET_RAW" <<<"$out"; then
		t_pass "CAP_NET_RAW without a host-side peer (macvlan): refused (packet sockets skip the netns rules)"
	else
		t_fail "CAP_NET_RAW on macvlan" "not refused: $(tr '\n' '|' <<<"$out")"
	fi
	out=$(pm_run --rm --network "${AZ_RUN}mv" --annotation alcatraz.network=on -- sh -c \
		"azprobe tcp $AZ_LAN4 80; azprobe tcp 192.168.77.1 22" 2>/dev/null | verdicts)
	if [[ $out == "refused refused " ]]; then
		t_pass "macvlan: the LAN it sits on and the host refused by the in-netns layer"
	else
		t_fail "macvlan" "expected refused refused, got: $out"
	fi
	out=$(pm_run --rm --network "${AZ_RUN}mv" --annotation "alcatraz.network.proxy=$AZ_BR4:12345" -- true 2>&1)
	if (($? != 0)) && grep -q "proxy" <<<"$out"; then
		t_pass "macvlan + proxy: refused (no host side to redirect on)"
	else
		t_fail "macvlan + proxy" "not refused: $(tr '\n' '|' <<<"$out")"
	fi
else
	t_fail macvlan "podman network create -d macvlan failed: $(head -2 "$AZ_TMP/mv.err")"
fi

# --- a user namespace: the network is configured after createRuntime ---------
cid=$(pm_run -d --uidmap 0:200000:65536 --gidmap 0:200000:65536 \
	--annotation alcatraz.network=on -- sleep 300 2>/dev/null)
if [[ -n $cid ]]; then
	out=$(pm exec "$cid" sh -c "azprobe tcp $AZ_WAN4 80; azprobe tcp $AZ_LAN4 80; azprobe tcp 10.88.0.1 22" 2>/dev/null | verdicts)
	if [[ $out == "ok refused refused " ]]; then
		t_pass "user namespace (--uidmap): isolated although its interfaces appear after the hook"
	else
		t_fail "user namespace" "expected ok refused refused, got: $out"
	fi
	pm rm -f -t 0 "$cid" >/dev/null 2>&1
	# Podman 4 configures a user-namespaced container's network after it
	# started (no hook sees it): the proxy redirect cannot be set up, so
	# a proxy is refused rather than silently bypassed.
	out=$(pm_run --rm --uidmap 0:200000:65536 --gidmap 0:200000:65536 \
		--annotation "alcatraz.network.proxy=$AZ_BR4:12345" -- true 2>&1)
	if (($? != 0)) && grep -q "proxy" <<<"$out"; then
		t_pass "user namespace + proxy: refused with a clear error"
	else
		t_fail "user namespace + proxy" "not refused: $(tr '\n' '|' <<<"$out")"
	fi
else
	t_fail "user namespace" "podman run --uidmap failed"
fi

# --- two networks: every interface covered ---------------------------------
pm network create --subnet 10.90.0.0/24 "${AZ_RUN}n2" >/dev/null 2>&1
pm network create --subnet 10.91.0.0/24 "${AZ_RUN}n3" >/dev/null 2>&1
cid=$(pm_run -d --network "${AZ_RUN}n2,${AZ_RUN}n3" --annotation alcatraz.network=on -- sleep 300 2>/dev/null)
if [[ -n $cid ]]; then
	n=$(az_cli list --json 2>/dev/null | grep -c '"host":[[:space:]]*"veth')
	out=$(pm exec "$cid" sh -c "azprobe tcp $AZ_WAN4 80; azprobe tcp $AZ_LAN4 80; azprobe tcp 10.90.0.1 22; azprobe tcp 10.91.0.1 22" 2>/dev/null | verdicts)
	if [[ $n == 2 && $out == "ok refused refused refused " ]]; then
		t_pass "two networks: both host-side peers recorded, both gateways and the LAN refused"
	else
		t_fail "two networks" "peers recorded: $n, probes: $out"
	fi
	# with the in-netns table gone (an attacker with CAP_NET_ADMIN), both
	# bridges still refuse through the host layer
	ns=$(pm inspect -f '{{.NetworkSettings.SandboxKey}}' "$cid" 2>/dev/null)
	if [[ -n $ns ]] && nsenter --net="$ns" nft delete table inet alcatraz 2>/dev/null; then
		out=$(pm exec "$cid" sh -c "azprobe tcp $AZ_LAN4 80 --timeout 1500; azprobe tcp 10.90.0.1 22 --timeout 1500; azprobe tcp 10.91.0.1 22 --timeout 1500; azprobe tcp $AZ_WAN4 80" 2>/dev/null | verdicts)
		if [[ $out == "refused refused refused ok " ]]; then
			t_pass "two networks: host layer alone refuses on both bridges"
		else
			t_fail "two networks, host layer alone" "expected refused x3 then ok, got: $out"
		fi
	else
		t_fail "two networks" "cannot find or edit the container's netns ($ns)"
	fi
	pm rm -f -t 0 "$cid" >/dev/null 2>&1
else
	t_fail "two networks" "podman run failed"
fi
if wait_for 10 test "$(az_records)" = 0 && [[ $(az_elements) == 0 ]]; then
	t_pass "afterwards: nothing left"
else
	t_fail "afterwards" "$(az_records) record(s), $(az_elements) element(s) left"
fi
