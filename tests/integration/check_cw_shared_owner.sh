#!/bin/bash
# CLOSE_WAIT attribution when several processes hold the same socket, with
# enough processes for check to read /proc on two threads (docs/KERNEL.md
# §18.3): each socket goes to the holder /proc lists first (the lowest pid),
# whatever the threads' timing.
# One parent makes 24 CLOSE_WAIT sockets, then forks 320 children; each
# child keeps one socket and closes the others (sockets 0-11: any child,
# drawn at random; 12-23: only children of the last third), and the parent
# closes all of its own.  So the holders of one socket are spread over the
# pid range, and the two threads meet them in any order.
# Expected, from `ss -tanp state close-wait`: for each socket the lowest of
# the pids ss names; per owner, the number of sockets it gets.  check
# --format json must give exactly that, five times over through the BPF
# iterator and five times through /proc (docs/KERNEL.md §18.5).
. "$(dirname "$0")/lib.sh"
need_root
need_cmds ss jq
[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3 (Debian package python3)"
enter_netns --tmpfs /tmp -- "$@"
TCPTUNE=${TCPTUNE:-$TT_ROOT/build/tcptune}
[ -x "$TCPTUNE" ] || fail "missing $TCPTUNE (make)"
W=/tmp/work
mkdir -p "$W" || fail "mkdir $W"
SOCKETS=24 CHILDREN=320

# holder SOCKETS CHILDREN READY: the sockets, the children (each dies with
# the parent: PR_SET_PDEATHSIG), READY written once every child is set.
cp "$TT_ROOT/tests/tools/closewait.py" "$W/" || fail "cannot copy closewait.py"
cat >"$W/holder.py" <<'EOF'
from closewait import close_wait
import ctypes, os, random, signal, socket, sys, time
n, kids, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rnd = random.Random(18)
keep = [rnd.randrange(n // 2) for _ in range(kids)]
for j in range(kids - kids // 3, kids):
    keep[j] = rnd.randrange(n // 2, n)
for s in range(n):      # every socket held at least once
    keep[kids - 1 - s] = s
libc = ctypes.CDLL(None, use_errno=True)
held = close_wait(n)
r, w = os.pipe()
for j in range(kids):
    if os.fork() == 0:
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            os._exit(1)
        for i, c in enumerate(held):
            if i != keep[j]:
                c.close()
        os.close(r)
        os.write(w, b"x")
        os.close(w)
        while True:
            signal.pause()
os.close(w)
got = 0
while got < kids:
    b = os.read(r, 4096)
    if not b:
        break
    got += len(b)
for c in held:
    c.close()
with open(ready + ".tmp", "w") as f:
    f.write("%d %d\n" % (os.getpid(), got))
os.rename(ready + ".tmp", ready)
time.sleep(600)
EOF

start_bg /usr/bin/python3 "$W/holder.py" "$SOCKETS" "$CHILDREN" "$W/ready"
wait_for_file "$W/ready" "$TT_HANG" "$TT_LAST_PID" || fail "holder not ready"
read -r PARENT KIDS <"$W/ready"
[ "$KIDS" = "$CHILDREN" ] || fail "only $KIDS of $CHILDREN children started"

wait_until "$TT_HANG" sh -c '[ "$(ss -Htan state close-wait | wc -l)" = '"$SOCKETS"' ]' ||
	fail "ss shows $(ss -Htan state close-wait | wc -l) CLOSE-WAIT, not $SOCKETS"
# Every holder of every socket is set once the parent has written READY
# (each child wrote to the pipe after closing its other sockets).
ss -Htanp state close-wait >"$W/ss.txt" || fail "ss -tanp failed"
# For each socket, the lowest pid ss names; then "pid count" per owner.
grep -o 'users:(.*)' "$W/ss.txt" | while read -r users; do
	echo "$users" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -n | head -n 1
done | sort -n | uniq -c | awk '{ print $2, $1 }' >"$W/want.txt"
[ "$(awk '{ s += $2 } END { print s }' "$W/want.txt")" = "$SOCKETS" ] ||
	fail "ss: owners of $(awk '{ s += $2 } END { print s }' "$W/want.txt") sockets, not $SOCKETS: $(head -c 600 "$W/ss.txt")"
holders=$(grep -o 'pid=[0-9]*' "$W/ss.txt" | sort -u | wc -l)
[ "$holders" = "$CHILDREN" ] || fail "ss names $holders holders, not $CHILDREN"
grep -q "pid=$PARENT," "$W/ss.txt" && fail "ss: the parent $PARENT still holds a socket"
nprocs=$(ls /proc | grep -c '^[0-9]')

# The point is the two-thread scan: it runs with 2 CPUs or more (and 256
# processes in /proc); on one CPU the scenario would prove nothing.
[ "$(nproc)" -ge 2 ] || skip_part "the two-thread scan needs 2 CPUs (this machine has $(nproc))"
# Each way to the owners, against ss: the BPF iterator (the default where
# it loads: as root on a kernel with BTF, task iterators and bpf_loop(): 5.17 or later) and /proc
# (TCPTUNE_OWNERS=proc).
for way in bpf proc; do
for run in 1 2 3 4 5; do
	check_owners "$way" "$TCPTUNE" "$W/check.json" "$W/check.err"
	jq -r '.closewait.processes[] | "\(.pid) \(.count)"' "$W/check.json" | sort -n >"$W/got.txt"
	cmp -s "$W/want.txt" "$W/got.txt" ||
		fail "$way run $run: check's owners differ from the lowest pid of each socket's holders in ss -tanp:" \
			"$(diff "$W/want.txt" "$W/got.txt" | head -n 12 | tr '\n' ' ')"
	[ "$(jq -r '.facts["closewait.unattributed"]' "$W/check.json")" = 0 ] ||
		fail "$way run $run: check left $(jq -r '.facts["closewait.unattributed"]' "$W/check.json") unattributed"
	[ "$way" = bpf ] || [ "$(nproc)" -lt 2 ] ||
		grep -q "CLOSE_WAIT attribution: [0-9]* processes in /proc, 2 threads" "$W/check.err" ||
		fail "run $run: the scan did not use two threads: $(grep 'CLOSE_WAIT attribution' "$W/check.err")"
done
done
# In a pid namespace of its own the BPF program's pids would not be ours:
# check must not use it, and with /proc mounted for that namespace it sees
# none of the holders (the sockets stay unattributed, and a note says why).
unshare --pid --fork --mount-proc -- "$TCPTUNE" -v -v check --format json >"$W/pidns.json" 2>"$W/pidns.err"
rc=$?
[ "$rc" -le 2 ] || fail "check in a pid namespace exited $rc: $(head -c 800 "$W/pidns.err")"
grep -q "BPF iterator not used (not in the initial pid namespace)" "$W/pidns.err" ||
	fail "check in a pid namespace: no 'not in the initial pid namespace': $(grep 'socket owners' "$W/pidns.err")"
[ "$(jq -r '.facts["closewait.unattributed"]' "$W/pidns.json")" = "$SOCKETS" ] ||
	fail "check in a pid namespace attributed sockets to processes it cannot see: $(jq -c .closewait.processes "$W/pidns.json" | head -c 300)"
jq -e '[.notes[].text | select(test("not attributed to a process .*pid namespace"))] | length == 1' "$W/pidns.json" >/dev/null ||
	fail "check in a pid namespace: no note on the unattributed sockets: $(jq -c .notes "$W/pidns.json")"
echo "ok: $SOCKETS CLOSE_WAIT held by $CHILDREN processes ($nprocs in /proc), 5 runs through BPF and 5 through /proc:" \
	"each socket to its lowest-pid holder as ss -tanp names them ($(wc -l <"$W/want.txt") owners," \
	"pids $(head -n 1 "$W/want.txt" | cut -d' ' -f1)..$(tail -n 1 "$W/want.txt" | cut -d' ' -f1))"
