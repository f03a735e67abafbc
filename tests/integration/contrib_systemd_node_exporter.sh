#!/bin/bash
# contrib_systemd_node_exporter.sh: contrib/systemd's service does what it
# promises.  Its ExecStart is read from the unit file (the binary swapped for
# build/tcptune, the textfile directory for a temp one) and run the way the
# unit would run it: capability bounding set, no_new_privs and umask from the
# unit.  Then:
#   - with a warning finding made to fire (tcp_timestamps 0 in the test's
#     namespace), the exit code is listed in SuccessExitStatus, which must hold
#     1 and 2, the warning and critical results, and not 3;
#   - under strace, every write lands under ReadWritePaths or StateDirectory
#     (ProtectSystem=strict), the state for the next check among them, and, when systemd-analyze can expand SystemCallFilter, every
#     system call is allowed by it;
#   - the real prometheus-node-exporter, on loopback with only the textfile
#     collector on that directory, accepts the file (node_textfile_scrape_error
#     0) and serves tcptune metrics equal to what the namespace holds:
#     tcp_fin_timeout as /proc/sys says, listeners as ss counts them;
#   - `systemd-analyze verify` accepts both units (skipped without it).
# Runs in its own network and mount namespaces, on loopback; needs root.

. "$(dirname "$0")/lib.sh"
NODE_EXPORTER=/usr/bin/prometheus-node-exporter
[ -x "$NODE_EXPORTER" ] ||
	skip "needs $NODE_EXPORTER (Debian package prometheus-node-exporter)"
need_root
need_cmds ss curl awk sed timeout setpriv strace
enter_netns --tmpfs /tmp -- "$@"

UNITDIR=$TT_ROOT/contrib/systemd
SERVICE=$UNITDIR/tcptune-textfile.service
TIMER=$UNITDIR/tcptune-textfile.timer
TCPTUNE=$TT_ROOT/build/tcptune
SOCKSCEN=$TT_ROOT/build/tools/sockscen
W=/tmp				# a private tmpfs (enter_netns)
TF=$W/textfile			# stands for the unit's ReadWritePaths
READY=$W/sockscen.ready

[ -f "$SERVICE" ] || fail "missing $SERVICE"
[ -f "$TIMER" ] || fail "missing $TIMER"
[ -x "$TCPTUNE" ] || fail "missing $TCPTUNE (make)"
[ -x "$SOCKSCEN" ] || fail "missing $SOCKSCEN (make build/tools/sockscen)"
mkdir -p "$TF" || fail "cannot create $TF"

