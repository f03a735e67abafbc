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
#
# Time: nothing may fail because the machine is busy.  A limit on a command
# or a wait is a hang guard, TT_HANG seconds (300 by default) unless a
# scenario needs a multiple; conditions are waited for by polling (wait_for_file,
# wait_until), never assumed after a fixed sleep.

TT_SCRIPT=$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")
TT_ROOT=$(cd "$(dirname "$TT_SCRIPT")/../.." && pwd -P)
TT_PIDS=""
TT_LAST_PID=""
TT_HANG=${TT_HANG:-300}	# seconds after which one command or one wait has hung

# Print "SKIP: ..." and exit 77.
skip() {
	echo "SKIP: $(basename "$TT_SCRIPT"): $*" >&2
	exit 77
}

# skip_part WHAT: a part of the scenario cannot run on this machine.  Where
# namespaces work (tests/run-integration exports TT_NS_OK=1) everything must
# run, so that is a failure unless TT_ALLOW_SKIP=1; elsewhere it is printed as
# "SKIP-PART: SCRIPT: WHAT", which tests/run-integration counts as a skip.
skip_part() {
	if [ "${TT_NS_OK:-0}" = 1 ] && [ "${TT_ALLOW_SKIP:-0}" != 1 ]; then
		fail "cannot run $* here, although namespaces work (TT_ALLOW_SKIP=1 allows the skip)"
	fi
	echo "SKIP-PART: $(basename "$TT_SCRIPT"): $*" >&2
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
	# check records its counters for the next check (README "Evidence"): in
	# a scenario, in a directory of its own (removed by tt_cleanup), never
	# the host's /var/lib/tcptune.  A scenario about that place unsets it.
	# (tests/run-integration gives each scenario one; a tmpfs above may hide it)
	if [ -z "${TCPTUNE_STATE_DIR:-}" ] || [ ! -d "$TCPTUNE_STATE_DIR" ]; then
		TCPTUNE_STATE_DIR=$(mktemp -d /tmp/tcptune-state.XXXXXX) || fail "mktemp -d failed"
		TT_STATE_DIR=$TCPTUNE_STATE_DIR
		export TCPTUNE_STATE_DIR
	fi
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

# wait_until SECS CMD ARGS...: run CMD every 0.1 s until it succeeds (0) or
# SECS seconds have passed (1).  For hang guards: SECS is generous, the wait
# ends as soon as the condition holds.
wait_until() {
	local secs=$1 end
	shift
	end=$((SECONDS + secs))
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
	return 0
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

# ---- shared by several scenarios -------------------------------------------

# need_fixture_root FIXTURE: set up a scenario that only reads files
# (`tcptune check --root`: no root, no namespace, so no enter_netns).  Sets
# NAME (the script's name), TCPTUNE (build/tcptune unless TCPTUNE is already
# set, e.g. to a sanitizer build) and FX (tests/fixtures/roots/FIXTURE); skips
# without jq, fails without the binary or the fixture's proc tree.
need_fixture_root() {
	# shellcheck disable=SC2034	# NAME is for the caller
	NAME=$(basename "$TT_SCRIPT")
	TCPTUNE=${TCPTUNE:-$TT_ROOT/build/tcptune}
	FX=$TT_ROOT/tests/fixtures/roots/$1
	command -v jq >/dev/null 2>&1 || skip "needs the 'jq' command"
	[ -x "$TCPTUNE" ] || fail "missing $TCPTUNE (make build/tcptune)"
	[ -d "$FX/proc" ] || fail "missing fixture tree $FX"
}

# need_bin: BIN, the tcptune under test (build/tcptune, or TCPTUNE when
# set); fails unless it is built.
# check_owners WAY BIN JSON ERR: `BIN -v -v check --format json` into JSON
# and ERR, the CLOSE_WAIT owners found through the BPF iterator (WAY bpf,
# the default as root) or through /proc only (WAY proc, TCPTUNE_OWNERS=proc;
# docs/KERNEL.md §18.5).  Fails unless check exits 0-2 and, for bpf, its -v
# output says the walk was made.
check_owners() {
	local way=$1 bin=$2 json=$3 err=$4 rc
	case $way in
	proc) TCPTUNE_OWNERS=proc run_bounded "$TT_HANG" "$bin" -v -v check --format json >"$json" 2>"$err" ;;
	bpf) run_bounded "$TT_HANG" "$bin" -v -v check --format json >"$json" 2>"$err" ;;
	*) fail "check_owners: way '$way' is neither bpf nor proc" ;;
	esac
	rc=$?
	[ "$rc" -le 2 ] || fail "$way: check exited $rc: $(head -c 1500 "$err")"
	[ "$way" = proc ] || grep -q 'socket owners: BPF task iterator' "$err" ||
		fail "check did not use the BPF iterator: $(grep 'socket owners' "$err" | head -n 3)"
}

need_bin() {
	BIN=${TCPTUNE:-$TT_ROOT/build/tcptune}
	[ -x "$BIN" ] || fail "build first: make build/tcptune"
}

# need_scratch: set up a scenario that builds its own --root trees (no root,
# no namespace).  Skips without jq; sets BIN (build/tcptune unless TCPTUNE is
# set; fails unless it is built) and W, a scratch directory removed at exit
# (after tt_cleanup, which the EXIT trap keeps running).
need_scratch() {
	need_cmds jq
	need_bin
	W=$(mktemp -d "${TMPDIR:-/tmp}/tcptune-$(basename "$TT_SCRIPT" .sh).XXXXXX") ||
		fail "mktemp -d failed"
	trap 'tt_cleanup; rm -rf "$W"' EXIT
}

