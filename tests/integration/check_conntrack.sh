#!/bin/bash
# Conntrack pressure (rules/conntrack.yaml) with a real connection-tracking
# table in a private network namespace.  Conntrack is built into the kernel
# but a namespace tracks nothing until a ruleset uses it, so the test loads
# an nft ruleset with `ct state` rules (docs/KERNEL.md §19.4).
#
#  1. Healthy: 20 connections opened and closed through the ruleset.  The
#     table tracks them (nf_conntrack_count > 0), ctstat.* equal the sums
#     of /proc/net/stat/nf_conntrack, and conntrack-invalid and
#     conntrack-drops stay quiet.
#  2. Invalid: a connection opened before the ruleset existed, then
#     nf_conntrack_tcp_loose 0 (per namespace): conntrack may not pick up a
#     connection in the middle, so each of its segments is invalid.  nft's own
#     `ct state invalid counter` counts them; conntrack-invalid fires with
#     delta.ctstat.invalid equal to the kernel's increase between the checks.
#  3. Established timeout against keepalive: 3600 s fires (below RFC 5382's
#     7440); 7440 with tcp_keepalive_time 7200 is quiet; 8000 with
#     tcp_keepalive_time 9000 fires (idle kept-alive connections outlive
#     their entry).  All per-namespace keys, written in this namespace only.
# conntrack-drops firing needs a full table, i.e. nf_conntrack_max, which is
# host-wide (read-only here), so it is covered by the fixture rows of
# check_rules_table.sh; here its counters are checked against the kernel.
# Bounded: one Python process, 21 connections, killed by PID at exit.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq python3 nft
need_bin
enter_netns --tmpfs /tmp -- "$@"

[ -r /proc/net/stat/nf_conntrack ] || fail "no /proc/net/stat/nf_conntrack: this kernel has no conntrack"
PORT=18640
cat > /tmp/ct.py <<'PY'
import os, socket, sys, time
port, ready, go, done = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(64)
# The connection opened before any ruleset: conntrack never saw its SYN.
old = socket.create_connection(("127.0.0.1", port)); peer, _ = s.accept()
open(ready, "w").write("ok\n")
deadline = time.time() + 600
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.05)
mode = open(go).read().strip()
if mode == "fresh":
    for i in range(20):
        c = socket.create_connection(("127.0.0.1", port)); a, _ = s.accept()
        c.sendall(b"x"); a.recv(1); c.close(); a.close()
os.unlink(go)
open(done, "w").write("ok\n")
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.05)
for i in range(20):
    old.sendall(b"x"); peer.recv(1)
open(done + "2", "w").write("ok\n")
time.sleep(600)
PY
start_bg python3 /tmp/ct.py $PORT /tmp/ready /tmp/go /tmp/done
PY_PID=$TT_LAST_PID
wait_for_file /tmp/ready "$TT_HANG" "$PY_PID" || fail "the Python peer did not start"

nft -f - <<'NFT' || fail "cannot load the nft ruleset"
table inet tt {
	chain input {
		type filter hook input priority 0;
		ct state invalid counter
		ct state established,related counter accept
		ct state new counter accept
	}
}
NFT

