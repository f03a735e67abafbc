#!/bin/bash
# check_churn.sh: `tcptune check` while sockets are being created and destroyed
# at a high rate (tests/tools/churn: two workers opening about 1,000 loopback
# connections a second over IPv4 and IPv6, each held ESTABLISHED, then closed
# five ways, so that ESTABLISHED, FIN_WAIT1/2, CLOSE_WAIT, LAST_ACK and
# TIME_WAIT sockets keep appearing and disappearing) never crashes, never
# hangs, and counts what `ss -tan` taken just before and just after allows.
#
# Ten checks (every other one the ASan/UBSan build), each bracketed by
# `ss -tan` and by the generator's counters.  The bound, per state X and for
# the total, with B and A the counts ss saw before and after:
#
#	min(B, A) - d - lag  <=  check  <=  max(B, A) + d + lag
#
# d is the number of the generator's calls that can change a TCP state
# (connect, close, shutdown) that overlapped the window from the first ss to
# the second: started-after minus done-before.  A count can only leave
# [min(B, A), max(B, A)] by going one way and coming back: k sockets above
# max(B, A) at the check's reading need k entries before it and k exits
# after it.  A call moves a state by at most 2 sockets (a connect makes a
# client and a server ESTABLISHED, the first close takes both out), and
# entries and exits come from different calls, so k <= d; the same below.
# Dumps (ss's and tcptune's) read sockets at different moments, each in a
# state it held at some moment of the window, so this still holds; a dump
# resumed in a hash bucket that changed under it can skip or repeat a socket,
# once per change, and every change is one of these calls.  The only
# transitions no call drives are delayed ACKs of a FIN (the peer went
# CLOSE_WAIT and delays its ACK up to 200 ms): FIN_WAIT1 -> FIN_WAIT2; every
# socket waiting for one is in FIN_WAIT1, so for fin_wait1 and fin_wait2
# lag = max(B, A) of FIN_WAIT1 (about 10), else 0.  Listeners are never
# opened or closed while churning: listen must equal B and A exactly.
#
# The held populations (ESTABLISHED ~6,000, TIME_WAIT ~3,500, CLOSE_WAIT and
# FIN_WAIT2 ~3,200 each) are several times d (about 500 to 1,500), so a count
# doubled, halved, or missing IPv6 or the FIN_WAIT2 minisockets fails.
#
# Also: tcptune's total is the sum of its states; check exits 0, 1 or 2
# (and does not hang: TT_HANG s) with no sanitizer report; every check ran
# under churn (d > 0); ESTABLISHED, FIN_WAIT2, CLOSE_WAIT and TIME_WAIT
# sockets did appear and disappear between the ss pairs; the generator stops
# cleanly.  About 20 s idle; nothing here is timed, so a loaded machine only
# makes it slower, up to one limit: the generator stops by itself after 300 s
# (its maximum, tests/tools/churn.c), and the ten checks must end before.
# Runs in its own network and mount namespaces; needs root.

. "$(dirname "$0")/lib.sh"
need_root
need_cmds ss jq awk timeout
enter_netns --tmpfs /tmp -- "$@"

TCPTUNE=${TCPTUNE:-$TT_ROOT/build/tcptune}
ASAN=${TCPTUNE_ASAN:-$TT_ROOT/build/tcptune-asan}
CHURN=$TT_ROOT/build/tools/churn
W=/tmp				# a private tmpfs (enter_netns)
READY=$W/churn.ready
COUNTER=$W/churn.counter
ITERATIONS=10
RATE=${CHURN_RATE:-1000}	# connections a second, both workers
HOLD_MS=${CHURN_HOLD_MS:-3000}	# ESTABLISHED
HALF_MS=${CHURN_HALF_MS:-8000}	# CLOSE_WAIT / FIN_WAIT2

[ -x "$CHURN" ] || fail "missing $CHURN (make build/tools/churn)"
[ -x "$TCPTUNE" ] || fail "missing $TCPTUNE (make build/tcptune)"
[ -x "$ASAN" ] || fail "missing $ASAN (make build/tcptune-asan)"

