#!/bin/bash
# recommend_after_apt_update.sh (issue #16, must show 3): an idle machine
# right after a real `apt-get update` is recommended `default`.  The bug was
# that apt's few outgoing TIME_WAIT sockets made recommend say reverse-proxy,
# and minutes later default.
#
# apt must reach the Debian mirror, so this scenario stays in the host's
# network namespace and only reads it (recommend and check --no-state write
# nothing).  It runs in a private mount namespace with a tmpfs over what
# apt-get update writes (/var/lib/apt/lists, /var/cache/apt), so the host's
# package lists are not touched.  Right after the update, while apt's
# connections are in TIME_WAIT (60 s), recommend (one snapshot and
# --samples 3) and check must say default, and the evidence must count at
# least the TIME_WAIT towards the mirror's port that ss shows.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds apt-get ss jq awk
if [ -z "${TT_APT_INNER:-}" ]; then
	export TT_APT_INNER=1
	exec unshare --mount --propagation private -- bash "$TT_SCRIPT" "$@"
	fail "cannot execute unshare"
fi
for d in /var/lib/apt/lists /var/cache/apt; do
	[ -d "$d" ] || mkdir -p "$d" || fail "cannot create $d"
	mount -t tmpfs -o size=512m,mode=0755 tcptune-test "$d" || fail "cannot mount a tmpfs on $d"
done
mkdir -p /var/lib/apt/lists/partial /var/cache/apt/archives/partial || fail "cannot prepare apt's directories"
need_scratch
TCPTUNE_STATE_DIR=$W/state
export TCPTUNE_STATE_DIR

# The mirrors apt uses, as host:port (port 80 for http, 443 for https).
ports=$(apt-get indextargets --format '$(URI)' 2>/dev/null | sed -n 's|^https://.*|443|p; s|^http://.*|80|p' | sort -u)
[ -n "$ports" ] || ports="80 443"

if ! run_bounded "$TT_HANG" apt-get update -o Acquire::Retries=3 >"$W/apt.log" 2>&1 ||
	grep -q '^\(Err\|W: Failed\)' "$W/apt.log"; then
	skip "apt-get update cannot reach the Debian mirror here: $(grep -m1 '^\(Err\|E:\|W:\)' "$W/apt.log")"
fi
fetched=$(grep -m1 '^Fetched' "$W/apt.log")

# TIME_WAIT towards the mirror's ports, as ss counts them.
tw_mirror() {
	local n=0 p
	for p in $ports; do
		n=$((n + $(ss -Htan state time-wait "( dport = :$p )" | wc -l)))
	done
	echo "$n"
}
n_before=$(tw_mirror)
# apt closes its connections first (its TIME_WAIT are on this side, seen in
# every run here: 4 to 6).  Without one, an empty census would pass too.
[ "$n_before" -ge 1 ] || fail "apt-get update left no TIME_WAIT towards the mirror here: nothing to weigh"
rec=$(run_bounded "$TT_HANG" "$BIN" recommend --format json 2>"$W/rec.err") || fail "recommend failed: $(cat "$W/rec.err")"
rec3=$(run_bounded "$TT_HANG" "$BIN" recommend --samples 3 --interval 1 --format json 2>"$W/rec.err") ||
	fail "recommend --samples 3 failed: $(cat "$W/rec.err")"
chk=$(run_bounded "$TT_HANG" "$BIN" check --no-state --format json 2>"$W/chk.err") || [ $? -le 2 ] ||
	fail "check failed: $(cat "$W/chk.err")"
n_after=$(tw_mirror)

prof=$(echo "$rec" | jq -r .profile)
[ "$prof" = default ] || fail "after apt-get update recommend says '$prof': $(echo "$rec" | jq -r .reason)"
[ "$(echo "$rec3" | jq -r .profile)" = default ] ||
	fail "after apt-get update recommend --samples 3 says '$(echo "$rec3" | jq -r .profile)': $(echo "$rec3" | jq -r .reason)"
[ "$(echo "$chk" | jq -r .recommendation.profile)" = default ] ||
	fail "after apt-get update check recommends '$(echo "$chk" | jq -r .recommendation.profile)'"
# The census saw apt's TIME_WAIT: at least what ss still showed after recommend
# ran (they only expire, apt made no new ones).
out=$(echo "$rec" | jq -r .evidence | sed -n 's/.*timewait\.outgoing=\([0-9]*\).*/\1/p')
[ -n "$out" ] || fail "the evidence lacks timewait.outgoing: $(echo "$rec" | jq -r .evidence)"
[ "$n_after" -ge 1 ] && [ "$out" -ge "$n_after" ] ||
	fail "recommend counted $out outgoing TIME_WAIT, ss shows $n_after towards the mirror (port $(echo $ports | tr " " /))"
echo "ok: apt-get update ($fetched); $n_before TIME_WAIT towards the mirror (port $(echo $ports | tr " " /)); recommend: default," \
	"confidence $(echo "$rec" | jq -r .confidence) ($(echo "$rec" | jq -r .confidence_reason));" \
	"--samples 3: default, confidence $(echo "$rec3" | jq -r .confidence); check: default"
