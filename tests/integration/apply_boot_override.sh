#!/bin/bash
# Issue #16, the apply side: (1) apply refuses, exit 4, when a key would lose
# at boot to another sysctl.d file, changing nothing; --allow-boot-override
# applies and says which key loses; (2) --dry-run says that nothing changed
# (text and JSON) and nothing did; (3) rollback shows its plan (key, now,
# after, read from /proc/sys) before it asks, with --dry-run and --yes; (4)
# `apply default` removes the managed file and leaves every key it sets at
# the value a brand-new network namespace starts with on this kernel.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq unshare
enter_netns --tmpfs /etc/sysctl.d --tmpfs /var/lib -- "$@"
need_store
T=$(mktemp -d /tmp/apply-boot.XXXXXX) || fail "mktemp -d failed"
trap 'tt_cleanup; rm -rf "$T"' EXIT
managed=$SD/99-tcptune.conf
fin=/proc/sys/net/ipv4/tcp_fin_timeout
# The store minus its lock file, which any changing verb creates.
state() { snap_runtime; snap_dir "$SD"; snap_dir "$STORE" | grep -Ev "^lock |/lock$"; }

# --- (1) a key that loses at boot: refused, exit 4, nothing changed --------
# 99-zzz.conf sorts after 99-tcptune.conf, so its line wins at boot under
# both programs (the plan's LOSES, checked against systemd-sysctl and
# sysctl --system in diff_agrees_with_boot).
echo "net.ipv4.tcp_fin_timeout = 45" > "$SD/99-zzz.conf"
fin0=$(cat $fin)
s0=$(state)
"$BIN" apply web-server --yes >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" = 4 ] || fail "apply with a losing key exited $rc, expected 4: $(cat "$T/err")"
grep -q "^Refused: 1 key of web-server would lose at boot" "$T/out" || fail "no refusal in: $(cat "$T/out")"
grep -q "net.ipv4.tcp_fin_timeout: 45 from $SD/99-zzz.conf:1 (systemd-sysctl and sysctl --system)" "$T/out" ||
	fail "the refusal does not name the key and the file: $(cat "$T/out")"
grep -q "refused: 1 key would lose at boot" "$T/err" || fail "no one-line error on stderr: $(cat "$T/err")"
[ "$(state)" = "$s0" ] || fail "a refused apply changed something: $(diff <(echo "$s0") <(state))"
"$BIN" apply web-server --yes --format json >"$T/j" 2>/dev/null; rc=$?
[ "$rc" = 4 ] || fail "JSON apply with a losing key exited $rc"
jq -e '.changed == false and .status == "refused" and .reason == "loses-at-boot" and
	(.loses_at_boot | map(.key) | unique) == ["net.ipv4.tcp_fin_timeout"]' "$T/j" >/dev/null ||
	fail "JSON refusal: $(cat "$T/j")"
# The refusal agrees with diff's plan.
[ "$("$BIN" diff web-server --format json | jq -r '.keys[] | select(.overridden_by.systemd != null) | .key')" = \
  net.ipv4.tcp_fin_timeout ] || fail "diff's LOSES differs from the refusal"
echo "  refused with exit 4, naming net.ipv4.tcp_fin_timeout: 45 from $SD/99-zzz.conf:1; nothing changed"

# --- (2) --dry-run says that nothing changed, and nothing did -----------------
"$BIN" apply web-server --dry-run >"$T/out" 2>&1 || fail "apply --dry-run failed: $(cat "$T/out")"
[ "$(tail -n 1 "$T/out")" = "Dry run: nothing changed (no runtime value, no file, no history entry)." ] ||
	fail "apply --dry-run does not end saying nothing changed: $(tail -n 3 "$T/out")"
grep -q "apply would refuse: 1 key would lose at boot" "$T/out" || fail "--dry-run does not say apply would refuse"
"$BIN" apply web-server --dry-run --format json >"$T/j" || fail "apply --dry-run --format json failed"
jq -e '.changed == false and .dry_run == true and .would_refuse == true and .profile == "web-server"' "$T/j" \
	>/dev/null || fail "dry-run JSON: $(jq -c '{changed, dry_run, would_refuse}' "$T/j")"
[ "$(state)" = "$s0" ] || fail "--dry-run changed something"
echo "  --dry-run: says nothing changed (text and JSON); runtime, files and store unchanged"

