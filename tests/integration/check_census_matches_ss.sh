#!/bin/bash
# check_census_matches_ss.sh: on a known socket population (tests/tools/sockscen,
# defaults: 2,400 TIME_WAIT with 1,500 to one destination, 300 CLOSE_WAIT held
# by a child named cwholder, 100 of them with unread data, orphans in FIN_WAIT1
# and FIN_WAIT2), `tcptune check --format json` must count exactly what
# `ss -tan` shows, state by state, and attribute TIME_WAIT and CLOSE_WAIT right.
# Runs in its own network and mount namespaces; needs root.

. "$(dirname "$0")/lib.sh"
need_root
need_cmds ss jq awk timeout
enter_netns --tmpfs /tmp -- "$@"

TCPTUNE=${TCPTUNE:-$TT_ROOT/build/tcptune}
SOCKSCEN=$TT_ROOT/build/tools/sockscen
W=/tmp				# a private tmpfs (enter_netns)
READY=$W/sockscen.ready

[ -x "$SOCKSCEN" ] || fail "missing $SOCKSCEN (make build/tools/sockscen)"
[ -x "$TCPTUNE" ] || fail "missing $TCPTUNE (make)"

# ss -tan state name -> tcptune JSON state name.
STATE_MAP="ESTAB:established SYN-SENT:syn_sent SYN-RECV:syn_recv
FIN-WAIT-1:fin_wait1 FIN-WAIT-2:fin_wait2 TIME-WAIT:time_wait UNCONN:close
CLOSE-WAIT:close_wait LAST-ACK:last_ack LISTEN:listen CLOSING:closing"

# "STATE COUNT" lines, sorted, from raw `ss -tan` output.
state_counts() {
	awk 'NR > 1 { n[$1]++ } END { for (s in n) print s, n[s] }' "$1" | sort
}

# count STATE COUNTS-FILE: the count for one ss state (0 when absent).
count() {
	awk -v s="$1" '$1 == s { print $2; f = 1 } END { if (!f) print 0 }' "$2"
}

# load_ready: the ready file's key=value lines into R[key].
declare -A R
load_ready() {
	local k v
	while IFS='=' read -r k v; do
		R[$k]=$v
	done <"$READY"
	for k in holder_pid holder_comm tw_top_remote tw_top_count tw_in_count \
		close_wait_count close_wait_unread orphan_fw1; do
		[ -n "${R[$k]:-}" ] || fail "the ready file lacks '$k'"
	done
}

# json FILTER: JV = a value of the tcptune output that must exist (not null).
json() {
	JV=$(jq -r "$1" "$W/check.json") || fail "jq '$1' failed on the tcptune output"
	[ "$JV" != null ] || fail "the tcptune JSON lacks $1"
}

# expect_json FILTER WANT
expect_json() {
	json "$1"
	[ "$JV" = "$2" ] || fail "$1: tcptune says '$JV', expected '$2'"
}

# ---- the population -------------------------------------------------------
start_bg "$SOCKSCEN" --ready "$READY" --timeout 600 2>"$W/sockscen.err"
GEN=$TT_LAST_PID
wait_for_file "$READY" "$TT_HANG" "$GEN" ||
	fail "sockscen was not ready within $TT_HANG s: $(cat "$W/sockscen.err")"
load_ready
HOLDER_PID=${R[holder_pid]}
HOLDER_COMM=${R[holder_comm]}
TOP_REMOTE=${R[tw_top_remote]}

# ---- ss, tcptune, ss ------------------------------------------------------
t0=$(date +%s)
ss -tan >"$W/ss1.txt" || fail "ss -tan failed"
ss -tan -4 >"$W/ss1v4.txt" || fail "ss -tan -4 failed"
ss -tan -6 >"$W/ss1v6.txt" || fail "ss -tan -6 failed"
run_bounded "$TT_HANG" "$TCPTUNE" check --format json >"$W/check.json" 2>"$W/check.err"
RC=$?
ss -tan >"$W/ss2.txt" || fail "ss -tan failed"
elapsed=$(($(date +%s) - t0))

case $RC in
0 | 1 | 2) ;;
124) fail "tcptune check hung (no end within $TT_HANG s)" ;;
*) fail "tcptune check exited $RC (0, 1 or 2 expected): $(head -c 2000 "$W/check.err")" ;;
esac
jq -e 'type == "object"' "$W/check.json" >/dev/null ||
	fail "tcptune check --format json did not print a JSON object: $(head -c 500 "$W/check.json")"

state_counts "$W/ss1.txt" >"$W/counts1"
state_counts "$W/ss2.txt" >"$W/counts2"
state_counts "$W/ss1v4.txt" >"$W/counts4"
state_counts "$W/ss1v6.txt" >"$W/counts6"
cmp -s "$W/counts1" "$W/counts2" ||
	fail "the population changed during the check (${elapsed}s; TIME_WAIT lives 60 s): $(diff "$W/counts1" "$W/counts2" | tr '\n' ' ')"

