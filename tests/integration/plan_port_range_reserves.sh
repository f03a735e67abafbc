#!/bin/bash
# plan_port_range_reserves.sh (issue #16, must-show 4): a profile that moves
# ip_local_port_range (reverse-proxy: 10240-65535) checks this host first.
#
# In a private network namespace: 20000 and 40000-40010 are reserved
# already (written to /proc/sys), and a python3 process (renamed "svc-mongo",
# prctl) listens on 127.0.0.1:15000 and [::1]:27017, both inside the new
# range and outside the current one, and on 127.0.0.1:8080, outside both.
# `diff reverse-proxy` must name both listeners with the process that ss -p
# shows, not 8080, name the reserved ports inside the new range, and plan
# ip_local_reserved_ports = 15000,20000,27017,40000-40010 (the union: nothing
# dropped) as its first row and first line of the managed file, before
# ip_local_port_range.  After `apply reverse-proxy --yes`, /proc/sys must
# read exactly that, and the kernel's choice of ports must respect it:
# 2000 connect()s without bind() never get local port 15000 or 27017
# (ss).  `rollback --yes` restores "20000,40000-40010" and the old range.
# Bounded: one listener process, 2000 short connections.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq ss python3
enter_netns --tmpfs /etc/sysctl.d --tmpfs /var/lib --tmpfs /tmp -- "$@"
need_store
MANAGED=/etc/sysctl.d/99-tcptune.conf
RES=/proc/sys/net/ipv4/ip_local_reserved_ports
RANGE=/proc/sys/net/ipv4/ip_local_port_range

echo 20000,40000-40010 > "$RES" || fail "cannot reserve ports in the namespace"
[ "$(cat "$RES")" = "20000,40000-40010" ] || fail "the kernel reads back '$(cat "$RES")'"
old_range=$(tr '\t' ' ' < "$RANGE")

cat > /tmp/svc.py <<'PY'
import ctypes, socket, sys, time
ctypes.CDLL(None).prctl(15, b"svc-mongo", 0, 0, 0)     # PR_SET_NAME
ls = []
for fam, addr, port in ((socket.AF_INET, "127.0.0.1", 15000), (socket.AF_INET6, "::1", 27017),
                        (socket.AF_INET, "127.0.0.1", 8080)):
    s = socket.socket(fam); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(4096); ls.append(s)
open(sys.argv[1], "w").write("ok\n")
deadline = time.time() + 900
for s in ls: s.setblocking(False)
while time.time() < deadline:           # accept and close whatever comes
    for s in ls:
        try:
            c, _ = s.accept(); c.close()
        except BlockingIOError:
            pass
    time.sleep(0.01)
PY
start_bg python3 /tmp/svc.py /tmp/svc.ready
SVC=$TT_LAST_PID
wait_for_file /tmp/svc.ready "$TT_HANG" "$SVC" || fail "the service did not start"
want_who=$(ss -Hltnp '( sport = :15000 )' | grep -o 'users:(("[^"]*",pid=[0-9]*' | sed 's/users:(("\([^"]*\)",pid=\([0-9]*\)/\1 (pid \2)/')
[ "$want_who" = "svc-mongo (pid $SVC)" ] || fail "ss -p shows '$want_who', expected svc-mongo (pid $SVC)"

json=$("$BIN" diff reverse-proxy --format json) || fail "diff failed"
got=$(echo "$json" | jq -r '.port_range.listeners | map("\(.port) \(.process) \(.newly_inside) \(.reserved_already)") | join("; ")')
[ "$got" = "15000 $want_who true false; 27017 $want_who true false" ] ||
	fail "the plan names listeners '$got'"
[ "$(echo "$json" | jq -r .port_range.reserved_inside)" = "20000,40000-40010" ] ||
	fail "reserved inside the new range: '$(echo "$json" | jq -r .port_range.reserved_inside)'"
first=$(echo "$json" | jq -r '.keys[0] | "\(.key) \(.runtime) \(.profile) \(.change) \(.reservation)"')
[ "$first" = "net.ipv4.ip_local_reserved_ports 20000,40000-40010 15000,20000,27017,40000-40010 true true" ] ||
	fail "first plan row: '$first'"
txt=$("$BIN" diff reverse-proxy)
echo "$txt" | grep -qx "  listener on port 15000: $want_who; newly inside; reserved by this plan" ||
	fail "the text plan does not name 15000: $txt"
echo "$txt" | grep -q 'port 8080' && fail "the text plan names 8080, outside the new range"

