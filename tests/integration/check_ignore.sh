#!/bin/bash
# Audited exceptions: --ignore ID and `ignore:` in tcptune.yaml silence a
# finding for the exit code and the text report, while JSON still lists it
# with "ignored": true.
set -u
. "$(dirname "$0")/lib.sh"
need_cmds jq
need_bin
tmp=$(mktemp -d) || fail mktemp
trap 'rm -rf "$tmp"; tt_cleanup' EXIT
# A copy of a 4.9 server with tcp_tw_recycle=1: under --root, tcptune.yaml and
# --config are read inside the tree (the fixture has no etc/tcptune).
ROOT=$tmp/root
cp -a "$TT_ROOT/tests/fixtures/roots/old-kernel" "$ROOT" || fail "cannot copy the fixture"

"$BIN" check --root "$ROOT" --format json > "$tmp/all.json"
rc_all=$?
[ "$rc_all" = 2 ] || fail "a 4.9 server with tcp_tw_recycle=1 should be critical (exit 2), got $rc_all"
jq -e '.findings[] | select(.id == "tw-recycle-enabled" and .severity == "critical" and .ignored == false)' \
	"$tmp/all.json" >/dev/null || fail "tw-recycle-enabled not reported: $(jq -c '[.findings[].id]' "$tmp/all.json")"
crit=$(jq '[.findings[] | select(.severity == "critical")] | length' "$tmp/all.json")
[ "$crit" = 1 ] || fail "expected one critical finding on this fixture, got $crit"

# --ignore: still listed, marked, and no longer decides the exit code.
"$BIN" check --root "$ROOT" --format json --ignore tw-recycle-enabled > "$tmp/ign.json"
rc_ign=$?
[ "$rc_ign" -lt 2 ] || fail "ignored critical still gives exit $rc_ign"
jq -e '.findings[] | select(.id == "tw-recycle-enabled" and .ignored == true)' "$tmp/ign.json" >/dev/null ||
	fail "ignored finding missing from JSON or not marked"
[ "$(jq '.findings | length' "$tmp/ign.json")" = "$(jq '.findings | length' "$tmp/all.json")" ] ||
	fail "ignoring changed the number of findings listed"
"$BIN" check --root "$ROOT" --ignore tw-recycle-enabled > "$tmp/ign.txt"
grep -q "Ignored on purpose: .*tw-recycle-enabled" "$tmp/ign.txt" || fail "text report does not list it as ignored"
grep -q "^CRITICAL " "$tmp/ign.txt" && fail "text report still shows the ignored critical finding"

# The same from the site file.
mkdir -p "$ROOT/etc/tcptune" || fail mkdir
printf 'ignore:\n  - tw-recycle-enabled\n' > "$ROOT/etc/tcptune/tcptune.yaml"
chmod 0644 "$ROOT/etc/tcptune/tcptune.yaml"
"$BIN" check --root "$ROOT" --format json > "$tmp/conf.json"
rc_conf=$?
[ "$rc_conf" = "$rc_ign" ] || fail "config ignore gives exit $rc_conf, --ignore gives $rc_ign"
jq -e '.findings[] | select(.id == "tw-recycle-enabled" and .ignored == true)' "$tmp/conf.json" >/dev/null ||
	fail "config ignore not applied"
# The live /etc is never read under --root: a --config that is only outside the tree is missing.
cp "$ROOT/etc/tcptune/tcptune.yaml" "$tmp/outside.yaml"
"$BIN" check --root "$ROOT" --config "$tmp/outside.yaml" >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" = 3 ] || fail "a --config outside the root: exit $rc, want 3"
grep -qF "$ROOT$tmp/outside.yaml" "$tmp/err" || fail "a --config outside the root: $(cat "$tmp/err")"

# A bad site file is an error with its position, not silently skipped.
printf 'ignore: tw-recycle-enabled\n' > "$ROOT/bad.yaml"
chmod 0644 "$ROOT/bad.yaml"
"$BIN" check --root "$ROOT" --config /bad.yaml >/dev/null 2>"$tmp/err"
rc_bad=$?
[ "$rc_bad" = 3 ] || fail "bad config: exit $rc_bad"
grep -q "bad.yaml:1:9: 'ignore' is a list" "$tmp/err" || fail "bad config message: $(cat "$tmp/err")"
echo "ok: ignore: exit $rc_all -> $rc_ign (--ignore) and $rc_conf (tcptune.yaml); finding kept with ignored=true"
