#!/bin/bash
# diff on a server whose /etc/sysctl.conf sets the same key as the profile:
# the profile's value wins at boot under systemd-sysctl and loses under
# procps `sysctl --system`, which reads /etc/sysctl.conf last (docs/KERNEL.md §10).
set -u
. "$(dirname "$0")/lib.sh"
need_cmds jq
need_bin
ROOT=$TT_ROOT/tests/fixtures/roots/diff-procps
json=$("$BIN" diff web-server --root "$ROOT" --format json) || fail "diff failed"
row=$(echo "$json" | jq -c '.keys[] | select(.key == "net.ipv4.tcp_fin_timeout")')
[ -n "$row" ] || fail "no tcp_fin_timeout row"
want_conf=$(grep -n 'tcp_fin_timeout' "$ROOT/etc/sysctl.conf" | cut -d: -f1)
echo "$row" | jq -e --argjson line "$want_conf" '
	.runtime == "60" and .profile == "30" and .change == true
	and .wins_at_boot.systemd == true and .wins_at_boot.procps == false
	and .overridden_by.systemd == null
	and .overridden_by.procps.file == "/etc/sysctl.conf" and .overridden_by.procps.line == $line
	and .overridden_by.procps.value == "45"' >/dev/null || fail "tcp_fin_timeout row: $row"
# A key sysctl.conf does not set wins under both.
echo "$json" | jq -e '.keys[] | select(.key == "net.ipv4.tcp_keepalive_time")
	| .wins_at_boot.systemd and .wins_at_boot.procps' >/dev/null || fail "keepalive row wrong"
text=$("$BIN" diff web-server --root "$ROOT") || fail "text diff failed"
echo "$text" | grep -q "at boot under sysctl --system: LOSES to 45 from /etc/sysctl.conf:$want_conf" ||
	fail "text diff does not say it loses under procps: $text"
echo "$text" | grep -q "at boot under systemd-sysctl: LOSES" && fail "text diff claims it loses under systemd"
echo "ok: tcp_fin_timeout=30 wins at boot under systemd-sysctl, loses under sysctl --system to /etc/sysctl.conf:$want_conf"
