# tests/integration/lib.sh: helpers for the integration scenarios (bash).
#
# A scenario starts with:
#
#	. "$(dirname "$0")/lib.sh"
#	need_root
#	need_cmds ss jq
#	enter_netns --tmpfs /tmp -- "$@"
#
# enter_netns re-executes the script inside its own network and mount
# namespaces (unshare --net --mount --propagation private), brings lo up and
# mounts a tmpfs over each --tmpfs directory, so nothing the scenario does can
# reach the host's sockets, sysctls or files.  Exit codes follow Automake:
# 0 pass, 1 fail, 77 skip.  Background processes go through start_bg and are
# killed, by PID, when the script exits; long commands go through run_bounded.

TT_SCRIPT=$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")
TT_ROOT=$(cd "$(dirname "$TT_SCRIPT")/../.." && pwd -P)
TT_PIDS=""
TT_LAST_PID=""

# Print "SKIP: ..." and exit 77.
skip() {
	echo "SKIP: $(basename "$TT_SCRIPT"): $*" >&2
	exit 77
}

# Print "FAIL: ..." and exit 1.
fail() {
	echo "FAIL: $(basename "$TT_SCRIPT"): $*" >&2
	exit 1
}

# Skip unless each named command exists.
need_cmds() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs the '$c' command"
	done
}

# Skip unless we are root and may create network + mount namespaces.
need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (uid 0) to create a network namespace"
	need_cmds unshare ip mount stat
	[ -n "${TT_NETNS_OUTER:-}" ] && return 0	# already re-executed inside
	unshare --net --mount --propagation private true 2>/dev/null ||
		skip "needs 'unshare --net --mount' to work (CAP_SYS_ADMIN; namespaces may be forbidden in this container)"
}

# Inode of the host's network namespace: PID 1's, or kthreadd's (PID 2, always
# in the initial netns) when PID 1's link is not readable.  Empty if unknown.
tt_host_netns() {
	stat -L -c %i /proc/1/ns/net 2>/dev/null && return 0
	[ "$(cat /proc/2/comm 2>/dev/null)" = kthreadd ] &&
		stat -L -c %i /proc/2/ns/net 2>/dev/null
}

# enter_netns [--tmpfs DIR]... -- SCRIPT-ARGS...
# First call: re-execute the script in new namespaces (never returns).
# Inside: check the namespace is new, bring lo up, mount the tmpfs.
enter_netns() {
	local dirs="" d cur host
	while [ $# -gt 0 ]; do
		case $1 in
		--tmpfs) [ $# -ge 2 ] || fail "enter_netns: --tmpfs needs a directory"
			dirs="$dirs $2"; shift 2 ;;
		--) shift; break ;;
		*) fail "enter_netns: unknown option '$1' (missing --?)" ;;
		esac
	done
	if [ -z "${TT_NETNS_OUTER:-}" ]; then
		TT_NETNS_OUTER=$(stat -L -c %i /proc/self/ns/net) ||
			fail "cannot read /proc/self/ns/net"
		export TT_NETNS_OUTER
		exec unshare --net --mount --propagation private -- bash "$TT_SCRIPT" "$@"
		fail "cannot execute unshare"
	fi

	# Never trust the environment variable alone.
	cur=$(stat -L -c %i /proc/self/ns/net) || fail "cannot read /proc/self/ns/net"
	host=$(tt_host_netns)
	[ -n "$host" ] || fail "cannot tell the host network namespace (/proc/1/ns/net and /proc/2/ns/net unreadable)"
	[ "$cur" != "$TT_NETNS_OUTER" ] && [ "$cur" != "$host" ] ||
		fail "still in the host network namespace; refusing to continue"
	ip link set lo up || fail "cannot bring lo up"
	# A fresh netns may hold fallback tunnels (tunl0, sit0...), all down.
	[ "$(ip -o link show up | awk -F': ' '{ printf "%s ", $2 }')" = "lo " ] ||
		fail "links other than lo are up in the new network namespace: $(ip -o link show up | awk -F': ' '{ printf "%s ", $2 }')"

	for d in $dirs; do
		[ -d "$d" ] || fail "enter_netns: '$d' is not a directory"
		d=$(cd "$d" && pwd -P) || fail "enter_netns: cannot resolve '$d'"
		case "$TT_ROOT/" in
		"${d%/}"/*)
			# The tree lives under d (a checkout in /tmp): keep it visible
			# by binding it back, from a descriptor opened before the mount.
			exec 9<"$TT_ROOT" || fail "cannot open '$TT_ROOT'"
			mount -t tmpfs -o size=256m,mode=0755 tcptune-test "$d" ||
				fail "cannot mount a tmpfs on '$d'"
			mkdir -p "$TT_ROOT" &&
				mount --no-canonicalize --bind /proc/self/fd/9 "$TT_ROOT" ||
				fail "cannot keep '$TT_ROOT' visible under the tmpfs on '$d'"
			exec 9<&-
			;;
		*)
			mount -t tmpfs -o size=256m,mode=0755 tcptune-test "$d" ||
				fail "cannot mount a tmpfs on '$d'"
			;;
		esac
	done
	export TMPDIR=/tmp
}

# wait_for_file FILE SECS [PID]: wait until FILE exists and is not empty.
# Returns 0 when it does, 1 after SECS seconds, 2 as soon as PID has exited.
wait_for_file() {
	local file=$1 secs=$2 pid=${3:-} i=0
	while [ "$i" -lt $((secs * 10)) ]; do
		[ -s "$file" ] && return 0
		if [ -n "$pid" ] && ! tt_is_child "$pid"; then
			[ -s "$file" ] && return 0
			return 2
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# True if PID is alive (not a zombie) and our child, so a recycled PID is never signalled.
tt_is_child() {
	local stat rest
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	rest=${stat##*) }	# "S PPID ..." after the comm, which may hold spaces
	set -- $rest
	[ "$1" != Z ] && [ "$2" = "$$" ]
}

# start_bg CMD ARGS...: run in the background, remember the PID (TT_LAST_PID).
start_bg() {
	"$@" &
	TT_LAST_PID=$!
	TT_PIDS="$TT_PIDS $TT_LAST_PID"
}

# stop_pid PID [SECS]: SIGTERM, wait up to SECS (5), then SIGKILL.
# Returns the process's exit status (143 if it died of SIGTERM, 137 of SIGKILL).
stop_pid() {
	local pid=$1 secs=${2:-5} i=0 rc
	if tt_is_child "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		while tt_is_child "$pid" && [ "$i" -lt $((secs * 10)) ]; do
			sleep 0.1
			i=$((i + 1))
		done
		tt_is_child "$pid" && kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	TT_PIDS=$(echo " $TT_PIDS " | sed "s/ $pid / /")
	return $rc
}

# run_bounded SECS CMD ARGS...: run CMD under `timeout SECS` in the background
# and wait for it, so a SIGTERM to the script is acted on at once (bash defers
# traps while a foreground command runs).  Returns CMD's status, 124 on timeout.
run_bounded() {
	local secs=$1 pid rc
	shift
	timeout --kill-after=5 "$secs" "$@" &
	pid=$!
	TT_PIDS="$TT_PIDS $pid"
	wait "$pid"
	rc=$?
	TT_PIDS=$(echo " $TT_PIDS " | sed "s/ $pid / /")
	return $rc
}

tt_cleanup() {
	local pid
	for pid in $TT_PIDS; do
		stop_pid "$pid" 5
	done
}

trap tt_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
