#!/bin/bash
# check_keepalive_idle_ssh.sh: the idle-SSH host gets no keepalive finding
# (issue #14), live.  In its own network namespace, a real established
# connection sits idle with SO_KEEPALIVE, its own TCP_KEEPIDLE of 1 s so that
# the kernel really sends probes (TcpExt TCPKeepAlive > 0, as on a host with
# an SSH session idle for hours), tcp_keepalive_time at its 7200 s default
# and no idle timeout known for the path (an empty tcptune.yaml; conntrack,
# if loaded, at its 5-day established timeout):
#   - keepalive-too-long does not fire;
#   - the same host with idle_timeout: 350 declared does fire, naming the
#     probes the kernel counted (so the quiet case is not a broken rule).
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq python3 ss
enter_netns --tmpfs /tmp -- "$@"

need_bin
PORT=$(free_port 40200 40300)
keepalives() {
	awk '/^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1 }
		else for (i = 2; i <= NF; i++) if (n[i] == "TCPKeepAlive") print $i }' /proc/net/netstat
}
[ "$(cat /proc/sys/net/ipv4/tcp_keepalive_time)" = 7200 ] ||
	fail "tcp_keepalive_time is $(cat /proc/sys/net/ipv4/tcp_keepalive_time) in a new namespace, expected 7200"
before=$(keepalives)

# An "sshd" and its client: one connection, idle, keepalive on the client.
cat >/tmp/idle.py <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port))
l.listen(1)
c = socket.create_connection(("127.0.0.1", port))
s, _ = l.accept()
c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
open("/tmp/ready", "w").write("ready\n")
time.sleep(300)	# idle; stopped by the test
EOF
start_bg python3 /tmp/idle.py "$PORT"
wait_for_file /tmp/ready "$TT_HANG" "$TT_LAST_PID" || fail "the connection was not set up"
probed() { [ "$(keepalives)" -gt "$before" ]; }
wait_until "$TT_HANG" probed || fail "no keepalive probe counted within $TT_HANG s"
[ "$(ss -Htn state established "( dport = :$PORT )" | wc -l)" = 1 ] || fail "the idle connection is not established: $(ss -tan)"
ss -Htno state established "( dport = :$PORT )" | grep -q "timer:(keepalive" ||
	fail "ss shows no keepalive timer on the client: $(ss -tno state established)"

: >/tmp/empty.yaml
run_bounded "$TT_HANG" "$BIN" check --format json --config /tmp/empty.yaml >/tmp/quiet.json 2>/tmp/quiet.err
n=$(keepalives)
got=$(jq '.facts["tcpext.TCPKeepAlive"]' /tmp/quiet.json)
[ "$got" -gt "$before" ] && [ "$got" -le "$n" ] || fail "check read TCPKeepAlive $got, netstat says $before then $n"
jq -e '[.findings[] | select(.id == "keepalive-too-long")] | length == 0' /tmp/quiet.json >/dev/null ||
	fail "keepalive-too-long fires on an idle SSH-like host with no idle timeout known: $(jq -c '.findings[] | select(.id == "keepalive-too-long")' /tmp/quiet.json)"
idle=$(jq '.facts["path.idle_timeout"]' /tmp/quiet.json)
[ "$idle" = null ] || [ "$idle" -gt 7200 ] || fail "path.idle_timeout $idle on a host without a short idle timeout"

printf 'idle_timeout: 350\n' >/tmp/nat.yaml
run_bounded "$TT_HANG" "$BIN" check --format json --config /tmp/nat.yaml >/tmp/fires.json 2>/tmp/fires.err
jq -e '.findings[] | select(.id == "keepalive-too-long") | .title
	| test("7200 s, not shorter than the 350 s idle timeout of idle_timeout in tcptune.yaml \\(keepalive probes: (\\+[0-9]+ since the previous check|[0-9]+ since this network namespace was created)")' \
	/tmp/fires.json >/dev/null ||
	fail "with idle_timeout 350 declared: $(jq -c '[.findings[] | {id, title}]' /tmp/fires.json)"
echo "PASS: idle connection with $((n - before)) keepalive probes sent: no keepalive-too-long without an idle timeout; fires with 350 s declared"
exit 0
