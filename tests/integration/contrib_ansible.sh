#!/bin/bash
# contrib_ansible.sh: contrib/ansible's playbooks, run by the real
# ansible-playbook against localhost with a local connection, drive tcptune
# idempotently:
#   site.yml --check       changed, nothing written
#   site.yml               changed=1; tcp_fin_timeout 30, 99-tcptune.conf written
#   site.yml again         changed=0, ok (an "unchanged" entry, nothing written)
#   site.yml --check       changed=0
#   rollback.yml           changed=1; tcp_fin_timeout back, the file gone
#   rollback.yml again     changed=0, ok: nothing to undo is no failure
#   failures fail the play (failed=1) and leave the namespace as it was: no
#   tcptune_profile, an unknown profile, /etc/sysctl.d read-only (tcptune
#   refuses, no JSON), a runtime key read-only (the transaction fails and is
#   restored: JSON status "failed").
# Everything runs in private network and mount namespaces with tmpfs over
# /etc/sysctl.d, /var/lib and /tmp; ansible's home and temp dirs are in /tmp.

. "$(dirname "$0")/lib.sh"
need_root
need_cmds ansible-playbook jq timeout awk
enter_netns --tmpfs /tmp --tmpfs /etc/sysctl.d --tmpfs /var/lib -- "$@"

TCPTUNE=$TT_ROOT/build/tcptune
PLAYS=$TT_ROOT/contrib/ansible
W=/tmp				# a private tmpfs (enter_netns)
MANAGED=/etc/sysctl.d/99-tcptune.conf
FINFILE=/proc/sys/net/ipv4/tcp_fin_timeout

[ -x "$TCPTUNE" ] || fail "missing $TCPTUNE (make)"
[ -f "$PLAYS/site.yml" ] && [ -f "$PLAYS/rollback.yml" ] || fail "missing $PLAYS/site.yml or rollback.yml"
mkdir -m 0700 /var/lib/tcptune || fail "cannot create /var/lib/tcptune in the tmpfs"
mkdir -p "$W/home" "$W/ansible-local" "$W/ansible-remote" || fail "cannot create ansible's directories"
: >"$W/ansible.cfg"		# no /etc/ansible/ansible.cfg, no ./ansible.cfg

# Ansible, kept fast and to itself: no facts (the playbooks say so), no
# colour, nothing written outside $W.
export HOME=$W/home ANSIBLE_CONFIG=$W/ansible.cfg ANSIBLE_LOCAL_TEMP=$W/ansible-local \
	ANSIBLE_REMOTE_TEMP=$W/ansible-remote ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 \
	ANSIBLE_PYTHON_INTERPRETER=auto_silent ANSIBLE_RETRY_FILES_ENABLED=0 \
	ANSIBLE_COLLECTIONS_PATH=$W/home/collections
unset ANSIBLE_INVENTORY ANSIBLE_STDOUT_CALLBACK

RUN=0
# play NAME PLAYBOOK ARGS...: run ansible-playbook (bounded) into $W/NAME.log;
# sets PRC (its exit code) and CHANGED, OK, FAILED, UNREACH from the recap.
play() {
	local name=$1 book=$2 recap
	shift 2
	RUN=$((RUN + 1))
	run_bounded $((2 * TT_HANG)) ansible-playbook -i localhost, -c local "$PLAYS/$book" \
		-e tcptune_bin="$TCPTUNE" "$@" >"$W/$name.log" 2>&1
	PRC=$?
	[ "$PRC" != 124 ] || fail "$name: ansible-playbook hung (no end within $((2 * TT_HANG)) s): $(tail -n 20 "$W/$name.log")"
	recap=$(awk '/^PLAY RECAP/ { r = 1; next } r && /^localhost +:/ { print; exit }' "$W/$name.log")
	[ -n "$recap" ] || fail "$name: no PLAY RECAP for localhost (exit $PRC): $(tail -n 30 "$W/$name.log")"
	CHANGED=$(echo "$recap" | sed -n 's/.* changed=\([0-9]*\).*/\1/p')
	OK=$(echo "$recap" | sed -n 's/.* ok=\([0-9]*\).*/\1/p')
	FAILED=$(echo "$recap" | sed -n 's/.* failed=\([0-9]*\).*/\1/p')
	UNREACH=$(echo "$recap" | sed -n 's/.* unreachable=\([0-9]*\).*/\1/p')
	[ -n "$CHANGED" ] && [ -n "$OK" ] && [ -n "$FAILED" ] && [ -n "$UNREACH" ] ||
		fail "$name: cannot read the recap: $recap"
}

