#!/usr/bin/env bash
# Point 6: refusals are counted and logged, rate-limited, tagged with the
# container.  The kernel writes netfilter log lines from network namespaces
# other than the initial one only with net.netfilter.nf_log_all_netns=1; this
# test sets it for its own run and puts the old value back.
source "$(dirname "$0")/../lib/fakert.sh"
require_root
if ! dmesg >/dev/null 2>&1; then
	t_skip logging "the kernel log cannot be read here (dmesg)"
	exit 0
fi
knob=/proc/sys/net/netfilter/nf_log_all_netns
old=$(cat "$knob" 2>/dev/null) || { t_skip logging "no $knob"; exit 0; }
echo 1 >"$knob" || { t_skip logging "cannot set $knob"; exit 0; }
t_cleanup_push "echo '$old' > '$knob'"

topo_up >/dev/null || { t_fail topology "topo_up failed"; exit 1; }
topo_add_ctr a 2 >/dev/null
P=$(azprobe_bin)
fakert_create a alcatraz.network=on || { t_fail apply "$FAKERT_ERR"; exit 1; }
sid=$(fakert_id a | cut -c1-12)

mark="azlogtest-$AZ_RUN"
echo "$mark" >/dev/kmsg 2>/dev/null || true
since() { dmesg | sed -n "/$mark/,\$p"; }

topo_exec_ctr a "$P" tcp "$AZ_LAN4" 8080 --timeout 1000 >/dev/null
if wait_for 3 bash -c "dmesg | sed -n '/$mark/,\$p' | grep -q 'alcatraz $sid refused: .*DST=$AZ_LAN4'"; then
	t_pass "a refused connection is logged, tagged with the container ($(since | grep -m1 "alcatraz $sid" | grep -o 'alcatraz [0-9a-f]* refused: .*DST=[0-9.]*' | cut -c1-80))"
else
	t_fail "log line" "no 'alcatraz $sid refused' line for $AZ_LAN4 in the kernel log"
fi

# 200 refused datagrams in a burst: the kernel limit (10/s, burst 20) keeps
# the log short while the counter sees every one.  The bound allows for the
# time the burst took (200 probe processes take seconds in the ASan build).
before=$(since | grep -c "alcatraz $sid refused")
t0=$(_t_now_ms)
# one process sending 200 datagrams (azprobe's UDP mode sends one each)
ip netns exec "$(topo_ns ctr:a)" bash -c "for ((i = 0; i < 200; i++)); do '$P' udp '$AZ_LAN4' \$((20000 + i)) --timeout 20 >/dev/null 2>&1; done"
max=$((20 + 10 * (($(_t_now_ms) - t0) / 1000 + 2)))
sleep 0.5
after=$(since | grep -c "alcatraz $sid refused")
logged=$((after - before))
count=$(ip netns exec "$(topo_ns ctr:a)" nft list chain inet alcatraz refuse | grep -o 'packets [0-9]*' | awk '{print $2}')
if ((logged > 0 && logged <= max && max < 200 && count >= 200)); then
	t_pass "a burst of 200 refusals: $logged logged (rate-limited, at most $max), counter at $count"
else
	t_fail "rate limit" "logged $logged lines for 200 refusals (at most $max), counter $count"
fi
