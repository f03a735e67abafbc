#!/bin/bash
# plan_harmful_corrected.sh (issue #16): the recommended profile resolves what
# a sysctl can resolve, in a private network namespace with real sockets.
#
# 1. Orphaned FIN_WAIT2 piling up: tests/tools/sockscen makes 700 of them
#    (clients close(), their peers never send a FIN).  recommend must say
#    web-server, whose plan lowers tcp_fin_timeout 60 -> 30.  After applying
#    it, a new batch of 700 must carry the kernel's FIN_WAIT2 timer of at most
#    30 s (`ss -o`: timer:(timewait,Nsec,...)), where the first batch had up to
#    60 s.
# 2. A TIME_WAIT bucket overflow: tcp_max_tw_buckets=200 (harmful: below the
#    apply range), a real listener closing 400 connections first.  The kernel
#    counts the overflow (TcpExt TCPTimeWaitOverflow in /proc/net/netstat, at
#    least 200).  Every profile's plan, default and the recommended one
#    included, must correct the key (a "correction" row, 16384), although no
#    profile sets it; after apply the key is 16384 in /proc/sys and in the
#    managed file, and the same load again overflows nothing; rollback brings
#    200 back.
# Bounded: 700 + 700 sockets from sockscen, 800 connections, processes killed
# by PID at exit; TIME_WAIT and FIN_WAIT2 waits are polled with TT_HANG.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq ss python3 awk
enter_netns --tmpfs /etc/sysctl.d --tmpfs /var/lib --tmpfs /tmp -- "$@"
need_store
SOCKSCEN=$TT_ROOT/build/tools/sockscen
[ -x "$SOCKSCEN" ] || fail "missing $SOCKSCEN (make build/tools/sockscen)"
MANAGED=/etc/sysctl.d/99-tcptune.conf

# The largest FIN-WAIT-2 timer ss shows, in seconds (0 when none).
fw2_max_timer() {
	ss -Htano state fin-wait-2 | grep -o 'timer:(timewait,[0-9.]*\(min\|sec\|ms\)' |
		awk -F, '{ v = $2; s = v + 0; if (v ~ /min/) s *= 60; else if (v ~ /ms/) s /= 1000;
			   if (s > m) m = s } END { print int(m + 0.999) }'
}
orphans() {
	start_bg "$SOCKSCEN" --ready "$1" --tw-out 0 --tw-out2 0 --tw-in 0 --tw6 0 --close-wait 0 \
		--close-wait-unread 0 --estab 0 --orphan-fw1 0 --orphan-fw2 700 --timeout 600 2>/tmp/sockscen.err
	GEN=$TT_LAST_PID
	wait_for_file "$1" "$TT_HANG" "$GEN" || fail "sockscen was not ready: $(cat /tmp/sockscen.err)"
}

# ---- 1: orphaned FIN_WAIT2 ---------------------------------------------------
orphans /tmp/ready1
n=$(ss -Htan state fin-wait-2 | wc -l)
[ "$n" = 700 ] || fail "ss shows $n FIN-WAIT-2, sockscen built 700"
t1=$(fw2_max_timer)
rec=$("$BIN" recommend --format json 2>/dev/null) || fail "recommend failed"
prof=$(echo "$rec" | jq -r .profile)
[ "$prof" = web-server ] || fail "700 orphaned FIN_WAIT2: recommend says '$prof': $(echo "$rec" | jq -r .reason)"
row=$("$BIN" diff "$prof" --format json | jq -c '.keys[] | select(.key == "net.ipv4.tcp_fin_timeout")')
[ "$(echo "$row" | jq -r '"\(.runtime) \(.profile) \(.change)"')" = "60 30 true" ] ||
	fail "$prof's plan does not lower tcp_fin_timeout 60 -> 30: $row"
