#!/bin/bash
# check_rules_table.sh: every shipped rule (rules/*.yaml) fires on a fixture
# made for it and stays quiet on one near its threshold.
#
# Fixtures are --root trees under tests/fixtures/rules (written by its
# generate.sh): base/ is one healthy Linux 6.18 host on which no rule fires;
# each case is an overlay <id>/<case>/ holding only the files that differ,
# copied over a fresh copy of base (paths listed in an overlay's ".remove"
# are deleted from the copy).  For every row of the table below the findings
# of `tcptune check --root COPY --format json` must be exactly the rule (for
# "fires") plus the companions the row names, or exactly the companions (for
# "quiet"); the exit code must match the worst severity, and nothing may go
# to stderr (a rule error such as a division by zero would).  The table is
# checked against the ids the YAML files ship and against the list of ids below, which users rely on.
#
# Rules that need --samples (rates, CLOSE_WAIT growth) are shown firing
# through their non-sampling condition (counts, or a counter's increase since
# the previous check that a state file in the tree records, README
# "Evidence"); their sampling paths are covered by the live tests
# check_sampling_leak.sh and check_counter_evidence.sh.
#
# Reads files only: no root, no namespace.  Exit 0 pass, 1 fail, 77 skip.
# TCPTUNE=/path/to/binary overrides build/tcptune (e.g. a sanitizer build).
# The rules are read from the source tree (a copy passed with --data), so a
# binary built before the last YAML edit still tests the current rules.

set -u
export LC_ALL=C
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$TT_ROOT
TCPTUNE=${TCPTUNE:-$ROOT/build/tcptune}
FX=$ROOT/tests/fixtures/rules

need_cmds jq
[ -x "$TCPTUNE" ] || fail "missing $TCPTUNE (make build/tcptune)"
[ -d "$FX/base/proc" ] || fail "missing fixture tree $FX/base"

