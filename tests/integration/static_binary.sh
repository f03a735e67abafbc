#!/bin/bash
# The static binary (`make static`, README.md "Static binary") in an empty
# root: a tmpfs holding only the binary, with proc and sysfs mounted in it,
# entered with chroot inside new network and mount namespaces.  There,
# `check --format json` and `check` must see what the kernel shows (the
# socket states `ss -tan` counts, the CLOSE_WAIT holder that
# tests/tools/sockscen started, the sysctls under /proc/sys, `uname -r`), and
# `apply web-server --dry-run` must print the plan, exit 0 and write nothing.
# The binary must have no program interpreter and no shared library at all.
#
# `make static` runs first (it reuses build/tcptune-static when it is up to
# date); on a machine whose libmnl-dev has no libmnl.a (Debian bookworm) it
# fetches trixie's package once (curl, sha256 pinned in the Makefile).
. "$(dirname "$0")/lib.sh"
need_root
need_cmds readelf chroot mount ss jq uname
BIN=$TT_ROOT/build/tcptune-static
SOCKSCEN=$TT_ROOT/build/tools/sockscen
[ -x "$SOCKSCEN" ] || fail "missing $SOCKSCEN (make build/tools/sockscen)"

if [ -z "${TT_NETNS_OUTER:-}" ]; then
	# A hang guard only: a first build compiles every object again (-DTCPTUNE_STATIC).
	run_bounded "$((TT_HANG * 4))" env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$TT_ROOT" static \
		>"$TT_ROOT/build/static.log" 2>&1 ||
		{ tail -n 30 "$TT_ROOT/build/static.log" >&2; fail "make static failed (log: build/static.log)"; }
	[ -x "$BIN" ] || fail "make static made no $BIN"
	# No PT_INTERP (ld.so) and no DT_NEEDED: nothing to load at run time.
	readelf -lW "$BIN" | grep -q 'Requesting program interpreter' &&
		fail "$BIN asks for a program interpreter: $(readelf -lW "$BIN" | grep interpreter)"
	needed=$(readelf -dW "$BIN" | grep '(NEEDED)')
	[ -z "$needed" ] || fail "$BIN needs shared libraries: $needed"
	echo "make static: $BIN, $(stat -c %s "$BIN") bytes, no interpreter, no shared library" \
		"(libmnl.a: $(sed -n 's/^  FETCH   //p' "$TT_ROOT/build/static.log" | head -1 | grep . || echo 'built before or the system one'))"
fi
enter_netns --tmpfs /tmp -- "$@"
W=/tmp/work
mkdir -p "$W" || fail "mkdir $W"
trap 'tt_cleanup; umount -l "$ROOT" 2>/dev/null' EXIT

# ---- the empty root ---------------------------------------------------------
ROOT=/tmp/root
mkdir -p "$ROOT" && mount -t tmpfs -o size=64m,mode=0755 tcptune-static-root "$ROOT" ||
	fail "cannot mount a tmpfs on $ROOT"
mkdir "$ROOT/proc" "$ROOT/sys" || fail "mkdir proc sys"
mount -t proc proc "$ROOT/proc" || fail "cannot mount proc on $ROOT/proc"
mount -t sysfs sysfs "$ROOT/sys" || fail "cannot mount sysfs on $ROOT/sys"
cp "$BIN" "$ROOT/tcptune" || fail "cp $BIN"
[ "$(ls -A "$ROOT" | sort | paste -sd ' ')" = "proc sys tcptune" ] ||
	fail "the root holds more than proc, sys and the binary: $(ls -A "$ROOT")"

# ---- a known population: CLOSE_WAIT held by a named child, ESTAB pairs --------
# No TIME_WAIT or orphan: they expire, and this test compares counts.
start_bg "$SOCKSCEN" --ready "$W/ready" --timeout 600 --tw-out 0 --tw-out2 0 --tw-in 0 --tw6 0 \
	--orphan-fw1 0 --orphan-fw2 0 --close-wait 40 --close-wait-unread 7 --estab 12 \
	--holder-name cwstatic 2>"$W/sockscen.err"
GEN=$TT_LAST_PID
wait_for_file "$W/ready" "$TT_HANG" "$GEN" ||
	fail "sockscen was not ready within $TT_HANG s: $(cat "$W/sockscen.err")"
HOLDER_PID=$(sed -n 's/^holder_pid=//p' "$W/ready")
[ -n "$HOLDER_PID" ] || fail "the ready file names no holder: $(cat "$W/ready")"

# ---- check --format json, between two ss -tan ----------------------------------
ss -tan >"$W/ss1" || fail "ss -tan failed"
run_bounded "$TT_HANG" chroot "$ROOT" /tcptune check --format json >"$W/check.json" 2>"$W/check.err"
rc=$?
ss -tan >"$W/ss2" || fail "ss -tan failed"
[ "$rc" -le 2 ] || fail "check --format json in the empty root exited $rc (want 0..2): $(head -c 1500 "$W/check.err")"
[ ! -s "$W/check.err" ] || fail "check --format json in the empty root wrote to stderr: $(head -c 1500 "$W/check.err")"
# sock_diag, not the /proc/net/tcp fallback (which would count the same).
[ "$(jq -r .sources.sockets "$W/check.json")" = netlink ] ||
	fail "static check read sockets from '$(jq -r .sources.sockets "$W/check.json")', not netlink: $(jq -c .notes "$W/check.json")"