# rules_root DIR [OVERLAY]...: DIR becomes a copy of the rules table's
# healthy host (tests/fixtures/rules/base), with each OVERLAY (a directory
# under tests/fixtures/rules, e.g. keepalive-too-long/quiet) copied over it
# in turn.  Fails if a copy fails.
rules_root() {
	local dir=$1 o fx=$TT_ROOT/tests/fixtures/rules
	shift
	cp -a "$fx/base" "$dir" || fail "cannot copy $fx/base to $dir"
	for o in "$@"; do
		cp -a "$fx/$o/." "$dir/" || fail "cannot copy the overlay $fx/$o over $dir"
	done
}

# boot_root DIR: DIR becomes a root for boot resolution: the 6.1 proc/sys of
# the fixture diff-procps, an empty etc/sysctl.d, and proc/net/tcp and tcp6
# (no sockets) from the fixture old-kernel.  Fails if a copy fails.
boot_root() {
	local fx=$TT_ROOT/tests/fixtures/roots
	mkdir -p "$1" && cp -r "$fx/diff-procps/proc" "$1/" &&
		mkdir -p "$1/etc/sysctl.d" "$1/proc/net" &&
		cp "$fx"/old-kernel/proc/net/{tcp,tcp6} "$1/proc/net/" ||
		fail "cannot build the boot root $1"
}

# need_store: for a scenario that applies, inside enter_netns with a tmpfs
# over /etc/sysctl.d and /var/lib.  Sets BIN (build/tcptune; fails unless
# built), SD (/etc/sysctl.d) and STORE (/var/lib/tcptune, created 0700).
need_store() {
	need_bin
	SD=/etc/sysctl.d
	STORE=/var/lib/tcptune
	mkdir -m 0700 "$STORE" || fail "cannot create the store $STORE"
}

# snap_runtime: every TCP-related sysctl this netns has, key=value (blanks
# collapsed), one a line.
snap_runtime() {
	local f
	for f in /proc/sys/net/ipv4/tcp_* /proc/sys/net/ipv4/ip_local_port_range \
		/proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/core/somaxconn \
		/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_*; do
		[ -r "$f" ] || continue
		printf '%s=%s\n' "${f#/proc/sys/}" "$(tr -s '\t ' '  ' < "$f")"
	done
}

# snap_dir DIR: names, types, modes, owners, sizes and bytes (md5) of
# everything under DIR, sorted, so two snapshots compare with `=`.
snap_dir() {
	(cd "$1" && find . -mindepth 1 -printf '%P %y %m %U:%G %s %l\n' | sort &&
		find . -mindepth 1 -type f -exec md5sum {} + | sort)
}

# store_entries: the transaction entries of the store $STORE (directories
# named by number), one a line.
store_entries() {
	ls -A "$STORE" | grep -E '^[0-9]+$'
}

# prom_value FILE SERIES: the value of one series in a node_exporter scrape
# ("" when absent).  The textfile collector gives every series of a family
# the union of its label names, so tcptune_sysctl{key="..."} comes back as
# tcptune_sysctl{bound="",key="..."}; an empty label is no label to
# Prometheus, so compare without them.  Labels come back sorted by name.
prom_value() {
	awk -v s="$2" '!/^#/ {
		gsub(/[a-z_]+="",?/, "", $1); sub(/,}$/, "}", $1); sub(/[{]}$/, "", $1)
		if ($1 == s) { print $2; exit }
	}' "$1"
}

# prom_expect FILE SERIES WANT: fail unless the series is there and equals
# WANT as a number (node_exporter prints floats its own way: 1.7e+09, 60).
prom_expect() {
	local got
	got=$(prom_value "$1" "$2")
	[ -n "$got" ] || fail "$2 missing from the scrape ($(basename "$1"))"
	awk -v a="$got" -v b="$3" 'BEGIN { exit !(a + 0 == b + 0) }' ||
		fail "$2 is '$got', expected $3"
}

# free_port FIRST LAST: print a TCP port in FIRST..LAST that nothing listens
# on in this namespace; fail when there is none.
free_port() {
	local p
	for p in $(seq "$1" "$2"); do
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	fail "no free port in $1..$2"
}

# start_exporter DIR FIRST LAST: start $NODE_EXPORTER (start_bg) on a free
# loopback port in FIRST..LAST with only the textfile collector, on DIR,
# logging to $W/exporter.log; wait (TT_HANG s at most) until it answers.  Sets
# EXPORTER (its pid) and URL (its /metrics).
start_exporter() {
	local port end
	port=$(free_port "$2" "$3") || exit 1	# free_port said why
	URL=http://127.0.0.1:$port/metrics
	start_bg "$NODE_EXPORTER" --web.listen-address="127.0.0.1:$port" \
		--collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$1" >"$W/exporter.log" 2>&1
	EXPORTER=$TT_LAST_PID
	end=$((SECONDS + TT_HANG))
	while ! curl -sf --max-time 10 -o /dev/null "$URL"; do
		tt_is_child "$EXPORTER" ||
			fail "node_exporter exited before answering: $(tail -n 5 "$W/exporter.log")"
		[ "$SECONDS" -lt "$end" ] || fail "node_exporter did not answer on $URL within $TT_HANG s"
		sleep 0.1
	done
}

# prom_scrape FILE: one scrape of $URL (start_exporter) into FILE.
prom_scrape() {
	curl -sf --max-time "$TT_HANG" -o "$1" "$URL" || fail "cannot scrape $URL"
}

tt_cleanup() {
	local pid
	for pid in $TT_PIDS; do
		stop_pid "$pid" 5
	done
	if [ -n "${TT_STATE_DIR:-}" ]; then rm -rf "$TT_STATE_DIR"; fi
}

trap tt_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
