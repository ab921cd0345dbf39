#!/usr/bin/env bash
# 51-plugin-http — alcatraz-plugin itself, without dockerd: started in the
# sim-host netns on a socket of this test, driven over HTTP with the calls
# dockerd makes (bodies shaped like docs/docker-notes.md's) and with hostile
# ones: malformed JSON, wrong types, nftables syntax in an option, a NUL
# byte, invalid UTF-8, a body over the limit, an unknown call.  Each hostile
# call gets an {"Err":…} reply, the ruleset stays byte-for-byte the same,
# and the plugin goes on serving.  Then the network's whole life (create,
# endpoint, join, leave, delete) and a clean stop on SIGTERM: exit status 0.
# Under tests/asan/run.sh this is where LeakSanitizer watches the plugin.
set -u
# shellcheck source=../lib/probe.sh
source "$(dirname "$0")/../lib/probe.sh"

require_root
require_cmd ip nft nsenter curl sha256sum
PLUGIN=$AZ_BUILD/alcatraz-plugin
if [[ ! -x $PLUGIN ]]; then
	t_fail setup "$PLUGIN is not built (run make)"
	exit 1
fi
topo_up || exit 1

SOCK=$AZ_TMP/plugin.sock PSTATE=$AZ_TMP/pstate PLOG=$AZ_TMP/plugin.log
export ALCATRAZ_CONFIG=$AZ_TMP/none.json ALCATRAZ_STATE_DIR=$AZ_TMP/state
id_of() { printf '%s' "$AZ_RUN-$1" | sha256sum | cut -c1-64; }
NID=$(id_of net) EID=$(id_of ep)
BR=az${NID:0:12}

nsenter --net="/run/netns/$AZ_NS_HOST" "$PLUGIN" --socket "$SOCK" --state-dir "$PSTATE" \
	--no-labels </dev/null >>"$PLOG" 2>&1 &
PL_PID=$!
t_cleanup_push 'az_pid_stop "$PL_PID"'

# call PATH BODY — the reply on stdout; the HTTP status in $AZ_TMP/status.
# BODY "-": the body is on stdin (a NUL byte cannot be in a variable).
call() {
	if [[ $2 == - ]]; then
		curl -s --max-time 10 --unix-socket "$SOCK" -o - -w '%{stderr}%{http_code}' \
			-X POST "http://plugin/$1" --data-binary @- 2>"$AZ_TMP/status"
	else
		call "$1" - <<<"$2"
	fi
}
answers() { call Plugin.Activate '' | grep -q NetworkDriver; }
if ! wait_for 20 answers; then
	t_fail "plugin starts" "no answer on $SOCK"
	tail -n 5 "$PLOG" | sed 's/^/    | /'
	exit 1
fi
t_pass "plugin starts and answers Plugin.Activate"

ruleset() { host_ruleset; }
before=$(ruleset)

# refused NAME PATH BODY — an error reply, and the plugin still answers.
refused() {
	local name=$1 reply
	reply=$(call "$2" "${3:--}")
	if grep -q '"Err"' <<<"$reply"; then
		t_pass "refused: $name (${reply:0:100})"
	else
		t_fail "refused: $name" "reply ${reply:0:200}"
	fi
	t_check "still serving after: $name" answers
}
NET_OK=$(printf '{"NetworkID":"%s","Options":{"com.docker.network.enable_ipv6":false,"com.docker.network.generic":{"alcatraz.network":"on","alcatraz.network.lan-access":"192.168.77.10:8080"}},"IPv4Data":[{"AddressSpace":"LocalDefault","Gateway":"10.123.0.1/24","Pool":"10.123.0.0/24"}],"IPv6Data":[]}' "$NID")
refused "malformed JSON" NetworkDriver.CreateNetwork '{"NetworkID":'
refused "wrong type" NetworkDriver.CreateNetwork "{\"NetworkID\":123}"
refused "not an id" NetworkDriver.CreateNetwork "${NET_OK//$NID/..\/..\/etc}"
refused "nftables syntax in an option" NetworkDriver.CreateNetwork \
	"${NET_OK//192.168.77.10:8080/192.168.77.10; flush ruleset}"
refused "quotes and braces in an option" NetworkDriver.CreateNetwork \
	"${NET_OK//192.168.77.10:8080/\\\"\} \{ accept}"
