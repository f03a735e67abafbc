#!/bin/bash
# check_prometheus_node_exporter.sh: `tcptune check --format prometheus
# --output FILE` writes a file that the real consumer, node_exporter's textfile
# collector, accepts (node_textfile_scrape_error 0), and the values it then
# serves match the namespace: IPv4 listeners as `ss` counts them,
# tcp_fin_timeout as /proc/sys says.  A second run feeds node_exporter broken
# files, to show that this test notices a malformed report.  Runs in its own
# network and mount namespaces, on loopback; needs root.

. "$(dirname "$0")/lib.sh"
NODE_EXPORTER=/usr/bin/prometheus-node-exporter
[ -x "$NODE_EXPORTER" ] ||
	skip "needs $NODE_EXPORTER (Debian package prometheus-node-exporter)"
need_root
need_cmds ss curl awk sed timeout
enter_netns --tmpfs /tmp -- "$@"

TCPTUNE=${TCPTUNE:-$TT_ROOT/build/tcptune}
SOCKSCEN=$TT_ROOT/build/tools/sockscen
W=/tmp				# a private tmpfs (enter_netns)
TF=$W/tf			# what the textfile collector reads
BAD=$W/tf-bad			# the self-check's directory
PROM=$TF/tcptune.prom
READY=$W/sockscen.ready

[ -x "$SOCKSCEN" ] || fail "missing $SOCKSCEN (make build/tools/sockscen)"
[ -x "$TCPTUNE" ] || fail "missing $TCPTUNE (make)"
mkdir -p "$TF" "$BAD" || fail "cannot create $TF and $BAD"

# prom_value, prom_expect, start_exporter and prom_scrape: lib.sh.

# ---- a known population: sockscen's listeners and a few connections -------
# Small: listeners on five IPv4 and two IPv6 ports, some TIME_WAIT (60 s,
# longer than this test), a CLOSE_WAIT holder.
start_bg "$SOCKSCEN" --ready "$READY" --timeout 600 --tw-out 20 --tw-out2 10 --tw-in 5 --tw6 5 \
	--close-wait 4 --close-wait-unread 1 --orphan-fw1 0 --orphan-fw2 0 --estab 3 \
	2>"$W/sockscen.err"
GEN=$TT_LAST_PID
wait_for_file "$READY" "$TT_HANG" "$GEN" ||
	fail "sockscen was not ready within $TT_HANG s: $(cat "$W/sockscen.err")"

# ---- tcptune writes the file; ss and /proc/sys say what it should hold ---
LISTEN4=$(ss -tan state listening -4 | tail -n +2 | wc -l)
LISTEN6=$(ss -tan state listening -6 | tail -n +2 | wc -l)
[ "$LISTEN4" -gt 0 ] || fail "scenario: ss shows no IPv4 listener"
FIN=$(cat /proc/sys/net/ipv4/tcp_fin_timeout) || fail "cannot read tcp_fin_timeout"
# Two rules of our own beside the shipped ones: one that fires, one that does
# not, so the finding series are checked through the consumer too.
mkdir -p "$W/data/rules" || fail "cannot create $W/data/rules"
cat >"$W/data/rules/zz-prometheus-test.yaml" <<'EOF'
- id: test-close-wait-seen
  severity: warning
  when: sockets.close_wait > 0
  title: "{sockets.close_wait} CLOSE_WAIT"
  explain: test rule
  fix: none
- id: test-never-fires
  severity: critical
  when: sockets.listen > 1000000
  title: never
  explain: test rule
  fix: none
EOF
timeout "$TT_HANG" "$TCPTUNE" --data "$W/data" check --format prometheus --output "$PROM" >"$W/check.out" 2>"$W/check.err"
RC=$?
case $RC in
1 | 2) ;;
0) fail "tcptune check exited 0 although test-close-wait-seen should fire: $(head -c 2000 "$W/check.err")" ;;
124) fail "tcptune check hung (no end within $TT_HANG s)" ;;
*) fail "tcptune check exited $RC (0, 1 or 2 expected): $(head -c 2000 "$W/check.err")" ;;
esac
[ "$(ss -tan state listening -4 | tail -n +2 | wc -l)" = "$LISTEN4" ] ||
	fail "the IPv4 listeners changed during the check"
