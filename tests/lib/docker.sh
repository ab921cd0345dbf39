# shellcheck shell=bash disable=SC2034  # the variables are for the tests
# docker.sh — a private dockerd 20.10 (and its own containerd) inside the
# sealed topology's sim-host netns, for the Docker e2e tests (the remote
# network driver).  Nothing of it touches the real host's network namespace,
# and everything it creates is undone at exit.
#
#   docker_missing             why the Docker e2e cannot run here, or nothing
#   docker_up [DOCKERD-ARG...] containerd + dockerd in the sim-host netns; sets DK, DK_*;
#                              waits until `docker info` answers; registers the cleanup
#   dk ARGS...                 the docker CLI against this run's dockerd
#   docker_image               import the busybox rootfs once as $DK_IMAGE (busybox:az)
#   dockerd_restart [ARG...]   stop dockerd by its pid file, start it again (same dirs,
#                              same containerd; ARGs replace the extra dockerd args
#                              of docker_up if given; DK_EXTRA=() drops them)
#   dockerd_stop / dockerd_start   the two halves of dockerd_restart
#   docker_rm_all              remove every container and user-defined network (bounded)
#   docker_plugin_name         a plugin (driver) name unique to this run
#   docker_plugin_dir          a short per-run directory for a plugin's socket (and state)
#   docker_register_plugin NAME SOCKPATH   /etc/docker/plugins/NAME.spec → unix://SOCKPATH,
#                              removed at exit
#   docker_plugin_track PID    stop the plugin process PID at exit, but only after
#                              docker_rm_all (so Leave/DeleteEndpoint/DeleteNetwork reach it)
#   docker_procs               pids of every process of this run's docker stack
#   docker_mounts              mount points under this run's docker dirs
#   docker_host_fw             the real host's firewall state (for "untouched" checks)
#
# Layout (AZ_RUN=az1b2c3):
#   $DK_DIR  = $AZ_TMP/docker   data-root (data/), pid, sock, daemon.json, key.json,
#                               containerd.toml, containerd root (ctd/), logs
#   $DK_RUN  = /run/az1b2c3d    exec-root (x/), containerd state (c/) and socket
#                               (c.sock), plugin sockets (p/): short, because unix
#                               socket paths must stay under 108 bytes (a managed
#                               plugin's socket is exec-root/plugins/<64 hex>/x.sock)
#   cgroups  /sys/fs/cgroup/*/az1b2c3d/<ctr>   (--cgroup-parent; cgroupfs driver)
#
# Why a containerd of our own instead of the one dockerd 20.10 manages:
# dockerd uses the *system* containerd whenever /run/containerd/containerd.sock
# exists (CI runners have one), and its managed containerd writes
# /opt/containerd (the "opt" plugin, which its generated config cannot
# disable).  Ours has a config we write: own root/state/socket, opt and cri
# off.  Production packages run containerd as a separate service too, so
# dockerd_restart keeps containerd running, as `systemctl restart docker` does.
#
# Global paths that dockerd/containerd 20.10 write whatever the flags:
#   /run/docker/plugins (created at start), /run/containerd/s/<hash> (shim
#   sockets, containerd 1.6), and /etc/docker/plugins for our spec files.
#   They are claimed with a marker and removed at exit when no other run
#   uses them and the system did not have them (see _dk_claim).  A shim
#   that had to be killed leaves its socket: removed too.
#   /etc/docker/key.json is avoided with "deprecated-key-path" in our
#   daemon.json; --config-file keeps a system /etc/docker/daemon.json out.
#
# Knobs (environment, read by docker_up):
#   DK_LOG_LEVEL      dockerd --log-level (info)
#   DK_FORWARD_DROP=1 start dockerd with net.ipv4.ip_forward=0 in the sim-host, so that
#                     dockerd itself enables forwarding and sets the FORWARD policy to
#                     DROP (what it does on a host where forwarding was off)
#   DK_START_TIMEOUT  seconds to wait for `docker info` (30)
#   DK_STOP_TIMEOUT   seconds between TERM and KILL for dockerd (20)
#   DK_CLI            the docker client (default /usr/bin/docker from docker.io)
#
# Source order: this file sources topo.sh and rootfs.sh (and harness.sh).
# Call topo_up before docker_up: the sim-host netns must exist, and the
# netns cleanup must run after dockerd's.