refused "newline in an option" NetworkDriver.CreateNetwork "${NET_OK//192.168.77.10:8080/10.0.0.1\\n10.0.0.2; drop}"
refused "NUL byte" NetworkDriver.CreateNetwork - < <(printf '{"NetworkID":"%s",\0"x":1}' "$NID")
refused "escaped NUL in an option" NetworkDriver.CreateNetwork "${NET_OK//192.168.77.10:8080/192.168.77.10:8080\\u0000 *}"
refused "invalid UTF-8" NetworkDriver.CreateNetwork "${NET_OK//192.168.77.10:8080/$'\xc3\x28'}"
refused "unknown option key" NetworkDriver.CreateNetwork "${NET_OK//alcatraz.network.lan-access/alcatraz.network.lan_access}"
refused "endpoint of an unknown network" NetworkDriver.CreateEndpoint \
	"{\"NetworkID\":\"$NID\",\"EndpointID\":\"$EID\",\"Interface\":{\"Address\":\"10.123.0.2/24\"}}"
big=$(head -c 2000000 /dev/zero | tr '\0' ' ')
refused "body over the limit (2 MB)" NetworkDriver.CreateNetwork "{\"x\":\"$big\"}"
reply=$(call NetworkDriver.NoSuchCall '{}')
if [[ $(cat "$AZ_TMP/status") == 404 ]] && grep -q '"Err"' <<<"$reply"; then
	t_pass "an unknown call is 404 with an error"
else
	t_fail "an unknown call is 404 with an error" "status $(cat "$AZ_TMP/status"), reply $reply"
fi
if [[ $(ruleset) == "$before" ]]; then
	t_pass "hostile calls left the ruleset byte-for-byte unchanged"
else
	t_fail "hostile calls left the ruleset byte-for-byte unchanged" "it changed"
	diff <(echo "$before") <(ruleset) | head -n 10 | sed 's/^/    | /'
fi

# The life of a network, as dockerd calls it.
ok() {
	local name=$1 reply
	reply=$(call "$2" "$3")
	if [[ $(cat "$AZ_TMP/status") == 200 ]] && ! grep -q '"Err"' <<<"$reply"; then
		t_pass "$name"
	else
		t_fail "$name" "status $(cat "$AZ_TMP/status"), reply ${reply:0:200}"
	fi
}
IDS="{\"NetworkID\":\"$NID\",\"EndpointID\":\"$EID\"}"
ok "CreateNetwork" NetworkDriver.CreateNetwork "$NET_OK"
t_check "the bridge $BR exists" in_host ip link show "$BR"
ok "CreateEndpoint" NetworkDriver.CreateEndpoint \
	"{\"NetworkID\":\"$NID\",\"EndpointID\":\"$EID\",\"Interface\":{\"Address\":\"10.123.0.2/24\",\"AddressIPv6\":\"\",\"MacAddress\":\"\"},\"Options\":{}}"
ok "Join" NetworkDriver.Join \
	"{\"NetworkID\":\"$NID\",\"EndpointID\":\"$EID\",\"SandboxKey\":\"/run/$AZ_RUN/netns/x\",\"Options\":{}}"
host_if=azh${EID:0:11}
if ruleset | grep -qF "$host_if"; then
	t_pass "Join applied rules for $host_if"
else
	t_fail "Join applied rules for $host_if" "no element names it"
fi
ok "ProgramExternalConnectivity" NetworkDriver.ProgramExternalConnectivity "$IDS"
ok "RevokeExternalConnectivity" NetworkDriver.RevokeExternalConnectivity "$IDS"
ok "Leave" NetworkDriver.Leave "$IDS"
ok "DeleteEndpoint" NetworkDriver.DeleteEndpoint "$IDS"
ok "DeleteNetwork" NetworkDriver.DeleteNetwork "{\"NetworkID\":\"$NID\"}"
t_check_not "the bridge $BR is gone" in_host ip link show "$BR"
if ruleset | grep -qF "$host_if"; then
	t_fail "no rule names $host_if after Leave" "some still do"
else
	t_pass "no rule names $host_if after Leave"
fi

# A clean stop: SIGTERM ends the serving loop and main returns (under ASan
# that is when LeakSanitizer looks).
kill -TERM "$PL_PID"
rc=0
for ((i = 0; i < 200; i++)); do kill -0 "$PL_PID" 2>/dev/null || break; sleep 0.05; done
wait "$PL_PID" || rc=$?
if ((rc == 0)); then
	t_pass "the plugin stops on SIGTERM with status 0"
else
	t_fail "the plugin stops on SIGTERM with status 0" "status $rc"
	tail -n 5 "$PLOG" | sed 's/^/    | /'
fi
dump_on_failure
