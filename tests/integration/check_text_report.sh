#!/bin/bash
# check_text_report.sh: the text report of a busy namespace, as a person reads
# it at 3 a.m. on an 80-column terminal.  sockscen builds TIME_WAIT (156 to
# one destination), a CLOSE_WAIT leak (60 held by a child named leakyapp, 12
# with unread data) and so two findings.  Then, off a terminal (80 columns):
#  - no line over 80 columns, in the default, -q, -v and --samples reports;
#  - line 1 is the status, and every finding's rule id is in the first
#    screen (24 lines);
#  - the counts are what `ss` shows: TIME-WAIT and CLOSE-WAIT rows, the
#    holder's pid and count, and port headroom "156 of the N ephemeral ports"
#    with a share to a tenth of a percent (not "0%");
#  - -q stops after the findings, -v adds each finding's "Why:", --wide
#    does not wrap;
#  - --samples 3 adds "Rates: 3 samples over S s"; --samples 1 and
#    --interval without --samples are refused with exit 3.
# The capture of the default report is left in $TT_CAPTURE when that is set
# (README "Reading the text report" shows one).
. "$(dirname "$0")/lib.sh"
need_root
need_cmds ss jq awk timeout
enter_netns --tmpfs /tmp -- "$@"

TCPTUNE=${TCPTUNE:-$TT_ROOT/build/tcptune}
SOCKSCEN=$TT_ROOT/build/tools/sockscen
W=/tmp
READY=$W/sockscen.ready
[ -x "$SOCKSCEN" ] || fail "missing $SOCKSCEN (make build/tools/sockscen)"
[ -x "$TCPTUNE" ] || fail "missing $TCPTUNE (make)"

start_bg "$SOCKSCEN" --ready "$READY" --timeout 600 --tw-out 156 --tw-out2 20 --tw-in 30 --tw6 10 \
	--close-wait 60 --close-wait-unread 12 --holder-name leakyapp 2>"$W/sockscen.err"
GEN=$TT_LAST_PID
wait_for_file "$READY" "$TT_HANG" "$GEN" ||
	fail "sockscen was not ready within $TT_HANG s: $(cat "$W/sockscen.err")"
HOLDER=$(sed -n 's/^holder_pid=//p' "$READY")
[ -n "$HOLDER" ] || fail "the ready file names no holder"

# longest FILE: the widest line, in characters.
longest() {
	awk '{ if (length > m) m = length } END { print m + 0 }' "$1"
}

run_bounded "$TT_HANG" "$TCPTUNE" check >"$W/text" 2>"$W/err"
rc=$?
[ "$rc" = 1 ] || fail "check exits $rc, want 1 (two warnings); stderr: $(cat "$W/err")"
[ -z "${TT_CAPTURE:-}" ] || cp "$W/text" "$TT_CAPTURE"
ss -Htan >"$W/ss"
for f in text; do
	[ "$(longest "$W/$f")" -le 80 ] || fail "a line of the report is $(longest "$W/$f") wide: $(awk 'length > 80' "$W/$f" | head -n 1)"
done

# The first line is the verdict; the findings come before any table.
head -n 1 "$W/text" | grep -q '^WARNING: 2 findings' ||
	fail "line 1 is not the status: $(head -n 1 "$W/text")"
for id in close-wait-leak close-wait-unread; do
	head -n 24 "$W/text" | grep -qF "[$id]" || fail "finding $id is not in the first 24 lines"
	head -n 24 "$W/text" | grep -q '^  Fix: ' || fail "no fix in the first 24 lines"
done
first_table=$(grep -n '^TCP sockets in this network namespace' "$W/text" | cut -d: -f1)
last_finding=$(grep -n '^  Fix: ' "$W/text" | tail -n 1 | cut -d: -f1)
[ -n "$first_table" ] && [ "$first_table" -gt "$last_finding" ] || fail "the census comes before the findings"

