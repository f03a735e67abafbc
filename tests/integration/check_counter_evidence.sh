#!/bin/bash
# check_counter_evidence.sh: a counter since boot warns only with evidence
# that it rises now (README "Evidence: rates, the previous check, history").
# In its own network namespace, with a tmpfs over /var/lib (where root's
# check keeps its state, /var/lib/tcptune/check/netns-<inode>.state):
#   1. a burst of ListenOverflows (a listener with backlog 1 that never
#      accepts, a bounded number of connects); the first check has no
#      previous check: listen-overflow-history (info), no warning, and it
#      writes the state file (mode 0600, this boot's boot_id);
#   2. a second check with no new burst: still no warning, the history
#      finding says "no increase since", delta.tcpext.ListenOverflows is 0;
#   3. a new burst between two checks: the listen-overflow warning, exit 1,
#      with "+N since the previous check", N as /proc/net/netstat counts it;
#   4. a state file of another boot_id is ignored with a note (no delta);
#   5. a corrupt state file, an oversized one and a symlink are ignored with
#      a note and no crash, and the symlink's target is never written;
#   6. --no-state compares but leaves the file as it was;
#   7. an unprivileged user's state goes to $XDG_STATE_HOME/tcptune.
# The expected counts come from /proc/net/netstat, read by awk.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq python3 setpriv
enter_netns --tmpfs /tmp --tmpfs /var/lib -- "$@"

need_bin
# This scenario is about the default place: root's is beside the store.
unset TCPTUNE_STATE_DIR
STATE=/var/lib/tcptune/check/netns-$(stat -L -c %i /proc/self/ns/net).state
PORT=$(free_port 40000 40100)

# The kernel's count: ListenOverflows in /proc/net/netstat's TcpExt lines.
overflows() {
	awk '/^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1 }
		else for (i = 2; i <= NF; i++) if (n[i] == "ListenOverflows") print $i }' /proc/net/netstat
}

# burst: a listener with backlog 1 that never accepts, and 8 connects to it:
# the third and later find the accept queue full and their SYNs are dropped
# (tcp_conn_request(), docs/KERNEL.md §6.3).  Waits (bounded) until the
# counter rose, then closes everything and waits until no handshake is left
# that could still count.
burst() {
	local before=$1 pid
	python3 - "$PORT" >/tmp/burst.out 2>&1 <<'EOF' &
import socket, sys, time
port = int(sys.argv[1])
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port))
l.listen(1)
cs = []
for _ in range(8):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    cs.append(c)
print("connected", flush=True)
time.sleep(300)	# killed by the test once the counter rose
EOF
	pid=$!
	TT_PIDS="$TT_PIDS $pid"
	rose() { [ "$(overflows)" -gt "$before" ]; }
	wait_until "$TT_HANG" rose || fail "ListenOverflows did not rise within $TT_HANG s: $(cat /tmp/burst.out)"
	stop_pid "$pid" 5
	settled() { [ "$(ss -Htan state syn-recv state syn-sent | wc -l)" = 0 ]; }
	wait_until "$TT_HANG" settled || fail "handshakes left after the burst: $(ss -tan)"
}

check_json() {	# check_json OUT ARGS...: exit code in $RC, stderr in OUT.err
	local out=$1
	shift
	run_bounded "$TT_HANG" "$BIN" check --format json "$@" >"$out" 2>"$out.err"
	RC=$?
	jq -e .findings "$out" >/dev/null 2>&1 || fail "check $* gave no JSON (exit $RC): $(head -c 800 "$out.err")"
}
ids() { jq -r '[.findings[] | select(.ignored | not) | .id] | join(" ")' "$1"; }
has() { case " $(ids "$1") " in *" $2 "*) return 0 ;; esac; return 1; }
ev() { jq -r --arg id "$2" '.findings[] | select(.id == $id) | .evidence["evidence.tcpext.ListenOverflows"]' "$1"; }

# ---- 1. a burst, then the first check: history, not a warning -----------------------
[ "$(overflows)" = 0 ] || fail "a new namespace starts with ListenOverflows $(overflows)"
burst 0
N1=$(overflows)
check_json /tmp/c1.json
[ "$(jq '.facts["tcpext.ListenOverflows"]' /tmp/c1.json)" = "$N1" ] ||
	fail "check read ListenOverflows $(jq '.facts["tcpext.ListenOverflows"]' /tmp/c1.json), netstat says $N1"