# Sum of one column over the per-CPU lines, from the kernel's file.
ctstat() {
	local col v sum=0
	col=$(head -1 /proc/net/stat/nf_conntrack | tr -s ' ' '\n' | grep -nx "$1" | cut -d: -f1)
	[ -n "$col" ] || { echo missing; return; }
	for v in $(awk -v c="$col" 'NR > 1 { print $c }' /proc/net/stat/nf_conntrack); do
		sum=$((sum + 16#$v))
	done
	echo "$sum"
}
check() { "$BIN" check --format json 2>/tmp/err; }
next_second() { local t; t=$(date +%s); wait_until "$TT_HANG" sh -c "[ \$(date +%s) -gt $((t + 1)) ]"; }
fired() { echo "$1" | jq -e --arg id "$2" '.findings[] | select(.id == $id)' >/dev/null; }
fact() { echo "$1" | jq -r --arg k "$2" '.facts[$k]'; }

# ---- 1. healthy ---------------------------------------------------------------
json=$(check) || [ $? -le 2 ] || fail "first check failed: $(cat /tmp/err)"
inv0=$(ctstat invalid)
next_second
echo fresh > /tmp/go
wait_for_file /tmp/done "$TT_HANG" "$PY_PID" || fail "20 fresh connections did not complete"
rm -f /tmp/done
count=$(cat /proc/sys/net/netfilter/nf_conntrack_count)
[ "$count" -gt 0 ] || fail "the ruleset tracks nothing: nf_conntrack_count $count after 20 connections"
json=$(check) || [ $? -le 2 ] || fail "check failed: $(cat /tmp/err)"
inv1=$(ctstat invalid)
for c in drop early_drop insert_failed invalid; do
	k=$(ctstat $c)
	[ "$k" != missing ] || fail "the kernel's file has no '$c' column"
	got=$(fact "$json" "ctstat.$c")
	# invalid may move between the check and our read; the others never here.
	if [ "$c" = invalid ]; then
		[ "$got" -ge "$inv0" ] && [ "$got" -le "$inv1" ] || fail "ctstat.invalid $got, kernel $inv0..$inv1"
	else
		[ "$got" = "$k" ] || fail "ctstat.$c $got, the kernel's sum $k"
	fi
done
fired "$json" conntrack-invalid && fail "conntrack-invalid fired on a healthy table: $(fact "$json" evidence.ctstat.invalid)"
fired "$json" conntrack-drops && fail "conntrack-drops fired on a healthy table: $(fact "$json" evidence.ctstat.drop)"
fired "$json" conntrack-established-short && fail "conntrack-established-short fired on the defaults"
c1=$(cat /proc/sys/net/netfilter/nf_conntrack_count)
json_c=$(check) || [ $? -le 2 ] || fail "check failed: $(cat /tmp/err)"
c2=$(cat /proc/sys/net/netfilter/nf_conntrack_count)
if [ "$c1" = "$c2" ]; then
	[ "$(fact "$json_c" nat.conntrack_count)" = "$c1" ] ||
		fail "nat.conntrack_count $(fact "$json_c" nat.conntrack_count), the kernel's $c1"
fi
[ "$(fact "$json_c" nat.conntrack_max)" = "$(cat /proc/sys/net/netfilter/nf_conntrack_max)" ] ||
	fail "nat.conntrack_max $(fact "$json_c" nat.conntrack_max), the kernel's $(cat /proc/sys/net/netfilter/nf_conntrack_max)"

# ---- 2. invalid segments ------------------------------------------------------------
nft_invalid() { nft list chain inet tt input | awk '/ct state invalid counter/ { for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1) }'; }
echo 0 > /proc/sys/net/netfilter/nf_conntrack_tcp_loose || fail "cannot set nf_conntrack_tcp_loose in the namespace"
json=$(check) || [ $? -le 2 ] || fail "check failed: $(cat /tmp/err)"
before=$(ctstat invalid)
nft0=$(nft_invalid)
next_second
echo old > /tmp/go
wait_for_file /tmp/done2 "$TT_HANG" "$PY_PID" || fail "20 round trips on the old connection did not complete"
after=$(ctstat invalid)
nft1=$(nft_invalid)
[ $((nft1 - nft0)) -ge 20 ] || fail "nft counted $((nft1 - nft0)) invalid packets for 20 round trips on an untracked connection"
json=$(check) || [ $? -le 2 ] || fail "check failed: $(cat /tmp/err)"
fired "$json" conntrack-invalid || fail "conntrack-invalid did not fire: $(echo "$json" | jq -c '.facts | with_entries(select(.key | test("ctstat.invalid|delta.seconds")))')"
got=$(fact "$json" delta.ctstat.invalid)
[ "$got" = $((after - before)) ] || fail "delta.ctstat.invalid $got, the kernel's increase $((after - before))"
echo "$json" | jq -e '.findings[] | select(.id == "conntrack-invalid") | .title | test("since the previous check")' >/dev/null ||
	fail "the finding's title shows no evidence: $(echo "$json" | jq -r '.findings[] | select(.id == "conntrack-invalid") | .title')"
fired "$json" conntrack-drops && fail "conntrack-drops fired for invalid packets"
prom=$("$BIN" check --no-state --format prometheus 2>/tmp/err | awk '/^tcptune_conntrack_stat_total\{stat="invalid"\}/ { print $2 }')
k=$(ctstat invalid)
[ "$prom" = "$k" ] || fail "Prometheus tcptune_conntrack_stat_total{stat=\"invalid\"} '$prom', the kernel's sum $k"

# ---- 3. established timeout against keepalive ---------------------------------
setk() { echo "$2" > "/proc/sys/$1" || fail "cannot set $1=$2 in the namespace"; }
setk net/netfilter/nf_conntrack_tcp_timeout_established 3600
fired "$(check)" conntrack-established-short || fail "conntrack-established-short quiet with an established timeout of 3600 s"
setk net/netfilter/nf_conntrack_tcp_timeout_established 7440
setk net/ipv4/tcp_keepalive_time 7200
fired "$(check)" conntrack-established-short && fail "conntrack-established-short fired at 7440 s with keepalive after 7200 s"
setk net/netfilter/nf_conntrack_tcp_timeout_established 8000
setk net/ipv4/tcp_keepalive_time 9000
json=$(check)
fired "$json" conntrack-established-short || fail "conntrack-established-short quiet at 8000 s with keepalive after 9000 s"
echo "$json" | jq -e '.findings[] | select(.id == "conntrack-established-short") | .title | test("8000 s.*9000 s")' >/dev/null ||
	fail "title does not name both values: $(echo "$json" | jq -r '.findings[] | select(.id == "conntrack-established-short") | .title')"

echo "ok: healthy table ($count entries) quiet; $((after - before)) invalid (nft: $((nft1 - nft0)) packets) fire conntrack-invalid with delta $got; established 3600 / 7440 vs 7200 / 8000 vs 9000: fires / quiet / fires"
