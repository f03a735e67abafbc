#!/bin/bash
# check_root_old_kernel.sh: `tcptune check --root` on a recorded old server
# (tests/fixtures/roots/old-kernel: Debian 9, Linux 4.9.0-8-amd64, tuned the
# 2018 way with tcp_tw_recycle, no nf_conntrack) must report exactly what the
# tree holds: every tracked sysctl present in the tree with its (non-default)
# value, the keys 4.9 lacks as null, the kernel version, socket counts per
# state and family, TIME_WAIT direction and destinations, the CLOSE_WAIT owner,
# sockstat and TcpExt counters, and where boot sets the keys.
#
# Expected values are computed here from the fixture files (the /proc/net/tcp
# lines are decoded by awk below), never copied from tcptune's output.
# Reads files only: no root, no namespace.  Exit 0 pass, 1 fail, 77 skip.
# TCPTUNE=/path/to/binary overrides build/tcptune (e.g. a sanitizer build).

# shellcheck disable=SC2016	# awk conditions in single quotes are meant literally
set -u
export LC_ALL=C

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_fixture_root old-kernel

W=$(mktemp -d "${TMPDIR:-/tmp}/tcptune-oldkernel.XXXXXX") || fail "mktemp -d failed"
trap 'rm -rf "$W"' EXIT
OUT=$W/check.json
ERR=$W/check.err

# ---- run ----------------------------------------------------------------------
# From another directory, so nothing depends on the caller's cwd.
(cd / && exec timeout "$TT_HANG" "$TCPTUNE" check --root "$FX" --format json) >"$OUT" 2>"$ERR"
RC=$?
# A 4.9 server with tcp_tw_recycle=1: critical (2), the findings are another test's business.
[ "$RC" = 2 ] || fail "tcptune check --root $FX --format json exited $RC (2 expected): $(head -c 2000 "$ERR")"
[ ! -s "$ERR" ] || fail "tcptune wrote to stderr on a clean tree: $(head -c 2000 "$ERR")"
jq -e 'type == "object"' "$OUT" >/dev/null 2>&1 ||
	fail "stdout is not a JSON object: $(head -c 500 "$OUT")"

