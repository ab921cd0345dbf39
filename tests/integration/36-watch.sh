#!/usr/bin/env bash
# 36-watch — `alcatraz watch --json` with real packets: refusals in the
# container's own netns (LAN, host, peer, metadata, blocked range; TCP and
# UDP; IPv4 and IPv6) and in the host layer (a packet-socket frame that skips
# the container's table) come out as JSON lines naming the container, proto,
# dst, dport and reason; a flood of 20000 refused datagrams yields no more
# lines than the kernel limit allows and the watcher keeps up; a second
# watcher is told the NFLOG group is taken; SIGTERM ends it cleanly.
set -u
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"

require_root
require_cmd ip nft nsenter
require_hook
topo_up || exit 1
topo_add_ctr a 2 >/dev/null && topo_add_ctr b 3 >/dev/null || { t_fail setup "topo_add_ctr"; exit 1; }
# Destinations that exist, behind the wan router: cloud metadata (v4 and
# AWS's v6 address) and a blocked range connected to nothing.
META4=169.254.169.254 META6=fd00:ec2::254 BLK4=10.99.0.1 BLK6=fc00:99::1
for a in "$META4/32" "$META6/128" "$BLK4/32" "$BLK6/128"; do
	topo_add_addr wan "$a" || { t_fail setup "wan address $a"; exit 1; }
done
fakert_create a alcatraz.network=on || { t_fail apply "$FAKERT_ERR"; exit 1; }
id=$(fakert_id a)
P=$(azprobe_bin)
azraw_bin >/dev/null || { t_fail setup "cannot build azraw"; exit 1; }

out=$AZ_TMP/watch.out err=$AZ_TMP/watch.err
in_host_bg "$AZ_CLI" watch --json >"$out" 2>"$err"
wpid=$BG_PID
if wait_for 5 grep -q "listening" "$err"; then
	t_pass "watch starts: $(head -n1 "$err")"
else
	t_fail "watch starts" "$(cat "$err")"
	exit 1
fi

# saw PROTO DST DPORT REASON LAYER — a line for this refusal appears
saw() {
	local re="\"container\": \"$id\", \"name\": null, \"layer\": \"$5\", \"reason\": \"$4\", \"proto\": \"$1\", \"src\": \"[^\"]*\", \"dst\": \"$2\", \"sport\": [0-9]+, \"dport\": $3\\}"
	wait_for 3 grep -qE "$re" "$out"
}

# check NAME PROTO DST PORT REASON: provoke from ctr a, then look
check() {
	local name=$1 proto=$2 dst=$3 port=$4 reason=$5
	ip netns exec "$(topo_ns ctr:a)" "$P" "$proto" "$dst" "$port" --timeout 500 >/dev/null 2>&1
	if saw "$proto" "$dst" "$port" "$reason" netns; then
		t_pass "$name: $proto $dst:$port → reason $reason ($(grep -F "\"dst\": \"$dst\", \"sport\"" "$out" | grep -m1 -F "\"dport\": $port}" | cut -c1-160))"
	else
		t_fail "$name" "no JSON line for $proto $dst:$port reason $reason; got: $(tail -n 3 "$out")"
	fi
}

check "LAN, TCP, IPv4" tcp "$AZ_LAN4" 8080 lan
check "LAN, UDP, IPv6" udp "$AZ_LAN6" 5353 lan
check "host, TCP, IPv4 (gateway)" tcp "$AZ_BR4" 22 host
check "host, UDP, IPv6 (uplink)" udp "$AZ_HOST_UP6" 161 host
check "peer, TCP, IPv4" tcp "${AZ_CTR_IP4[b]}" 5432 peer
check "peer, TCP, IPv6" tcp "${AZ_CTR_IP6[b]}" 5432 peer
check "metadata, TCP, IPv4" tcp "$META4" 80 metadata
check "metadata, TCP, IPv6" tcp "$META6" 80 metadata
check "blocked range, UDP, IPv4" udp "$BLK4" 9 blocked
check "blocked range, TCP, IPv6" tcp "$BLK6" 443 blocked

# Why a socket per container netns: none of the refusals above reached the
# host netns (the container's own table refused them first), so a listener
# there alone would have shown none of them.
nhost=$(grep -c '"layer": "host"' "$out")
if ((nhost == 0)); then
	t_pass "the $(wc -l <"$out") refusals above were all seen in the container's netns, none in the host's"
else
	t_fail "netns layer" "$nhost of them came from the host layer"
fi

# The host layer: a frame from a packet socket passes no hook of the
# container's netns; the host refuses it and names the container by its
# (real) source address.
raw_send a "${AZ_CTR_IP4[a]}" "$AZ_LAN4" 4444 >/dev/null
if saw udp "$AZ_LAN4" 4444 lan host; then
	t_pass "host layer: a packet-socket frame to the LAN is named ($(grep -m1 '"layer": "host"' "$out" | cut -c1-160))"
