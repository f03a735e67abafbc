#!/bin/bash
# ports-held-by-bind (rules/ports.yaml) with real sockets in a private
# network namespace whose ip_local_port_range is 40000-40999 (1000 ports;
# a per-namespace key).  A bounded client opens 250 connections to one local
# server and keeps them open, three ways:
#   connect:  plain connect(): the kernel picks ports of the range's low
#             parity (even here), no port is held by bind(): quiet;
#   nopport:  bind(127.0.0.1, 0) with IP_BIND_ADDRESS_NO_PORT, then connect():
#             the port is chosen at connect() time as for a plain connect():
#             quiet (the advice works);
#   bind:     bind(127.0.0.1, 0) then connect(): bind() picks ports of the
#             other parity (odd), one per socket: fires, with
#             ports.bind_held equal to the number of odd local ports `ss`
#             shows for the client's connections (25% of the range).
# Bounded: one client process at a time, 250 connections, 600 s at most.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq python3 ss
need_bin
enter_netns --tmpfs /tmp -- "$@"

PORT=18680
N=250
echo "40000 40999" > /proc/sys/net/ipv4/ip_local_port_range || fail "cannot set ip_local_port_range in the namespace"
cat > /tmp/bc.py <<'PY'
import os, socket, sys, time
mode, port, n, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
IP_BIND_ADDRESS_NO_PORT = 24    # include/uapi/linux/in.h
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port)); srv.listen(n)
keep = []
for i in range(n):
    c = socket.socket()
    if mode == "bind":
        c.bind(("127.0.0.1", 0))
    elif mode == "noport":
        c.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        c.bind(("127.0.0.1", 0))
    c.connect(("127.0.0.1", port))
    a, _ = srv.accept()
    keep += [c, a]
open(ready, "w").write("ok\n")
time.sleep(600)
PY
check() { "$BIN" check --format json 2>/tmp/err; }
fired() { echo "$1" | jq -e '.findings[] | select(.id == "ports-held-by-bind")' >/dev/null; }
fact() { echo "$1" | jq -r --arg k "$2" '.facts[$k]'; }
# Client sides: connections to the server port; their local ports, odd ones.
odd_ports() { ss -Htn state established "( dport = :$PORT )" | awk '{ n = split($3, a, ":"); if (a[n] % 2) c++ } END { print c + 0 }'; }
all_ports() { ss -Htn state established "( dport = :$PORT )" | wc -l; }

for mode in connect noport bind; do
	rm -f /tmp/ready
	start_bg python3 /tmp/bc.py $mode $PORT $N /tmp/ready
	pid=$TT_LAST_PID
	wait_for_file /tmp/ready "$TT_HANG" "$pid" || fail "$mode: the client did not open $N connections"
	[ "$(all_ports)" = $N ] || fail "$mode: ss shows $(all_ports) client connections, expected $N"
	odd=$(odd_ports)
	json=$(check) || [ $? -le 2 ] || fail "$mode: check failed: $(cat /tmp/err)"
	held=$(fact "$json" ports.bind_held)
	[ "$held" = "$odd" ] || fail "$mode: ports.bind_held $held, ss shows $odd client connections on odd ports"
	case $mode in
	connect|noport)
		[ "$odd" = 0 ] || fail "$mode: the kernel gave $odd of $N connect()-chosen ports the odd parity"
		fired "$json" && fail "$mode: ports-held-by-bind fired: $(echo "$json" | jq -r '.findings[] | select(.id == "ports-held-by-bind") | .title')"
		;;
	bind)
		[ "$odd" = $N ] || fail "bind: the kernel gave $odd of $N bind(0) ports the odd parity"
		fired "$json" || fail "ports-held-by-bind did not fire with $held held ($(fact "$json" ports.bind_held_pct)%)"
		[ "$(fact "$json" ports.bind_held_pct)" = $((N * 100 / 1000)) ] ||
			fail "ports.bind_held_pct $(fact "$json" ports.bind_held_pct), expected $((N * 100 / 1000))"
		[ "$(fact "$json" ports.bind_top.remote)" = "127.0.0.1:$PORT" ] ||
			fail "ports.bind_top.remote $(fact "$json" ports.bind_top.remote), expected 127.0.0.1:$PORT"
		;;
	esac
	echo "$mode: $N connections, $odd on odd ports, ports.bind_held $held"
	stop_pid "$pid"
	# The closed connections' TIME_WAIT keep ports of their parity: wait them out of the count.
	wait_until "$TT_HANG" sh -c "[ \$(ss -Htn state established '( dport = :$PORT )' | wc -l) = 0 ]" ||
		fail "$mode: connections still open after the client exited"
done
echo "ok: plain connect() and IP_BIND_ADDRESS_NO_PORT quiet (even ports); bind() before connect() fires with $N ports held"