# Every state ss shows must be one we map.
while read -r st _; do
	case " $(echo $STATE_MAP) " in
	*" $st:"*) ;;
	*) fail "ss shows state '$st', which has no tcptune name" ;;
	esac
done <"$W/counts1"

# ---- states, total, families ---------------------------------------------
sum=0
for pair in $STATE_MAP; do
	ss_name=${pair%%:*}
	js_name=${pair#*:}
	want=$(count "$ss_name" "$W/counts1")
	sum=$((sum + want))
	[ "$want" = "${R[expect_$js_name]:-}" ] ||
		fail "scenario: ss shows $want $ss_name, sockscen built '${R[expect_$js_name]:-?}'"
	expect_json ".sockets.states.$js_name" "$want"
	# Per family too; there a state missing from by_family counts as 0.
	for fam in 4 6; do
		want=$(count "$ss_name" "$W/counts$fam")
		expect_json "(.sockets.by_family.ipv$fam.$js_name // 0)" "$want"
	done
done
expect_json .sockets.total "$sum"
TW6=$(count TIME-WAIT "$W/counts6")
expect_json .sockets.by_family.ipv6.time_wait "$TW6"

# ---- TIME_WAIT analysis ---------------------------------------------------
TW=$(count TIME-WAIT "$W/counts1")
# Peers of TIME-WAIT sockets, and TIME-WAIT sockets on a server's port: a
# listening one, or one outside ip_local_port_range (docs/KERNEL.md §20.1).
TOP_SS=$(awk -v r="$TOP_REMOTE" '$1 == "TIME-WAIT" && $5 == r { n++ } END { print n + 0 }' "$W/ss1.txt")
[ "$TOP_SS" = "${R[tw_top_count]}" ] ||
	fail "scenario: ss shows $TOP_SS TIME-WAIT to $TOP_REMOTE, sockscen built ${R[tw_top_count]}"
read -r PLOW PHIGH < /proc/sys/net/ipv4/ip_local_port_range
INCOMING=$(awk -v lo="$PLOW" -v hi="$PHIGH" '
	function port(a) { sub(/.*:/, "", a); return a }
	$1 == "LISTEN" { l[port($4)] = 1 }
	$1 == "TIME-WAIT" { tw[NR] = port($4) }
	END { for (i in tw) if (tw[i] in l || tw[i] + 0 < lo || tw[i] + 0 > hi) n++; print n + 0 }' "$W/ss1.txt")
[ "$INCOMING" = "${R[tw_in_count]}" ] ||
	fail "scenario: ss shows $INCOMING TIME-WAIT on listening ports, sockscen built ${R[tw_in_count]}"
expect_json '.timewait.top_destinations[0].remote' "$TOP_REMOTE"
expect_json '.timewait.top_destinations[0].count' "$TOP_SS"
expect_json .timewait.incoming "$INCOMING"
expect_json .timewait.outgoing "$((TW - INCOMING))"

# ---- CLOSE_WAIT attribution -------------------------------------------------
# sockscen's own 3 CLOSE_WAIT (orphan-fw2 server sides) must rank below.
expect_json '.closewait.processes[0].pid' "$HOLDER_PID"
expect_json '.closewait.processes[0].comm' "$HOLDER_COMM"
expect_json '.closewait.processes[0].count' "${R[close_wait_count]}"
expect_json '.closewait.processes[0].unread' "${R[close_wait_unread]}"

# ---- orphans ----------------------------------------------------------------
json '.facts["sockets.orphans"]'
ORPHANS=$JV
[ "$ORPHANS" -ge "${R[orphan_fw1]}" ] 2>/dev/null ||
	fail ".facts[\"sockets.orphans\"]: tcptune says '$ORPHANS', expected at least ${R[orphan_fw1]} (orphaned FIN_WAIT1)"

# ---- the generator ends cleanly, with its child -----------------------------
stop_pid "$GEN" 10
grc=$?
[ "$grc" = 0 ] || fail "sockscen exited $grc on SIGTERM: $(cat "$W/sockscen.err")"
# Alive means present and not a zombie (an orphaned zombie waits for PID 1).
hstate=$(sed 's/.*) //' "/proc/$HOLDER_PID/stat" 2>/dev/null | cut -d' ' -f1)
[ -z "$hstate" ] || [ "$hstate" = Z ] || fail "sockscen left its holder (pid $HOLDER_PID) running"

rebuilt=""
[ "${R[tw_rebuilt]:-0}" = 0 ] || rebuilt=" (sockscen rebuilt ${R[tw_rebuilt]} vanished TIME_WAIT)"
echo "ok: $(basename "$0"): tcptune rc $RC; total $sum$rebuilt:" \
	"$(tr '\n' ' ' <"$W/counts1")|" \
	"TIME-WAIT $TW (top $TOP_REMOTE $TOP_SS, incoming $INCOMING, ipv6 $TW6);" \
	"CLOSE-WAIT $HOLDER_COMM pid $HOLDER_PID count ${R[close_wait_count]} unread ${R[close_wait_unread]}; orphans $ORPHANS"
exit 0
