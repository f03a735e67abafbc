#!/bin/bash
# Issue #16, must-show 1, ephemeral port exhaustion against one upstream:
# nginx proxies to one upstream with a 50-port ip_local_port_range in this
# namespace.  Before: wrk gets 502s and nginx logs EADDRNOTAVAIL.  `apply
# reverse-proxy --watch 15s` under load: the port share towards the upstream
# falls, the change is kept and the effect (before/after) is in the history
# entry; a new wrk run gets no 502.  Rollback brings the 502s back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apply_watch_lib.bash"
watch_scenario curl wrk -- "$@"

echo "40000 40049" > /proc/sys/net/ipv4/ip_local_port_range || fail "cannot narrow the port range"
start_nginx

# --- before: 502s and EADDRNOTAVAIL ---------------------------------------
load 5 "$W/before.txt"
before_req=$(wrk_requests "$W/before.txt"); before_bad=$(wrk_bad "$W/before.txt")
before_eaddr=$(eaddrnotavail)
[ "${before_bad:-0}" -gt 0 ] || fail "no 502 with 50 ephemeral ports: $(cat "$W/before.txt")"
[ "$before_eaddr" -gt 0 ] || fail "nginx logged no EADDRNOTAVAIL with 50 ephemeral ports"
echo "  before: $before_req requests in 5 s, $before_bad non-2xx; nginx logged $before_eaddr EADDRNOTAVAIL"

# --- apply reverse-proxy --watch under load --------------------------------
# The load runs through the 5 s before, the apply and the 15 s watch; it
# is stopped once apply has returned (its -d is only a hang guard).
start_bg wrk -t1 -c8 -d$((TT_HANG))s --timeout 5s "http://127.0.0.1:$PROXY_PORT/"
bg=$TT_LAST_PID
exec 3>&1
run_bounded $((TT_HANG * 2)) "$BIN" apply reverse-proxy --yes --watch 15s --format json >"$W/apply.json" 2>"$W/apply.err"
rc=$?
stop_pid "$bg" >/dev/null 2>&1
[ "$rc" = 0 ] || fail "apply --watch exited $rc: $(cat "$W/apply.err") $(head -c 2000 "$W/apply.json")"
jq -e '.status == "applied" and .effect.verdict == "kept"' "$W/apply.json" >/dev/null ||
	fail "apply --watch did not keep the change: $(jq -c '{status, effect}' "$W/apply.json")"
pb=$(jq '.effect.figures[] | select(.fact == "ports.max_dest_usage_pct") | .before' "$W/apply.json")
pa=$(jq '.effect.figures[] | select(.fact == "ports.max_dest_usage_pct") | .after' "$W/apply.json")
awk -v b="$pb" -v a="$pa" 'BEGIN { exit !(b >= 90 && a < b) }' ||
	fail "port share towards the upstream: before $pb%, after $pa% (expected >= 90 before, lower after)"
[ "$(tr -s '\t ' '  ' < /proc/sys/net/ipv4/ip_local_port_range)" = "10240 65535" ] ||
	fail "ip_local_port_range is $(cat /proc/sys/net/ipv4/ip_local_port_range) after apply"
id=$(jq -r .entry "$W/apply.json")
echo "  apply reverse-proxy --watch 15s: entry $id kept; port share $pb% -> $pa%; $(jq -r .effect.why "$W/apply.json")"

# --- failures gone ----------------------------------------------------------
e0=$(eaddrnotavail)
load 5 "$W/after.txt"
after_req=$(wrk_requests "$W/after.txt"); after_bad=$(wrk_bad "$W/after.txt")
[ "$after_bad" = 0 ] || fail "still $after_bad non-2xx after reverse-proxy: $(cat "$W/after.txt")"
[ "$(eaddrnotavail)" = "$e0" ] || fail "nginx still logs EADDRNOTAVAIL after reverse-proxy"
echo "  after: $after_req requests in 5 s, 0 non-2xx, no new EADDRNOTAVAIL"

# --- the effect is in the history -----------------------------------------
expect_kept_in_history "$id" ports.max_dest_usage_pct 15

# --- rollback brings the failures back --------------------------------------
"$BIN" rollback --yes >"$W/rollback.txt" 2>&1 || fail "rollback failed: $(cat "$W/rollback.txt")"
grep -q '^\* net.ipv4.ip_local_port_range  *10240 65535  *40000 40049' "$W/rollback.txt" ||
	fail "rollback did not show its plan for the port range: $(cat "$W/rollback.txt")"
load 5 "$W/again.txt"
again_bad=$(wrk_bad "$W/again.txt")
[ "${again_bad:-0}" -gt 0 ] || fail "no 502 after rollback to 50 ports: $(cat "$W/again.txt")"
echo "  rollback: $(wrk_requests "$W/again.txt") requests in 5 s, $again_bad non-2xx again"
echo "ok: port exhaustion: 502s before, reverse-proxy --watch kept with the effect recorded, 502s back after rollback"