out=$("$BIN" apply reverse-proxy --yes 2>&1) || fail "apply failed: $out"
[ "$(cat "$RES")" = "15000,20000,27017,40000-40010" ] || fail "after apply the kernel reserves '$(cat "$RES")'"
[ "$(tr '\t' ' ' < "$RANGE")" = "10240 65535" ] || fail "after apply the range is '$(cat "$RANGE")'"
lines=$(grep -n -E '^net\.ipv4\.ip_local_(reserved_ports|port_range) = ' "$MANAGED" | cut -d: -f1 | tr '\n' ' ')
set -- $lines
[ $# = 2 ] && [ "$1" -lt "$2" ] && grep -qx 'net.ipv4.ip_local_reserved_ports = 15000,20000,27017,40000-40010' "$MANAGED" ||
	fail "the managed file does not reserve before the range: $(cat "$MANAGED")"

# The kernel's own choice: 2000 connections to the service on 8080, no bind().
cat > /tmp/conn.py <<'PY'
import socket
ports = set()
for _ in range(2000):
    c = socket.create_connection(("127.0.0.1", 8080), timeout=30)
    ports.add(c.getsockname()[1]); c.close()
bad = sorted(p for p in ports if p in (15000, 20000, 27017) or 40000 <= p <= 40010)
print(len(ports), min(ports), max(ports), bad)
PY
res=$(run_bounded "$TT_HANG" python3 /tmp/conn.py) || fail "connections failed"
set -- $res
[ "$4" = "[]" ] || fail "connect() took reserved ports: $res"
[ "$2" -ge 10240 ] && [ "$3" -le 65535 ] || fail "local ports outside the new range: $res"
echo "ok: plan names 15000 and 27017 ($want_who), keeps 20000,40000-40010; after apply $(cat "$RES") reserved; $1 distinct local ports $2..$3, none reserved"

# Does the kernel keep the written reservation?  The 2000 connections above
# rarely reach a reserved port (connect() scans even offsets from a hashed
# start, and a listener's port is skipped anyway).  So for a moment the
# range is 20 ports around 20000, reserved and held by no listener: held
# connections must take the 19 others, then connect() fails EADDRNOTAVAIL.
echo "19990 20009" > "$RANGE" || fail "cannot narrow the range for the check"
cat > /tmp/fill.py <<'PY'
import errno, socket
held, ports = [], []
while len(held) < 40:
    try:   # to 15000: no 4-tuple left in TIME_WAIT by the 2000 above (they went to 8080)
        c = socket.create_connection(("127.0.0.1", 15000), timeout=30)
    except OSError as e:
        print(len(held), "EADDRNOTAVAIL" if e.errno == errno.EADDRNOTAVAIL else e.strerror,
              20000 in ports); break
    held.append(c); ports.append(c.getsockname()[1])
else:
    print(len(held), "none", 20000 in ports)
PY
fill=$(run_bounded "$TT_HANG" python3 /tmp/fill.py) || fail "the connections failed: $fill"
echo "10240 65535" > "$RANGE" || fail "cannot restore the range"
[ "$fill" = "19 EADDRNOTAVAIL False" ] ||
	fail "with 19990-20009 and 20000 reserved, expected 19 connections then EADDRNOTAVAIL, never port 20000: $fill"
echo "ok: with the range 19990-20009, the kernel gave 19 ports, never the reserved 20000, then EADDRNOTAVAIL"

out=$("$BIN" rollback --yes 2>&1) || fail "rollback failed: $out"
[ "$(cat "$RES")" = "20000,40000-40010" ] || fail "after rollback the kernel reserves '$(cat "$RES")'"
[ "$(tr '\t' ' ' < "$RANGE")" = "$old_range" ] || fail "after rollback the range is '$(cat "$RANGE")'"
echo "ok: rollback restores the reservation 20000,40000-40010 and the range $old_range"

# `apply default` does not empty the reservation, and says so.
"$BIN" apply default --dry-run >"/tmp/dflt.txt" 2>&1 || fail "apply default --dry-run failed: $(cat /tmp/dflt.txt)"
grep -q '^Left alone: net.ipv4.ip_local_reserved_ports = 20000,40000-40010 ' /tmp/dflt.txt ||
	fail "apply default does not say it leaves the reservation: $(cat /tmp/dflt.txt)"

# Nothing reserved: the plan shows the empty set as such, never as a blank.
echo > "$RES" || fail "cannot empty ip_local_reserved_ports"
[ -z "$(cat "$RES")" ] || fail "the kernel still reserves '$(cat "$RES")'"
"$BIN" diff reverse-proxy | grep -Eq '^\* net\.ipv4\.ip_local_reserved_ports +\(empty\) -> 15000,27017 +reserve$' ||
	fail "the plan does not show the empty reservation as (empty): $("$BIN" diff reverse-proxy | grep -A1 reserved_ports)"
echo "ok: with nothing reserved the plan reads (empty) -> 15000,27017"
exit 0
