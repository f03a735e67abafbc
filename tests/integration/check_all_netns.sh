#!/bin/bash
# check --all-netns over 50 network namespaces made here: 49 by `ip netns
# add` (on a tmpfs /run/netns) and one held only by a process (no name, found
# through /proc/PID/ns/net).  20 carry the boot configuration's
# tcp_fin_timeout (a tmpfs /etc/sysctl.d sets 30), 30 stay at the kernel's
# default 60; one of the untuned ones holds a CLOSE_WAIT leak in a process
# inside (sockscen's cwholder), another ESTABLISHED and LISTEN sockets.
# Expected values come from the kernel (stat of the nsfs files, `ss` inside
# each namespace, the holder's pid from `ss -p`), never from tcptune.  Each
# namespace must be listed exactly once; other namespaces on the host may be
# listed too (other scenarios run at the same time) but never twice.
# Bounded: exactly 50 namespaces and 3 background processes, all removed and
# killed (by PID) at exit.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq ss ip unshare stat
need_bin
GEN=$TT_ROOT/build/tools/sockscen
[ -x "$BIN" ] && [ -x "$GEN" ] || fail "build first: make build/tcptune build/tools/sockscen"
enter_netns -- "$@"

mkdir -p /run/netns /etc/sysctl.d || fail "cannot make the mount points"
mount -t tmpfs -o size=1m,mode=0755 tt-allnetns /run/netns || fail "cannot mount a tmpfs on /run/netns"
mount -t tmpfs -o size=1m,mode=0755 tt-allnetns-sd /etc/sysctl.d || fail "cannot mount a tmpfs on /etc/sysctl.d"
# zz: after every other sysctl.d file of the host, so it wins at boot.
echo "net.ipv4.tcp_fin_timeout = 30" > /etc/sysctl.d/zz-tt-allnetns.conf || fail "cannot write the boot config"

P=tt$$
made=()
cleanup() {
	tt_cleanup
	for n in "${made[@]}"; do ip netns del "$n" 2>/dev/null; done
}
trap cleanup EXIT
for i in $(seq 1 49); do
	ip netns add "$P-$i" || fail "ip netns add $P-$i"
	made+=("$P-$i")
	ip netns exec "$P-$i" ip link set lo up || fail "lo up in $P-$i"
	if [ "$i" -le 20 ]; then
		ip netns exec "$P-$i" sh -c 'echo 30 > /proc/sys/net/ipv4/tcp_fin_timeout' || fail "tune $P-$i"
	fi
done
# The 50th: only a process holds it.
start_bg unshare --net -- sleep "$TT_HANG"
holder_ns_pid=$TT_LAST_PID
wait_until "$TT_HANG" sh -c "[ \"\$(stat -L -c %i /proc/$holder_ns_pid/ns/net)\" != \"\$(stat -L -c %i /proc/self/ns/net)\" ]" ||
	fail "unshare --net did not start"
ns50_ino=$(stat -L -c %i "/proc/$holder_ns_pid/ns/net") || fail "stat the 50th namespace"

leak=$P-21
start_bg ip netns exec "$leak" "$GEN" --ready /run/netns/ready.leak --tw-out 0 --tw-out2 0 --tw-in 0 --tw6 0 \
	--close-wait 60 --close-wait-unread 0 --estab 0 --orphan-fw1 0 --orphan-fw2 0 --timeout "$TT_HANG"
wait_for_file /run/netns/ready.leak "$TT_HANG" "$TT_LAST_PID" || fail "leak scenario in $leak did not start"
busy=$P-2
start_bg ip netns exec "$busy" "$GEN" --ready /run/netns/ready.busy --tw-out 0 --tw-out2 0 --tw-in 0 --tw6 0 \
	--close-wait 0 --close-wait-unread 0 --estab 7 --orphan-fw1 0 --orphan-fw2 0 --timeout "$TT_HANG"
wait_for_file /run/netns/ready.busy "$TT_HANG" "$TT_LAST_PID" || fail "scenario in $busy did not start"
rm -f /run/netns/ready.*

