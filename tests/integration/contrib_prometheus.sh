#!/bin/bash
# contrib/prometheus: the alerting rules load (`promtool check rules`), each
# alert has a test group in tcptune-alerts.test.yml and `promtool test rules`
# passes them (hosts that must alert and hosts that must not), and every
# metric and label value the rules select is one that the real
# `tcptune check --format prometheus` writes (run in a new network
# namespace), which `promtool check metrics` accepts.  A rule on a metric
# tcptune does not write would never fire; this catches a rename.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds promtool grep sed sort
BIN=$TT_ROOT/build/tcptune
[ -x "$BIN" ] || fail "build first: make build/tcptune"
enter_netns --tmpfs /tmp -- "$@"
D=$TT_ROOT/contrib/prometheus
out=$(mktemp -d) || fail "mktemp -d"
trap 'tt_cleanup; rm -rf -- "$out"' EXIT

promtool check rules "$D/tcptune-alerts.yml" >"$out/check.log" 2>&1 ||
	{ cat "$out/check.log" >&2; fail "promtool check rules failed"; }
echo "promtool check rules: $(grep -o '[0-9]* rules found' "$out/check.log")"

# One test group per alert.
sed -n 's/^ *- alert: *//p' "$D/tcptune-alerts.yml" | sort -u >"$out/alerts"
sed -n 's/^ *alertname: *//p' "$D/tcptune-alerts.test.yml" | sort -u >"$out/tested"
[ -s "$out/alerts" ] || fail "no alert in tcptune-alerts.yml"
diff -u "$out/alerts" "$out/tested" >&2 || fail "alerts and tested alerts differ (- alert without a test, + test of no alert)"
for a in $(cat "$out/alerts"); do
	grep -A3 "alertname: $a\$" "$D/tcptune-alerts.test.yml" | grep -q 'exp_alerts: \[\]' ||
		[ "$(grep -c "alertname: $a\$" "$D/tcptune-alerts.test.yml")" -ge 2 ] ||
		fail "$a: no case where it must stay quiet"
done
(cd "$D" && promtool test rules tcptune-alerts.test.yml) >"$out/test.log" 2>&1 ||
	{ cat "$out/test.log" >&2; fail "promtool test rules failed"; }
echo "promtool test rules: SUCCESS, $(wc -l <"$out/alerts") alerts tested: $(paste -sd ' ' "$out/alerts")"

# The rules select what tcptune writes.
"$BIN" check --format prometheus >"$out/metrics" 2>"$out/check.err"
rc=$?
[ "$rc" -le 2 ] || { cat "$out/check.err" >&2; fail "tcptune check --format prometheus exited $rc"; }
promtool check metrics <"$out/metrics" >"$out/lint" 2>&1 || { cat "$out/lint" >&2; fail "promtool check metrics rejects tcptune's output"; }
# The expressions: each `expr:` line and the lines of a folded one (>-).
names=$(awk '/^ *expr:/ { on = 1; print; next } on && /^ *[a-z_]+:/ { on = 0 } on' "$D/tcptune-alerts.yml" |
	grep -oE 'tcptune_[a-z_]+' | sort -u)
[ -n "$names" ] || fail "no tcptune metric found in the rules' expressions"
for n in $names; do
	grep -qE "^$n(\{| )" "$out/metrics" || fail "the rules use $n, which tcptune check --format prometheus does not write"
done
for sel in 'id="pending-transaction",severity="critical"' 'severity="critical"'; do
	grep -q "^tcptune_finding{.*$sel" "$out/metrics" || fail "tcptune writes no tcptune_finding{$sel}"
done
echo "metrics used by the rules, all written by tcptune check: ${names//$'\n'/ }"
echo "PASS: contrib_prometheus"
