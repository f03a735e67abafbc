#!/bin/bash
# A --root tree is data, not a place to be led out of: a process's comm that
# is an absolute symlink to a host file must not bring that file into the
# report, and a FIFO planted where a /proc file should be must not hang check
# (it is bad input: exit 3, one line naming the file).
set -u
. "$(dirname "$0")/lib.sh"
need_cmds mkfifo timeout
need_scratch
tmp=$W
root=$tmp/root
cp -a "$TT_ROOT/tests/fixtures/roots/old-kernel" "$root" || fail "cannot copy the fixture"

# 1. proc/4242/comm (the CLOSE_WAIT owner's name) -> a host file outside the tree.
printf 'SECRET-c0ffee\n' > "$tmp/secret"
chmod 0600 "$tmp/secret"
rm -f "$root/proc/4242/comm"
ln -s "$tmp/secret" "$root/proc/4242/comm"
out=$(timeout "$TT_HANG" "$BIN" check --root "$root" --format json 2>&1)
rc=$?
[ "$rc" -le 3 ] || fail "check exit $rc: $out"
case $out in *SECRET-c0ffee*) fail "a host file reached the report through a symlink in the tree" ;; esac
json=$(timeout "$TT_HANG" "$BIN" check --root "$root" --format json 2>/dev/null)
[ "$(echo "$json" | jq '.closewait.processes[0].count')" = 2 ] || fail "CLOSE_WAIT owner lost"
comm=$(echo "$json" | jq -r '.closewait.processes[0].comm')
[ "$comm" = "?" ] || fail "comm through an escaping symlink shown as '$comm', want '?'"

# 2. FIFOs where /proc files should be: check ends at once, exit 3, file named.
for rel in proc/net/netstat proc/net/tcp proc/sys/net/ipv4/tcp_fin_timeout; do
	cp -a "$TT_ROOT/tests/fixtures/roots/old-kernel" "$tmp/r2" || fail "cannot copy the fixture"
	rm -f "$tmp/r2/$rel"
	mkfifo "$tmp/r2/$rel" || fail "mkfifo $rel"
	start=$(date +%s%N)
	timeout "$TT_HANG" "$BIN" check --root "$tmp/r2" --format json >"$tmp/json" 2>"$tmp/err"
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$rc" != 124 ] || fail "check hung on a FIFO at $rel"
	[ "$rc" = 3 ] || fail "FIFO at $rel: exit $rc, want 3 (bad input): $(cat "$tmp/err")"
	grep -q "$rel: not a regular file" "$tmp/err" || fail "FIFO at $rel: the error does not name it: $(cat "$tmp/err")"
	jq -e '.sysctl' "$tmp/json" >/dev/null || fail "FIFO at $rel: no report"
	echo "  FIFO at $rel: exit 3 in ${ms} ms: $(grep "$rel" "$tmp/err" | head -n 1)"
	rm -rf "$tmp/r2"
done
echo "ok: an escaping comm symlink shows '?', not the host file; FIFOs in the tree are refused without blocking"
