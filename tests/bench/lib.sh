# shellcheck shell=bash
# lib.sh — the bench's world: many "containers" (netns + veth + an init
# process + an OCI bundle) attached through the real hook, the anchor's
# per-container nftables layout, and the timing helpers.  Sourced by
# tests/bench/run.sh after tests/lib/fakert.sh (harness, topology, fakert).
#
# Background containers live on extra bridges of the sim-host, 250 per
# bridge (a /24 each: 10.78.B.0/24, gateway .1, containers .2–.251), so the
# bridge port limit (1024) and a /24 never bind however many are asked for.
# Names: netns ${AZ_RUN}-bI, host veth ${AZ_RUN}vI, bridge ${AZ_RUN}kB.
# Every one of them is removed by the harness' cleanup list, even on failure.

BENCH_PER_BRIDGE=250
BENCH_BG_MADE=0       # background containers created (netns, veth, init)
BENCH_BG_ATTACHED=0   # ... and attached through the hook
BENCH_BRIDGES=0
# 1 (default, what Podman's netavark and Docker do): host-side veths get an
# IPv6 link-local address.  0: none (addrgenmode none), a variant to see
# past the hook's limit of 256 host addresses.
BENCH_HOST_VETH_LL=${BENCH_HOST_VETH_LL:-1}
declare -a BENCH_BG_PID=()
# The policy of every background container (the measured one has no proxy,
# so its TCP reaches the internet server directly).
BENCH_BG_PROXY=10.77.0.1:3129
BENCH_LAN_ACCESS=192.168.77.10:8080

bench_log() { printf '# [%s] %s\n' "$(date +%T)" "$*" >&2; }

# bench_fg CMD... — run an external command as the bench's foreground step
# but in the background, and wait for it: the shell's `wait` returns at once
# on a signal, so the time limit and Ctrl-C take effect mid-step, and the
# cleanup (bench_fg_stop) ends the step's process by its pid.
BENCH_FG_PID=
bench_fg() {
	local rc
	"$@" &
	BENCH_FG_PID=$!
	wait "$BENCH_FG_PID"
	rc=$?
	BENCH_FG_PID=
	return "$rc"
}
bench_fg_stop() {
	[[ -n $BENCH_FG_PID ]] && az_pid_stop "$BENCH_FG_PID"
	BENCH_FG_PID=
	return 0
}

# bench_now_ms — monotonic enough for phase durations (wall clock, ms).
bench_now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# _bench_bridge_up B — bridge B (10.78.B.1/24) in the sim-host; the wan
# router routes 10.78.0.0/16 back through the sim-host (added once).
_bench_bridge_up() {
	local b=$1 br=${AZ_RUN}k$1
	ip -n "$AZ_NS_HOST" -b - <<-EOF || return 1
	link add $br type bridge forward_delay 0 stp_state 0 mcast_snooping 0
	addr add 10.78.$b.1/24 dev $br
	link set $br up
	EOF
	if ((b == 0)); then
		ip -n "$AZ_NS_WAN" route add 10.78.0.0/16 via "$AZ_HOST_UP4" || return 1
	fi
	BENCH_BRIDGES=$((b + 1))
}