# expect_play NAME CHANGED: the play succeeded with that many changed tasks.
expect_play() {
	[ "$PRC" = 0 ] && [ "$FAILED" = 0 ] && [ "$UNREACH" = 0 ] ||
		fail "$1: ansible-playbook exited $PRC (failed=$FAILED unreachable=$UNREACH): $(tail -n 40 "$W/$1.log")"
	[ "$CHANGED" = "$2" ] || fail "$1: changed=$CHANGED, expected $2: $(tail -n 40 "$W/$1.log")"
	[ "$OK" -ge 1 ] || fail "$1: ok=$OK"
	! grep -q '^\[\(WARNING\|DEPRECATION WARNING\)\]' "$W/$1.log" ||
		fail "$1: ansible warned: $(grep -A3 '^\[\(WARNING\|DEPRECATION WARNING\)\]' "$W/$1.log" | head -n 20)"
}

fin() { cat "$FINFILE" || fail "cannot read $FINFILE"; }
entries() { "$TCPTUNE" history --format json | jq -r '.[] | "\(.id) \(.action) \(.status)"' | tr '\n' ';'; }

# A starting value that is neither the kernel's default nor web-server's, in
# this network namespace only, so "restored" cannot be mistaken for "reset".
echo 45 >"$FINFILE" || fail "cannot set tcp_fin_timeout in the test namespace"
START=$(fin)
[ "$START" = 45 ] || fail "tcp_fin_timeout reads '$START' after writing 45"
[ ! -e "$MANAGED" ] || fail "$MANAGED exists in the fresh tmpfs"

# ---- check mode: reports the change, makes none -------------------------------
play check1 site.yml --check -e tcptune_profile=web-server
expect_play check1 1
[ "$(fin)" = "$START" ] || fail "check1: --check changed tcp_fin_timeout to $(fin)"
[ ! -e "$MANAGED" ] || fail "check1: --check wrote $MANAGED"
[ -z "$(entries)" ] || fail "check1: --check recorded transactions: $(entries)"

# ---- first run: changed ------------------------------------------------------------
play apply1 site.yml -e tcptune_profile=web-server
expect_play apply1 1
[ "$(fin)" = 30 ] || fail "apply1: tcp_fin_timeout is $(fin), expected web-server's 30"
[ -f "$MANAGED" ] || fail "apply1: $MANAGED was not written"
grep -Eq '^net\.ipv4\.tcp_fin_timeout *= *30$' "$MANAGED" ||
	fail "apply1: $MANAGED lacks tcp_fin_timeout = 30: $(cat "$MANAGED")"
grep -q 'web-server: applied' "$W/apply1.log" || fail "apply1: no report of the transaction: $(tail -n 30 "$W/apply1.log")"
[ "$(entries)" = "0001 apply applied;" ] || fail "apply1: history is '$(entries)'"
cp "$MANAGED" "$W/managed.1" || fail "cannot copy $MANAGED"

# ---- second run: ok, no change -----------------------------------------------------
play apply2 site.yml -e tcptune_profile=web-server
expect_play apply2 0
[ "$(fin)" = 30 ] || fail "apply2: tcp_fin_timeout is $(fin)"
cmp -s "$MANAGED" "$W/managed.1" || fail "apply2: $MANAGED changed"
[ "$(entries)" = "0001 apply applied;0002 apply unchanged;" ] || fail "apply2: history is '$(entries)'"

play check2 site.yml --check -e tcptune_profile=web-server
expect_play check2 0

# ---- rollback: restores, then nothing to undo ----------------------------------------
play rollback1 rollback.yml
expect_play rollback1 1
[ "$(fin)" = "$START" ] || fail "rollback1: tcp_fin_timeout is $(fin), expected the starting $START"
[ ! -e "$MANAGED" ] || fail "rollback1: $MANAGED is still there: $(cat "$MANAGED")"
grep -q 'undid entry 0001' "$W/rollback1.log" || fail "rollback1: no report of the undone entry: $(tail -n 30 "$W/rollback1.log")"
AFTER=$(entries)

