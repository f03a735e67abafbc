#!/bin/bash
# diff's "what beats tcptune's file at boot" and check's boot values come from
# one resolution (the sysctld layer), so they cannot disagree.  A root where
# tcptune's file is in place (tcp_fin_timeout = 30) and later files set the
# key through a glob (99-zz-glob.conf: net.ipv4.tcp_fin_time*t = 45) and
# through /etc/sysctl.conf's neighbour order: for each order, diff names as
# the line that beats the profile exactly the line check reports as the boot
# winner when that winner is not tcptune's file, and nothing when it is.
# Before the sysctld layer owned this, diff compared key names with strcmp and
# missed the glob while check matched it.
set -u
. "$(dirname "$0")/lib.sh"
need_scratch

# agree ROOT KEY: compare diff's overridden_by with check's boot winners.
agree() {
	local root=$1 key=$2 check diff o jo
	check=$("$BIN" --root "$root" check --format json)
	[ $? -le 2 ] || fail "check failed under $root"
	[ -n "$check" ] || fail "check --format json printed nothing under $root"
	diff=$("$BIN" --root "$root" diff web-server --format json) || fail "diff failed under $root"
	for o in systemd procps; do
		[ $o = systemd ] && jo=boot || jo=boot_procps
		want=$(jq -c --arg k "$key" --arg jo "$jo" '.sysctl[$k][$jo]
			| if . == null or .file == "/etc/sysctl.d/99-tcptune.conf" then null
			  else {file, line, value: (.value | tostring)} end' <<<"$check")
		got=$(jq -c --arg k "$key" --arg o "$o" '.keys[] | select(.key == $k) | .overridden_by[$o]
			| if . == null then null else {file, line, value} end' <<<"$diff")
		[ "$want" = "$got" ] ||
			fail "$(basename "$root"): under $o check says boot is won by $want, diff says tcptune's file loses to $got"
		echo "  $(basename "$root") $o: $got"
	done
}

# 1. A glob in a file after tcptune's.
R=$W/glob-after
boot_root "$R"
printf 'net.ipv4.tcp_fin_timeout = 30\n' >"$R/etc/sysctl.d/99-tcptune.conf"
printf '# a later file, with a glob\nnet.ipv4.tcp_fin_time*t = 45\n' >"$R/etc/sysctl.d/99-zz-glob.conf"
agree "$R" net.ipv4.tcp_fin_timeout
# Both programs skip a glob match for a key set explicitly anywhere
# (docs/KERNEL.md §10.3): tcptune's explicit line wins under both orders,
# and check says so (the case is not vacuous: a glob that won would show).
"$BIN" --root "$R" check --format json | jq -e '.sysctl["net.ipv4.tcp_fin_timeout"]
	| .boot.file == "/etc/sysctl.d/99-tcptune.conf" and .boot_procps.file == "/etc/sysctl.d/99-tcptune.conf"' >/dev/null ||
	fail "glob-after: check does not say tcptune's explicit line beats the later glob under both programs"

# 2. An explicit line after tcptune's, and a glob before it.
R=$W/explicit-after
boot_root "$R"
printf 'net.ipv4.tcp_fin_timeout = 30\n' >"$R/etc/sysctl.d/99-tcptune.conf"
printf 'net/ipv4/tcp_fin_timeout = 50\n' >"$R/etc/sysctl.d/99-zz.conf"
printf 'net.ipv4.tcp_fin_*=40\n' >"$R/etc/sysctl.d/10-early.conf"
agree "$R" net.ipv4.tcp_fin_timeout

# 3. /etc/sysctl.conf (procps reads it last) and a shadowed later file.
R=$W/conf-last
boot_root "$R"
mkdir -p "$R/usr/lib/sysctl.d"
printf 'net.ipv4.tcp_fin_timeout = 30\n' >"$R/etc/sysctl.d/99-tcptune.conf"
printf 'net.ipv4.tcp_fin_timeout = 41\n' >"$R/etc/sysctl.conf"
printf 'net.ipv4.tcp_fin_timeout = 42\n' >"$R/usr/lib/sysctl.d/99-zz.conf"
: >"$R/etc/sysctl.d/99-zz.conf"		# empty: masks the /usr/lib one
agree "$R" net.ipv4.tcp_fin_timeout
echo "ok: diff's boot overrides equal check's boot winners in 3 layouts (glob after, explicit after, sysctl.conf and a mask)"