else
	t_fail "host layer" "no host-layer line for udp $AZ_LAN4:4444; got: $(tail -n 3 "$out")"
fi

# Allowed traffic is not reported.
topo_serve wan tcp "$AZ_WAN4" 8080 || t_fail setup "wan server"
ip netns exec "$(topo_ns ctr:a)" "$P" tcp "$AZ_WAN4" 8080 --timeout 1000 >/dev/null 2>&1
sleep 0.3
if grep -qF "\"dst\": \"$AZ_WAN4\"" "$out"; then
	t_fail "the internet is not reported" "$(grep -F "$AZ_WAN4" "$out" | head -n1)"
else
	t_pass "the internet is not reported"
fi

# A second watcher cannot bind the group: a clear error, exit 1.
rc=0
msg=$(in_host timeout 5 "$AZ_CLI" watch --json 2>&1 >/dev/null) || rc=$?
if ((rc == 1)) && grep -q "already bound by another process" <<<"$msg"; then
	t_pass "a second watcher: exit 1, \"$msg\""
else
	t_fail "a second watcher" "exit $rc: $msg"
fi

# Flood: 20000 refused datagrams from one process (bash's /dev/udp, no fork
# per packet).  The netns table's budget is 50/s, burst 100.
before=$(wc -l <"$out")
t0=$(date +%s%N)
ip netns exec "$(topo_ns ctr:a)" bash -c \
	"for ((i = 0; i < 20000; i++)); do echo x >/dev/udp/$AZ_LAN4/7777; done" 2>/dev/null
t1=$(date +%s%N)
sleep 0.5
after=$(wc -l <"$out")
secs=$(((t1 - t0) / 1000000000 + 1))
lines=$((after - before))
max=$((100 + 50 * (secs + 1)))
count=$(ip netns exec "$(topo_ns ctr:a)" nft list chain inet alcatraz refuse | grep -o 'packets [0-9]*' | awk '{print $2}')
if ((lines > 0 && lines <= max && count >= 20000)); then
	t_pass "flood of 20000 refusals in ${secs}s: $lines JSON lines (limit allows $max), refuse counter $count"
else
	t_fail "flood" "$lines lines for 20000 refusals in ${secs}s (limit allows $max), counter $count"
fi
# ... and the watcher keeps up: the next refusal shows at once.
check "after the flood, still live" tcp "$AZ_LAN4" 8081 lan
if grep -q "overflow" "$err"; then
	t_fail "no socket overflow" "$(cat "$err")"
else
	t_pass "no socket overflow during the flood"
fi

# A container attached while watching is followed (the state dir is read
# again every second).
# It has a name (CRI-O's annotation, which Podman sets too): lines carry it.
topo_add_ctr c 4 >/dev/null && fakert_create c alcatraz.network=on io.kubernetes.cri-o.ContainerName=web-c ||
	t_fail "apply c" "$FAKERT_ERR"
idc=$(fakert_id c)
sleep 1.5
ip netns exec "$(topo_ns ctr:c)" "$P" tcp "$AZ_LAN4" 8082 --timeout 500 >/dev/null 2>&1
if wait_for 3 grep -qF "\"container\": \"$idc\", \"name\": \"web-c\", \"layer\": \"netns\", \"reason\": \"lan\", \"proto\": \"tcp\", \"src\": \"${AZ_CTR_IP4[c]}\", \"dst\": \"$AZ_LAN4\"" "$out"; then
	t_pass "a container started after the watcher is followed, its name in the lines"
else
	t_fail "new container" "no line for ${AZ_CTR_IP4[c]} → $AZ_LAN4:8082; got: $(tail -n 2 "$out")"
fi

# Every line is one JSON object with the keys promised.
bad=$(grep -cvE '^\{"time": "[0-9T:.Z-]+", "container": ("[0-9a-f]{64}"|null), "name": ("[A-Za-z0-9_.-]+"|null), "layer": "(netns|host)", "reason": "[a-z-]+", "proto": "[a-z0-9]+", "src": "[0-9a-f.:]+", "dst": "[0-9a-f.:]+", "sport": ([0-9]+|null), "dport": ([0-9]+|null)\}$' "$out")
if ((bad == 0)); then
	t_pass "all $(wc -l <"$out") lines are JSON objects of the documented shape"
else
	t_fail "line shape" "$bad lines differ: $(grep -vE '^\{"time"' "$out" | head -n 2)"
fi

# SIGTERM: exit 0, a last word on stderr, within a second.
kill -TERM "$wpid"
rc=0
for ((i = 0; i < 20; i++)); do kill -0 "$wpid" 2>/dev/null || break; sleep 0.05; done
wait "$wpid" || rc=$?
if ((rc == 0)) && grep -q "stopped" "$err"; then
	t_pass "SIGTERM: exit 0 ($(tail -n1 "$err"))"
else
	t_fail "SIGTERM" "exit $rc: $(tail -n 2 "$err")"
fi
