#!/bin/bash
# apply_crash_recovery.sh: SIGKILL `tcptune apply` and `tcptune rollback` at
# every step of their transaction (README: The apply transaction) and check that what is left is
# always recoverable and never a silent mix of old and new.
#
# The sweep is split in three scenarios, one per loop below, each about a
# third of the work (they run side by side; each does the reference runs):
#   apply_crash_recovery.sh           the apply loop (TT_CRASH_PART=apply)
#   apply_crash_recovery_rollback.sh  the rollback loop (sources this file)
#   apply_crash_recovery_recover.sh   the recovery loop (sources this file)
# TT_CRASH_PART=all runs all three loops here.
#
# No test hook in the product: strace's fault injection delivers SIGKILL on
# entry to the Nth call of one syscall (-e inject=S:signal=SIGKILL:when=N;
# the call itself never runs).  strace counts calls per syscall, so a
# reference run counts how often the transaction calls each of openat, write,
# fsync, renameat, rename(at2), unlink(at), mkdir(at) and fdatasync, and every
# single one of those calls becomes a kill point.  Each kill point runs in a
# namespace of its own (this script re-invoked with --case under
# unshare --net --mount), with tmpfs over /etc/sysctl.d and /var/lib (the
# store /var/lib/tcptune is made 0700 on it: nothing is created on the host
# even when /var/lib/tcptune is missing there), so every point starts from a
# fresh netns's default sysctls, no managed file and an empty store.
#
# States compared (runtime value of every key of the profiles' files, and the
# managed file's bytes): D = before anything (fresh netns, no file),
# P = reverse-proxy applied, W = web-server applied, from clean reference runs.
#
# apply loop: apply reverse-proxy over D, killed at point N.  Then
#   (a) a pending entry iff the kill came after the manifest was recorded,
#       and exactly then `check --format json` has the finding
#       pending-transaction and facts["txn.pending"] = 1; without a pending
#       entry the state is D (or P if the entry was already committed);
#   variant "apply":    (b) `apply reverse-proxy --yes` succeeds, says
#       "restored the state before 1 unfinished transaction first" iff there
#       was a pending entry, and leaves P (file byte-identical to the clean
#       run's, mode 0644);
#   variant "rollback": `rollback --yes` first also restores the prior state
#       (same line), leaving D; then the apply as above;
#   (c) history: the crashed entry "recovered" (if it was pending), the last
#       one applied (or unchanged when the crashed one had committed), no
#       entry pending or corrupt;
#   (d) no temp file (".*.tmp-*") in /etc/sysctl.d or anywhere in the store.
# rollback loop: apply web-server cleanly (W), kill `rollback --yes` at N.
#   Right after the kill, without a pending entry the state is exactly W (the
#   apply still "applied") or exactly D (the rollback "applied", the apply
#   "undone"), never a mix; a pending rollback entry is flagged by check.
#   Then either `rollback --yes` again (leaves D) or `apply web-server --yes`
#   (leaves W, "unchanged" unless the rollback had committed), each with the
#   recovery line iff pending, history statuses as expected, and (d).
#
# Which kill points run.  A kill point's only lasting effect is the state of
# the files and /proc/sys it leaves, and a call that changes nothing (an
# openat for reading: a library, a data file, a /proc/sys value, a store
# entry) leaves exactly the state a kill at the next call that changes
# something leaves (or, after the last one, the finished run's state).  And
# a call that may change state (each write, fsync, fdatasync, renameat(2),
# rename, unlink(at), mkdir(at), and each openat with O_WRONLY, O_RDWR,
# O_CREAT or O_TRUNC: the lock, every temp file of the store and of the
# managed file, every /proc/sys write) repeats a few kinds many times: the
# same write to the next /proc/sys key, the same fsync of the entry's
# directory after each rename.  A kind is the call with the varying parts
# taken out (all_points below: which key, which entry number, the temp
# file's random suffix, the bytes written).  So `make test` runs a fixed
# sample of each reference trace (apply, rollback, recovering apply):
#   - its first and its last call;
#   - of each kind of call that may change state, its first and its last
#     occurrence (the kill comes on entry, so the call never runs: at the
#     first manifest rename it leaves an entry without manifest, at the
#     last one a pending entry about to commit; at the first /proc/sys
#     write no key changed yet, at the last all keys but one);
#   - of each run of read-only openat calls between two calls that may
#     change state, its first;
# and checks that the sample holds every kind.  `make crash-sweep`
# (TT_FULL=1) runs every call of every trace.  The choice depends only on the
# traces, never on time: nothing is left out because the machine is slow.
# Prints "exercised N of M kill points (all|sampled: rule)".
#
# Kill points run two at a time, with a progress line every 10.  Limits are
# hang guards only (CASE_LIMIT for one kill point, CMD_LIMIT for one command
# in it), far above what a case needs on a loaded machine.
# Exit 0 pass, 1 fail, 77 skip.  TCPTUNE=/path overrides build/tcptune.

