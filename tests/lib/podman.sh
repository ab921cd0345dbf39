# shellcheck shell=bash
# podman.sh — real Podman with the packaged hooks.d JSON pointed at the built
# hook, inside the sealed topology's sim-host netns, with private storage.
#
#   podman_setup            hooks dir + private storage; sets PM (the podman command)
#   pm ARGS...              podman in the sim-host netns
#   pm_run ARGS...          pm run with the ulimits and the busybox rootfs (ARGS before the command)
#
# Podman's netavark makes its bridge (podman0, 10.88.0.0/16) in the sim-host
# netns, and its NAT towards the uplink, so containers reach the wan netns.

# shellcheck source=fakert.sh
source "$(dirname "${BASH_SOURCE[0]}")/fakert.sh"
# shellcheck source=rootfs.sh
source "$(dirname "${BASH_SOURCE[0]}")/rootfs.sh"

PM=()
AZ_PM_ROOTFS=
AZ_PM_HOOKS=

# podman_missing — why Podman e2e cannot run here, or nothing.
podman_missing() {
	local c
	for c in podman runc nsenter; do
		command -v "$c" >/dev/null 2>&1 || { echo "'$c' is not installed (make deps, or .ci/run installs it)"; return; }
	done
}

# podman_test_begin NAME — the opening of the Podman e2e tests: root; SKIP
# NAME (exit 0) when Podman cannot run here.
podman_test_begin() {
	require_root
	local why
	why=$(podman_missing)
	if [[ -n $why ]]; then
		t_skip "$1" "$why"
		exit 0
	fi
}

podman_setup() {
	local f
	AZ_PM_HOOKS=$AZ_TMP/hooks.d
	mkdir -p "$AZ_PM_HOOKS" "$AZ_TMP/pm-net" "$AZ_TMP/pm-tmp"
	# The packaged JSON, with the path of the built binary, and the
	# per-run state dir and settings file added to its environment.
	for f in "$AZ_ROOT"/packaging/hooks.d/alcatraz-{create,poststop}.json.in; do
		sed -e "s|@HOOK@|$AZ_HOOK|" \
			-e "s|\"env\": \\[|\"env\": [\"ALCATRAZ_STATE_DIR=$ALCATRAZ_STATE_DIR\", \"ALCATRAZ_CONFIG=$ALCATRAZ_CONFIG\", |" \
			"$f" >"$AZ_PM_HOOKS/$(basename "${f%.in}")"
	done
	# Ulimits for every container, the pod's infra container included
	# (runc cannot raise them past this sandbox's limits).
	# CONTAINERS_CONF replaces the system file, so start from it (its
	# default capabilities, without NET_RAW) and add the ulimits.
	local sys=/usr/share/containers/containers.conf
	[[ -f /etc/containers/containers.conf ]] && sys=/etc/containers/containers.conf
	if [[ -f $sys ]] && grep -q '^\[containers\]' "$sys"; then
		sed '/^\[containers\]/a default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]' \
			"$sys" | grep -v '^default_ulimits = \[\]' >"$AZ_TMP/containers.conf"
	else
		printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n' >"$AZ_TMP/containers.conf"
	fi
	export CONTAINERS_CONF=$AZ_TMP/containers.conf
	PM=(podman --root "$AZ_TMP/pm-storage" --runroot "$AZ_TMP/pm-run"
		--network-config-dir "$AZ_TMP/pm-net" --tmpdir "$AZ_TMP/pm-tmp"
		--runtime runc --cgroup-manager cgroupfs --events-backend file
		--hooks-dir "$AZ_PM_HOOKS")
	AZ_PM_ROOTFS=$(build_rootfs "$AZ_TMP/rootfs") || return 1
	# mount points Podman binds over; a user-namespaced container's root
	# cannot create them in this root-owned tree
	touch "$AZ_PM_ROOTFS/run/.containerenv" "$AZ_PM_ROOTFS/etc/hostname"
	# Last pushed runs first: remove every container and pod before the
	# topology goes; then podman's own storage (overlay mounts).
	t_cleanup_push "rm -rf '$AZ_TMP/pm-storage' '$AZ_TMP/pm-run' 2>/dev/null"
	t_cleanup_push "in_host ${PM[*]} system reset -f >/dev/null 2>&1 || true"
	t_cleanup_push "in_host ${PM[*]} pod rm -af -t 0 >/dev/null 2>&1 || true"
	t_cleanup_push "in_host ${PM[*]} rm -af -t 0 >/dev/null 2>&1 || true"
}

pm() {
	in_host "${PM[@]}" "$@"
}

# pm_run [PODMAN-RUN-OPTIONS...] -- CMD... : run the busybox rootfs.
pm_run() {
	local opts=()
	while (($#)) && [[ $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	shift
	pm run --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "${opts[@]}" --rootfs "$AZ_PM_ROOTFS" "$@"
}

# az_elements — host ruleset lines that carry an alcatraz container comment.
az_elements() {
	in_host nft list ruleset 2>/dev/null | grep -c 'comment "alcatraz:' || true
}

# az_records — state records left (attachments + container records).
az_records() {
	find "$ALCATRAZ_STATE_DIR" -name '*.json' 2>/dev/null | wc -l
}
