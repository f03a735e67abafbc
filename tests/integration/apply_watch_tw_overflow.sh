#!/bin/bash
# Issue #16, must-show 1, a TIME_WAIT bucket overflow under a real server:
# nginx closes every connection first (keepalive_timeout 0), so each request
# ab makes leaves one TIME_WAIT socket on nginx's side, and this namespace
# allows 200 of them (tcp_max_tw_buckets=200, a harmful value).  Before: the
# kernel's TcpExt TCPTimeWaitOverflow rises under load, `check` warns with
# that increase as its evidence, and the recommended profile's plan corrects
# the key to 16384.  `apply PROFILE --watch 15s` under load: the overflow
# rate falls from thousands a minute to 0, the change is kept and the effect
# is in the history.  The same load again overflows nothing; rollback shows
# its row for the key and the same load overflows again.
#
# The load, and why it is bounded: the location answers after 40 ms
# (echo_sleep) and ab keeps 4 requests in flight, so at most 4 / 0.04 s =
# 100 requests, hence 100 new TIME_WAIT sockets, a second.  TIME_WAIT lasts a
# fixed 60 s (docs/KERNEL.md §3.1), so after the correction at most
# 100 x 60 = 6000 are held at once: well below 16384, so nothing may
# overflow then, and 30 times the 200 of before.  With 200 buckets at most
# 200 connections get TIME_WAIT in any 60 s (each held one holds its bucket
# for 60 s), so in the 5 s before-window of --watch at least
# 5 x 100 - 200 = 300 of up to 500 skip it at full rate: far above the
# canary's 60/min margin (docs/KERNEL.md §21).  A slow machine only lowers
# the rate; one run is N requests (ab -n) and TT_HANG seconds (ab -t) at most.
# The counts checked below (every connection beyond the 200 buckets skips
# TIME_WAIT; N requests add at least N/2 TIME_WAIT on nginx's side) hold
# while no TIME_WAIT is 60 s old; on a machine so slow that the scenario gets
# there later, only the direction is checked, and the "ok:" line says so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apply_watch_lib.bash"
watch_scenario curl ab awk -- "$@"

PORT=8080
N=600			# requests per load run: 6 s at 100 a second
KEY=net.ipv4.tcp_max_tw_buckets
echo 200 > /proc/sys/net/ipv4/tcp_max_tw_buckets || fail "cannot set tcp_max_tw_buckets in the namespace"

# The kernel's count of connections that skipped TIME_WAIT.
overflow() {
	awk '/^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1 }
		else for (i = 2; i <= NF; i++) if (n[i] == "TCPTimeWaitOverflow") print $i }' /proc/net/netstat
}
# TIME_WAIT sockets in all, and those on nginx's port (the server's side).
tw_all() { ss -Htan state time-wait | wc -l; }
tw_server() { ss -Htan state time-wait "sport = :$PORT" | wc -l; }
overflow_above() { [ "$(overflow)" -gt "$1" ]; }

# load OUT: one bounded ab run of N requests, 4 at a time, HTTP/1.0 without
# keep-alive; OUT gets its output.  Fails on any failed or non-2xx request.
load() {
	run_bounded $((TT_HANG * 2)) ab -c 4 -t "$TT_HANG" -n "$N" "http://127.0.0.1:$PORT/" >"$1" 2>&1 ||
		fail "ab failed: $(cat "$1")"
	[ "$(ab_done "$1")" = "$N" ] || fail "ab completed $(ab_done "$1") of $N requests: $(cat "$1")"
	grep -q '^Failed requests: *0$' "$1" || fail "ab saw failed requests: $(cat "$1")"
	! grep -q '^Non-2xx responses' "$1" || fail "ab saw non-2xx answers: $(cat "$1")"
}
ab_done() { awk '/^Complete requests:/ { print $3 }' "$1"; }

# nginx answers "ok" after 40 ms and closes first: keepalive_timeout 0 (and
# ab's HTTP/1.0).  Its access log has one line per request: the time it
# ended, in seconds since the epoch with milliseconds.
NGINX_HTTP="log_format t '\$msec'; keepalive_timeout 0;"
exact=""
s0=$SECONDS
nginx_start "
	server {
		listen 127.0.0.1:$PORT;
		access_log $W/access.log t;
		location / { echo_sleep 0.04; echo ok; }
	}" "$PORT"