W=$(mktemp -d "${TMPDIR:-/tmp}/tcptune-rules.XXXXXX") || fail "mktemp -d failed"
trap 'rm -rf "$W"; tt_cleanup' EXIT
# The rules of this tree, in a copy owned by whoever runs the test: as root,
# tcptune refuses rule files not owned by root or writable by others (docs/SECURITY.md),
# which a checkout may well be.
DATA=$W/data
mkdir -p "$DATA/rules" || fail "cannot create $DATA/rules"
cp "$ROOT"/rules/*.yaml "$DATA/rules/" || fail "cannot copy rules/*.yaml"
chmod 0755 "$DATA" "$DATA/rules" || fail "chmod failed"
chmod 0644 "$DATA"/rules/*.yaml || fail "chmod failed"

# ---- the table ----------------------------------------------------------------
# id  expect  case  companions  world
#   case: an overlay under tests/fixtures/rules/<id>/, or "base".
#   companions: other ids that must fire too ("-" for none), comma-separated.
#   world: where the rule's own finding holds ("-" for quiet rows): now,
#     boot (after the next reboot) or now+boot (docs/ARCHITECTURE.md §7).
#     A rule over sysctl values has a "fires" row for each world it can
#     hold in and a "quiet" row whose boot files keep it quiet too; a boot
#     finding must name the file:line (.boot.source).  Rules over counters
#     and sockets are about now only: their counters start from zero at
#     boot, so a "since boot" row says "now".
TABLE='
tw-recycle-enabled         fires  fires              -                                       now+boot
tw-recycle-enabled         fires  fires-boot         runtime-boot-drift                      boot
tw-recycle-enabled         quiet  quiet              -                                       -
tw-recycle-enabled         quiet  quiet-boot         -                                       -
stale-sysctl-config        fires  fires              -                                       boot
stale-sysctl-config        quiet  quiet              -                                       -
timestamps-disabled        fires  fires              -                                       now+boot
timestamps-disabled        fires  fires-boot         runtime-boot-drift                      boot
timestamps-disabled        fires  fires-now          -                                       now
timestamps-disabled        fires  fires-procps       boot-override                           boot
timestamps-disabled        quiet  quiet              -                                       -
timestamps-disabled        quiet  quiet-boot         runtime-boot-drift                      -
tw-reuse-ineffective       fires  fires              -                                       now+boot
tw-reuse-ineffective       fires  fires-boot         runtime-boot-drift                      boot
tw-reuse-ineffective       quiet  quiet              -                                       -
tw-reuse-ineffective       quiet  quiet-few          -                                       -
tw-buckets-exhausted       fires  fires              harmful-value                           now+boot
tw-buckets-exhausted       fires  fires-boot         harmful-boot-value,runtime-boot-drift   boot
tw-buckets-exhausted       fires  fires-recent       -                                       now
tw-buckets-exhausted       quiet  quiet              harmful-value                           -
tw-buckets-exhausted       quiet  quiet-boot         harmful-boot-value,runtime-boot-drift   -
tw-overflow-history        fires  fires              -                                       now
tw-overflow-history        fires  fires-no-increase  -                                       now
tw-overflow-history        quiet  quiet              tw-buckets-exhausted                    -
orphans-exhausted          fires  fires              -                                       now
orphans-exhausted          fires  fires-boot         runtime-boot-drift                      boot
orphans-exhausted          fires  fires-recent       -                                       now
orphans-exhausted          quiet  quiet              -                                       -
orphans-exhausted          quiet  quiet-boot         -                                       -
orphans-abort-history      fires  fires              -                                       now
orphans-abort-history      fires  fires-no-increase  -                                       now
orphans-abort-history      quiet  quiet              orphans-exhausted                       -
ephemeral-ports-exhausted  fires  fires              -                                       now
ephemeral-ports-exhausted  quiet  quiet              -                                       -
ephemeral-ports-exhausted  quiet  ../ephemeral-ports-nearly-exhausted/fires ephemeral-ports-nearly-exhausted        -
ephemeral-ports-nearly-exhausted fires  fires              -                                       now
ephemeral-ports-nearly-exhausted quiet  quiet              ephemeral-ports-exhausted               -
close-wait-leak            fires  fires              -                                       now
close-wait-leak            quiet  quiet              -                                       -
close-wait-leak            quiet  quiet-spread       -                                       -
close-wait-unread          fires  fires              -                                       now
close-wait-unread          quiet  quiet              -                                       -
fin-wait2-buildup          fires  fires              -                                       now+boot
fin-wait2-buildup          fires  fires-boot         runtime-boot-drift                      boot
fin-wait2-buildup          quiet  quiet              -                                       -
fin-wait2-buildup          quiet  quiet-boot         runtime-boot-drift                      -
keepalive-too-long         fires  fires              conntrack-established-short             now
keepalive-too-long         quiet  quiet              -                                       -
keepalive-too-long         quiet  quiet-boot         runtime-boot-drift,conntrack-established-short -
listen-overflow            fires  fires              -                                       now
listen-overflow            fires  fires-syn-drop     harmful-value                           now
listen-overflow            quiet  quiet              -                                       -
listen-overflow            quiet  quiet-old-burst    listen-overflow-history                 -
listen-overflow-history    fires  fires              -                                       now
listen-overflow-history    fires  fires-no-increase  -                                       now
listen-overflow-history    fires  fires-other-boot   -                                       now
listen-overflow-history    quiet  quiet              listen-overflow                         -
conntrack-timeouts         fires  fires              -                                       now+boot
conntrack-timeouts         fires  fires-close-wait   -                                       now+boot
conntrack-timeouts         fires  fires-fin-wait     -                                       now+boot
conntrack-timeouts         fires  fires-boot         runtime-boot-drift                      boot
conntrack-timeouts         quiet  quiet              -                                       -
conntrack-established-short fires  fires              -                                       now+boot
conntrack-established-short fires  fires-boot         runtime-boot-drift                      boot
conntrack-established-short quiet  quiet              -                                       -
conntrack-established-short fires  fires-keepalive    -                                       now
conntrack-established-short quiet  quiet-keepalive    -                                       -
conntrack-table-full       fires  fires              -                                       now
conntrack-table-full       quiet  quiet              -                                       -
runtime-boot-drift         fires  fires              -                                       boot
runtime-boot-drift         quiet  base               -                                       -
boot-override              fires  fires              -                                       boot
boot-override              fires  fires-reapplier    runtime-boot-drift                      boot
boot-override              quiet  quiet              -                                       -
boot-value-rejected        fires  fires              -                                       boot
boot-value-rejected        quiet  quiet              -                                       -
pending-transaction        fires  fires              -                                       now
pending-transaction        quiet  quiet              -                                       -
harmful-value              fires  fires              runtime-boot-drift                      now
harmful-value              fires  fires-both         -                                       now
harmful-value              quiet  quiet              runtime-boot-drift                      -
harmful-value              quiet  quiet-own-rule     timestamps-disabled                     -
harmful-boot-value         fires  fires              runtime-boot-drift                      boot
harmful-boot-value         quiet  fires-timestamps   timestamps-disabled                     -
harmful-boot-value         quiet  quiet              -                                       -
resets-instead-of-closes   fires  fires              -                                       now
resets-instead-of-closes   quiet  quiet              -                                       -
dead-peer-data-in-flight   fires  fires              -                                       now
dead-peer-data-in-flight   quiet  quiet              -                                       -
conntrack-drops            fires  fires              -                                       now
conntrack-drops            quiet  quiet              -                                       -
conntrack-invalid          fires  fires              -                                       now
conntrack-invalid          quiet  quiet              -                                       -
paws-rejects               fires  fires              -                                       now
paws-rejects               quiet  quiet              -                                       -
paws-rejects-timewait      fires  fires              -                                       now
paws-rejects-timewait      quiet  quiet              -                                       -
ports-held-by-bind         fires  fires              -                                       now
ports-held-by-bind         quiet  quiet              -                                       -
'
# What each case shows (thresholds are explained beside each rule's `when`):
#   tw-recycle-enabled   4.9 kernel with tcp_tw_recycle=1 / =0.
#   stale-sysctl-config  a tcp_tw_recycle line in sysctl.d on 6.18 / the line commented out.
#   timestamps-disabled  tcp_timestamps=0 / =2 (on, without offsets); fires-procps: 0 only in
#                        /etc/sysctl.conf with no 99-sysctl.conf link (procps alone applies it).
#   tw-reuse-ineffective tw_reuse=1 with TIME_WAIT 90 in / 10 out (90%); 89/11; 98/1 (< 100 in all).
#   tw-buckets-exhausted tcp_max_tw_buckets=200 with 180 / 179 minisockets; TCPTimeWaitOverflow
#                        up since the previous check (state file in the tree; the rate path
#                        needs --samples).
#   tw-overflow-history  TCPTimeWaitOverflow since boot, no previous check; the same as at the
#                        previous check / risen by one (the warning instead).
#   orphans-exhausted    sockstat orphan 65536 / 65535 of tcp_max_orphans 131072 (50%);
#                        TCPAbortOnMemory up since the previous check.
#   orphans-abort-history  TCPAbortOnMemory as tw-overflow-history.
#   ephemeral-ports-exhausted  160 / 159 sockets to 10.0.0.20:5432 in a 200-port range (80%);
#                        190 (95%) is the critical rule's alone.
#   ephemeral-ports-nearly-exhausted  190 / 189 sockets to 10.0.0.20:5432 in a 200-port range
#                        (95% / 94%, where the warning rule fires).
#   close-wait-leak      leaky-app (pid 4242) holds 60 / 49 CLOSE_WAIT; 60 split 30+30 over two
#                        processes (the growth path needs --samples: check_sampling_leak.sh).
#   close-wait-unread    10 / 9 CLOSE_WAIT with unread data (the 9 plus 10 holding only the FIN).
#   fin-wait2-buildup    tcp_fin_timeout=15 and 150 / 149 FIN_WAIT2 (threshold 10 x 15).
#   keepalive-too-long   probes sent, conntrack established timeout 300 / 432000 (an idle SSH host).
#   listen-overflow      ListenOverflows up since the previous check; TCPReqQFullDrop up with
#                        syncookies=0 / SYN cookies sent but nothing dropped; an old burst
#                        (no increase since the previous check: history only).
#   listen-overflow-history  ListenOverflows since boot with no previous check, with no
#                        increase, with a previous check of another boot (ignored) / risen.
#   conntrack-timeouts   time_wait 30; close_wait 15; fin_wait 30 / all three at 60.
#   conntrack-established-short  established timeout 1800 now and in a file / 7440 (RFC 5382);
#                        the default now, 120 at boot.
#                        8000 with tcp_keepalive_time 9000 / 7200 (keepalive's first probe
#                        comes after the entry is gone / before).
#   conntrack-table-full 235930 / 235929 of 262144 entries (90%).
#   conntrack-drops      early_drop +40 and drop +3 since the previous check / the same totals
#                        as then (history).
#   conntrack-invalid    invalid +900 in 300 s (3/s) / +200 (below 1/s).
#   paws-rejects         PAWSEstab +900 in 300 s (3/s) / +200 (below 1/s).
#   paws-rejects-timewait  PAWSTimewait +900 in 300 s / +200.
#   ports-held-by-bind   100 / 99 connections on odd ports (bind()'s parity) in a 500-port
#                        range (20% / 19%).
#   runtime-boot-drift   somaxconn 65535 at runtime, 4096 in 99-tcptune.conf / base.
#   boot-override        /etc/sysctl.conf sets a key of 99-tcptune.conf (procps applies it last);
#                        bpftune installed and runtime drifted / bpftune installed, no drift.
#   boot-value-rejected  ip_local_port_range = 1024 65536 / fin_timeout = 60 with a comment after it.
#   pending-transaction  a "pending" manifest / a "rolled-back" one.
#   harmful-value        somaxconn lowered by hand to 50 / to 128 (the edge of apply's range; both
#                        drift from 4096 at boot); tcp_timestamps=0
#                        is timestamps-disabled's alone.
#   harmful-boot-value   a sysctl.d line tcp_max_tw_buckets = 5000 / 16384 (the edge of apply's
#                        range); tcp_timestamps = 0 at boot and now is timestamps-disabled's alone,
#                        in both worlds.
#   *-boot cases         the boot world: the running value is fine and a sysctl.d line sets the
#                        value that fires the rule (fires-boot), or one just on the quiet side of
#                        its threshold (quiet-boot); both drift from runtime unless noted.
#                        tw-recycle 0 now, a line =1 / =0 (4.9); timestamps 1 now, 0 / 2 at boot,
#                        and 0 by hand with no line (now only: boot restores the default);
#                        tw_buckets 131072 now, 200 / 201 at boot with 180 minisockets;
#                        tcp_max_orphans 131072 now, 131070 / 131072 at boot with 65535 orphans;
#                        fin_timeout 60 now, 15 / 16 at boot with 150 FIN_WAIT2; conntrack
#                        time_wait 60 now, 30 at boot; tw_reuse 2 now, 1 at boot; keepalive 120
#                        now, 7200 at boot with a 300 s conntrack timeout (quiet: no probe is
#                        counted after a reboot yet).
#   harmful-value fires-both  somaxconn 50 now and in 99-tcptune.conf: one finding, "now and at boot".

# ---- the ids the rules ship -----------------------------------------------------
ls "$ROOT"/rules/*.yaml >/dev/null 2>&1 || fail "no rules/*.yaml under $ROOT"
SHIPPED=$(sed -n 's/^- id:[[:space:]]*\([^[:space:]#]*\)[[:space:]]*\(#.*\)\{0,1\}$/\1/p' "$ROOT"/rules/*.yaml | tr -d "\"'" | sort)
[ -n "$SHIPPED" ] || fail "found no '- id:' line in rules/*.yaml"
dup=$(uniq -d <<<"$SHIPPED")
[ -z "$dup" ] || fail "rule ids shipped twice: $dup"
# Each '- id:' line must be a rule: the count of list items with an id equals
# the count of rules (every rule starts with "- id:" in the shipped style).
n_items=$(grep -c '^- ' "$ROOT"/rules/*.yaml | awk -F: '{ n += $NF } END { print n }')
[ "$n_items" = "$(wc -l <<<"$SHIPPED")" ] ||
	fail "rules/*.yaml hold $n_items list items but $(wc -l <<<"$SHIPPED") '- id:' lines; start every rule with '- id:'"

# Rule ids tests and users rely on.
REQUIRED="tw-recycle-enabled stale-sysctl-config timestamps-disabled tw-reuse-ineffective
tw-buckets-exhausted orphans-exhausted ephemeral-ports-exhausted close-wait-leak close-wait-unread
fin-wait2-buildup keepalive-too-long listen-overflow conntrack-timeouts runtime-boot-drift
boot-override pending-transaction harmful-value harmful-boot-value"
for id in $REQUIRED; do
	grep -qxF "$id" <<<"$SHIPPED" || fail "rule '$id' is not shipped in rules/*.yaml"
done

# Rules whose facts only sock_diag gives (a listener's backlog is not in
# /proc/net/tcp, which --root reads): each has its live scenario instead.
LIVE_ONLY="listen-queue-near-full:check_listen_queue.sh listen-backlog-small:check_listen_queue.sh"
for e in $LIVE_ONLY; do
	[ -f "$TT_ROOT/tests/integration/${e#*:}" ] || fail "live-only rule ${e%%:*}: no scenario ${e#*:}"
	SHIPPED=$(grep -vxF "${e%%:*}" <<<"$SHIPPED")
done

ROWS=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' <<<"$TABLE")
TABLE_IDS=$(awk '{ print $1 }' <<<"$ROWS" | sort -u)
for id in $SHIPPED; do
	grep -qxF "$id" <<<"$TABLE_IDS" || fail "shipped rule '$id' has no row in the table"
	awk -v id="$id" '$1 == id && $2 == "fires"' <<<"$ROWS" | grep -q . || fail "rule '$id' has no 'fires' row"
	awk -v id="$id" '$1 == id && $2 == "quiet"' <<<"$ROWS" | grep -q . || fail "rule '$id' has no 'quiet' row"
done
for id in $TABLE_IDS; do
	grep -qxF "$id" <<<"$SHIPPED" || fail "the table names rule '$id', which rules/*.yaml do not ship"
done
while read -r id expect case also world; do
	case $expect in fires | quiet) ;; *) fail "table row '$id $expect $case': expect must be fires or quiet" ;; esac
	case $expect:$world in fires:now | fires:boot | fires:now+boot | quiet:-) ;;
	*) fail "table row '$id $expect $case': world '$world' must be now, boot or now+boot (fires), - (quiet)" ;;
	esac
	[ "$case" = base ] || [ -d "$FX/$id/$case" ] || fail "table row '$id $expect $case': no fixture $FX/$id/$case"
	for a in ${also//,/ }; do
		[ "$a" = - ] || grep -qxF "$a" <<<"$SHIPPED" || fail "table row '$id $expect $case': companion '$a' is not shipped"
	done
done <<<"$ROWS"
# Every overlay directory is used by a row.
for d in "$FX"/*/*/; do
	d=${d%/}
	id=$(basename "$(dirname "$d")") case=$(basename "$d")
	[ "$id" = base ] && continue
	awk -v id="$id" -v c="$case" '$1 == id && $3 == c' <<<"$ROWS" | grep -q . ||
		fail "fixture $id/$case is not used by any table row"