. "$(dirname "$0")/lib.sh"
PART=${TT_CRASH_PART:-apply}
export TT_CRASH_PART=$PART	# the --case runs re-execute $TT_SCRIPT
case $PART in
all | apply | rollback | recover) ;;
*) fail "TT_CRASH_PART is '$PART', not all, apply, rollback or recover" ;;
esac
need_root
need_cmds jq strace timeout mountpoint stat sha256sum awk find

TCPTUNE=${TCPTUNE:-$TT_ROOT/build/tcptune}
MANAGED=/etc/sysctl.d/99-tcptune.conf
STORE=/var/lib/tcptune
REF=/tmp/ref			# the outer namespace's private /tmp
RES=/tmp/res
RECOVERY_LINE="restored the state before 1 unfinished transaction first"
# The syscalls a kill point may sit on ("?": not every architecture has it).
SYSCALLS="openat write fsync fdatasync renameat ?renameat2 ?rename unlinkat ?unlink mkdirat ?mkdir"
CASE_LIMIT=900			# hang guard for one kill point (one takes ~1 s idle)
CMD_LIMIT=300			# hang guard for one command (tcptune, or it under strace)
export CMD_LIMIT		# read by the `bash -c` wrappers of run_tt and crash
FULL=${TT_FULL:-0}		# 1: every kill point (make crash-sweep)

# ============================================================================
# Inside one kill point's namespace
# ============================================================================

# The namespace of one case: new netns and mount ns, tmpfs over the managed
# directory and over /var/lib.  Refuses to go on unless both are fresh tmpfs.
case_setup() {
	local d
	enter_netns --tmpfs /etc/sysctl.d --tmpfs /var/lib --
	for d in /etc/sysctl.d /var/lib; do
		mountpoint -q "$d" && [ "$(stat -f -c %T "$d")" = tmpfs ] ||
			fail "$d is not a tmpfs mount in this namespace; refusing to run tcptune"
		[ -z "$(ls -A "$d")" ] || fail "$d is not empty: not the fresh tmpfs expected"
	done
	mkdir -m 0700 "$STORE" || fail "cannot create $STORE on the tmpfs"
	# Scratch files of this case: /tmp is shared with the cases running beside.
	CW=$(mktemp -d /tmp/case.XXXXXX) || fail "mktemp -d failed"
	[ -x "$TCPTUNE" ] || fail "missing $TCPTUNE (make build/tcptune)"
}

# The keys the state covers: every key either profile's managed file sets.
# Also loads the reference states, if there are any yet, into REF_STATE.
declare -A REF_STATE
state_keys() {
	local n
	KEYS=$(awk -F' = ' '/^[a-z]/ { print $1 }' "$REF/P.conf" "$REF/W.conf" | sort -u)
	[ -n "$KEYS" ] || fail "no keys in the reference files"
	for n in D P W; do
		[ ! -f "$REF/$n.state" ] || REF_STATE[$n]=$(<"$REF/$n.state")
	done
}