# unit_get FILE SECTION KEY: each value of KEY in [SECTION], one a line, with
# continuation lines joined and comments dropped.
unit_get() {
	awk -v want="[$2]" -v key="$3" '
	function flush() { if (sec == want && index(buf, key "=") == 1) print substr(buf, length(key) + 2); buf = "" }
	/^[ \t]*[#;]/ && buf == "" { next }
	{
		line = $0; sub(/^[ \t]+/, "", line)
		if (buf == "" && line ~ /^\[.*\]$/) { sec = line; next }
		if (sub(/\\$/, "", line)) { buf = buf line " "; next }
		buf = buf line; flush()
	}' "$1"
}

# ---- the unit's command, settings and promises ------------------------------
n=$(unit_get "$SERVICE" Service ExecStart | wc -l)
[ "$n" = 1 ] || fail "expected one ExecStart= in $SERVICE, found $n"
EXEC=$(unit_get "$SERVICE" Service ExecStart)
case $EXEC in
[-@:+!]*) fail "ExecStart has a prefix ('${EXEC%%/*}') this test does not model: $EXEC" ;;
*[\"\'\\%\$]*) fail "ExecStart uses quoting, specifiers or variables this test does not model: $EXEC" ;;
esac
[ "$(unit_get "$SERVICE" Service Type)" = oneshot ] || fail "the service is not Type=oneshot"
RWP=$(unit_get "$SERVICE" Service ReadWritePaths)
case $RWP in
/*/*) ;;
*) fail "expected one absolute ReadWritePaths= in $SERVICE, got '$RWP'" ;;
esac
# StateDirectory=tcptune makes /var/lib/tcptune writable, where check keeps
# its counters for the next check (README "Evidence"); $SDIR stands for it.
[ "$(unit_get "$SERVICE" Service StateDirectory)" = tcptune ] ||
	fail "expected StateDirectory=tcptune in $SERVICE (check writes /var/lib/tcptune/check)"
SDIR=$W/statedir
mkdir -m 0700 "$SDIR" || fail "cannot create $SDIR"
export TCPTUNE_STATE_DIR=$SDIR/check
[ "$(unit_get "$SERVICE" Service ProtectSystem)" = strict ] || fail "the service lacks ProtectSystem=strict"
[ "$(unit_get "$SERVICE" Service NoNewPrivileges)" = yes ] || fail "the service lacks NoNewPrivileges=yes"
SUCCESS_LIST=$(unit_get "$SERVICE" Service SuccessExitStatus | xargs)	# one space between codes
SUCCESS=" $SUCCESS_LIST "
for c in 1 2; do
	case $SUCCESS in *" $c "*) ;; *) fail "SuccessExitStatus ($SUCCESS) lacks $c: a finding would fail the unit" ;; esac
done
case $SUCCESS in *" 3 "*) fail "SuccessExitStatus ($SUCCESS) holds 3: a check that could not audit would pass" ;; esac
CAPS=$(unit_get "$SERVICE" Service CapabilityBoundingSet)
[ -n "$CAPS" ] || fail "the service has no CapabilityBoundingSet="
BOUNDING=-all
for c in $CAPS; do
	case $c in
	CAP_[A-Z_]*) BOUNDING=$BOUNDING,+$(echo "${c#CAP_}" | tr '[:upper:]' '[:lower:]') ;;
	*) fail "CapabilityBoundingSet= entry '$c' is not a capability this test models" ;;
	esac
done
UMASK=$(unit_get "$SERVICE" Service UMask)
UMASK=${UMASK:-0022}
[ "$(unit_get "$TIMER" Timer Persistent)" = true ] || fail "the timer lacks Persistent=true"
[ -n "$(unit_get "$TIMER" Timer OnCalendar)" ] || fail "the timer has no OnCalendar="

# ExecStart with the binary swapped for ours and ReadWritePaths for $TF.
read -ra ARGV <<<"$EXEC"
[ "$(basename "${ARGV[0]}")" = tcptune ] || fail "ExecStart does not run tcptune: $EXEC"
ARGV[0]=$TCPTUNE
PROM=""
for i in "${!ARGV[@]}"; do
	a=${ARGV[$i]}
	case $a in
	"$RWP"/*) ARGV[i]=$TF/${a#"$RWP"/}; PROM=${ARGV[i]} ;;
	/*) [ "$i" = 0 ] || fail "ExecStart names '$a', outside ReadWritePaths ($RWP)" ;;
	esac
done
[ -n "$PROM" ] || fail "ExecStart writes nothing under ReadWritePaths ($RWP): $EXEC"
case $PROM in
*.prom) ;;
*) fail "the output '$PROM' does not end in .prom, so the textfile collector would ignore it" ;;
esac

# ---- a known population, and a tcp_fin_timeout no kernel defaults to -------
start_bg "$SOCKSCEN" --ready "$READY" --timeout 600 --tw-out 5 --tw-out2 0 --tw-in 0 --tw6 3 \
	--close-wait 2 --close-wait-unread 1 --orphan-fw1 0 --orphan-fw2 0 --estab 2 \
	2>"$W/sockscen.err"
GEN=$TT_LAST_PID
wait_for_file "$READY" "$TT_HANG" "$GEN" ||
	fail "sockscen was not ready within $TT_HANG s: $(cat "$W/sockscen.err")"
# A key of this network namespace only (enter_netns made it ours).
echo 37 >/proc/sys/net/ipv4/tcp_fin_timeout || fail "cannot set tcp_fin_timeout in the test namespace"
FIN=$(cat /proc/sys/net/ipv4/tcp_fin_timeout)
[ "$FIN" = 37 ] || fail "tcp_fin_timeout reads '$FIN' after writing 37"
# And a warning, so the run shows a finding is no unit failure: the shipped
# rule timestamps-disabled fires on tcp_timestamps 0 (per namespace too).
echo 0 >/proc/sys/net/ipv4/tcp_timestamps || fail "cannot set tcp_timestamps in the test namespace"
LISTEN4=$(ss -Htan state listening -4 | wc -l)
LISTEN6=$(ss -Htan state listening -6 | wc -l)
ESTAB4=$(ss -Htan state established -4 | wc -l)
[ "$LISTEN4" -gt 0 ] && [ "$LISTEN6" -gt 0 ] || fail "scenario: ss shows $LISTEN4 IPv4 and $LISTEN6 IPv6 listeners"

# ---- what the timer would start ----------------------------------------------
OLDMASK=$(umask)
umask "$UMASK"
run_bounded "$TT_HANG" strace -f -y -qq -o "$W/trace" \
	setpriv --bounding-set "$BOUNDING" --inh-caps -all --no-new-privs -- "${ARGV[@]}" \
	>"$W/exec.out" 2>"$W/exec.err"
RC=$?
umask "$OLDMASK"
case $RC in
0) fail "the unit's command exited 0 although timestamps-disabled should fire: $(head -c 2000 "$W/exec.err")" ;;
124) fail "the unit's command hung (no end within $TT_HANG s)" ;;
*) case $SUCCESS in
	*" $RC "*) ;;
	*) fail "the unit's command exited $RC, which SuccessExitStatus ($SUCCESS) makes a unit failure: $(head -c 2000 "$W/exec.err")" ;;
	esac ;;
esac
[ -s "$PROM" ] || fail "the unit's command did not write $PROM: $(head -c 2000 "$W/exec.err")"
[ "$(stat -c %a "$PROM")" = 644 ] || fail "$PROM has mode $(stat -c %a "$PROM"); node_exporter's user needs 644"
[ "$(ss -Htan state listening -4 | wc -l)" = "$LISTEN4" ] || fail "the IPv4 listeners changed during the check"
[ "$(ss -Htan state established -4 | wc -l)" = "$ESTAB4" ] || fail "the IPv4 connections changed during the check"

# ProtectSystem=strict: anything written outside ReadWritePaths would fail.
# strace -y shows each descriptor's path as <...> (the file an open returns
# too); a write-like call is within bounds when every path on its line is
# under $TF, the working directory (AT_FDCWD<...>) aside.
start=$(grep -n 'execve("'"$TCPTUNE"'"' "$W/trace" | head -n 1 | cut -d: -f1)
[ -n "$start" ] || fail "strace did not see $TCPTUNE start: $(head -c 1000 "$W/trace")"
tail -n +"$start" "$W/trace" >"$W/trace.tcptune"
grep -E '^[0-9]+ +((open|openat|openat2|creat)\(.*(O_WRONLY|O_RDWR|O_CREAT|O_TRUNC)|(rename|renameat|renameat2|unlink|unlinkat|mkdir|mkdirat|rmdir|link|linkat|symlink|symlinkat|truncate|ftruncate|chmod|fchmod|fchmodat|chown|fchown|fchownat|lchown|mknod|mknodat)\()' \
	"$W/trace.tcptune" >"$W/writes" || true
[ -s "$W/writes" ] || fail "strace saw no write by the check (tracing broken?)"
bad=$(sed -E 's/AT_FDCWD<[^>]*>/AT_FDCWD/g' "$W/writes" | grep -oE '<[^>]*>|"/[^"]*"' | tr -d '<>"' |
	grep -vE "^($TF|$SDIR)(/|$)" | sort -u | head -n 5)
[ -z "$bad" ] || fail "the check writes outside ReadWritePaths ($RWP) and StateDirectory, which ProtectSystem=strict forbids: $bad"
ls "$SDIR"/check/netns-*.state >/dev/null 2>&1 || fail "the check saved no state under $SDIR/check"

# SystemCallFilter: every call made is in the allowed sets.
FILTER=$(unit_get "$SERVICE" Service SystemCallFilter | tr '\n' ' ')
SYSCALLS_CHECKED=no
if [ -n "$FILTER" ] && command -v systemd-analyze >/dev/null 2>&1; then
	case $FILTER in *'~'*) fail "SystemCallFilter deny lists are not modelled by this test: $FILTER" ;; esac
	systemd-analyze syscall-filter >"$W/filters" 2>/dev/null || fail "systemd-analyze syscall-filter failed"
	awk -v want="$FILTER" '
		/^@/ { g = $1; next }
		/^[ \t]+[@a-z_0-9]/ && g != "" { m[g] = m[g] " " $1 }
		/^$/ { g = "" }
		END {
			n = split(want, q, " ")
			for (i = 1; i <= n; i++) todo[q[i]] = 1
			do {
				more = 0
				for (x in todo) if (!(x in done)) {
					done[x] = 1; more = 1
					if (x ~ /^@/) { k = split(m[x], mm, " "); for (j = 1; j <= k; j++) todo[mm[j]] = 1 }
				}
			} while (more)
			for (x in done) if (x !~ /^@/) print x
		}' "$W/filters" | sort -u >"$W/allowed"
	[ "$(wc -l <"$W/allowed")" -gt 50 ] || fail "could not expand SystemCallFilter=$FILTER"
	sed -nE 's/^[0-9]+ +([a-z_0-9]+)\(.*/\1/p' "$W/trace.tcptune" | sort -u >"$W/used"
	extra=$(comm -23 "$W/used" "$W/allowed" | tr '\n' ' ')
	[ -z "$extra" ] || fail "the check makes system calls SystemCallFilter=$FILTER refuses: $extra"
	SYSCALLS_CHECKED="$(wc -l <"$W/used") calls"
fi

# ---- the consumer --------------------------------------------------------------
start_exporter "$TF" 19200 19299	# prom_expect and friends: lib.sh
prom_scrape "$W/scrape.txt"
prom_expect "$W/scrape.txt" node_textfile_scrape_error 0
grep -q "^node_textfile_mtime_seconds{file=\"\(.*/\)\?$(basename "$PROM")\"}" "$W/scrape.txt" ||
	fail "node_exporter does not report reading $(basename "$PROM")"
prom_expect "$W/scrape.txt" tcptune_check_status "$RC"
prom_expect "$W/scrape.txt" 'tcptune_sysctl{key="net.ipv4.tcp_fin_timeout"}' "$FIN"
prom_expect "$W/scrape.txt" 'tcptune_sockets{family="ipv4",state="listen"}' "$LISTEN4"
prom_expect "$W/scrape.txt" 'tcptune_sockets{family="ipv6",state="listen"}' "$LISTEN6"
prom_expect "$W/scrape.txt" 'tcptune_sockets{family="ipv4",state="established"}' "$ESTAB4"
prom_expect "$W/scrape.txt" 'tcptune_finding{id="timestamps-disabled",severity="warning"}' 1
prom_expect "$W/scrape.txt" tcptune_rule_errors 0
grep -q '^tcptune_info{' "$W/scrape.txt" || fail "tcptune_info missing from the scrape"
SAMPLES=$(grep -c '^tcptune_' "$W/scrape.txt")
stop_pid "$EXPORTER" 5
stop_pid "$GEN" 10
grc=$?
[ "$grc" = 0 ] || fail "sockscen exited $grc on SIGTERM: $(cat "$W/sockscen.err")"

# ---- systemd's own reading of the units ---------------------------------------
# verify wants ExecStart's binary to exist: check copies pointing at ours.
VERIFIED="skipped (no systemd-analyze)"
command -v systemd-analyze >/dev/null 2>&1 || skip_part "systemd-analyze verify (no systemd-analyze)"
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$W/units" || fail "cannot create $W/units"
	sed "s|^ExecStart=${EXEC%% *} |ExecStart=$TCPTUNE |" "$SERVICE" >"$W/units/$(basename "$SERVICE")" ||
		fail "cannot copy $SERVICE"
	cp "$TIMER" "$W/units/" || fail "cannot copy $TIMER"
	grep -q "^ExecStart=$TCPTUNE " "$W/units/$(basename "$SERVICE")" ||
		fail "could not point the service copy at $TCPTUNE"
	run_bounded "$TT_HANG" systemd-analyze verify --man=no \
		"$W/units/$(basename "$SERVICE")" "$W/units/$(basename "$TIMER")" >"$W/verify.out" 2>&1 ||
		fail "systemd-analyze verify refused the units: $(head -c 2000 "$W/verify.out")"
	[ ! -s "$W/verify.out" ] || fail "systemd-analyze verify warned: $(head -c 2000 "$W/verify.out")"
	VERIFIED=ok
fi

echo "ok: $(basename "$0"): unit command exited $RC (SuccessExitStatus=$SUCCESS_LIST); writes only under $RWP;" \
	"syscall filter: $SYSCALLS_CHECKED; node_exporter served $SAMPLES tcptune samples, tcp_fin_timeout $FIN," \
	"listen ipv4 $LISTEN4 ipv6 $LISTEN6, established ipv4 $ESTAB4; systemd-analyze verify: $VERIFIED"
exit 0