# ---- helpers ------------------------------------------------------------------
# expect FILTER WANT: the compact JSON of FILTER must be WANT (compact JSON).
# Checks are queued and evaluated by one jq run (check_all): jq starts slowly.
CHK_F=() CHK_W=()
expect() {
	CHK_F+=("$1")
	CHK_W+=("$2")
}
check_all() {
	local prog="" i got=()
	for i in "${!CHK_F[@]}"; do
		prog+="${prog:+,
}(try ([${CHK_F[$i]}] | if length == 1 then (.[0] | tojson) else \"<\\(length) values>\" end)
 catch \"<jq error: \\(.)>\")"
	done
	mapfile -t got < <(jq -r "$prog" "$OUT" 2>"$W/jq.err")
	[ "${#got[@]}" = "${#CHK_F[@]}" ] ||
		fail "jq evaluated ${#got[@]} of ${#CHK_F[@]} checks: $(head -c 1000 "$W/jq.err")"
	for i in "${!CHK_F[@]}"; do
		[ "${got[$i]}" = "${CHK_W[$i]}" ] || fail "${CHK_F[$i]} is ${got[$i]}, expected ${CHK_W[$i]}"
	done
	NCHECKS=${#CHK_F[@]}
}
# jstr STRING: STRING (no control characters) as a JSON string.
jstr() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}
# expect_null_fact NAME: the fact exists in .facts and is null.
expect_null_fact() {
	expect ".facts | has(\"$1\")" true
	expect ".facts[\"$1\"]" null
}
# fx FILE: first line of a fixture file, surrounding blanks removed.
fx() {
	local v
	IFS= read -r v <"$FX/$1" || [ -n "$v" ] || fail "cannot read fixture $FX/$1"
	v=${v#"${v%%[![:space:]]*}"}
	v=${v%"${v##*[![:space:]]}"}
	printf '%s' "$v"
}

# ---- kernel -------------------------------------------------------------------
REL=$(fx proc/sys/kernel/osrelease)
[[ $REL =~ ^([0-9]+)\.([0-9]+)\.([0-9]+) ]] || fail "fixture osrelease '$REL' is not x.y.z"
[ "$REL" = 4.9.0-8-amd64 ] || fail "fixture osrelease is '$REL', this test is about 4.9.0-8-amd64"
KVER=$((BASH_REMATCH[1] * 65536 + BASH_REMATCH[2] * 256 + BASH_REMATCH[3]))
expect '.facts["kernel.version"]' "$KVER"
expect '.facts["kernel.version"]' "$((4 * 65536 + 9 * 256 + 0))"
expect '.facts["kernel.release"]' "$(jstr "$REL")"
expect .host.kernel "$(jstr "$REL")"

# ---- sysctls ------------------------------------------------------------------
# The keys 4.9 has (all in the tree) and the ones it lacks (none in the tree).
PRESENT="net.ipv4.tcp_fin_timeout net.ipv4.tcp_keepalive_time net.ipv4.tcp_keepalive_intvl
net.ipv4.tcp_keepalive_probes net.ipv4.tcp_tw_reuse net.ipv4.tcp_tw_recycle
net.ipv4.tcp_max_tw_buckets net.ipv4.tcp_max_orphans net.ipv4.tcp_orphan_retries
net.ipv4.tcp_max_syn_backlog net.ipv4.tcp_syncookies net.ipv4.tcp_timestamps
net.ipv4.ip_local_port_range net.core.somaxconn"
ABSENT="net.ipv4.tcp_tw_reuse_delay net.ipv4.ip_unprivileged_port_start
net.netfilter.nf_conntrack_tcp_timeout_time_wait net.netfilter.nf_conntrack_tcp_timeout_close_wait
net.netfilter.nf_conntrack_tcp_timeout_fin_wait"
TRACKED=$(jq -r '.sysctl | keys[]' "$OUT") || fail "no .sysctl object"
for k in $PRESENT; do
	[ -f "$FX/proc/sys/${k//.//}" ] || fail "fixture lacks proc/sys/${k//.//}"
	grep -qxF "$k" <<<"$TRACKED" || fail ".sysctl does not list the tracked key $k"
done
for k in $ABSENT; do
	[ ! -e "$FX/proc/sys/${k//.//}" ] || fail "fixture must not hold proc/sys/${k//.//} (not in 4.9)"
	grep -qxF "$k" <<<"$TRACKED" || fail ".sysctl does not list the tracked key $k"
done
[ ! -e "$FX/sys/module/nf_conntrack" ] || fail "fixture must not have sys/module/nf_conntrack"

# Every tracked key: the fixture's value if its file is in the tree, else null.
n_present=0 n_absent=0
for k in $TRACKED; do
	f=proc/sys/${k//.//}
	if [ -f "$FX/$f" ]; then
		raw=$(fx "$f")
		if [[ $raw =~ ^(-?[0-9]+)[[:blank:]]+(-?[0-9]+)$ ]]; then
			want=$(jstr "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}")	# "1024<TAB>65000" -> "1024 65000"
		elif [[ $raw =~ ^-?[0-9]+$ ]]; then
			want=$raw
		else
			fail "fixture $f holds '$raw', not one or two integers"
		fi
		expect ".facts[\"sysctl.$k\"]" "$want"
		expect ".sysctl[\"$k\"].value" "$want"
		n_present=$((n_present + 1))
	else
		expect_null_fact "sysctl.$k"
		expect ".sysctl[\"$k\"].value" null
		n_absent=$((n_absent + 1))
	fi
done
[ "$n_present" -ge 14 ] || fail "only $n_present tracked keys were compared (14 expected)"
expect '.facts["sysctl.net.ipv4.ip_local_port_range"]' '"1024 65000"'
for k in $ABSENT; do
	expect_null_fact "sysctl.$k"
done

# ---- sockets: decode the fixture's /proc/net/tcp{,6} --------------------------
[ "$(grep -c . "$FX/proc/net/tcp6")" -ge 2 ] || fail "fixture proc/net/tcp6 has no socket"
# One line per socket: family state(hex) lport(dec) remote(ip:port) timer inode rxq(dec).
decode() {
	awk '
	function hex(s,   i, v) {
		v = 0; s = toupper(s)
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1
		return v
	}
	# IPv4: the __be32 printed as a little-endian host integer.
	function ip4(h) {
		return hex(substr(h, 7, 2)) "." hex(substr(h, 5, 2)) "." hex(substr(h, 3, 2)) "." hex(substr(h, 1, 2))
	}
	FNR == 1 { fam = FILENAME ~ /tcp6$/ ? 6 : 4; next }
	{
		split($2, l, ":"); split($3, r, ":"); split($5, q, ":"); split($6, t, ":")
		remote = (fam == 4 ? ip4(r[1]) : "v6:" r[1]) ":" hex(r[2])
		print fam, $4, hex(l[2]), remote, t[1] + 0, $10, hex(q[2])
	}' "$FX/proc/net/tcp" "$FX/proc/net/tcp6"
}
decode >"$W/socks" || fail "cannot decode the fixture's proc/net/tcp{,6}"

STATES="01:established 02:syn_sent 03:syn_recv 04:fin_wait1 05:fin_wait2 06:time_wait
07:close 08:close_wait 09:last_ack 0A:listen 0B:closing"
# count AWK-CONDITION: sockets of the fixture matching it ($1 family, $2 state, ...).
count() { awk "$1 { n++ } END { print n + 0 }" "$W/socks"; }

TOTAL=$(count 1)
[ "$TOTAL" -ge 10 ] || fail "decoded only $TOTAL sockets from the fixture"
expect .sockets.total "$TOTAL"
expect '.facts["sockets.total"]' "$TOTAL"
summary=""
for p in $STATES; do
	hx=${p%%:*} st=${p#*:}
	want=$(count "\$2 == \"$hx\"")
	expect ".sockets.states.$st" "$want"
	expect ".facts[\"sockets.$st\"]" "$want"
	expect ".sockets.by_family.ipv4.$st" "$(count "\$1 == 4 && \$2 == \"$hx\"")"
	expect ".sockets.by_family.ipv6.$st" "$(count "\$1 == 6 && \$2 == \"$hx\"")"
	[ "$want" = 0 ] || summary="$summary $st $want,"
done
for hx in 01 06 08 0A 04; do
	[ "$(count "\$2 == \"$hx\"")" -gt 0 ] || fail "fixture has no socket in state $hx"
done
expect .sources.sockets '"proc"'

# Orphans: no inode, FIN_WAIT1/FIN_WAIT2/CLOSING/LAST_ACK, not a timewait minisocket.
ORPH=$(count '$6 == 0 && $5 != 3 && ($2 == "04" || $2 == "05" || $2 == "0B" || $2 == "09")')
TWM=$(count '$5 == 3')
[ "$ORPH" -ge 1 ] || fail "fixture has no orphan"
expect .sockets.orphans "$ORPH"
expect '.facts["sockets.orphans"]' "$ORPH"
expect .sockets.tw_minisocks "$TWM"
expect '.facts["sockets.tw_minisocks"]' "$TWM"
expect .sockets.unaccepted "$(count '$6 == 0 && $5 != 3 && ($2 == "01" || $2 == "08")')"

# ---- TIME_WAIT ------------------------------------------------------------------
# Incoming = local port is a listening port (of the same family file).
awk '$2 == "0A" { l[$1 " " $3] = 1; next }
	$2 == "06" { print (($1 " " $3) in l ? "in" : "out"), $1, $4 }' "$W/socks" >"$W/tw"
TW_IN=$(grep -c '^in ' "$W/tw")
TW_OUT=$(grep -c '^out ' "$W/tw")
if [ "$TW_IN" -lt 1 ] || [ "$TW_OUT" -lt 2 ]; then
	fail "fixture needs incoming and outgoing TIME_WAIT"
fi
! grep -q '^out 6 ' "$W/tw" || fail "this script decodes IPv4 destinations only; the fixture has outgoing IPv6 TIME_WAIT"
expect .timewait.incoming "$TW_IN"
expect .timewait.outgoing "$TW_OUT"
expect '.facts["timewait.incoming"]' "$TW_IN"
expect '.facts["timewait.outgoing"]' "$TW_OUT"
# Destinations of outgoing TIME_WAIT, "count remote", busiest first.
awk '$1 == "out" { n[$3]++ } END { for (d in n) print n[d], d }' "$W/tw" | sort -k1,1nr -k2 >"$W/twdest"
[ "$(wc -l <"$W/twdest")" -ge 2 ] || fail "fixture needs TIME_WAIT to two destinations"
read -r TOP_N TOP_D <"$W/twdest"
[ "$(awk 'NR == 2 { print $1 }' "$W/twdest")" -lt "$TOP_N" ] || fail "fixture's top TIME_WAIT destination is not unique"
expect '.timewait.top_destinations[0].remote' "$(jstr "$TOP_D")"
expect '.timewait.top_destinations[0].count' "$TOP_N"
expect '.facts["timewait.top.remote"]' "$(jstr "$TOP_D")"
expect '.facts["timewait.max_per_dest"]' "$TOP_N"
have=$(jq -r '.timewait.top_destinations[] | "\(.count) \(.remote)"' "$OUT" | sort -k1,1nr -k2)
[ "$have" = "$(cat "$W/twdest")" ] ||
	fail ".timewait.top_destinations is [$(tr '\n' ' ' <<<"$have")], expected [$(tr '\n' ' ' <"$W/twdest")]"

# Port usage: outgoing sockets of any state from the ephemeral range, per remote.
read -r PLOW PHIGH <<<"$(fx proc/sys/net/ipv4/ip_local_port_range)"
awk -v lo="$PLOW" -v hi="$PHIGH" '$2 == "0A" { l[$1 " " $3] = 1; next }
	!(($1 " " $3) in l) && $3 >= lo && $3 <= hi { n[$4]++ }
	END { for (d in n) print n[d], d }' "$W/socks" | sort -k1,1nr -k2 >"$W/portuse"
read -r PU_N PU_D <"$W/portuse"
expect '.facts["ports.low"]' "$PLOW"
expect '.facts["ports.high"]' "$PHIGH"
expect '.facts["ports.range_size"]' "$((PHIGH - PLOW + 1))"
expect '.facts["ports.max_dest_usage"]' "$PU_N"
expect '.facts["ports.top.remote"]' "$(jstr "$PU_D")"

# ---- CLOSE_WAIT ---------------------------------------------------------------
# Owner of each socket inode, from the fixture's proc/PID/fd links.
: >"$W/owners"
for link in "$FX"/proc/[0-9]*/fd/*; do
	[ -L "$link" ] || continue
	t=$(readlink "$link")
	[[ $t =~ ^socket:\[([0-9]+)\]$ ]] || continue
	pid=${link#"$FX"/proc/}
	echo "${BASH_REMATCH[1]} ${pid%%/*}" >>"$W/owners"
done
# "pid count unread" per owner of a CLOSE_WAIT socket; rx queue > 1 = data before the FIN.
awk 'FILENAME ~ /owners$/ { own[$1] = $2; next }
	$2 == "08" && $6 != 0 && ($6 in own) { c[own[$6]]++; if ($7 > 1) u[own[$6]]++ }
	END { for (p in c) print p, c[p], u[p] + 0 }' "$W/owners" "$W/socks" | sort -k2,2nr -k1,1n >"$W/cw"
read -r CW_PID CW_N CW_U <"$W/cw" || fail "fixture has no attributable CLOSE_WAIT socket"
[ "$CW_PID" = 4242 ] || fail "fixture: CLOSE_WAIT owner is pid $CW_PID, expected 4242"
CW_COMM=$(fx "proc/$CW_PID/comm")
[ "$CW_COMM" = leaky-app ] || fail "fixture: proc/4242/comm is '$CW_COMM'"
CW_ALL=$(count '$2 == "08"')
CW_ATTR=$(awk '{ n += $2 } END { print n + 0 }' "$W/cw")
expect '.closewait.processes[0].pid' 4242
expect '.closewait.processes[0].comm' '"leaky-app"'
expect '.closewait.processes[0].count' "$CW_N"
expect '.closewait.processes[0].unread' "$CW_U"
expect '.closewait.processes | length' "$(wc -l <"$W/cw")"
expect .closewait.unattributed "$((CW_ALL - CW_ATTR))"
expect .closewait.with_unread "$(count '$2 == "08" && $7 > 1')"
expect '.facts["closewait.top.pid"]' 4242
expect '.facts["closewait.top.comm"]' '"leaky-app"'
expect '.facts["closewait.max_per_process"]' "$CW_N"
# Peers of a server's CLOSE_WAIT (local port listening) are grouped by address.
want=$(awk -v pid="$CW_PID" 'FILENAME ~ /owners$/ { own[$1] = $2; next }
	$2 == "0A" { l[$1 " " $3] = 1; next }
	$2 == "08" && own[$6] == pid { p = $4; if (($1 " " $3) in l) sub(/:[0-9]+$/, "", p); n[p]++ }
	END { for (p in n) print n[p], p }' "$W/owners" "$W/socks" | sort)
have=$(jq -r '.closewait.processes[0].peers[] | "\(.count) \(.peer)"' "$OUT" | sort)
[ "$have" = "$want" ] ||
	fail ".closewait.processes[0].peers is [$(tr '\n' ' ' <<<"$have")], expected [$(tr '\n' ' ' <<<"$want")]"

# ---- sockstat -------------------------------------------------------------------
sockstat() { # FILE PREFIX FIELD
	awk -v p="$2" -v f="$3" '$1 == p { for (i = 2; i < NF; i += 2) if ($i == f) print $(i + 1) }' "$FX/$1"
}
for pair in inuse:inuse orphan:orphan tw:tw alloc:alloc mem:mem_pages; do
	v=$(sockstat proc/net/sockstat TCP: "${pair%%:*}")
	[ -n "$v" ] || fail "fixture sockstat lacks TCP ${pair%%:*}"
	expect ".facts[\"sockstat.${pair#*:}\"]" "$v"
done
v=$(sockstat proc/net/sockstat6 TCP6: inuse)
[ -n "$v" ] || fail "fixture sockstat6 lacks TCP6 inuse"
expect '.facts["sockstat.inuse6"]' "$v"

# ---- TcpExt -----------------------------------------------------------------------
# "name value" for every TcpExt counter of the fixture.
awk '$1 == "TcpExt:" { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = NF } else
	{ if (NF != h) exit 1; for (i = 2; i <= NF; i++) print n[i], $i } }' \
	"$FX/proc/net/netstat" >"$W/tcpext" || fail "fixture netstat: TcpExt names and values do not pair up"
grep -q '^TCPTimeWaitOverflow [1-9]' "$W/tcpext" || fail "fixture lacks a non-zero TCPTimeWaitOverflow"
! grep -q '^PAWSTimewait ' "$W/tcpext" || fail "fixture must not have PAWSTimewait (not in 4.9)"
n_tcpext=0 n_tcpext_null=0
for f in $(jq -r '.facts | keys[] | select(startswith("tcpext."))' "$OUT"); do
	v=$(awk -v n="${f#tcpext.}" '$1 == n { print $2 }' "$W/tcpext")
	if [ -n "$v" ]; then
		expect ".facts[\"$f\"]" "$v"
		n_tcpext=$((n_tcpext + 1))
	else
		expect ".facts[\"$f\"]" null
		n_tcpext_null=$((n_tcpext_null + 1))
	fi
done
expect '.facts["tcpext.TCPTimeWaitOverflow"]' "$(awk '$1 == "TCPTimeWaitOverflow" { print $2 }' "$W/tcpext")"
expect_null_fact tcpext.PAWSTimewait
[ "$n_tcpext" -ge 5 ] || fail "only $n_tcpext TcpExt facts matched the fixture"

# ---- NAT signals --------------------------------------------------------------------
expect '.facts["nat.ip_forward"]' "$(fx proc/sys/net/ipv4/ip_forward)"
expect '.facts["nat.conntrack_loaded"]' 0
expect_null_fact nat.conntrack_count
expect_null_fact nat.conntrack_max
grep -q '^nf_nat ' "$FX/proc/modules" && fail "fixture proc/modules must not list nf_nat"
expect '.facts["nat.nat_loaded"]' 0

# ---- boot configuration ---------------------------------------------------------------
# line KEY FILE: line number of the fixture's assignment of KEY in FILE.
line() { grep -nE "^[[:space:]]*${1//./\\.}[[:space:]]*=" "$FX/$2" | tail -n 1 | cut -d: -f1; }
for k in net.ipv4.tcp_tw_recycle net.ipv4.tcp_fin_timeout; do
	n=$(line "$k" etc/sysctl.d/10-tuning.conf)
	[ -n "$n" ] || fail "fixture etc/sysctl.d/10-tuning.conf does not set $k"
	v=$(fx "proc/sys/${k//.//}")
	expect ".sysctl[\"$k\"].boot | {value, file, line}" "{\"value\":$v,\"file\":\"/etc/sysctl.d/10-tuning.conf\",\"line\":$n}"
	expect ".sysctl[\"$k\"].boot_procps | {value, file, line}" "{\"value\":$v,\"file\":\"/etc/sysctl.d/10-tuning.conf\",\"line\":$n}"
done
# /etc/sysctl.conf: procps reads it itself; systemd through 99-sysctl.conf -> ../sysctl.conf.
[ "$(readlink "$FX/etc/sysctl.d/99-sysctl.conf")" = ../sysctl.conf ] || fail "fixture lacks etc/sysctl.d/99-sysctl.conf -> ../sysctl.conf"
n=$(line net.ipv4.tcp_keepalive_time etc/sysctl.conf)
[ -n "$n" ] || fail "fixture etc/sysctl.conf does not set net.ipv4.tcp_keepalive_time"
v=$(fx proc/sys/net/ipv4/tcp_keepalive_time)
expect '.sysctl["net.ipv4.tcp_keepalive_time"].boot_procps | {value, file, line}' "{\"value\":$v,\"file\":\"/etc/sysctl.conf\",\"line\":$n}"
# systemd reads it through the link; the file to edit is named (the link's target).
expect '.sysctl["net.ipv4.tcp_keepalive_time"].boot | {value, file, line}' "{\"value\":$v,\"file\":\"/etc/sysctl.conf\",\"line\":$n}"
n=$(line net.ipv4.ip_local_port_range etc/sysctl.conf)
expect '.sysctl["net.ipv4.ip_local_port_range"].boot_procps | {value, file, line}' "{\"value\":\"$PLOW $PHIGH\",\"file\":\"/etc/sysctl.conf\",\"line\":$n}"
# The one line for a key this kernel lacks: conntrack not loaded.  Not tcp_tw_recycle,
# which 4.9 still has.
n=$(line net.netfilter.nf_conntrack_tcp_timeout_time_wait etc/sysctl.conf)
[ -n "$n" ] || fail "fixture etc/sysctl.conf lacks the nf_conntrack line"
expect '.boot.stale | length' 1
expect '.facts["sysctld.stale"]' 1
expect '.boot.stale[0] | [.key, .line, .reason]' "[\"net.netfilter.nf_conntrack_tcp_timeout_time_wait\",$n,\"module-not-loaded\"]"
expect '.boot.stale[0].file | IN("/etc/sysctl.conf", "/etc/sysctl.d/99-sysctl.conf")' true
expect '.facts["sysctld.drift"]' 0

check_all
echo "ok: $NAME: rc $RC; kernel $REL = $KVER; $n_present sysctls match, $n_absent null;" \
	"$TOTAL sockets (${summary%,} ); TIME_WAIT in $TW_IN out $TW_OUT top $TOP_D x$TOP_N;" \
	"CLOSE_WAIT $CW_COMM pid $CW_PID x$CW_N (unread $CW_U); sockstat+6 ok;" \
	"tcpext $n_tcpext match, $n_tcpext_null null; 1 stale boot line; $NCHECKS checks"
exit 0
