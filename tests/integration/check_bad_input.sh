#!/bin/bash
# check_bad_input.sh: bad input makes `tcptune check --root` exit 3 with one
# stderr line per problem, each starting "tcptune: " and naming the broken
# file, never a crash, and stdout either empty or valid JSON.
#
# A copy of tests/fixtures/roots/old-kernel (which check_root_old_kernel.sh
# shows is clean) gets one thing broken per case.  Every case runs, then each
# failure is printed as "FAIL: ..." with the exact command to reproduce it.
# Reads files only: no namespace.  The unreadable-file case runs as nobody
# through setpriv when we are root.  Exit 0 pass, 1 fail, 77 skip.
# TCPTUNE=/path/to/binary overrides build/tcptune (e.g. a sanitizer build).

set -u
export LC_ALL=C

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_fixture_root old-kernel

W=$(mktemp -d "${TMPDIR:-/tmp}/tcptune-badinput.XXXXXX") || fail "mktemp -d failed"
trap 'chmod -R u+rwX "$W" 2>/dev/null; rm -rf "$W"' EXIT
R=$W/root
FAILS=()
PASSED=()
SKIPPED=()

# fresh_tree: a pristine copy of the fixture at $R, readable by everyone.
fresh_tree() {
	chmod -R u+rwX "$R" 2>/dev/null
	rm -rf "$R"
	cp -a "$FX" "$R" || fail "cannot copy $FX to $R"
	chmod -R a+rX "$R"
}

# bytes FILE: its bytes made visible (cat -v, "\n" for newlines), for a
# failure message: some cases use random bytes.
bytes() { head -c 1500 "$1" | cat -v | awk '{ printf "%s\\n", $0 }'; }

