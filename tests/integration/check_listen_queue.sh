#!/bin/bash
# Listen queues per listener (rules/listen_queues.yaml), built with real
# sockets in a private network namespace: a program (python3) listens on
# 127.0.0.1 with backlog 16 and on another port with backlog 1024, and never
# calls accept().  Quiet while nobody connects; after 14 clients connect to
# the small one, listen-queue-near-full and listen-backlog-small fire, and
# their evidence (queue, backlog, port, process) equals what `ss -ltnp`
# reports for that listener.  Bounded: one listener process and 14 client
# sockets, killed by PID at exit.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq ss python3
need_bin
enter_netns --tmpfs /tmp -- "$@"

SMALL=18610 BIG=18611
cat > /tmp/listener.py <<'PY'
import socket, sys, time
small, big, ready, go, n = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
ls = []
for port, backlog in ((small, 16), (big, 1024)):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port)); s.listen(backlog); ls.append(s)
open(ready, "w").write("ok\n")
deadline = time.time() + 600
import os
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.05)
clients = []
for i in range(n):
    c = socket.socket(); c.connect(("127.0.0.1", small)); clients.append(c)
while time.time() < deadline:
    time.sleep(1)
PY
start_bg python3 /tmp/listener.py $SMALL $BIG /tmp/ready /tmp/go 14
pid=$TT_LAST_PID
wait_for_file /tmp/ready "$TT_HANG" "$pid" || fail "listener did not start"

has() { echo "$1" | jq -e --arg id "$2" '.findings[] | select(.id == $id and (.ignored | not))' >/dev/null; }
json=$("$BIN" check --format json 2>/dev/null)
for id in listen-queue-near-full listen-backlog-small; do
	has "$json" "$id" && fail "$id fired with empty queues"
done

touch /tmp/go
wait_until "$TT_HANG" sh -c "ss -ltn 'sport = :$SMALL' | awk 'NR == 2 { exit !(\$2 == 14) }'" ||
	fail "the accept queue never reached 14: $(ss -ltn)"
line=$(ss -ltnp "sport = :$SMALL" | tail -n 1)
want_q=$(echo "$line" | awk '{ print $2 }')
want_b=$(echo "$line" | awk '{ print $3 }')
want_proc=$(echo "$line" | grep -o 'users:(("[^"]*",pid=[0-9]*' | sed 's/users:(("\([^"]*\)",pid=\([0-9]*\)/\1 (pid \2)/')
[ "$want_b" = 16 ] || fail "ss shows backlog $want_b, expected the 16 asked for"
json=$("$BIN" check --format json 2>/dev/null)
has "$json" listen-queue-near-full || fail "listen-queue-near-full did not fire: $(echo "$json" | jq -c '.facts | with_entries(select(.key | startswith("listen.")))')"
has "$json" listen-backlog-small || fail "listen-backlog-small did not fire"
got=$(echo "$json" | jq -r '.facts | "\(.["listen.fullest.queue"]) \(.["listen.fullest.backlog"]) \(.["listen.fullest.port"]) \(.["listen.fullest.process"])"')
[ "$got" = "$want_q $want_b 127.0.0.1:$SMALL $want_proc" ] ||
	fail "evidence '$got', ss says '$want_q $want_b 127.0.0.1:$SMALL $want_proc'"
got=$(echo "$json" | jq -r '.facts | "\(.["listen.small.queue"]) \(.["listen.small.backlog"]) \(.["listen.small.port"])"')
[ "$got" = "$want_q $want_b 127.0.0.1:$SMALL" ] || fail "small-backlog evidence '$got'"
echo "$json" | jq -e '.findings[] | select(.id == "listen-queue-near-full") | .title | contains("'"$want_proc"'")' >/dev/null ||
	fail "the title does not name $want_proc"
echo "ok: quiet with empty queues; with $want_q of $want_b waiting on 127.0.0.1:$SMALL both rules fire naming $want_proc"
