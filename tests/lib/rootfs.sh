# shellcheck shell=bash
# rootfs.sh — a busybox-static root filesystem for Podman --rootfs and
# `docker import`, since no image can be pulled here.
#
#   rootfs_cached          build (once) $AZ_BUILD/rootfs and print its path
#   build_rootfs DIR       a private copy in DIR (a runtime may write to it)
#
# The tree has /bin/busybox with applet symlinks, /usr/bin/azprobe (a static
# build, so it needs no libc in the tree), /etc/{passwd,group,hosts,
# resolv.conf}, and empty /tmp /proc /sys /dev /run /root.  The cache is
# rebuilt when busybox, azprobe.c or this file changes.

# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

AZ_ROOTFS_CACHE=$AZ_BUILD/rootfs
AZPROBE_STATIC=$AZ_BUILD/tools/azprobe.static
_ROOTFS_APPLETS="sh ash cat echo ls sleep nc wget ip ifconfig route ping ping6 ps kill
	mkdir rm cp mv ln grep sed awk head tail wc tr cut sort uniq env printf test [ true
	false id hostname date nslookup netstat timeout touch chmod mount umount sync
	uname which xargs seq stat find dd tee basename dirname readlink"

# azprobe_static — a statically linked azprobe for the rootfs; falls back to
# nothing (returns 1) when libc.a is missing.
azprobe_static() {
	local src=$AZ_ROOT/tests/tools/azprobe.c tmp
	if [[ -x $AZPROBE_STATIC && ! $src -nt $AZPROBE_STATIC ]]; then
		echo "$AZPROBE_STATIC"
		return 0
	fi
	mkdir -p "$(dirname "$AZPROBE_STATIC")"
	tmp=$AZPROBE_STATIC.$$.tmp
	if "${CC:-cc}" -static -s -O2 -std=gnu17 -Wall -Wextra -Werror -D_GNU_SOURCE \
		-o "$tmp" "$src" >&2; then
		mv -f "$tmp" "$AZPROBE_STATIC"
		echo "$AZPROBE_STATIC"
		return 0
	fi
	rm -f "$tmp"
	return 1
}

_rootfs_stamp() {
	local busybox
	busybox=$(readlink -f "$(command -v busybox)")
	printf '%s\n' "$(stat -c '%s %Y' "$busybox")" \
		"$(cksum <"$AZ_ROOT/tests/tools/azprobe.c")" \
		"$(cksum <"${BASH_SOURCE[0]}")"
}

_rootfs_build() {
	local dir=$1 busybox a probe lib
	busybox=$(command -v busybox) || { echo "rootfs: busybox not installed (busybox-static)" >&2; return 1; }
	if ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked' && ldd "$busybox" >/dev/null 2>&1; then
		echo "rootfs: $busybox is not static; install busybox-static" >&2
		return 1
	fi
	mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,run,root,var/tmp} &&
		chmod 1777 "$dir/tmp" "$dir/var/tmp" &&
		cp "$busybox" "$dir/bin/busybox" || return 1
	for a in $_ROOTFS_APPLETS; do
		ln -sf busybox "$dir/bin/$a"
	done
	cat >"$dir/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	cat >"$dir/etc/group" <<-'EOF'
		root:x:0:
		nogroup:x:65534:
	EOF
	echo "127.0.0.1 localhost" >"$dir/etc/hosts"
	echo "# placeholder; the runtime mounts the real one" >"$dir/etc/resolv.conf"
	echo "azrootfs" >"$dir/etc/hostname"

	if probe=$(azprobe_static); then
		cp "$probe" "$dir/usr/bin/azprobe"
	elif probe=$(azprobe_bin); then
		# Dynamic fallback: bring the libraries ldd names, at their paths.
		cp "$probe" "$dir/usr/bin/azprobe"
		for lib in $(ldd "$probe" | grep -o '/[^ ]*'); do
			mkdir -p "$dir$(dirname "$lib")"
			cp -L "$lib" "$dir$lib"
		done
	else
		echo "rootfs: cannot build azprobe" >&2
		return 1
	fi
}

# rootfs_cached — build or reuse $AZ_BUILD/rootfs; prints its path.
rootfs_cached() {
	local stamp tmp
	stamp=$(_rootfs_stamp) || return 1
	mkdir -p "$AZ_BUILD"
	(
		# Two tests building at once: one builds, the other waits (bounded).
		flock -w 120 9 || { echo "rootfs: lock timeout" >&2; exit 1; }
		if [[ -f $AZ_ROOTFS_CACHE/.stamp && $(cat "$AZ_ROOTFS_CACHE/.stamp") == "$stamp" ]]; then
			exit 0
		fi
		tmp=$(mktemp -d "$AZ_BUILD/.rootfs.XXXXXX") || exit 1
		if ! _rootfs_build "$tmp"; then
			rm -rf "$tmp"
			exit 1
		fi
		echo "$stamp" >"$tmp/.stamp"
		chmod 755 "$tmp"
		rm -rf "$AZ_ROOTFS_CACHE"
		mv "$tmp" "$AZ_ROOTFS_CACHE"
	) 9>"$AZ_BUILD/.rootfs.lock" || return 1
	echo "$AZ_ROOTFS_CACHE"
}

# build_rootfs DIR — a private copy of the cached rootfs in DIR (created;
# must be empty or absent).  Prints DIR.  The caller owns DIR's removal
# (t_cleanup_push "rm -rf DIR"), unless DIR is under $AZ_TMP.
build_rootfs() {
	local dir=${1:?build_rootfs DIR} src
	src=$(rootfs_cached) || return 1
	mkdir -p "$dir" && cp -a "$src/." "$dir/" && rm -f "$dir/.stamp" || return 1
	echo "$dir"
}
