#!/usr/bin/env bash
# The hook's contract with the runtime: stages, exit codes, fail closed, and
# refusing a state or config.json that points the rules at the wrong place.
source "$(dirname "$0")/../lib/fakert.sh"
require_root
topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
topo_add_ctr a 2 >/dev/null
_fakert_init a || { t_fail setup "fakert init"; exit 1; }

hook() { in_host "$AZ_HOOK" "$@"; }
ruleset() { in_host nft list ruleset 2>/dev/null | md5sum; }
state_clean() { [[ $(find "$ALCATRAZ_STATE_DIR" -name '*.json' 2>/dev/null | wc -l) == 0 ]]; }

# expect_refused NAME PATTERN — run createRuntime on the current bundle/state
# (in $AZ_TMP/st.json) and expect exit 1, PATTERN on stderr, nothing applied.
expect_refused() {
	local name=$1 pat=$2 before out rc
	before=$(ruleset)
	out=$(hook createRuntime <"$AZ_TMP/st.json" 2>&1)
	rc=$?
	if ((rc == 1)) && grep -qi -- "$pat" <<<"$out" && [[ $(ruleset) == "$before" ]] && state_clean; then
		t_pass "$name: refused ($(tail -1 <<<"$out" | cut -c1-110))"
	else
		t_fail "$name" "rc=$rc, stderr: $out"
	fi
}

# --- a config.json naming the runtime's own netns ---------------------------
_fakert_write_config a
sed -i "s|/run/netns/${AZ_CTR_NS[a]}|/run/netns/$AZ_NS_HOST|" "$AZ_TMP/bundle-a/config.json"
_fakert_state a creating 0 alcatraz.network=on >"$AZ_TMP/st.json"
expect_refused "config.json pointing at the runtime's netns" "runtime's own"

# --- the same, but with the (real) pid: the pid and the path disagree ---------
_fakert_state a creating 1 alcatraz.network=on >"$AZ_TMP/st.json"
expect_refused "pid and config.json disagree" "not in the network namespace"

# --- a state pid of 1 (the host's init) and no path ---------------------------
_fakert_write_config a
sed -i 's|, "path": "/run/netns/[^"]*"||' "$AZ_TMP/bundle-a/config.json"
sed 's/"pid": [0-9]*/"pid": 1/' <(_fakert_state a creating 1 alcatraz.network=on) >"$AZ_TMP/st.json"
# (stat of /proc/1/ns/net may itself be denied in a sandbox: refused either way)
expect_refused "state pid 1" "host's\|runtime's own\|/proc/1/ns/net"

# --- no network namespace in config.json: --network host --------------------
_fakert_write_config a
perl -0pi -e 's/,\s*\{"type": "network"[^}]*\}//' "$AZ_TMP/bundle-a/config.json"
if grep -q '"network"' "$AZ_TMP/bundle-a/config.json"; then
	t_fail "host network" "could not remove the network namespace from the test config"
else
	_fakert_state a creating 1 alcatraz.network=on >"$AZ_TMP/st.json"
	expect_refused "no network namespace (--network host)" "host's network"
fi

# --- the bundle's config.json is missing or not JSON ---------------------------
_fakert_write_config a
mv "$AZ_TMP/bundle-a/config.json" "$AZ_TMP/config.json.saved"
_fakert_state a creating 1 alcatraz.network=on >"$AZ_TMP/st.json"
expect_refused "missing config.json" "config.json"
echo '{"linux": ' >"$AZ_TMP/bundle-a/config.json"
expect_refused "config.json not JSON" "not a JSON object"
mv "$AZ_TMP/config.json.saved" "$AZ_TMP/bundle-a/config.json"

# --- garbage on stdin ------------------------------------------------------
echo 'not json at all' >"$AZ_TMP/st.json"
expect_refused "state not JSON at createRuntime" "not a JSON object"
echo '{"id": "../../etc", "bundle": "/x", "pid": 5}' >"$AZ_TMP/st.json"
expect_refused "a container id with ../" "valid container id"
if echo 'not json' | hook poststop 2>/dev/null; then
	t_pass "state not JSON at poststop: exit 0 (poststop never fails the runtime)"
else
	t_fail "poststop garbage" "non-zero exit"
fi

# --- stages ----------------------------------------------------------------
_fakert_write_config a
_fakert_state a creating 1 alcatraz.network=on >"$AZ_TMP/st.json"
before=$(ruleset)
for st in createContainer startContainer poststart; do
	hook "$st" <"$AZ_TMP/st.json" 2>/dev/null || { t_fail "stage $st" "non-zero exit"; continue; }
done
[[ $(ruleset) == "$before" ]] && state_clean && t_pass "other stages: exit 0, nothing applied"
if hook >/dev/null 2>&1; then t_fail usage "no stage: exit 0"; else t_pass "no stage: usage error"; fi
if _fakert_state a stopped 0 alcatraz.network=on | hook poststop; then
	t_pass "poststop of a container never attached: exit 0"
else
	t_fail "poststop unknown" "non-zero exit"
fi

# --- a container without the annotation: nothing at all ------------------------
_fakert_state a creating 1 io.example=1 >"$AZ_TMP/st.json"
before=$(ruleset)
if hook createRuntime <"$AZ_TMP/st.json" && [[ $(ruleset) == "$before" ]] && state_clean; then
	t_pass "no alcatraz annotation: exit 0, ruleset unchanged, no record"
else
	t_fail "no annotation" "something was applied"
fi

# --- a netns with only lo (--network none): success -------------------------
ip netns add "${AZ_RUN}-none" && t_cleanup_push "ip netns del '${AZ_RUN}-none' 2>/dev/null"
ip -n "${AZ_RUN}-none" link set lo up
ip netns exec "${AZ_RUN}-none" sleep 300 &
az_pid_track $!
npid=$!
wait_for 5 _fakert_in_netns "$npid" "${AZ_RUN}-none"
# (without CAP_NET_RAW: with it and no host-side port the hook refuses)
sed -e "s|/run/netns/${AZ_CTR_NS[a]}|/run/netns/${AZ_RUN}-none|" -e 's/, "CAP_NET_RAW"//g' \
	"$AZ_TMP/bundle-a/config.json" >"$AZ_TMP/cfg" &&
	mv "$AZ_TMP/cfg" "$AZ_TMP/bundle-a/config.json"
sed "s/\"pid\": [0-9]*/\"pid\": $npid/" <(_fakert_state a creating 1 alcatraz.network=on) >"$AZ_TMP/st.json"
if hook createRuntime <"$AZ_TMP/st.json" 2>"$AZ_TMP/none.err" &&
	ip netns exec "${AZ_RUN}-none" nft list table inet alcatraz >/dev/null 2>&1; then
	t_pass "only lo (--network none): starts; the in-netns table is there for interfaces added later"
else
	t_fail "only lo" "$(cat "$AZ_TMP/none.err")"
fi
_fakert_state a stopped 0 alcatraz.network=on | hook poststop
state_clean && t_pass "only lo: poststop removes the record" || t_fail "only lo" "record left"
