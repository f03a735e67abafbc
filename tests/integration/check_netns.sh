#!/bin/bash
# check --netns: audit a namespace made by `ip netns add`.  Per-namespace
# keys and sockets come from inside it (values that differ from the host's),
# host-wide keys from the host, labelled.  The host's network namespace is
# only read; everything written is inside the new one, and /run/netns is a
# tmpfs in a private mount namespace.
. "$(dirname "$0")/lib.sh"
need_cmds jq ss ip unshare
[ "$(id -u)" = 0 ] || skip "needs root to create a network namespace"
need_bin
GEN=$TT_ROOT/build/tools/sockscen
[ -x "$BIN" ] && [ -x "$GEN" ] || fail "build first: make build/tcptune build/tools/sockscen"

if [ -z "${TT_MOUNTNS:-}" ]; then
	export TT_MOUNTNS=1
	exec unshare --mount --propagation private -- bash "$TT_SCRIPT" "$@"
fi
mount -t tmpfs -o size=1m,mode=0755 tcptune-netns /run/netns 2>/dev/null ||
	{ mkdir -p /run/netns && mount -t tmpfs -o size=1m,mode=0755 tcptune-netns /run/netns; } ||
	skip "cannot mount a tmpfs on /run/netns"
ns=tcptune-test-$$
ip netns add "$ns" || skip "ip netns add failed"
trap 'tt_cleanup; ip netns del "$ns" 2>/dev/null' EXIT
host_fin=$(cat /proc/sys/net/ipv4/tcp_fin_timeout)
inner_fin=$(( host_fin == 33 ? 34 : 33 ))
ip netns exec "$ns" sh -c "ip link set lo up && echo $inner_fin > /proc/sys/net/ipv4/tcp_fin_timeout" ||
	fail "cannot set up $ns"
start_bg ip netns exec "$ns" "$GEN" --ready /run/netns/ready.$$ --tw-out 50 --tw-out2 10 --tw-in 5 --tw6 5 \
	--close-wait 20 --close-wait-unread 2 --estab 3 --timeout 600
wait_for_file /run/netns/ready.$$ "$TT_HANG" "$TT_LAST_PID" || fail "scenario in $ns did not start"
rm -f /run/netns/ready.$$

json=$("$BIN" check --netns "$ns" --format json 2>/run/netns/err.$$); rc=$?
[ "$rc" -le 2 ] || fail "check --netns exit $rc: $(cat /run/netns/err.$$)"
rm -f /run/netns/err.$$
fin=$(echo "$json" | jq '.facts["sysctl.net.ipv4.tcp_fin_timeout"]')
[ "$fin" = "$inner_fin" ] || fail "tcp_fin_timeout $fin, the namespace has $inner_fin (host $host_fin)"
[ "$(echo "$json" | jq -r '.sysctl["net.ipv4.tcp_fin_timeout"].scope')" = netns ] || fail "fin_timeout not labelled netns"
for st in listening time-wait close-wait established; do
	want=$(ip netns exec "$ns" ss -tan state "$st" | tail -n +2 | wc -l)
	key=$(case $st in listening) echo listen;; time-wait) echo time_wait;; close-wait) echo close_wait;; *) echo established;; esac)
	got=$(echo "$json" | jq ".sockets.states.$key")
	[ "$got" = "$want" ] || fail "$key: $got, ss in $ns says $want"
done
host_orphans=$(cat /proc/sys/net/ipv4/tcp_max_orphans 2>/dev/null)
if [ -n "$host_orphans" ]; then
	[ "$(echo "$json" | jq '.facts["sysctl.net.ipv4.tcp_max_orphans"]')" = "$host_orphans" ] ||
		fail "host-wide tcp_max_orphans not taken from the host"
	[ "$(echo "$json" | jq -r '.sysctl["net.ipv4.tcp_max_orphans"].scope')" = host ] ||
		fail "tcp_max_orphans not labelled host"
fi
# host.netns: the path, then the entered namespace's own inode, net:[N]
# (the inode stat shows of its bind mount), not the one check started in.
ino=$(stat -L -c %i "/run/netns/$ns") || fail "cannot stat /run/netns/$ns"
[ "$(echo "$json" | jq -r .host.netns)" = "/run/netns/$ns (net:[$ino])" ] ||
	fail "host.netns is $(echo "$json" | jq -c .host.netns), want \"/run/netns/$ns (net:[$ino])\""
# The host itself is untouched and still reads its own value.
[ "$("$BIN" check --format json | jq '.facts["sysctl.net.ipv4.tcp_fin_timeout"]')" = "$host_fin" ] ||
	fail "the host's tcp_fin_timeout changed"
# A path works too, and apply refuses --netns.
"$BIN" check --netns "/run/netns/$ns" --format json | jq -e ".facts[\"sysctl.net.ipv4.tcp_fin_timeout\"] == $inner_fin" \
	>/dev/null || fail "--netns PATH"
"$BIN" --netns "$ns" apply web-server --yes >/dev/null 2>&1 && fail "apply accepted --netns"
# A path that is not a namespace (a FIFO, which must not block the open, and a
# plain file, both on the /run/netns tmpfs) is refused at once with exit 3.
mkfifo /run/netns/notns.fifo && : > /run/netns/notns.file || fail "cannot make the non-namespaces"
for p in /run/netns/notns.fifo /run/netns/notns.file; do
	timeout "$TT_HANG" "$BIN" check --netns "$p" >/dev/null 2>/run/netns/err.$$
	rc=$?
	[ "$rc" = 3 ] && grep -q "not a network namespace" /run/netns/err.$$ ||
		fail "--netns $p: exit $rc, $(cat /run/netns/err.$$)"
done
echo "ok: --netns $ns: tcp_fin_timeout $inner_fin inside vs $host_fin on the host; census equals ss inside; host-wide tcp_max_orphans ${host_orphans:-absent} from the host"
