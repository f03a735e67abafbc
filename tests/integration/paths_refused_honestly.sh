#!/bin/bash
# A path the user names that is not what it must
# be is an error, never a silent fall back; a refused store says why and how
# to fix it.
# 1. --data naming a missing path, an empty string or a regular file: exit 3
#    with one line naming it, for show, diff and apply; apply changes nothing
#    and records nothing (before: the built-in profile of that name was
#    applied).
# 2. A store that is group- or world-writable, or not owned by root: apply,
#    rollback and history say which and print the command that fixes it
#    (before: "Operation not permitted").
. "$(dirname "$0")/lib.sh"
need_root
enter_netns --tmpfs /etc/sysctl.d --tmpfs /var/lib --tmpfs /tmp -- "$@"
need_bin
store=/var/lib/tcptune
fin() { cat /proc/sys/net/ipv4/tcp_fin_timeout; }

echo "not a directory" > /tmp/plain-file
before=$(fin)
for d in /nonexistent/tcptune-data "" /tmp/plain-file; do
	for verb in show diff apply; do
		args=("$verb" web-server --data "$d")
		[ "$verb" = apply ] && args+=(--yes)
		out=$(run_bounded 10 "$BIN" "${args[@]}" 2>/tmp/err); rc=$?
		[ "$rc" = 3 ] || fail "$verb --data '$d': exit $rc, want 3 (stderr: $(cat /tmp/err))"
		[ -z "$out" ] || fail "$verb --data '$d' printed on stdout: $out"
		[ "$(wc -l < /tmp/err)" = 1 ] || fail "$verb --data '$d': want one stderr line, got: $(cat /tmp/err)"
		grep -q -- "--data" /tmp/err || fail "$verb --data '$d': the message does not name --data: $(cat /tmp/err)"
	done
done
[ "$(fin)" = "$before" ] || fail "an apply with a bad --data changed tcp_fin_timeout to $(fin)"
[ ! -e /etc/sysctl.d/99-tcptune.conf ] || fail "an apply with a bad --data wrote the managed file"
[ -z "$(ls -A "$store" 2>/dev/null | grep '^[0-9]')" ] || fail "an apply with a bad --data recorded an entry"
echo "  --data missing, empty or a file: exit 3 for show, diff and apply; nothing changed"

mkdir -p -m 0700 "$store"
"$BIN" apply web-server --yes >/dev/null 2>&1 || fail "apply web-server failed"
chmod 0777 "$store"
for cmd in "apply web-server --yes" "rollback --yes" "history"; do
	out=$(run_bounded 10 "$BIN" $cmd 2>&1); rc=$?
	[ "$rc" != 0 ] || fail "$cmd with a world-writable store succeeded: $out"
	echo "$out" | grep -q "writable by group and others (mode 0777); fix with: chmod go-w $store" ||
		fail "$cmd with a world-writable store: $out"
done
chmod 0700 "$store"
chown 4242 "$store"
out=$(run_bounded 10 "$BIN" history 2>&1) && fail "history with a store owned by uid 4242 succeeded: $out"
echo "$out" | grep -q "owned by uid 4242, not root; fix with: chown root $store" || fail "history, store owned by 4242: $out"
chown 0 "$store"
out=$("$BIN" rollback --yes 2>&1) || fail "rollback after the store was fixed: $out"
[ "$(fin)" = "$before" ] || fail "rollback left tcp_fin_timeout at $(fin)"
echo "  a group/world-writable or foreign-owned store: the reason and the fix named by apply, rollback and history"
echo "ok: bad --data paths are errors (exit 3); a refused store says why and how to fix it"
