#!/bin/bash
# dead-peer-data-in-flight (rules/deadpeers.yaml) with real sockets: this
# private namespace and a peer namespace joined by a veth pair; a client
# here streams data to a server there.  While the server reads, the rule is
# quiet; when the peer's link goes down (a peer that died), the client's data
# stays unacknowledged and is retransmitted, and once `ss -ti` shows the
# oldest segment retransmitted 5 times the rule fires with sockets.stalled
# equal to the connections ss shows so.  Bounded: 2 connections, one server
# and one client process (killed by PID), one namespace removed at exit.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq python3 ss ip
need_bin
enter_netns --tmpfs /tmp -- "$@"

mkdir -p /run/netns && mount -t tmpfs -o size=1m,mode=0755 tt-deadpeer /run/netns || fail "tmpfs /run/netns"
peer=ttpeer$$
ip netns add "$peer" || fail "ip netns add"
trap 'tt_cleanup; ip netns del "$peer" 2>/dev/null' EXIT
ip link add name tta type veth peer name ttb || fail "veth"
ip link set ttb netns "$peer" || fail "move veth"
ip addr add 10.231.0.1/24 dev tta && ip link set tta up || fail "tta"
ip netns exec "$peer" sh -c 'ip link set lo up && ip addr add 10.231.0.2/24 dev ttb && ip link set ttb up' || fail "ttb"

cat > /tmp/peer.py <<'PY'
import socket, sys, threading, time
mode = sys.argv[1]
end = time.time() + 600
if mode == "server":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.231.0.2", 18640)); s.listen(8)
    open(sys.argv[2], "w").write("ok\n")
    def drain(c):
        while c.recv(65536):
            pass
    while time.time() < end:
        c, _ = s.accept()
        threading.Thread(target=drain, args=(c,), daemon=True).start()
else:
    cs = [socket.create_connection(("10.231.0.2", 18640), timeout=5) for _ in range(2)]
    for c in cs:
        c.setblocking(False)
    open(sys.argv[2], "w").write("ok\n")
    while time.time() < end:
        for c in cs:
            try:
                c.send(b"x" * 1000)
            except (BlockingIOError, OSError):
                pass
        time.sleep(0.05)
PY
start_bg ip netns exec "$peer" python3 /tmp/peer.py server /run/netns/srv.ready
wait_for_file /run/netns/srv.ready "$TT_HANG" "$TT_LAST_PID" || fail "server did not start"
start_bg python3 /tmp/peer.py client /tmp/cli.ready
wait_for_file /tmp/cli.ready "$TT_HANG" "$TT_LAST_PID" || fail "client did not connect"

has() { echo "$1" | jq -e '.findings[] | select(.id == "dead-peer-data-in-flight")' >/dev/null; }
json=$("$BIN" check --format json 2>/dev/null)
has "$json" && fail "fired while the peer is alive: $(echo "$json" | jq -c '.facts["sockets.stalled"]')"
[ "$(echo "$json" | jq '.facts["sockets.stalled"]')" = 0 ] || fail "sockets.stalled not 0 with a live peer"

ip netns exec "$peer" ip link set ttb down || fail "peer link down"
stalled_ss() {	# connections to the peer with timer on and >= 5 retransmissions
	ss -tnoH state established dst 10.231.0.2 | grep -c 'timer:(on,[^,]*,\([5-9]\|[1-9][0-9]\))'
}
wait_until "$TT_HANG" sh -c "[ \$(ss -tnoH state established dst 10.231.0.2 | grep -c 'timer:(on,[^,]*,\([5-9]\|[1-9][0-9]\))') -eq 2 ]" ||
	fail "the connections never reached 5 retransmissions: $(ss -tno state established)"
json=$("$BIN" check --format json 2>/dev/null)
want=$(stalled_ss)
has "$json" || fail "did not fire: $(echo "$json" | jq -c '.facts | with_entries(select(.key | startswith("sockets.stalled")))')"
got=$(echo "$json" | jq '.facts["sockets.stalled"]')
[ "$got" = "$want" ] || fail "sockets.stalled $got, ss shows $want"
max=$(echo "$json" | jq '.facts["sockets.stalled_max_retrans"]')
[ "$max" -ge 5 ] || fail "stalled_max_retrans $max"
echo "ok: quiet with a live peer; after its link went down $got connections retransmitting (max $max), as ss shows"
