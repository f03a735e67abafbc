#!/bin/bash
# apply and rollback without the privilege they need (the preflight, docs/ARCHITECTURE.md §4: "the process
# has CAP_NET_ADMIN and write access (libcap; say exactly what is missing)").
# In a network + mount namespace with a tmpfs over /etc/sysctl.d, /var/lib
# (the store /var/lib/tcptune, 0700) and /tmp, each caller below must get
# exit non-zero, exactly one stderr line naming what is missing, nothing on
# stdout, and no change to the runtime sysctls, /etc/sysctl.d or the store:
#
#   nobody          uid/gid 65534, no capabilities      -> CAP_NET_ADMIN
#   root-nocaps     uid 0, every capability dropped     -> CAP_NET_ADMIN
#   root-no-netadmin uid 0, all capabilities but CAP_NET_ADMIN -> CAP_NET_ADMIN
#   nobody-netadmin uid 65534 with only CAP_NET_ADMIN   -> write access to
#                   /etc/sysctl.d (it can write the sysctls, not the file)
#
# First for `apply web-server --yes` with an empty store, then, after root
# applied web-server for real, for `rollback --yes`; root's rollback then
# restores the state of the start.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds setpriv md5sum find jq
enter_netns --tmpfs /etc/sysctl.d --tmpfs /var/lib --tmpfs /tmp -- "$@"

need_store	# BIN, SD, STORE
printf 'net.core.somaxconn = 1024\n' > "$SD/10-site.conf"
# nobody must be able to reach the binary (a checkout under /root is not).
setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$BIN" ||
	skip "uid 65534 cannot execute $BIN (the checkout's directories are not world-searchable)"

# snap_runtime and snap_dir: lib.sh.
snap_all() {
	echo "== runtime"; snap_runtime
	echo "== $SD"; snap_dir "$SD"
	echo "== $STORE"; snap_dir "$STORE"
}

# The callers: name, the setpriv options, the fragment the error must hold.
CALLERS="nobody root-nocaps root-no-netadmin nobody-netadmin"
setpriv_opts() {
	case $1 in
	nobody) echo --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all ;;
	root-nocaps) echo --inh-caps=-all --bounding-set=-all ;;
	root-no-netadmin) echo --inh-caps=-all --bounding-set=-net_admin ;;
	nobody-netadmin) echo --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,+net_admin \
		--ambient-caps=-all,+net_admin --bounding-set=-all,+net_admin ;;
	esac
}
want_fragment() {
	case $1 in
	nobody-netadmin) echo "'$SD'" ;;
	*) echo CAP_NET_ADMIN ;;
	esac
}
# cap_line CALLER: the capability sets the caller really runs with.
cap_line() {
	setpriv $(setpriv_opts "$1") sh -c "grep -E '^Cap(Prm|Eff)' /proc/self/status | tr -s '\t\n' '  '"
}
has_net_admin() {	# CapEff of CALLER has bit 12
	local eff
	eff=$(setpriv $(setpriv_opts "$1") awk '/^CapEff/ { print $2 }' /proc/self/status)
	[ $((0x$eff >> 12 & 1)) = 1 ]
}

# refused VERB-ARGS...: run as each caller; all refused, nothing changed.
refused() {
	local who before out err rc frag
	for who in $CALLERS; do
		case $who in
		nobody | root-nocaps | root-no-netadmin)
			has_net_admin "$who" && fail "$who: setpriv left CAP_NET_ADMIN: $(cap_line "$who")" ;;
		nobody-netadmin)
			has_net_admin "$who" || fail "$who: setpriv did not give CAP_NET_ADMIN: $(cap_line "$who")" ;;
		esac
		before=$(snap_all)
		frag=$(want_fragment "$who")
		# shellcheck disable=SC2046
		out=$(run_bounded "$TT_HANG" setpriv $(setpriv_opts "$who") "$BIN" "$@" 2>/tmp/err); rc=$?
		err=$(cat /tmp/err)
		[ "$rc" != 0 ] || fail "$who: '$*' succeeded; stdout: $out"
		[ "$rc" != 124 ] && [ "$rc" -lt 128 ] || fail "$who: '$*' was killed or timed out (exit $rc)"
		[ -n "$err" ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] ||
			fail "$who: '$*': expected one stderr line, got: $(printf '%s' "$err" | head -c 2000)"
		case $err in "tcptune: "*) ;; *) fail "$who: '$*': stderr does not start with 'tcptune: ': $err" ;; esac
		case $err in *"$frag"*) ;; *) fail "$who: '$*': stderr does not name $frag: $err" ;; esac
		[ -z "$out" ] || fail "$who: '$*' printed on stdout: $(echo "$out" | head -3)"
		[ "$(snap_all)" = "$before" ] ||
			fail "$who: '$*' changed something: $(diff <(echo "$before") <(snap_all) | grep '^[<>]' | tr '\n' ' ')"
		echo "  $who ($(cap_line "$who")): '$*' refused, nothing changed: $err"
	done
}

if ! has_net_admin nobody-netadmin; then
	echo "  note: setpriv cannot give uid 65534 CAP_NET_ADMIN alone ($(cap_line nobody-netadmin)); that caller is left out"
	CALLERS="nobody root-nocaps root-no-netadmin"
fi

start_rt=$(snap_runtime)
start_sd=$(snap_dir "$SD")
[ "$("$BIN" diff web-server --format json | jq '[.keys[] | select(.change == true)] | length')" -gt 0 ] ||
	fail "web-server changes nothing in this namespace; the test would prove nothing"

refused apply web-server --yes
[ -z "$(store_entries)" ] || fail "the store has an entry after the refused applies"

# Something to roll back: root applies web-server.
out=$("$BIN" apply web-server --yes 2>&1) || fail "root's apply web-server failed: $out"
[ "$(cat /proc/sys/net/ipv4/tcp_fin_timeout)" = 30 ] || fail "root's apply did not set tcp_fin_timeout to 30"
refused rollback --yes
[ "$("$BIN" history --format json | jq -r '[.[] | "\(.action):\(.status)"] | join(" ")')" = "apply:applied" ] ||
	fail "history after the refused rollbacks: $("$BIN" history --format json | jq -c '[.[] | [.id, .action, .status]]')"

# Root can: the state of the start comes back (the store keeps its entries).
out=$("$BIN" rollback --yes 2>&1) || fail "root's rollback failed: $out"
[ "$(snap_runtime)" = "$start_rt" ] ||
	fail "root's rollback did not restore the runtime: $(diff <(echo "$start_rt") <(snap_runtime) | grep '^[<>]' | tr '\n' ' ')"
[ "$(snap_dir "$SD")" = "$start_sd" ] ||
	fail "root's rollback did not restore $SD: $(diff <(echo "$start_sd") <(snap_dir "$SD") | grep '^[<>]' | tr '\n' ' ')"
echo "ok: apply and rollback refused for $(echo $CALLERS | wc -w) unprivileged callers with the missing privilege named; nothing changed"
