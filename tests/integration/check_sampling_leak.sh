#!/bin/bash
# A process leaks CLOSE_WAIT sockets at a steady rate; `check --samples 3
# --interval 1` must report close-wait-leak naming that process, its count
# and its growth rate, and exit 1 or 2.  The check starts once the leaker
# holds 20 CLOSE_WAIT sockets (a second's worth), polled for, not slept on.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq ss
enter_netns --tmpfs /tmp -- "$@"

need_bin
LEAK=$TT_ROOT/build/tools/cwleak
[ -x "$BIN" ] && [ -x "$LEAK" ] || fail "build first: make build/tcptune build/tools/cwleak"
# It leaks for up to 300 s (its maximum; stopped at exit): 20 descriptors a
# second in its accepting child, so let that have as many as it may.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
start_bg "$LEAK" --rate 20 --duration 300 --name leakd --ready /tmp/ready
LEAKER=$TT_LAST_PID
wait_for_file /tmp/ready "$TT_HANG" "$LEAKER" || fail "leaker did not start"
pid=$(sed -n 's/^leaker_pid=//p' /tmp/ready)
closewait_at_least() {
	tt_is_child "$LEAKER" || fail "the leaker exited early"
	[ "$(ss -Htan state close-wait | wc -l)" -ge "$1" ]
}
wait_until "$TT_HANG" closewait_at_least 20 ||
	fail "the leaker did not reach 20 CLOSE_WAIT sockets within $TT_HANG s (has $(ss -Htan state close-wait | wc -l))"

json=$(timeout "$TT_HANG" "$BIN" check --samples 3 --interval 1 --format json 2>/tmp/err)
rc=$?
[ "$rc" = 1 ] || [ "$rc" = 2 ] || fail "exit code $rc, want 1 or 2; stderr: $(cat /tmp/err)"
f=$(echo "$json" | jq -c '.findings[] | select(.id == "close-wait-leak")')
[ -n "$f" ] || fail "no close-wait-leak finding: $(echo "$json" | jq -c '[.findings[].id]')"
title=$(echo "$f" | jq -r .title)
gpid=$(echo "$json" | jq '.facts["closewait.growth.pid"]')
gcomm=$(echo "$json" | jq -r '.facts["closewait.growth.comm"]')
rate=$(echo "$json" | jq '.facts["closewait.growth.per_min"]')
count=$(echo "$json" | jq '.facts["closewait.growth.count"]')
samples=$(echo "$json" | jq '.facts["sample.count"]')
[ "$samples" = 3 ] || fail "sample.count $samples"
[ "$gpid" = "$pid" ] || fail "growth pid $gpid, the leaker is $pid"
[ "$gcomm" = leakd ] || fail "growth comm '$gcomm'"
# 20 per second is 1200 per minute; allow for scheduling on a loaded machine.
[ "$rate" -ge 600 ] && [ "$rate" -le 1800 ] || fail "growth $rate per minute, expected about 1200"
case $title in
*leakd*"$pid"*) ;;
*) fail "title does not name the process and pid: $title" ;;
esac
case $title in
*"$rate"*) ;;
*) fail "title does not give the growth rate $rate: $title" ;;
esac
echo "ok: close-wait-leak: '$title' (count $count, $rate/min, exit $rc)"