has /tmp/c1.json listen-overflow && fail "first check warns on a total since boot with no previous check: $(ids /tmp/c1.json)"
has /tmp/c1.json listen-overflow-history || fail "first check: no listen-overflow-history: $(ids /tmp/c1.json)"
# This namespace's counters started when it was created, not at boot (docs/KERNEL.md §16.1).
[ "$(jq -r '.facts["counters.since"]' /tmp/c1.json)" = "this network namespace was created" ] ||
	fail "counters.since in a new namespace: $(jq -r '.facts["counters.since"]' /tmp/c1.json)"
[[ "$(ev /tmp/c1.json listen-overflow-history)" == "$N1 since this network namespace was created, no earlier check to compare" ]] ||
	fail "first check's evidence: $(ev /tmp/c1.json listen-overflow-history)"
up=$(awk '{ printf "%d", $1 }' /proc/uptime)
got=$(jq '.facts["uptime.seconds"]' /tmp/c1.json)
[ "$got" -le "$up" ] && [ "$got" -ge $((up - TT_HANG)) ] || fail "uptime.seconds $got, /proc/uptime says $up"
[ "$(jq '.facts["delta.seconds"]' /tmp/c1.json)" = null ] || fail "delta.seconds without a previous check"
[ -f "$STATE" ] && [ ! -L "$STATE" ] || fail "first check wrote no $STATE: $(ls -la /var/lib/tcptune/check 2>&1)"
[ "$(stat -c %a "$STATE")" = 600 ] || fail "$STATE has mode $(stat -c %a "$STATE")"
[ "$(stat -c %a /var/lib/tcptune/check)" = 700 ] || fail "state directory mode $(stat -c %a /var/lib/tcptune/check)"
grep -qx "boot_id $(cat /proc/sys/kernel/random/boot_id)" "$STATE" || fail "state lacks this boot's boot_id: $(cat "$STATE")"
grep -qx "counter ListenOverflows $N1 [0-9]*" "$STATE" || fail "state lacks ListenOverflows $N1: $(cat "$STATE")"

# ---- 2. no new burst: history only --------------------------------------------------
check_json /tmp/c2.json
[ "$(overflows)" = "$N1" ] || fail "ListenOverflows moved without a burst ($N1 -> $(overflows))"
has /tmp/c2.json listen-overflow && fail "second check without a new burst warns: $(ids /tmp/c2.json)"
has /tmp/c2.json listen-overflow-history || fail "second check: no listen-overflow-history"
[ "$(jq '.facts["delta.tcpext.ListenOverflows"]' /tmp/c2.json)" = 0 ] || fail "delta.tcpext.ListenOverflows is not 0"
[ "$(jq '.facts["delta.seconds"] >= 0' /tmp/c2.json)" = true ] || fail "no delta.seconds after a previous check"
[[ "$(ev /tmp/c2.json listen-overflow-history)" == "$N1 since this network namespace was created, no increase since "[0-9][0-9]:[0-9][0-9] ]] ||
	fail "second check's evidence: $(ev /tmp/c2.json listen-overflow-history)"
# --wide: one line per finding, so that a title is matched whole.
text=$(run_bounded "$TT_HANG" "$BIN" check --no-state --wide)
echo "$text" | grep -Eq "^WARNING +Listen queues" && fail "text report warns on the old burst"
echo "$text" | grep -Eq "^INFO +Listen queues dropped connections since this network namespace was created, with no sign that they still do" ||
	fail "text report lacks the history finding"

# ---- 3. a new burst between two checks: the warning -----------------------------------
burst "$N1"
N2=$(overflows)
check_json /tmp/c3.json
[ "$RC" = 1 ] || [ "$RC" = 2 ] || fail "check after a new burst exited $RC, want 1 or 2"
has /tmp/c3.json listen-overflow || fail "no listen-overflow warning after a new burst: $(ids /tmp/c3.json)"
has /tmp/c3.json listen-overflow-history && fail "history fires together with the warning"
[ "$(jq '.facts["delta.tcpext.ListenOverflows"]' /tmp/c3.json)" = $((N2 - N1)) ] ||
	fail "delta $(jq '.facts["delta.tcpext.ListenOverflows"]' /tmp/c3.json), netstat rose by $((N2 - N1))"
[[ "$(ev /tmp/c3.json listen-overflow)" == "+$((N2 - N1)) since the previous check "*" ago" ]] ||
	fail "warning's evidence: $(ev /tmp/c3.json listen-overflow)"
[ "$(jq -r .status /tmp/c3.json)" = warning ] || fail "status $(jq -r .status /tmp/c3.json)"
# And the next check, with nothing new, is back to history.
check_json /tmp/c3b.json
has /tmp/c3b.json listen-overflow && fail "the warning stays after the burst stopped"

