#!/bin/bash
# PAWS rejects (rules/paws.yaml) made by the kernel in a private network
# namespace with tests/tools/paws_tw.py: one real connection whose server
# side closes first (TIME_WAIT holding the client's last TSval), then 20
# SYNs for the same 4-tuple from a raw socket with a TSval 100000 behind:
# the second client behind a NAT address whose clock is behind.  The kernel
# rejects each by PAWS (PAWSTimewait where the kernel has it, PAWSEstab
# before) and suppresses most answers (TCPACKSkippedTimeWait).  An nft rule
# drops the resets the client side sends back, which would end TIME_WAIT.
#   quiet: 20 normal connections (timestamps on, same clock) between two
#          checks: no PAWS reject, neither rule fires;
#   fires: after the 20 SYNs, the rule for the counter that rose fires with
#          delta equal to the kernel's increase between the checks.
# Bounded: one Python process per step, 20 connections, 20 packets.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq python3 nft ss
need_bin
enter_netns --tmpfs /tmp -- "$@"

PORT=18660
counter() { awk -v n="$1" '/^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) col[$i] = i; h = 1 } else print (n in col) ? $col[n] : "missing" }' /proc/net/netstat; }
check() { "$BIN" check --format json 2>/tmp/err; }
next_second() { local t; t=$(date +%s); wait_until "$TT_HANG" sh -c "[ \$(date +%s) -gt $((t + 1)) ]"; }
fired() { echo "$1" | jq -e --arg id "$2" '.findings[] | select(.id == $id)' >/dev/null; }
fact() { echo "$1" | jq -r --arg k "$2" '.facts[$k]'; }
# The counter this kernel uses for a PAWS reject in TIME_WAIT.
if [ "$(counter PAWSTimewait)" != missing ]; then TW=PAWSTimewait RULE=paws-rejects-timewait
else TW=PAWSEstab RULE=paws-rejects; fi

# ---- quiet: normal connections ------------------------------------------------------
json=$(check) || [ $? -le 2 ] || fail "first check failed: $(cat /tmp/err)"
next_second
run_bounded "$TT_HANG" python3 - $((PORT + 10)) <<'PY' || fail "20 normal connections failed"
import socket, sys
port = int(sys.argv[1])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(32)
for i in range(20):
    c = socket.create_connection(("127.0.0.1", port)); a, _ = s.accept()
    c.sendall(b"q"); a.recv(1); a.sendall(b"r"); c.recv(1); c.close(); a.close()
PY
json=$(check) || [ $? -le 2 ] || fail "check failed: $(cat /tmp/err)"
for r in paws-rejects paws-rejects-timewait; do
	fired "$json" $r && fail "$r fired after 20 normal connections: $(fact "$json" "evidence.tcpext.$TW")"
done
[ "$(fact "$json" "delta.tcpext.$TW")" = 0 ] || fail "delta.tcpext.$TW $(fact "$json" "delta.tcpext.$TW") after normal connections"

# ---- fires: SYNs with an old timestamp into TIME_WAIT ------------------------------
coproc PAWS { timeout "$TT_HANG" python3 "$TT_ROOT/tests/tools/paws_tw.py" $PORT 20; }
TT_PIDS="$TT_PIDS $PAWS_PID"
read -r -t "$TT_HANG" line <&"${PAWS[0]}" || fail "paws_tw.py did not set up TIME_WAIT"
case $line in "tw-ready "*) ;; *) fail "paws_tw.py: $line" ;; esac
[ "$(ss -Htan state time-wait "( sport = :$PORT )" | wc -l)" = 1 ] || fail "no TIME_WAIT socket on port $PORT: $(ss -tan)"
nft -f - <<NFT || fail "cannot load the nft rule that drops the client side's resets"
table inet tt {
	chain output {
		type filter hook output priority 0;
		tcp dport $PORT tcp flags & rst == rst counter drop
	}
}
NFT
json=$(check) || [ $? -le 2 ] || fail "check failed: $(cat /tmp/err)"
b_tw=$(counter $TW); b_sk=$(counter TCPACKSkippedTimeWait)
next_second
echo go >&"${PAWS[1]}"
read -r -t "$TT_HANG" line <&"${PAWS[0]}" || fail "paws_tw.py did not send"
[ "$line" = "sent 20" ] || fail "paws_tw.py: $line"
# The SYNs are handled on the way through loopback; wait for the count.
wait_until "$TT_HANG" sh -c "[ \$(awk -v n=$TW '/^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) col[\$i] = i; h = 1 } else print \$col[n] }' /proc/net/netstat) -ge $((b_tw + 20)) ]" ||
	fail "the kernel counted $(( $(counter $TW) - b_tw )) $TW for 20 SYNs with an old timestamp"
a_tw=$(counter $TW); a_sk=$(counter TCPACKSkippedTimeWait)
[ $((a_sk - b_sk)) -ge 1 ] || fail "the kernel suppressed no answer (TCPACKSkippedTimeWait +$((a_sk - b_sk)))"
json=$(check) || [ $? -le 2 ] || fail "check failed: $(cat /tmp/err)"
fired "$json" $RULE || fail "$RULE did not fire: $(echo "$json" | jq -c '.facts | with_entries(select(.key | test("PAWS|delta.seconds")))')"
got=$(fact "$json" "delta.tcpext.$TW")
[ "$got" = $((a_tw - b_tw)) ] || fail "delta.tcpext.$TW $got, the kernel's increase $((a_tw - b_tw))"
sk=$(fact "$json" delta.tcpext.TCPACKSkippedTimeWait)
[ "$sk" = $((a_sk - b_sk)) ] || fail "delta.tcpext.TCPACKSkippedTimeWait $sk, the kernel's increase $((a_sk - b_sk))"
echo "$json" | jq -e --arg id $RULE '.findings[] | select(.id == $id) | .title | test("\\+[0-9]+ since the previous check")' >/dev/null ||
	fail "the title shows no evidence: $(echo "$json" | jq -r --arg id $RULE '.findings[] | select(.id == $id) | .title')"
echo "ok: quiet after 20 normal connections; 20 old-timestamp SYNs into TIME_WAIT: $TW +$got, TCPACKSkippedTimeWait +$sk, $RULE fires"
