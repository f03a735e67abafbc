#!/bin/bash
# apply when a write fails (docs/ARCHITECTURE.md §4, step 4): each case runs in a fresh
# network + mount namespace with its own tmpfs over /etc/sysctl.d, /var/lib
# (the store /var/lib/tcptune, mode 0700) and /tmp.  The state before (every
# TCP sysctl of the netns, /etc/sysctl.d's files and modes and bytes, the
# store's entries) is recorded; the failing apply must exit non-zero with one
# stderr line naming what failed and saying the machine is as it was, leave
# the runtime values and /etc/sysctl.d exactly as before (no temp file) and
# the store entry "rolled-back" (or, for a refusal in preflight, no entry).
# Once the cause is removed, the same apply must succeed (nothing was left
# pending or locked).
#
#   enospc       /etc/sysctl.d full (8 KiB tmpfs), no managed file before
#   enospc-file  the same with a managed file already there
#   rofs         /etc/sysctl.d bind-mounted read-only, managed file there
#   einval       the kernel refuses ip_local_port_range (EINVAL) after the
#                keys before it in the plan were written; no file before
#   einval-file  the same with a managed file already there
#   roproc       /proc/sys bind-mounted read-only in the namespace (EROFS at
#                the first runtime write, after the managed file was written)
#   store-enospc the store is a full 4 KiB tmpfs: the record step (§8.2) fails;
#                nothing may change, and what stderr says about the entry must
#                match the store
#
# Without arguments the script runs every case, each as its own
# `bash THIS-SCRIPT` under TT_CASE=<case> (which enters new namespaces), and
# prints a summary line.
. "$(dirname "$0")/lib.sh"

CASES="enospc enospc-file rofs einval einval-file roproc store-enospc"

if [ -z "${TT_CASE:-}" ]; then
	need_root
	need_cmds jq cmp md5sum find findmnt timeout
	[ -x "$TT_ROOT/build/tcptune" ] || fail "build first: make build/tcptune"
	pass=0 failed="" skipped=""
	for c in ${1:-$CASES}; do
		run_bounded $((2 * TT_HANG)) env TT_CASE="$c" bash "$TT_SCRIPT"
		case $? in
		0) pass=$((pass + 1)) ;;
		77) skipped="$skipped $c" ;;
		124 | 137) echo "  $c: hung (no end within $((2 * TT_HANG)) s)" >&2; failed="$failed $c" ;;
		*) failed="$failed $c" ;;
		esac
	done
	# The roproc case remounted a bind of /proc/sys read-only in its own mount
	# namespace only; the host's /proc must still be read-write.
	findmnt -no OPTIONS /proc | grep -q '^rw' || fail "the host's /proc is no longer read-write"
	for c in $skipped; do	# need_root passed: namespaces work, so a case may not skip
		[ "${TT_ALLOW_SKIP:-0}" = 1 ] || failed="$failed $c"
		echo "SKIP-PART: apply_write_failures.sh: case $c skipped (its reason above)" >&2
	done
	echo "apply_write_failures: $pass passed, $(echo $failed | wc -w) failed${failed:+ ($failed )}, $(echo $skipped | wc -w) skipped${skipped:+ ($skipped )}"
	[ -z "$failed" ] || exit 1
	[ "$pass" -gt 0 ] || exit 77
	exit 0
fi

# ---- one case, inside its own namespaces ----
need_root
enter_netns --tmpfs /etc/sysctl.d --tmpfs /var/lib --tmpfs /tmp -- "$@"
fail() {
	echo "FAIL: $(basename "$TT_SCRIPT") [$TT_CASE]: $*" >&2
	exit 1
}
skip() {
	echo "SKIP: $(basename "$TT_SCRIPT") [$TT_CASE]: $*" >&2
	exit 77
}

need_bin
SD=/etc/sysctl.d
STORE=/var/lib/tcptune
MANAGED=$SD/99-tcptune.conf
PRIOR_FILE='# written by hand before tcptune
net.ipv4.tcp_keepalive_time = 600
'
mkdir -m 0700 "$STORE" || fail "cannot create the store $STORE"

# snap_runtime, snap_dir and store_entries: lib.sh.
# runtime_of KEY
runtime_of() {
	tr -s '\t ' '  ' < "/proc/sys/$(echo "$1" | tr . /)"
}

profile=reverse-proxy
want_key=""		# the key whose write fails, if a runtime write fails
case $TT_CASE in
enospc | enospc-file)
	# Two pages: room for the managed file and the new one once the filler goes.
	mount -t tmpfs -o size=8k,nr_inodes=64,mode=0755 tcptune-full "$SD" ||
		fail "cannot mount an 8 KiB tmpfs on $SD"
	[ "$TT_CASE" = enospc-file ] && printf '%s' "$PRIOR_FILE" > "$MANAGED"
	# Fill the rest; dd stops at ENOSPC.
	dd if=/dev/zero of="$SD/00-filler.conf" bs=1k count=64 2>/dev/null
	if printf x 2>/dev/null > "$SD/probe"; then
		fail "could not fill $SD: a 1-byte file still fits"
	fi
	rm -f "$SD/probe"
	cause="the managed file cannot be written (ENOSPC)"
	;;
