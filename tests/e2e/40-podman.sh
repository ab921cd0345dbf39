#!/usr/bin/env bash
# e2e: real Podman 4.x with the packaged hooks.d JSON pointed at the built
# hook; containers from a busybox rootfs in the sealed topology; real packets.
source "$(dirname "$0")/../lib/podman.sh"
podman_test_begin podman

topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
podman_setup || { t_fail podman-setup "cannot prepare podman"; exit 1; }
P=$(azprobe_bin)
for ns in "$AZ_NS_WAN" "$AZ_NS_LAN"; do
	for a in 0.0.0.0 ::; do
		for port in 80 8080; do
			ip netns exec "$ns" "$P" serve tcp "$a" $port --log "$AZ_TMP/$ns.log" --max-seconds 600 &
			az_pid_track $!
		done
	done
done
in_host_bg "$P" serve tcp "$AZ_HOST_UP4" 22 --log "$AZ_TMP/host.log" --max-seconds 600
wait_for 5 topo_exec_wan "$P" tcp "$AZ_WAN4" 80 --timeout 200

# probe_in CTR ADDR PORT — azprobe inside a running container; prints its verdict word.
probe_in() {
	pm exec "$1" azprobe tcp "$2" "$3" --timeout 2000 2>/dev/null | awk '{print $1}'
}

clean_after() {
	local name=$1
	if wait_for 10 test "$(az_records)" = 0 && [[ $(az_elements) == 0 ]]; then
		t_pass "$name: nothing left (no state record, no element)"
	else
		t_fail "$name" "left behind: $(az_records) record(s), $(az_elements) element(s)"
	fi
}

# --- run --rm: internet yes, LAN and host no -------------------------------
out=$(pm_run --rm --annotation alcatraz.network=on -- sh -c \
	"azprobe tcp $AZ_WAN4 80; azprobe tcp $AZ_WAN4 80; azprobe tcp $AZ_LAN4 80; azprobe tcp $AZ_HOST_UP4 22; azprobe tcp 10.88.0.1 22" 2>&1)
mapfile -t v < <(awk '{print $1}' <<<"$out")
if [[ ${v[0]} == ok && ${v[2]} == refused && ${v[3]} == refused && ${v[4]} == refused ]]; then
	t_pass "run --rm: internet reachable, LAN, host uplink and gateway refused ($(sed -n 3p <<<"$out" | awk '{print $2}') ms)"
else
	t_fail "run --rm" "expected ok/ok/refused/refused/refused, got: $(tr '\n' '|' <<<"$out")"
fi
if grep -q "peer=" "$AZ_TMP/$AZ_NS_LAN.log" 2>/dev/null; then
	t_fail "run --rm: LAN server" "saw a connection: $(cat "$AZ_TMP/$AZ_NS_LAN.log")"
else
	t_pass "run --rm: the LAN server saw nothing"
fi
clean_after "run --rm"

# --- allowed host:port through an annotation (spaces inside the value) ------
out=$(pm_run --rm --annotation "alcatraz.network.lan-access=$AZ_LAN4:8080 tcp://$AZ_HOST_UP4:22" -- sh -c \
	"azprobe tcp $AZ_LAN4 8080; azprobe tcp $AZ_LAN4 80; azprobe tcp $AZ_HOST_UP4 22" 2>&1)
mapfile -t v < <(awk '{print $1}' <<<"$out")
if [[ ${v[0]} == ok && ${v[1]} == refused && ${v[2]} == ok ]]; then
	t_pass "lan-access annotation: allowed host:port reachable, another port refused"
else
	t_fail "lan-access annotation" "expected ok/refused/ok, got: $(tr '\n' '|' <<<"$out")"
fi
clean_after "lan-access run"

# --- detached, then stop / kill ------------------------------------------------
for how in stop kill; do
	cid=$(pm_run -d --annotation alcatraz.network=on -- sleep 300 2>&1) || { t_fail "$how" "run -d: $cid"; continue; }
	if [[ $(probe_in "$cid" "$AZ_LAN4" 80) == refused && $(probe_in "$cid" "$AZ_WAN4" 80) == ok ]]; then
		t_pass "$how: running container isolated (podman exec probes)"
	else
		t_fail "$how" "running container not isolated as expected"
	fi
	if [[ -x $AZ_CLI ]] && az_cli list 2>/dev/null | grep -q "${cid:0:12}"; then
		t_pass "$how: alcatraz list shows the container"
	else
		t_fail "$how: alcatraz list" "does not show ${cid:0:12}: $(az_cli list 2>&1 | head -5)"
	fi
	if [[ $how == stop ]]; then pm stop -t 1 "$cid" >/dev/null 2>&1; else pm kill "$cid" >/dev/null 2>&1; fi
	pm wait "$cid" >/dev/null 2>&1
	# conmon runs `podman container cleanup`, which runs poststop
	clean_after "$how"
	pm rm -f "$cid" >/dev/null 2>&1