[ -s "$PROM" ] || fail "tcptune check --output did not write $PROM"
[ ! -s "$W/check.out" ] || fail "with --output, check printed to stdout: $(head -c 300 "$W/check.out")"
for f in "$TF"/* "$TF"/.[!.]*; do
	[ -e "$f" ] || [ -L "$f" ] || continue		# an unmatched glob
	[ "$f" = "$PROM" ] || fail "file left beside the output: '$f'"
done
[ "$(stat -c %a "$PROM")" = 644 ] || fail "$PROM has mode $(stat -c %a "$PROM"), expected 644"

# ---- the consumer ------------------------------------------------------------
start_exporter "$TF" 19100 19199
prom_scrape "$W/scrape.txt"
prom_expect "$W/scrape.txt" node_textfile_scrape_error 0
prom_expect "$W/scrape.txt" tcptune_check_status "$RC"
prom_expect "$W/scrape.txt" 'tcptune_sockets{family="ipv4",state="listen"}' "$LISTEN4"
prom_expect "$W/scrape.txt" 'tcptune_sockets{family="ipv6",state="listen"}' "$LISTEN6"
prom_expect "$W/scrape.txt" 'tcptune_sysctl{key="net.ipv4.tcp_fin_timeout"}' "$FIN"
grep -q '^tcptune_info{' "$W/scrape.txt" || fail "tcptune_info missing from the scrape"
prom_expect "$W/scrape.txt" 'tcptune_finding{id="test-close-wait-seen",severity="warning"}' 1
prom_expect "$W/scrape.txt" 'tcptune_finding{id="test-never-fires",severity="critical"}' 0
prom_expect "$W/scrape.txt" tcptune_rule_errors 0
WARNINGS=$(prom_value "$W/scrape.txt" 'tcptune_findings{severity="warning"}')
[ "${WARNINGS:-0}" -ge 1 ] 2>/dev/null ||
	fail "tcptune_findings{severity=\"warning\"} is '$WARNINGS', expected at least 1"
stop_pid "$EXPORTER" 5

# ---- self-check: would this test notice a broken report? --------------------
# Each variant is a mistake a report writer could make; node_exporter must
# refuse the file (node_textfile_scrape_error 1) and serve none of it.
start_exporter "$BAD" 19100 19199
n=0
for variant in unescaped-quote family-twice no-value; do
	case $variant in
	unescaped-quote)
		sed 's/^tcptune_info{version="\([^"]*\)"/tcptune_info{version="\1"x"/' "$PROM" ;;
	family-twice)
		cat "$PROM"; printf '# TYPE tcptune_check_status counter\ntcptune_check_status 0\n' ;;
	no-value)
		sed 's/^\(tcptune_check_status\) .*/\1/' "$PROM" ;;
	esac >"$BAD/.tcptune.prom.new" || fail "cannot write the $variant file"
	cmp -s "$PROM" "$BAD/.tcptune.prom.new" && fail "self-check: the $variant file is not broken"
	mv "$BAD/.tcptune.prom.new" "$BAD/tcptune.prom" || fail "cannot install the $variant file"
	prom_scrape "$W/scrape-bad.txt"
	got=$(prom_value "$W/scrape-bad.txt" node_textfile_scrape_error)
	[ "$got" = 1 ] ||
		fail "self-check: node_exporter took the $variant file (node_textfile_scrape_error '$got')"
	! grep -q '^tcptune_' "$W/scrape-bad.txt" ||
		fail "self-check: node_exporter served tcptune metrics from the $variant file"
	n=$((n + 1))
done
stop_pid "$EXPORTER" 5

stop_pid "$GEN" 10
grc=$?
[ "$grc" = 0 ] || fail "sockscen exited $grc on SIGTERM: $(cat "$W/sockscen.err")"

echo "ok: $(basename "$0"): tcptune rc $RC; node_exporter accepted $(grep -c '^tcptune_' "$W/scrape.txt")" \
	"tcptune samples; listen ipv4 $LISTEN4 ipv6 $LISTEN6, tcp_fin_timeout $FIN; $n broken files refused"
exit 0
