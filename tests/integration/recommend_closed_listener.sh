#!/bin/bash
# recommend_closed_listener.sh (issue #16, must-show 3): server-side TIME_WAIT
# that outlives its listener is incoming, and does not make `recommend` say
# reverse-proxy.
#
# A real listener (python3) on 127.0.0.1:7000, outside the ephemeral range
# (docs/KERNEL.md §20.1), serves N connections, closing each first (the server
# sends its reply and close()s; the client reads to EOF, then closes), so the
# TIME_WAIT sockets are the server's, on local port 7000.  Then it closes its
# listening socket and exits.  ss must show N TIME-WAIT on local port 7000 and
# no listener; `check` must count them as incoming (between what ss shows
# just after and just before it: TIME_WAIT only ends, 60 s after it began),
# none as outgoing; `recommend` must not say reverse-proxy (before issue #16 it
# did: "outgoing" TIME_WAIT >= 100) and must say default.  A machine too slow
# to check within TIME_WAIT's 60 s makes the scenario run again (at most 3
# rounds), never fail.  Bounded: N connections, one process.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq ss python3
need_bin
enter_netns --tmpfs /tmp -- "$@"

PORT=7000
N=400		# well above every threshold on TIME_WAIT counts (100 and up)
range=$(cat /proc/sys/net/ipv4/ip_local_port_range)
set -- $range
[ "$PORT" -lt "$1" ] || fail "port $PORT is inside ip_local_port_range ($range); the scenario needs it outside"

cat > /tmp/server.py <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port)); ls.listen(64)
for i in range(n):
    c = socket.create_connection(("127.0.0.1", port), timeout=30)
    s, _ = ls.accept()
    s.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
    s.close()                      # the server closes first: its TIME_WAIT
    c.settimeout(30)
    while c.recv(4096):
        pass                       # the client reads to EOF, then closes
    c.close()
ls.close()                         # the listener is gone
PY

tw_on_port() { ss -Htan state time-wait "( sport = :$PORT )" | wc -l; }

round=0
while :; do
	round=$((round + 1))
	run_bounded "$TT_HANG" python3 /tmp/server.py $PORT $N || fail "the server failed"
	[ -z "$(ss -Hltn "( sport = :$PORT )")" ] || fail "a listener is still on port $PORT"
	before=$(tw_on_port)
	[ "$before" -ge 1 ] || fail "ss shows no TIME-WAIT on port $PORT right after the server ended"
	json=$(run_bounded "$TT_HANG" "$BIN" check --no-state --format json 2>/tmp/check.err)
	rec=$(run_bounded "$TT_HANG" "$BIN" recommend --format json 2>/tmp/rec.err)
	after=$(tw_on_port)
	if [ "$after" -ge 1 ] && [ "$before" -eq "$N" ]; then
		break
	fi
	[ "$round" -lt 3 ] || fail "TIME_WAIT ended before the checks ran in 3 rounds (before $before, after $after)"
	echo "round $round: TIME_WAIT ended before the checks (before $before, after $after); again"
	wait_until "$TT_HANG" sh -c "[ \$(ss -Htan state time-wait | wc -l) = 0 ]" || fail "TIME_WAIT never ended"
done

inc=$(echo "$json" | jq -r .timewait.incoming)
out=$(echo "$json" | jq -r .timewait.outgoing)
[ "$inc" -ge "$after" ] && [ "$inc" -le "$before" ] ||
	fail "check counts $inc incoming TIME_WAIT; ss shows $before then $after on port $PORT"
[ "$out" = 0 ] || fail "check counts $out outgoing TIME_WAIT; every one is the server's (port $PORT)"
[ "$(echo "$json" | jq -r '.facts["sockets.listen"]')" = 0 ] || fail "check sees a listener"
prof=$(echo "$rec" | jq -r .profile)
[ "$prof" != reverse-proxy ] || fail "recommend says reverse-proxy for server-side TIME_WAIT: $(echo "$rec" | jq -r .reason)"
[ "$prof" = default ] || fail "recommend says '$prof', expected default: $(echo "$rec" | jq -r .reason)"
echo "ok: $inc incoming TIME_WAIT on closed port $PORT (ss: $before, then $after), recommend: $prof"
exit 0
