#!/bin/bash
# One process holding 3,000 CLOSE_WAIT sockets (docs/KERNEL.md §18.5): more
# than a BPF iterator can write one record each for in one task's output
# (its seq_file refuses a task whose output passes 32 KiB: 1,024 records of
# 32 bytes).  check must attribute all 3,000 to that process, as
# `ss -tanp state close-wait` does, through the BPF iterator (as root) and
# through /proc (TCPTUNE_OWNERS=proc).
. "$(dirname "$0")/lib.sh"
need_root
need_cmds ss jq
enter_netns --tmpfs /tmp -- "$@"
need_bin
GEN=$TT_ROOT/build/tools/sockscen
[ -x "$GEN" ] || fail "build first: make build/tools/sockscen"
N=3000
# 3,000 accepted sockets in the holder and 3,000 client ends in sockscen.
ulimit -n 8192 || fail "cannot raise the open files limit to 8192 (hard limit $(ulimit -Hn))"

start_bg "$GEN" --ready /tmp/ready --tw-out 0 --tw-out2 0 --tw-in 0 --tw6 0 --close-wait "$N" \
	--close-wait-unread 0 --estab 0 --orphan-fw1 0 --orphan-fw2 0 --holder-name bigholder --timeout 600
wait_for_file /tmp/ready "$TT_HANG" "$TT_LAST_PID" || fail "scenario did not start"
pid=$(sed -n 's/^holder_pid=//p' /tmp/ready)
[ -n "$pid" ] || fail "sockscen wrote no holder_pid: $(cat /tmp/ready)"
ss -Htanp state close-wait >/tmp/ss.txt || fail "ss -tanp failed"
[ "$(grep -c "pid=$pid," /tmp/ss.txt)" = "$N" ] ||
	fail "ss: pid $pid holds $(grep -c "pid=$pid," /tmp/ss.txt) CLOSE_WAIT, not $N"
[ "$(grep -c 'pid=' /tmp/ss.txt)" = "$N" ] || fail "ss: other holders: $(grep -v "pid=$pid," /tmp/ss.txt | head -3)"

for way in bpf proc; do
	check_owners "$way" "$BIN" /tmp/check.json /tmp/check.err
	got=$(jq -c '[.closewait.processes[] | {pid, comm, count}]' /tmp/check.json)
	[ "$got" = "[{\"pid\":$pid,\"comm\":\"bigholder\",\"count\":$N}]" ] ||
		fail "$way: check's owners $got, ss -tanp: pid $pid (bigholder) holds $N"
	[ "$(jq -r '.facts["closewait.unattributed"]' /tmp/check.json)" = 0 ] ||
		fail "$way: $(jq -r '.facts["closewait.unattributed"]' /tmp/check.json) unattributed"
	[ "$way" = proc ] || walk=$(grep -o 'socket owners: BPF task iterator, [0-9]* socket descriptors' /tmp/check.err)
done
echo "ok: pid $pid holds $N CLOSE_WAIT (ss -tanp), check says the same through the BPF iterator ($walk)" \
	"and through /proc"
