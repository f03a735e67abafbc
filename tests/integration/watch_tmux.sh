#!/bin/bash
# watch_tmux.sh: `tcptune watch` driven in tmux at 80x24, as a person would.
#  1. It starts and shows the TCP states (the ESTAB and LISTEN rows hold
#     what `ss -tan` counts) and "CLOSE_WAIT: 0 sockets".
#  2. While it runs, the test starts a process (cwleak, named leakd) that
#     leaks CLOSE_WAIT sockets: a holder row with its pid and name appears,
#     then a positive growth per minute.
#  3. p pauses: the clock in the header stops and PAUSED shows; p resumes.
#  4. s sorts by growth, ? shows the help.
#  5. q quits with exit 0 and the terminal is as before: the alternate
#     screen left, the cursor shown, `stty -g` the same.
#  6. The same after SIGTERM, and at 60x20 after a resize nothing is wider
#     than the pane.
#  7. --netns /proc/PID/ns/net watches that namespace (empty), not this one.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds tmux ss
enter_netns --tmpfs /tmp -- "$@"

need_bin
LEAK=$TT_ROOT/build/tools/cwleak
[ -x "$BIN" ] && [ -x "$LEAK" ] || fail "build first: make build/tcptune build/tools/cwleak"
W=/tmp
T=()
SERVERS=0
trap 'for n in $(seq "$SERVERS"); do tmux -L "tcptune-watch-test-$n" kill-server 2>/dev/null; done; tt_cleanup' EXIT

# start_watch [ARGS]: a pane running watch [ARGS] between two `stty -g`, its pid in $W/pid.
start_watch() {
	rm -f "$W/pid" "$W/before" "$W/after" "$W/rc"
	[ "${#T[@]}" = 0 ] || "${T[@]}" kill-server 2>/dev/null
	# A server of its own each time: a new session must not meet the last
	# server while it shuts down.
	SERVERS=$((SERVERS + 1))
	T=(tmux -L "tcptune-watch-test-$SERVERS" -f /dev/null)
	"${T[@]}" new-session -d -x 80 -y 24 \
		"stty -g >$W/before; sh -c 'echo \$\$ >$W/pid; exec $BIN ${1:-} watch'; echo \$? >$W/rc; stty -g >$W/after; sleep $TT_HANG" ||
		fail "cannot start tmux"
	wait_for_file "$W/pid" "$TT_HANG" || fail "watch did not start"
	WPID=$(cat "$W/pid")
}
screen() {
	"${T[@]}" capture-pane -p >"$W/screen" || fail "cannot capture the pane"
}
shows() {	# shows ERE: the pane has a line matching it
	screen
	grep -Eq "$1" "$W/screen"
}
# restored: watch has exited, with status 0, and the terminal is as before.
restored() {
	wait_for_file "$W/after" "$TT_HANG" || fail "watch did not exit ($1); screen: $(cat "$W/screen")"
	[ "$(cat "$W/rc")" = 0 ] || fail "watch exited $(cat "$W/rc") after $1"
	cmp -s "$W/before" "$W/after" || fail "terminal modes not restored after $1: $(cat "$W/before") -> $(cat "$W/after")"
	[ "$("${T[@]}" display -p '#{alternate_on}')" = 0 ] || fail "still on the alternate screen after $1"
	[ "$("${T[@]}" display -p '#{cursor_flag}')" = 1 ] || fail "cursor hidden after $1"
}

# 1. States.
start_watch
wait_until "$TT_HANG" shows '^CLOSE_WAIT: 0 sockets' || fail "no CLOSE_WAIT line: $(cat "$W/screen")"
grep -Eq "^  LISTEN .* $(ss -Htan state listening | wc -l)( |$)" "$W/screen" || fail "LISTEN row: $(grep LISTEN "$W/screen")"
grep -q '^TCP states, last 5 min' "$W/screen" || fail "no states: $(cat "$W/screen")"
# Columns, not bytes: the sparkline may use UTF-8 block characters.
width() { LC_ALL=C.UTF-8 wc -L <"$W/screen"; }
[ "$(width)" -le 80 ] || fail "a line is wider than 80"

