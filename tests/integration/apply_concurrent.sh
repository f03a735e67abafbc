#!/bin/bash
# apply_concurrent.sh: one transaction at a time (docs/ARCHITECTURE.md §4, the store lock).
#
# `tcptune apply reverse-proxy --yes` runs under strace with its first fsync
# calls delayed by 2 s each (-e inject=fsync:delay_enter=2000000:when=1..4),
# so it holds the store lock for several seconds inside its transaction.
# Once the lock file names it and /proc/locks shows its flock, while it is
# still running:
#   - `tcptune apply web-server --yes` fails at once with a non-zero
#     exit, nothing on stdout and exactly the line
#     "tcptune: apply: another transaction is running (pid N)" on stderr, N
#     being the pid of the tcptune process (not strace's);
#   - `tcptune rollback --yes` is refused the same way ("rollback: ...").
# "At once": while the slowed apply still holds the lock (it must still be
# running afterwards), and within 1 s plus 5 times what `tcptune --version`
# takes just before (process start-up on this machine, now: on a loaded
# machine that is more than 1 s alone).
# Then the slowed apply must succeed; history holds exactly one entry (apply
# reverse-proxy, applied) and nothing from the refused commands; runtime
# values and /etc/sysctl.d/99-tcptune.conf are reverse-proxy's; the lock is
# free again, and the next apply (web-server) and a rollback then go through.
#
# Runs in its own network and mount namespaces, tmpfs over /tmp,
# /etc/sysctl.d and /var/lib (the store /var/lib/tcptune is made 0700 on it,
# so nothing is created on the host).  Exit 0 pass, 1 fail, 77 skip.
# TCPTUNE=/path overrides build/tcptune.

. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq strace timeout mountpoint stat
enter_netns --tmpfs /tmp --tmpfs /etc/sysctl.d --tmpfs /var/lib -- "$@"

TCPTUNE=${TCPTUNE:-$TT_ROOT/build/tcptune}
MANAGED=/etc/sysctl.d/99-tcptune.conf
STORE=/var/lib/tcptune
W=/tmp
DELAY_US=2000000		# per delayed fsync
DELAYED=4			# fsync calls delayed: the first apply lasts >= 8 s

for d in /etc/sysctl.d /var/lib /tmp; do
	mountpoint -q "$d" && [ "$(stat -f -c %T "$d")" = tmpfs ] ||
		fail "$d is not a tmpfs mount in this namespace; refusing to run tcptune"
done
for d in /etc/sysctl.d /var/lib; do
	[ -z "$(ls -A "$d")" ] || fail "$d is not empty: not the fresh tmpfs expected"
done
mkdir -m 0700 "$STORE" || fail "cannot create $STORE on the tmpfs"
[ -x "$TCPTUNE" ] || fail "missing $TCPTUNE (make build/tcptune)"
# A copy: the process name is then "tcptune", and a rebuild meanwhile is harmless.
cp "$TCPTUNE" "$W/tcptune" || fail "cannot copy $TCPTUNE"
TCPTUNE=$W/tcptune

# ms: milliseconds since the epoch.
ms() {
	echo $(($(date +%s%N) / 1000000))
}

# tt OUT ERR ARGS...: tcptune, bounded, status in RC, duration in MS.
tt() {
	local out=$1 err=$2 t0
	shift 2
	t0=$(ms)
	run_bounded "$TT_HANG" "$TCPTUNE" "$@" >"$out" 2>"$err" </dev/null
	RC=$?
	MS=$(($(ms) - t0))
}

# lock_id: the lock file as /proc/locks names it, "MAJ:MIN:INODE" (fs/locks.c
# lock_get_status(): "%02x:%02x:%lu" of its file system's device and its
# inode).  /proc/locks lists every lock of the machine: an inode number
# alone matches other scenarios' stores, tmpfs files numbered alike.
lock_id() {
	local dev ino
	dev=$(stat -c %d "$STORE/lock") && ino=$(stat -c %i "$STORE/lock") || return 1
	printf '%02x:%02x:%s\n' $(( ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff) )) \
		$(( (dev & 0xff) | ((dev >> 12) & ~0xff) )) "$ino"
}

