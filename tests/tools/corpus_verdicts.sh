#!/bin/bash
# corpus_verdicts.sh CORPUS-DIR [OUT-DIR]: run `tcptune check` on every sysctl
# file of a corpus (CORPUS-DIR/sysctl-configs/*.conf, or CORPUS-DIR/*.conf) in
# three --root trees, and print one line per file and tree with the findings
# (id and world).  Run by hand, not by `make test`: the corpus is not part of
# the repository (docs/CORPUS-VERDICTS.md holds the verdicts it supports).
#
# The trees, each a copy of a fixture host with the file placed where its
# origin put it (manifest.tsv's path: a "sysctl.conf" as /etc/sysctl.conf,
# which Debian's 99-sysctl.conf link also gives to systemd-sysctl; a sysctl.d
# file under its own name in /etc/sysctl.d; systemd's vendor file in
# /usr/lib/sysctl.d):
#   configured  /proc/sys at this kernel's defaults: the values a new network
#               namespace starts with (read with `unshare --net`, reading
#               only), the host-wide keys from the host, the kernel release
#               of this host; nf_conntrack loaded with its default timeouts.
#   applied     the same, with /proc/sys holding what boot would set (each
#               tracked key's .sysctl[KEY].boot.value from the configured run).
#   old         Linux 4.9 (tests/fixtures/roots/old-kernel: tcp_tw_recycle
#               still exists, somaxconn 128, tcp_tw_reuse 0), counters and
#               sockstat from CORPUS-DIR/proc-fixtures/node_exporter when
#               present, and the file's values applied as on the kernel.
# OUT-DIR (default: a temporary directory, removed) keeps each tree and its
# JSON.  Output: "FILE TREE exit ids", ids as id@world, comma-separated.
# Reads files only, writes only under OUT-DIR; never touches /etc or /proc/sys.
set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
TCPTUNE=${TCPTUNE:-$ROOT/build/tcptune}
CORPUS=${1:?usage: corpus_verdicts.sh CORPUS-DIR [OUT-DIR]}
OUT=${2:-}
[ -x "$TCPTUNE" ] || { echo "missing $TCPTUNE (make build/tcptune)" >&2; exit 1; }
command -v jq >/dev/null && command -v python3 >/dev/null || { echo "needs jq and python3" >&2; exit 1; }
CONFS=$CORPUS/sysctl-configs
[ -d "$CONFS" ] || CONFS=$CORPUS
ls "$CONFS"/*.conf >/dev/null 2>&1 || { echo "no *.conf under $CONFS" >&2; exit 1; }
if [ -z "$OUT" ]; then
	OUT=$(mktemp -d "${TMPDIR:-/tmp}/tcptune-corpus.XXXXXX") || exit 1
	trap 'rm -rf "$OUT"' EXIT
fi
mkdir -p "$OUT" || exit 1
: >"$OUT/empty.yaml"
DATA=$OUT/data
mkdir -p "$DATA/rules" "$DATA/profiles"
cp "$ROOT"/rules/*.yaml "$DATA/rules/" && cp "$ROOT"/profiles/*.yaml "$DATA/profiles/"
chmod -R go-w "$DATA"

# ---- the templates ----------------------------------------------------------
# Every key this kernel has, with the value a new network namespace starts
# with (the kernel's defaults for per-namespace keys; host-wide ones as the
# host has them), so that lines for untracked keys (vm.*, kernel.*, fs.*) are
# not taken for stale ones.  Read only: nothing is written in the namespace.
WALK='
import os
for d, _, files in os.walk("/proc/sys"):
    for n in files:
        p = os.path.join(d, n)
        try:
            with open(p) as f:
                v = f.read(200).split("\n")[0].replace("\t", " ")
        except OSError:
            v = ""    # write-only (route/flush) or refused: the key exists all the same
        print(p[len("/proc/sys/"):] + "\t" + v)
'
# The namespace's values first; keys only the host has (host-wide ones such
# as tcp_max_orphans, net.core.netdev_max_backlog) from the host.
{ unshare --net timeout 120 python3 -c "$WALK" && timeout 120 python3 -c "$WALK"; } 2>/dev/null |
	awk -F'\t' '!seen[$1]++' >"$OUT/keys.tsv"
[ -s "$OUT/keys.tsv" ] || { echo "cannot read /proc/sys" >&2; exit 1; }
# Keys Debian's, Ubuntu's and RHEL's kernels have that a minimal build may
# lack (this script was first run on a kernel without CONFIG_MAGIC_SYSRQ,
# Yama or kexec): a line for them is not stale on the hosts these files were
# written for.
for kv in kernel/sysrq:438 kernel/yama/ptrace_scope:1 kernel/kexec_load_disabled:0; do
	grep -q "^${kv%:*}"$'\t' "$OUT/keys.tsv" || printf '%s\t%s\n' "${kv%:*}" "${kv#*:}" >>"$OUT/keys.tsv"
done
# sysctl_tree DIR: DIR/proc/sys from keys.tsv.
sysctl_tree() {
	python3 -c '
import os, sys
root = sys.argv[1]
for line in open(sys.argv[2]):
    k, _, v = line.rstrip("\n").partition("\t")
    p = os.path.join(root, "proc/sys", k)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(v + "\n")
' "$1" "$OUT/keys.tsv"
}
# now: the healthy fixture host without tcptune's own file and store.
NOW=$OUT/template-now
rm -rf "$NOW"
cp -a "$ROOT/tests/fixtures/rules/base" "$NOW"
rm -rf "$NOW/etc/sysctl.d/99-tcptune.conf" "$NOW/var/lib/tcptune"
: >"$NOW/etc/sysctl.conf"
# nf_conntrack loaded (the fixture's default timeouts) where this host has not.
mv "$NOW/proc/sys/net/netfilter" "$OUT/netfilter"
rm -rf "$NOW/proc/sys"
sysctl_tree "$NOW"
[ -d "$NOW/proc/sys/net/netfilter" ] || mv "$OUT/netfilter" "$NOW/proc/sys/net/netfilter"
rm -rf "$OUT/netfilter"
uname -r >"$NOW/proc/sys/kernel/osrelease"
# old: Linux 4.9 and its defaults (the fixture's values over this kernel's
# key set, less the keys 4.9 does not have), no nf_conntrack.
OLD=$OUT/template-old
rm -rf "$OLD"
cp -a "$ROOT/tests/fixtures/roots/old-kernel" "$OLD"
mv "$OLD/proc/sys" "$OUT/oldsys"
sysctl_tree "$OLD"
cp -a "$OUT/oldsys/." "$OLD/proc/sys/"
rm -rf "$OUT/oldsys" "$OLD/proc/sys/net/netfilter" "$OLD/proc/sys/net/ipv4/tcp_tw_reuse_delay" \
	"$OLD/proc/sys/net/ipv4/ip_unprivileged_port_start"
rm -rf "$OLD/etc" && mkdir -p "$OLD/etc/sysctl.d" && : >"$OLD/etc/sysctl.conf"
ln -s ../sysctl.conf "$OLD/etc/sysctl.d/99-sysctl.conf"
echo 0 >"$OLD/proc/sys/net/ipv4/tcp_tw_recycle"
for f in netstat sockstat; do
	[ -f "$CORPUS/proc-fixtures/node_exporter/proc/net/$f" ] &&
		cp "$CORPUS/proc-fixtures/node_exporter/proc/net/$f" "$OLD/proc/net/$f"
done

# place TREE FILE NAME: put the corpus file where its origin had it
# (manifest.tsv's path: a sysctl.d file keeps its name; systemd's own file is
# a vendor file in /usr/lib; anything else is a sysctl.conf).
place() {
	local path
	path=$(awk -F'\t' -v f="$3" '$1 == f { print $3; exit }' "$CONFS/manifest.tsv" 2>/dev/null)
	case $path in
	sysctl.d/50-default.conf) mkdir -p "$1/usr/lib/sysctl.d" && cp "$2" "$1/usr/lib/sysctl.d/50-default.conf" ;;
	*sysctl.d/*) rm -f "$1/etc/sysctl.d/${path##*/}" && cp "$2" "$1/etc/sysctl.d/${path##*/}" ;;
	*) cp "$2" "$1/etc/sysctl.conf" ;;
	esac
}
# check TREE JSON: run check, print exit code.
check() {
	(cd / && exec timeout 60 "$TCPTUNE" --data "$DATA" check --root "$1" --format json \
		--config "$OUT/empty.yaml") >"$2" 2>"$2.err"
	echo $?
}
# apply TREE JSON: write each tracked key's boot value (systemd order) into
# TREE/proc/sys, where the key exists there.
apply() {
	jq -r '.sysctl | to_entries[] | select(.value.boot != null and .value.boot.value != null)
		| "\(.key)\t\(.value.boot.value | if type == "array" then map(tostring) | join(" ") else tostring end)"' "$2" |
		while IFS=$'\t' read -r k v; do
			p=$1/proc/sys/${k//.//}
			[ -f "$p" ] && echo "$v" >"$p"
		done
}
ids() {
	jq -r '[.findings[] | "\(.id)@\(.world)"] | join(",") | if . == "" then "-" else . end' "$1" 2>/dev/null || echo "(no JSON)"
}

for conf in "$CONFS"/*.conf; do
	name=$(basename "$conf" .conf)
	d=$OUT/$name
	rm -rf "$d" && mkdir -p "$d"
	cp -a "$NOW" "$d/configured"
	place "$d/configured" "$conf" "$name.conf"
	rc=$(check "$d/configured" "$d/configured.json")
	echo "$name configured $rc $(ids "$d/configured.json")"
	cp -a "$d/configured" "$d/applied"
	apply "$d/applied" "$d/configured.json"
	rc=$(check "$d/applied" "$d/applied.json")
	echo "$name applied $rc $(ids "$d/applied.json")"
	cp -a "$OLD" "$d/old"
	place "$d/old" "$conf" "$name.conf"
	check "$d/old" "$d/old-configured.json" >/dev/null
	apply "$d/old" "$d/old-configured.json"
	rc=$(check "$d/old" "$d/old.json")
	echo "$name old $rc $(ids "$d/old.json")"
done