counts() { awk 'NR > 1 { n[$1]++ } END { for (s in n) print s, n[s] }' "$1" | sort; }
[ "$(counts "$W/ss1")" = "$(counts "$W/ss2")" ] || fail "the population changed during check"

# ss state -> tcptune JSON state
for pair in ESTAB:established LISTEN:listen CLOSE-WAIT:close_wait FIN-WAIT-2:fin_wait2 TIME-WAIT:time_wait; do
	want=$(awk -v s="${pair%%:*}" 'NR > 1 && $1 == s { n++ } END { print n + 0 }' "$W/ss1")
	got=$(jq -r ".sockets.states.${pair#*:} // 0" "$W/check.json")
	[ "$got" = "$want" ] || fail "static check: ${pair#*:} $got, ss -tan shows $want"
done
total=$(($(wc -l <"$W/ss1") - 1))
got=$(jq -r '.facts["sockets.total"]' "$W/check.json")
[ "$got" = "$total" ] || fail "static check: sockets.total $got, ss -tan shows $total"
cw=$(awk 'NR > 1 && $1 == "CLOSE-WAIT" { n++ } END { print n + 0 }' "$W/ss1")
[ "$cw" -ge 40 ] || fail "scenario: ss shows only $cw CLOSE-WAIT (sockscen built 40)"
for e in "pid $HOLDER_PID" "comm cwstatic" "count 40" "unread 7"; do
	f=${e%% *} want=${e#* }
	got=$(jq -r ".closewait.processes[0].$f" "$W/check.json")
	[ "$got" = "$want" ] || fail "static check: .closewait.processes[0].$f is '$got', want '$want' (the /proc fd scan in the chroot)"
done
[ "$(jq -r '.facts["kernel.release"]' "$W/check.json")" = "$(uname -r)" ] ||
	fail "static check: kernel.release $(jq -r '.facts["kernel.release"]' "$W/check.json"), uname -r says $(uname -r)"
echo "check --format json in the empty root: exit $rc, $total sockets as ss -tan" \
	"($(counts "$W/ss1" | paste -sd ' ')), CLOSE_WAIT holder cwstatic pid $HOLDER_PID 40 (7 unread)"

# ---- check (text) ------------------------------------------------------------
run_bounded "$TT_HANG" chroot "$ROOT" /tcptune check >"$W/check.txt" 2>"$W/check.err"
trc=$?
[ "$trc" = "$rc" ] || fail "check (text) exited $trc, check --format json $rc"
[ ! -s "$W/check.err" ] || fail "check in the empty root wrote to stderr: $(head -c 1500 "$W/check.err")"
fin=$(cat /proc/sys/net/ipv4/tcp_fin_timeout)
grep -Eq "^  net\.ipv4\.tcp_fin_timeout +$fin " "$W/check.txt" ||
	fail "check (text) does not show tcp_fin_timeout = $fin (/proc/sys): $(grep tcp_fin_timeout "$W/check.txt")"
grep -Eq "^  CLOSE-WAIT +$cw " "$W/check.txt" || fail "check (text) does not show CLOSE-WAIT $cw"
echo "check in the empty root: exit $trc; first line: $(head -1 "$W/check.txt")"

# ---- apply web-server --dry-run ----------------------------------------------
sysctls() { find /proc/sys/net/ipv4 /proc/sys/net/core -maxdepth 1 -type f -perm -u+r -name 'tcp_*' -print0 2>/dev/null |
	sort -z | xargs -0 grep -H . 2>/dev/null; }
before=$(sysctls; find "$ROOT" -xdev | sort)
run_bounded "$TT_HANG" chroot "$ROOT" /tcptune apply web-server --dry-run >"$W/plan.txt" 2>"$W/plan.err"
arc=$?
[ "$arc" = 0 ] || fail "apply web-server --dry-run in the empty root exited $arc: $(head -c 1500 "$W/plan.err")"
grep -q '^Profile web-server: ' "$W/plan.txt" || fail "no plan header: $(head -3 "$W/plan.txt")"
grep -q '/etc/sysctl.d/99-tcptune.conf' "$W/plan.txt" || fail "the plan does not name the managed file"
grep -Eq "^[* ] net\.ipv4\.tcp_fin_timeout +$fin " "$W/plan.txt" ||
	fail "the plan does not show tcp_fin_timeout's runtime value $fin: $(grep tcp_fin_timeout "$W/plan.txt")"
after=$(sysctls; find "$ROOT" -xdev | sort)
[ "$before" = "$after" ] || {
	diff -u <(echo "$before") <(echo "$after") >&2
	fail "apply --dry-run changed a sysctl or wrote into the root (- before, + after)"
}
[ ! -e "$ROOT/etc" ] || fail "apply --dry-run created $ROOT/etc"
echo "apply web-server --dry-run in the empty root: exit 0, $(head -1 "$W/plan.txt"); nothing written"

stop_pid "$GEN" 10 || fail "sockscen did not end cleanly: $(cat "$W/sockscen.err")"
echo "PASS: static_binary"
