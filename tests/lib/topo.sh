# shellcheck shell=bash disable=SC2034  # the variables are for the tests
# topo.sh — the sealed test world of TESTING.md, built from network namespaces.
#
#   [ctr netns] eth0 ──veth── ${AZ_RUN}cN ─┐
#   [ctr netns] eth0 ──veth── ${AZ_RUN}cM ─┤ ${AZ_RUN}br 10.77.0.1/24 fd00:77::1/64 fe80::1
#                                           │       [sim-host netns ${AZ_RUN}-host]
#        ${AZ_RUN}ln 192.168.77.1/24 fd77::1/64 ──── eth0 [lan ${AZ_RUN}-lan] .10 / ::10
#        ${AZ_RUN}ul 203.0.113.1/30 2001:db8:ff::1/64 ── eth0 [wan ${AZ_RUN}-wan] .2 / ::2
#                                                        lo: 198.51.100.10, 2001:db8:100::10
#
# The "internet" addresses live behind the wan router, not on a link of the
# sim-host: alcatraz blocks every prefix directly connected to the host, and
# the documentation ranges must look like the internet.  The sim-host has no
# link to the real host; its default routes lead to the wan netns, which has
# no default route at all, so nothing a test sends can leave the sandbox.
#
# Source harness.sh first (this file does it if needed).

# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

AZ_NS_HOST=${AZ_RUN}-host
AZ_NS_LAN=${AZ_RUN}-lan
AZ_NS_WAN=${AZ_RUN}-wan
AZ_BR=${AZ_RUN}br
AZ_IF_LAN=${AZ_RUN}ln
AZ_IF_WAN=${AZ_RUN}ul

AZ_BR4=10.77.0.1
AZ_BR6=fd00:77::1
AZ_BR_LL=fe80::1
AZ_BR_NET4=10.77.0.0/24
AZ_BR_NET6=fd00:77::/64
AZ_HOST_LAN4=192.168.77.1
AZ_HOST_LAN6=fd77::1
AZ_LAN4=192.168.77.10
AZ_LAN6=fd77::10
AZ_LAN_NET4=192.168.77.0/24
AZ_LAN_NET6=fd77::/64
AZ_HOST_UP4=203.0.113.1
AZ_HOST_UP6=2001:db8:ff::1
AZ_WANRTR4=203.0.113.2
AZ_WANRTR6=2001:db8:ff::2
AZ_WAN4=198.51.100.10
AZ_WAN6=2001:db8:100::10
# Every address of the sim-host a container could aim at.
AZ_HOST_ADDRS=("$AZ_BR4" "$AZ_BR6" "$AZ_HOST_LAN4" "$AZ_HOST_LAN6" "$AZ_HOST_UP4" "$AZ_HOST_UP6")
AZ_LAN_ADDRS=("$AZ_LAN4" "$AZ_LAN6")
AZ_WAN_ADDRS=("$AZ_WAN4" "$AZ_WAN6")

declare -A AZ_CTR_NS=() AZ_CTR_VETH=() AZ_CTR_IP4=() AZ_CTR_IP6=() AZ_CTR_RESOLV=()
AZ_LAST_VETH=
_TOPO_UP=0

# _topo_ns_add NAME — a fresh netns with lo up and IPv6 DAD off, deleted at exit.
_topo_ns_add() {
	local ns=$1
	ip netns add "$ns" || return 1
	t_cleanup_push "_topo_ns_del '$ns'"
	ip -n "$ns" link set lo up
	_topo_sysctl "$ns" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
}

_topo_sysctl() {
	local ns=$1
	shift
	ip netns exec "$ns" sysctl -qw "$@" >/dev/null
}

# _topo_ns_del NAME — end every process inside NAME (all of them were
# started by this test in a netns it created), then delete the netns.
_topo_ns_del() {
	local ns=$1 pids i
	[[ -e /run/netns/$ns ]] || return 0
	pids=$(ip netns pids "$ns" 2>/dev/null)
	if [[ -n $pids ]]; then
		# shellcheck disable=SC2086
		kill -TERM $pids 2>/dev/null
		for ((i = 0; i < 40; i++)); do
			pids=$(ip netns pids "$ns" 2>/dev/null)
			[[ -z $pids ]] && break
			sleep 0.05
		done
		# shellcheck disable=SC2086
		[[ -n $pids ]] && kill -KILL $pids 2>/dev/null
	fi
	ip netns del "$ns" 2>/dev/null
	return 0
}

