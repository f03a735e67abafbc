#!/bin/bash
# Bad profiles are refused before anything changes (docs/ARCHITECTURE.md §2, §4; docs/SECURITY.md).  Each
# case is a data directory DIR (--data DIR) holding DIR/profiles/<name>.yaml
# written here, mode 0644 and owned by root unless the case is about that.
# Inside a network + mount namespace with a tmpfs over /etc/sysctl.d, /var/lib
# (the store /var/lib/tcptune, 0700) and /tmp, `tcptune apply <name> --yes
# --data DIR` must exit non-zero, print nothing on stdout and exactly one
# stderr line "tcptune: DIR/profiles/<file>:L:C: <message>" (or
# "tcptune: DIR/profiles/<file>: <message>" for what concerns the whole file:
# its mode, owner, size), and leave the runtime sysctls, /etc/sysctl.d (which
# holds a managed file and another file) and the store exactly as they were,
# with no store entry.  `tcptune diff <name> --data DIR` and `tcptune show
# <name> --data DIR` must print the same error line.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds md5sum find
enter_netns --tmpfs /etc/sysctl.d --tmpfs /var/lib --tmpfs /tmp -- "$@"

need_store	# BIN, SD, STORE
printf '# written by hand before tcptune\nnet.ipv4.tcp_keepalive_time = 600\n' > "$SD/99-tcptune.conf"
printf 'net.core.somaxconn = 1024\n' > "$SD/10-site.conf"
umask 022

# snap_runtime, snap_dir and store_entries: lib.sh.

rt_before=$(snap_runtime)
sd_before=$(snap_dir "$SD")
[ -z "$(store_entries)" ] || fail "the store is not empty before the cases"

# datadir CASE: a fresh DIR (its own, since a data directory is loaded whole).
datadir() {
	DIR=/tmp/data-$1
	mkdir -p "$DIR/profiles" && chmod 0755 "$DIR" "$DIR/profiles" || fail "cannot create $DIR"
}
# put FILE: stdin -> DIR/profiles/FILE, mode 0644.
put() {
	cat > "$DIR/profiles/$1" && chmod 0644 "$DIR/profiles/$1" || fail "cannot write $DIR/profiles/$1"
}

n_ok=0
# refused CASE NAME FILE WHERE FRAGMENT
#   NAME: the profile to apply; FILE: the file the error must name; WHERE:
#   "L:C" or "" (a whole-file error); FRAGMENT: a fixed string the message holds.
refused() {
	local label=$1 name=$2 file=$3 where=$4 frag=$5 prefix out err rc cmd derr
	prefix="tcptune: $DIR/profiles/$file${where:+:$where}: "
	out=$(run_bounded "$TT_HANG" "$BIN" apply "$name" --yes --data "$DIR" 2>/tmp/err); rc=$?
	err=$(cat /tmp/err)
	[ "$rc" != 0 ] || fail "$label: apply $name succeeded; stdout: $out"
	[ "$rc" != 124 ] && [ "$rc" -lt 128 ] || fail "$label: apply $name was killed or timed out (exit $rc)"
	[ -n "$err" ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] ||
		fail "$label: expected one stderr line, got: $(printf '%s' "$err" | head -c 2000)"
	case $err in
	"$prefix"*) ;;
	*) fail "$label: stderr does not start with '$prefix': $err" ;;
	esac
	case $err in
	*"$frag"*) ;;
	*) fail "$label: stderr lacks '$frag': $err" ;;
	esac
	[ -z "$out" ] || fail "$label: apply printed on stdout (a plan?) for a refused profile: $(echo "$out" | head -3)"

	[ "$(snap_runtime)" = "$rt_before" ] ||
		fail "$label: runtime values changed: $(diff <(echo "$rt_before") <(snap_runtime) | grep '^[<>]' | tr '\n' ' ')"
	[ "$(snap_dir "$SD")" = "$sd_before" ] ||
		fail "$label: $SD changed: $(diff <(echo "$sd_before") <(snap_dir "$SD") | grep '^[<>]' | tr '\n' ' ')"
	[ -z "$(store_entries)" ] || fail "$label: the store has an entry: $(store_entries)"

	for cmd in diff show; do
		run_bounded "$TT_HANG" "$BIN" "$cmd" "$name" --data "$DIR" >/dev/null 2>/tmp/err
		rc=$?
		derr=$(cat /tmp/err)
		[ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$rc" -lt 128 ] || fail "$label: $cmd $name exit $rc"
		[ "$derr" = "$err" ] || fail "$label: $cmd $name says '$derr', apply said '$err'"
	done
	echo "  $label: refused, nothing changed: $err"
	n_ok=$((n_ok + 1))
}

