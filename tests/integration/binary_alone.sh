#!/bin/bash
# The binary copied alone into an empty directory, with no rules/ or profiles/
# anywhere on its search path, still works from the copy compiled into it:
# `check --format json` loads every shipped rule and recommends a profile,
# `list rules|profiles` name every shipped file's ids, and
# `apply --dry-run web-server` prints the plan and changes nothing.  No data
# file is ever opened (strace).  /etc/tcptune and PREFIX/share/tcptune must be
# absent on this machine: the test skips rather than create or remove them.
# Everything runs in new network and mount namespaces, with tmpfs over
# /etc/sysctl.d and /var/lib.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq cp find cmp mktemp sort
SRC=$TT_ROOT/build/tcptune
[ -x "$SRC" ] || fail "build first: make build/tcptune"

# The data directories this binary searches: the ones it tries to open (strace),
# plus /etc/tcptune and the compiled-in PREFIX/share/tcptune found in the binary.
tt_data_dirs() {
	{
		echo /etc/tcptune
		grep -aoE '/[[:alnum:]_./+-]*/share/tcptune' "$SRC"
		if command -v strace >/dev/null 2>&1; then
			(cd / && strace -f -qq -e trace=openat,open "$SRC" list rules 2>&1 >/dev/null) |
				sed -n 's/.*open[a-z]*([^"]*"\([^"]*\)\/\(rules\|profiles\)", .*O_DIRECTORY.*/\1/p'
		fi
	} | sort -u
}

if [ -z "${TT_NETNS_OUTER:-}" ]; then
	dirs=$(tt_data_dirs)
	for d in $dirs; do
		[ -e "$d" ] || [ -L "$d" ] &&
			skip "$d exists on this machine; this test needs no data directory besides the built-in copy (it will not remove $d)"
	done
	echo "data directories searched, all absent: ${dirs//$'\n'/ }"
fi
enter_netns --tmpfs /etc/sysctl.d --tmpfs /var/lib -- "$@"
mkdir -m 0700 /var/lib/tcptune || fail "mkdir /var/lib/tcptune (in the tmpfs)"

work=$(mktemp -d) || fail "mktemp -d"
out=$(mktemp -d) || fail "mktemp -d"
trap 'tt_cleanup; rm -rf -- "$work" "$out"' EXIT
cp "$SRC" "$work/tcptune" || fail "cp"
[ "$(ls -A "$work")" = tcptune ] || fail "$work holds more than the binary: $(ls -A "$work")"
cd "$work" || fail "cd $work"

# --- check, from the built-in rules -------------------------------------------
./tcptune check --format json >"$out/check.json" 2>"$out/check.err"
rc=$?
[ "$rc" -le 2 ] || { cat "$out/check.err" >&2; fail "./tcptune check --format json exited $rc (want 0..2)"; }
jq -e '(.findings | type == "array") and (.rule_errors | length == 0)
	and (.recommendation.profile | type == "string") and (.status | type == "string")' \
	"$out/check.json" >/dev/null || fail "check JSON lacks findings, recommendation or status, or has rule errors: $(head -c 600 "$out/check.json")"
echo "./tcptune check --format json: exit $rc, status $(jq -r .status "$out/check.json"), $(jq '.findings | length' "$out/check.json") findings, recommends $(jq -r .recommendation.profile "$out/check.json")"