# requests_between T0 T1: the requests nginx ended between two times.
requests_between() { awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b { n++ } END { print n + 0 }' "$W/access.log"; }
now() { date +%s.%N; }

# --- before: the kernel skips TIME_WAIT, check warns, the plan corrects --
# The first check records the counters (README "Evidence"); nothing runs
# between the two checks but the load, so the second must see the
# kernel's increase.
"$BIN" check --format json >"$W/c0.json"
rc=$?
[ "$rc" -le 1 ] || fail "check exited $rc"
o0=$(overflow); tw0=$(tw_all); sl=$SECONDS
load "$W/before.txt"
o1=$(overflow); secs=$((SECONDS - s0)); sl=$((SECONDS - sl))
# If nothing is 60 s old yet (nginx_start made the first TIME_WAIT), none of
# the 200 buckets was freed by its timer, so every connection beyond them
# skipped TIME_WAIT, but for reopens: a SYN from a client port that nginx
# still holds in TIME_WAIT ends that one early (docs/KERNEL.md §21), and the
# close after it takes the bucket it freed.  ab's ports rarely come back
# that soon (7 of 600 in one run), so a tenth of N is allowed for them.
if [ "$secs" -lt 55 ]; then
	[ $((o1 - o0)) -ge $((N + tw0 - 200 - N / 10)) ] ||
		fail "TCPTimeWaitOverflow rose by $((o1 - o0)) for $N closes with $tw0 of 200 buckets held, expected at least $((N + tw0 - 200 - N / 10))"
else
	[ "$o1" -gt "$o0" ] || fail "TCPTimeWaitOverflow did not rise for $N closes with 200 buckets"
	exact="; exact counts not checked (slow: $secs s)"
fi
[ "$(tw_all)" -le 200 ] || fail "$(tw_all) TIME_WAIT sockets with tcp_max_tw_buckets=200"
"$BIN" check --format json >"$W/c1.json"
rc=$?
[ "$rc" = 1 ] || fail "check exited $rc under a TIME_WAIT overflow, expected 1 (warnings)"
f=$(jq -c '.findings[] | select(.id == "tw-buckets-exhausted" and (.ignored | not))' "$W/c1.json")
[ -n "$f" ] || fail "no tw-buckets-exhausted finding: $(jq -c '[.findings[].id]' "$W/c1.json")"
[ "$(echo "$f" | jq -r .severity)" = warning ] || fail "tw-buckets-exhausted is not a warning: $f"
[ "$(echo "$f" | jq '.evidence["delta.tcpext.TCPTimeWaitOverflow"]')" = $((o1 - o0)) ] ||
	fail "check's evidence is not the kernel's increase of $((o1 - o0)): $(echo "$f" | jq -c .evidence)"
echo "$f" | jq -r '.evidence["evidence.tcpext.TCPTimeWaitOverflow"]' | grep -q "^+$((o1 - o0)) since the previous check" ||
	fail "check's evidence line: $(echo "$f" | jq -c .evidence)"
prof=$("$BIN" recommend --format json 2>/dev/null | jq -r .profile)
[ -n "$prof" ] && [ "$prof" != null ] || fail "recommend named no profile"
row=$("$BIN" diff "$prof" --format json | jq -c --arg k "$KEY" '.keys[] | select(.key == $k)')
[ "$(echo "$row" | jq -r '"\(.runtime) \(.profile) \(.change) \(.correction)"')" = "200 16384 true true" ] ||
	fail "the plan of $prof does not correct $KEY=200: ${row:-no row}"
echo "  before: $N requests in $sl s, TCPTimeWaitOverflow +$((o1 - o0)), $(tw_server) TIME_WAIT on :$PORT;" \
	"check: tw-buckets-exhausted ($(echo "$f" | jq -r '.evidence["evidence.tcpext.TCPTimeWaitOverflow"]')); recommend $prof, its plan 200 -> 16384"

# --- apply PROFILE --watch under load ---------------------------------------
# ab runs through the 5 s before, the apply and the 15 s watch, and is
# stopped once apply has returned (its -n and -t only bound it).
start_bg ab -c 4 -t "$TT_HANG" -n $((100 * TT_HANG)) "http://127.0.0.1:$PORT/" >"$W/during.txt" 2>&1
bg=$TT_LAST_PID
# The buckets are full and overflowing again before the watch measures.
oa=$(overflow)
wait_until "$TT_HANG" overflow_above "$oa" || fail "the load in the background made nothing overflow"
t0=$(now)
run_bounded $((TT_HANG * 2)) "$BIN" apply "$prof" --yes --watch 15s --format json >"$W/apply.json" 2>"$W/apply.err"
rc=$?
t1=$(now)
o2=$(overflow)
stop_pid "$bg" >/dev/null 2>&1
[ "$rc" = 0 ] || fail "apply --watch exited $rc: $(cat "$W/apply.err") $(head -c 2000 "$W/apply.json")"
jq -e '.status == "applied" and .effect.verdict == "kept"' "$W/apply.json" >/dev/null ||
	fail "apply --watch did not keep the change: $(jq -c '{status, effect}' "$W/apply.json")"
fig() { jq -r --arg f tcpext.TCPTimeWaitOverflow ".effect.figures[] | select(.fact == \$f) | .$1" "$W/apply.json"; }
rb=$(fig before); ra=$(fig after)
[ "$(fig change)" = better ] || fail "TCPTimeWaitOverflow's figure is '$(fig change)' ($rb -> $ra /min), expected better"
awk -v b="$rb" -v a="$ra" 'BEGIN { exit !(b >= 60 && a <= b / 2) }' ||
	fail "TCPTimeWaitOverflow rate before $rb/min, after $ra/min (expected >= 60 before, at most half after)"
[ "$(cat /proc/sys/net/ipv4/tcp_max_tw_buckets)" = 16384 ] ||
	fail "tcp_max_tw_buckets is $(cat /proc/sys/net/ipv4/tcp_max_tw_buckets) after apply"
# The load ran all through the watch: nginx ended requests in its last 10 s.
late=$(requests_between "$(awk -v t="$t1" 'BEGIN { printf "%.3f", t - 10 }')" "$t1")
[ "$late" -gt 0 ] || fail "nginx ended no request in the last 10 s of apply --watch"
id=$(jq -r .entry "$W/apply.json")
echo "  apply $prof --watch 15s: entry $id kept; TCPTimeWaitOverflow $rb -> $ra /min;" \
	"$(requests_between "$t0" "$t1") requests during apply ($late in its last 10 s), +$((o2 - oa)) overflows, $(tw_server) TIME_WAIT now"

# --- failures gone ----------------------------------------------------------
# Every request leaves its TIME_WAIT on nginx's side (it closes first,
# docs/KERNEL.md §21).  Some new ones take over an older one instead of
# adding to the count: ab reuses a client port that one of them holds (the
# reopen of §3.1; 10 to 26% of a run here), and none may have expired yet.
o3=$(overflow); ts3=$(tw_server); tc3=$(($(tw_all) - ts3))
load "$W/after.txt"
o4=$(overflow); secs=$((SECONDS - s0)); ts4=$(tw_server); tc4=$(($(tw_all) - ts4))
[ "$o4" = "$o3" ] || fail "TCPTimeWaitOverflow still rose by $((o4 - o3)) after $prof"
if [ "$secs" -lt 55 ]; then
	[ $((ts4 - ts3)) -ge $((N / 2)) ] ||
		fail "TIME_WAIT on nginx's port $PORT went $ts3 -> $ts4 for $N requests; nginx should close first"
else
	exact="; exact counts not checked (slow: $secs s)"
fi
# ab's side gets one only when both ends closed at once (a few at most).
[ $((tc4 - tc3)) -le $((N / 10)) ] || fail "$((tc4 - tc3)) new TIME_WAIT on ab's side for $N requests; nginx should close first"
echo "  after: $N requests, TCPTimeWaitOverflow +0; TIME_WAIT on :$PORT $ts3 -> $ts4, elsewhere $tc3 -> $tc4"
# The first check after the fix: the increase since the previous check
# came before the apply, and the evidence says the apply came in between.
"$BIN" check --format json >"$W/c2.json" 2>"$W/c2.err"
[ $? -le 2 ] || fail "check failed: $(cat "$W/c2.err")"
ev=$(jq -r '.facts["evidence.tcpext.TCPTimeWaitOverflow"]' "$W/c2.json")
case $ev in
*"since the previous check"*", some of it perhaps before tcptune's apply $prof at "*) ;;
*) fail "the check after apply does not say the increase may be from before it: $ev" ;;
esac
echo "  check after apply: TCPTimeWaitOverflow $ev"