datadir unknown-key
put unknownkey.yaml <<'EOF'
name: unknownkey
description: a key tcptune does not know
sysctl:
  net.ipv4.tcp_fin_timeout: 30
  net.ipv4.tcp_no_such_key: 1
why:
  net.ipv4.tcp_fin_timeout: test
  net.ipv4.tcp_no_such_key: test
EOF
refused "unknown key" unknownkey unknownkey.yaml 5:3 "unknown sysctl 'net.ipv4.tcp_no_such_key'"

datadir out-of-range
put range.yaml <<'EOF'
name: range
description: a value outside the apply range
sysctl:
  net.ipv4.tcp_keepalive_time: 600
  net.ipv4.tcp_fin_timeout: 0
why:
  net.ipv4.tcp_keepalive_time: test
  net.ipv4.tcp_fin_timeout: test
EOF
refused "value out of range" range range.yaml 5:29 "net.ipv4.tcp_fin_timeout = 0 is outside"

datadir tw-recycle
put recycle.yaml <<'EOF'
name: recycle
description: the removed, harmful tcp_tw_recycle
sysctl:
  net.ipv4.tcp_tw_recycle: 1
why:
  net.ipv4.tcp_tw_recycle: test
EOF
refused "tcp_tw_recycle" recycle recycle.yaml 4:3 "net.ipv4.tcp_tw_recycle"

datadir slash
put slash.yaml <<'EOF'
name: slash
description: a key written as a path
sysctl:
  net/ipv4/tcp_fin_timeout: 30
why:
  net/ipv4/tcp_fin_timeout: test
EOF
refused "key with '/'" slash slash.yaml 4:3 "'net/ipv4/tcp_fin_timeout' is not a sysctl name"

datadir dotdot
put dotdot.yaml <<'EOF'
name: dotdot
description: a key with an empty component
sysctl:
  net.ipv4..tcp_fin_timeout: 30
why:
  net.ipv4..tcp_fin_timeout: test
EOF
refused "key with '..'" dotdot dotdot.yaml 4:3 "'net.ipv4..tcp_fin_timeout' is not a sysctl name"

datadir traversal
put traversal.yaml <<'EOF'
name: traversal
description: a key that climbs out of /proc/sys
sysctl:
  # a comment line, so the column is not the line's first
  ../../../etc/passwd: 1
why:
  ../../../etc/passwd: test
EOF
refused "key '../../../etc/passwd'" traversal traversal.yaml 5:3 "'../../../etc/passwd' is not a sysctl name"

datadir cycle
put a.yaml <<'EOF'
name: a
description: first half of a cycle
extends: b
sysctl:
  net.ipv4.tcp_fin_timeout: 30
why:
  net.ipv4.tcp_fin_timeout: test
EOF
put b.yaml <<'EOF'
name: b
description: second half of a cycle
extends: a
sysctl:
  net.ipv4.tcp_keepalive_time: 600
why:
  net.ipv4.tcp_keepalive_time: test
EOF
refused "extends cycle" a a.yaml 3:10 "extends cycle: a -> b -> a"

datadir group-writable
put gw.yaml <<'EOF'
name: gw
description: a fine profile in a file anyone in the group may rewrite
sysctl:
  net.ipv4.tcp_fin_timeout: 30
