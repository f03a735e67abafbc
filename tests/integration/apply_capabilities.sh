#!/bin/bash
# Least privilege for the verbs that change the system: once its privilege
# check has passed, apply (and rollback) keep only CAP_NET_ADMIN
# (CapEff 0000000000001000) and the transaction still works with that:
# runtime values and /etc/sysctl.d change, and rollback restores both.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq
enter_netns --tmpfs /etc/sysctl.d --tmpfs /var/lib -- "$@"
need_store


capeff() { sed -n 's/^tcptune: CapEff //p' "$1"; }
# CAP_NET_ADMIN = 12 (linux/capability.h)
want=0000000000001000
before=$(snap_runtime)
fin_before=$(cat /proc/sys/net/ipv4/tcp_fin_timeout)
fin_profile=$("$BIN" diff web-server --format json |
	jq -r '.keys[] | select(.key == "net.ipv4.tcp_fin_timeout") | .profile')
[ -n "$fin_profile" ] && [ "$fin_profile" != "$fin_before" ] ||
	fail "web-server must change tcp_fin_timeout here (profile '$fin_profile', now $fin_before)"

"$BIN" apply web-server --yes --debug-print-capeff >/tmp/apply.out 2>/tmp/apply.err ||
	fail "apply failed: $(cat /tmp/apply.err)"
[ "$(capeff /tmp/apply.err)" = "$want" ] || fail "apply keeps CapEff '$(capeff /tmp/apply.err)', want $want"
[ "$(cat /proc/sys/net/ipv4/tcp_fin_timeout)" = "$fin_profile" ] ||
	fail "apply did not set tcp_fin_timeout (is $(cat /proc/sys/net/ipv4/tcp_fin_timeout))"
grep -qx "net.ipv4.tcp_fin_timeout = $fin_profile" "$SD/99-tcptune.conf" || fail "managed file not written"

"$BIN" rollback --yes --debug-print-capeff >/tmp/rb.out 2>/tmp/rb.err || fail "rollback failed: $(cat /tmp/rb.err)"
[ "$(capeff /tmp/rb.err)" = "$want" ] || fail "rollback keeps CapEff '$(capeff /tmp/rb.err)', want $want"
[ "$(snap_runtime)" = "$before" ] || fail "rollback did not restore: $(diff <(echo "$before") <(snap_runtime))"
[ ! -e "$SD/99-tcptune.conf" ] || fail "rollback left the managed file"

# The option is hidden: it is not in --help.
"$BIN" apply --help 2>&1 | grep -q capeff && fail "--debug-print-capeff shows in apply --help"
echo "ok: apply and rollback keep CapEff $want (CAP_NET_ADMIN only); tcp_fin_timeout $fin_before -> $fin_profile -> $fin_before, file written and removed"