json=$(run_bounded "$TT_HANG" "$BIN" check --all-netns --format json 2>/tmp/tt-allnetns-err.$$); rc=$?
err=$(cat /tmp/tt-allnetns-err.$$); rm -f /tmp/tt-allnetns-err.$$
[ "$rc" -le 2 ] || fail "check --all-netns exit $rc: $err"
list=$(echo "$json" | jq -c '.namespaces.list') || fail "no namespaces in the JSON"

# Never twice: no inode is listed two times.
dups=$(echo "$list" | jq -r '.[].inode' | sort | uniq -d)
[ -z "$dups" ] || fail "namespaces listed twice: $dups"

# Each of ours exactly once, by the inode the kernel gives its nsfs file.
ss_counts() {	# NAME: "STATE count" lines from ss inside, sorted
	ip netns exec "$1" ss -tan | tail -n +2 | awk '{ print $1 }' | sort | uniq -c | awk '{ print $2, $1 }'
}
json_counts() {	# INODE: the same from tcptune's census of that namespace
	echo "$list" | jq -r --argjson ino "$1" '.[] | select(.inode == $ino) | .states | to_entries[] |
		select(.value > 0) | "\({established:"ESTAB", syn_sent:"SYN-SENT", syn_recv:"SYN-RECV",
		fin_wait1:"FIN-WAIT-1", fin_wait2:"FIN-WAIT-2", time_wait:"TIME-WAIT", close:"UNCONN",
		close_wait:"CLOSE-WAIT", last_ack:"LAST-ACK", listen:"LISTEN", closing:"CLOSING"}[.key]) \(.value)"' | sort
}
untuned_want=() untuned_got=()
for i in $(seq 1 49); do
	n=$P-$i
	ino=$(stat -L -c %i "/run/netns/$n") || fail "stat /run/netns/$n"
	c=$(echo "$list" | jq --argjson ino "$ino" '[.[] | select(.inode == $ino)] | length')
	[ "$c" = 1 ] || fail "$n (inode $ino) listed $c times"
	[ "$(echo "$list" | jq -r --argjson ino "$ino" '.[] | select(.inode == $ino) | .name')" = "$n" ] ||
		fail "$n not named"
	want=$(ss_counts "$n"); got=$(json_counts "$ino")
	[ "$got" = "$want" ] || fail "census of $n: tcptune [$(echo $got)], ss [$(echo $want)]"
	fin=$(ip netns exec "$n" cat /proc/sys/net/ipv4/tcp_fin_timeout)
	[ "$(echo "$list" | jq --argjson ino "$ino" '.[] | select(.inode == $ino) | .sysctl["net.ipv4.tcp_fin_timeout"]')" = "$fin" ] ||
		fail "$n: tcp_fin_timeout not $fin"
	u=$(echo "$list" | jq --argjson ino "$ino" '[.[] | select(.inode == $ino) | .untuned[] |
		select(.key == "net.ipv4.tcp_fin_timeout" and .value == "60" and .host_boot == "30")] | length')
	if [ "$fin" = 60 ]; then
		[ "$u" = 1 ] || fail "$n has the kernel default tcp_fin_timeout 60 and is not listed untuned"
		untuned_want+=("$n")
	else
		[ "$u" = 0 ] || fail "$n has tcp_fin_timeout $fin and is listed untuned"
	fi
done
c=$(echo "$list" | jq --argjson ino "$ns50_ino" '[.[] | select(.inode == $ino)] | length')
[ "$c" = 1 ] || fail "the namespace held only by pid $holder_ns_pid (inode $ns50_ino) listed $c times"
[ "$(echo "$list" | jq --argjson ino "$ns50_ino" '.[] | select(.inode == $ino) | .untuned | length')" -ge 1 ] ||
	fail "the process-held namespace is at defaults and not listed untuned"
[ "${#untuned_want[@]}" = 29 ] || fail "expected 29 untuned named namespaces, the kernel shows ${#untuned_want[@]}"