out=$("$BIN" apply "$prof" --yes 2>&1) || fail "apply $prof failed: $out"
[ "$(cat /proc/sys/net/ipv4/tcp_fin_timeout)" = 30 ] || fail "tcp_fin_timeout is $(cat /proc/sys/net/ipv4/tcp_fin_timeout) after apply"
stop_pid "$GEN" 10 >/dev/null
# Their peers close now: the orphans go to TIME_WAIT, 60 s; sockscen needs a clean slate.
wait_until "$TT_HANG" sh -c "[ \$(ss -Htan state fin-wait-2 state time-wait | wc -l) = 0 ]" || fail "the first FIN_WAIT2 never ended"
orphans /tmp/ready2
t2=$(fw2_max_timer)
[ "$t2" -ge 1 ] && [ "$t2" -le 30 ] || fail "after apply the FIN_WAIT2 timer is $t2 s (ss -o), expected at most 30 (before: $t1)"
stop_pid "$GEN" 10 >/dev/null
echo "ok: 700 orphaned FIN_WAIT2: recommend $prof; FIN_WAIT2 timer $t1 s before, $t2 s after apply (ss -o)"
out=$("$BIN" rollback --yes 2>&1) || fail "rollback failed: $out"
[ "$(cat /proc/sys/net/ipv4/tcp_fin_timeout)" = 60 ] || fail "rollback left tcp_fin_timeout $(cat /proc/sys/net/ipv4/tcp_fin_timeout)"
wait_until "$TT_HANG" sh -c "[ \$(ss -Htan state fin-wait-2 state close-wait state time-wait | wc -l) = 0 ]" || fail "sockets never ended"

# ---- 2: TIME_WAIT bucket overflow -------------------------------------------
PORT=18500
echo 200 > /proc/sys/net/ipv4/tcp_max_tw_buckets || fail "cannot set tcp_max_tw_buckets in the namespace"
cat > /tmp/server.py <<'PY'
import socket, sys, time
port, ready = int(sys.argv[1]), sys.argv[2]
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port)); ls.listen(128)
open(ready, "w").write("ok\n")
ls.settimeout(1)
deadline = time.time() + 900
while time.time() < deadline:
    try:
        s, _ = ls.accept()
    except socket.timeout:
        continue
    s.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
    s.close()                          # the server closes first
PY
cat > /tmp/client.py <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
for _ in range(n):
    c = socket.create_connection(("127.0.0.1", port), timeout=30)
    while c.recv(4096):
        pass
    c.close()
PY
start_bg python3 /tmp/server.py $PORT /tmp/server.ready
wait_for_file /tmp/server.ready "$TT_HANG" "$TT_LAST_PID" || fail "the server did not start"
overflow() { awk '/^TcpExt:/ { if (!h) { split($0, n); h = 1 } else { split($0, v); for (i in n) if (n[i] == "TCPTimeWaitOverflow") print v[i] } }' /proc/net/netstat; }

o0=$(overflow)
run_bounded "$TT_HANG" python3 /tmp/client.py $PORT 400 || fail "the client failed"
o1=$(overflow)
[ $((o1 - o0)) -ge 200 ] || fail "TCPTimeWaitOverflow rose by $((o1 - o0)) with 400 closes and 200 buckets"
rec=$("$BIN" recommend --format json 2>/dev/null | jq -r .profile)
for p in default "$rec"; do
	row=$("$BIN" diff "$p" --format json | jq -c '.keys[] | select(.key == "net.ipv4.tcp_max_tw_buckets")')
	[ "$(echo "$row" | jq -r '"\(.runtime) \(.profile) \(.change) \(.correction)"')" = "200 16384 true true" ] ||
		fail "the plan of $p does not correct tcp_max_tw_buckets=200: ${row:-no row}"
	"$BIN" diff "$p" | grep -q 'net.ipv4.tcp_max_tw_buckets .* correct$' || fail "diff $p does not mark the correction: $("$BIN" diff "$p")"
done
out=$("$BIN" apply "$rec" --yes 2>&1) || fail "apply $rec failed: $out"
[ "$(cat /proc/sys/net/ipv4/tcp_max_tw_buckets)" = 16384 ] ||
	fail "after apply $rec tcp_max_tw_buckets is $(cat /proc/sys/net/ipv4/tcp_max_tw_buckets)"
grep -qx 'net.ipv4.tcp_max_tw_buckets = 16384' "$MANAGED" || fail "the managed file lacks the correction: $(cat "$MANAGED")"
run_bounded "$TT_HANG" python3 /tmp/client.py $PORT 400 || fail "the client failed"
o2=$(overflow)
[ "$o2" = "$o1" ] || fail "TCPTimeWaitOverflow still rose by $((o2 - o1)) after the correction"
echo "ok: tcp_max_tw_buckets=200: TCPTimeWaitOverflow +$((o1 - o0)) for 400 closes; default's and $rec's plans correct it to 16384; after apply +0 for 400 more"
out=$("$BIN" rollback --yes 2>&1) || fail "rollback failed: $out"
[ "$(cat /proc/sys/net/ipv4/tcp_max_tw_buckets)" = 200 ] || fail "rollback left tcp_max_tw_buckets $(cat /proc/sys/net/ipv4/tcp_max_tw_buckets)"
exit 0