# _topo_sweep [PREFIX] — last line of defence: any netns still carrying this
# run's prefix (or PREFIX: a child run's) goes too.
_topo_sweep() {
	local ns prefix=${1:-$AZ_RUN}
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		[[ $ns == "${prefix}-"* ]] && _topo_ns_del "$ns"
	done
	return 0
}

_topo_link_up() {
	local ns=$1 dev=$2
	[[ $(ip netns exec "$ns" cat "/sys/class/net/$dev/operstate" 2>/dev/null) == up ]]
}

# topo_up — build host, lan and wan netns and their links.  Registers all
# cleanup.  Call it directly, never in $(...).
topo_up() {
	require_root
	((_TOPO_UP)) && return 0
	command -v ip >/dev/null || { t_fail "$AZ_TEST_NAME" "iproute2 missing"; return 1; }
	azprobe_bin >/dev/null || { t_fail "$AZ_TEST_NAME" "cannot build azprobe"; return 1; }
	mkdir -p "$AZ_TMP/srv"
	t_cleanup_push _topo_sweep || return 1
	_TOPO_UP=1

	_topo_ns_add "$AZ_NS_HOST" && _topo_ns_add "$AZ_NS_LAN" && _topo_ns_add "$AZ_NS_WAN" ||
		{ t_fail "$AZ_TEST_NAME" "cannot create netns"; return 1; }
	_topo_sysctl "$AZ_NS_HOST" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

	local h=(ip -n "$AZ_NS_HOST") l=(ip -n "$AZ_NS_LAN") w=(ip -n "$AZ_NS_WAN")
	{
		# Container bridge.  A fixed MAC stops it from changing as ports join.
		"${h[@]}" link add "$AZ_BR" type bridge forward_delay 0 stp_state 0 mcast_snooping 0 &&
		"${h[@]}" link set "$AZ_BR" address 02:00:0a:4d:00:01 &&
		"${h[@]}" addr add "$AZ_BR4/24" dev "$AZ_BR" &&
		"${h[@]}" addr add "$AZ_BR6/64" dev "$AZ_BR" nodad &&
		"${h[@]}" addr add "$AZ_BR_LL/64" dev "$AZ_BR" nodad &&
		"${h[@]}" link set "$AZ_BR" up &&

		# sim-host ↔ lan
		"${h[@]}" link add "$AZ_IF_LAN" type veth peer name eth0 netns "$AZ_NS_LAN" &&
		"${h[@]}" addr add "$AZ_HOST_LAN4/24" dev "$AZ_IF_LAN" &&
		"${h[@]}" addr add "$AZ_HOST_LAN6/64" dev "$AZ_IF_LAN" nodad &&
		"${h[@]}" link set "$AZ_IF_LAN" up &&
		"${l[@]}" addr add "$AZ_LAN4/24" dev eth0 &&
		"${l[@]}" addr add "$AZ_LAN6/64" dev eth0 nodad &&
		"${l[@]}" link set eth0 up &&
		"${l[@]}" route add default via "$AZ_HOST_LAN4" &&
		"${l[@]}" -6 route add default via "$AZ_HOST_LAN6" &&

		# sim-host ↔ wan router; the internet addresses sit behind it.
		"${h[@]}" link add "$AZ_IF_WAN" type veth peer name eth0 netns "$AZ_NS_WAN" &&
		"${h[@]}" addr add "$AZ_HOST_UP4/30" dev "$AZ_IF_WAN" &&
		"${h[@]}" addr add "$AZ_HOST_UP6/64" dev "$AZ_IF_WAN" nodad &&
		"${h[@]}" link set "$AZ_IF_WAN" up &&
		"${w[@]}" addr add "$AZ_WANRTR4/30" dev eth0 &&
		"${w[@]}" addr add "$AZ_WANRTR6/64" dev eth0 nodad &&
		"${w[@]}" link set eth0 up &&
		"${w[@]}" addr add "$AZ_WAN4/32" dev lo &&
		"${w[@]}" addr add "$AZ_WAN6/128" dev lo nodad &&
		"${w[@]}" route add "$AZ_BR_NET4" via "$AZ_HOST_UP4" &&
		"${w[@]}" route add "$AZ_LAN_NET4" via "$AZ_HOST_UP4" &&
		"${w[@]}" -6 route add "$AZ_BR_NET6" via "$AZ_HOST_UP6" &&
		"${w[@]}" -6 route add "$AZ_LAN_NET6" via "$AZ_HOST_UP6" &&
		"${h[@]}" route add default via "$AZ_WANRTR4" &&
		"${h[@]}" -6 route add default via "$AZ_WANRTR6"
	} || { t_fail "$AZ_TEST_NAME" "topology setup failed"; return 1; }

	wait_for 5 _topo_link_up "$AZ_NS_LAN" eth0 &&
		wait_for 5 _topo_link_up "$AZ_NS_WAN" eth0 ||
		{ t_fail "$AZ_TEST_NAME" "topology links did not come up"; return 1; }
	return 0
}

