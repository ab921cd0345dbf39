#!/usr/bin/env bash
# The bench works (issue 4): `tests/bench/run.sh --smoke` — tiny N, a few
# runs — must finish, write a well-formed results.json (every key of the
# issue, a positive number for every N it measured) and a plot, and leave
# nothing behind.  Never a judgement on a timing: targets are the full
# bench's business (`make bench`).
source "$(dirname "$0")/../lib/topo.sh"
require_root
require_cmd hyperfine iperf3 jq strace nsenter taskset

crun=az$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-5)
t_cleanup_push "_topo_sweep $crun; rm -rf /tmp/$crun.*"
out=$AZ_TMP/bench
rc=0
env -u ALCATRAZ_STATE_DIR -u ALCATRAZ_CONFIG AZ_RUN_NEXT="$crun" \
	timeout -k 20 "${AZ_BENCH_SMOKE_TIMEOUT:-300}" "$AZ_ROOT/tests/bench/run.sh" --smoke --out "$out" \
	>"$AZ_TMP/bench.log" 2>&1 || rc=$?
if ((rc == 0)); then
	t_pass "bench smoke: run.sh --smoke finished ($(grep -o 'done in [0-9]* s' "$AZ_TMP/bench.log"))"
else
	t_fail "bench smoke" "run.sh --smoke exited $rc"
	tail -n 15 "$AZ_TMP/bench.log" | sed 's/^/    | /'
fi

# Every problem of results.json, one per line; nothing when well-formed.
problems=$(jq -r '
	def num: type == "number" and . > 0;
	def permap($name; $m):
		if ($m | type) != "object" then "\($name) is not an object"
		else (.detail.sizes[] | tostring) as $n
		| if ($m | has($n) | not) then "\($name) has no key \"\($n)\""
		  elif ($m[$n] | num | not) then
			"\($name)[\"\($n)\"] = \($m[$n] | tojson), not a positive number"
			+ (if .detail.control.errors[$n] then " (" + .detail.control.errors[$n] + ")" else "" end)
		  else empty end
		end;
	if (.detail.sizes | type) != "array" or (.detail.sizes | length) < 2 then "detail.sizes missing"
	else
		permap("control.apply_p50_ms"; .control.apply_p50_ms),
		permap("control.apply_p99_ms"; .control.apply_p99_ms),
		permap("control.remove_p50_ms"; .control.remove_p50_ms),
		permap("data.pps"; .data.pps),
		permap("data.cps"; .data.cps),
		permap("anchor.control_apply_p50_ms"; .anchor.control_apply_p50_ms),
		permap("anchor.data_pps"; .anchor.data_pps),
		(if .detail.podman_start.skipped != null then empty
		 elif (.podman_start.with_hook_ms | num) and (.podman_start.without_ms | num) then empty
		 else "podman_start = \(.podman_start | tojson), not measured and not marked skipped" end),
		(if (.detail.targets | type) == "object" and (.detail.targets | length) == 6
		    and ([.detail.targets[].met] | all(. == true or . == false or . == null))
		 then empty else "detail.targets malformed" end)
	end' "$out/results.json" 2>&1) || problems="results.json unreadable: ${problems:-no file}"
if [[ -z $problems ]]; then
	t_pass "bench smoke: results.json well-formed ($(jq -c '.control.apply_p50_ms' "$out/results.json") ms apply p50, sizes $(jq -c .detail.sizes "$out/results.json"))"
else
	t_fail "bench smoke: results.json" "$(head -n1 <<<"$problems")"
	sed 's/^/    | /' <<<"$problems" | head -n 12
fi
if grep -q "podman start not measured" "$out/table.txt" 2>/dev/null; then
	t_skip "bench smoke: podman start" "$(grep -o 'podman start not measured: .*' "$out/table.txt" | head -n1)"
fi

if ! command -v gnuplot >/dev/null 2>&1; then
	t_skip "bench smoke: plot" "gnuplot not installed (apt-get install gnuplot-nox)"
elif [[ $(head -c 8 "$out/plot.png" 2>/dev/null | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]]; then
	t_pass "bench smoke: plot.png written"
else
	t_fail "bench smoke: plot" "no PNG at $out/plot.png"
fi

left=$(ip netns list 2>/dev/null | awk -v p="$crun-" 'index($1, p) == 1 {print $1}' | head -n 3)
if [[ -z $left ]] && ! compgen -G "/tmp/$crun.*" >/dev/null; then
	t_pass "bench smoke: nothing left behind (netns, temp dirs of run $crun)"
else
	t_fail "bench smoke: leftovers" "${left//$'\n'/ } $(compgen -G "/tmp/$crun.*" | head -n 3 | tr '\n' ' ')"
fi