done

# ---- running one case -------------------------------------------------------------
# run NAME OVERLAY-DIR|"": copy base (+ overlay) to $W/NAME/root, run check,
# leave $W/NAME/{out.json,err,rc,ids}.
run() {
	local name=$1 overlay=$2 dir=$W/$1 rel
	mkdir -p "$dir"
	cp -a "$FX/base" "$dir/root" || fail "$name: cannot copy $FX/base"
	if [ -n "$overlay" ]; then
		cp -a "$overlay/." "$dir/root/" || fail "$name: cannot copy $overlay"
		if [ -f "$dir/root/.remove" ]; then
			while IFS= read -r rel; do
				[ -n "$rel" ] || continue
				case /$rel/ in */../* | //*) fail "$name: bad path '$rel' in .remove" ;; esac
				[ -e "$dir/root/$rel" ] || fail "$name: .remove names '$rel', which base does not have"
				rm -rf "${dir:?}/root/$rel"
			done <"$dir/root/.remove"
			rm -f "$dir/root/.remove"
		fi
	fi
	# The site config is the tree's own etc/tcptune/tcptune.yaml (none), never this host's.
	(cd / && exec timeout "$TT_HANG" "$TCPTUNE" --data "$DATA" check --root "$dir/root" --format json) \
		>"$dir/out.json" 2>"$dir/err"
	echo $? >"$dir/rc"
	jq -e '.findings | type == "array"' "$dir/out.json" >/dev/null 2>&1 ||
		fail "$name: exit $(cat "$dir/rc"), no findings array in stdout: $(head -c 600 "$dir/out.json") $(head -c 600 "$dir/err")"
	# Shipped ids only: rules someone installed in /etc/tcptune/rules are not ours to judge.
	jq -r '.findings[] | select(.ignored | not) | .id' "$dir/out.json" | grep -xF -f <(echo "$SHIPPED") |
		sort -u >"$dir/ids"
}
# check_case NAME WANT-IDS(space separated, sorted): findings, exit code, stderr.
check_case() {
	local name=$1 want=$2 dir=$W/$1 got rc worst
	got=$(tr '\n' ' ' <"$dir/ids" | sed 's/ $//')
	[ "$got" = "$want" ] ||
		fail "$name: findings [${got}], expected [${want}]; titles: $(jq -c '[.findings[] | .title]' "$dir/out.json")"
	[ ! -s "$dir/err" ] || fail "$name: tcptune wrote to stderr: $(head -c 1000 "$dir/err")"
	jq -e '(.rule_errors // []) | length == 0' "$dir/out.json" >/dev/null 2>&1 ||
		fail "$name: rule errors: $(jq -c '.rule_errors' "$dir/out.json")"
	rc=$(cat "$dir/rc")
	worst=$(jq -r '[.findings[] | select(.ignored | not) | .severity] |
		if index("critical") then 2 elif index("warning") then 1 else 0 end' "$dir/out.json")
	[ "$rc" = "$worst" ] || fail "$name: exit code $rc, expected $worst for the findings' worst severity"
}

# ---- base: a healthy host, no finding ----------------------------------------------
run base ""
check_case base ""
jq -e '.sources.sockets == "proc" and .facts["kernel.release"] == "6.18.44-amd64"' "$W/base/out.json" >/dev/null ||
	fail "base: not read from the fixture: $(jq -c '{sources, kernel: .facts["kernel.release"]}' "$W/base/out.json")"

# ---- the table -------------------------------------------------------------------------
n=0
while read -r id expect case also world; do
	name="$id.$case"
	if [ "$case" = base ]; then
		cp -a "$W/base" "$W/$name"
	else
		run "$name" "$FX/$id/$case"
	fi
	want=""
	[ "$expect" = fires ] && want=$id
	[ "$also" = - ] || want="$want ${also//,/ }"
	want=$(tr ' ' '\n' <<<"$want" | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//')
	check_case "$name" "$want"
	if [ "$expect" = fires ]; then
		jq -e --arg id "$id" --arg w "$world" '[.findings[] | select(.id == $id)] | length == 1 and
			(.[0] | .world == $w and
			 (if $w == "now" then .boot == null
			  elif $w == "boot" and (.id | IN("tw-recycle-enabled", "timestamps-disabled", "tw-reuse-ineffective",
				"conntrack-established-short",
				"tw-buckets-exhausted", "orphans-exhausted", "fin-wait2-buildup", "conntrack-timeouts"))
			  then (.boot.source // .boot.source_procps | test("^/etc/sysctl\\.(d/[^ ]+|conf):[0-9]+"))
			  else true end))' "$W/$name/out.json" >/dev/null ||
			fail "$name: finding $id is not in world $world with its boot line: $(jq -c --arg id "$id" \
				'.findings[] | select(.id == $id) | {world, boot}' "$W/$name/out.json")"
	fi
	n=$((n + 1))
done <<<"$ROWS"

# ---- what the findings say ------------------------------------------------------------
# finding NAME ID JQ-FILTER: the filter, applied to finding ID of case NAME, is true.
finding() {
	jq -e --arg id "$2" "[.findings[] | select(.id == \$id)] | length == 1 and (.[0] | $3)" \
		"$W/$1/out.json" >/dev/null ||
		fail "$1: finding $2 does not satisfy $3: $(jq -c --arg id "$2" '.findings[] | select(.id == $id)' "$W/$1/out.json")"
}
# The CLOSE_WAIT owner comes from the fixture's proc/4242/comm and fd links.
[ "$(cat "$FX/close-wait-leak/fires/proc/4242/comm")" = leaky-app ] || fail "fixture: proc/4242/comm is not leaky-app"
n_fd=$(find "$FX/close-wait-leak/fires/proc/4242/fd" -lname 'socket:\[300[0-9][0-9]\]' ! -lname 'socket:\[30000\]' | wc -l)
[ "$n_fd" = 60 ] || fail "fixture: pid 4242 holds $n_fd CLOSE_WAIT socket links, expected 60"
finding close-wait-leak.fires close-wait-leak \
	'.severity == "warning" and (.title | startswith("60 CLOSE_WAIT sockets held by leaky-app (pid 4242)"))
	 and .evidence["closewait.top.count"] == 60 and (.fix | test("No sysctl removes CLOSE_WAIT"))
	 and .sysctl == {}'
finding close-wait-unread.fires close-wait-unread '.title | test("^10 CLOSE_WAIT .*api-server, pid 2210")'
finding tw-recycle-enabled.fires tw-recycle-enabled \
	'.severity == "critical" and (.title | test("tcp_tw_recycle is 1 on Linux 4\\.9\\.0-8-amd64"))
	 and (.explain | test("4\\.12"))'
finding pending-transaction.fires pending-transaction '.severity == "critical" and (.title | test("transaction 0002 "))'
finding ephemeral-ports-exhausted.fires ephemeral-ports-exhausted \
	'.title == "160 local ports in use to 10.0.0.20:5432: 80% of the ephemeral range 60000-60199"
	 and .sysctl == {"net.ipv4.tcp_tw_reuse": 1}'
finding tw-buckets-exhausted.fires tw-buckets-exhausted \
	'(.title | startswith("180 TIME_WAIT/FIN_WAIT2 minisockets against tcp_max_tw_buckets 200;"))
	 and (.explain | test("no sysctl changes"))'
# Counter evidence (README "Evidence"): the increase since the previous check
# the fixture's state file records, or the total as history.
finding tw-buckets-exhausted.fires-recent tw-buckets-exhausted \
	'.title | endswith("TCPTimeWaitOverflow +342 since the previous check 5 min ago")'
finding tw-overflow-history.fires tw-overflow-history \
	'.severity == "info" and .evidence["evidence.tcpext.TCPTimeWaitOverflow"] == "15342 since boot, no earlier check to compare"'
finding orphans-exhausted.fires-recent orphans-exhausted \
	'.evidence["evidence.tcpext.TCPAbortOnMemory"] == "+30 since the previous check 10 min ago"'
finding orphans-abort-history.fires-no-increase orphans-abort-history \
	'.evidence["evidence.tcpext.TCPAbortOnMemory"] | test("^37 since boot \\(up 10 days\\), no increase since ")'
finding listen-overflow.fires listen-overflow \
	'.severity == "warning" and .evidence["evidence.tcpext.ListenOverflows"] == "+40 since the previous check 5 min ago"
	 and .evidence["delta.tcpext.ListenOverflows"] == 40'
finding listen-overflow.fires-syn-drop listen-overflow \
	'.evidence["evidence.tcpext.TCPReqQFullDrop"] == "+12 since the previous check 60 s ago"'
finding listen-overflow-history.fires-no-increase listen-overflow-history \
	'.evidence["evidence.tcpext.ListenOverflows"] | test("^1840 since boot \\(up 10 days\\), no increase since ")'
finding listen-overflow-history.fires-other-boot listen-overflow-history \
	'.evidence["delta.tcpext.ListenOverflows"] == null'
jq -e '[.notes[] | select(.source == "evidence" and (.text | test("root.state ignored: it is from an earlier boot$")))] | length == 1' \
	"$W/listen-overflow-history.fires-other-boot/out.json" >/dev/null ||
	fail "listen-overflow-history.fires-other-boot: no note that the other boot's state was ignored"
finding fin-wait2-buildup.fires fin-wait2-buildup '.title == "150 sockets in FIN_WAIT2 with tcp_fin_timeout 15 s"'
finding conntrack-timeouts.fires conntrack-timeouts \
	'.sysctl == {"net.netfilter.nf_conntrack_tcp_timeout_time_wait": 120,
	             "net.netfilter.nf_conntrack_tcp_timeout_close_wait": 60,
	             "net.netfilter.nf_conntrack_tcp_timeout_fin_wait": 120}'
# One problem in both worlds is one finding that says so, with its line.
finding harmful-value.fires-both harmful-value \
	'.title | test("net\\.core\\.somaxconn=50 \\(now and at boot: /etc/sysctl\\.d/99-tcptune\\.conf:1\\)")'
finding tw-recycle-enabled.fires-boot tw-recycle-enabled '.boot.source == "/etc/sysctl.d/10-tuning.conf:1"'
# Where only procps sets the value, the finding says so and names its line.
finding timestamps-disabled.fires-procps timestamps-disabled \
	'.boot.procps and (.boot.systemd | not) and .boot.source == null and .boot.source_procps == "/etc/sysctl.conf:2"'
# The drift finding names its keys, and tells not to run sysctl --system
# while a file sets a harmful value.
finding tw-buckets-exhausted.fires-boot runtime-boot-drift \
	'(.title | test("net\\.ipv4\\.tcp_max_tw_buckets 131072 -> 200 \\(/etc/sysctl\\.d/60-timewait\\.conf:1\\)"))
	 and (.title | test("before any `sysctl --system`, correct the lines setting harmful tcp_max_tw_buckets=200"))'
finding keepalive-too-long.fires keepalive-too-long '.severity == "info" and (.explain | test("CLOSE_WAIT"))'

# ---- every shipped rule's text --------------------------------------------------------------
# From the cases where each fires: one-paragraph explain, a fix, a known severity.
for id in $SHIPPED; do
	c=$(awk -v id="$id" '$1 == id && $2 == "fires" { print $3; exit }' <<<"$ROWS")
	finding "$id.$c" "$id" \
		'(.severity | IN("info", "warning", "critical")) and (.explain | length > 80)
		 and (.explain | test("\n") | not) and (.fix | length > 40) and (.title | test("[{}]") | not)'
done

echo "ok: $(basename "$0"): base quiet; $n table rows over $(wc -l <<<"$SHIPPED") shipped rules; titles checked"
exit 0