# ss -tan state name -> tcptune JSON state name.
STATE_MAP="ESTAB:established SYN-SENT:syn_sent SYN-RECV:syn_recv
FIN-WAIT-1:fin_wait1 FIN-WAIT-2:fin_wait2 TIME-WAIT:time_wait UNCONN:close
CLOSE-WAIT:close_wait LAST-ACK:last_ack LISTEN:listen CLOSING:closing"
declare -A JS_OF
JS_NAMES=""
for pair in $STATE_MAP; do
	JS_OF[${pair%%:*}]=${pair#*:}
	JS_NAMES="$JS_NAMES ${pair#*:}"
done

# "STATE COUNT" lines from raw `ss -tan` output, sorted.
state_counts() {
	awk 'NR > 1 { n[$1]++ } END { for (s in n) print s, n[s] }' "$1" | sort
}

# count STATE COUNTS-FILE: the count for one ss state (0 when absent).
# (Shell builtins only: called ~30 times an iteration, and every process
# started is slow on a loaded machine while the generator's time runs.)
count() {
	local st n
	while read -r st n; do
		[ "$st" = "$1" ] && { echo "$n"; return; }
	done <"$2"
	echo 0
}

# read_counters: CS CD CC = the generator's calls started, calls done and
# connections opened, summed over its workers' lines (a line being rewritten
# has its two copies of `started` differ: read again).
read_counters() {
	local i out
	for i in $(seq 400); do	# a worker descheduled mid-line: retry, up to ~20 s
		out=$(awk 'NF != 6 || $1 != $6 { bad = 1 }
			{ s += $1; d += $2; c += $3 }
			END { if (bad || NR == 0) exit 1; print s, d, c }' "$COUNTER") || { sleep 0.05; continue; }
		read -r CS CD CC <<<"$out"
		return 0
	done
	fail "cannot read consistent counters from $COUNTER: $(head -c 500 "$COUNTER")"
}

gen_alive() {
	tt_is_child "$GEN" || fail "the churn generator exited early: $(tail -n 5 "$W/churn.err")"
}

now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# ---- the churn ------------------------------------------------------------
start_bg "$CHURN" --ready "$READY" --counter "$COUNTER" --duration 300 \
	--rate "$RATE" --hold-ms "$HOLD_MS" --half-ms "$HALF_MS" --pool-base 16000 --pool 6000 2>"$W/churn.err"
GEN=$TT_LAST_PID
wait_for_file "$READY" "$TT_HANG" "$GEN" ||
	fail "the churn generator was not ready: $(tail -n 5 "$W/churn.err")"
[ "$(sed -n 's/^ipv6=//p' "$READY")" = 1 ] || echo "note: no ::1 in the namespace, IPv4 only" >&2
read_counters
start_calls=$CS start_conns=$CC start_ms=$(now_ms)

# ---- ss, check, ss, ten times -----------------------------------------------
: >"$W/figures"
: >"$W/moves"
dmin="" dmax=0 asan_runs=0
for i in $(seq "$ITERATIONS"); do
	gen_alive
	bin=$TCPTUNE
	if [ $((i % 2)) = 0 ]; then
		bin=$ASAN
		asan_runs=$((asan_runs + 1))
	fi
	kind=$(basename "$bin")

	read_counters
	done0=$CD
	t0=$(now_ms)
	ss -tan >"$W/ss1.txt" || fail "ss -tan failed"
	tc=$(now_ms)
	run_bounded "$TT_HANG" env ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 \
		UBSAN_OPTIONS=halt_on_error=1:exitcode=98 \
		"$bin" check --format json >"$W/check.json" 2>"$W/check.err"
	rc=$?
	tc=$(($(now_ms) - tc))
	ss -tan >"$W/ss2.txt" || fail "ss -tan failed"
	read_counters
	t1=$(now_ms)
	d=$((CS - done0))

	# Terminates, does not crash.
	case $rc in
	0 | 1 | 2) ;;
	124 | 137) fail "#$i: $kind tcptune check hung (no end within $TT_HANG s)" ;;
	*) fail "#$i: $kind tcptune check exited $rc (0, 1 or 2 expected): $(head -c 2000 "$W/check.err")" ;;
	esac
	! grep -Eq 'Sanitizer|runtime error' "$W/check.err" ||
		fail "#$i: $kind tcptune check: sanitizer report: $(head -c 2000 "$W/check.err")"
	jq -e '(.sockets.states | type) == "object" and (.sockets.total | type) == "number"' \
		"$W/check.json" >/dev/null 2>&1 ||
		fail "#$i: no .sockets.states/.sockets.total in the output: $(head -c 500 "$W/check.json")"
	[ "$d" -gt 0 ] || fail "#$i: no churn during the check (the generator made no call)"

	state_counts "$W/ss1.txt" >"$W/counts1"
	state_counts "$W/ss2.txt" >"$W/counts2"
	while read -r st _; do
		[ -n "${JS_OF[$st]:-}" ] || fail "#$i: ss shows state '$st', which has no tcptune name"
	done < <(cat "$W/counts1" "$W/counts2")
	for st in ESTAB TIME-WAIT CLOSE-WAIT FIN-WAIT-2; do
		[ "$(count "$st" "$W/counts1")" -gt 0 ] ||
			fail "#$i: the churn shows no $st socket (scenario broken): $(tr '\n' ' ' <"$W/counts1")"
	done
	# Sockets (state, local, peer) that appeared and went between the two
	# ss, per state, added up over the iterations.
	awk 'FNR == 1 { f++; next }
		{ k = $1 " " $4 " " $5 }
		f == 1 { one[k] = $1; next }
		{ two[k] = $1 }
		END {
			for (k in two) if (!(k in one)) up[two[k]]++
			for (k in one) if (!(k in two)) gone[one[k]]++
			for (s in up) print "up", s, up[s]
			for (s in gone) print "gone", s, gone[s]
		}' "$W/ss1.txt" "$W/ss2.txt" >>"$W/moves"

	# tcptune's counts, one per line in STATE_MAP order, then the total
	# and the sum of its states.
	jq -r --arg names "$JS_NAMES" '
		.sockets as $s
		| ($names | split(" ") | map(select(. != ""))) as $n
		| ($n[] | ($s.states[.] // "missing")), $s.total,
		  ([$s.states[]] | add)' "$W/check.json" >"$W/check.counts" ||
		fail "#$i: cannot read the counts from the tcptune output"
	mapfile -t got <"$W/check.counts"
	[ "${got[11]}" = "${got[12]}" ] ||
		fail "#$i: tcptune's total ${got[11]} is not the sum of its states ${got[12]}"

	fw1_b=$(count FIN-WAIT-1 "$W/counts1") fw1_a=$(count FIN-WAIT-1 "$W/counts2")
	lag=$((fw1_b > fw1_a ? fw1_b : fw1_a))
	line="#$i $kind rc $rc ${tc}ms window $((t1 - t0))ms d $d:"
	j=0 tb=0 ta=0
	for pair in $STATE_MAP total:total; do
		ss_name=${pair%%:*} js_name=${pair#*:}
		c=${got[$j]}
		j=$((j + 1))
		if [ "$ss_name" = total ]; then
			b=$tb a=$ta
		else
			b=$(count "$ss_name" "$W/counts1") a=$(count "$ss_name" "$W/counts2")
			tb=$((tb + b)) ta=$((ta + a))
		fi
		case $js_name in
		listen) slack=0 ;;			# never churned
		fin_wait1 | fin_wait2) slack=$((d + lag)) ;;
		*) slack=$d ;;
		esac
		lo=$((b < a ? b : a)) hi=$((b > a ? b : a))
		lo=$((lo - slack < 0 ? 0 : lo - slack)) hi=$((hi + slack))
		[[ $c =~ ^[0-9]+$ ]] || fail "#$i: .sockets.states.$js_name is '$c', not a count"
		if [ "$c" -lt "$lo" ] || [ "$c" -gt "$hi" ]; then
			fail "#$i ($kind): $js_name: tcptune counts $c, outside [$lo, $hi]" \
				"(ss before $b, after $a; slack $slack: $d calls of the generator during the window," \
				"FIN_WAIT1 lag $lag)"
		fi
		case $js_name in
		established | fin_wait1 | fin_wait2 | time_wait | close_wait | total)
			line="$line $js_name $c ss $b/$a" ;;
		esac
	done
	echo "$line" >>"$W/figures"
	[ -z "$dmin" ] || [ "$d" -lt "$dmin" ] && dmin=$d
	[ "$d" -gt "$dmax" ] && dmax=$d