done

# --- a container without the annotation is untouched ---------------------------
out=$(pm_run --rm -- azprobe tcp "$AZ_LAN4" 80 2>&1)
if [[ $out == ok* && $(az_records) == 0 ]]; then
	t_pass "no annotation: untouched (LAN reachable, no record)"
else
	t_fail "no annotation" "got '$out', $(az_records) record(s)"
fi

# --- a malformed annotation fails the start with the entry named --------------
out=$(pm_run --rm --annotation "alcatraz.network.lan-access=192.168.1.300:80" -- true 2>&1)
rc=$?
if ((rc != 0)) && grep -q '192.168.1.300' <<<"$out"; then
	t_pass "malformed annotation: podman run fails naming the entry"
else
	t_fail "malformed annotation" "rc=$rc output: $(tr '\n' '|' <<<"$out")"
fi
if [[ $(az_records) == 0 && $(az_elements) == 0 ]] &&
	! pm ps -a --format '{{.Status}}' 2>/dev/null | grep -qi running; then
	t_pass "malformed annotation: nothing left behind"
else
	t_fail "malformed annotation" "left $(az_records) record(s), $(az_elements) element(s)"
fi

# --- --network host with isolation is refused; --network none succeeds ----------
out=$(pm_run --rm --network host --annotation alcatraz.network=on -- true 2>&1)
if (($? != 0)) && grep -qi 'host' <<<"$out"; then
	t_pass "--network host + isolation: refused with a clear error"
else
	t_fail "--network host" "expected a refusal, got: $(tr '\n' '|' <<<"$out")"
fi
if pm_run --rm --network none --annotation alcatraz.network=on -- true >/dev/null 2>&1; then
	t_pass "--network none + isolation: starts"
else
	t_fail "--network none" "did not start"
fi
clean_after "--network none"

# --- a pod: two containers share one attachment ----------------------------
if pm pod create --name "${AZ_RUN}pod" >/dev/null 2>"$AZ_TMP/pod.err"; then
	a=$(pm_run -d --pod "${AZ_RUN}pod" --annotation alcatraz.network=on -- sleep 300 2>&1)
	b=$(pm_run -d --pod "${AZ_RUN}pod" --annotation alcatraz.network=on -- sleep 300 2>&1)
	n=$(find "$ALCATRAZ_STATE_DIR/netns" -name '*.json' 2>/dev/null | wc -l)
	if [[ $n == 1 && $(probe_in "$b" "$AZ_LAN4" 80) == refused ]]; then
		t_pass "pod: two members, one attachment, isolated"
	else
		t_fail "pod" "attachments=$n, b->LAN: $(probe_in "$b" "$AZ_LAN4" 80)"
	fi
	out=$(pm_run --rm --pod "${AZ_RUN}pod" --annotation "alcatraz.network.dns=none" -- true 2>&1)
	if (($? != 0)) && grep -q "shares its network namespace with container" <<<"$out"; then
		t_pass "pod: a member with other settings is refused, naming the other container"
	else
		t_fail "pod: differing settings" "got: $(tr '\n' '|' <<<"$out")"
	fi
	pm stop -t 1 "$a" >/dev/null 2>&1
	if [[ $(probe_in "$b" "$AZ_LAN4" 80) == refused && $(az_elements) != 0 ]]; then
		t_pass "pod: rules stay while a member runs"
	else
		t_fail "pod" "rules gone after the first member stopped"
	fi
	pm stop -t 1 "$b" >/dev/null 2>&1
	pm pod rm -f "${AZ_RUN}pod" >/dev/null 2>&1
	clean_after "pod"
else
	t_fail "pod" "podman pod create failed: $(head -3 "$AZ_TMP/pod.err")"
fi

if [[ -x $AZ_CLI ]]; then
	out=$(az_cli list --json 2>&1)
	if [[ $out == "[]" ]]; then
		t_pass "afterwards: alcatraz list is empty"
	else
		t_fail "afterwards: alcatraz list" "not empty: $out"
	fi
fi