./tcptune list rules >"$out/rules" || fail "./tcptune list rules failed"
n=$(wc -l <"$out/rules")
[ "$n" -ge 16 ] || fail "./tcptune list rules: only $n rules (want >= 16, the shipped set)"
sed -n 's/^- id: *\([^ #]*\).*/\1/p' "$TT_ROOT"/rules/*.yaml | sort >"$out/rules.want"
sort "$out/rules" | diff -u "$out/rules.want" - >&2 || fail "built-in rules differ from rules/*.yaml (- shipped, + built in)"
./tcptune list profiles | sort >"$out/profiles" || fail "./tcptune list profiles failed"
for f in "$TT_ROOT"/profiles/*.yaml; do basename "$f" .yaml; done | sort >"$out/profiles.want"
diff -u "$out/profiles.want" "$out/profiles" >&2 || fail "built-in profiles differ from profiles/*.yaml (- shipped, + built in)"
echo "./tcptune list rules: $n rules, list profiles: $(paste -sd ' ' "$out/profiles") (= the shipped files)"

# No data file is opened: the rules and profiles come from the binary.
if command -v strace >/dev/null 2>&1; then
	strace -f -qq -o "$out/strace" -e trace=openat,open ./tcptune check --format json >/dev/null 2>&1
	opened=$(grep -E '\.ya?ml"' "$out/strace" | grep -v ' = -1 ')
	[ -z "$opened" ] || fail "check opened data files: $opened"
	tried=$(sed -n 's/.*"\([^"]*\/\(rules\|profiles\)\)", .*O_DIRECTORY.* = -1 ENOENT.*/\1/p' "$out/strace" | sort -u)
	[ -n "$tried" ] || fail "strace shows no data directory looked up (strace output changed?)"
	echo "strace: no .yaml opened; looked for (absent): ${tried//$'\n'/ }"
else
	skip_part "the open() check (strace is not installed)"
fi

# --- apply --dry-run web-server changes nothing ----------------------------------
./tcptune apply --dry-run --format json web-server >"$out/plan.json" 2>"$out/plan.err" ||
	{ cat "$out/plan.err" >&2; fail "./tcptune apply --dry-run --format json web-server failed"; }
keys=$(jq -r '.keys[].key' "$out/plan.json") && [ -n "$keys" ] ||
	fail "the dry-run plan (JSON) names no keys: $(head -c 600 "$out/plan.json")"
[ "$(jq -r .profile "$out/plan.json")" = web-server ] || fail "the dry-run plan is not for web-server"

# What apply would touch: the managed file, the store, the profile's keys.
state() {
	find /etc/sysctl.d /var/lib/tcptune -printf '%M %u %s %p\n' | sort
	for k in $keys; do
		f=/proc/sys/$(echo "$k" | tr . /)
		[ -r "$f" ] && printf '%s = %s\n' "$k" "$(tr '\t' ' ' <"$f")"
	done
}
before=$(state)
echo "$before" | grep -q '^net\.[a-z0-9_.]* = ' || fail "no sysctl of the plan is readable here: $before"

./tcptune apply --dry-run web-server >"$out/plan.txt" 2>"$out/plan.err"
rc=$?
[ "$rc" = 0 ] || { cat "$out/plan.err" >&2; fail "./tcptune apply --dry-run web-server exited $rc"; }
grep -q '^Profile web-server: ' "$out/plan.txt" || fail "no plan header in: $(head -3 "$out/plan.txt")"
for k in $keys; do
	grep -qF " $k " "$out/plan.txt" || fail "the dry-run plan does not show $k"
done
grep -q '/etc/sysctl.d/99-tcptune.conf' "$out/plan.txt" || fail "the dry-run plan does not name the managed file"

after=$(state)
[ "$before" = "$after" ] || {
	diff -u <(echo "$before") <(echo "$after") >&2
	fail "apply --dry-run changed something (- before, + after)"
}
written=$(find /etc/sysctl.d /var/lib/tcptune -mindepth 1)
[ -z "$written" ] || fail "apply --dry-run wrote files: $written"
[ "$(ls -A "$work")" = tcptune ] || fail "the binary wrote beside itself: $(ls -A "$work")"
echo "./tcptune apply --dry-run web-server: exit 0, plan of $(echo "$keys" | wc -l) keys ($(jq .changes "$out/plan.json") change(s) now), nothing changed:"
sed 's/^/    /' "$out/plan.txt" | grep -v 'why:' | head -8
echo "PASS: binary_alone"
