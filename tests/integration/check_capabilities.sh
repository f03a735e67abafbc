#!/bin/bash
# Least privilege: run as root, check keeps only CAP_DAC_READ_SEARCH and
# CAP_SYS_PTRACE (what attributing other users' sockets through /proc
# needs) and CAP_BPF and CAP_PERFMON (through the BPF iterator), plus
# CAP_DAC_OVERRIDE with --output; unprivileged it has none.  Attribution still
# works after the drop (the holder runs as another user), and through /proc
# when CAP_BPF and CAP_PERFMON are out of the bounding set.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq setpriv strace
enter_netns --tmpfs /tmp -- "$@"
need_bin
GEN=$TT_ROOT/build/tools/sockscen
[ -x "$BIN" ] && [ -x "$GEN" ] || fail "build first"

capeff() { "$@" 2>&1 >/dev/null | sed -n 's/^tcptune: CapEff //p'; }
# CAP_DAC_OVERRIDE = 1, CAP_DAC_READ_SEARCH = 2, CAP_SYS_PTRACE = 19,
# CAP_PERFMON = 38, CAP_BPF = 39 (linux/capability.h)
[ "$(capeff "$BIN" check --debug-print-capeff --format json)" = 000000c000080004 ] ||
	fail "check as root keeps $(capeff "$BIN" check --debug-print-capeff --format json), want 000000c000080004"
[ "$(capeff "$BIN" check --debug-print-capeff --format prometheus --output /tmp/t.prom)" = 000000c000080006 ] ||
	fail "check --output keeps the wrong set"
[ -s /tmp/t.prom ] || fail "--output wrote nothing"
[ "$(capeff setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$BIN" check --debug-print-capeff \
	--format json)" = 0000000000000000 ] || fail "unprivileged check has capabilities"

start_bg "$GEN" --ready /tmp/ready --tw-out 10 --tw-out2 5 \
	--tw-in 5 --tw6 5 --close-wait 30 --close-wait-unread 3 --estab 2 --timeout 600
wait_for_file /tmp/ready "$TT_HANG" "$TT_LAST_PID" || fail "scenario did not start"
pid=$(sed -n 's/^holder_pid=//p' /tmp/ready)
# As root (the BPF iterator), and without CAP_BPF and CAP_PERFMON (/proc).
for way in bpf proc; do
	if [ "$way" = bpf ]; then
		json=$("$BIN" -v check --format json 2>/tmp/check.err)
	else
		json=$(setpriv --bounding-set=-bpf,-perfmon --inh-caps=-bpf,-perfmon "$BIN" -v check --format json 2>/tmp/check.err)
	fi
	[ "$(echo "$json" | jq '.closewait.unattributed')" = 0 ] || fail "$way: sockets unattributed after the drop"
	echo "$json" | jq -e --argjson pid "$pid" '.closewait.processes[] | select(.pid == $pid and .count == 30)' >/dev/null ||
		fail "$way: holder $pid not attributed: $(echo "$json" | jq -c .closewait)"
	case $way in
	bpf) grep -q 'socket owners: BPF task iterator' /tmp/check.err ||
		fail "as root, check did not use the BPF iterator: $(grep 'socket owners' /tmp/check.err)" ;;
	proc) grep -q 'BPF iterator not used (loading it needs CAP_BPF and CAP_PERFMON)' /tmp/check.err ||
		fail "without CAP_BPF, check did not say why it read /proc: $(grep 'socket owners' /tmp/check.err)" ;;
	esac
done

# The verbs that only read keep the same two (the capset(2) they make).
readers=0
for verb in "diff web-server" "apply --dry-run web-server" recommend profiles "show web-server" \
	"explain net.ipv4.tcp_fin_timeout" history; do
	# shellcheck disable=SC2086	# the verb and its arguments are words
	strace -f -qq -e trace=capset -o /tmp/capset "$BIN" $verb >/dev/null 2>&1
	grep -q 'capset(.*effective=1<<CAP_DAC_READ_SEARCH|1<<CAP_SYS_PTRACE, permitted=1<<CAP_DAC_READ_SEARCH|1<<CAP_SYS_PTRACE, inheritable=0}) = 0' /tmp/capset ||
		fail "'$verb' does not drop to CAP_DAC_READ_SEARCH+CAP_SYS_PTRACE: $(cat /tmp/capset)"
	readers=$((readers + 1))
done
echo "ok: check keeps CapEff c000080004 (c000080006 with --output), 0 unprivileged; CLOSE_WAIT still attributed after the drop, through BPF and, without CAP_BPF, through /proc; $readers read-only verbs drop to CAP_DAC_READ_SEARCH+CAP_SYS_PTRACE"