done

# Every churned state did appear and disappear under the checks.
moves=""
for st in ESTAB FIN-WAIT-1 FIN-WAIT-2 CLOSE-WAIT TIME-WAIT; do
	up=$(awk -v s="$st" '$1 == "up" && $2 == s { n += $3 } END { print n + 0 }' "$W/moves")
	gone=$(awk -v s="$st" '$1 == "gone" && $2 == s { n += $3 } END { print n + 0 }' "$W/moves")
	case $st in
	FIN-WAIT-1) ;;	# lives only until a delayed ACK: seldom in both ss
	*) if [ "$up" -eq 0 ] || [ "$gone" -eq 0 ]; then
		fail "$st sockets did not both appear ($up) and disappear ($gone) during the checks"
	fi ;;
	esac
	moves="$moves $st +$up/-$gone"
done

# ---- the generator ends cleanly -----------------------------------------------
gen_alive
read_counters
secs_ms=$(($(now_ms) - start_ms))
conns=$((CC - start_conns)) calls=$((CS - start_calls))
stop_pid "$GEN" 10
grc=$?
[ "$grc" = 0 ] || fail "the churn generator exited $grc on SIGTERM: $(tail -n 5 "$W/churn.err")"

sed 's/^/  /' "$W/figures"
echo "ok: $(basename "$0"): $ITERATIONS checks ($asan_runs ASan) under churn of" \
	"$((conns * 1000 / secs_ms)) connections/s ($((calls * 1000 / secs_ms)) state-changing calls/s," \
	"target $RATE), d $dmin..$dmax per window, every state within [min(ss) - d, max(ss) + d];" \
	"between the ss pairs:$moves;" \
	"generator: $(tail -n 1 "$W/churn.err")"
exit 0