why:
  net.ipv4.tcp_fin_timeout: test
EOF
chmod 0664 "$DIR/profiles/gw.yaml"
refused "group-writable file (0664)" gw gw.yaml "" "writable by group or others (mode 0664)"
chmod 0646 "$DIR/profiles/gw.yaml"
refused "world-writable file (0646)" gw gw.yaml "" "writable by group or others (mode 0646)"
chmod 0644 "$DIR/profiles/gw.yaml"
chown 65534:65534 "$DIR/profiles/gw.yaml" || fail "cannot chown"
refused "file owned by uid 65534" gw gw.yaml "" "not root"
# Control: the same file, 0644 root:root, is accepted.
chown 0:0 "$DIR/profiles/gw.yaml"
"$BIN" diff gw --data "$DIR" >/dev/null 2>&1 || fail "control: gw.yaml 0644 root:root is refused: $("$BIN" diff gw --data "$DIR" 2>&1 >/dev/null)"

# The directories too: profiles/, or the data directory above it, that root
# does not own or that others may write is refused as a whole (one line
# naming the directory), since whoever writes it can remove or swap root's files.
dir_refused() {	# LABEL PATH FRAGMENT
	local err rc
	err=$(run_bounded "$TT_HANG" "$BIN" apply gw --yes --data "$DIR" 2>&1 >/dev/null); rc=$?
	[ "$rc" != 0 ] || fail "$1: apply succeeded"
	case $err in
	"tcptune: $2: refusing to load from a directory "*"$3"*) ;;
	*) fail "$1: stderr is not one line naming $2 with '$3': $err" ;;
	esac
	[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "$1: more than one stderr line: $err"
	n_ok=$((n_ok + 1))
}
chmod 0775 "$DIR/profiles"
dir_refused "group-writable profiles/ (0775)" "$DIR/profiles" "writable by group or others (mode 0775)"
chmod 0755 "$DIR/profiles" && chmod 1777 "$DIR"
dir_refused "world-writable data directory (1777)" "$DIR" "writable by group or others (mode 1777)"
chmod 0755 "$DIR" && chown 65534 "$DIR/profiles"
dir_refused "profiles/ owned by uid 65534" "$DIR/profiles" "owned by uid 65534, not root"
chown 0 "$DIR/profiles"
"$BIN" diff gw --data "$DIR" >/dev/null 2>&1 || fail "control: the directories 0755 root are refused"

datadir alias-bomb
put bomb.yaml <<'EOF'
name: bomb
description: "billion laughs: each level multiplies the one before by nine"
lol1: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
lol2: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
lol3: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
lol4: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
lol5: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
lol6: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
lol7: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
lol8: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
lol9: [*h,*h,*h,*h,*h,*h,*h,*h,*h]
sysctl:
  net.ipv4.tcp_fin_timeout: 30
why:
  net.ipv4.tcp_fin_timeout: test
EOF
refused "alias bomb" bomb bomb.yaml 3:7 "anchors and aliases are not allowed"

datadir duplicate
put dup.yaml <<'EOF'
name: dup
description: one key twice
sysctl:
  net.ipv4.tcp_fin_timeout: 30
  net.ipv4.tcp_fin_timeout: 40
why:
  net.ipv4.tcp_fin_timeout: test
EOF
refused "duplicate key" dup dup.yaml 5:3 "duplicate key 'net.ipv4.tcp_fin_timeout'"

datadir too-big
{
	printf 'name: big\ndescription: larger than the cap\nsysctl:\n  net.ipv4.tcp_fin_timeout: 30\nwhy:\n  net.ipv4.tcp_fin_timeout: test\n'
	head -c 1100000 /dev/zero | tr '\0' '#' | fold -w 99
} | put big.yaml
refused "file over 1 MiB" big big.yaml "" "larger than"

echo "ok: $n_ok bad profiles refused with one located error line; runtime, $SD and the store untouched"