# --- the effect is in the history -----------------------------------------
expect_kept_in_history "$id" tcpext.TCPTimeWaitOverflow 15
"$BIN" history | grep -q 'effect (--watch 15 s): kept: better: tcpext.TCPTimeWaitOverflow fell' ||
	fail "history lacks the effect line: $("$BIN" history)"

# --- rollback brings the overflow back --------------------------------------
"$BIN" rollback --yes >"$W/rollback.txt" 2>&1 || fail "rollback failed: $(cat "$W/rollback.txt")"
grep -q "^\* $KEY  *16384  *200 *\$" "$W/rollback.txt" ||
	fail "rollback did not show its plan row for $KEY: $(cat "$W/rollback.txt")"
[ "$(cat /proc/sys/net/ipv4/tcp_max_tw_buckets)" = 200 ] ||
	fail "rollback left tcp_max_tw_buckets $(cat /proc/sys/net/ipv4/tcp_max_tw_buckets)"
o5=$(overflow)
load "$W/again.txt"
o6=$(overflow)
[ "$o6" -gt "$o5" ] || fail "TCPTimeWaitOverflow did not rise after rollback to 200 buckets"
echo "  rollback: $N requests, TCPTimeWaitOverflow +$((o6 - o5)) again"
echo "ok: TIME_WAIT overflow: +$((o1 - o0)) for $N requests before, $prof --watch kept ($rb -> $ra /min)," \
	"+0 for $N after, +$((o6 - o5)) for $N after rollback$exact"