# Counts as ss sees them.
ss_tw=$(awk '$1 == "TIME-WAIT"' "$W/ss" | wc -l)
ss_cw=$(awk '$1 == "CLOSE-WAIT"' "$W/ss" | wc -l)
grep -Eq "^  TIME-WAIT +$ss_tw " "$W/text" || fail "TIME-WAIT row is not $ss_tw: $(grep '^  TIME-WAIT' "$W/text")"
grep -Eq "^  CLOSE-WAIT +$ss_cw " "$W/text" || fail "CLOSE-WAIT row is not $ss_cw: $(grep '^  CLOSE-WAIT' "$W/text")"
held=$(ss -Htanp state close-wait | grep -c "pid=$HOLDER,")
grep -Eq "^ +$HOLDER +leakyapp +$held +12 " "$W/text" ||
	fail "no holder row '$HOLDER leakyapp $held 12': $(grep -A3 '^CLOSE_WAIT holders' "$W/text")"

# Port headroom: the busiest destination's sockets (ss, any state, from
# this host's ephemeral ports) as a share of ip_local_port_range.
read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
range=$((hi - lo + 1))
used=$(ss -Htan dst 127.0.0.1:18001 | awk -v lo="$lo" -v hi="$hi" '{ n = split($4, a, ":"); p = a[n] + 0; if (p >= lo && p <= hi) c++ } END { print c + 0 }')
[ "$used" = 156 ] || fail "ss shows $used sockets to 127.0.0.1:18001, sockscen built 156"
pct=$(awk -v u="$used" -v r="$range" 'BEGIN { printf "%.1f%%", int(u * 1000 / r) / 10 }')
tr '\n' ' ' <"$W/text" | tr -s ' ' | grep -qF "127.0.0.1:18001 uses $used of the $range ephemeral ports $lo-$hi ($pct)" ||
	fail "port headroom is not '$used of the $range ... ($pct)': $(grep -A1 'port headroom' "$W/text")"

# -q: status and findings only.  -v: the why and the evidence.  --wide: no wrapping.
run_bounded "$TT_HANG" "$TCPTUNE" -q check >"$W/quiet" 2>/dev/null
[ "$(longest "$W/quiet")" -le 80 ] || fail "-q has a line over 80"
grep -q '^TCP sockets\|^TCP sysctls\|^Recommended' "$W/quiet" && fail "-q shows details: $(cat "$W/quiet")"
grep -qF '[close-wait-leak]' "$W/quiet" || fail "-q lacks the finding"
run_bounded "$TT_HANG" "$TCPTUNE" -v check >"$W/verbose" 2>/dev/null
[ "$(longest "$W/verbose")" -le 80 ] || fail "-v has a line over 80"
[ "$(grep -c '^  Why: ' "$W/verbose")" = 2 ] || fail "-v does not explain both findings"
grep -q '^  Evidence: sockets.close_wait=' "$W/verbose" || fail "-v shows no evidence"
run_bounded "$TT_HANG" "$TCPTUNE" check --wide >"$W/wide" 2>/dev/null
grep -q '^  Fix: No sysctl resolves this, and no profile does: fix the program the title names\. Close the socket.*No sysctl removes CLOSE_WAIT\.$' "$W/wide" ||
	fail "--wide wraps the fix"

# --samples: a rates section; nonsense sampling is refused.
run_bounded "$TT_HANG" "$TCPTUNE" check --samples 3 --interval 1 >"$W/sampled" 2>/dev/null
[ "$(longest "$W/sampled")" -le 80 ] || fail "--samples has a line over 80"
grep -Eq '^Rates: 3 samples over [0-9]+ s' "$W/sampled" || fail "no rates section: $(grep -i rate "$W/sampled")"
for args in "--samples 1" "--interval 2" "--samples 0"; do
	# shellcheck disable=SC2086
	"$TCPTUNE" check $args >/dev/null 2>"$W/err"
	rc=$?
	[ "$rc" = 3 ] || fail "check $args exits $rc, want 3"
	[ "$(wc -l <"$W/err")" = 1 ] && grep -q -- '--samples' "$W/err" ||
		fail "check $args: want one line naming --samples, got: $(cat "$W/err")"
done
echo "ok: 80-column report, findings in lines 1-$last_finding, $ss_tw TIME-WAIT, $ss_cw CLOSE-WAIT, headroom $pct"
