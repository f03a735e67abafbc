#!/bin/bash
# check_kernel_hz.sh: the jiffies keys (tcp_fin_timeout, tcp_keepalive_time,
# tcp_keepalive_intvl, the conntrack timeouts) take |v| <= INT_MAX/HZ seconds
# (kernel/sysctl.c, do_proc_dointvec_jiffies_conv(); docs/KERNEL.md §1.2),
# so whether a boot file's value is taken depends on the kernel's CONFIG_HZ,
# which check reads from proc/config.gz, else boot/config-RELEASE.
#
# Part 1, the kernel itself: in a new network namespace, INT_MAX/HZ and one
# more are written to tcp_keepalive_intvl, with HZ from this host's
# /proc/config.gz; the kernel's answers must be what check predicts for the
# same two lines of a boot file in a --root tree holding that config.gz.
# Part 2, other kernels, as --root trees: one sysctl.d line
# `tcp_keepalive_time = 5000000` (above INT_MAX/1000 = 2147483, below
# INT_MAX/250 = 8589934) is refused where the tree's boot/config says
# HZ=1000, taken where it says HZ=250, and taken with a warning that names
# the condition where the tree tells no HZ.
# Exit 0 pass, 1 fail, 77 skip.
set -u
export LC_ALL=C
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root
need_cmds jq gzip zcat
enter_netns -- "$@"
need_scratch

# boot_check ROOT: check --format json over ROOT, into $W/out.json.
boot_check() {
	(cd / && timeout "$TT_HANG" "$BIN" check --root "$1" --format json --no-state) >"$W/out.json" 2>"$W/err"
	[ $? -le 2 ] || fail "check --root $1 failed: $(head -c 500 "$W/err")"
	jq -e 'type == "object"' "$W/out.json" >/dev/null || fail "not JSON: $(head -c 300 "$W/out.json")"
}
# rejected KEY LINE: is file line LINE of 60-hz.conf refused for KEY?
rejected() {
	jq -e --arg k "$1" --argjson l "$2" \
		'[.boot.rejected[] | select(.key == $k and .line == $l)] | length > 0' "$W/out.json" >/dev/null
}

# ---- part 1: this kernel ------------------------------------------------------
[ -r /proc/config.gz ] || skip "this kernel exports no /proc/config.gz (CONFIG_IKCONFIG_PROC), so its HZ is unknown here"
HZ=$(zcat /proc/config.gz | sed -n 's/^CONFIG_HZ=\([0-9]*\)$/\1/p')
[ -n "$HZ" ] || fail "/proc/config.gz has no CONFIG_HZ line"
BOUND=$((2147483647 / HZ))
K=/proc/sys/net/ipv4/tcp_keepalive_intvl
echo "$BOUND" >"$K" 2>/dev/null && ok1=taken || ok1=refused
echo 75 >"$K"
echo "$((BOUND + 1))" >"$K" 2>/dev/null && ok2=taken || ok2=refused
echo 75 >"$K"
[ "$ok1/$ok2" = taken/refused ] || fail "the kernel (HZ=$HZ) answered $ok1/$ok2 to $BOUND/$((BOUND + 1)), not taken/refused"

"$BIN" check --format json --no-state >"$W/live.json" 2>"$W/err"
[ "$(jq '.facts["kernel.hz"]' "$W/live.json")" = "$HZ" ] ||
	fail "check says kernel.hz $(jq '.facts["kernel.hz"]' "$W/live.json"), /proc/config.gz $HZ"

R=$W/live-root
boot_root "$R"
cp /proc/config.gz "$R/proc/config.gz"
printf 'net.ipv4.tcp_keepalive_intvl = %s\nnet.ipv4.tcp_keepalive_time = %s\n' "$BOUND" "$((BOUND + 1))" \
	>"$R/etc/sysctl.d/60-hz.conf"
boot_check "$R"
rejected net.ipv4.tcp_keepalive_intvl 1 && fail "line 1 ($BOUND, taken by the kernel) is predicted refused"
rejected net.ipv4.tcp_keepalive_time 2 || fail "line 2 ($((BOUND + 1)), refused by the kernel) is not predicted refused"
[ "$(jq -r '.sysctl["net.ipv4.tcp_keepalive_intvl"].boot.value // "none"' "$W/out.json")" = "$BOUND" ] ||
	fail "boot value of tcp_keepalive_intvl is not $BOUND"
[ "$(jq -r '.sysctl["net.ipv4.tcp_keepalive_time"].boot.value // "none"' "$W/out.json")" != "$((BOUND + 1))" ] ||
	fail "the refused $((BOUND + 1)) is shown as tcp_keepalive_time's boot value"
echo "part 1: HZ=$HZ, $BOUND taken and $((BOUND + 1)) refused by the kernel and by check's prediction"

# ---- part 2: other kernels ----------------------------------------------------
REL=$(cat "$TT_ROOT/tests/fixtures/roots/diff-procps/proc/sys/kernel/osrelease")
for hz in 1000 250 none; do
	R=$W/root-$hz
	boot_root "$R"
	echo 'net.ipv4.tcp_keepalive_time = 5000000' >"$R/etc/sysctl.d/60-hz.conf"
	if [ "$hz" != none ]; then
		mkdir -p "$R/boot"
		printf 'CONFIG_NO_HZ_IDLE=y\nCONFIG_HZ_%s=y\nCONFIG_HZ=%s\n' "$hz" "$hz" >"$R/boot/config-$REL"
	fi
	boot_check "$R"
	boot=$(jq -r '.sysctl["net.ipv4.tcp_keepalive_time"].boot.value // "none"' "$W/out.json")
	warn=$(jq -r '[.boot.warnings[] | select(.file | endswith("60-hz.conf")) | .text] | join("|")' "$W/out.json")
	case $hz in
	1000)
		rejected net.ipv4.tcp_keepalive_time 1 || fail "HZ=1000: 5000000 is not reported refused"
		[ "$boot" != 5000000 ] || fail "HZ=1000: the refused value is shown as the boot value" ;;
	250)
		rejected net.ipv4.tcp_keepalive_time 1 && fail "HZ=250: 5000000 is reported refused"
		[ "$boot" = 5000000 ] || fail "HZ=250: boot value $boot, not 5000000"
		[ -z "$warn" ] || fail "HZ=250: unexpected warning: $warn" ;;
	none)
		rejected net.ipv4.tcp_keepalive_time 1 && fail "HZ unknown: 5000000 is reported refused"
		[ "$boot" = 5000000 ] || fail "HZ unknown: boot value $boot, not 5000000"
		case $warn in
		*"CONFIG_HZ is at most 429"*"unknown"*) ;;
		*) fail "HZ unknown: no warning naming the HZ condition (got '$warn')" ;;
		esac ;;
	esac
	echo "part 2: HZ=$hz: boot value $boot${warn:+, warning: $warn}"
done
# A config.gz in the tree wins over boot/config (the running kernel's own).
printf 'CONFIG_HZ=250\n' | gzip >"$W/root-1000/proc/config.gz"
boot_check "$W/root-1000"
[ "$(jq '.facts["kernel.hz"]' "$W/out.json")" = 250 ] || fail "proc/config.gz does not win over boot/config"
echo PASS