# topo_add_ctr NAME SUFFIX — a "container": netns ${AZ_RUN}-NAME whose eth0
# has 10.77.0.SUFFIX/24 and fd00:77::SUFFIX/64, default routes via the
# bridge, and whose veth peer ${AZ_RUN}cSUFFIX is a port of the bridge.
# Sets AZ_CTR_NS[NAME], AZ_CTR_VETH[NAME], AZ_CTR_IP4[NAME], AZ_CTR_IP6[NAME],
# AZ_CTR_RESOLV[NAME] (a resolv.conf with "nameserver 10.77.0.1") and
# AZ_LAST_VETH; prints the host-side veth name.  Call directly, not in $(...).
topo_add_ctr() {
	local name=$1 sfx=$2
	((_TOPO_UP)) || { echo "topo_add_ctr: call topo_up first" >&2; return 1; }
	if [[ ! $name =~ ^[A-Za-z0-9_]{1,20}$ || ! $sfx =~ ^[0-9]+$ ]] || ((sfx < 2 || sfx > 254)); then
		echo "topo_add_ctr: bad NAME '$name' or SUFFIX '$sfx' (2..254)" >&2
		return 1
	fi
	[[ -z ${AZ_CTR_NS[$name]:-} ]] || { echo "topo_add_ctr: $name exists" >&2; return 1; }
	local ns=${AZ_RUN}-$name veth=${AZ_RUN}c$sfx
	local ip4=10.77.0.$sfx ip6
	ip6=fd00:77::$(printf '%x' "$sfx")
	local c=(ip -n "$ns")

	_topo_ns_add "$ns" || return 1
	{
		ip -n "$AZ_NS_HOST" link add "$veth" type veth peer name eth0 netns "$ns" &&
		ip -n "$AZ_NS_HOST" link set "$veth" master "$AZ_BR" &&
		ip -n "$AZ_NS_HOST" link set "$veth" up &&
		"${c[@]}" addr add "$ip4/24" dev eth0 &&
		"${c[@]}" addr add "$ip6/64" dev eth0 nodad &&
		"${c[@]}" link set eth0 up &&
		"${c[@]}" route add default via "$AZ_BR4" &&
		"${c[@]}" -6 route add default via "$AZ_BR6"
	} || { echo "topo_add_ctr: setup of $name failed" >&2; return 1; }
	wait_for 5 _topo_link_up "$ns" eth0 || { echo "topo_add_ctr: $name eth0 not up" >&2; return 1; }

	mkdir -p "$AZ_TMP/ctr-$name"
	echo "nameserver $AZ_BR4" >"$AZ_TMP/ctr-$name/resolv.conf"
	AZ_CTR_NS[$name]=$ns
	AZ_CTR_VETH[$name]=$veth
	AZ_CTR_IP4[$name]=$ip4
	AZ_CTR_IP6[$name]=$ip6
	AZ_CTR_RESOLV[$name]=$AZ_TMP/ctr-$name/resolv.conf
	AZ_LAST_VETH=$veth
	echo "$veth"
}

