#!/bin/bash
# contrib_ansible_fleet.sh: contrib/ansible/audit.yml, run by the real
# ansible-playbook over an inventory of four hosts made locally (local
# connection, each host audited through its own per-host options):
#   web1  a network namespace of its own, kernel defaults       -> ok
#   web2  a network namespace with tcp_timestamps 0             -> warning
#         (timestamps-disabled)
#   db1   --root on the 4.9 tree of tests/fixtures/roots/old-kernel, with
#         tcp_tw_recycle 1                                       -> critical
#         (tw-recycle-enabled)
#   gone1 --root on a tree that does not exist                   -> unknown
# The play prints the fleet summary (hosts per status and per finding,
# worst first), writes the combined JSON, and fails (exit 2) because db1 is
# critical: the recap fails db1 alone, with its critical finding.  Without db1 it passes (exit 0): a warning or a
# host that could not be checked is reported, not failed.  Each host's entry
# in the combined JSON is that host's own `tcptune check --format json`.
# Runs in private network and mount namespaces; ansible's files in /tmp.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds ansible-playbook jq timeout awk
enter_netns --tmpfs /tmp -- "$@"

TCPTUNE=$TT_ROOT/build/tcptune
PLAYS=$TT_ROOT/contrib/ansible
FX=$TT_ROOT/tests/fixtures/roots/old-kernel
W=/tmp
[ -x "$TCPTUNE" ] || fail "missing $TCPTUNE (make build/tcptune)"
[ -d "$FX/proc" ] || fail "missing the fixture $FX"
mkdir -p "$W/home" "$W/ansible-local" "$W/ansible-remote" || fail "mkdir"
: >"$W/ansible.cfg"
export HOME=$W/home ANSIBLE_CONFIG=$W/ansible.cfg ANSIBLE_LOCAL_TEMP=$W/ansible-local \
	ANSIBLE_REMOTE_TEMP=$W/ansible-remote ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 \
	ANSIBLE_PYTHON_INTERPRETER=auto_silent ANSIBLE_RETRY_FILES_ENABLED=0 \
	ANSIBLE_COLLECTIONS_PATH=$W/home/collections
unset ANSIBLE_INVENTORY ANSIBLE_STDOUT_CALLBACK

# Two network namespaces, each held by a sleeping process (killed on exit).
start_bg unshare --net -- sleep "$TT_HANG"
WEB1=$TT_LAST_PID
start_bg unshare --net -- sleep "$TT_HANG"
WEB2=$TT_LAST_PID
netns_ready() { [ "$(stat -L -c %i "/proc/$1/ns/net" 2>/dev/null)" != "$(stat -L -c %i /proc/self/ns/net)" ]; }
wait_until "$TT_HANG" netns_ready "$WEB1" && wait_until "$TT_HANG" netns_ready "$WEB2" ||
	fail "the hosts' network namespaces did not appear"
nsenter --net="/proc/$WEB2/ns/net" sh -c 'echo 0 >/proc/sys/net/ipv4/tcp_timestamps' ||
	fail "cannot set tcp_timestamps in web2's namespace"
[ "$(nsenter --net="/proc/$WEB2/ns/net" cat /proc/sys/net/ipv4/tcp_timestamps)" = 0 ] ||
	fail "tcp_timestamps is not 0 in web2's namespace"
[ "$(nsenter --net="/proc/$WEB1/ns/net" cat /proc/sys/net/ipv4/tcp_timestamps)" = 1 ] ||
	fail "tcp_timestamps is not 1 in web1's namespace"
[ "$(cat "$FX/proc/sys/net/ipv4/tcp_tw_recycle")" = 1 ] || fail "the fixture's tcp_tw_recycle is not 1"

inventory() {	# HOST...: an inventory of those hosts
	echo "[fleet]"
	for h in "$@"; do
		case $h in
		web1) echo "web1 tcptune_check_args='[\"--netns\", \"/proc/$WEB1/ns/net\"]'" ;;
		web2) echo "web2 tcptune_check_args='[\"--netns\", \"/proc/$WEB2/ns/net\"]'" ;;
		db1) echo "db1 tcptune_check_args='[\"--root\", \"$FX\"]'" ;;
		gone1) echo "gone1 tcptune_check_args='[\"--root\", \"$W/no-such-root\"]'" ;;
		esac
	done
	printf '[fleet:vars]\nansible_connection=local\nansible_python_interpreter=%s\n' "$(command -v python3)"
}

# play NAME HOST...: audit.yml over those hosts; sets PRC.
play() {
	local name=$1
	shift
	inventory "$@" >"$W/$name.ini"
	(cd "$W" && run_bounded $((2 * TT_HANG)) ansible-playbook -i "$W/$name.ini" "$PLAYS/audit.yml" \
		-e tcptune_bin="$TCPTUNE" -e tcptune_fleet_report="$W/$name.json") >"$W/$name.log" 2>&1
	PRC=$?
	[ "$PRC" != 124 ] || fail "$name: ansible-playbook hung: $(tail -n 20 "$W/$name.log")"
	! grep -q '^\[\(WARNING\|DEPRECATION WARNING\)\]' "$W/$name.log" ||
		fail "$name: ansible warned: $(grep -A3 '^\[\(WARNING\|DEPRECATION WARNING\)\]' "$W/$name.log" | head -n 20)"
}
# summary NAME: the summary lines the play printed.
summary() { sed -n '/TASK \[Fleet summary\]/,/^$/p' "$W/$1.log" | sed -n 's/^ *"\(.*\)",\{0,1\}$/\1/p'; }

