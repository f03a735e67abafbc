#!/bin/bash
# CLOSE_WAIT attribution when a process holds sockets of another uid
# (docs/KERNEL.md §18.2): check scans the processes of the uids that own a
# CLOSE_WAIT socket first, and the others only if a socket is still missing.
# Two holders, in one network namespace:
#   A makes 7 sockets as root, then becomes uid 65534 (and dumpable again, so
#     its /proc/PID/fd is owned by 65534): its sockets' uid stays 0, so only
#     the second pass can find them;
#   B makes 3 sockets as uid 65533 (found in the first pass; 65534 owns no
#     CLOSE_WAIT socket, so A is left for the second).
# tcptune check --format json must name both with the pid and the count that
# `ss -tanp state close-wait` shows, through the BPF iterator and through
# /proc, and there -v -v must say the second pass ran.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds ss jq setpriv
[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3 (Debian package python3)"
enter_netns --tmpfs /tmp -- "$@"
TCPTUNE=${TCPTUNE:-$TT_ROOT/build/tcptune}
[ -x "$TCPTUNE" ] || fail "missing $TCPTUNE (make)"
W=/tmp/work
mkdir -p "$W" && chmod 0755 /tmp && chmod 1777 "$W" || fail "mkdir $W"

# holder N READY [UID]: N CLOSE_WAIT sockets (the peer closes first), then
# (with UID) setgid/setuid to UID and dumpable again; writes READY and sleeps.
cp "$TT_ROOT/tests/tools/closewait.py" "$W/" || fail "cannot copy closewait.py"
cat >"$W/holder.py" <<'EOF'
from closewait import close_wait
import ctypes, os, socket, sys, time
n, ready = int(sys.argv[1]), sys.argv[2]
uid = int(sys.argv[3]) if len(sys.argv) > 3 else None
held = close_wait(n)
if uid is not None:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    ctypes.CDLL(None, use_errno=True).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE
with open(ready + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(ready + ".tmp", ready)
time.sleep(600)
EOF

start_bg /usr/bin/python3 "$W/holder.py" 7 "$W/a.ready" 65534
wait_for_file "$W/a.ready" "$TT_HANG" "$TT_LAST_PID" || fail "holder A not ready"
start_bg setpriv --reuid 65533 --regid 65533 --clear-groups /usr/bin/python3 "$W/holder.py" 3 "$W/b.ready"
wait_for_file "$W/b.ready" "$TT_HANG" "$TT_LAST_PID" || fail "holder B not ready"
A=$(cat "$W/a.ready") B=$(cat "$W/b.ready")
[ "$(stat -c %u "/proc/$A/fd")" = 65534 ] || fail "holder A's /proc/$A/fd is owned by $(stat -c %u "/proc/$A/fd"), not 65534"

# What ss sees: CLOSE_WAIT per pid, and each socket's uid.
wait_until "$TT_HANG" sh -c '[ "$(ss -Htan state close-wait | wc -l)" = 10 ]' ||
	fail "ss shows $(ss -Htan state close-wait | wc -l) CLOSE-WAIT, not 10"
ss -Htanpe state close-wait >"$W/ss.txt" || fail "ss -tanpe failed"
ss_count() { grep -c "pid=$1," "$W/ss.txt"; }
[ "$(ss_count "$A")" = 7 ] && [ "$(ss_count "$B")" = 3 ] ||
	fail "ss: pid $A holds $(ss_count "$A"), pid $B $(ss_count "$B") (want 7 and 3): $(cat "$W/ss.txt")"
[ "$(grep "pid=$A," "$W/ss.txt" | grep -c ' uid:65534 ')" = 0 ] ||
	fail "ss: holder A's sockets are not root's: $(grep "pid=$A," "$W/ss.txt" | head -2)"
[ "$(grep "pid=$B," "$W/ss.txt" | grep -c ' uid:65533 ')" = 3 ] ||
	fail "ss: holder B's sockets are not uid 65533's: $(grep "pid=$B," "$W/ss.txt" | head -2)"

# Through /proc (TCPTUNE_OWNERS=proc), the two passes; through the BPF
# iterator (the default, as root), one walk that sees every process.
for way in proc bpf; do
	check_owners "$way" "$TCPTUNE" "$W/check.json" "$W/check.err"
	[ "$(jq -r .sources.sockets "$W/check.json")" = netlink ] ||
		fail "$way: check read sockets from '$(jq -r .sources.sockets "$W/check.json")', not netlink"
	for e in "$A 7" "$B 3"; do
		pid=${e% *} want=${e#* }
		got=$(jq -r --argjson p "$pid" '.closewait.processes[] | select(.pid == $p) | .count' "$W/check.json")
		[ "$got" = "$want" ] || fail "$way: check: pid $pid holds '$got' CLOSE_WAIT, ss -tanp shows $want"
	done
	[ "$(jq -r '.facts["closewait.unattributed"]' "$W/check.json")" = 0 ] ||
		fail "$way: check left $(jq -r '.facts["closewait.unattributed"]' "$W/check.json") CLOSE_WAIT unattributed"
	if [ "$way" = proc ]; then
		grep -q 'scanning the others' "$W/check.err" ||
			fail "check -v -v does not say it scanned the other processes: $(grep -i 'close_wait' "$W/check.err")"
		passes=$(grep -o 'CLOSE_WAIT attribution: [0-9]* sockets left[^;]*' "$W/check.err")
	fi
done
echo "check: pid $A (uid 65534, root's sockets) 7, pid $B (uid 65533) 3 CLOSE_WAIT, as ss -tanp," \
	"through the BPF iterator and through /proc ($passes)"
echo "PASS: check_cw_other_uid"