# topo_add_addr WHERE ADDR/PLEN [DEV] — one more address in a netns
# (default DEV: lo in wan, eth0 in lan and ctr:NAME, the bridge in host).
# Addresses added on wan's lo are reached through the sim-host's default
# route: the way to make e.g. 169.254.169.254 or 100.64.0.1 exist.
topo_add_addr() {
	local ns dev
	ns=$(topo_ns "$1") || return 1
	case $1 in
	wan) dev=lo ;;
	host) dev=$AZ_BR ;;
	*) dev=eth0 ;;
	esac
	dev=${3:-$dev}
	ip -n "$ns" addr add "$2" dev "$dev" nodad 2>/dev/null || ip -n "$ns" addr add "$2" dev "$dev"
}

# topo_br_netfilter on|off — whether bridged IPv4/IPv6 frames between
# containers also traverse the sim-host's ip/ip6/inet hooks (br_netfilter,
# per netns; a fresh netns starts "on" when the module is present).  Returns
# 1 when the kernel has no br_netfilter (a test should then SKIP that case).
topo_br_netfilter() {
	local v
	case $1 in on) v=1 ;; off) v=0 ;; *) echo "topo_br_netfilter on|off" >&2; return 2 ;; esac
	ip netns exec "$AZ_NS_HOST" test -e /proc/sys/net/bridge/bridge-nf-call-iptables || return 1
	_topo_sysctl "$AZ_NS_HOST" net.bridge.bridge-nf-call-iptables=$v \
		net.bridge.bridge-nf-call-ip6tables=$v
}

# topo_ns WHERE — netns name for host|lan|wan|ctr:NAME|NAME (a ctr).
topo_ns() {
	case $1 in
	host) echo "$AZ_NS_HOST" ;;
	lan) echo "$AZ_NS_LAN" ;;
	wan) echo "$AZ_NS_WAN" ;;
	ctr:*) _topo_ctr_ns "${1#ctr:}" ;;
	*) _topo_ctr_ns "$1" ;;
	esac
}

_topo_ctr_ns() {
	[[ -n ${AZ_CTR_NS[$1]:-} ]] || { echo "topo: no such netns/ctr '$1'" >&2; return 1; }
	echo "${AZ_CTR_NS[$1]}"
}

topo_exec_host() { ip netns exec "$AZ_NS_HOST" "$@"; }
topo_exec_lan() { ip netns exec "$AZ_NS_LAN" "$@"; }
topo_exec_wan() { ip netns exec "$AZ_NS_WAN" "$@"; }
# topo_exec_ctr NAME CMD...
topo_exec_ctr() {
	local ns
	ns=$(_topo_ctr_ns "$1") || return 1
	shift
	ip netns exec "$ns" "$@"
}
# topo_nsenter_host CMD... — for container runtimes: `ip netns exec`
# remounts /sys and hides the cgroup mounts, which breaks runc.
topo_nsenter_host() { nsenter --net="/run/netns/$AZ_NS_HOST" "$@"; }

# topo_probe CTR PROTO ADDR PORT [azprobe options] — run azprobe in a ctr
# netns; prints its line ("ok 3", "refused 1 ECONNREFUSED", …), returns its code.
topo_probe() {
	local ns
	ns=$(_topo_ctr_ns "$1") || return 5
	ip netns exec "$ns" "$AZPROBE" "${@:2}"
}

# probe_expect CTR VERDICTS PROTO ADDR PORT [opts] — succeed when azprobe's
# verdict is one of VERDICTS ("ok", "refused|unreachable", …).  Prints the
# azprobe line either way, so t_check shows it on failure.
probe_expect() {
	local ctr=$1 want=$2 out
	shift 2
	out=$(topo_probe "$ctr" "$@" 2>&1)
	echo "$ctr → $*: $out"
	[[ "|$want|" == *"|${out%% *}|"* ]]
}

# probe_fast CTR VERDICTS MAX_MS PROTO ADDR PORT [opts] — as probe_expect,
# and the verdict came within MAX_MS ("refused fast").
probe_fast() {
	local ctr=$1 want=$2 max=$3 out ms
	shift 3
	out=$(topo_probe "$ctr" "$@" 2>&1)
	echo "$ctr → $*: $out"
	[[ "|$want|" == *"|${out%% *}|"* ]] || return 1
	ms=$(awk '{print $2}' <<<"$out")
	[[ $ms =~ ^[0-9]+$ ]] && ((ms <= max))
}

# ---------------------------------------------------------------- servers

