#!/bin/bash
# resets-instead-of-closes (rules/resets.yaml) with real sockets in a private
# network namespace: 50 connections closed normally leave it quiet; 50
# closed with SO_LINGER {1, 0} (a RST instead of a FIN) make it fire, with
# delta.tcpext.TCPAbortOnData equal to the increase the kernel shows in
# /proc/net/netstat between the two checks.  The check state (the previous
# check's counters) lives on a tmpfs /var/lib.  Bounded: one server process,
# 100 client connections, killed by PID at exit.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq python3
need_bin
enter_netns --tmpfs /tmp --tmpfs /var/lib -- "$@"

PORT=18620
cat > /tmp/resets.py <<'PY'
import socket, struct, sys, threading, time
mode, port = sys.argv[1], int(sys.argv[2])
if mode == "server":
    ready = sys.argv[3]
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port)); s.listen(128)
    open(ready, "w").write("ok\n")
    def serve(c):
        try:
            while c.recv(4096):
                pass
        except OSError:
            pass
        c.close()
    deadline = time.time() + 600
    s.settimeout(1)
    while time.time() < deadline:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(c,), daemon=True).start()
else:
    for i in range(int(sys.argv[3])):
        c = socket.socket(); c.connect(("127.0.0.1", port)); c.sendall(b"x")
        time.sleep(0.01)
        if mode == "linger0":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
PY
start_bg python3 /tmp/resets.py server $PORT /tmp/ready
wait_for_file /tmp/ready "$TT_HANG" "$TT_LAST_PID" || fail "server did not start"

counter() { awk -v n="$1" '/^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) col[$i] = i; h = 1 } else print $col[n] }' /proc/net/netstat; }
check() { "$BIN" check --format json 2>/tmp/err; }
next_second() { local t; t=$(date +%s); wait_until "$TT_HANG" sh -c "[ \$(date +%s) -gt $((t + 1)) ]"; }
has() { echo "$1" | jq -e '.findings[] | select(.id == "resets-instead-of-closes")' >/dev/null; }

check >/dev/null || [ $? -le 2 ] || fail "first check failed: $(cat /tmp/err)"
next_second
python3 /tmp/resets.py normal $PORT 50 || fail "normal closes failed"
json=$(check)
has "$json" && fail "resets-instead-of-closes fired after normal closes: $(echo "$json" | jq -c '.facts["delta.tcpext.TCPAbortOnData"]')"
[ "$(echo "$json" | jq '.facts["delta.tcpext.TCPAbortOnData"]')" = 0 ] ||
	fail "delta.tcpext.TCPAbortOnData $(echo "$json" | jq '.facts["delta.tcpext.TCPAbortOnData"]') after normal closes"

before=$(counter TCPAbortOnData)
next_second
python3 /tmp/resets.py linger0 $PORT 50 || fail "linger-0 closes failed"
after=$(counter TCPAbortOnData)
[ $((after - before)) -ge 50 ] || fail "the kernel counted $((after - before)) TCPAbortOnData for 50 linger-0 closes"
json=$(check)
has "$json" || fail "resets-instead-of-closes did not fire: $(echo "$json" | jq -c '.facts | with_entries(select(.key | test("AbortOnData|delta.seconds")))')"
got=$(echo "$json" | jq '.facts["delta.tcpext.TCPAbortOnData"]')
[ "$got" = $((after - before)) ] || fail "delta.tcpext.TCPAbortOnData $got, the kernel's increase $((after - before))"
echo "$json" | jq -e '.findings[] | select(.id == "resets-instead-of-closes") | .evidence["evidence.tcpext.TCPAbortOnData"] // .title' >/dev/null ||
	fail "no evidence on the finding"
echo "ok: quiet after 50 normal closes; fires after 50 SO_LINGER-0 closes with delta.tcpext.TCPAbortOnData $got (kernel: $((after - before)))"