# The leak: its namespace and the process holding the sockets, as ss -p sees them.
leak_ino=$(stat -L -c %i "/run/netns/$leak")
want_pid=$(ip netns exec "$leak" ss -tanp state close-wait | grep -o 'pid=[0-9]*' | sort | uniq -c | sort -rn |
	awk 'NR == 1 { sub("pid=", "", $2); print $2 }')
want_cw=$(ip netns exec "$leak" ss -tan state close-wait | tail -n +2 | wc -l)
[ -n "$want_pid" ] || fail "ss -p shows no CLOSE_WAIT holder in $leak"
want_held=$(ip netns exec "$leak" ss -tanp state close-wait | grep -c "pid=$want_pid,")
got=$(echo "$list" | jq -r --argjson ino "$leak_ino" '.[] | select(.inode == $ino) |
	"\(.close_wait) \(.close_wait_holder.pid) \(.close_wait_holder.count) \(.close_wait_holder.comm)"')
[ "$got" = "$want_cw $want_pid $want_held cwholder" ] ||
	fail "leak in $leak: tcptune says '$got', ss says $want_cw CLOSE_WAIT, $want_held held by pid $want_pid (cwholder)"
echo "$list" | jq -e --argjson ino "$leak_ino" '.[] | select(.inode == $ino) | .findings[] | select(.id == "close-wait-leak")' \
	>/dev/null || fail "close-wait-leak did not fire in $leak"
# Quiet elsewhere: no other namespace of ours has close-wait-leak.
for i in 1 2 30; do
	ino=$(stat -L -c %i "/run/netns/$P-$i")
	echo "$list" | jq -e --argjson ino "$ino" '.[] | select(.inode == $ino) | .findings[] | select(.id == "close-wait-leak")' \
		>/dev/null && fail "close-wait-leak fired in $P-$i, which has no CLOSE_WAIT"
done

# The text report: the leak first among ours, named with its process; the
# untuned ones listed; the advice on setting keys per container.
text=$(run_bounded "$TT_HANG" "$BIN" check --all-netns --format text 2>/dev/null)
echo "$text" | grep -q "^  netns $leak (inode $leak_ino)" || fail "text report does not name $leak"
echo "$text" | grep -q "CLOSE_WAIT: $want_held held by cwholder (pid $want_pid)" || fail "text report does not name the holder"
echo "$text" | grep -q "docker run --sysctl net.ipv4.tcp_fin_timeout=30" || fail "no docker advice"
untuned_line=$(echo "$text" | sed -n '/^  untuned:/,/^$/p')
for n in "${untuned_want[@]}"; do
	echo "$untuned_line" | grep -qw -- "$n" || fail "$n missing from the untuned list"
done
for i in $(seq 1 20); do
	echo "$untuned_line" | grep -qw -- "$P-$i" && fail "$P-$i (tuned) in the untuned list"
done
# Worst first: the leaking namespace comes before every quiet one of ours.
first_leak=$(echo "$text" | grep -n "^  netns $leak " | cut -d: -f1)
first_quiet=$(echo "$text" | grep -n "^  netns $P-1 " | cut -d: -f1)
[ -z "$first_quiet" ] || [ "$first_leak" -lt "$first_quiet" ] || fail "$leak is not listed before $P-1"

# Prometheus: bounded labels only.
prom=$(run_bounded "$TT_HANG" "$BIN" check --all-netns --format prometheus 2>/dev/null)
echo "$prom" | grep -q '^tcptune_netns_finding{rule="close-wait-leak",severity="warning"} [1-9]' ||
	fail "no per-rule namespace count in Prometheus"
echo "$prom" | grep '^tcptune_netns' | grep -q "$P\|inode\|pid=" && fail "unbounded label in Prometheus"
echo "ok: $(echo "$list" | jq length) namespaces listed once each; 50 of ours (29+1 untuned, the leak in $leak held by pid $want_pid) match ss"
