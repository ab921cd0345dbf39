#!/usr/bin/env bash
# e2e: packaging of the Docker plugin (issue 3).
#
#   (a) `make install DESTDIR=… PREFIX=/usr` puts alcatraz-plugin, its two
#       systemd units (paths filled in) and its man page in place (the man
#       page names every option of --help); `systemd-analyze verify` accepts
#       the units as installed into a real prefix, and reports a broken copy
#       (so its silence means something); uninstall removes them all.
#   (b) socket activation: the plugin started by systemd-socket-activate (or,
#       where that is missing, a small Python activator) with a pre-bound
#       socket as fd 3, LISTEN_FDS=1, LISTEN_PID: Plugin.Activate and
#       GetCapabilities answer on that socket, the plugin does not bind its
#       own --socket and leaves the socket file to its owner when stopped;
#       LISTEN_PID of another process is ignored; a fd 3 that is no
#       listening socket is refused with the reason.
#   (c) the managed (v2) plugin, with a private dockerd in the sealed
#       topology: `make plugin-package` builds the rootfs, `make
#       docker-plugin` (DOCKER_HOST pointing at the private dockerd) runs
#       `docker plugin create` with a per-run name, `docker plugin set` points
#       its host mounts at per-run dirs, `docker plugin enable` runs it: in the
#       sim-host netns, with exactly the capabilities it keeps; a network of
#       that driver, containers on it reaching the internet server and refused
#       towards the LAN server (exceptions from the settings file seen
#       through the etc mount, and from a label read through Docker's socket
#       in the run mount); then disable/rm leaves no plugin, process, mount,
#       dir, interface, state record or DOCKER-USER rule.
#       Whatever the sandbox cannot do is a SKIP naming the exact reason.
set -u
source "$(dirname "$0")/../lib/docker.sh"
require_root
cd "$AZ_ROOT" || exit 1
PLUGIN=$AZ_BUILD/alcatraz-plugin
if ! make -s B="$AZ_BUILD" "$PLUGIN" >"$AZ_TMP/build.out" 2>&1 || [[ ! -x $PLUGIN ]]; then
	t_fail "$AZ_TEST_NAME" "cannot build $PLUGIN: $(tail -n 2 "$AZ_TMP/build.out")"
	exit 1
fi
# The sim-host netns first: `make uninstall` without DESTDIR runs `alcatraz
# uninstall --yes`, which must see this run's state and netns only.
export ALCATRAZ_STATE_DIR=$AZ_TMP/state ALCATRAZ_CONFIG=$AZ_TMP/alcatraz.json
topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }

# ==== (a) install / uninstall ==================================================
D=$AZ_TMP/dest
UNITS=usr/lib/systemd/system
if make -s install B="$AZ_BUILD" DESTDIR="$D" PREFIX=/usr >"$AZ_TMP/inst.out" 2>&1; then
	missing=()
	for f in usr/bin/alcatraz-plugin $UNITS/alcatraz-plugin.service $UNITS/alcatraz-plugin.socket \
		usr/share/man/man8/alcatraz-plugin.8; do
		[[ -f $D/$f ]] || missing+=("$f")
	done
	svc=$D/$UNITS/alcatraz-plugin.service sock=$D/$UNITS/alcatraz-plugin.socket
	if ((${#missing[@]})); then
		t_fail "install: plugin files" "missing: ${missing[*]}"
	elif ! cmp -s "$PLUGIN" "$D/usr/bin/alcatraz-plugin" || [[ ! -x $D/usr/bin/alcatraz-plugin ]]; then
		t_fail "install: plugin binary" "not the built one, or not executable"
	else
		t_pass "install DESTDIR PREFIX=/usr: /usr/bin/alcatraz-plugin, both units, alcatraz-plugin.8"
	fi
	if grep -qx 'ExecStart=/usr/bin/alcatraz-plugin' "$svc" 2>/dev/null &&
		! grep -q '@' "$svc" "$sock" 2>/dev/null &&
		grep -qx 'ListenStream=/run/docker/plugins/alcatraz.sock' "$sock" &&
		grep -qx 'SocketMode=0660' "$sock" && grep -qx 'Before=docker.service' "$sock" &&
		grep -qx 'StateDirectory=alcatraz/plugin' "$svc" && grep -qx 'RuntimeDirectory=alcatraz' "$svc" &&
		grep -qx 'RuntimeDirectoryPreserve=yes' "$svc" && grep -qx 'Restart=on-failure' "$svc"; then
		t_pass "units: ExecStart=/usr/bin/alcatraz-plugin, ListenStream=/run/docker/plugins/alcatraz.sock 0660 before docker, State/RuntimeDirectory, Restart=on-failure"
	else
		t_fail "units" "unexpected content: $(grep -hE '^(ExecStart|ListenStream|SocketMode|StateDirectory|RuntimeDirectory)' "$svc" "$sock" 2>/dev/null | tr '\n' ' ')"
	fi
	# every option of --help is in the man page, which renders cleanly
	m8=$D/usr/share/man/man8/alcatraz-plugin.8
	if command -v man >/dev/null; then
		man_txt=$(MANWIDTH=200 man -l "$m8" 2>"$AZ_TMP/man.err")
	elif command -v groff >/dev/null; then
		man_txt=$(groff -man -Tutf8 "$m8" 2>"$AZ_TMP/man.err")
	else # the source, unescaped
		man_txt=$(sed 's/\\-/-/g' "$m8") && : >"$AZ_TMP/man.err"
	fi
	opts=$("$PLUGIN" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u)
	absent=()
	for o in $opts; do grep -qF -- "$o" <<<"$man_txt" || absent+=("$o"); done
	if [[ -n $man_txt && ! -s $AZ_TMP/man.err && ${#absent[@]} == 0 ]]; then
		t_pass "alcatraz-plugin(8) renders and documents every option of --help ($(tr '\n' ' ' <<<"$opts"))"
	else
		t_fail "man page" "missing options: ${absent[*]}; man said: $(head -c 200 "$AZ_TMP/man.err")"
	fi
	make -s uninstall B="$AZ_BUILD" DESTDIR="$D" PREFIX=/usr >/dev/null 2>&1
	left=$(find "$D" -type f -o -type l | sed "s|^$D/||" | grep -v '^etc/alcatraz/alcatraz.json$')
	if [[ -z $left ]]; then
		t_pass "uninstall DESTDIR: the plugin, its units and its man page removed (nothing else left)"
	else
		t_fail "uninstall DESTDIR" "left: $(tr '\n' ' ' <<<"$left")"
	fi
else
	t_fail "install DESTDIR" "$(tail -n 3 "$AZ_TMP/inst.out")"
fi

# systemd-analyze verify, on the units installed into a real prefix (it
# checks that ExecStart's binary exists and that the man page is found)
if command -v systemd-analyze >/dev/null; then
	PFX=$AZ_TMP/prefix
	vars=(PREFIX="$PFX" HOOKSDIR="$PFX/hooks.d" SYSCONFDIR="$PFX/etc" SYSTEMDUNITDIR="$PFX/systemd")
	t_cleanup_push "topo_nsenter_host make -s -C '$AZ_ROOT' B='$AZ_BUILD' uninstall ${vars[*]} >/dev/null 2>&1"
	if make -s install B="$AZ_BUILD" "${vars[@]}" >"$AZ_TMP/inst2.out" 2>&1; then
		u=("$PFX/systemd/alcatraz-plugin.socket" "$PFX/systemd/alcatraz-plugin.service")
		out=$(MANPATH=$PFX/share/man systemd-analyze verify "${u[@]}" 2>&1) && rc=0 || rc=$?
		# a negative control: the same check must see a broken copy
		mkdir -p "$AZ_TMP/broken"
		sed 's/^Restart=on-failure/Restart=on-failure\nRestrt=always/' "${u[1]}" >"$AZ_TMP/broken/alcatraz-plugin.service"
		cp "${u[0]}" "$AZ_TMP/broken/"
		bad=$(MANPATH=$PFX/share/man systemd-analyze verify "$AZ_TMP/broken/alcatraz-plugin.socket" \
			"$AZ_TMP/broken/alcatraz-plugin.service" 2>&1)
		if ((rc == 0)) && [[ -z $out ]] && grep -q "Restrt" <<<"$bad"; then
			t_pass "systemd-analyze verify: both installed units clean (ExecStart $PFX/bin/alcatraz-plugin, man page found); a misspelt key in a copy is reported"
		else
			t_fail "systemd-analyze verify" "rc $rc: $(tr '\n' ' ' <<<"$out" | head -c 300); control: $(head -c 200 <<<"$bad")"
		fi
	else
		t_fail "install into $PFX" "$(tail -n 3 "$AZ_TMP/inst2.out")"
	fi
	topo_nsenter_host make -s -C "$AZ_ROOT" B="$AZ_BUILD" uninstall "${vars[@]}" >/dev/null 2>&1
	left=$(find "$PFX" -type f 2>/dev/null)
	[[ -z $left ]] || t_fail "uninstall $PFX" "left: $(tr '\n' ' ' <<<"$left")"
else
	t_skip "systemd-analyze verify" "systemd-analyze is not installed (apt-get install systemd)"
fi

# ==== (b) socket activation ====================================================
SA=$AZ_TMP/sa
mkdir -p "$SA"
printf '{}\n' >"$SA/alcatraz.json"
SA_ENV=(ALCATRAZ_STATE_DIR="$SA/rules" ALCATRAZ_CONFIG="$SA/alcatraz.json")
SA_ARGS=(--socket "$SA/own.sock" --state-dir "$SA/state" --no-labels)

# activate SOCK LOG — the plugin behind an activator, in the sim-host netns
# (where it could touch nothing of the real host's network); sets SA_PID,
# the pid the plugin will have (both activators exec it in place) and
# SA_HOW.  The activator binds and listens on SOCK, passes it as fd 3.
activate() {
	local sock=$1 log=$2
	if command -v systemd-socket-activate >/dev/null; then
		SA_HOW=systemd-socket-activate
		local e=() v
		for v in "${SA_ENV[@]}"; do e+=(-E "$v"); done
		# it waits for the first connection, then execs the plugin
		nsenter --net="/run/netns/$AZ_NS_HOST" systemd-socket-activate -l "$sock" "${e[@]}" \
			"$PLUGIN" "${SA_ARGS[@]}" </dev/null >>"$log" 2>&1 &
	elif command -v python3 >/dev/null; then
		SA_HOW="python activator"
		nsenter --net="/run/netns/$AZ_NS_HOST" env "${SA_ENV[@]}" python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(16)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)             # socket() made it close-on-exec
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())  # exec keeps the pid
os.execv(sys.argv[2], sys.argv[2:])' "$sock" "$PLUGIN" "${SA_ARGS[@]}" </dev/null >>"$log" 2>&1 &
	else
		return 2
	fi
	SA_PID=$!
	az_pid_track "$SA_PID"
	t_cleanup_push "rm -f '$sock'"
	wait_for 5 test -S "$sock"
}

# post SOCK CALL — the reply body of POST /CALL, without blanks
post() {
	if command -v curl >/dev/null; then
		curl -sS -m 5 --unix-socket "$1" -X POST "http://x/$2" 2>&1
	else
		printf 'POST /%s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' "$2" |
			socat -t 5 - "UNIX-CONNECT:$1" 2>&1 | sed '1,/^\r\?$/d'
	fi | tr -d ' \t\r\n'
}
exe_of() { readlink "/proc/$1/exe" 2>/dev/null; }

S=$SA/activated.sock
activate "$S" "$SA/log" && rc=0 || rc=$?
if ((rc == 2)); then
	t_skip "socket activation" "neither systemd-socket-activate nor python3 is installed"
elif ((rc != 0)); then
	t_fail "socket activation" "$SA_HOW did not create $S: $(tail -n 3 "$SA/log")"
else
	act=$(post "$S" Plugin.Activate)
	if [[ $act == '{"Implements":["NetworkDriver"]}' ]] &&
		[[ $(exe_of "$SA_PID") == "$(readlink -f "$PLUGIN")" ]]; then
		t_pass "socket activation ($SA_HOW, LISTEN_FDS=1 LISTEN_PID=$SA_PID): POST /Plugin.Activate on the passed socket → $act"
	else
		t_fail "socket activation" "Activate answered '$act'; pid $SA_PID runs '$(exe_of "$SA_PID")'; log: $(tail -n 3 "$SA/log" | tr '\n' ' ')"
	fi
	caps=$(post "$S" NetworkDriver.GetCapabilities)
	if [[ $caps == '{"Scope":"local","ConnectivityScope":"local"}' ]] &&
		[[ ! -e $SA/own.sock ]]; then
		t_pass "activated: GetCapabilities → $caps; its own --socket path was never bound"
	else
		t_fail "activated" "GetCapabilities '$caps'; own socket exists: $([[ -e $SA/own.sock ]] && echo yes || echo no)"
	fi
	kill -TERM "$SA_PID" 2>/dev/null
	wait_for 5 _dk_not_alive "$SA_PID"
	wait "$SA_PID" 2>/dev/null
	st=$?
	if ! _dk_alive "$SA_PID" && ((st == 0)) && [[ -S $S ]]; then
		t_pass "SIGTERM: exit 0, and the socket file is left to its owner (systemd)"
	else
		t_fail "stop" "exit $st; alive: $(_dk_alive "$SA_PID" && echo yes || echo no); socket file kept: $([[ -S $S ]] && echo yes || echo no)"
	fi
fi

# LISTEN_PID naming another process: not for us, the plugin binds --socket.
nsenter --net="/run/netns/$AZ_NS_HOST" env "${SA_ENV[@]}" LISTEN_FDS=1 LISTEN_PID=1 \
	"$PLUGIN" "${SA_ARGS[@]}" </dev/null >>"$SA/log2" 2>&1 &
p=$!
az_pid_track "$p"
if wait_for 5 test -S "$SA/own.sock" &&
	[[ $(post "$SA/own.sock" Plugin.Activate) == '{"Implements":["NetworkDriver"]}' ]]; then
	t_pass "LISTEN_PID of another process: ignored, the plugin serves its own --socket"
else
	t_fail "foreign LISTEN_PID" "no answer on $SA/own.sock: $(tail -n 2 "$SA/log2")"
fi
az_pid_stop "$p"
# fd 3 that is no listening socket: refused, with the reason
# shellcheck disable=SC2016 # expanded by the inner bash
out=$(nsenter --net="/run/netns/$AZ_NS_HOST" env "${SA_ENV[@]}" bash -c \
	'exec 3</dev/null; export LISTEN_FDS=1 LISTEN_PID=$$; exec "$0" "$@"' \
	"$PLUGIN" "${SA_ARGS[@]}" 2>&1 </dev/null) && rc=0 || rc=$?
if ((rc == 1)) && grep -q "fd 3 from systemd" <<<"$out"; then
	t_pass "LISTEN_FDS=1 with fd 3 not a socket: exit 1, \"$(grep -m1 -o 'fd 3.*' <<<"$out" | head -c 120)\""
else
	t_fail "bad fd 3" "exit $rc: $(tail -n 2 <<<"$out")"
fi

# ==== (c) the managed plugin =====================================================
why=$(docker_missing)
if [[ -n $why ]]; then
	t_skip "managed plugin" "$why"
	exit 0
fi
if ! docker_up; then
	t_fail docker_up "dockerd did not start"
	exit 1
fi
docker_image || { t_fail docker_image "import failed"; exit 1; }
azprobe_bin >/dev/null || { t_fail azprobe "cannot build azprobe"; exit 1; }

PKG=$AZ_TMP/docker-plugin
if out=$(make -s B="$AZ_BUILD" PLUGIN_PKG="$PKG" plugin-package 2>&1) &&
	[[ -x $PKG/rootfs/usr/bin/alcatraz-plugin && -f $PKG/config.json ]]; then
	nlib=$(ldd "$PLUGIN" | grep -c '/')
	nolib=$(ldd "$PLUGIN" | awk '/=> \// { print $3 } /^[[:space:]]\// { print $1 }' |
		while read -r l; do [[ -f $PKG/rootfs$l ]] || echo "$l"; done)
	if [[ -z $nolib ]]; then
		t_pass "make plugin-package: rootfs with the binary and all $nlib libraries ldd lists (${out##*: })"
	else
		t_fail "plugin-package" "libraries missing from the rootfs: $(tr '\n' ' ' <<<"$nolib")"
	fi
else
	t_fail "make plugin-package" "$(tail -n 3 <<<"$out")"
	exit 1
fi

PNAME=${AZ_RUN}mp
PID_=
NET=${AZ_RUN}m
HR=$AZ_TMP/hostrun # the plugin's /host/run
HE=$AZ_TMP/hostetc # the plugin's /host/etc
mkdir -p "$HR" "$HE/alcatraz"
echo "{\"lan-access\": [\"$AZ_LAN4:8080\"]}" >"$HE/alcatraz/alcatraz.json"
chmod 0644 "$HE/alcatraz/alcatraz.json"

plugin_id() { timeout 10 "${DK[@]}" plugin inspect -f '{{.Id}}' "$PNAME" 2>/dev/null; }

# _mp_down — the plugin gone, whatever state it is in; its exec dir under
# the global /run/docker/plugins too (dockerd may leave it).  After
# docker_rm_all (pushed later, so run earlier).
_mp_down() {
	local id
	id=$(plugin_id)
	timeout 30 "${DK[@]}" plugin disable -f "$PNAME" >/dev/null 2>&1
	timeout 30 "${DK[@]}" plugin rm -f "$PNAME" >/dev/null 2>&1
	[[ $id =~ ^[0-9a-f]{64}$ ]] && rm -rf "/run/docker/plugins/$id"
	return 0
}
t_cleanup_push _mp_down
t_cleanup_push docker_rm_all

dump_mp() {
	t_log "dockerd log, plugin lines (last):"
	grep -E 'plugin|alcatraz' "$DK_LOG" 2>/dev/null | tail -n 10 | sed 's/^/#   /' >&2
}

if out=$(DOCKER_HOST=unix://$DK_SOCK make -s B="$AZ_BUILD" PLUGIN_PKG="$PKG" PLUGIN_NAME="$PNAME" \
	DOCKER="$DK_CLI" docker-plugin 2>&1); then
	t_pass "make docker-plugin (DOCKER_HOST=unix://$DK_SOCK): docker plugin create $PNAME from the local directory"
else
	t_fail "make docker-plugin" "$(tail -n 3 <<<"$out")"
	dump_mp
	exit 1
fi
ID=$(plugin_id)
cfg=$(dk plugin inspect -f '{{json .Config.Interface.Types}} {{.Config.Interface.Socket}} {{.Config.Network.Type}} {{.Config.PropagatedMount}}' "$PNAME" 2>&1)
pcaps=$(dk plugin inspect -f '{{join .Config.Linux.Capabilities ","}}' "$PNAME" 2>&1)
if [[ $cfg == '["docker.networkdriver/1.0"] alcatraz.sock host /var/lib/alcatraz' ]]; then
	t_pass "plugin ${ID:0:12} as Docker read it: interface docker.networkdriver/1.0 on alcatraz.sock, network host, propagated mount /var/lib/alcatraz, capabilities $pcaps"
else
	t_fail "plugin config" "as Docker read it: $(head -c 300 <<<"$cfg")"
fi

# the Engine API, as the plugin will see it at /host/run/docker.sock: a hard
# link to the private dockerd's socket (same file system), else a bind mount
if ! ln "$DK_SOCK" "$HR/docker.sock" 2>/dev/null; then
	: >"$HR/docker.sock" && mount --bind "$DK_SOCK" "$HR/docker.sock" &&
		t_cleanup_push "umount '$HR/docker.sock'"
fi
if ! dk plugin set "$PNAME" "run.source=$HR" "etc.source=$HE" >"$AZ_TMP/set.out" 2>&1; then
	t_fail "docker plugin set" "$(cat "$AZ_TMP/set.out")"
	exit 1
fi

enabled=0
if dk plugin enable --timeout 30 "$PNAME" >"$AZ_TMP/enable.out" 2>&1; then
	enabled=1
	t_pass "docker plugin enable $PNAME (host mounts at $HR and $HE)"
else
	# the sandbox may not run plugins: say exactly why, prove what we can
	t_skip "managed plugin: enable and traffic" \
		"docker plugin enable failed here: $(tr '\n' ' ' <"$AZ_TMP/enable.out" | head -c 300)"
	dump_mp
fi

if ((enabled)); then
	PID_=$(ctr -a "$DK_CTD_SOCK" -n "${DK_NS}p" tasks ls 2>/dev/null | awk -v id="$ID" '$1 == id { print $2 }')
	host_ino=$(stat -L -c %i "/run/netns/$AZ_NS_HOST")
	capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$PID_/status" 2>/dev/null)
	# CAP_DAC_OVERRIDE 1, DAC_READ_SEARCH 2, NET_ADMIN 12, SYS_PTRACE 19, SYS_ADMIN 21
	if [[ -n $PID_ && $(stat -L -c %i "/proc/$PID_/ns/net") == "$host_ino" &&
		$(stat -L -c %i "/proc/$PID_/ns/mnt") != "$(stat -L -c %i /proc/self/ns/mnt)" &&
		$(tr '\0' ' ' <"/proc/$PID_/cmdline") == "/usr/bin/alcatraz-plugin "* ]] &&
		((16#${capeff:-0} == 16#281006)); then
		t_pass "the plugin (pid $PID_) runs in the sim-host netns (network.type host), in its own mount ns, with CapEff $capeff = the five capabilities it keeps"
	else
		t_fail "plugin process" "pid '${PID_}', netns $(stat -L -c %i "/proc/$PID_/ns/net" 2>&1) vs $host_ino, cmdline '$(tr '\0' ' ' <"/proc/$PID_/cmdline" 2>/dev/null)', CapEff '$capeff'"
	fi
	if [[ -S /run/docker/plugins/$ID/alcatraz.sock ]]; then
		t_pass "its socket: /run/docker/plugins/${ID:0:12}…/alcatraz.sock (interface.socket, relative to the plugin's dir)"
	else
		t_fail "plugin socket" "no /run/docker/plugins/$ID/alcatraz.sock"
	fi

	if ! { topo_serve lan tcp "$AZ_LAN4" 80 && topo_serve lan tcp "$AZ_LAN4" 8080 &&
		topo_serve wan tcp "$AZ_WAN4" 80; }; then
		t_fail servers "did not start"
		exit 1
	fi

	# A managed network driver's name carries its tag: Docker (20.10)
	# registers "NAME:latest", and `-d NAME` alone is not resolved.
	if dk network create -d "$PNAME:latest" --subnet 10.97.0.0/24 "$NET" >"$AZ_TMP/net.out" 2>&1; then
		NID=$(dk network inspect -f '{{.Id}}' "$NET")
		BR=az${NID:0:12}
		if ip -n "$AZ_NS_HOST" link show "$BR" >/dev/null 2>&1 && ! ip link show "$BR" >/dev/null 2>&1 &&
			[[ -f $DK_DIR/data/plugins/$ID/propagated-mount/plugin/networks/$NID.json ]]; then
			t_pass "network create -d $PNAME:latest: bridge $BR in the sim-host; its record in the propagated mount (data-root/plugins/${ID:0:12}…/propagated-mount/plugin/networks/)"
		else
			t_fail "network" "bridge $BR in sim-host: $(ip -n "$AZ_NS_HOST" -br link show "$BR" 2>&1); record: $(ls "$DK_DIR/data/plugins/$ID/propagated-mount/plugin/networks/" 2>&1)"
		fi
	else
		t_fail "network create -d $PNAME:latest" "$(cat "$AZ_TMP/net.out")"
		dump_mp
		exit 1
	fi

	# run NAME [options] — a detached container on $NET
	run() {
		local n=$1
		shift
		dk run -d --init --stop-timeout 1 --network "$NET" --name "$AZ_RUN-$n" "$@" "$DK_IMAGE" \
			sleep 300 >/dev/null 2>"$AZ_TMP/run-$n.err"
	}
	probe() { dk exec "$AZ_RUN-$1" azprobe tcp "$2" "$3" --timeout 1500 2>/dev/null | awk '{print $1}'; }
	probe_ok() { [[ $(probe "$@") == ok ]]; }
	expect() {
		local got
		got=$(probe "$1" "$3" "$4")
		if [[ $got == "$5" ]]; then
			t_pass "managed plugin: $1 → $2 $3:$4: $got"
		else
			t_fail "managed plugin: $1 → $2 $3:$4" "expected $5, got '${got:-nothing}'"
		fi
	}

	run a || t_fail "run a" "$(cat "$AZ_TMP/run-a.err")"
	run b --label "alcatraz.network.lan-access=$AZ_LAN4:80" || t_fail "run b" "$(cat "$AZ_TMP/run-b.err")"
	t0=$(_t_now_ms)
	# held until the plugin read the labels through /host/run/docker.sock
	if wait_for 10 probe_ok a "$AZ_WAN4" 80 && wait_for 10 probe_ok b "$AZ_WAN4" 80; then
		t_pass "both containers released from the hold within $(($(_t_now_ms) - t0)) ms: the plugin reads Docker's events and labels through its run mount"
	else
		t_fail "release" "containers still held (no internet) after 10 s"
		dump_mp
	fi
	expect a internet "$AZ_WAN4" 80 ok
	expect a "LAN (not excepted)" "$AZ_LAN4" 80 refused
	expect a "LAN entry of the settings file (etc mount)" "$AZ_LAN4" 8080 ok
	expect b "LAN entry of its label" "$AZ_LAN4" 80 ok
	expect b "LAN (label replaces the file's entry)" "$AZ_LAN4" 8080 refused
	a_ip=$(dk inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$AZ_RUN-a" 2>/dev/null)
	if [[ -n $a_ip ]] && ! grep -qF "peer=$a_ip " "$(srv_log tcp "$AZ_LAN4" 80)"; then
		t_pass "the LAN server on port 80 saw nothing from container a ($a_ip)"
	else
		t_fail "LAN port 80" "saw a ($a_ip): $(grep -F "peer=$a_ip " "$(srv_log tcp "$AZ_LAN4" 80)" | head -n 2 | tr '\n' ' ')"
	fi
	nrec=$(find "$HR/alcatraz/netns" -name '*.json' 2>/dev/null | wc -l)
	nfw=$(ip netns exec "$AZ_NS_HOST" iptables -S DOCKER-USER 2>/dev/null | grep -c "alcatraz-plugin:$NID")
	if ((nrec == 2 && nfw > 0)); then
		t_pass "rules' state in the host's /run/alcatraz (here $HR/alcatraz): $nrec records; iptables from the rootfs added $nfw DOCKER-USER rules"
	else
		t_fail "state / DOCKER-USER" "$nrec records in $HR/alcatraz/netns, $nfw DOCKER-USER rules for $NID"
	fi

	# the host's alcatraz command sees the plugin's endpoints: one rules' state
	ep_a=$(dk inspect -f "{{(index .NetworkSettings.Networks \"$NET\").EndpointID}}" "$AZ_RUN-a" 2>/dev/null)
	lst=$(topo_nsenter_host env ALCATRAZ_STATE_DIR="$HR/alcatraz" "$AZ_BUILD/alcatraz" list 2>&1)
	if [[ -n $ep_a ]] && grep -q "${ep_a:0:12}" <<<"$lst"; then
		t_pass "alcatraz list (host side, same /run/alcatraz) shows the plugin's endpoint ${ep_a:0:12}"
	else
		t_fail "alcatraz list" "endpoint ${ep_a:0:12} not listed: $(head -c 300 <<<"$lst")"
	fi

	# --- removal: containers, network, plugin; nothing left -----------------------
	dk rm -f "$AZ_RUN-a" "$AZ_RUN-b" >/dev/null 2>&1
	dk network rm "$NET" >/dev/null 2>&1 || t_fail "network rm" "refused"
	pdir=$DK_DIR/data/plugins/$ID
	if dk plugin disable "$PNAME" >"$AZ_TMP/dis.out" 2>&1 && dk plugin rm "$PNAME" >>"$AZ_TMP/dis.out" 2>&1; then
		t_pass "docker plugin disable + rm"
	else
		t_fail "plugin disable/rm" "$(tr '\n' ' ' <"$AZ_TMP/dis.out")"
	fi
	wait_for 5 _dk_not_alive "$PID_"
	execdir_left=
	if [[ -e /run/docker/plugins/$ID ]]; then
		# dockerd 20.10 leaves the plugin's exec dir behind: ours, by id
		execdir_left=" (dockerd left its exec dir /run/docker/plugins/${ID:0:12}…: removed)"
		rm -rf "/run/docker/plugins/$ID"
	fi
	left=()
	_dk_alive "$PID_" && left+=("process $PID_")
	[[ -e $pdir ]] && left+=("$pdir")
	m=$(findmnt -rn -o TARGET | grep -F -- "$ID")
	[[ -n $m ]] && left+=("mounts $(tr '\n' ' ' <<<"$m")")
	t=$(ctr -a "$DK_CTD_SOCK" -n "${DK_NS}p" tasks ls -q 2>/dev/null)
	[[ -n $t ]] && left+=("containerd tasks $t")
	ip -n "$AZ_NS_HOST" -o link show 2>/dev/null | grep -qE ": (az${NID:0:12}|azh)" &&
		left+=("interfaces $(ip -n "$AZ_NS_HOST" -o link show | grep -oE ": (az[0-9a-f]{12}|azh[0-9a-f]{11})" | tr '\n' ' ')")
	r=$(find "$HR/alcatraz/netns" -name '*.json' 2>/dev/null)
	[[ -n $r ]] && left+=("state records $r")
	ip netns exec "$AZ_NS_HOST" iptables -S DOCKER-USER 2>/dev/null | grep -q "alcatraz-plugin:" &&
		left+=("DOCKER-USER rules")
	dk plugin inspect "$PNAME" >/dev/null 2>&1 && left+=("plugin $PNAME")
	if ((${#left[@]} == 0)); then
		t_pass "after network rm and plugin disable/rm: no plugin, process, task, mount, data dir, interface, state record or DOCKER-USER rule$execdir_left"
	else
		t_fail "after plugin rm" "left: $(IFS=,; echo "${left[*]}")"
	fi
fi