play rollback2 rollback.yml
expect_play rollback2 0
grep -q 'nothing to undo' "$W/rollback2.log" || fail "rollback2: no 'nothing to undo' report: $(tail -n 30 "$W/rollback2.log")"
[ "$(fin)" = "$START" ] && [ ! -e "$MANAGED" ] || fail "rollback2: the namespace changed"
[ "$(entries)" = "$AFTER" ] || fail "rollback2: history changed from '$AFTER' to '$(entries)'"

# ---- failures are failures -----------------------------------------------------------
play noprofile site.yml -e tcptune_profile=no-such-profile
[ "$PRC" != 0 ] && [ "$FAILED" = 1 ] || fail "noprofile: exit $PRC, failed=$FAILED; expected a failed play"
grep -q "unknown profile 'no-such-profile'" "$W/noprofile.log" || fail "noprofile: tcptune's error not shown: $(tail -n 30 "$W/noprofile.log")"

play novar site.yml
[ "$PRC" != 0 ] && [ "$FAILED" = 1 ] || fail "novar: exit $PRC, failed=$FAILED without tcptune_profile"
grep -q 'set tcptune_profile' "$W/novar.log" || fail "novar: no hint about tcptune_profile: $(tail -n 30 "$W/novar.log")"

# Refused before any transaction (no JSON, only tcptune's stderr): the
# /etc/sysctl.d tmpfs made read-only.
mount -o remount,ro /etc/sysctl.d || fail "cannot make the /etc/sysctl.d tmpfs read-only"
play rofs site.yml -e tcptune_profile=web-server
mount -o remount,rw /etc/sysctl.d || fail "cannot make the /etc/sysctl.d tmpfs writable again"
[ "$PRC" != 0 ] && [ "$FAILED" = 1 ] && [ "$CHANGED" = 0 ] ||
	fail "rofs: exit $PRC, failed=$FAILED changed=$CHANGED; expected a failed, unchanged play: $(tail -n 30 "$W/rofs.log")"
grep -q 'Read-only file system' "$W/rofs.log" || fail "rofs: tcptune's error not shown: $(tail -n 30 "$W/rofs.log")"
[ "$(fin)" = "$START" ] && [ ! -e "$MANAGED" ] || fail "rofs: the namespace changed (tcp_fin_timeout $(fin))"

# The transaction itself fails after writing the managed file: the runtime
# key is read-only (a bind mount in this mount namespace only).  tcptune
# restores and answers {"status": "failed", "restored": true}; the play fails.
mount --bind "$FINFILE" "$FINFILE" && mount -o remount,bind,ro "$FINFILE" ||
	fail "cannot make $FINFILE read-only in the test namespace"
play roproc site.yml -e tcptune_profile=web-server
umount "$FINFILE" || fail "cannot unmount the read-only $FINFILE"
[ "$PRC" != 0 ] && [ "$FAILED" = 1 ] && [ "$CHANGED" = 0 ] ||
	fail "roproc: exit $PRC, failed=$FAILED changed=$CHANGED; expected a failed, unchanged play: $(tail -n 30 "$W/roproc.log")"
grep -q '\\"status\\": \\"failed\\"' "$W/roproc.log" && grep -q '\\"restored\\": true' "$W/roproc.log" ||
	fail "roproc: tcptune's failed, restored status not shown: $(tail -n 30 "$W/roproc.log")"
[ "$(fin)" = "$START" ] && [ ! -e "$MANAGED" ] || fail "roproc: the namespace changed (tcp_fin_timeout $(fin))"
case $(entries) in
"$AFTER"*" apply rolled-back;") ;;
*) fail "roproc: history is '$(entries)', expected a rolled-back apply after '$AFTER'" ;;
esac

echo "ok: $(basename "$0"): $RUN ansible-playbook runs; apply changed then ok, rollback changed then ok;" \
	"tcp_fin_timeout $START -> 30 -> $START; history: $(entries)"
exit 0
