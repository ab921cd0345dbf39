#!/usr/bin/env bash
# make demo — alcatraz isolating a real Podman container, in a throwaway
# network sandbox that has no link to this machine's real network:
#
#   [podman ctr] ── podman0 ── [sim host: alcatraz-hook, redsocks proxy] ── [lan 192.168.77.0/24]
#                                                                        └── [internet 198.51.100.10]
#
# Exit status 0 only when every line shows the expected result.
source "$(dirname "$0")/lib/podman.sh"
source "$(dirname "$0")/lib/proxy.sh"

if ((EUID != 0)); then
	echo "make demo needs root (network namespaces, nftables, podman)" >&2
	exit 1
fi
why=$(podman_missing)
if [[ -n $why ]]; then
	echo "demo: installing Podman ($why)"
	"$AZ_ROOT/packaging/deps.sh" e2e test || exit 1
fi

say() { printf '%s\n' "$*"; }
bad=0
# row WHAT TARGET EXPECT RESULT-LINE
row() {
	local what=$1 target=$2 expect=$3 got=${4%% *} ms
	ms=$(awk '{print $2}' <<<"$4")
	local mark=ok
	[[ $got == "$expect" ]] || { mark="UNEXPECTED"; bad=1; }
	printf '  %-34s %-22s %-9s -> %-8s %4s ms  %s\n' "$what" "$target" "$expect" "$got" "${ms:-?}" "$mark"
}

say "alcatraz demo: building a sealed sandbox (network namespaces $AZ_RUN-*) ..."
topo_up >/dev/null || { echo "demo: cannot build the sandbox" >&2; exit 1; }
podman_setup || { echo "demo: cannot set up podman" >&2; exit 1; }
P=$(azprobe_bin)
for a in 0.0.0.0 ::; do
	for port in 80 443; do
		ip netns exec "$AZ_NS_WAN" "$P" serve tcp "$a" $port --log "$AZ_TMP/wan.log" --max-seconds 300 &
		az_pid_track $!
	done
	for port in 80 5432; do
		ip netns exec "$AZ_NS_LAN" "$P" serve tcp "$a" $port --log "$AZ_TMP/lan.log" --max-seconds 300 &
		az_pid_track $!
	done
done
in_host_bg "$P" serve tcp "$AZ_HOST_UP4" 22 --log "$AZ_TMP/host.log" --max-seconds 300
start_proxy_chain >/dev/null || { echo "demo: cannot start redsocks/microsocks" >&2; exit 1; }
# A dual-stack Podman network; the internet side routes its IPv6 back to the
# sim host (this kernel's ip6 NAT lacks the masquerade netavark asks for).
NET=${AZ_RUN}net
pm network create --ipv6 --subnet 10.89.0.0/24 --subnet fd00:89::/64 "$NET" >/dev/null ||
	{ echo "demo: cannot create the podman network" >&2; exit 1; }
ip -n "$AZ_NS_WAN" -6 route add fd00:89::/64 via "$AZ_HOST_UP6"
wait_for 5 topo_exec_wan "$P" tcp "$AZ_WAN4" 80 --timeout 200

say ""
say "1) podman run --annotation alcatraz.network=on \\"
say "              --annotation 'alcatraz.network.lan-access=$AZ_LAN4:5432' ..."
out=$(pm_run --rm --network "$NET" --annotation alcatraz.network=on \
	--annotation "alcatraz.network.lan-access=$AZ_LAN4:5432" -- sh -c "
	azprobe tcp $AZ_WAN4 443; azprobe tcp $AZ_WAN6 443; azprobe tcp $AZ_LAN4 80;
	azprobe tcp $AZ_LAN4 5432; azprobe tcp $AZ_HOST_UP4 22; azprobe tcp 10.89.0.1 22;
	azprobe tcp 169.254.169.254 80" 2>"$AZ_TMP/run1.err")
mapfile -t r <<<"$out"
grep -v 'failed to connect to syslog' "$AZ_TMP/run1.err" | sed 's/^/  podman: /'
row "the internet (IPv4)" "$AZ_WAN4:443" ok "${r[0]}"
row "the internet (IPv6)" "[$AZ_WAN6]:443" ok "${r[1]}"
row "a LAN web server" "$AZ_LAN4:80" refused "${r[2]}"
row "the allowed LAN database" "$AZ_LAN4:5432" ok "${r[3]}"
row "the host's own address" "$AZ_HOST_UP4:22" refused "${r[4]}"
row "the host as container gateway" "10.89.0.1:22" refused "${r[5]}"
row "cloud metadata" "169.254.169.254:80" refused "${r[6]}"
if grep -q "port=" "$AZ_TMP/lan.log" && [[ $(grep -c "port=" "$AZ_TMP/lan.log") != 1 ]]; then
	say "  UNEXPECTED: the LAN server saw more than the allowed connection"
	bad=1
fi

say ""
say "2) podman run --annotation alcatraz.network.proxy=$AZ_PROXY4:$AZ_PROXY_PORT ...  (redsocks -> microsocks)"
: >"$AZ_TMP/wan.log"
out=$(pm_run --rm --network "$NET" --annotation "alcatraz.network.proxy=$AZ_PROXY4:$AZ_PROXY_PORT" -- sh -c "
	azprobe tcp $AZ_WAN4 80 --read; azprobe tcp $AZ_LAN4 80; azprobe tcp $AZ_WAN6 80" 2>"$AZ_TMP/run2.err")
mapfile -t r <<<"$out"
grep -v 'failed to connect to syslog' "$AZ_TMP/run2.err" | sed 's/^/  podman: /'
row "the internet, through the proxy" "$AZ_WAN4:80" ok "${r[0]}"
row "the LAN (refused before the proxy)" "$AZ_LAN4:80" refused "${r[1]}"
row "IPv6 TCP (the proxy is IPv4-only)" "[$AZ_WAN6]:80" refused "${r[2]}"
if proxy_saw "$AZ_WAN4:80" && ! proxy_saw "$AZ_LAN4"; then
	say "  proxy log:  $(grep -F -- "->$AZ_WAN4:80]" "$AZ_PROXY_LOG" | head -1 | sed 's/^.*\[/[/')"
	say "  the proxy recovered the original destination; the server saw: $(head -1 "$AZ_TMP/wan.log")"
else
	say "  UNEXPECTED: the proxy log does not show $AZ_WAN4:80 (or shows a LAN address)"
	bad=1
fi

say ""
left=$(az_records)
if [[ $left == 0 && $(az_elements) == 0 ]]; then
	say "after the containers exited: no rule and no state record left behind"
else
	say "UNEXPECTED: $left state record(s) / $(az_elements) element(s) left behind"
	bad=1
fi
((bad)) && { say "demo: something did not behave as expected"; exit 1; }
say "demo: every result as expected; the sandbox is being removed"
