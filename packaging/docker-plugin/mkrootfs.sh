#!/usr/bin/env bash
# mkrootfs.sh BINARY CONFIG OUTDIR — the directory `docker plugin create NAME
# OUTDIR` takes: OUTDIR/config.json (a copy of CONFIG) and OUTDIR/rootfs with
#
#   /usr/bin/alcatraz-plugin      BINARY (dynamically linked)
#   the shared libraries `ldd BINARY` lists, at the paths it lists, and the
#   dynamic loader — exactly those, nothing else of the build host's libs
#   /usr/sbin/iptables, ip6tables the build host's /usr/sbin/iptables (the
#                                 xtables multi-call binary the alternative
#                                 points at), its extension modules and their
#                                 libraries: the plugin runs it to add its
#                                 accepts to Docker's DOCKER-USER chain when
#                                 Docker's FORWARD policy is DROP
#   /host/run, /host/etc          mount points (config.json "mounts")
#   /var/lib/alcatraz             the propagated mount (the plugin's state)
#   /run/xtables.lock             -> /host/run/xtables.lock: iptables-legacy
#                                 shares the host's lock with Docker
#   /run/systemd/resolve          -> /host/run/systemd/resolve: the upstream
#                                 servers when /etc/resolv.conf is resolved's stub
#
# Built in OUTDIR.tmp.PID and renamed into place: a failed build leaves the
# previous OUTDIR as it was.  As root, the result is checked by running the
# binary (--help) and iptables (--version) chrooted in the rootfs, so a
# library that is missing fails the build, not the plugin's start.
set -euo pipefail

die() {
	echo "mkrootfs: $*" >&2
	exit 1
}

(($# == 3)) || die "usage: mkrootfs.sh BINARY CONFIG OUTDIR"
bin=$1 config=$2 out=${3%/}
[[ -x $bin ]] || die "$bin is not an executable"
[[ -f $config ]] || die "$config is missing"
[[ -n $out && $out != / ]] || die "bad OUTDIR '$3'"
command -v ldd >/dev/null || die "ldd is not installed"
if command -v jq >/dev/null; then
	jq -e '.interface.types == ["docker.networkdriver/1.0"] and .network.type == "host"' "$config" \
		>/dev/null || die "$config: not valid JSON, or not a host-network network driver"
fi

tmp=$out.tmp.$$
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
root=$tmp/rootfs
mkdir -p "$root"/{proc,sys,dev,etc,tmp,run/docker/plugins,run/systemd,host/run,host/etc,var/lib/alcatraz}
chmod 1777 "$root/tmp"

declare -A copied=()

# copy_file SRC DEST-IN-ROOTFS — regular-file copy (symlinks followed),
# mode kept, parents made.
copy_file() {
	mkdir -p "$root$(dirname "$2")"
	cp -L --preserve=mode "$1" "$root$2"
}

# copy_libs ELF — every library ldd lists for ELF, at the path it lists.
copy_libs() {
	local line path
	while IFS= read -r line; do
		case $line in
		*"not found"*) die "$1: ${line//[[:space:]]/ } (ldd)" ;;
		*"=> /"*) path=${line#*=> } ;;
		[[:space:]]/*) path=${line#"${line%%[![:space:]]*}"} ;;
		*) continue ;; # linux-vdso, statically linked
		esac
		path=${path%% (*}
		[[ -n ${copied[$path]:-} ]] && continue
		copy_file "$path" "$path"
		copied[$path]=1
	done < <(ldd "$1" 2>/dev/null || true)
}

# --- the plugin ---------------------------------------------------------------
copy_file "$bin" /usr/bin/alcatraz-plugin
copy_libs "$bin"
n_plugin_libs=${#copied[@]}

# --- iptables (optional: without it, no DOCKER-USER accepts) ------------------
ipt=
if [[ -x /usr/sbin/iptables ]]; then
	ipt=$(readlink -f /usr/sbin/iptables)
	name=${ipt##*/}
	copy_file "$ipt" "/usr/sbin/$name"
	copy_libs "$ipt"
	for l in iptables ip6tables; do
		# ip6tables only when it is the same multi-call binary
		[[ $l == ip6tables && $(readlink -f /usr/sbin/ip6tables 2>/dev/null) != "$ipt" ]] && continue
		[[ $name == "$l" ]] || ln -s "$name" "$root/usr/sbin/$l"
	done
	# the extension modules (-m comment, -m conntrack, and whatever an
	# admin's rules in DOCKER-USER use, which -S must be able to print):
	# next to libxtables, where it was built to look for them
	xtlib=$(ldd "$ipt" | awk '/libxtables/ { print $3 }')
	xtdir=
	for d in ${xtlib:+"$(dirname "$(readlink -f "$xtlib")")/xtables"} /usr/lib/*/xtables /usr/lib/xtables \
		/usr/lib64/xtables; do
		[[ -d $d ]] && { xtdir=$d; break; }
	done
	if [[ -n $xtdir ]]; then
		for m in "$xtdir"/*.so; do
			copy_file "$m" "$m"
			copy_libs "$m"
		done
		# the path libxtables has compiled in may be the /usr one of a
		# merged-/usr system: make both spellings resolve
		for d in /usr/lib/*/xtables /lib/*/xtables; do
			[[ -d $d && $(readlink -f "$d") == "$(readlink -f "$xtdir")" && ! -e $root$d ]] || continue
			mkdir -p "$root$(dirname "$d")"
			ln -s "$xtdir" "$root$d"
		done
	else
		echo "mkrootfs: warning: no xtables extension directory found; iptables in the plugin" \
			"cannot use -m comment / -m conntrack" >&2
	fi
	ln -s /host/run/xtables.lock "$root/run/xtables.lock"
else
	echo "mkrootfs: warning: /usr/sbin/iptables is not installed here; the plugin will not add" \
		"accepts to DOCKER-USER (forwarding fails where Docker's FORWARD policy is DROP)" >&2
fi

# --- links, config ----------------------------------------------------------------
ln -s /host/run/systemd/resolve "$root/run/systemd/resolve"
ln -s ../run "$root/var/run"
cp "$config" "$tmp/config.json"
chmod 0644 "$tmp/config.json"

# --- check: does it run in there? -----------------------------------------------
if ((EUID == 0)) && command -v chroot >/dev/null; then
	env -i PATH=/usr/sbin:/usr/bin chroot "$root" /usr/bin/alcatraz-plugin --help >/dev/null ||
		die "the plugin does not run chrooted in $root (a library missing?)"
	if [[ -n $ipt ]]; then
		env -i PATH=/usr/sbin:/usr/bin chroot "$root" /usr/sbin/iptables --version >/dev/null ||
			die "iptables does not run chrooted in $root"
	fi
	checked="checked chrooted"
else
	checked="not run chrooted (needs root)"
fi

rm -rf "$out"
mv -T "$tmp" "$out"
trap - EXIT
echo "mkrootfs: $out: plugin + $n_plugin_libs libraries${ipt:+, ${ipt##*/} + extensions}," \
	"$(du -sh "$out/rootfs" | cut -f1); $checked"
