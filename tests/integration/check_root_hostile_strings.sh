#!/bin/bash
# Strings that others control -- a process name, a sysctl.d value, a path --
# may be any bytes.  They must reach JSON (escaped when not UTF-8, never
# dropped) and never put a control byte on the terminal.
set -u
. "$(dirname "$0")/lib.sh"
need_scratch
tmp=$W
root=$tmp/root
cp -a "$TT_ROOT/tests/fixtures/roots/old-kernel" "$root" || fail "cannot copy the fixture"

# A process that names itself with an escape sequence and a non-UTF-8 byte.
printf 'evil\033[2J\377x\n' > "$root/proc/4242/comm"
# A boot value with a non-UTF-8 byte, and a file name with a newline.
printf 'net.ipv4.tcp_keepalive_time = 6\37700\n' > "$root/etc/sysctl.d/99-zz-bad.conf"
printf 'net.ipv4.tcp_keepalive_intvl = 15\n' > "$root/etc/sysctl.d/99-zz-new
line.conf"

json=$("$BIN" check --root "$root" --format json 2>"$tmp/err")
rc=$?
# 2: the fixture is a 4.9 server with tcp_tw_recycle=1 (critical); 3 would mean bad input.
[ "$rc" -le 2 ] && [ ! -s "$tmp/err" ] || fail "exit $rc: $(cat "$tmp/err")"
echo "$json" | jq -e . >/dev/null || fail "not JSON"
comm=$(echo "$json" | jq -r '.closewait.processes[0].comm')
[ "$comm" = 'evil\x1b[2J\xffx' ] || fail "comm shown as '$comm'"
[ "$(echo "$json" | jq -r '.facts["closewait.top.comm"]')" = "$comm" ] || fail "closewait.top.comm differs"
[ "$(echo "$json" | jq '.closewait.processes[0].count')" = 2 ] || fail "CLOSE_WAIT owner lost"
# The kernel refuses "6\37700" (text after the number), so it is no boot
# value; the rejected line shows it escaped.
bootval=$(echo "$json" | jq -r '.boot.rejected[] | select(.key == "net.ipv4.tcp_keepalive_time") | .value')
[ "$bootval" = '6\xff00' ] || fail "rejected boot value shown as '$bootval'"
bootfile=$(echo "$json" | jq -r '.sysctl["net.ipv4.tcp_keepalive_intvl"].boot.file')
[ "$bootfile" = '/etc/sysctl.d/99-zz-new
line.conf' ] || fail "boot file shown as '$bootfile'"

"$BIN" check --root "$root" > "$tmp/text" 2>&1; [ $? -le 2 ] || fail "text report failed"
if LC_ALL=C grep -q "$(printf '\033')" "$tmp/text"; then fail "an ESC byte reached the text report"; fi
grep -q 'evil\\x1b\[2J\\xffx' "$tmp/text" || fail "text report does not show the escaped name"
grep -q '99-zz-new\\x0aline.conf' "$tmp/text" || fail "text report does not escape the newline in a file name"
echo "ok: hostile strings escaped in JSON and text (comm '$comm', boot value '$bootval')"
