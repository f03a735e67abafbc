#!/bin/bash
# A process leaks CLOSE_WAIT sockets at a steady rate; `check --samples 3
# --interval 1` must report close-wait-leak naming that process, its count
# and its growth rate, and exit 1 or 2.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq ss
enter_netns --tmpfs /tmp -- "$@"

BIN=${TCPTUNE:-$TT_ROOT/build/tcptune}
LEAK=$TT_ROOT/build/tools/cwleak
[ -x "$BIN" ] && [ -x "$LEAK" ] || fail "build first: make build/tcptune build/tools/cwleak"
start_bg "$LEAK" --rate 20 --duration 40 --name leakd --ready /tmp/ready
wait_for_file /tmp/ready 10 "$TT_LAST_PID" || fail "leaker did not start"
pid=$(sed -n 's/^leaker_pid=//p' /tmp/ready)
sleep 1

json=$("$BIN" check --samples 3 --interval 1 --format json 2>/tmp/err)
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