# 2. A holder appears while watch runs.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
start_bg "$LEAK" --rate 20 --duration 300 --name leakd --ready "$W/ready"
LEAKER=$TT_LAST_PID
wait_for_file "$W/ready" "$TT_HANG" "$LEAKER" || fail "the leaker did not start"
pid=$(sed -n 's/^leaker_pid=//p' "$W/ready")
wait_until "$TT_HANG" shows "^ +$pid +leakd +[0-9]+ " || fail "no holder row for leakd ($pid): $(cat "$W/screen")"
wait_until "$TT_HANG" shows "^ +$pid +leakd +[0-9]+ +\+[1-9][0-9]*$" ||
	fail "no positive growth for leakd: $(grep leakd "$W/screen")"
held=$(ss -Htanp state close-wait | grep -c "pid=$pid,")
[ "$held" -gt 0 ] || fail "ss shows no CLOSE_WAIT held by $pid"
echo "  holder leakd ($pid) shown, growing; ss shows $held CLOSE_WAIT held by it"

# 3. Pause: the header's clock stops.
"${T[@]}" send-keys p
wait_until "$TT_HANG" shows 'PAUSED' || fail "p did not pause: $(head -n 1 "$W/screen")"
first=$(head -n 1 "$W/screen")
sleep 2
screen
[ "$(head -n 1 "$W/screen")" = "$first" ] || fail "the view changed while paused: '$first' -> '$(head -n 1 "$W/screen")'"
"${T[@]}" send-keys p
wait_until "$TT_HANG" eval '! shows PAUSED' || fail "p did not resume"

# 4. Sort and help.
"${T[@]}" send-keys s
wait_until "$TT_HANG" shows 'sort holders \(by growth\)' || fail "s did not sort by growth: $(tail -n 1 "$W/screen")"
"${T[@]}" send-keys '?'
wait_until "$TT_HANG" shows '^  q   quit' || fail "? showed no help"
"${T[@]}" send-keys x

# 6a. Resize to 60x20: nothing wider than the pane, the key line still last.
"${T[@]}" resize-window -x 60 -y 20 2>/dev/null || "${T[@]}" resize-pane -x 60 -y 20
wait_until "$TT_HANG" shows '^ q quit' || fail "no key line after the resize"
[ "$(width)" -le 60 ] || fail "lines wider than 60 after the resize: $(cat "$W/screen")"

# 5. q quits and restores the terminal.
"${T[@]}" send-keys q
restored "q"
echo "  q: exit 0, terminal restored"

# 6b. SIGTERM does the same.
start_watch
wait_until "$TT_HANG" shows '^TCP states' || fail "watch did not draw"
# The pid the pane's sh wrote and exec'd into tcptune (or valgrind running it).
tr '\0' ' ' <"/proc/$WPID/cmdline" | grep -q ' watch' || fail "pid $WPID is not tcptune watch"
kill -TERM "$WPID"
restored "SIGTERM"

# 7. --netns: a namespace of its own, with no socket, while this one has the leaker's.
start_bg unshare --net sleep "$TT_HANG"
NS=$TT_LAST_PID
wait_until "$TT_HANG" eval '[ "$(stat -L -c %i /proc/$NS/ns/net 2>/dev/null)" != "$(stat -L -c %i /proc/self/ns/net)" ]' ||
	fail "the inner namespace did not appear"
start_watch "--netns /proc/$NS/ns/net"
wait_until "$TT_HANG" shows '^CLOSE_WAIT: 0 sockets' || fail "--netns: $(cat "$W/screen")"
grep -q "netns /proc/$NS/ns/net" "$W/screen" || fail "--netns: the header does not name the namespace: $(head -n 1 "$W/screen")"
[ "$(ss -Htan state close-wait | wc -l)" -gt 0 ] || fail "this namespace lost its CLOSE_WAIT sockets"
"${T[@]}" send-keys q
restored "q under --netns"
echo "  --netns: the other namespace's (empty) view, not this one's"
echo "ok: watch shows states and a growing CLOSE_WAIT holder, pauses, sorts, quits with q and on SIGTERM, terminal restored"