# _bench_cleanup_bg — stop every init process we started (by pid), delete
# every background netns (their veths go with them).  Bounded; never fails.
_bench_cleanup_bg() {
	local i
	if ((${#BENCH_BG_PID[@]})); then
		kill -TERM "${BENCH_BG_PID[@]}" 2>/dev/null
		for i in "${BENCH_BG_PID[@]}"; do wait "$i" 2>/dev/null; done
	fi
	BENCH_BG_PID=()
	{
		for ((i = 0; i < BENCH_BG_MADE; i++)); do
			[[ -e /run/netns/${AZ_RUN}-b$i ]] && echo "netns del ${AZ_RUN}-b$i"
		done
	} | ip -force -b - 2>/dev/null
	return 0
}

# bench_bg_make N — background containers up to N in total: netns, veth on
# a bench bridge, address and default route, an init process sleeping in the
# netns, a bundle (config.json with the netns path and a resolv.conf mount)
# and the OCI state files the runtime would pipe to the hook.
bench_bg_make() {
	local want=$1 i b s ns veth d
	((want <= BENCH_BG_MADE)) && return 0
	if ((BENCH_BG_MADE == 0)); then
		t_cleanup_push _bench_cleanup_bg || return 1
	fi
	for ((b = BENCH_BRIDGES; b <= (want - 1) / BENCH_PER_BRIDGE; b++)); do
		_bench_bridge_up "$b" || { echo "bench: bridge $b failed" >&2; return 1; }
	done
	# 1. netns, in one ip process
	for ((i = BENCH_BG_MADE; i < want; i++)); do
		echo "netns add ${AZ_RUN}-b$i"
	done | ip -b - || { echo "bench: netns add failed" >&2; return 1; }
	local from=$BENCH_BG_MADE
	BENCH_BG_MADE=$want  # from here on the cleanup deletes them
	# 2. veths (host side on the bridge), in one ip process in the sim-host
	for ((i = from; i < want; i++)); do
		b=$((i / BENCH_PER_BRIDGE))
		veth=${AZ_RUN}v$i
		echo "link add $veth type veth peer name eth0 netns ${AZ_RUN}-b$i"
		echo "link set $veth master ${AZ_RUN}k$b"
		((BENCH_HOST_VETH_LL)) || echo "link set $veth addrgenmode none"
		echo "link set $veth up"
	done | ip -n "$AZ_NS_HOST" -b - || { echo "bench: veth setup failed" >&2; return 1; }
	# 3. inside each container: one ip process, plus its init and bundle
	for ((i = from; i < want; i++)); do
		b=$((i / BENCH_PER_BRIDGE))
		s=$((i % BENCH_PER_BRIDGE + 2))
		ns=${AZ_RUN}-b$i
		ip -n "$ns" -b - <<-EOF || { echo "bench: setup of $ns failed" >&2; return 1; }
		link set lo up
		addr add 10.78.$b.$s/24 dev eth0
		link set eth0 up
		route add default via 10.78.$b.1
		EOF
		nsenter --net="/run/netns/$ns" sleep 3600 </dev/null >/dev/null 2>&1 &
		BENCH_BG_PID[i]=$!
		d=$AZ_TMP/bg/$i
		mkdir -p "$d"
		echo "nameserver 10.78.$b.1" >"$d/resolv.conf"
		_bench_bundle "$d" "$ns"
	done
	return 0
}

# _bench_bundle DIR NETNS — config.json as runc writes it for a bridged
# container (the capabilities Podman gives by default, CAP_NET_RAW too).
_bench_bundle() {
	local d=$1 ns=$2
	cat >"$d/config.json" <<-EOF
	{
	  "ociVersion": "1.0.2",
	  "process": {"args": ["sh"], "capabilities": {
	    "bounding": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE"],
	    "effective": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE"]}},
	  "root": {"path": "rootfs"},
	  "mounts": [{"destination": "/etc/resolv.conf", "type": "bind",
	              "source": "$d/resolv.conf", "options": ["bind"]}],
	  "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"},
	            {"type": "network", "path": "/run/netns/$ns"}]}
	}
	EOF
}

# bench_bg_id I — the container id of background container I (64 hex).
bench_bg_id() {
	printf '%s-bg-%d' "$AZ_RUN" "$1" | sha256sum | cut -c1-64
}

# _bench_bg_state I STATUS — the OCI state on stdin of the hook.
_bench_bg_state() {
	local i=$1 st=$2 pid=""
	[[ $st == creating ]] && pid="\"pid\": ${BENCH_BG_PID[i]}, "
	printf '{"ociVersion": "1.0.2", "id": "%s", "status": "%s", %s"bundle": "%s", "annotations": {"alcatraz.network": "on", "alcatraz.network.lan-access": "%s", "alcatraz.network.proxy": "%s"}}\n' \
		"$(bench_bg_id "$i")" "$st" "$pid" "$AZ_TMP/bg/$i" "$BENCH_LAN_ACCESS" "$BENCH_BG_PROXY"
}

# bench_bg_attach N — attach background containers up to N through the
# hook, called as the runtime calls it (createRuntime, state on stdin, in the
# runtime's netns).  Containers are created and attached BENCH_CHUNK at a
# time, as they would come and go on a host (a container's veth exists just
# before its hook runs), so a limit on host interfaces or addresses is hit
# where a real host would hit it.  Returns non-zero with the hook's error on
# stderr when one is refused; BENCH_BG_ATTACHED counts the attached ones.
# The hook calls of a chunk run in one shell inside the sim-host (no
# nsenter per call), two at a time, as a runtime starting containers in
# parallel would.
BENCH_CHUNK=${BENCH_CHUNK:-25}
bench_bg_attach() {
	local want=$1 i next
	((want <= BENCH_BG_ATTACHED)) && return 0
	if ((BENCH_BG_ATTACHED == 0)); then
		t_cleanup_push _bench_bg_detach_all || return 1
	fi
	while ((BENCH_BG_ATTACHED < want)); do
		next=$((BENCH_BG_ATTACHED + BENCH_CHUNK))
		((next > want)) && next=$want
		bench_bg_make "$next" || return 1
		for ((i = BENCH_BG_ATTACHED; i < next; i++)); do
			_bench_bg_state "$i" creating >"$AZ_TMP/bg/$i/create.json"
			_bench_bg_state "$i" stopped >"$AZ_TMP/bg/$i/stop.json"
		done
		bench_fg nsenter --net="/run/netns/$AZ_NS_HOST" bash -c '
			hook=$1 dir=$2 from=$3 to=$4
			run() {
				local i
				for ((i = $1; i < to; i += 2)); do
					"$hook" createRuntime <"$dir/$i/create.json" 2>"$dir/$i/create.err" ||
						{ echo "background container $i: $(cat "$dir/$i/create.err")" >&2; return 1; }
				done
			}
			run "$from" & a=$!
			run $((from + 1)) & b=$!
			wait $a; ra=$?; wait $b; rb=$?
			((ra == 0 && rb == 0))
		' bench "$AZ_HOOK" "$AZ_TMP/bg" "$BENCH_BG_ATTACHED" "$next" || {
			BENCH_BG_ATTACHED=$(find "$ALCATRAZ_STATE_DIR/netns" -name '*.json' 2>/dev/null | wc -l)
			return 1
		}
		BENCH_BG_ATTACHED=$next
	done
}

# _bench_bg_detach_all — cleanup: remove what the hook applied, the way a
# sweep would (the whole host tables at once: the sim-host is ours), and
# forget the state; the container netns go with their netns.
_bench_bg_detach_all() {
	in_host nft delete table inet "$AZ_TABLE_NAME" 2>/dev/null
	in_host nft delete table bridge "$AZ_TABLE_NAME" 2>/dev/null
	rm -rf "$ALCATRAZ_STATE_DIR"
	BENCH_BG_ATTACHED=0
	return 0
}
AZ_TABLE_NAME=alcatraz

# ---------------------------------------------------------------- the anchor
# The anchor (github.com/bolasblack/alcatraz, internal/network/nft/
# ruleset_template.go and firewall.go, Linux path): per container one file
# loaded with `nft -f` holding
#   table inet alca-<12-char id>  { chain forward, hook forward priority filter - 1:
#       ct state established,related accept; lan-access allow rules;
#       [proxy allow]; ip saddr <ctr> ip daddr <private range> drop ×5 }
#   table ip alca-proxy-<id>      { chain prerouting, nat hook priority dstnat - 1:
#       proxy loop guard; ip saddr <ctr> tcp dport 1-65535 dnat to <proxy> }
# (the proxy table only when a proxy is set); removal is
# `nft delete table inet alca-<id>` then `nft delete table ip alca-proxy-<id>`.
# The anchor's tables are never removed one by one at the end: they go with
# the sim-host netns (deleting 2000 base chains with nft takes minutes here).

# bench_anchor_render ID12 CTR_IP4 WITH_PROXY(0|1) — the anchor's file.
bench_anchor_render() {
	local id=$1 ip=$2 proxy=$3 ph=${BENCH_BG_PROXY%:*} pp=${BENCH_BG_PROXY##*:}
	local lh=${BENCH_LAN_ACCESS%:*} lp=${BENCH_LAN_ACCESS##*:} r
	echo "#!/usr/sbin/nft -f"
	echo "# Alcatraz container rules for table: alca-$id"
	echo "table inet alca-$id"
	echo "delete table inet alca-$id"
	if ((proxy)); then
		echo "table ip alca-proxy-$id"
		echo "delete table ip alca-proxy-$id"
	fi
	echo "table inet alca-$id {"
	echo "	chain forward {"
	echo "		type filter hook forward priority filter - 1; policy accept;"
	echo "		ct state established,related accept"
	echo "		ip saddr $ip ip daddr $lh tcp dport $lp accept"
	if ((proxy)); then
		echo "		ip saddr $ip ip daddr $ph tcp dport $pp accept"
		echo "		ip saddr $ip ip daddr $ph udp dport $pp accept"
	fi
	for r in 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 169.254.0.0/16 127.0.0.0/8; do
		echo "		ip saddr $ip ip daddr $r drop"
	done
	echo "	}"
	echo "}"
	if ((proxy)); then
		echo "table ip alca-proxy-$id {"
		echo "	chain prerouting {"
		echo "		type nat hook prerouting priority dstnat - 1; policy accept;"
		echo "		ip saddr $ip ip daddr $ph tcp dport $pp accept"
		echo "		ip saddr $ip tcp dport 1-65535 dnat to $ph:$pp"
		echo "	}"
		echo "}"
	fi
}

BENCH_ANCHOR_LOADED=0
# The anchor loads one file per container with its own `nft -f`; that is
# what the bench does for the first BENCH_ANCHOR_SINGLE (100) containers.
# Beyond, each `nft -f` costs ~0.6 s at N=1000 here (nft 1.0.6 lists every
# table's chains, sets and objects before each command), so loading 1000 one
# by one would take ~5 minutes: the rest is loaded BENCH_ANCHOR_BATCH (100)
# files per `nft -f` — the very same files, concatenated, hence the same
# tables and chains in the kernel.  The measured container is always applied
# and removed exactly as the anchor does it.
BENCH_ANCHOR_SINGLE=${BENCH_ANCHOR_SINGLE:-100}
BENCH_ANCHOR_BATCH=${BENCH_ANCHOR_BATCH:-100}

# bench_anchor_attach N — the anchor's tables for background containers up
# to N.
bench_anchor_attach() {
	local want=$1 i b s
	((want <= BENCH_ANCHOR_LOADED)) && return 0
	bench_bg_make "$want" || return 1
	for ((i = BENCH_ANCHOR_LOADED; i < want; i++)); do
		b=$((i / BENCH_PER_BRIDGE))
		s=$((i % BENCH_PER_BRIDGE + 2))
		bench_anchor_render "$(bench_bg_id "$i" | cut -c1-12)" "10.78.$b.$s" 1 >"$AZ_TMP/bg/$i/anchor.nft"
	done
	local first=$BENCH_ANCHOR_LOADED
	BENCH_ANCHOR_LOADED=$want
	bench_fg nsenter --net="/run/netns/$AZ_NS_HOST" bash -c '
		dir=$1 from=$2 to=$3 single=$4 batch=$5
		for ((i = from; i < to && i < single; i++)); do
			nft -f "$dir/$i/anchor.nft" || { echo "anchor: nft -f $dir/$i/anchor.nft failed" >&2; exit 1; }
		done
		while ((i < to)); do
			files=()
			for ((k = 0; k < batch && i < to; k++, i++)); do files+=("$dir/$i/anchor.nft"); done
			cat "${files[@]}" | nft -f - || { echo "anchor: nft -f of a batch up to $i failed" >&2; exit 1; }
		done
	' bench "$AZ_TMP/bg" "$first" "$want" "$BENCH_ANCHOR_SINGLE" "$BENCH_ANCHOR_BATCH"
}

# ---------------------------------------------------------------- statistics

# bench_pct FILE P — the P-th percentile (nearest rank) of the numbers in FILE.
bench_pct() {
	sort -g "$1" | awk -v p="$2" '{v[NR]=$1} END {
		if (NR == 0) { print "null"; exit }
		k = int((p / 100) * NR + 0.999999); if (k < 1) k = 1; if (k > NR) k = NR
		printf "%.3f\n", v[k] }'
}

# bench_median FILE — median of the numbers in FILE.
bench_median() { bench_pct "$1" 50; }