# ---- 4. a state file from another boot --------------------------------------------
sed -i -E 's/^boot_id .*/boot_id 00000000-0000-4000-8000-000000000000/' "$STATE"
sed -i -E "s/^counter ListenOverflows [0-9]+/counter ListenOverflows 0/" "$STATE"
check_json /tmp/c4.json
has /tmp/c4.json listen-overflow && fail "a state file of another boot gave a warning"
[ "$(jq '.facts["delta.tcpext.ListenOverflows"]' /tmp/c4.json)" = null ] || fail "delta from another boot's state"
jq -e '[.notes[] | select(.source == "evidence" and (.text | test("ignored: it is from an earlier boot")))] | length == 1' \
	/tmp/c4.json >/dev/null || fail "no note on the other boot's state: $(jq -c .notes /tmp/c4.json)"
grep -qx "boot_id $(cat /proc/sys/kernel/random/boot_id)" "$STATE" || fail "the state was not rewritten for this boot"

# ---- 5. corrupt, oversized, a symlink ----------------------------------------------
printf 'garbage\n\001\002' >"$STATE"
check_json /tmp/c5.json
[ "$RC" -le 2 ] || fail "a corrupt state file made check exit $RC: $(cat /tmp/c5.json.err)"
jq -e '[.notes[] | select(.source == "evidence" and (.text | test("ignored: malformed at line 1$")))] | length == 1' \
	/tmp/c5.json >/dev/null || fail "no note on the corrupt state: $(jq -c .notes /tmp/c5.json)"
head -c 20000 /dev/zero | tr '\0' 'x' >"$STATE"
check_json /tmp/c5b.json
jq -e '[.notes[].text | select(test("ignored: larger than 8192 bytes"))] | length == 1' /tmp/c5b.json >/dev/null ||
	fail "no note on the oversized state: $(jq -c .notes /tmp/c5b.json)"
echo "not tcptune's" >/tmp/target
rm -f "$STATE" && ln -s /tmp/target "$STATE"
check_json /tmp/c5c.json
jq -e '[.notes[].text | select(test("ignored: a symlink"))] | length == 1' /tmp/c5c.json >/dev/null ||
	fail "no note on the symlinked state: $(jq -c .notes /tmp/c5c.json)"
[ "$(cat /tmp/target)" = "not tcptune's" ] || fail "check wrote through a symlink"
[ -f "$STATE" ] && [ ! -L "$STATE" ] || fail "the symlink was not replaced by a state file"
[ -z "$(find /var/lib/tcptune/check -name '.*tmp*')" ] || fail "temporary files left: $(ls -a /var/lib/tcptune/check)"

# ---- 6. --no-state ------------------------------------------------------------------
sum=$(md5sum <"$STATE")
check_json /tmp/c6.json --no-state
[ "$(md5sum <"$STATE")" = "$sum" ] || fail "--no-state changed the state file"
[ "$(jq '.facts["delta.seconds"] != null' /tmp/c6.json)" = true ] || fail "--no-state did not read the previous check"

# ---- 7. an unprivileged user's place ----------------------------------------------
mkdir -m 0700 /tmp/home && chown 65534:65534 /tmp/home || fail "cannot make a home for uid 65534"
for i in 1 2; do
	env -u TCPTUNE_STATE_DIR HOME=/tmp/home XDG_STATE_HOME=/tmp/home/xdg \
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
		"$BIN" check --format json >/tmp/c7.json 2>/tmp/c7.err || [ $? -le 2 ] || fail "unprivileged check failed: $(cat /tmp/c7.err)"
done
f=$(ls /tmp/home/xdg/tcptune/netns-*.state 2>/dev/null)
[ -n "$f" ] || fail "no unprivileged state under \$XDG_STATE_HOME/tcptune: $(find /tmp/home)"
[ "$(stat -c '%u %a' "$f")" = "65534 600" ] || fail "unprivileged state $(stat -c '%u %a' "$f")"
[ "$(jq '.facts["delta.tcpext.ListenOverflows"]' /tmp/c7.json)" = 0 ] || fail "the unprivileged second check had no delta"
[ -s /tmp/c7.err ] && fail "unprivileged check wrote to stderr: $(cat /tmp/c7.err)"

echo "PASS: ListenOverflows $N1 then $N2: history on the first and an unchanged check, the warning with +$((N2 - N1)) after a new burst; other boot, corrupt, oversized and symlinked state ignored with notes; --no-state; user state"
exit 0
