#!/bin/bash
# What boot sets, tcptune against the real programs (issue #13): seeded random
# sysctl.d layouts plus one case per behaviour class (tests/tools/bootgen.py),
# each applied by the real /lib/systemd/systemd-sysctl in one fresh network
# namespace and by the real `sysctl --system` in another; /proc/sys is then
# compared with `tcptune check --format json`'s .sysctl[KEY].boot and
# .boot_procps (or the namespace's default where tcptune says boot sets
# nothing), and what the programs printed (refused writes, missing keys,
# complaints about lines) with .boot.rejected, .boot.stale and
# .boot.warnings.  The configuration directories are tmpfs mounts in a private
# mount namespace and /etc/sysctl.conf a bind mount of a scratch file, so the
# host's files are never read or changed; only net.* keys are written, and
# every program runs after a guard checked that its network namespace is not
# PID 1's.
#   TT_BOOT_CASES=N (default 300) layouts, TT_BOOT_SEED=S (default 13),
#   TT_BOOT_WORKERS=W (default 3), TT_BOOT_FRESH=0 (reuse one network
#   namespace per worker, keys reset between programs: less CPU);
#   `make difftest CASES=N [SEED=S]` runs more.
# On a mismatch it prints the seed, the case and a reproducer.
set -u
. "$(dirname "$0")/lib.sh"
need_bin
GEN=$TT_ROOT/tests/tools/bootgen.py
SD=/lib/systemd/systemd-sysctl

need_root
need_cmds python3 sysctl find
[ -x "$SD" ] || skip "needs $SD (systemd)"
CASES=${TT_BOOT_CASES:-300}
SEED=${TT_BOOT_SEED:-13}
W=$(mktemp -d) || fail "mktemp"
trap 'rm -rf "$W"' EXIT
echo "seed $SEED, $CASES layouts"
start=$(date +%s)
python3 "$GEN" gen "$W/cases" "$SEED" "$CASES" || fail "generator failed"
python3 "$GEN" run "$W/cases" "$BIN" "${TT_BOOT_WORKERS:-3}" || fail "the namespace runner failed"
python3 "$GEN" compare "$W/cases" "$SEED" || fail "tcptune disagrees with the real programs (seed $SEED; rerun: TT_BOOT_SEED=$SEED TT_BOOT_CASES=$CASES tests/run-integration boot_differential)"
echo "ok: $CASES layouts (seed $SEED) agree with systemd-sysctl and sysctl --system in $(($(date +%s) - start)) s"
