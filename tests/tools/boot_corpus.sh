#!/bin/bash
# boot_corpus.sh DIR: for every file in DIR (real sysctl.d files collected
# elsewhere; none are kept in this repository), check tcptune's boot model
# against the kernel: the file's net.* lines are applied by the real
# systemd-sysctl in one throwaway network and mount namespace and by the real
# `sysctl --system` in another (tmpfs over the configuration directories;
# keys outside net.* are never written, they are host-wide); the tracked
# values systemd-sysctl left become the proc/sys of a --root tree whose
# etc/sysctl.d holds the whole file; then
#   - `tcptune --root TREE check` must report no drift (sysctld.drift 0), and
#   - the tracked keys the kernel refused (systemd's "Couldn't write",
#     procps' "setting key") must be the ones tcptune lists in
#     .boot.rejected for that program, value for value for systemd.
# Prints one line per file (net.* assignments, tracked keys the file sets at
# boot, rejected, drift; untracked net.* keys the kernel refused, which
# tcptune does not judge) and a summary; exits 1 on any disagreement.
set -u
DIR=${1:?usage: boot_corpus.sh DIR}
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BIN=${TCPTUNE:-$ROOT/build/tcptune}
KEYS="net.ipv4.tcp_fin_timeout net.ipv4.tcp_keepalive_time net.ipv4.tcp_keepalive_intvl
net.ipv4.tcp_keepalive_probes net.ipv4.tcp_tw_reuse net.ipv4.tcp_tw_reuse_delay net.ipv4.tcp_max_tw_buckets
net.ipv4.tcp_orphan_retries net.ipv4.tcp_max_syn_backlog net.ipv4.tcp_syncookies net.ipv4.tcp_timestamps
net.ipv4.ip_local_port_range net.ipv4.ip_unprivileged_port_start net.core.somaxconn
net.ipv4.ip_local_reserved_ports"
HOSTNS=$(stat -L -c %i /proc/2/ns/net) || exit 1
W=$(mktemp -d) || exit 1
trap 'rm -rf "$W"' EXIT
bad=0 n=0
for f in "$DIR"/*; do
	name=$(basename "$f")
	case $name in *.tsv | *.md | *.txt) continue ;; esac	# the corpus' index, not a sysctl file
	t=$W/$name
	mkdir -p "$t/root/etc/sysctl.d" "$t/root/proc/sys/kernel" "$t/conf"
	cp "$f" "$t/root/etc/sysctl.d/$name.conf"
	cat /proc/sys/kernel/osrelease >"$t/root/proc/sys/kernel/osrelease"
	# net.* lines only (and comments/blank lines, to keep line numbers).
	awk '{ s = $0; sub(/^[ \t]*-?[ \t]*/, "", s);
	       if (s ~ /^(net[.\/]|#|;|$)/) print; else print "#" }' "$f" >"$t/conf/$name.conf"
	for prog in systemd procps; do
		HOSTNS=$HOSTNS KEYS=$KEYS unshare --net --mount -- bash -c '
			set -u
			[ "$(stat -L -c %i /proc/self/ns/net)" != "$HOSTNS" ] || { echo GUARD >&2; exit 99; }
			mount --make-rprivate / && mount -t tmpfs tmpfs /run && mkdir /run/sysctl.d &&
			mount -t tmpfs tmpfs /usr/local/lib 2>/dev/null; mkdir -p /usr/local/lib/sysctl.d
			mount -t tmpfs tmpfs /etc/sysctl.d && mount -t tmpfs tmpfs /usr/lib/sysctl.d || exit 98
			mount --bind /dev/null /etc/sysctl.conf || exit 97
			cp "$1/conf/"*.conf /etc/sysctl.d/
			if [ "$2" = procps ]; then
				sysctl --system >"$1/pp.log" 2>&1
				exit 0
			fi
			SYSTEMD_LOG_LEVEL=info /lib/systemd/systemd-sysctl 2>"$1/sd.log"
			for k in $KEYS; do
				p=${k//.//}
				[ -e "/proc/sys/$p" ] || continue
				mkdir -p "$1/root/proc/sys/${p%/*}"
				cat "/proc/sys/$p" >"$1/root/proc/sys/$p"
			done' run "$t" "$prog" || { echo "FAIL $name: namespace run ($prog)"; bad=$((bad + 1)); continue 2; }
	done
	"$BIN" --root "$t/root" check --format json --no-state >"$t/check.json" 2>/dev/null
	python3 - "$t" "$name" "$KEYS" <<'PY' || bad=$((bad + 1))
import json, re, sys
t, name, keys = sys.argv[1], sys.argv[2], sys.argv[3].split()
j = json.load(open(t + "/check.json"))
drift = j["facts"]["sysctld.drift"]
tracked = set(j["sysctl"])
real, untracked, real_pp = set(), set(), set()
for ln in open(t + "/sd.log", errors="replace", newline="\n"):
    m = re.search(r"Couldn't write '(.*)' to '([^']*)'.*: (.*)$", ln.rstrip("\n"))
    if m and m.group(3) != "No such file or directory":	# a missing key is not a refusal
        k = m.group(2).replace("/", ".")
        (real.add((k, m.group(1))) if k in tracked else untracked.add(k))
for ln in open(t + "/pp.log", errors="replace", newline="\n"):
    m = re.match(r'sysctl: setting key "(.*)": ', ln)
    if m and m.group(1) in tracked:
        real_pp.add(m.group(1))
ours = set((r["key"], r["value"]) for r in j["boot"]["rejected"] if "systemd" in r["by"])
ours_pp = set(r["key"] for r in j["boot"]["rejected"] if "procps" in r["by"])
conf = "/etc/sysctl.d/%s.conf" % name
sets = sum(1 for e in j["sysctl"].values() if e["boot"] and e["boot"]["file"] == conf)
lines = 0
for ln in open(t + "/conf/%s.conf" % name, "rb"):
    s = ln.strip()
    lines += s[:1] not in (b"", b"#", b";") and b"=" in s
ok = drift == 0 and real == ours and real_pp == ours_pp
print("%s %s: %d net lines, %d tracked set, rejected %d, drift %s, untracked refused %d%s" % (
    "ok  " if ok else "FAIL", name, lines, sets, len(ours), drift, len(untracked),
    "" if ok else "; kernel refused %s/%s, tcptune says %s/%s" % (
        sorted(real - ours), sorted(real_pp - ours_pp), sorted(ours - real), sorted(ours_pp - real_pp))))
for r in j["boot"]["rejected"]:
    print("      %s:%s %s = %r: %s" % (r["file"], r["line"], r["key"], r["value"], r["why"]))
if untracked:
    print("      untracked, refused by the kernel: %s" % " ".join(sorted(untracked)))
sys.exit(0 if ok else 1)
PY
	n=$((n + 1))
done
echo "$n files, $bad disagreements"
[ "$bad" -eq 0 ]
