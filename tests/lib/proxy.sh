# shellcheck shell=bash disable=SC2034  # the variables are for the tests
# proxy.sh — a real transparent proxy chain in the sim-host netns:
#
#   ctr ──(alcatraz DNAT)──▶ redsocks 10.77.0.1:12345 ──▶ microsocks 127.0.0.1:1080 ──▶ wan
#
# redsocks runs in redirect mode (`redirector = iptables`): it reads the
# conntrack original destination with SO_ORIGINAL_DST, which works the same
# behind an nftables DNAT, and logs it per connection:
#   "... [10.77.0.2:41224->198.51.100.10:8080]: accepted"
# The wan server then sees the connection from the sim-host's uplink address
# (203.0.113.1), not from the container.
#
# IPv6: Debian's redsocks 0.5 cannot listen on IPv6 (local_ip goes through an
# AF_INET-only lookup: "unable to resolve ::1") and its original-destination
# lookup is IPv4-only.  For IPv6 there is start_proxy6_sink: an azprobe TCP
# server on [fd00:77::1]:PORT that does not relay but logs each connection's
# original destination (IP6T_SO_ORIGINAL_DST), which is what a redirect-mode
# IPv6 proxy would recover.  It answers "hello\n" itself.

# shellcheck source=topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/topo.sh"

AZ_PROXY4=$AZ_BR4
AZ_PROXY6=$AZ_BR6
AZ_PROXY_PORT=12345
AZ_SOCKS_PORT=1080
AZ_PROXY_LOG=
AZ_PROXY6_LOG=

_proxy_listening() {
	# $1 netns, $2 "addr:port" as ss prints it
	ip netns exec "$1" ss -Hltn 2>/dev/null | awk '{print $4}' | grep -qxF -- "$2"
}

# start_proxy_chain [PORT] — microsocks on 127.0.0.1:1080 and redsocks on
# 10.77.0.1:PORT (default 12345) in the sim-host netns; waits until both
# listen.  Sets AZ_PROXY4, AZ_PROXY_PORT, AZ_SOCKS_PORT, AZ_PROXY_LOG.
# Call after topo_up, directly (not in $(...)).
start_proxy_chain() {
	local port=${1:-12345} dir pid secs=${AZ_SERVER_SECONDS:-600}
	require_cmd redsocks microsocks
	((_TOPO_UP)) || { echo "start_proxy_chain: call topo_up first" >&2; return 1; }
	dir=$AZ_TMP/proxy
	mkdir -p "$dir"
	AZ_PROXY_PORT=$port
	AZ_PROXY_LOG=$dir/redsocks.log
	: >"$AZ_PROXY_LOG"

	ip netns exec "$AZ_NS_HOST" timeout -k 2 "$secs" \
		microsocks -i 127.0.0.1 -p "$AZ_SOCKS_PORT" >"$dir/microsocks.out" 2>&1 &
	pid=$!
	az_pid_track "$pid" || { az_pid_stop "$pid"; return 1; }
	wait_for 5 _proxy_listening "$AZ_NS_HOST" "127.0.0.1:$AZ_SOCKS_PORT" ||
		{ echo "start_proxy_chain: microsocks did not start: $(cat "$dir/microsocks.out")" >&2; return 1; }

	cat >"$dir/redsocks.conf" <<-EOF
		base {
			log_debug = on;
			log_info = on;
			log = "file:$AZ_PROXY_LOG";
			daemon = off;
			redirector = iptables;
		}
		redsocks {
			local_ip = $AZ_PROXY4;
			local_port = $port;
			ip = 127.0.0.1;
			port = $AZ_SOCKS_PORT;
			type = socks5;
		}
	EOF
	ip netns exec "$AZ_NS_HOST" timeout -k 2 "$secs" \
		redsocks -c "$dir/redsocks.conf" >"$dir/redsocks.out" 2>&1 &
	pid=$!
	az_pid_track "$pid" || { az_pid_stop "$pid"; return 1; }
	wait_for 5 _proxy_listening "$AZ_NS_HOST" "$AZ_PROXY4:$port" ||
		{ echo "start_proxy_chain: redsocks did not start: $(cat "$dir/redsocks.out" "$AZ_PROXY_LOG")" >&2; return 1; }
}

# proxy_saw DEST — true when redsocks logged a connection whose original
# destination is DEST: "198.51.100.10" (any port) or "198.51.100.10:8080".
proxy_saw() {
	[[ -n $AZ_PROXY_LOG && -e $AZ_PROXY_LOG ]] || return 1
	if [[ $1 == *:* ]]; then
		grep -qF -- "->$1]" "$AZ_PROXY_LOG"
	else
		grep -qF -- "->$1:" "$AZ_PROXY_LOG"
	fi
}

# proxy_count DEST — how many connections redsocks accepted for DEST.
proxy_count() {
	local pat
	[[ -n $AZ_PROXY_LOG && -e $AZ_PROXY_LOG ]] || { echo 0; return 0; }
	if [[ $1 == *:* ]]; then pat="->$1]"; else pat="->$1:"; fi
	grep -F -- "$pat" "$AZ_PROXY_LOG" | grep -cF 'accepted'
	return 0
}

# start_proxy6_sink [PORT] — the IPv6 stand-in (see the top of this file):
# azprobe serve tcp on [fd00:77::1]:PORT (default 12345) in the sim-host.
# Sets AZ_PROXY6, AZ_PROXY6_LOG.
start_proxy6_sink() {
	local port=${1:-12345}
	topo_serve host tcp "$AZ_PROXY6" "$port" || return 1
	AZ_PROXY6_LOG=$(srv_log tcp "$AZ_PROXY6" "$port")
}

# proxy6_saw ADDR [PORT] — the IPv6 sink saw a connection originally aimed
# at ADDR (and PORT).
proxy6_saw() {
	[[ -n $AZ_PROXY6_LOG && -e $AZ_PROXY6_LOG ]] || return 1
	if [[ -n ${2:-} ]]; then
		grep -q -- " orig=$1 oport=$2\$" "$AZ_PROXY6_LOG"
	else
		grep -q -- " orig=$1 oport=" "$AZ_PROXY6_LOG"
	fi
}
