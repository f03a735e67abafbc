#!/bin/bash
# The entry rollback shows before it asks is the entry it undoes: both come
# from backup/ (txn_rollback_target(), rollback_find_target()).  Before, the
# command line picked its own target with strcmp, so `rollback 1` answered
# "no transaction '1'" while the transaction itself takes "1" as "0001"; and
# a target the transaction refuses was shown as if it would be undone.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq
enter_netns --tmpfs /etc/sysctl.d --tmpfs /var/lib -- "$@"
need_store
fin() { cat /proc/sys/net/ipv4/tcp_fin_timeout; }

before=$(fin)
out=$("$BIN" apply web-server --yes 2>&1) || fail "apply web-server: $out"
[ "$(fin)" = 30 ] || fail "apply web-server left tcp_fin_timeout at $(fin)"
# 1. The id as a number: "1" is entry 0001.
out=$("$BIN" rollback 1 --yes 2>&1) || fail "rollback 1: $out"
echo "$out" | grep -q '^Rolling back 0001: apply web-server' || fail "rollback 1 did not show entry 0001: $out"
[ "$(fin)" = "$before" ] || fail "rollback 1 left tcp_fin_timeout at $(fin), want $before"
# 2. A target the transaction refuses is refused before the prompt, with its
#    reason: entry 0002 is the rollback itself.
out=$("$BIN" rollback 2 --yes 2>&1) && fail "rollback 2 (a rollback entry) succeeded: $out"
echo "$out" | grep -q 'transaction 0002 is a rollback itself' || fail "rollback 2: wrong refusal: $out"
echo "$out" | grep -q '^Rolling back' && fail "rollback 2 showed a target it then refused: $out"
# 3. Nothing left to undo.
out=$("$BIN" rollback --yes 2>&1) && fail "rollback with nothing applied succeeded: $out"
echo "$out" | grep -q 'no applied transaction to undo' || fail "empty rollback: $out"
echo "ok: rollback 1 undid 0001 (tcp_fin_timeout 30 -> $before); a rollback entry and an empty store are refused before the prompt"