rofs)
	printf '%s' "$PRIOR_FILE" > "$MANAGED"
	mount --bind "$SD" "$SD" && mount -o remount,ro,bind "$SD" ||
		fail "cannot make $SD read-only"
	touch "$SD/probe" 2>/dev/null && fail "$SD is still writable after the read-only remount"
	cause="$SD is read-only"
	;;
einval | einval-file)
	[ "$TT_CASE" = einval-file ] && printf '%s' "$PRIOR_FILE" > "$MANAGED"
	# The kernel refuses a port range whose low end is below
	# ip_unprivileged_port_start (docs/KERNEL.md §1.4): 10240 < 20000.
	echo 20000 > /proc/sys/net/ipv4/ip_unprivileged_port_start ||
		skip "cannot set net.ipv4.ip_unprivileged_port_start in the namespace"
	want_key=net.ipv4.ip_local_port_range
	cause="the kernel refuses $want_key = 10240 65535 (EINVAL)"
	;;
store-enospc)
	# One page: the lock (empty) fits, prior.conf fills it, planned.conf cannot.
	mount -t tmpfs -o size=4k,nr_inodes=64,mode=0700 tcptune-store "$STORE" ||
		fail "cannot mount a 4 KiB tmpfs on $STORE"
	cause="the store cannot hold the new entry (ENOSPC)"
	;;
roproc)
	mount --bind /proc/sys /proc/sys && mount -o remount,ro,bind /proc/sys ||
		skip "cannot bind-mount /proc/sys read-only in the namespace"
	( echo 60 > /proc/sys/net/ipv4/tcp_fin_timeout ) 2>/dev/null &&
		fail "/proc/sys is still writable after the read-only remount"
	want_key=net.ipv4.tcp_fin_timeout
	profile=web-server
	cause="/proc/sys is read-only (EROFS)"
	;;
*) fail "unknown case '$TT_CASE'" ;;
esac

# Keys the profile changes in this netns, so the case really changes something.
changes=$("$BIN" diff "$profile" --format json | jq -r '.keys[] | select(.change == true) | .key') ||
	fail "diff $profile --format json failed"
[ -n "$changes" ] || fail "$profile changes nothing here; the case would test nothing"
if [ -n "$want_key" ]; then
	echo "$changes" | grep -qx "$want_key" || fail "$profile does not change $want_key here"
fi

rt_before=$(snap_runtime)
sd_before=$(snap_dir "$SD")
st_before=$(store_entries)
[ -z "$st_before" ] || fail "the store is not empty before the case: $st_before"

# Under strace when there is one, to see which runtime writes really happened.
tracer=()
command -v strace >/dev/null 2>&1 && strace -qq -o /dev/null true 2>/dev/null &&
	tracer=(strace -f -qq -e trace=openat -o /tmp/trace)
run_bounded "$TT_HANG" "${tracer[@]}" "$BIN" apply "$profile" --yes >/tmp/out 2>/tmp/err; rc=$?
err=$(cat /tmp/err)
[ "$rc" != 0 ] || fail "apply $profile succeeded although $cause; stderr: $err"
[ "$rc" != 124 ] && [ "$rc" -lt 128 ] || fail "apply $profile was killed or timed out (exit $rc)"
[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [ -n "$err" ] ||
	fail "apply $profile: expected one stderr line, got: $(printf '%s' "$err" | head -c 2000)"
case $err in "tcptune: "*) ;; *) fail "stderr does not start with 'tcptune: ': $err" ;; esac

# Nothing changed, whatever the tool says.
rt_after=$(snap_runtime)
[ "$rt_after" = "$rt_before" ] ||
	fail "runtime values changed: $(diff <(echo "$rt_before") <(echo "$rt_after") | grep '^[<>]' | tr '\n' ' ')"
sd_after=$(snap_dir "$SD")
[ "$sd_after" = "$sd_before" ] ||
	fail "$SD changed: $(diff <(echo "$sd_before") <(echo "$sd_after") | grep '^[<>]' | tr '\n' ' ')"
if [ "$TT_CASE" = enospc-file ] || [ "$TT_CASE" = rofs ] || [ "$TT_CASE" = einval-file ]; then
	[ "$(cat "$MANAGED")" = "${PRIOR_FILE%$'\n'}" ] || fail "$MANAGED content differs from before"
else
	[ ! -e "$MANAGED" ] || fail "$MANAGED exists; it was absent before"
fi

# The message names what failed, and why.
case $TT_CASE in
enospc*)
	echo "$err" | grep -q "$MANAGED" || echo "$err" | grep -q "$SD" || fail "error does not name $MANAGED: $err"
	echo "$err" | grep -q "No space left on device" || fail "error does not say 'No space left on device': $err"
	;;
