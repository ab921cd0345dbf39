#!/usr/bin/env bash
# e2e: the Docker test infrastructure itself (tests/lib/docker.sh), with no
# alcatraz involved: a private dockerd + containerd in the sim-host netns, an
# imported busybox image, containers on the default and on a user-defined
# bridge reaching the wan server with real packets, a dockerd restart, legacy
# plugin discovery through a per-run spec file, and — after the cleanup —
# nothing left: no netns, process, mount, cgroup, file or firewall change.
source "$(dirname "$0")/../lib/docker.sh"
require_root
why=$(docker_missing)
if [[ -n $why ]]; then
	t_skip docker "$why"
	exit 0
fi

topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
fw_before=$(docker_host_fw)

dump_log() {
	t_log "dockerd log (last lines):"
	grep -v '^---' "$DK_LOG" 2>/dev/null | tail -n 8 | sed 's/^/#   /' >&2
}

# --- dockerd up ----------------------------------------------------------------
t0=$(_t_now_ms)
if docker_up; then
	t_pass "dockerd + containerd up in $AZ_NS_HOST ($(($(_t_now_ms) - t0)) ms, dockerd $DK_START_MS ms)"
else
	t_fail "docker_up" "dockerd did not start"
	dump_log
	exit 1
fi
pids=("$DK_PID" "$DK_CTD_PID")

same_netns() { [[ $(stat -L -c %i "/proc/$1/ns/net") == $(stat -L -c %i "/run/netns/$AZ_NS_HOST") ]]; }
if same_netns "$DK_PID" && same_netns "$DK_CTD_PID" &&
	[[ $(cat "$DK_PIDFILE" 2>/dev/null) == "$DK_PID" ]]; then
	t_pass "dockerd and containerd run in the sim-host netns; the pid file names dockerd"
else
	t_fail "netns" "dockerd $DK_PID / containerd $DK_CTD_PID not in $AZ_NS_HOST, or pid file wrong"
fi

if docker_image && dk run --rm "$DK_IMAGE" test -x /usr/bin/azprobe; then
	t_pass "image $DK_IMAGE imported from the busybox rootfs (with azprobe)"
else
	t_fail "docker_image" "import or run failed"
	dump_log
	exit 1
fi

# --- dockerd's firewall is in the sim-host only --------------------------------
host_docker_rules() { ip netns exec "$AZ_NS_HOST" iptables-save 2>/dev/null | grep -c -- '-j DOCKER' || true; }
if (($(host_docker_rules) > 0)) && [[ $(docker_host_fw) == "$fw_before" ]]; then
	t_pass "Docker's iptables chains are in the sim-host; the real host's firewall is unchanged"
else
	t_fail "firewall" "sim-host DOCKER rules: $(host_docker_rules); host changed: $(diff <(echo "$fw_before") <(docker_host_fw) | head -3 | tr '\n' ' ')"
fi

# --- the default bridge reaches the wan server -----------------------------------
topo_serve wan tcp "$AZ_WAN4" 80 || { t_fail "wan server" "did not start"; exit 1; }
out=$(dk run --rm "$DK_IMAGE" azprobe tcp "$AZ_WAN4" 80 --read 2>&1)
if [[ $out == ok* ]] && srv_saw tcp "$AZ_WAN4" 80 "$AZ_HOST_UP4"; then
	t_pass "default bridge: container reached $AZ_WAN4:80 (masqueraded by the sim-host: $out)"
else
	t_fail "default bridge" "azprobe: '$out'; server saw: $(tr '\n' ' ' <"$(srv_log tcp "$AZ_WAN4" 80)")"
fi

# --- a user-defined bridge network ------------------------------------------------
net=${AZ_RUN}n
if nid=$(dk network create "$net" 2>&1); then
	br=br-${nid:0:12}
	if ip -n "$AZ_NS_HOST" link show "$br" >/dev/null 2>&1 && ! ip link show "$br" >/dev/null 2>&1; then
		t_pass "network create: bridge $br exists in the sim-host, not in the real host"
	else
		t_fail "network create" "bridge $br not found in $AZ_NS_HOST (or found in the real host)"
	fi
else
	t_fail "network create" "$nid"
fi
srv_reset
out=$(dk run --rm --network "$net" "$DK_IMAGE" azprobe tcp "$AZ_WAN4" 80 --read 2>&1)
if [[ $out == ok* ]] && srv_saw tcp "$AZ_WAN4" 80 "$AZ_HOST_UP4"; then
	t_pass "user-defined bridge: container reached $AZ_WAN4:80 ($out)"
else
	t_fail "user-defined bridge" "azprobe: '$out'"
fi

# --- dockerd restart -----------------------------------------------------------------
# --init: sleep as PID 1 ignores TERM, which would cost dockerd's stop 10 s.
cid=$(dk run -d --init --name "${AZ_RUN}c" --network "$net" "$DK_IMAGE" sleep 300 2>&1) ||
	t_fail "run -d" "$cid"
old=$DK_PID
if dockerd_restart && [[ $DK_PID != "$old" ]] && dk network inspect "$net" >/dev/null 2>&1; then
	t_pass "dockerd_restart: stopped in $DK_STOP_MS ms, answering again in $DK_START_MS ms; the network survived"
	pids+=("$DK_PID")
else
	t_fail "dockerd_restart" "restart failed or network lost"
	dump_log