# holder_of_lock: the pid in the lock file when it is a live tcptune whose
# parent is strace ($STRACE) and /proc/locks shows its flock on the file.
holder_of_lock() {
	local pid id ppid comm
	pid=$(tr -d '\n' 2>/dev/null <"$STORE/lock")
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	ppid=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
	comm=$(cat "/proc/$pid/comm" 2>/dev/null)
	[ "$ppid" = "$STRACE" ] && [ "$comm" = tcptune ] || return 1
	id=$(lock_id) || return 1
	# "1: FLOCK  ADVISORY  WRITE 1234 00:2e:5678 0 EOF"
	awk -v p="$pid" -v id="$id" '$2 == "FLOCK" && $4 == "WRITE" && $5 == p && $6 == id { ok = 1 }
		END { exit !ok }' /proc/locks || return 1
	echo "$pid"
}

# refused VERB ARGS...: tcptune VERB must be turned away at once by the lock.
refused() {
	local verb=$1 want limit
	shift
	tt "$W/version.out" "$W/version.err" --version
	limit=$((1000 + 5 * MS))
	tt "$W/$verb.out" "$W/$verb.err" "$verb" "$@"
	want="tcptune: $verb: another transaction is running (pid $HOLDER)"
	[ "$RC" != 0 ] && [ "$RC" != 124 ] ||
		fail "tcptune $verb $* while apply $HOLDER runs: exit $RC (non-zero expected), stderr: $(head -c 500 "$W/$verb.err")"
	[ "$MS" -lt "$limit" ] ||
		fail "tcptune $verb $* took ${MS} ms to be refused (< $limit expected: 1000 + 5 x tcptune --version's): it waited for the lock?"
	[ "$(cat "$W/$verb.err")" = "$want" ] ||
		fail "tcptune $verb $*: stderr is '$(head -c 500 "$W/$verb.err")', expected exactly '$want'"
	[ ! -s "$W/$verb.out" ] || fail "tcptune $verb $*: refused but printed on stdout: $(head -c 300 "$W/$verb.out")"
	tt_is_child "$STRACE" && [ -d "/proc/$HOLDER" ] ||
		fail "the slowed apply finished before tcptune $verb was refused: the test proved nothing"
	echo "tcptune $verb $* refused in ${MS} ms (limit $limit ms): $want"
}

# state_key KEY: the runtime value, tabs as spaces.
state_key() {
	tr -s '\t ' '  ' <"/proc/sys/${1//.//}"
}

# ---- the slowed apply ----------------------------------------------------------
T0=$(ms)
start_bg strace -f -qq -o /dev/null -e trace=fsync \
	-e inject="fsync:delay_enter=$DELAY_US:when=1..$DELAYED" \
	"$TCPTUNE" apply reverse-proxy --yes >"$W/first.out" 2>"$W/first.err" </dev/null
STRACE=$TT_LAST_PID

HOLDER=
for _ in $(seq 1 $((TT_HANG * 10))); do	# a hang guard: ends when it holds the lock
	HOLDER=$(holder_of_lock) && break
	tt_is_child "$STRACE" || break
	sleep 0.1
done
[ -n "$HOLDER" ] ||
	fail "the slowed apply did not take the lock within $TT_HANG s (lock file: '$(cat "$STORE/lock" 2>/dev/null)'; stderr: $(head -c 500 "$W/first.err"))"
[ "$HOLDER" != "$STRACE" ] || fail "the lock holder is strace itself"
echo "apply reverse-proxy (pid $HOLDER, under strace $STRACE) holds the lock"