# shellcheck source=topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/topo.sh"
# shellcheck source=rootfs.sh
source "$(dirname "${BASH_SOURCE[0]}")/rootfs.sh"

DK=()
DK_DIR=
DK_RUN=
DK_SOCK=
DK_PIDFILE=
DK_LOG=
DK_PID=
DK_CTD_SOCK=
DK_CTD_PID=
DK_CTD_LOG=
DK_NS=${AZ_RUN}
DK_CGROUP=${AZ_RUN}d
DK_IMAGE=busybox:az
# The client of the docker.io package (20.10, like the daemon) rather than a
# newer one earlier on PATH, so runs here and in CI behave alike.  A newer
# client works too (it negotiates API 1.41): set DK_CLI to use it.
if [[ -z ${DK_CLI:-} ]]; then
	DK_CLI=docker
	[[ -x /usr/bin/docker ]] && DK_CLI=/usr/bin/docker
fi
DK_EXTRA=()
_DK_UP=0
_DK_IMPORTED=0
_DK_GLOBAL_DIRS=(/run/docker /run/docker/plugins /run/containerd /run/containerd/s)
_DK_LOCK=/run

# docker_plugin_test_begin [CMD...] — the opening of the plugin e2e tests:
# root; SKIP (exit 0) without Docker; the commands CMD; PLUGIN, the built
# plugin (FAIL and exit 1 when it is not built); T_START, now in ms.
docker_plugin_test_begin() {
	require_root
	local why
	why=$(docker_missing)
	if [[ -n $why ]]; then
		t_skip docker "$why"
		exit 0
	fi
	(($#)) && require_cmd "$@"
	PLUGIN=$AZ_BUILD/alcatraz-plugin
	[[ -x $PLUGIN ]] || { t_fail "$AZ_TEST_NAME" "$PLUGIN is not built (run make)"; exit 1; }
	T_START=$(_t_now_ms)
}

# docker_missing — why the Docker e2e cannot run here, or nothing.
docker_missing() {
	local c
	if ((EUID != 0)); then
		echo "needs root"
		return
	fi
	for c in dockerd "$DK_CLI" containerd containerd-shim-runc-v2 runc ctr nsenter busybox; do
		command -v "$c" >/dev/null 2>&1 ||
			{ echo "'$c' is not installed (apt-get install docker.io busybox-static)"; return; }
	done
	if ! dockerd --version 2>/dev/null | grep -q '^Docker version'; then
		echo "dockerd does not run: $(dockerd --version 2>&1 | head -1)"
		return
	fi
}

dk() {
	"${DK[@]}" "$@"
}

# _dk_alive PID — the process exists and is not a zombie.
_dk_alive() {
	local st
	[[ -n $1 && -r /proc/$1/stat ]] || return 1
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $st && $st != Z ]]
}

