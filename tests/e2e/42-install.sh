#!/usr/bin/env bash
# e2e: `make install` into a private prefix, Podman using the installed
# hooks.d JSON (no test-only edits), then `make uninstall` leaves nothing.
# Also: DESTDIR staging, and an edited settings file survives both.
source "$(dirname "$0")/../lib/podman.sh"
podman_test_begin install
cd "$AZ_ROOT" || exit 1

# --- DESTDIR staging -----------------------------------------------------------
D=$AZ_TMP/dest
if make -s install DESTDIR="$D" PREFIX=/usr >/dev/null 2>"$AZ_TMP/inst.err"; then
	want=(usr/bin/alcatraz usr/libexec/alcatraz/alcatraz-hook usr/libexec/alcatraz/alcatraz-apply
		usr/lib/systemd/system/alcatraz-applier.service
		usr/share/containers/oci/hooks.d/alcatraz-create.json
		usr/share/containers/oci/hooks.d/alcatraz-poststop.json
		usr/share/alcatraz/hooks.d-all/alcatraz-all-create.json
		usr/share/man/man8/alcatraz.8 usr/share/man/man8/alcatraz-hook.8
		usr/share/man/man5/alcatraz.json.5 etc/alcatraz/alcatraz.json
		usr/lib/systemd/system/alcatraz-restore.service)
	missing=()
	for f in "${want[@]}"; do [[ -f $D/$f ]] || missing+=("$f"); done
	if ((${#missing[@]} == 0)) &&
		grep -q '"path": "/usr/libexec/alcatraz/alcatraz-hook"' "$D/usr/share/containers/oci/hooks.d/alcatraz-create.json" &&
		grep -qx 'ExecStart=/usr/libexec/alcatraz/alcatraz-apply serve' "$D/usr/lib/systemd/system/alcatraz-applier.service"; then
		t_pass "install DESTDIR: every file in place, hooks.d names /usr/libexec/alcatraz/alcatraz-hook, the applier unit its alcatraz-apply"
	else
		t_fail "install DESTDIR" "missing: ${missing[*]}; or wrong path in the JSON"
	fi
	echo '{"isolate": "all"}' >"$D/etc/alcatraz/alcatraz.json"
	make -s install DESTDIR="$D" PREFIX=/usr >/dev/null 2>&1
	if grep -q '"all"' "$D/etc/alcatraz/alcatraz.json"; then
		t_pass "install again: the edited settings file is kept"
	else
		t_fail "install again" "overwrote /etc/alcatraz/alcatraz.json"
	fi
	make -s uninstall DESTDIR="$D" PREFIX=/usr >/dev/null 2>&1
	left=$(find "$D" -type f | sed "s|^$D/||")
	if [[ $left == etc/alcatraz/alcatraz.json ]]; then
		t_pass "uninstall DESTDIR: everything removed but the edited settings file"
	else
		t_fail "uninstall DESTDIR" "left: $(tr '\n' ' ' <<<"$left")"
	fi
else
	t_fail "install DESTDIR" "$(tail -3 "$AZ_TMP/inst.err")"
fi

# --- a real prefix, used by Podman through the installed JSON ---------------
topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
unset ALCATRAZ_STATE_DIR ALCATRAZ_CONFIG # the installed hook runs with its defaults
PFX=$AZ_TMP/prefix
vars=(PREFIX="$PFX" HOOKSDIR="$PFX/hooks.d" SYSCONFDIR="$PFX/etc" SYSTEMDUNITDIR="$PFX/systemd")
make -s install "${vars[@]}" >/dev/null 2>"$AZ_TMP/inst2.err" || { t_fail install "$(tail -3 "$AZ_TMP/inst2.err")"; exit 1; }
t_cleanup_push "in_host make -s -C '$AZ_ROOT' uninstall ${vars[*]} >/dev/null 2>&1"
podman_setup || { t_fail podman-setup "cannot prepare podman"; exit 1; }
PM=("${PM[@]:0:${#PM[@]}-2}" --hooks-dir "$PFX/hooks.d") # the installed JSON, untouched
P=$(azprobe_bin)
ip netns exec "$AZ_NS_LAN" "$P" serve tcp 0.0.0.0 80 --log "$AZ_TMP/lan.log" --max-seconds 300 &
az_pid_track $!
ip netns exec "$AZ_NS_WAN" "$P" serve tcp 0.0.0.0 80 --log "$AZ_TMP/wan.log" --max-seconds 300 &
az_pid_track $!
wait_for 5 topo_exec_wan "$P" tcp "$AZ_WAN4" 80 --timeout 200
out=$(pm_run --rm --annotation alcatraz.network=on -- sh -c "azprobe tcp $AZ_WAN4 80; azprobe tcp $AZ_LAN4 80" 2>/dev/null | awk '{printf "%s ", $1}')
if [[ $out == "ok refused " ]]; then
	t_pass "installed hook: Podman finds it through the installed hooks.d JSON and isolates"
else
	t_fail "installed hook" "expected 'ok refused', got '$out'"
fi
# the installed applier (what alcatraz-applier.service runs), in the sim-host
if [[ -e /run/alcatraz/applier.sock ]]; then
	t_fail "installed applier" "/run/alcatraz/applier.sock exists already: an applier of this machine? not touching it"
else
	in_host_bg "$PFX/libexec/alcatraz/alcatraz-apply" serve 2>"$AZ_TMP/applier.err"
	ap=$BG_PID
	wait_for 5 grep -q "applier serving" "$AZ_TMP/applier.err"
	out=$(pm_run --rm --annotation alcatraz.network=on -- sh -c "azprobe tcp $AZ_WAN4 80; azprobe tcp $AZ_LAN4 80" 2>/dev/null | awk '{printf "%s ", $1}')
	az_pid_stop "$ap"
	served=$(sed -n 's/.*applier stopped after \([0-9]*\) requests served.*/\1/p' "$AZ_TMP/applier.err")
	if [[ $out == "ok refused " ]] && ((${served:-0} >= 2)); then
		t_pass "installed applier: Podman's hook hands create and poststop to it ($served served) and the container is isolated"
	else
		t_fail "installed applier" "expected 'ok refused' and >= 2 served, got '$out', served '${served:-?}': $(tail -n 2 "$AZ_TMP/applier.err")"
	fi
	t_check "installed applier: its socket is gone after SIGTERM" test ! -e /run/alcatraz/applier.sock
fi
if in_host make -s uninstall "${vars[@]}" >/dev/null 2>&1 && [[ -z $(find "$PFX" -type f 2>/dev/null) ]] &&
	! in_host nft list tables | grep -q alcatraz; then
	t_pass "uninstall: no file and no alcatraz table left"
else
	t_fail "uninstall" "left: $(find "$PFX" -type f | tr '\n' ' ') $(in_host nft list tables | grep alcatraz)"
fi
