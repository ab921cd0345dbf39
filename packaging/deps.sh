#!/bin/sh
# Install the Debian packages alcatraz needs, only those missing.
#   deps.sh [--if-missing] GROUP...    groups: build test e2e docker plugin bench fuzz
# --if-missing: say nothing when everything is there (used by make check/demo).
set -eu

quiet=0
if [ "${1:-}" = "--if-missing" ]; then quiet=1; shift; fi

build="gcc make pkg-config libnftables-dev libcjson-dev libcap-dev libnl-route-3-dev libcriterion-dev nftables libmicrohttpd-dev libcurl4-openssl-dev libnetfilter-log-dev"
test="iproute2 busybox-static socat redsocks microsocks libc6-dev curl systemd bc"
e2e="podman runc netavark aardvark-dns iptables catatonit uidmap"
docker="docker.io"
plugin="libmicrohttpd-dev libcurl4-openssl-dev"
bench="iperf3 hyperfine gnuplot-nox jq strace conntrack"
# libFuzzer and the sanitizer runtimes come with clang's compiler-rt
fuzz="clang libclang-rt-14-dev llvm"

want=""
for g in "$@"; do
	case "$g" in
	build) want="$want $build" ;;
	test) want="$want $test" ;;
	e2e) want="$want $e2e" ;;
	docker) want="$want $docker" ;;
	plugin) want="$want $plugin" ;;
	bench) want="$want $bench" ;;
	fuzz) want="$want $fuzz" ;;
	*) echo "deps.sh: unknown group '$g' (build test e2e docker plugin bench fuzz)" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
	[ $quiet = 1 ] || echo "deps: everything is installed"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing — run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Update the package lists once if apt has never been updated here.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ] || ! apt-get install -y -q --no-install-recommends $missing >/tmp/alcatraz-deps.log 2>&1; then
	apt-get update -q >/tmp/alcatraz-deps.log 2>&1 || { cat /tmp/alcatraz-deps.log >&2; exit 1; }
	apt-get install -y -q --no-install-recommends $missing >>/tmp/alcatraz-deps.log 2>&1 || { tail -20 /tmp/alcatraz-deps.log >&2; exit 1; }
fi
echo "deps: done"