# ---- the fleet with a critical host: summary, report, failure -------------------
play fleet web1 web2 db1 gone1
echo "ansible-playbook audit.yml over web1 web2 db1 gone1: exit $PRC; the summary:"
summary fleet | sed 's/^/    /'
[ "$PRC" = 2 ] || fail "fleet: ansible-playbook exited $PRC, expected 2 (a failed task: db1 is critical): $(tail -n 40 "$W/fleet.log")"
recap() { awk -v h="$2" '/^PLAY RECAP/ { r = 1; next } r && $1 == h { for (i = 3; i <= NF; i++) if ($i ~ /^failed=/) print substr($i, 8) }' "$W/$1.log"; }
[ "$(recap fleet db1)" = 1 ] && [ "$(recap fleet web1)" = 0 ] && [ "$(recap fleet web2)" = 0 ] &&
	[ "$(recap fleet gone1)" = 0 ] || fail "fleet: the recap does not fail db1 alone: $(sed -n '/^PLAY RECAP/,$p' "$W/fleet.log")"
grep -q '"msg": "db1 is critical: tw-recycle-enabled"' "$W/fleet.log" ||
	fail "fleet: db1's failure does not say why: $(grep -A3 'fatal:' "$W/fleet.log")"
S=$(summary fleet)
echo "$S" | grep -qx 'tcptune fleet audit: 4 hosts: 1 critical, 1 unknown, 1 warning, 1 ok' ||
	fail "fleet: summary head is '$(echo "$S" | head -n 1)'"
# hosts per status, worst first
[ "$(echo "$S" | sed -n '/^hosts per status/,/^hosts per finding/p' | awk 'NF == 3 { print $1 ":" $3 }' | paste -sd ' ')" = \
	"critical:db1 unknown:gone1 warning:web2 ok:web1" ] || fail "fleet: hosts per status: $S"
# hosts per finding, critical first; the two findings the setup makes
first=$(echo "$S" | sed -n '/^hosts per finding/{n;p}')
echo "$first" | grep -qE '^ +critical +tw-recycle-enabled +1 +db1$' || fail "fleet: first finding is '$first', not db1's tw-recycle-enabled"
echo "$S" | grep -qE '^ +warning +timestamps-disabled +1 +web2$' || fail "fleet: no timestamps-disabled on web2: $S"
echo "$S" | sed -n '/^hosts not checked/{n;p}' | grep -qE '^ +gone1: unknown: .*no-such-root' || fail "fleet: gone1's reason is not shown: $S"
# severities never increase down the finding list
echo "$S" | sed -n '/^hosts per finding/,$p' | awk 'NF >= 4 && $1 ~ /^(critical|warning|info)$/ { print $1 }' |
	awk '{ r = ($1 == "critical") ? 0 : ($1 == "warning") ? 1 : 2; if (r < last) bad = 1; last = r } END { exit bad }' ||
	fail "fleet: findings are not worst first: $S"

# The combined JSON: every host, each entry that host's own report.
R=$W/fleet.json
[ "$(stat -c %a "$R")" = 600 ] || fail "fleet: the report's mode is $(stat -c %a "$R"), not 600"
[ "$(jq -r '.hosts | keys | join(" ")' "$R")" = "db1 gone1 web1 web2" ] || fail "fleet: report hosts: $(jq -c '.hosts | keys' "$R")"
"$TCPTUNE" --root "$FX" check --format json >"$W/db1.direct" 2>/dev/null
"$TCPTUNE" --netns "/proc/$WEB2/ns/net" check --format json >"$W/web2.direct" 2>/dev/null
for h in db1 web2; do
	jq -e --slurpfile d "$W/$h.direct" --arg h "$h" \
		'.hosts[$h].report.findings == $d[0].findings and .hosts[$h].report.status == $d[0].status' "$R" >/dev/null ||
		fail "fleet: $h's report in the combined JSON is not its own check's"
done
jq -e '.hosts.gone1.report == null and .hosts.gone1.rc == 3 and .failed == ["db1"]' "$R" >/dev/null ||
	fail "fleet: gone1 or failed wrong in the report: $(jq -c '{g: .hosts.gone1 | del(.report), failed}' "$R")"
echo "combined JSON: $R, 4 hosts, db1 and web2 equal to their own check; failed: db1"

# ---- without the critical host: reported, not failed ---------------------------
play calm web1 web2 gone1
[ "$PRC" = 0 ] || fail "calm: ansible-playbook exited $PRC without a critical host: $(tail -n 30 "$W/calm.log")"
summary calm | grep -qx 'tcptune fleet audit: 3 hosts: 1 unknown, 1 warning, 1 ok' ||
	fail "calm: summary: $(summary calm)"
echo "without db1: exit 0; $(summary calm | head -n 1)"
echo "PASS: contrib_ansible_fleet"
