#!/usr/bin/env bash
# 39-hostile-input — whoever writes a container's annotations, its id, or
# (through a compromised runtime or plugin caller) its netns path is hostile.
# Through the real hook, called as an OCI runtime calls it (fakert.sh), and
# the real plugin over HTTP:
#   * every alcatraz.network* key given nftables syntax ("; flush ruleset",
#     quotes, braces, "#", newlines), NUL bytes (escaped and raw), invalid
#     UTF-8, 10 MB values; a key given twice; odd keys;
#   * container ids with "/", "..", spaces, quotes, shell and nft syntax;
#   * a bundle reached through a symlink (followed: the runtime gives it,
#     as runc stores --bundle unresolved and Podman's storage is often a
#     symlink to a bigger disk — the netns checks, not the path, protect the
#     host), a relative bundle, a config.json that is /dev/zero, a FIFO or a
#     directory;
#   * a netns path naming the runtime's own netns (directly, as
#     /proc/self/ns/net, through a symlink, as a runtime process's pid) or
#     pid 1's, or a file that is no netns;
#   * the plugin: a Join whose SandboxKey is the plugin's own netns or pid
#     1's, ids with "/" and "..".
# Each is refused with a clear, short error naming the thing; the sim-host's
# ruleset and the container netns's ruleset are byte-for-byte unchanged; no
# state record is left; the plugin goes on serving.  Then a container with a
# 10 MB foreign annotation (CRI-O's are big) still starts and is isolated
# (real packets).  Docker labels: the events thread's parser is covered at
# unit level with recorded Engine API replies (tests/unit/test_plugin_events.c:
# malformed, wrong types, NUL, huge values) — not here.
set -u
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"
require_root
require_cmd ip nft nsenter curl sha256sum mkfifo
require_hook
PLUGIN=$AZ_BUILD/alcatraz-plugin
T0=$(_t_now_ms)
topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
topo_add_ctr a 2 >/dev/null
_fakert_init a || { t_fail setup "fakert init"; exit 1; }
CNS=${AZ_CTR_NS[a]}
ID=$(fakert_id a) PID=${FAKERT_PID[a]} BUNDLE=$AZ_TMP/bundle-a
_fakert_write_config a

hook() { in_host timeout 20 "$AZ_HOOK" "$@"; }
rulesets() { { in_host nft -s list ruleset; ip netns exec "$CNS" nft -s list ruleset; } 2>&1 | sha256sum; }
state_clean() { [[ $(find "$ALCATRAZ_STATE_DIR" -name '*.json' 2>/dev/null | wc -l) == 0 ]]; }
BEFORE=$(rulesets)
NCASES=0