# names LINE TEXT: does LINE contain TEXT not followed by a file name character
# (so ".../proc/net/tcp" does not match ".../proc/net/tcp6")?
names() {
	local rest=$1
	while [[ $rest == *"$2"* ]]; do
		rest=${rest#*"$2"}
		[[ -z $rest || ${rest:0:1} != [A-Za-z0-9_.-] ]] && return 0
	done
	return 1
}

# run_case CASE NAMED [--as-nobody] -- TCPTUNE-ARGS...: run, then check exit
# code 3, no crash, stderr lines "tcptune: ..." each naming NAMED, stdout
# empty or JSON.  $DETAIL, when set, is appended to a failure (the bytes used).
run_case() {
	local case=$1 named=$2 pre=() out err rc n bad why="" cmd
	shift 2
	if [ "$1" = --as-nobody ]; then
		pre=(setpriv --reuid=65534 --regid=65534 --clear-groups)
		shift
	fi
	shift	# --
	out=$W/$case.out err=$W/$case.err
	(cd / && exec timeout "$TT_HANG" "${pre[@]}" "$TCPTUNE" "$@") >"$out" 2>"$err"
	rc=$?
	cmd="${pre[*]}${pre:+ }$TCPTUNE $*"
	if grep -aqE 'AddressSanitizer|LeakSanitizer|runtime error|Segmentation|core dumped|Aborted' "$err"; then
		why="crashed or tripped a sanitizer"
	elif [ "$rc" = 124 ]; then
		why="hung (no end within $TT_HANG s)"
	elif [ "$rc" -ge 128 ]; then
		why="killed by signal $((rc - 128))"
	elif [ "$rc" != 3 ]; then
		why="exit code $rc, expected 3"
	fi
	n=$(awk 'END { print NR }' "$err")
	if [ -z "$why" ] && [ "$n" -lt 1 ]; then
		why="nothing on stderr"
	fi
	if [ -z "$why" ] && [ -s "$err" ] && [ "$(tail -c 1 "$err" | od -An -c | tr -d ' ')" != '\n' ]; then
		why="stderr does not end with a newline"
	fi
	if [ -z "$why" ]; then
		bad=$(grep -avn '^tcptune: ' "$err" | head -n 3)
		[ -z "$bad" ] || why="$n stderr lines, some not starting 'tcptune: ': $(printf '%q' "$bad")"
	fi
	if [ -z "$why" ]; then
		while IFS= read -r line; do
			names "$line" "$named" || { why="stderr line does not name '$named': $(printf '%q' "$line")"; break; }
		done <"$err"
	fi
	if [ -z "$why" ] && [ -s "$out" ] && ! jq -e . "$out" >/dev/null 2>&1; then
		why="stdout is neither empty nor valid JSON: $(head -c 300 "$out" | od -An -c | head -n 5 | tr -s ' \n' ' ')"
	fi
	if [ -n "$why" ]; then
		FAILS+=("$case: $why
    command: $cmd   (exit $rc)
    stderr: $(head -c 1500 "$err" | cat -v)${DETAIL:+
    input: $DETAIL}")
	else
		PASSED+=("$case")
	fi
	DETAIL=""
}

# file_case CASE REL: run check on $R, expecting REL to be named.
file_case() {
	run_case "$1" "$R/$2" -- check --root "$R" --format json
}

DETAIL=""

# The untouched copy passes: every failure below comes from the one change.
fresh_tree
(cd / && "$TCPTUNE" check --root "$R" --format json >/dev/null 2>"$W/clean.err")
rc=$?
# (exit 2: the 4.9 fixture has tcp_tw_recycle=1, a critical finding; 3 would be bad input)
if [ "$rc" -gt 2 ] || [ -s "$W/clean.err" ]; then
	fail "the unbroken copy already fails (exit $rc): $(head -c 1000 "$W/clean.err")"
fi

# ---- proc/net/tcp ------------------------------------------------------------
fresh_tree
head -c 300 /dev/urandom >"$W/junk"
{ head -n 4 "$FX/proc/net/tcp"; cat "$W/junk"; echo; tail -n +5 "$FX/proc/net/tcp"; } >"$R/proc/net/tcp"
DETAIL="line 5 of proc/net/tcp = $(bytes "$W/junk")"
file_case tcp-garbage-line proc/net/tcp

fresh_tree
awk 'NR == 6 { print substr($0, 1, 40); next } { print }' "$FX/proc/net/tcp" >"$R/proc/net/tcp"
file_case tcp-truncated-line proc/net/tcp

fresh_tree
head -c $(($(wc -c <"$FX/proc/net/tcp") - 100)) "$FX/proc/net/tcp" >"$R/proc/net/tcp"
file_case tcp-truncated-at-eof proc/net/tcp

fresh_tree
if [ "$(id -u)" = 0 ]; then
	if ! command -v setpriv >/dev/null 2>&1; then
		SKIPPED+=("tcp-unreadable (needs setpriv to drop root, which reads any file)")
		skip_part "${SKIPPED[-1]}"
	else
		chmod 0755 "$W"
		chmod 000 "$R/proc/net/tcp"
		if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$TCPTUNE" 2>/dev/null ||
			! setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$R/proc/net/tcp6" 2>/dev/null; then
			SKIPPED+=("tcp-unreadable (nobody cannot reach $TCPTUNE or $R)")
			skip_part "${SKIPPED[-1]}"
		elif setpriv --reuid=65534 --regid=65534 --clear-groups cat "$R/proc/net/tcp" >/dev/null 2>&1; then
			SKIPPED+=("tcp-unreadable (nobody can still read a mode-000 file)")
			skip_part "${SKIPPED[-1]}"
		else
			run_case tcp-unreadable "$R/proc/net/tcp" --as-nobody -- check --root "$R" --format json
		fi
		chmod 0700 "$W"
	fi
else
	chmod 000 "$R/proc/net/tcp"
	if cat "$R/proc/net/tcp" >/dev/null 2>&1; then
		SKIPPED+=("tcp-unreadable (a mode-000 file is still readable: capabilities?)")
		skip_part "${SKIPPED[-1]}"
	else
		file_case tcp-unreadable proc/net/tcp
	fi
fi

# ---- proc/net/tcp6 -----------------------------------------------------------
fresh_tree
printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\003\000>\000\001\000\000\000 sl local_address\n\000\001\002 inode\n' \
	>"$R/proc/net/tcp6"
file_case tcp6-binary-nul proc/net/tcp6

# A NUL inside an otherwise valid file (the kernel never prints one): the
# bytes after it must not be silently dropped with the line they hide.
fresh_tree
{
	head -n 2 "$FX/proc/net/tcp6" | tr '\n' '\0' | head -c -1
	printf '\n'
} >"$R/proc/net/tcp6"
DETAIL="proc/net/tcp6 = header + line 0 joined by a NUL: $(bytes "$R/proc/net/tcp6")"
file_case tcp6-nul-in-line proc/net/tcp6

# ---- sockstat, netstat -------------------------------------------------------
fresh_tree
head -c 300 /dev/urandom >"$R/proc/net/sockstat"
DETAIL="proc/net/sockstat = $(bytes "$R/proc/net/sockstat")"
file_case sockstat-garbage proc/net/sockstat

fresh_tree
sed 's/^TCP: inuse [0-9]*/TCP: inuse nine/' "$FX/proc/net/sockstat" >"$R/proc/net/sockstat"
file_case sockstat-bad-value proc/net/sockstat

fresh_tree
awk '$1 == "TcpExt:" && seen++ { NF--; } { print }' "$FX/proc/net/netstat" >"$R/proc/net/netstat"
[ "$(awk '$1 == "TcpExt:" { print NF }' "$R/proc/net/netstat" | sort -u | wc -l)" = 2 ] ||
	fail "could not unbalance the TcpExt lines"
file_case netstat-mismatched-counts proc/net/netstat

# ---- sysctls, kernel release -------------------------------------------------
fresh_tree
echo abc >"$R/proc/sys/net/ipv4/tcp_fin_timeout"
file_case sysctl-abc proc/sys/net/ipv4/tcp_fin_timeout

fresh_tree
printf '15\n16\n' >"$R/proc/sys/net/ipv4/tcp_keepalive_probes"
file_case sysctl-two-lines proc/sys/net/ipv4/tcp_keepalive_probes

fresh_tree
echo 'not a kernel release' >"$R/proc/sys/kernel/osrelease"
file_case osrelease-text proc/sys/kernel/osrelease

fresh_tree
printf '\377\376garbage\001\nmore\002\n' >"$R/proc/sys/kernel/osrelease"
DETAIL="proc/sys/kernel/osrelease = $(bytes "$R/proc/sys/kernel/osrelease")"
file_case osrelease-garbage proc/sys/kernel/osrelease

# ---- command line ------------------------------------------------------------
fresh_tree
missing=/nonexistent
[ ! -e "$missing" ] || missing=$W/nonexistent
run_case root-missing "$missing" -- check --root "$missing" --format json
run_case format-xml "xml" -- check --root "$R" --format xml
run_case unknown-option "--frobnicate" -- check --root "$R" --frobnicate

# ---- verdict -------------------------------------------------------------------
if [ "${#FAILS[@]}" -gt 0 ]; then
	for f in "${FAILS[@]}"; do
		echo "FAIL: $NAME: $f"
	done
	echo "$NAME: ${#FAILS[@]} cases failed; passed (${#PASSED[@]}): ${PASSED[*]}${SKIPPED[*]:+; skipped: ${SKIPPED[*]}}"
	exit 1
fi
echo "ok: $NAME: ${#PASSED[@]} cases exit 3 with 'tcptune: ' lines naming the input, no crash," \
	"stdout empty or JSON: ${PASSED[*]}${SKIPPED[*]:+; skipped: ${SKIPPED[*]}}"
exit 0