# srv_log PROTO ADDR PORT — the log path of that server (addresses are unique
# across the world, so the triple names one server).
srv_log() { echo "$AZ_TMP/srv/$1-$2-$3.log"; }

# topo_serve WHERE PROTO ADDR PORT — start `azprobe serve` bound to ADDR in
# WHERE (host|lan|wan|ctr:NAME); waits until it is bound.  TCP answers
# "hello\n", UDP echoes; each connection/datagram is logged as
# "peer=A port=P local=A lport=P [orig=A oport=P]".  Lives at most
# $AZ_SERVER_SECONDS (600) s.  Call directly, not in $(...).
topo_serve() {
	local where=$1 proto=$2 addr=$3 port=$4 ns log pid
	ns=$(topo_ns "$where") || return 1
	log=$(srv_log "$proto" "$addr" "$port")
	mkdir -p "$AZ_TMP/srv"
	rm -f "$log"
	ip netns exec "$ns" "$AZPROBE" serve "$proto" "$addr" "$port" --log "$log" \
		--max-seconds "${AZ_SERVER_SECONDS:-600}" >"$log.out" 2>&1 &
	pid=$!
	az_pid_track "$pid" || { az_pid_stop "$pid"; return 1; }
	if ! wait_for 5 _topo_srv_started "$log" "$pid" || [[ ! -e $log ]]; then
		echo "topo_serve: $proto $addr:$port in $where did not start: $(cat "$log.out")" >&2
		return 1
	fi
}

# Bound (log exists) or gone (bind failed): either way stop waiting.
_topo_srv_started() { [[ -e $1 ]] || ! kill -0 "$2" 2>/dev/null; }

# topo_start_servers PORT... — TCP and UDP servers on PORT on every address
# of lan, wan and the sim-host.
topo_start_servers() {
	local port a
	for port in "$@"; do
		for a in "${AZ_LAN_ADDRS[@]}"; do
			topo_serve lan tcp "$a" "$port" && topo_serve lan udp "$a" "$port" || return 1
		done
		for a in "${AZ_WAN_ADDRS[@]}"; do
			topo_serve wan tcp "$a" "$port" && topo_serve wan udp "$a" "$port" || return 1
		done
		for a in "${AZ_HOST_ADDRS[@]}"; do
			topo_serve host tcp "$a" "$port" && topo_serve host udp "$a" "$port" || return 1
		done
	done
}

# topo_start_dns — a port-53 responder (UDP echo + TCP hello) on the
# sim-host's bridge addresses 10.77.0.1 and fd00:77::1: the resolver named in
# every ctr's resolv.conf.
topo_start_dns() {
	local a
	for a in "$AZ_BR4" "$AZ_BR6"; do
		topo_serve host udp "$a" 53 && topo_serve host tcp "$a" 53 || return 1
	done
}

# srv_count PROTO ADDR PORT [PEER] — lines logged (from PEER only, if given).
srv_count() {
	local log
	log=$(srv_log "$1" "$2" "$3")
	[[ -e $log ]] || { echo 0; return 0; }
	if [[ -n ${4:-} ]]; then
		grep -cF -- "peer=$4 port=" "$log"
	else
		wc -l <"$log"
	fi
	return 0
}

# srv_saw PROTO ADDR PORT [PEER] — true when that server logged something.
srv_saw() { (($(srv_count "$@") > 0)); }

# srv_total — lines logged by every server of this run.
srv_total() { cat "$AZ_TMP"/srv/*.log 2>/dev/null | wc -l; }

# srv_reset — forget what every server saw so far.
srv_reset() {
	local f
	for f in "$AZ_TMP"/srv/*.log; do
		[[ -e $f ]] && : >"$f"
	done
	return 0
}

# topo_dump — the state of the world, for a failing test's output (stderr).
topo_dump() {
	local ns
	for ns in $(ip netns list | awk '{print $1}'); do
		[[ $ns == "${AZ_RUN}-"* ]] || continue
		echo "## $ns" >&2
		ip -n "$ns" -br addr >&2
		ip -n "$ns" route >&2
		ip -n "$ns" -6 route >&2
	done
	echo "## nft ruleset in $AZ_NS_HOST" >&2
	ip netns exec "$AZ_NS_HOST" nft list ruleset >&2 2>/dev/null
	return 0
}