rofs)
	echo "$err" | grep -q "$SD" || fail "error does not name $SD: $err"
	echo "$err" | grep -q "Read-only file system" || fail "error does not say 'Read-only file system': $err"
	;;
einval*)
	echo "$err" | grep -Eq 'net[./]ipv4[./]ip_local_port_range' || fail "error does not name $want_key: $err"
	echo "$err" | grep -q "Invalid argument" || fail "error does not say 'Invalid argument': $err"
	[ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" = 20000 ] ||
		fail "net.ipv4.ip_unprivileged_port_start was changed"
	# The keys before the refused one were written, then written back: each
	# changed key but the refused one is opened for writing twice.
	if [ ${#tracer[@]} -gt 0 ]; then
		restored=0
		for k in $changes; do
			[ "$k" = "$want_key" ] && continue
			n=$(grep -c "\"/proc/sys/$(echo "$k" | tr . /)\", O_WRONLY" /tmp/trace)
			[ "$n" = 2 ] || [ "$n" = 0 ] || fail "$k was opened for writing $n times (want 2: write, restore)"
			[ "$n" = 2 ] && restored=$((restored + 1))
		done
		[ "$restored" -gt 0 ] || fail "no key was written before $want_key was refused; the case tests no restore"
		cause="$cause; $restored keys written before it and restored (strace)"
	fi
	;;
store-enospc)
	echo "$err" | grep -q "No space left on device" || fail "error does not say 'No space left on device': $err"
	echo "$err" | grep -q "record\|$STORE" || fail "error does not say the store could not be written: $err"
	;;
roproc)
	echo "$err" | grep -Eq 'net[./]ipv4[./]tcp_fin_timeout' || fail "error does not name $want_key: $err"
	echo "$err" | grep -q "Read-only file system" || fail "error does not say 'Read-only file system': $err"
	;;
esac

# The store: one entry, rolled back, saying why; or (a refusal in preflight) none.
entries=$(store_entries)
if [ -z "$entries" ]; then
	case $TT_CASE in
	rofs) outcome="refused in preflight, no store entry" ;;
	store-enospc)
		# No entry is fine (nothing changed); saying there is one is not.
		echo "$err" | grep -q "entry marked rolled-back" &&
			fail "stderr says 'entry marked rolled-back' but the store holds no entry: $err"
		outcome="record failed, no store entry"
		;;
	*) fail "no store entry was recorded (the failure happened after the record step)" ;;
	esac
else
	[ "$(echo "$entries" | wc -l)" = 1 ] || fail "more than one store entry: $entries"
	hist=$("$BIN" history --format json) || fail "history --format json failed"
	[ "$(echo "$hist" | jq -r 'length')" = 1 ] || fail "history has $(echo "$hist" | jq -r length) entries"
	st=$(echo "$hist" | jq -r '.[0] | "\(.action) \(.profile) \(.status)"')
	[ "$st" = "apply $profile rolled-back" ] || fail "history entry is '$st', want 'apply $profile rolled-back'"
	echo "$err" | grep -q "the machine is as it was" || fail "error does not say the machine is as it was: $err"
	echo "$err" | grep -q "rolled-back\|rolled back" || fail "error does not say the entry was rolled back: $err"
	merr=$(jq -r '.error // empty' "$STORE/$entries/manifest.json") || fail "cannot read $STORE/$entries/manifest.json"
	[ -n "$merr" ] || fail "the rolled-back manifest records no error"
	outcome="entry $entries rolled-back (manifest error: $merr)"
fi

# Remove the cause: the same apply now succeeds (no pending entry, no stale lock).
case $TT_CASE in
enospc*) rm -f "$SD/00-filler.conf" ;;
rofs) umount "$SD" || fail "cannot undo the read-only bind mount" ;;
einval*) echo 1024 > /proc/sys/net/ipv4/ip_unprivileged_port_start ;;
store-enospc) umount "$STORE" || fail "cannot unmount the small store" ;;
roproc) umount /proc/sys || fail "cannot undo the read-only bind mount of /proc/sys" ;;
esac
again=$(run_bounded "$TT_HANG" "$BIN" apply "$profile" --yes 2>&1) || fail "apply after removing the cause failed: $again"
for k in $changes; do
	want=$("$BIN" history --format json | jq -r --arg k "$k" '.[-1].keys[] | select(.key == $k) | .new')
	[ "$(runtime_of "$k")" = "$want" ] || fail "after the second apply $k is $(runtime_of "$k"), want $want"
done
[ "$("$BIN" history --format json | jq -r '.[-1].status')" = applied ] || fail "the second apply is not 'applied'"

echo "  $TT_CASE: $cause -> exit $rc, runtime and $SD unchanged; $outcome; stderr: $err"
exit 0
