#!/bin/bash
# check as an unprivileged user (uid 65534, no capabilities) in a namespace
# with CLOSE_WAIT sockets owned by root: the census is complete and equals
# ss, and the report says that attribution needs CAP_DAC_READ_SEARCH and
# CAP_SYS_PTRACE instead of inventing owners.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds ss jq setpriv
enter_netns --tmpfs /tmp -- "$@"

need_bin
GEN=$TT_ROOT/build/tools/sockscen
[ -x "$BIN" ] && [ -x "$GEN" ] || fail "build first: make build/tcptune build/tools/sockscen"
ready=/tmp/ready
start_bg "$GEN" --ready "$ready" --tw-out 300 --tw-out2 100 --tw-in 50 --tw6 20 \
	--close-wait 120 --close-wait-unread 20 --estab 5 --timeout 600
gen=$TT_LAST_PID
wait_for_file "$ready" "$TT_HANG" "$gen" || fail "scenario generator did not get ready"

ss_cw=$(ss -tan state close-wait | tail -n +2 | wc -l)
ss_tw=$(ss -tan state time-wait | tail -n +2 | wc -l)
json=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
	"$BIN" check --format json 2>/tmp/err)
rc=$?
# Findings may give 1 or 2; 3 would mean the census failed.
[ "$rc" -le 2 ] || fail "exit code $rc, stderr: $(cat /tmp/err)"
echo "$json" | jq -e . >/dev/null || fail "output is not JSON"

cw=$(echo "$json" | jq '.sockets.states.close_wait')
tw=$(echo "$json" | jq '.sockets.states.time_wait')
src=$(echo "$json" | jq -r '.sources.sockets')
[ "$src" = netlink ] || fail "sockets source '$src', expected netlink (sock_diag needs no privilege)"
[ "$cw" = "$ss_cw" ] || fail "close_wait $cw, ss says $ss_cw"
[ "$tw" = "$ss_tw" ] || fail "time_wait $tw, ss says $ss_tw"
nproc=$(echo "$json" | jq '.closewait.processes | length')
unattr=$(echo "$json" | jq '.closewait.unattributed')
[ "$nproc" = 0 ] || fail "attributed $nproc processes without the privilege to see them"
[ "$unattr" = "$ss_cw" ] || fail "unattributed $unattr, expected all $ss_cw"
echo "$json" | jq -e '[.notes[].text | select(test("CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE"))] | length == 1' \
	>/dev/null || fail "no note naming CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE: $(echo "$json" | jq -c .notes)"

# The leak is still found: the sockets' owner uid (sock_diag's idiag_uid)
# stands in for the process that cannot be seen.
leak=$(echo "$json" | jq -c '.findings[] | select(.id == "close-wait-leak")')
[ -n "$leak" ] || fail "no close-wait-leak finding for $ss_cw unattributed CLOSE_WAIT sockets of uid 0"
echo "$leak" | jq -e --argjson n "$ss_cw" '.title | test("^\($n) CLOSE_WAIT sockets held by processes of uid 0 \\(root\\)$")' \
	>/dev/null || fail "close-wait-leak title: $(echo "$leak" | jq -r .title)"
[ "$(echo "$json" | jq '.facts["closewait.unattributed_top_uid"]')" = 0 ] || fail "unattributed_top_uid is not 0"
# The leak is a warning, so the check is not ok (issue #14: it was "Status: ok").
[ "$rc" = 1 ] || [ "$rc" = 2 ] || fail "unprivileged check of a leak exited $rc, want 1 or 2"
[ "$(echo "$json" | jq -r .status)" != ok ] || fail "status ok with $ss_cw leaked CLOSE_WAIT sockets"

# The text report says it too, and still shows the census.
text=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all "$BIN" check --wide)
echo "$text" | grep -q "CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE" || fail "text report does not name the capabilities"
echo "$text" | grep -Eq "^  CLOSE-WAIT +$ss_cw " || fail "text census lacks CLOSE-WAIT $ss_cw"
# The first line is the verdict (README, "Reading the text report").
echo "$text" | head -n 1 | grep -Eq "^(WARNING|CRITICAL): " || fail "text report's first line: $(echo "$text" | head -n 1)"

# As root the same sockets are attributed: the gap above is privilege, not a bug.
root_unattr=$("$BIN" check --format json | jq '.closewait.unattributed')
[ "$root_unattr" = 0 ] || fail "as root $root_unattr CLOSE_WAIT sockets unattributed"
echo "PASS: unprivileged census close_wait=$cw time_wait=$tw, $unattr unattributed with a capability note; root attributes all"