fi
srv_reset
if dk start "${AZ_RUN}c" >/dev/null 2>&1 &&
	out=$(dk exec "${AZ_RUN}c" azprobe tcp "$AZ_WAN4" 80 --read 2>&1) && [[ $out == ok* ]] &&
	srv_saw tcp "$AZ_WAN4" 80; then
	t_pass "after the restart: the container starts again and reaches the wan server ($out)"
else
	t_fail "after restart" "start/exec failed: '${out:-}'"
fi

# --- legacy plugin discovery: a per-run spec file ----------------------------------
# A minimal remote driver in bash behind socat: answers each call and logs it.
if command -v socat >/dev/null; then
	pname=$(docker_plugin_name)
	psock=$(docker_plugin_dir)/$pname.sock
	plog=$AZ_TMP/plugin-calls.log
	cat >"$AZ_TMP/driver.sh" <<-'EOF'
		#!/usr/bin/env bash
		read -r _ path _ || exit 0
		len=0
		while IFS= read -r line; do
			line=${line%$'\r'}
			[[ -z $line ]] && break
			[[ ${line,,} == content-length:* ]] && len=${line#*: }
		done
		body=
		((len > 0)) && body=$(head -c "$len")
		echo "${path#/} $body" >>"$PLOG"
		case $path in
		/Plugin.Activate) r='{"Implements":["NetworkDriver"]}' ;;
		/NetworkDriver.GetCapabilities) r='{"Scope":"local","ConnectivityScope":"local"}' ;;
		*) r='{}' ;;
		esac
		printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "${#r}" "$r"
	EOF
	chmod +x "$AZ_TMP/driver.sh"
	PLOG=$plog socat "UNIX-LISTEN:$psock,fork,unlink-early" "EXEC:$AZ_TMP/driver.sh" </dev/null >/dev/null 2>&1 &
	docker_plugin_track $!
	wait_for 5 test -S "$psock"
	if docker_register_plugin "$pname" "$psock" &&
		dk network create -d "$pname" --subnet 10.66.0.0/24 "${AZ_RUN}p" >/dev/null 2>&1 &&
		dk network rm "${AZ_RUN}p" >/dev/null 2>&1; then
		calls=$(awk '{print $1}' "$plog" | tr '\n' ' ')
		if [[ $calls == "Plugin.Activate NetworkDriver.GetCapabilities NetworkDriver.CreateNetwork NetworkDriver.DeleteNetwork " ]]; then
			t_pass "plugin '$pname' found through /etc/docker/plugins/$pname.spec → $psock ($calls)"
		else
			t_fail "plugin discovery" "unexpected calls: $calls"
		fi
	else
		t_fail "plugin discovery" "network create/rm with driver $pname failed: $(tail -n 3 "$plog" 2>/dev/null)"
	fi
else
	t_skip "plugin discovery" "socat is not installed"
fi

# --- afterwards: nothing left ------------------------------------------------------------
spec=/etc/docker/plugins/$(docker_plugin_name).spec
cgroups=(/sys/fs/cgroup/*/"$DK_CGROUP")
t0=$(_t_now_ms)
t_cleanup_run
t_pass "cleanup ran in $(($(_t_now_ms) - t0)) ms"

left=()
for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
	[[ $ns == "$AZ_RUN-"* ]] && left+=("netns $ns")
done
for p in "${pids[@]}"; do
	_dk_alive "$p" && left+=("pid $p")
done
# every process whose command line names this run, but for this script and
# its ancestors (run-all.sh hands the prefix down on a command line)
declare -A mine=([$$]=1 [$BASHPID]=1)
p=$PPID
while [[ $p =~ ^[0-9]+$ ]] && ((p > 1)) && [[ -z ${mine[$p]:-} ]]; do
	mine[$p]=1
	p=$(sed -E 's/.*\) . ([0-9]+) .*/\1/' "/proc/$p/stat" 2>/dev/null)
done
for f in /proc/[0-9]*/cmdline; do
	p=${f#/proc/}
	p=${p%/cmdline}
	[[ -n ${mine[$p]:-} ]] && continue
	c=$(tr '\0' ' ' <"$f" 2>/dev/null) || continue
	[[ $c == *"$AZ_RUN"* ]] && left+=("process $p: ${c:0:80}")
done
p=$(docker_procs)
[[ -n $p ]] && left+=("docker processes $(tr '\n' ' ' <<<"$p")")
m=$(docker_mounts)
[[ -n $m ]] && left+=("mounts $(tr '\n' ' ' <<<"$m")")
m=$(findmnt -rn -o TARGET | grep -F -- "$AZ_RUN")
[[ -n $m ]] && left+=("mounts $(tr '\n' ' ' <<<"$m")")
for d in "$DK_RUN" "$AZ_TMP" "$spec" "${cgroups[@]}" /run/docker{,/plugins}/.azt-"$AZ_RUN" \
	/run/containerd{,/s}/.azt-"$AZ_RUN" /etc/docker{,/plugins}/.azt-"$AZ_RUN"; do
	[[ -e $d ]] && left+=("$d")
done
if ((${#left[@]} == 0)); then
	t_pass "afterwards: no netns, process, mount, cgroup, dir, marker or spec file of this run"
else
	t_fail "afterwards" "left behind: $(IFS=,; echo "${left[*]}")"
fi
fw_after=$(docker_host_fw)
if [[ $fw_after == "$fw_before" ]]; then
	t_pass "afterwards: the real host's nft tables and iptables chains are as before"
else
	t_fail "afterwards: host firewall" "changed: $(diff <(echo "$fw_before") <(echo "$fw_after") | tail -n +2 | tr '\n' ' ')"
fi