# ---- the refused ones -------------------------------------------------------------
refused apply web-server --yes
refused rollback --yes
# Refused before doing anything: the store holds only the running entry.
entries=$(find "$STORE" -mindepth 1 -maxdepth 1 -type d | wc -l)
[ "$entries" -le 1 ] || fail "$entries entries in the store while one transaction runs: $(ls -A "$STORE")"

# ---- the first one finishes ------------------------------------------------------
stop_wait=0
while tt_is_child "$STRACE" && [ "$stop_wait" -lt $((TT_HANG * 10)) ]; do	# a hang guard
	sleep 0.1
	stop_wait=$((stop_wait + 1))
done
tt_is_child "$STRACE" && fail "the slowed apply hung (no end within $TT_HANG s)"
wait "$STRACE"
rc=$?
TT_PIDS=$(echo " $TT_PIDS " | sed "s/ $STRACE / /")
took=$(($(ms) - T0))
[ "$rc" = 0 ] || fail "the slowed apply exited $rc: $(head -c 500 "$W/first.err")"
grep -q '^Applied reverse-proxy' "$W/first.out" ||
	fail "the slowed apply did not say 'Applied reverse-proxy': $(tail -n 3 "$W/first.out")"
[ "$took" -ge $((DELAYED * DELAY_US / 1000)) ] ||
	fail "the slowed apply took only ${took} ms: the fsync delay did not work"
echo "apply reverse-proxy finished after ${took} ms"

# Only its entry, applied.
tt "$W/h.json" "$W/h.err" history --format json
[ "$RC" = 0 ] || fail "tcptune history exited $RC: $(head -c 500 "$W/h.err")"
hist=$(jq -c '[.[] | [.action, .profile, .status]]' "$W/h.json") || fail "history is not JSON"
[ "$hist" = '[["apply","reverse-proxy","applied"]]' ] ||
	fail "history after the concurrent attempts is $hist, expected exactly one applied apply of reverse-proxy"
[ "$(state_key net.ipv4.tcp_keepalive_time)" = 120 ] && [ "$(state_key net.ipv4.ip_local_port_range)" = "10240 65535" ] ||
	fail "runtime values are not reverse-proxy's: keepalive_time $(state_key net.ipv4.tcp_keepalive_time), port range $(state_key net.ipv4.ip_local_port_range)"
grep -q 'profile reverse-proxy' "$MANAGED" 2>/dev/null || fail "$MANAGED is not reverse-proxy's"
tmp=$(find /etc/sysctl.d "$STORE" -name '.*.tmp-*' | tr '\n' ' ')
[ -z "$tmp" ] || fail "temp files left: $tmp"

# The lock is free again: empty file, no flock, and the next ones go through.
[ ! -s "$STORE/lock" ] || fail "the lock file still names pid $(cat "$STORE/lock") after the apply"
id=$(lock_id) || fail "cannot stat $STORE/lock"
! awk -v id="$id" '$2 == "FLOCK" && $6 == id { hit = 1 } END { exit !hit }' /proc/locks ||
	fail "the store lock ($id) is still held after the apply: $(grep FLOCK /proc/locks)"
tt "$W/next.out" "$W/next.err" apply web-server --yes
[ "$RC" = 0 ] || fail "apply web-server after the first finished exited $RC: $(head -c 500 "$W/next.err")"
tt "$W/next.out" "$W/next.err" rollback --yes
[ "$RC" = 0 ] || fail "rollback after the applies exited $RC: $(head -c 500 "$W/next.err")"
tt "$W/h.json" "$W/h.err" history --format json
hist=$(jq -c '[.[] | [.action, .status]]' "$W/h.json") || fail "history is not JSON"
[ "$hist" = '[["apply","applied"],["apply","undone"],["rollback","applied"]]' ] ||
	fail "history after apply web-server and rollback is $hist"
echo "apply_concurrent: apply and rollback refused while apply $HOLDER ran; it then committed alone"
exit 0