# expect_refused NAME PATTERN — createRuntime with $AZ_TMP/st.json on stdin:
# exit 1 within 20 s, an error matching PATTERN of at most 1000 bytes (a
# 10 MB value must not come back whole), both rulesets unchanged, no record.
expect_refused() {
	local name=$1 pat=$2 out rc t ms
	NCASES=$((NCASES + 1))
	t=$(_t_now_ms)
	hook createRuntime <"$AZ_TMP/st.json" >"$AZ_TMP/out" 2>&1
	rc=$?
	out=$(head -c 100000 "$AZ_TMP/out" | tr -d '\0')
	ms=$(($(_t_now_ms) - t))
	if ((rc != 1)); then
		t_fail "$name" "rc=$rc (expected 1) in $ms ms: ${out:0:300}"
	elif ! grep -qi -- "$pat" <<<"$out"; then
		t_fail "$name" "the error does not match /$pat/: ${out:0:300}"
	elif ((${#out} > 1000)); then
		t_fail "$name" "the error is ${#out} bytes long: ${out:0:200}…"
	elif [[ $(rulesets) != "$BEFORE" ]]; then
		t_fail "$name" "a ruleset changed: $(in_host nft list ruleset | head -c 300)"
	elif ! state_clean; then
		t_fail "$name" "a state record was left: $(find "$ALCATRAZ_STATE_DIR" -name '*.json')"
	else
		t_pass "$name: refused in $ms ms ($(tail -n 1 <<<"$out" | cut -c1-120))"
	fi
}

# state ANNOTATIONS-FILE [ID-JSON] [BUNDLE] [PID] — $AZ_TMP/st.json, the
# annotations object's inside taken raw (bytes as they are) from a file.
state() {
	local ann=$1 id=${2:-\"$ID\"} bundle=${3:-$BUNDLE} pid=${4:-$PID}
	{
		printf '{"ociVersion": "1.0.2", "id": %s, "status": "creating", "pid": %s, "bundle": "%s", "annotations": {' \
			"$id" "$pid" "$bundle"
		cat "$ann"
		printf '}}\n'
	} >"$AZ_TMP/st.json"
}
# ann_on — the plain "on" annotation, for cases about other fields.
printf '"alcatraz.network": "on"' >"$AZ_TMP/on.ann"

# ================================================================ annotation values
# Each value is the inside of a JSON string, raw (printf %s): \" and \n are
# JSON escapes, the bytes \xff etc. are written as bytes by printf %b below.
values=(
	'192.168.77.10:80; flush ruleset'
	'192.168.77.10:80 } ; flush ruleset ; {'
	'\"; flush ruleset; \"'
	"192.168.77.10:80'; flush ruleset; '"
	'192.168.77.10:80 # } flush ruleset'
	'192.168.77.10:80\nflush ruleset'
	'192.168.77.10:80\r\n\tadd rule inet alcatraz x accept'
	'$(reboot) `reboot` %s%n'
	'192.168.77.10:80\u0000 0.0.0.0/0'
	'\u00ff\ud800 192.168.77.10:80'
)
labels=(nft-semicolon nft-braces json-quotes single-quotes hash newline crlf-tab shell-printf
	escaped-NUL bad-unicode-escape)
keys=(alcatraz.network alcatraz.network.lan-access alcatraz.network.proxy alcatraz.network.dns
	alcatraz.network.proxy-udp)
ann_with() { # KEY — "on" unless KEY is the enable key, then KEY: value from stdin
	if [[ $1 != alcatraz.network ]]; then printf '"alcatraz.network": "on", '; fi
	printf '"%s": "' "$1"
	cat
	printf '"'
}
for k in "${keys[@]}"; do
	short=${k#alcatraz.network.}
	for i in "${!values[@]}"; do
		printf '%s' "${values[i]}" | ann_with "$k" >"$AZ_TMP/v.ann"
		state "$AZ_TMP/v.ann"
		expect_refused "$k = ${labels[i]}" "$short\|NUL\|not a JSON object"
	done
	# bytes that are not UTF-8, and a raw NUL, straight into the JSON
	printf '192.168.77.10:80 \xff\xfe \xc0\xaf \xed\xa0\x80' | ann_with "$k" >"$AZ_TMP/v.ann"
	state "$AZ_TMP/v.ann"
	expect_refused "$k = invalid UTF-8 bytes" "$short\|UTF-8"
	printf '192.168.77.10:80\0; flush ruleset' | ann_with "$k" >"$AZ_TMP/v.ann"
	state "$AZ_TMP/v.ann"
	expect_refused "$k = raw NUL byte" "NUL"
	# a raw newline inside a JSON string (cJSON takes it; the value parser not)
	printf '192.168.77.10:80\nflush ruleset' | ann_with "$k" >"$AZ_TMP/v.ann"
	state "$AZ_TMP/v.ann"
	expect_refused "$k = raw newline" "$short\|not a JSON object"
done

# 10 MB values: of junk, and of valid-looking entries (no sane setting has
# 600 000 of them: refused, not rendered into a 10 MB ruleset)
for k in alcatraz.network.lan-access alcatraz.network.dns alcatraz.network.proxy; do
	head -c 10000000 /dev/zero | tr '\0' 'a' | ann_with "$k" >"$AZ_TMP/v.ann"
	state "$AZ_TMP/v.ann"
	expect_refused "$k = 10 MB of 'a'" "${k#alcatraz.network.}: value longer"
done
yes '192.168.77.10:80' | head -c 10000000 | tr '\n' ' ' | ann_with alcatraz.network.lan-access >"$AZ_TMP/v.ann"
state "$AZ_TMP/v.ann"
expect_refused "lan-access = 10 MB of valid entries (588 235 of them)" "lan-access"
head -c 17000000 /dev/zero | tr '\0' 'a' | ann_with io.example.big >"$AZ_TMP/v.ann"
state "$AZ_TMP/v.ann"
expect_refused "a state of 17 MB (over the hook's stdin limit)" "stdin\|too\|large\|limit"

# keys: given twice (JSON parsers disagree on which wins: refuse), odd ones
printf '"alcatraz.network": "on", "alcatraz.network.lan-access": "192.168.77.10:80", "alcatraz.network.lan-access": "0.0.0.0/0"' >"$AZ_TMP/v.ann"
state "$AZ_TMP/v.ann"
expect_refused "lan-access given twice" "twice"
printf '"alcatraz.network": "on", "alcatraz.network": "off"' >"$AZ_TMP/v.ann"
state "$AZ_TMP/v.ann"
expect_refused "alcatraz.network given twice (on, then off)" "twice"
for key in 'alcatraz.network.lan-access; flush ruleset' 'alcatraz.network.\u0000' \
	'alcatraz.network.lan-access\n' 'alcatraz.network.LAN-ACCESS'; do
	printf '"alcatraz.network": "on", "%s": "192.168.77.10:80"' "$key" >"$AZ_TMP/v.ann"
	state "$AZ_TMP/v.ann"
	expect_refused "unknown key of ours: $key" "alcatraz\.network\|NUL"
done
printf '"alcatraz.network": ["on"]' >"$AZ_TMP/v.ann"
state "$AZ_TMP/v.ann"
# (not a string: not a setting at all — then no isolation was asked for,
# and nothing may be applied; exit 0 is the runtime's business)
out=$(hook createRuntime <"$AZ_TMP/st.json" 2>&1)
rc=$?
NCASES=$((NCASES + 1))
if [[ $(rulesets) == "$BEFORE" ]] && state_clean; then
	t_pass "alcatraz.network as an array: nothing applied (rc=$rc${out:+, ${out:0:100}})"
else
	t_fail "alcatraz.network as an array" "something was applied (rc=$rc)"
fi

# ================================================================ container ids
ids=('"a/b"' '"../../etc"' '".."' '"."' '"-rf"' '"a b"' '"a;flush ruleset"' '"a\"b"' '"a\nb"'
	'"a\u0000b"' '"\u00e9t\u00e9"' '"a}b{"' "\"$(printf 'x%.0s' {1..129})\"" '""' '123' 'null'
	'["a"]')
for id in "${ids[@]}"; do
	state "$AZ_TMP/on.ann" "$id"
	expect_refused "container id ${id:0:40}" "valid container id\|NUL"
done
printf '{"ociVersion": "1.0.2", "id": "a\xffb", "status": "creating", "pid": %s, "bundle": "%s", "annotations": {"alcatraz.network": "on"}}' \
	"$PID" "$BUNDLE" >"$AZ_TMP/st.json"
expect_refused "container id with invalid UTF-8" "valid container id"

# ================================================================ bundle
state "$AZ_TMP/on.ann" "\"$ID\"" "bundle-a"
expect_refused "relative bundle path" "absolute"
state "$AZ_TMP/on.ann" "\"$ID\"" "$AZ_TMP/no-such-bundle"
expect_refused "bundle that does not exist" "config.json"
mkdir -p "$AZ_TMP/odd"
ln -s /dev/zero "$AZ_TMP/odd/config.json"
state "$AZ_TMP/on.ann" "\"$ID\"" "$AZ_TMP/odd"
expect_refused "config.json is /dev/zero (endless)" "config.json"
rm -f "$AZ_TMP/odd/config.json" && mkdir "$AZ_TMP/odd/config.json"
expect_refused "config.json is a directory" "config.json"
rmdir "$AZ_TMP/odd/config.json" && mkfifo "$AZ_TMP/odd/config.json"
expect_refused "config.json is a FIFO nobody writes (must not hang)" "config.json"
rm -f "$AZ_TMP/odd/config.json"

# A bundle through a symlink: followed — the container starts isolated and
# poststop cleans; checked with packets below (case "symlinked bundle").

# ================================================================ netns
# (no pid in these states: a runtime that gives only the path; with a pid,
# the pid and the path must agree — tests/integration/33.)
netns_case() { # NAME PATTERN PATH [PID]
	local name=$1 pat=$2 path=$3 pid=${4:-0}
	_fakert_write_config a
	sed -i "s|\"/run/netns/$CNS\"|\"$path\"|" "$BUNDLE/config.json"
	grep -qF "\"$path\"" "$BUNDLE/config.json" || { t_fail "$name" "could not write the path"; return; }
	state "$AZ_TMP/on.ann" "\"$ID\"" "$BUNDLE" "$pid"
	expect_refused "$name" "$pat"
}
ln -s "/run/netns/$AZ_NS_HOST" "$AZ_TMP/netns-link"
in_host_bg sleep 300
RT_PID=$BG_PID
wait_for 5 _fakert_in_netns "$RT_PID" "$AZ_NS_HOST"
netns_case "netns path = the runtime's netns (/run/netns of the sim-host)" "runtime's own" "/run/netns/$AZ_NS_HOST"
netns_case "netns path = /proc/self/ns/net" "runtime's own" /proc/self/ns/net
netns_case "netns path = a symlink to the runtime's netns" "runtime's own" "$AZ_TMP/netns-link"
netns_case "netns path = /proc/PID/ns/net of a runtime process" "runtime's own" "/proc/$RT_PID/ns/net"
# (this sandbox denies even root a stat of /proc/1/ns/net: refused either way)
netns_case "netns path = /proc/1/ns/net" "host's\|pid 1\|/proc/1/ns/net: Permission denied" /proc/1/ns/net
netns_case "netns path = /proc/1/ns/net, state pid 1" "host's\|pid 1\|runtime's own\|/proc/1/ns/net: Permission denied" /proc/1/ns/net 1
netns_case "netns path = the runtime's, state pid = a runtime process" "runtime's own" \
	"/run/netns/$AZ_NS_HOST" "$RT_PID"
netns_case "netns path = a file that is no netns" "namespace\|setns\|invalid" "$BUNDLE/config.json"
netns_case "netns path = /proc/PID/ns/mnt (another kind)" "namespace\|setns\|invalid" "/proc/$PID/ns/mnt"
netns_case "netns path that does not exist" "network namespace" "/run/netns/$AZ_RUN-nope"
_fakert_write_config a
sed -i 's|, "path": "/run/netns/[^"]*"||' "$BUNDLE/config.json"
state "$AZ_TMP/on.ann" "\"$ID\"" "$BUNDLE" "$RT_PID"
expect_refused "no netns path, state pid = a runtime process" "runtime's own"
_fakert_write_config a

t_check "after $NCASES hostile hook inputs: both rulesets byte-for-byte as before" \
	test "$(rulesets)" = "$BEFORE"

# ================================================================ the good path still works
topo_start_servers 80 >/dev/null || t_fail servers "topo_start_servers failed"
# a symlinked bundle with a 10 MB foreign annotation: starts, isolated
ln -s "$BUNDLE" "$AZ_TMP/bundle-link"
{
	printf '"alcatraz.network": "on", "io.example.big": "'
	head -c 10000000 /dev/zero | tr '\0' 'x'
	printf '"'
} >"$AZ_TMP/v.ann"
state "$AZ_TMP/v.ann" "\"$ID\"" "$AZ_TMP/bundle-link"
t=$(_t_now_ms)
if out=$(hook createRuntime <"$AZ_TMP/st.json" 2>&1); then
	t_pass "symlinked bundle and a 10 MB foreign annotation: the hook applies ($(($(_t_now_ms) - t)) ms)"
else
	t_fail "symlinked bundle + 10 MB foreign annotation" "rc≠0: ${out:0:300}"
fi
FAKERT_ANN_LAST=(alcatraz.network=on)
t_cleanup_push "fakert_stop_quiet a"
expect_reachable "after all that: the container reaches the internet" a tcp "$AZ_WAN4" 80
expect_refused_fast "after all that: the container's LAN is refused" a tcp "$AZ_LAN4" 80
printf '{"ociVersion": "1.0.2", "id": "%s", "status": "stopped", "bundle": "%s", "annotations": {"alcatraz.network": "on"}}' \
	"$ID" "$AZ_TMP/bundle-link" | in_host "$AZ_HOOK" poststop
if state_clean && [[ $(host_elements_of "$ID") == 0 ]]; then
	t_pass "poststop through the symlinked bundle: no record, no element left"
else
	t_fail "poststop (symlinked bundle)" "left: $(find "$ALCATRAZ_STATE_DIR" -name '*.json' | wc -l) record(s), $(host_elements_of "$ID") element(s)"
fi

t_log "hook: $NCASES hostile inputs in $(($(_t_now_ms) - T0)) ms"

# ================================================================ the plugin
# A Join's SandboxKey names the netns where the endpoint's second layer
# goes (plugin/sandbox.c): the plugin's own netns or pid 1's must never get
# it — there the container's table would filter the host.
SOCK=$AZ_TMP/plugin.sock PLOG=$AZ_TMP/plugin.log
export ALCATRAZ_STATE_DIR=$AZ_TMP/pl-rules
in_host_bg "$PLUGIN" --socket "$SOCK" --state-dir "$AZ_TMP/pstate" --no-labels </dev/null >>"$PLOG" 2>&1
PL_PID=$BG_PID
call() {
	curl -s --max-time 10 --unix-socket "$SOCK" -X POST "http://plugin/$1" --data-binary "$2"
}
answers() { call Plugin.Activate '' | grep -q NetworkDriver; }
wait_for 20 answers || { t_fail "plugin starts" "$(tail -n 3 "$PLOG")"; exit 1; }
id_of() { printf '%s' "$AZ_RUN-$1" | sha256sum | cut -c1-64; }
NID=$(id_of net)
no_ns_table() { ! in_host nft list chain inet alcatraz output >/dev/null 2>&1; }
pl_refused() { # NAME PATH BODY
	local reply
	NCASES=$((NCASES + 1))
	reply=$(call "$2" "$3")
	if grep -q '"Err"' <<<"$reply" && answers; then
		t_pass "plugin: $1: refused (${reply:0:110}), still serving"
	else
		t_fail "plugin: $1" "reply ${reply:0:200}"
	fi
}
call NetworkDriver.CreateNetwork "$(printf '{"NetworkID":"%s","Options":{"com.docker.network.generic":{"alcatraz.network":"on"}},"IPv4Data":[{"AddressSpace":"LocalDefault","Gateway":"10.124.0.1/24","Pool":"10.124.0.0/24"}],"IPv6Data":[]}' "$NID")" >/dev/null
t_cleanup_push "call NetworkDriver.DeleteNetwork '{\"NetworkID\":\"$NID\"}' >/dev/null"
# a harmless endpoint joined first, and through all the hostile calls, so
# that the host's tables and sets are there as the hostile calls find them
EID=$(id_of ep0)
call NetworkDriver.CreateEndpoint "{\"NetworkID\":\"$NID\",\"EndpointID\":\"$EID\",\"Interface\":{\"Address\":\"10.124.0.8/24\"},\"Options\":{}}" >/dev/null
call NetworkDriver.Join "{\"NetworkID\":\"$NID\",\"EndpointID\":\"$EID\",\"SandboxKey\":\"/run/$AZ_RUN/none\",\"Options\":{}}" >/dev/null
EID0=$EID
in_host nft -s list ruleset >"$AZ_TMP/pl-before.nft"
for bad in '../../../etc' 'a/b' "$NID/.." "${NID:0:60}\\u0000abc" "${NID:0:63}; flush ruleset"; do
	pl_refused "EndpointID \"${bad:0:70}\"" NetworkDriver.CreateEndpoint \
		"{\"NetworkID\":\"$NID\",\"EndpointID\":\"$bad\",\"Interface\":{\"Address\":\"10.124.0.9/24\"},\"Options\":{}}"
done
i=0
for key in "/run/netns/$AZ_NS_HOST" "$AZ_TMP/netns-link" /proc/self/ns/net "/proc/$RT_PID/ns/net" \
	"/proc/$PL_PID/ns/net" /proc/1/ns/net "/run/netns/../netns/$AZ_NS_HOST" "/run/netns/$AZ_NS_HOST; flush ruleset"; do
	i=$((i + 1))
	EID=$(id_of "ep$i")
	call NetworkDriver.CreateEndpoint "{\"NetworkID\":\"$NID\",\"EndpointID\":\"$EID\",\"Interface\":{\"Address\":\"10.124.0.$((i + 10))/24\"},\"Options\":{}}" >/dev/null
	NCASES=$((NCASES + 1))
	reply=$(call NetworkDriver.Join "{\"NetworkID\":\"$NID\",\"EndpointID\":\"$EID\",\"SandboxKey\":\"$key\",\"Options\":{}}")
	# the netns thread polls every 20 ms while it waits for a path
	sleep 1
	if no_ns_table && answers; then
		t_pass "plugin: Join with SandboxKey $key: no container table in the host netns (${reply:0:100}), still serving"
	else
		t_fail "plugin: Join with SandboxKey $key" "the container's table went into the host netns: $(in_host nft list chain inet alcatraz output 2>&1 | head -c 300)"
		in_host nft delete chain inet alcatraz output 2>/dev/null
	fi
	call NetworkDriver.Leave "{\"NetworkID\":\"$NID\",\"EndpointID\":\"$EID\"}" >/dev/null
	call NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"$NID\",\"EndpointID\":\"$EID\"}" >/dev/null
done
in_host nft -s list ruleset >"$AZ_TMP/pl-after.nft"
call NetworkDriver.Leave "{\"NetworkID\":\"$NID\",\"EndpointID\":\"$EID0\"}" >/dev/null
call NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"$NID\",\"EndpointID\":\"$EID0\"}" >/dev/null
if cmp -s "$AZ_TMP/pl-before.nft" "$AZ_TMP/pl-after.nft"; then
	t_pass "plugin: after every hostile call (each endpoint left), the host ruleset is byte-for-byte as before"
else
	t_fail "plugin: host ruleset" "changed: $(diff "$AZ_TMP/pl-before.nft" "$AZ_TMP/pl-after.nft" | head -c 600)"
	t_log "plugin log: $(tail -n 20 "$PLOG")"
fi
t_check "plugin: still running" kill -0 "$PL_PID"
t_log "$NCASES hostile cases in all, $(($(_t_now_ms) - T0)) ms"