# --- --allow-boot-override applies and says what loses ---------------------
"$BIN" apply web-server --yes --allow-boot-override >"$T/out" 2>&1 || fail "apply --allow-boot-override: $(cat "$T/out")"
[ "$(cat $fin)" = 30 ] || fail "tcp_fin_timeout is $(cat $fin) after apply, web-server sets 30"
grep -q "At boot, 1 key will lose to another file (accepted with --allow-boot-override)" "$T/out" ||
	fail "the result does not say the key loses at boot: $(tail -n 5 "$T/out")"
rm "$SD/99-zzz.conf"

# --- (3) rollback shows its plan: key, now, after ---------------------------
s1=$(state)
"$BIN" rollback --dry-run >"$T/out" 2>&1 || fail "rollback --dry-run failed: $(cat "$T/out")"
grep -Eq "^\* net.ipv4.tcp_fin_timeout +$(cat $fin) +$fin0 *$" "$T/out" ||
	fail "rollback --dry-run does not show tcp_fin_timeout $(cat $fin) -> $fin0: $(cat "$T/out")"
grep -q "^Managed file $managed: removed (0001 created it)" "$T/out" || fail "no line on the managed file: $(cat "$T/out")"
[ "$(tail -n 1 "$T/out")" = "Dry run: nothing changed." ] || fail "rollback --dry-run does not say nothing changed"
"$BIN" rollback --dry-run --format json >"$T/j" || fail "rollback --dry-run --format json failed"
jq -e --arg now "$(cat $fin)" --arg after "$fin0" '.changed == false and .dry_run == true and
	(.plan[] | select(.key == "net.ipv4.tcp_fin_timeout") | .now == $now and .after == $after and .change) and
	.file.after == "removed"' "$T/j" >/dev/null || fail "rollback dry-run JSON: $(cat "$T/j")"
# Asked without a terminal and without --yes: refused, but the plan came first.
"$BIN" rollback </dev/null >"$T/out" 2>&1 && fail "rollback without --yes and without a terminal went ahead"
grep -Eq "^\* net.ipv4.tcp_fin_timeout +30 +$fin0" "$T/out" || fail "the plan was not shown before asking: $(cat "$T/out")"
[ "$(state)" = "$s1" ] || fail "rollback --dry-run or a refused rollback changed something"
"$BIN" rollback --yes >"$T/out" 2>&1 || fail "rollback --yes failed: $(cat "$T/out")"
grep -Eq "^\* net.ipv4.tcp_fin_timeout +30 +$fin0" "$T/out" || fail "rollback --yes did not show its plan"
[ "$(cat $fin)" = "$fin0" ] || fail "tcp_fin_timeout is $(cat $fin) after rollback, was $fin0"
echo "  rollback: plan (tcp_fin_timeout 30 -> $fin0, file removed) shown with --dry-run, before asking and with --yes"

# --- (4) apply default: no managed file, the kernel's own values ------------
"$BIN" apply reverse-proxy --yes >/dev/null 2>&1 || fail "apply reverse-proxy failed"
[ -e "$managed" ] || fail "no managed file after apply reverse-proxy"
"$BIN" apply default --yes >"$T/out" 2>&1 || fail "apply default failed: $(cat "$T/out")"
[ ! -e "$managed" ] || fail "apply default left $managed: $(cat "$managed")"
grep -q "^Managed file $managed: will be removed" "$T/out" || fail "apply default did not say the file goes"
n=0
for key in $("$BIN" diff default --format json | jq -r '.keys[] | select(.skipped == null) | .key'); do
	p=/proc/sys/$(echo "$key" | tr . /)
	got=$(tr -s '\t ' '  ' < "$p")
	# What the kernel itself starts a network namespace with.
	want=$(unshare --net tr -s '\t ' '  ' < "$p") || fail "cannot read $p in a new network namespace"
	[ "$got" = "$want" ] || fail "after apply default $key is '$got', a new network namespace starts with '$want'"
	n=$((n + 1))
done
[ "$n" -ge 10 ] || fail "apply default set only $n keys"
"$BIN" history --format json | jq -e 'last | .profile == "default" and .status == "applied"' >/dev/null ||
	fail "history does not end with apply default"
"$BIN" rollback --yes >/dev/null 2>&1 || fail "rollback of apply default failed"
[ -e "$managed" ] || fail "rollback of apply default did not bring the managed file back"
[ "$(tr -s '\t ' '  ' < /proc/sys/net/ipv4/ip_local_port_range)" = "10240 65535" ] ||
	fail "rollback of apply default did not bring reverse-proxy's port range back"
echo "  apply default: $managed removed, $n keys at a new namespace's values; rollback brings reverse-proxy back"
echo "ok: boot-override refusal, dry-run, rollback plan and apply default"