# _dk_cmdline_has PID STRING — PID's command line contains STRING (so a
# recycled pid is never signalled).
_dk_cmdline_has() {
	[[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# _dk_stop_pid PID MATCH TIMEOUT — TERM, wait up to TIMEOUT s, KILL; only if
# PID's command line contains MATCH.  Reaps it when it is our child.
_dk_stop_pid() {
	local pid=$1 match=$2 timeout=$3
	[[ -n $pid ]] || return 0
	if _dk_alive "$pid" && _dk_cmdline_has "$pid" "$match"; then
		kill -TERM "$pid" 2>/dev/null
		if ! wait_for "$timeout" _dk_not_alive "$pid"; then
			t_log "docker: pid $pid did not end within ${timeout}s of TERM; KILL"
			kill -KILL "$pid" 2>/dev/null
			wait_for 5 _dk_not_alive "$pid"
		fi
	fi
	wait "$pid" 2>/dev/null
	return 0
}
_dk_not_alive() { ! _dk_alive "$1"; }

# docker_procs — pids of this run's docker stack: dockerd, containerd, shims,
# docker-proxy, runc whose command line names this run's dirs or that live in
# this run's sim-host netns, plus every process in this run's container
# cgroups.
docker_procs() {
	local p comm cmd f hostns
	[[ -n $DK_RUN ]] || return 0
	hostns=$(stat -L -c %i "/run/netns/$AZ_NS_HOST" 2>/dev/null)
	for p in /proc/[0-9]*; do
		{ read -r comm <"$p/comm"; } 2>/dev/null || continue
		[[ $comm =~ ^(dockerd|containerd.*|docker-proxy|docker-init|runc)$ ]] || continue
		cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)
		if [[ $cmd == *"$DK_RUN/"* || $cmd == *"$DK_DIR/"* ]] ||
			[[ -n $hostns && $(stat -L -c %i "$p/ns/net" 2>/dev/null) == "$hostns" ]]; then
			echo "${p#/proc/}"
		fi
	done
	for f in /sys/fs/cgroup/*/"$DK_CGROUP"; do
		[[ -d $f ]] && find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null
	done | sort -un
}

# _dk_shim_socks PID — the unix sockets under /run/containerd/s/ that PID
# (a containerd shim) holds open, by inode, from its netns's /proc/net/unix.
_dk_shim_socks() {
	local pid=$1 fd l inodes=" "
	{ read -r l <"/proc/$pid/comm"; } 2>/dev/null || return 0
	[[ $l == containerd-shim* ]] || return 0
	for fd in /proc/"$pid"/fd/*; do
		l=$(readlink "$fd" 2>/dev/null) || continue
		[[ $l == socket:\[*\] ]] && inodes+="${l//[^0-9]/} "
	done
	awk -v inodes="$inodes" 'index(inodes, " " $7 " ") && $8 ~ "^/run/containerd/s/" { print $8 }' \
		"/proc/$pid/net/unix" 2>/dev/null
}

# docker_mounts — mount points at or under this run's docker dirs, deepest first.
docker_mounts() {
	[[ -n $DK_RUN ]] || return 0
	findmnt -rn -o TARGET 2>/dev/null | awk -v a="$DK_DIR" -v b="$DK_RUN" '
		$0 == a || index($0, a "/") == 1 || $0 == b || index($0, b "/") == 1' | sort -r
}

# docker_host_fw — the real host netns's firewall, normalised: nft tables and
# the iptables (nft and legacy backends) chains.  Compare before and after.
docker_host_fw() {
	{
		nft list tables 2>/dev/null
		iptables-save 2>/dev/null | grep -E '^[*:]'
		ip6tables-save 2>/dev/null | grep -E '^[*:]'
		command -v iptables-legacy-save >/dev/null &&
			iptables-legacy-save 2>/dev/null | grep -E '^[*:]' | sed 's/^/legacy /'
	} | sed -E 's/\[[0-9]+:[0-9]+\]//' | sort
}

# docker_up [DOCKERD-ARG...] — containerd, then dockerd, both in the sim-host
# netns (nsenter --net, not `ip netns exec`: runc needs the real /sys and
# cgroup mounts).  Extra args go to dockerd (kept for dockerd_restart).
# Call directly, never in $(...).
docker_up() {
	local why d
	((_DK_UP)) && return 0
	why=$(docker_missing)
	[[ -z $why ]] || { echo "docker_up: $why" >&2; return 1; }
	((_TOPO_UP)) || { echo "docker_up: call topo_up first" >&2; return 1; }
	DK_DIR=$AZ_TMP/docker
	DK_RUN=/run/${AZ_RUN}d
	DK_SOCK=$DK_DIR/sock
	DK_PIDFILE=$DK_DIR/pid
	DK_LOG=$DK_DIR/dockerd.log
	DK_CTD_SOCK=$DK_RUN/c.sock
	DK_CTD_LOG=$DK_DIR/containerd.log
	DK=("$DK_CLI" -H "unix://$DK_SOCK")
	DK_EXTRA=("$@")

	mkdir "$DK_RUN" || { echo "docker_up: cannot create $DK_RUN" >&2; return 1; }
	t_cleanup_push _docker_down || { rmdir "$DK_RUN"; return 1; }
	_DK_UP=1
	# The global dirs dockerd and the shims write whatever their flags.
	_dk_claim "${_DK_GLOBAL_DIRS[@]}" || return 1
	mkdir -p "$DK_DIR" "$DK_RUN/p" || return 1

	cat >"$DK_DIR/daemon.json" <<-EOF
		{
		  "deprecated-key-path": "$DK_DIR/key.json"
		}
	EOF
	cat >"$DK_DIR/containerd.toml" <<-EOF
		version = 2
		root = "$DK_DIR/ctd"
		state = "$DK_RUN/c"
		oom_score = 0
		disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt",
		  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
		  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
		  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
		[grpc]
		  address = "$DK_CTD_SOCK"
		[ttrpc]
		  address = "$DK_CTD_SOCK.ttrpc"
		[debug]
		  level = "info"
	EOF

	if [[ ${DK_FORWARD_DROP:-0} == 1 ]]; then
		_topo_sysctl "$AZ_NS_HOST" net.ipv4.ip_forward=0
	fi

	nsenter --net="/run/netns/$AZ_NS_HOST" containerd --config "$DK_DIR/containerd.toml" \
		</dev/null >>"$DK_CTD_LOG" 2>&1 &
	DK_CTD_PID=$!
	if ! wait_for 10 _dk_sock_or_dead "$DK_CTD_SOCK" "$DK_CTD_PID" || [[ ! -S $DK_CTD_SOCK ]]; then
		echo "docker_up: containerd did not start: $(tail -n 3 "$DK_CTD_LOG")" >&2
		return 1
	fi
	dockerd_start
}

_dk_sock_or_dead() { [[ -S $1 ]] || ! _dk_alive "$2"; }

# dockerd_start [DOCKERD-ARG...] — start dockerd (again) with this run's
# dirs; waits (bounded) until `docker info` answers.
dockerd_start() {
	local t0 rc
	((_DK_UP)) || { echo "dockerd_start: call docker_up first" >&2; return 1; }
	(($#)) && DK_EXTRA=("$@")
	if _dk_alive "$DK_PID"; then
		echo "dockerd_start: dockerd $DK_PID is running" >&2
		return 1
	fi
	rm -f "$DK_PIDFILE"
	t0=$(_t_now_ms)
	echo "--- dockerd_start $(date -u +%FT%T.%N)" >>"$DK_LOG"
	nsenter --net="/run/netns/$AZ_NS_HOST" dockerd \
		--config-file "$DK_DIR/daemon.json" \
		--data-root "$DK_DIR/data" --exec-root "$DK_RUN/x" \
		--pidfile "$DK_PIDFILE" -H "unix://$DK_SOCK" \
		--containerd "$DK_CTD_SOCK" \
		--containerd-namespace "$DK_NS" --containerd-plugins-namespace "${DK_NS}p" \
		--cgroup-parent "/$DK_CGROUP" \
		--default-ulimit nofile=1024:1024 --default-ulimit nproc=1024:1024 \
		--log-level "${DK_LOG_LEVEL:-info}" \
		"${DK_EXTRA[@]}" </dev/null >>"$DK_LOG" 2>&1 &
	DK_PID=$!
	if ! wait_for "${DK_START_TIMEOUT:-30}" _dk_ready_or_dead; then
		echo "docker: dockerd did not answer within ${DK_START_TIMEOUT:-30}s" >&2
		tail -n 5 "$DK_LOG" >&2
		return 1
	fi
	if ! _dk_alive "$DK_PID"; then
		wait "$DK_PID" 2>/dev/null
		rc=$?
		echo "docker: dockerd exited ($rc): $(grep -v '^---' "$DK_LOG" | tail -n 3)" >&2
		return 1
	fi
	DK_START_MS=$(($(_t_now_ms) - t0))
	return 0
}

_dk_ready_or_dead() {
	! _dk_alive "$DK_PID" && return 0
	dk info >/dev/null 2>&1
}

# dockerd_stop — stop dockerd by its pid file: TERM, wait (bounded), KILL.
# Without --live-restore dockerd stops every container on the way out.
dockerd_stop() {
	local pid t0
	((_DK_UP)) || return 0
	pid=$(cat "$DK_PIDFILE" 2>/dev/null)
	[[ -n $pid ]] || pid=$DK_PID
	t0=$(_t_now_ms)
	_dk_stop_pid "$pid" "$DK_DIR/" "${DK_STOP_TIMEOUT:-20}"
	[[ $pid != "$DK_PID" ]] && _dk_stop_pid "$DK_PID" "$DK_DIR/" 5
	rm -f "$DK_PIDFILE"
	DK_STOP_MS=$(($(_t_now_ms) - t0))
	return 0
}

# dockerd_restart [DOCKERD-ARG...] — "systemctl restart docker": the same
# dirs and containerd.  Sets DK_STOP_MS and DK_START_MS.
dockerd_restart() {
	dockerd_stop && dockerd_start "$@"
}

# docker_image — import the cached busybox rootfs (with /usr/bin/azprobe,
# static) as $DK_IMAGE once per run.
docker_image() {
	local rootfs
	((_DK_IMPORTED)) && dk image inspect "$DK_IMAGE" >/dev/null 2>&1 && return 0
	rootfs=$(rootfs_cached) || return 1
	tar -C "$rootfs" --exclude ./.stamp -c . | dk import - "$DK_IMAGE" >/dev/null || return 1
	_DK_IMPORTED=1
}

# docker_rm_all — every container (forced) and every user-defined network,
# bounded: these are the calls a network plugin must see (Leave,
# DeleteEndpoint, DeleteNetwork), so run it while the plugin still answers:
#   t_cleanup_push "stop my plugin"; t_cleanup_push docker_rm_all
docker_rm_all() {
	local ids nets
	((_DK_UP)) && _dk_alive "$DK_PID" || return 0
	ids=$(timeout 10 "${DK[@]}" ps -aq 2>/dev/null)
	# shellcheck disable=SC2086
	[[ -n $ids ]] && timeout 30 "${DK[@]}" rm -f $ids >/dev/null 2>&1
	nets=$(timeout 10 "${DK[@]}" network ls -q --filter type=custom 2>/dev/null)
	# shellcheck disable=SC2086
	[[ -n $nets ]] && timeout 30 "${DK[@]}" network rm $nets >/dev/null 2>&1
	return 0
}

# _docker_down — the cleanup registered by docker_up: containers, dockerd,
# containerd's leftover tasks, containerd, shims, container processes,
# mounts, cgroups, dirs.  Every step bounded; later steps catch what an
# earlier one missed.
_docker_down() {
	local p m d i ns left tasks
	docker_rm_all
	dockerd_stop
	# Tasks dockerd left (it was killed, or --live-restore): kill them through
	# containerd while it still runs.
	if _dk_alive "$DK_CTD_PID"; then
		for ns in "$DK_NS" "${DK_NS}p"; do
			tasks=$(timeout 5 ctr -a "$DK_CTD_SOCK" -n "$ns" tasks ls -q 2>/dev/null)
			for p in $tasks; do
				timeout 5 ctr -a "$DK_CTD_SOCK" -n "$ns" tasks kill -a -s KILL "$p" >/dev/null 2>&1
			done
			for p in $tasks; do
				timeout 5 ctr -a "$DK_CTD_SOCK" -n "$ns" tasks delete -f "$p" >/dev/null 2>&1
			done
		done
	fi
	_dk_stop_pid "$DK_CTD_PID" "$DK_DIR/containerd.toml" 10
	# Last line of defence: anything still running with our paths in its
	# command line (a shim) or in our cgroups (a container's processes).
	# A shim killed leaves its socket in the global /run/containerd/s: note
	# the sockets it listens on first, and remove them once it is gone.
	local socks=()
	for i in 1 2 3; do
		left=$(docker_procs)
		[[ -z $left ]] && break
		((i == 1)) && t_log "docker: killing leftover processes: $(tr '\n' ' ' <<<"$left")"
		for p in $left; do
			mapfile -t -O "${#socks[@]}" socks < <(_dk_shim_socks "$p")
		done
		# shellcheck disable=SC2086
		kill -KILL $left 2>/dev/null
		sleep 0.2
	done
	for p in "${socks[@]}"; do
		[[ -S $p ]] && rm -f "$p"
	done
	# Mounts dockerd leaves when it dies (overlay, the data-root bind,
	# netns binds under exec-root): ours only, deepest first.
	for i in 1 2; do
		for m in $(docker_mounts); do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		done
	done
	m=$(docker_mounts)
	[[ -z $m ]] || t_log "docker: mounts left: $(tr '\n' ' ' <<<"$m")"
	# Our container cgroups (runc removes the leaves; the parent is ours).
	for d in /sys/fs/cgroup/*/"$DK_CGROUP"; do
		[[ -d $d ]] || continue
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	[[ -z $m ]] && rm -rf "$DK_RUN" "$DK_DIR" 2>/dev/null
	_dk_release "${_DK_GLOBAL_DIRS[@]}"
	_DK_UP=0
	return 0
}

# docker_plugin_name — a driver name unique to this run (parallel runs never
# collide): "${AZ_RUN}net".
docker_plugin_name() { echo "${AZ_RUN}net"; }

# docker_plugin_dir — a short per-run directory for a plugin's socket (and
# state), removed at exit: $DK_RUN/p (about 16 bytes, far under the 108-byte
# limit of socket paths).  dockerd finds a socket there through
# docker_register_plugin; the global /run/docker/plugins (which every dockerd
# on the machine also reads) is not used, so nothing collides.
docker_plugin_dir() {
	[[ -n $DK_RUN ]] || { echo "docker_plugin_dir: call docker_up first" >&2; return 1; }
	mkdir -p "$DK_RUN/p" && echo "$DK_RUN/p"
}

# docker_plugin_track PID — the plugin (started by the test, in the sim-host
# netns: `topo_nsenter_host PLUGIN ... &`) is stopped at exit after every
# container and network is removed.  Stopping it first would cost dockerd
# about 15 s of retries per call, and leave the plugin's state behind.
docker_plugin_track() {
	t_cleanup_push "az_pid_stop $1" && t_cleanup_push docker_rm_all
}

# docker_register_plugin NAME SOCKPATH — a legacy plugin spec,
# /etc/docker/plugins/NAME.spec holding unix://SOCKPATH, removed at exit
# (the dirs too when this run created them and they are empty).  dockerd
# reads it on first use of NAME (network create -d NAME, or at its start for
# existing networks of that driver).  Call directly, not in $(...).
docker_register_plugin() {
	local name=$1 sock=$2 spec i
	[[ $name =~ ^[a-z0-9][a-z0-9._-]*$ ]] || { echo "docker_register_plugin: bad NAME '$name'" >&2; return 1; }
	[[ $sock == /* ]] || { echo "docker_register_plugin: SOCKPATH must be absolute" >&2; return 1; }
	((${#sock} < 108)) || { echo "docker_register_plugin: '$sock' is too long for a unix socket" >&2; return 1; }
	spec=/etc/docker/plugins/$name.spec
	[[ -e $spec ]] && { echo "docker_register_plugin: $spec exists (another run's?)" >&2; return 1; }
	# LIFO: the spec goes first, then the dirs (when tests created them).
	t_cleanup_push "_dk_release /etc/docker /etc/docker/plugins" || return 1
	t_cleanup_push "rm -f '$spec'" || return 1
	_dk_claim /etc/docker /etc/docker/plugins || return 1
	echo "unix://$sock" >"$spec" || { echo "docker_register_plugin: cannot write $spec" >&2; return 1; }
}

# Global dirs (/run/docker, /etc/docker/plugins, …) are shared with the
# system and with parallel runs.  A run "claims" each (parents first): under
# a lock (flock on /run), it creates a dir that is absent and leaves a marker
# .azt-$AZ_RUN in it, or adds its marker to a dir that already holds another
# run's marker.  A dir without markers is the system's and is never removed.
# At exit (_dk_release, under the lock, deepest first) a run removes its
# marker, then the dir if nothing else is left in it.  Docker ignores the
# markers: legacy plugin discovery takes only sockets and *.spec / *.json.
_dk_claim() {
	local d
	{
		flock -w 10 9 || { echo "docker: cannot lock $_DK_LOCK" >&2; return 1; }
		for d in "$@"; do
			if [[ ! -e $d ]]; then
				mkdir -m 0700 "$d" || return 1
				[[ $d == /etc/* ]] && chmod 0755 "$d"
				: >"$d/.azt-$AZ_RUN"
			elif compgen -G "$d/.azt-*" >/dev/null; then
				: >"$d/.azt-$AZ_RUN"
			fi
		done
	} 9<"$_DK_LOCK"
}

# _dk_release DIR... — the dirs given parents first; released deepest first.
_dk_release() {
	local d i
	local -a dirs=("$@")
	{
		flock -w 10 9 || return 0
		for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
			d=${dirs[i]}
			[[ -e $d/.azt-$AZ_RUN ]] || continue
			rm -f "$d/.azt-$AZ_RUN"
			rmdir "$d" 2>/dev/null
		done
	} 9<"$_DK_LOCK"
	return 0
}
