#!/bin/bash
# Issue #16, must-show 2: a change that makes things worse is rolled back by
# --watch by itself.  nginx proxies to one upstream under wrk load with the
# kernel's port range; a test profile (in this scenario's --data) narrows
# ip_local_port_range to 50 ports.  `apply narrow --watch 10s` exits 5
# (EXIT_ROLLED_BACK), the range is back, the apply entry is undone by a
# rollback entry, and history says why (the port share towards the
# upstream rose) with the figures before and after.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apply_watch_lib.bash"
watch_scenario curl wrk -- "$@"

range0=$(tr -s '\t ' '  ' < /proc/sys/net/ipv4/ip_local_port_range)
mkdir -p "$W/data/profiles" || fail "mkdir"
cat >"$W/data/profiles/narrow.yaml" <<'YAML' || fail "cannot write the test profile"
# A bad change on purpose: 50 ephemeral ports for a proxy.
name: narrow
description: Test profile for apply --watch; narrows the ephemeral port range.
sysctl:
  net.ipv4.ip_local_port_range: "40000 40049"
why:
  net.ipv4.ip_local_port_range: A wrong change, to be rolled back by --watch.
YAML
start_nginx
load 3 "$W/before.txt"
[ "$(wrk_bad "$W/before.txt")" = 0 ] || fail "502s before the change: $(cat "$W/before.txt")"
echo "  before: $(wrk_requests "$W/before.txt") requests in 3 s, 0 non-2xx (range $range0)"

e0=$(eaddrnotavail)
start_bg wrk -t1 -c8 -d$((TT_HANG))s --timeout 5s "http://127.0.0.1:$PROXY_PORT/"
bg=$TT_LAST_PID
run_bounded $((TT_HANG * 2)) "$BIN" --data "$W/data" apply narrow --yes --watch 10s --format json \
	>"$W/apply.json" 2>"$W/apply.err"
rc=$?
stop_pid "$bg" >/dev/null 2>&1
[ "$rc" = 5 ] || fail "apply narrow --watch exited $rc, expected 5: $(cat "$W/apply.err") $(head -c 2000 "$W/apply.json")"
jq -e '.status == "rolled-back" and .effect.verdict == "rolled-back" and (.effect.rollback_entry | type) == "string"' \
	"$W/apply.json" >/dev/null || fail "apply JSON: $(jq -c '{status, effect}' "$W/apply.json")"
[ "$(tr -s '\t ' '  ' < /proc/sys/net/ipv4/ip_local_port_range)" = "$range0" ] ||
	fail "ip_local_port_range is $(cat /proc/sys/net/ipv4/ip_local_port_range), not back to $range0"
[ ! -e /etc/sysctl.d/99-tcptune.conf ] || fail "the managed file is still there after the automatic rollback"
id=$(jq -r .entry "$W/apply.json"); rb=$(jq -r .effect.rollback_entry "$W/apply.json")
pb=$(jq '.effect.figures[] | select(.fact == "ports.max_dest_usage_pct") | .before' "$W/apply.json")
pa=$(jq '.effect.figures[] | select(.fact == "ports.max_dest_usage_pct") | .after' "$W/apply.json")
echo "  apply narrow --watch 10s: exit 5, rolled back by $rb; port share $pb% -> $pa%;" \
	"nginx logged $(($(eaddrnotavail) - e0)) EADDRNOTAVAIL meanwhile"

"$BIN" history --format json >"$W/hist.json" || fail "history failed"
jq -e --arg id "$id" --arg rb "$rb" '
	(.[] | select(.id == $id) | .status == "undone" and .effect.verdict == "rolled-back" and
	 (.effect.why | test("ports.max_dest_usage_pct rose")) and
	 (.effect.figures | map(select(.fact == "ports.max_dest_usage_pct" and .change == "worse")) | length == 1)) and
	(.[] | select(.id == $rb) | .action == "rollback" and .target == $id)' "$W/hist.json" >/dev/null ||
	fail "history does not say why: $(jq -c . "$W/hist.json" | head -c 3000)"
# The text history wraps at 80 columns: compare with the lines joined.
"$BIN" history | tr -s ' \n' '  ' | grep -q "effect (--watch 10 s): rolled-back: rolled back by --watch (entry $rb): worse and nothing better: ports.max_dest_usage_pct rose" ||
	fail "text history lacks the reason: $("$BIN" history)"
"$BIN" history show "$id" | grep -q 'ports.max_dest_usage_pct .* worse' || fail "history show $id lacks the figure"
load 3 "$W/after.txt"
[ "$(wrk_bad "$W/after.txt")" = 0 ] || fail "502s after the automatic rollback: $(cat "$W/after.txt")"
echo "  after the rollback: $(wrk_requests "$W/after.txt") requests in 3 s, 0 non-2xx"

# --- a crash during the watch: the next rollback undoes it, like recovery --
start_bg "$BIN" --data "$W/data" apply narrow --yes --watch 10m >"$W/cut.txt" 2>&1
watcher=$TT_LAST_PID
watching() {
	"$BIN" history --format json 2>/dev/null | jq -e 'last | .action == "apply" and .effect.verdict == "watching"' >/dev/null
}
wait_until "$TT_HANG" watching || fail "no entry being watched within $TT_HANG s"
[ "$(tr -s '\t ' '  ' < /proc/sys/net/ipv4/ip_local_port_range)" = "40000 40049" ] || fail "the watched change is not in effect"
kill -KILL "$watcher" 2>/dev/null; stop_pid "$watcher" >/dev/null 2>&1
cut=$("$BIN" history --format json | jq -r 'last | .id')
"$BIN" history | grep -q "effect (--watch 600 s): watching" || fail "history does not show the cut-off watch"
"$BIN" rollback --yes --format json >"$W/rec.json" 2>"$W/rec.txt" || fail "rollback after the crash failed: $(cat "$W/rec.txt")"
grep -q "recovered: entry $cut (narrow)" "$W/rec.txt" || fail "rollback did not say it recovered $cut: $(cat "$W/rec.txt")"
jq -e --arg id "$cut" '.changed == true and .target == $id and (.entry | type) == "string"' "$W/rec.json" >/dev/null ||
	fail "rollback --format json after the crash printed no JSON of what it undid: $(cat "$W/rec.json")"
[ "$(tr -s '\t ' '  ' < /proc/sys/net/ipv4/ip_local_port_range)" = "$range0" ] ||
	fail "after the crash and rollback the range is $(cat /proc/sys/net/ipv4/ip_local_port_range)"
"$BIN" history --format json | jq -e --arg id "$cut" '.[] | select(.id == $id) | .status == "undone" and
	.effect.verdict == "interrupted"' >/dev/null || fail "history does not record the interrupted watch of $cut"
echo "  a watch killed with SIGKILL: the next rollback undid entry $cut and recorded it as interrupted"
echo "ok: a narrowing profile under load was rolled back by --watch, and history says why"