# state: runtime value of each key (its fields joined by one space), then
# the managed file (hash or absent).  The keys are read by bash itself: a
# case takes the state several times, and a process per key was most of
# the sweep's CPU time.
state() {
	local k p v
	for k in $KEYS; do
		p=/proc/sys/${k//.//}
		if [ -e "$p" ]; then
			read -r -a v <"$p"
			printf '%s = %s\n' "$k" "${v[*]}"
		else
			printf '%s absent\n' "$k"
		fi
	done
	if [ -e "$MANAGED" ] || [ -L "$MANAGED" ]; then
		printf 'file %s %s\n' "$(stat -c %a "$MANAGED")" "$(sha256sum <"$MANAGED" | cut -c1-64)"
	else
		printf 'file absent\n'
	fi
}

# state_name: D, P, W or "mix" for the current state.
state_name() {
	local s n
	s=$(state)
	for n in D P W; do
		[ "$s" = "${REF_STATE[$n]}" ] && { echo "$n"; return; }
	done
	echo mix
}

# state_diff NAME: the lines where the current state differs from NAME's.
state_diff() {
	diff <(cat "$REF/$1.state") <(state) | grep '^[<>]' | tr '\n' ';'
}

# expect_state NAME WHEN
expect_state() {
	local got
	got=$(state_name)
	[ "$got" = "$1" ] || fail "$LABEL: $2: state is $got, expected $1 (<$1 >now: $(state_diff "$1"))"
}

# run_tt OUT ERR ARGS...: tcptune with stdout/stderr in files, status in RC.
# (No wrapper shell as crash() has: nothing kills these runs but the hang
# guard, and timeout then exits 124 itself.)
run_tt() {
	local out=$1 err=$2
	shift 2
	timeout -k 5 "$CMD_LIMIT" "$TCPTUNE" "$@" >"$out" 2>"$err"
	RC=$?
}

# crash SYSCALL N ARGS...: run tcptune ARGS under strace, SIGKILLed on entry
# to the Nth SYSCALL.  Fails unless it died of it.
crash() {
	local sc=$1 n=$2
	shift 2
	O="$CW/crash.out" E="$CW/crash.err" bash -c 'timeout -k 5 "$CMD_LIMIT" "$@" >"$O" 2>"$E"; exit $?' crash \
		strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc:signal=SIGKILL:when=$n" \
		"$TCPTUNE" "$@" 2>/dev/null
	RC=$?
	[ "$RC" = 137 ] ||
		fail "$LABEL: tcptune $* was not killed at $sc call #$n (exit $RC; fewer calls than the reference run?): $(head -c 500 "$CW/crash.err")"
}

# history_lines: ID ACTION STATUS TARGET PROFILE ERROR per entry, oldest first,
# separated by $US (not a tab: read would merge empty fields); "-" for none.
US=$'\037'
history_lines() {
	run_tt "$CW/h.json" "$CW/h.err" history --format json
	[ "$RC" = 0 ] || fail "$LABEL: tcptune history exited $RC: $(head -c 500 "$CW/h.err")"
	jq -r '.[] | [.id, .action, .status, .target, .profile, .error]
		   | map(if . == null or . == "" then "-" else tostring end) | join("\u001f")' \
		"$CW/h.json" || fail "$LABEL: history --format json is not the expected JSON: $(head -c 300 "$CW/h.json")"
}

# history_summary: "action:status action:status ...", oldest first.
history_summary() {
	history_lines | awk -F"$US" '{ printf "%s%s:%s", (NR > 1 ? " " : ""), $2, $3 }'
}

# classify: what the crash left, from the history and the store.
#   none      no entry at all (killed before mkdirat)
#   half      an entry directory without manifest (killed while recording)
#   pending   an entry still pending (killed after recording)
#   committed no pending entry, the transaction's own entry committed
# Sets CLASS and CRASHED (the crashed transaction's entry id, if any).
classify() {
	local action=$1 lines id act st rest
	lines=$(history_lines)
	CLASS=none CRASHED=
	while IFS=$US read -r id act st rest; do
		[ -n "$id" ] || continue
		case $st in
		corrupt)
			case $rest in
			*"recording was cut off before any change"*) CLASS=half CRASHED=$id ;;
			*) fail "$LABEL: after the kill, entry $id is corrupt: $rest" ;;
			esac
			;;
		pending)
			[ "$act" = "$action" ] || fail "$LABEL: entry $id pending is a $act, not a $action"
			CLASS=pending CRASHED=$id ;;
		esac
	done <<<"$lines"
	if [ "$CLASS" = none ] && [ "$(echo "$lines" | awk -F"$US" -v a="$action" '$2 == a && $3 == "applied"' | wc -l)" = 1 ]; then
		CLASS=committed
		CRASHED=$(echo "$lines" | awk -F"$US" -v a="$action" '$2 == a && $3 == "applied" { print $1 }')
	fi
}

# check_finding WANT: `tcptune check` flags pending-transaction iff WANT=1.
check_finding() {
	local got
	run_tt "$CW/check.json" "$CW/check.err" check --format json
	[ "$RC" -le 2 ] || fail "$LABEL: tcptune check exited $RC: $(head -c 500 "$CW/check.err")"
	got=$(jq -r '[([.findings[]? | select(.id == "pending-transaction")] | length),
		       (.facts["txn.pending"] // "null")] | map(tostring) | join(" ")' "$CW/check.json") ||
		fail "$LABEL: check --format json is not JSON: $(head -c 300 "$CW/check.json")"
	[ "$got" = "$1 $1" ] ||
		fail "$LABEL: ($CLASS) check: pending-transaction findings and txn.pending are '$got', expected '$1 $1'"
}

# no_debris: no temp file left anywhere we write, no entry pending or corrupt.
no_debris() {
	local tmp
	tmp=$(find /etc/sysctl.d "$STORE" -name '.*.tmp-*' 2>/dev/null | tr '\n' ' ')
	[ -z "$tmp" ] || fail "$LABEL: ($CLASS) stray temp files left after recovery: $tmp"
	history_lines | awk -F"$US" '$3 == "pending" || $3 == "corrupt"' >"$CW/bad"
	[ ! -s "$CW/bad" ] || fail "$LABEL: ($CLASS) entries left pending or corrupt after recovery: $(tr '\037\n' ' ;' <"$CW/bad")"
}

# recovery_said WANT CMD: the recovery line on stderr iff WANT=1.
recovery_said() {
	if [ "$1" = 1 ]; then
		grep -qF "$RECOVERY_LINE" "$CW/next.err" ||
			fail "$LABEL: ($CLASS) $2 did not say '$RECOVERY_LINE': $(head -c 500 "$CW/next.err")"
	else
		! grep -q 'restored the state before' "$CW/next.err" ||
			fail "$LABEL: ($CLASS) $2 reported a recovery with no pending entry: $(head -c 500 "$CW/next.err")"
	fi
}

# --case apply SYSCALL N VARIANT
case_apply() {
	local sc=$1 n=$2 variant=$3 pend=0 want name
	LABEL="apply killed at $sc #$n, then $variant"
	case_setup
	state_keys
	expect_state D "fresh namespace"
	crash "$sc" "$n" apply reverse-proxy --yes
	classify apply
	echo "CLASS $CLASS"
	[ "$CLASS" = pending ] && pend=1

	# (a) what the crash left
	check_finding "$pend"
	case $CLASS in
	none | half) expect_state D "after the kill, with no entry recorded" ;;
	committed) expect_state P "after the kill, with the entry already applied" ;;
	esac

	if [ "$variant" = rollback ]; then
		run_tt "$CW/next.out" "$CW/next.err" rollback --yes
		recovery_said "$pend" "rollback --yes"
		if [ "$CLASS" = committed ]; then
			[ "$RC" = 0 ] || fail "$LABEL: rollback of the committed apply exited $RC: $(head -c 500 "$CW/next.err")"
		else
			[ "$RC" != 0 ] && grep -q 'no applied transaction to undo' "$CW/next.err" ||
				fail "$LABEL: ($CLASS) rollback with nothing applied: exit $RC, stderr: $(head -c 500 "$CW/next.err")"
		fi
		expect_state D "after rollback --yes (recovery first)"
		check_finding 0
	fi

	# (b) the next apply
	run_tt "$CW/next.out" "$CW/next.err" apply reverse-proxy --yes
	[ "$RC" = 0 ] || fail "$LABEL: ($CLASS) the next apply exited $RC: $(head -c 500 "$CW/next.err")"
	[ "$variant" = rollback ] && pend=0	# the rollback recovered it
	recovery_said "$pend" "the next apply"
	expect_state P "after the next apply"
	cmp -s "$MANAGED" "$REF/P.conf" || fail "$LABEL: $MANAGED differs from the clean run's"
	[ "$(stat -c %a "$MANAGED")" = 644 ] || fail "$LABEL: $MANAGED has mode $(stat -c %a "$MANAGED"), not 644"

	# (d) first: it names what is left behind
	no_debris
	# (c) history
	case $CLASS/$variant in
	none/* | half/*) want="apply:applied" ;;
	pending/*) want="apply:recovered apply:applied" ;;
	committed/apply) want="apply:applied apply:unchanged" ;;
	committed/rollback) want="apply:undone rollback:applied apply:applied" ;;
	esac
	name=$(history_summary)
	[ "$name" = "$want" ] || fail "$LABEL: ($CLASS) history is '$name', expected '$want'"
	if [ "$CLASS" = pending ]; then
		history_lines | awk -F"$US" -v id="$CRASHED" '$1 == id && $3 == "recovered"' | grep -q . ||
			fail "$LABEL: crashed entry $CRASHED is not 'recovered'"
	fi
	check_finding 0
	echo "OK apply $sc $n $variant $CLASS"
}

# --case rollback SYSCALL N FOLLOWUP
case_rollback() {
	local sc=$1 n=$2 next=$3 pend=0 want name
	LABEL="rollback killed at $sc #$n, then $next"
	case_setup
	state_keys
	expect_state D "fresh namespace"
	run_tt "$CW/next.out" "$CW/next.err" apply web-server --yes
	[ "$RC" = 0 ] || fail "$LABEL: the clean apply of web-server exited $RC: $(head -c 500 "$CW/next.err")"
	expect_state W "after the clean apply of web-server"
	crash "$sc" "$n" rollback --yes
	classify rollback
	echo "CLASS $CLASS"
	[ "$CLASS" = pending ] && pend=1

	# Right after the kill: consistent, or flagged.
	check_finding "$pend"
	name=$(history_summary)
	case $CLASS in
	none | half)
		expect_state W "after the kill, with no rollback entry recorded (history: $name)"
		[ "${name%% *}" = apply:applied ] || fail "$LABEL: ($CLASS) history '$name' after the kill" ;;
	committed)
		expect_state D "after the kill, with the rollback committed"
		[ "$name" = "apply:undone rollback:applied" ] || fail "$LABEL: ($CLASS) history '$name' after the kill" ;;
	esac

	if [ "$next" = rollback ]; then
		run_tt "$CW/next.out" "$CW/next.err" rollback --yes
		recovery_said "$pend" "rollback --yes"
		if [ "$CLASS" = committed ]; then
			[ "$RC" != 0 ] && grep -q 'no applied transaction to undo' "$CW/next.err" ||
				fail "$LABEL: second rollback after a committed one: exit $RC, stderr: $(head -c 500 "$CW/next.err")"
		else
			[ "$RC" = 0 ] || fail "$LABEL: ($CLASS) rollback --yes exited $RC: $(head -c 500 "$CW/next.err")"
		fi
		expect_state D "after rollback --yes"
		case $CLASS in
		none | half | committed) want="apply:undone rollback:applied" ;;
		pending) want="apply:undone rollback:recovered rollback:applied" ;;
		esac
	else
		run_tt "$CW/next.out" "$CW/next.err" apply web-server --yes
		[ "$RC" = 0 ] || fail "$LABEL: ($CLASS) apply web-server exited $RC: $(head -c 500 "$CW/next.err")"
		recovery_said "$pend" "apply web-server --yes"
		expect_state W "after apply web-server --yes"
		cmp -s "$MANAGED" "$REF/W.conf" || fail "$LABEL: $MANAGED differs from the clean run's"
		# "unchanged" proves recovery left exactly W: apply found nothing to do.
		case $CLASS in
		none | half) want="apply:applied apply:unchanged" ;;
		pending) want="apply:applied rollback:recovered apply:unchanged" ;;
		committed) want="apply:undone rollback:applied apply:applied" ;;
		esac
	fi
	no_debris
	name=$(history_summary)
	[ "$name" = "$want" ] || fail "$LABEL: ($CLASS) history is '$name', expected '$want'"
	check_finding 0
	echo "OK rollback $sc $n $next $CLASS"
}

# --case ref: clean runs, the states D, P, W and the syscall counts.
case_ref() {
	local set
	LABEL="reference run"
	case_setup
	set=$(echo "$SYSCALLS" | tr ' ' ',')
	# The key list needs both files: first the applies, then the states.
	strace -f -y -qq -o "$REF/apply.trace" -e trace="$set" "$TCPTUNE" apply reverse-proxy --yes >"$CW/o" 2>"$CW/e" ||
		fail "clean apply of reverse-proxy under strace failed: $(head -c 500 "$CW/e")"
	cp "$MANAGED" "$REF/P.conf" || fail "no $MANAGED after the clean apply"
	run_tt "$CW/o" "$CW/e" rollback --yes
	[ "$RC" = 0 ] || fail "clean rollback failed: $(head -c 500 "$CW/e")"
	[ ! -e "$MANAGED" ] || fail "clean rollback left $MANAGED"
	run_tt "$CW/o" "$CW/e" apply web-server --yes
	[ "$RC" = 0 ] || fail "clean apply of web-server failed: $(head -c 500 "$CW/e")"
	cp "$MANAGED" "$REF/W.conf" || fail "no $MANAGED after the clean apply"
	state_keys
	state >"$REF/W.state"
	run_tt "$CW/o" "$CW/e" rollback --yes
	[ "$RC" = 0 ] || fail "clean rollback failed: $(head -c 500 "$CW/e")"
	state >"$REF/D.state"
	run_tt "$CW/o" "$CW/e" apply reverse-proxy --yes
	[ "$RC" = 0 ] || fail "clean apply of reverse-proxy failed: $(head -c 500 "$CW/e")"
	state >"$REF/P.state"
	grep -q '^file absent' "$REF/D.state" || fail "D state has a managed file"
	! cmp -s "$REF/D.state" "$REF/P.state" && ! cmp -s "$REF/D.state" "$REF/W.state" &&
		! cmp -s "$REF/P.state" "$REF/W.state" || fail "the reference states are not distinct"
	echo "OK ref"
}

# --case refrb: the syscalls of a clean rollback of web-server, in the same
# store state as the kill points (one applied entry).
case_refrb() {
	local set
	LABEL="reference rollback"
	case_setup
	set=$(echo "$SYSCALLS" | tr ' ' ',')
	run_tt "$CW/o" "$CW/e" apply web-server --yes
	[ "$RC" = 0 ] || fail "clean apply of web-server failed: $(head -c 500 "$CW/e")"
	strace -f -y -qq -o "$REF/rollback.trace" -e trace="$set" "$TCPTUNE" rollback --yes >"$CW/o" 2>"$CW/e" ||
		fail "clean rollback under strace failed: $(head -c 500 "$CW/e")"
	echo "OK refrb"
}

# --case recover K SYSCALL N: apply killed at openat #K (mid-way through the
# runtime writes: a mix, pending), then the next apply, whose first act is
# recovery, killed at SYSCALL #N; then a third apply must sort it all out.
case_recover() {
	local k=$1 sc=$2 n=$3 pend want name lines
	LABEL="apply killed at openat #$k, the next apply killed at $sc #$n"
	case_setup
	state_keys
	crash openat "$k" apply reverse-proxy --yes
	classify apply
	[ "$CLASS" = pending ] || fail "$LABEL: the first kill left '$CLASS', not a pending entry"
	crash "$sc" "$n" apply reverse-proxy --yes
	lines=$(history_lines)
	pend=$(echo "$lines" | awk -F"$US" '$3 == "pending"' | wc -l)
	check_finding "$pend"
	# Classes: "during": recovery cut off (the first still pending, no
	# second entry); else what the second transaction left.
	if echo "$lines" | awk -F"$US" 'NR == 1 && $3 == "pending"' | grep -q .; then
		CLASS=during
		[ "$(echo "$lines" | wc -l)" = 1 ] || fail "$LABEL: an entry next to the unrecovered one: $(echo "$lines" | tr '\037\n' ' ;')"
	else
		echo "$lines" | awk -F"$US" 'NR == 1 && $3 == "recovered"' | grep -q . ||
			fail "$LABEL: the first entry is neither pending nor recovered: $(echo "$lines" | tr '\037\n' ' ;')"
		lines=$(echo "$lines" | tail -n +2)
		case $lines in
		'') CLASS=none ;;
		*"recording was cut off before any change"*) CLASS=half ;;
		*"${US}pending$US"*) CLASS=pending ;;
		*"${US}applied$US"*) CLASS=committed ;;
		*) fail "$LABEL: the second entry is $(echo "$lines" | tr '\037\n' ' ;')" ;;
		esac
	fi
	echo "CLASS $CLASS"
	case $CLASS in
	none | half) expect_state D "after the recovery completed and the second apply was cut off before its entry" ;;
	committed) expect_state P "after the second apply committed" ;;
	esac

	run_tt "$CW/next.out" "$CW/next.err" apply reverse-proxy --yes
	[ "$RC" = 0 ] || fail "$LABEL: ($CLASS) the third apply exited $RC: $(head -c 500 "$CW/next.err")"
	recovery_said "$pend" "the third apply"
	expect_state P "after the third apply"
	cmp -s "$MANAGED" "$REF/P.conf" || fail "$LABEL: $MANAGED differs from the clean run's"
	no_debris
	case $CLASS in
	during | none | half) want="apply:recovered apply:applied" ;;
	pending) want="apply:recovered apply:recovered apply:applied" ;;
	committed) want="apply:recovered apply:applied apply:unchanged" ;;
	esac
	name=$(history_summary)
	[ "$name" = "$want" ] || fail "$LABEL: ($CLASS) history is '$name', expected '$want'"
	check_finding 0
	echo "OK recover $sc $n - $CLASS"
}

# --case refrec K: the syscalls of the apply that recovers from a kill at openat #K.
case_refrec() {
	local set
	LABEL="reference recovery"
	case_setup
	set=$(echo "$SYSCALLS" | tr ' ' ',')
	crash openat "$1" apply reverse-proxy --yes
	[ "$(state_name)" = mix ] || fail "the kill at openat #$1 did not leave a mix of D and P: $(state_name)"
	strace -f -y -qq -o "$REF/recover.trace" -e trace="$set" "$TCPTUNE" apply reverse-proxy --yes >"$CW/o" 2>"$CW/e" ||
		fail "the recovering apply under strace failed: $(head -c 500 "$CW/e")"
	grep -qF "$RECOVERY_LINE" "$CW/e" || fail "the recovering apply did not recover: $(head -c 500 "$CW/e")"
	echo "OK refrec"
}

if [ "${1:-}" = --case ]; then
	shift
	kind=$1
	shift
	case $kind in
	ref) case_ref ;;
	refrb) case_refrb ;;
	apply) case_apply "$@" ;;
	rollback) case_rollback "$@" ;;
	refrec) case_refrec "$@" ;;
	recover) case_recover "$@" ;;
	*) fail "unknown case '$kind'" ;;
	esac
	exit 0
fi

# ============================================================================
# Outside: the reference, then every kill point
# ============================================================================
enter_netns --tmpfs /tmp -- "$@"
[ -x "$TCPTUNE" ] || fail "missing $TCPTUNE (make build/tcptune)"
mkdir -p "$REF" "$RES" || fail "cannot create $REF"
# One binary for the whole run, even if the tree is rebuilt meanwhile.
cp "$TCPTUNE" /tmp/tcptune || fail "cannot copy $TCPTUNE"
export TCPTUNE=/tmp/tcptune
START=$(date +%s)
case $FULL in 0 | 1) ;; *) fail "TT_FULL is '$FULL', not 0 or 1" ;; esac

# run_case NAME ARGS...: one case in new namespaces; its status in RC.
run_case() {
	local name=$1
	shift
	timeout -k 5 "$CASE_LIMIT" unshare --net --mount --propagation private -- \
		bash "$TT_SCRIPT" --case "$@" >"$RES/$name.out" 2>"$RES/$name.err" </dev/null
	RC=$?
}

run_case ref ref
[ "$RC" = 0 ] || fail "reference run failed (exit $RC): $(cat "$RES/ref.err")"
run_case refrb refrb
[ "$RC" = 0 ] || fail "reference rollback failed (exit $RC): $(cat "$RES/refrb.err")"

# all_points TRACE: "SYSCALL N CLASS KIND" for every call in the trace of a
# clean run (-y: descriptors shown with their paths), in call order; N counts
# the calls of SYSCALL (strace's inject counts the same way).  CLASS is "r"
# for an openat for reading only, "w" for every other call.  KIND is the call
# with what varies between runs or within a loop taken out: descriptor
# numbers, the working directory, the random suffix of a temp file
# (tmp-HEX), the store entry's number, which /proc/sys key, which library
# or data file, the bytes written and the mode; a failed call keeps its
# errno.  So "write to a /proc/sys file", "renameat of the entry's
# manifest.json temp file" and "fsync of the entry's directory" are kinds.
all_points() {
	awk 'match($2, /^[a-z0-9_]+\(/) {
		s = substr($2, 1, RLENGTH - 1)
		c = (s == "openat" && $0 !~ /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_TMPFILE/) ? "r" : "w"
		k = $0
		sub(/^[0-9]+ +/, "", k)			# the pid
		err = ""
		if (k ~ /\) += -1 [A-Z]/) { err = k; sub(/^.*\) += -1 /, "", err); sub(/ .*$/, "", err); err = " = " err }
		sub(/\) += .*$/, ")", k)		# the result
		if (s == "write") sub(/>, .*$/, ">)", k)	# the bytes written
		gsub(/AT_FDCWD<[^>]*>/, "AT_FDCWD", k)
		gsub(/[0-9]+</, "<", k)
		gsub(/tmp-[0-9a-f]+/, "tmp-*", k)
		gsub(/\/[0-9][0-9][0-9][0-9]+/, "/ID", k); gsub(/"[0-9][0-9][0-9][0-9]+"/, "\"ID\"", k)
		gsub(/proc\/sys\/[A-Za-z0-9_\/.-]+/, "proc/sys/KEY", k)
		gsub(/\/lib\/[a-z0-9_-]+-linux-gnu\/[^">]+/, "/lib/LIB", k)
		gsub(/sysctl\.d\/[^"\/>]+\.conf"/, "sysctl.d/*.conf\"", k)
		gsub(/[^"\/>]+\.yaml"/, "*.yaml\"", k)
		gsub(/\/tmp\/case\.[^\/>]+/, "/tmp/case.*", k)
		sub(/, 0[0-7]*\)$/, ")", k)		# the mode of an openat or mkdirat
		print s, ++n[s], c, k err
	}' "$1"
}
# points NAME: NAME.all from NAME.trace, and the kill points to run in
# NAME.points ("SYSCALL N", call order): all with TT_FULL=1, else the sample
# described in the header: the first and the last call; of each kind of
# call that may change state, its first and its last; of each run of
# read-only openat calls between two of those, its first.
points() {
	all_points "$REF/$1.trace" >"$REF/$1.all"
	awk -v full="$FULL" '
		{ pt[NR] = $1 " " $2; k = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", k) }
		full == 1 || NR == 1 { pick[NR] = 1 }
		$3 == "w" { if (!(k in first)) { first[k] = NR; pick[NR] = 1 }; last[k] = NR; run = 0 }
		$3 == "r" { if (!run) pick[NR] = 1; run = 1 }
		END {
			for (k in last) pick[last[k]] = 1
			pick[NR] = 1
			for (i = 1; i <= NR; i++) if (i in pick) print pt[i]
		}' "$REF/$1.all" >"$REF/$1.points"
	# The sample must hold every kind of state-changing call.
	awk 'NR == FNR { in_pts[$1 " " $2] = 1; next }
		$3 == "w" { k = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", k); kinds[k] = 1; if (($1 " " $2) in in_pts) hit[k] = 1 }
		END { for (k in kinds) if (!(k in hit)) { print k; bad = 1 }; exit bad }' \
		"$REF/$1.points" "$REF/$1.all" >"$REF/$1.missed" ||
		fail "the $1 sample misses kinds of call: $(head -n 3 "$REF/$1.missed" | tr '\n' ';')"
}
points apply
points rollback
n_apply=$(wc -l <"$REF/apply.all")
n_rb=$(wc -l <"$REF/rollback.all")
[ "$n_apply" -ge 20 ] && [ "$n_rb" -ge 10 ] ||
	fail "too few kill points ($n_apply for apply, $n_rb for rollback): is strace tracing?"
grep -q '^renameat ' "$REF/apply.points" && grep -q '^fsync ' "$REF/apply.points" ||
	fail "the clean apply made no renameat/fsync: not the transaction expected"
grep -q '^openat [0-9]* r ' "$REF/apply.all" && grep -q '^openat [0-9]* w ' "$REF/apply.all" ||
	fail "cannot tell read-only from writing openat calls in the reference trace (strace -y output changed?)"

# The recovery loop starts from an apply killed when it opens its third key
# in /proc/sys for writing: file written, two keys changed, the rest not.
K_MIX=$(awk '$2 ~ /^openat\(/ { n++; if ($0 ~ /"\/proc\/sys\// && $0 ~ /O_WRONLY/ && ++w == 3) { print n; exit } }' \
	"$REF/apply.trace")
[ -n "$K_MIX" ] || fail "cannot find the third /proc/sys write in the clean apply's trace"
run_case refrec refrec "$K_MIX"
[ "$RC" = 0 ] || fail "reference recovery failed (exit $RC): $(cat "$RES/refrec.err")"
points recover
n_rec=$(wc -l <"$REF/recover.all")
# This part's traces: the kill points it exercises, of how many.
case $PART in
all) parts="apply rollback recover" what="apply, rollback and the recovering apply" ;;
apply) parts=apply what="apply (each with 2 follow-ups)" ;;
rollback) parts=rollback what="rollback" ;;
recover) parts=recover what="the apply that recovers (after apply killed at openat #$K_MIX)" ;;
esac
n_all=0 n_run=0 n_w=0 n_kinds=0
for p in $parts; do
	n_all=$((n_all + $(wc -l <"$REF/$p.all")))
	n_run=$((n_run + $(wc -l <"$REF/$p.points")))
	n_w=$((n_w + $(awk '$3 == "w"' "$REF/$p.all" | wc -l)))
	n_kinds=$((n_kinds + $(awk '$3 == "w" { sub(/^[^ ]+ [^ ]+ [^ ]+ /, ""); print }' "$REF/$p.all" | sort -u | wc -l)))
done
if [ "$FULL" = 1 ]; then
	rule="all"
else
	rule="sampled: first and last call, first and last of each of the $n_kinds kinds among the $n_w calls"
	rule="$rule that may change state, one per run of the $((n_all - n_w)) read-only openat calls; make crash-sweep runs all"
fi
echo "kill points of $what: exercising $n_run of $n_all ($rule)"

# The job list: every apply point with both follow-ups, every rollback point
# with one follow-up, alternating (each follow-up still sees every kind of
# point: apply, rollback, apply... over consecutive calls).
{
	while read -r sc n; do
		echo "apply $sc $n apply"
		echo "apply $sc $n rollback"
	done <"$REF/apply.points"
	i=0
	while read -r sc n; do
		if [ $((i % 2)) = 0 ]; then echo "rollback $sc $n rollback"; else echo "rollback $sc $n apply"; fi
		i=$((i + 1))
	done <"$REF/rollback.points"
	while read -r sc n; do
		echo "recover $K_MIX $sc $n"
	done <"$REF/recover.points"
} | awk -v part="$PART" 'part == "all" || $1 == part' >"$REF/jobs"
n_jobs=$(wc -l <"$REF/jobs")

# worker K NWORKERS: every NWORKERS-th job from K.  Prints a progress line
# every 10 cases (tests/run-integration takes a long silence for a hang).
worker() {
	local k=$1 w=$2 i=0 done=0 kind sc n v name
	while read -r kind sc n v; do
		i=$((i + 1))
		[ $(((i - 1) % w)) = "$k" ] || continue
		name="$kind.$sc.$n.$v"
		run_case "$name" "$kind" "$sc" "$n" "$v"
		echo "$RC" >"$RES/$name.rc"
		done=$((done + 1))
		[ $((done % 10)) != 0 ] ||
			echo "  progress: worker $((k + 1)) of $w: $done cases done ($(($(date +%s) - START))s)"
	done <"$REF/jobs"
}

WORKERS=2
pids=""
for k in $(seq 0 $((WORKERS - 1))); do
	start_bg worker "$k" "$WORKERS"
	pids="$pids $TT_LAST_PID"
done
for p in $pids; do
	wait "$p"
	TT_PIDS=$(echo " $TT_PIDS " | sed "s/ $p / /")
done

# ---- summary ----------------------------------------------------------------
failed=0
declare -A ok=([apply]=0 [rollback]=0 [recover]=0)
declare -A classes
while read -r kind sc n v; do
	name="$kind.$sc.$n.$v"
	rc=$(cat "$RES/$name.rc" 2>/dev/null || echo missing)
	c=$(awk '/^CLASS / { print $2 }' "$RES/$name.out" 2>/dev/null)
	[ -n "$c" ] && classes[$kind.$c]=$((${classes[$kind.$c]:-0} + 1))
	if [ "$rc" = 0 ] && grep -q '^OK ' "$RES/$name.out"; then
		ok[$kind]=$((${ok[$kind]:-0} + 1))
	else
		failed=$((failed + 1))
		# The reason without the kill point, so equal failures group.
		why=$(grep -v 'Killed' "$RES/$name.err" | tail -n 1 | sed -E \
			-e 's/^FAIL: [^:]*: //' -e 's/^(apply|rollback) killed at [a-z0-9]+ #[0-9]+, (then [a-z]+|the next apply killed at [a-z0-9]+ #[0-9]+): //' \
			-e 's/tmp-[0-9a-f]{16}/tmp-*/g' -e 's/[0-9a-f]{64}/HASH/g')
		printf '%s\t%s\n' "${why:-exit $rc, no message}" "$name" >>"$RES/failures"
	fi
done <"$REF/jobs"
if [ -s "$RES/failures" ]; then
	echo "failed kill points, grouped by reason (count: first points; reason):" >&2
	sort -t "$(printf '\t')" -k1,1 -s "$RES/failures" | awk -F'\t' '
		$1 != r { if (NR > 1) out(); r = $1; n = 0; ex = "" }
		{ n++; if (n <= 4) ex = ex (n > 1 ? " " : "") $2 }
		function out() { printf "  %d: %s%s; %s\n", n, ex, (n > 4 ? " ..." : ""), r }
		END { out() }' >&2
fi
secs=$(($(date +%s) - START))
cls=""
for c in $(printf '%s\n' "${!classes[@]}" | sort); do cls="$cls $c=${classes[$c]}"; done
echo "$(basename "$TT_SCRIPT" .sh): kill points: $n_apply in apply (each with 2 follow-ups), $n_rb in rollback," \
	"$n_rec in the apply that recovers (after apply killed at openat #$K_MIX); $n_jobs cases in ${secs}s:" \
	"passed ${ok[apply]} apply, ${ok[rollback]} rollback, ${ok[recover]} recovery cases; $failed failed"
echo "$(basename "$TT_SCRIPT" .sh): exercised $n_run of $n_all kill points of $what ($rule)"
echo "  what the kill left (none: before the entry; half: entry without manifest; pending; committed;" \
	"during: recovery cut off):$cls"
[ "$failed" = 0 ] || fail "$failed kill points failed (listed above)"
exit 0
