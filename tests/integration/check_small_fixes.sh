#!/bin/bash
# check_small_fixes.sh: the small ones of the report issue, each checked
# against what an administrator expects.
#  1. JSON closewait.attribution_complete is true when ss shows no
#     CLOSE_WAIT socket (nothing to attribute).
#  2. A mistyped option gets the nearest one: --colour -> --color, exit 3.
#  3. tcptune rules lists every rule id rules/*.yaml ships, tcptune keys
#     every key explain knows, each with a summary line; bash completion
#     offers the new verbs.
#  4. explain: a typo gets near names; a rule's placeholders are named
#     (<closewait.top.count>), never shown as {...}.
#  5. Paths the user names that do not exist: --root, --config, --data and
#     --output's directory are errors naming the option, exit 3, one line.
#  6. A tree without ip_local_port_range: the ports are judged against the
#     kernel's default range (32768 60999, inet_init_net()), and a note
#     says so.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds ss jq
enter_netns --tmpfs /tmp -- "$@"
need_bin
W=/tmp
FXR=$TT_ROOT/tests/fixtures/roots/diff-procps

# 1. Nothing to attribute.
[ "$(ss -Htan state close-wait | wc -l)" = 0 ] || fail "this fresh namespace has CLOSE_WAIT sockets"
"$BIN" check --format json >"$W/c.json" 2>/dev/null
[ "$(jq '.closewait.attribution_complete' "$W/c.json")" = true ] ||
	fail "attribution_complete is $(jq '.closewait.attribution_complete' "$W/c.json") with no CLOSE_WAIT"

# 2. The nearest option.
"$BIN" check --colour never >/dev/null 2>"$W/err"
rc=$?
[ "$rc" = 3 ] || fail "--colour: exit $rc, want 3"
grep -qx "tcptune: unknown option '--colour', did you mean '--color'?" "$W/err" || fail "--colour: $(cat "$W/err")"
"$BIN" check --sample 3 >/dev/null 2>"$W/err"
grep -q "did you mean '--samples'?" "$W/err" || fail "--sample: $(cat "$W/err")"

# 3. rules and keys.
shipped=$(sed -n 's/^- id:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$TT_ROOT"/rules/*.yaml | sort)
"$BIN" rules >"$W/rules" || fail "tcptune rules failed"
listed=$(grep -E '^[a-z0-9-]+ \((info|warning|critical)\)$' "$W/rules" | cut -d' ' -f1 | sort)
[ "$listed" = "$shipped" ] || fail "tcptune rules lists $(echo $listed) but rules/*.yaml ship $(echo $shipped)"
grep -q '^    <closewait.top.count> CLOSE_WAIT sockets held by' "$W/rules" || fail "close-wait-leak has no summary"
grep -qF '{' "$W/rules" && fail "a placeholder shows as {...}: $(grep -F '{' "$W/rules")"
"$BIN" keys >"$W/keys" || fail "tcptune keys failed"
for k in $(grep -E '^net\.' "$W/keys" | cut -d' ' -f1); do
	"$BIN" explain "$k" >/dev/null 2>&1 || fail "keys lists '$k', which explain does not know"
	grep -A1 -x "$k\( (host-wide)\)\{0,1\}" "$W/keys" | tail -n 1 | grep -q '^    [^ ]' || fail "key $k has no summary"
done
grep -qx 'net.ipv4.tcp_max_orphans (host-wide)' "$W/keys" || fail "tcp_max_orphans is not marked host-wide"
[ "$(awk 'length > 80' "$W/rules" "$W/keys" | wc -l)" = 0 ] || fail "rules or keys have lines over 80 columns"
(
	# shellcheck disable=SC1091
	. "$TT_ROOT/contrib/bash-completion/tcptune"
	COMP_WORDS=("$BIN" "")
	COMP_CWORD=1
	_tcptune
	for v in rules keys watch; do
		printf '%s\n' "${COMPREPLY[@]}" | grep -qx "$v" || exit 1
	done
) || fail "bash completion does not offer rules, keys and watch"

# 4. explain.
"$BIN" explain close-wait-lek >/dev/null 2>"$W/err"
rc=$?
[ "$rc" = 3 ] && grep -q "did you mean 'close-wait-leak'" "$W/err" || fail "explain typo: exit $rc, $(cat "$W/err")"
"$BIN" explain tcp_fin_timout >/dev/null 2>"$W/err"
grep -q "did you mean 'tcp_fin_timeout'" "$W/err" || fail "explain key typo: $(cat "$W/err")"
"$BIN" explain close-wait-leak >"$W/ex" 2>&1 || fail "explain close-wait-leak failed"
grep -qF '{' "$W/ex" && fail "explain shows a raw placeholder: $(grep -F '{' "$W/ex")"
grep -q '^Reports: <closewait.top.count> CLOSE_WAIT sockets held by' "$W/ex" || fail "explain: $(head -n 4 "$W/ex")"
grep -q '^Here now: does not fire' "$W/ex" || fail "explain does not say the rule is quiet here"

# 5. Paths that do not exist.
for args in "--root /nonexistent check" "--root /etc/hostname check" "check --config /nonexistent/t.yaml" \
	"check --config $W/none.yaml" "--data /nonexistent check" "check --output /nonexistent/dir/t.prom" \
	"--root /nonexistent explain close-wait-leak"; do
	opt=$(echo "$args" | grep -o -- '--[a-z]*' | head -n 1)
	# shellcheck disable=SC2086
	"$BIN" $args >"$W/out" 2>"$W/err"
	rc=$?
	[ "$rc" = 3 ] || fail "$args: exit $rc, want 3"
	[ "$(wc -l <"$W/err")" = 1 ] && grep -q -- "$opt" "$W/err" || fail "$args: want one line naming $opt: $(cat "$W/err")"
	[ -s "$W/out" ] && fail "$args printed a report"
done
# 6. No ip_local_port_range in the tree.
R=$W/noportrange
boot_root "$R"
rm -f "$R/proc/sys/net/ipv4/ip_local_port_range"
(cd / && "$BIN" check --root "$R" --format json --no-state) >"$W/np.json" 2>"$W/err"
[ $? -le 2 ] || fail "check --root without ip_local_port_range failed: $(cat "$W/err")"
[ "$(jq -c '[.facts["ports.low"], .facts["ports.high"]]' "$W/np.json")" = "[32768,60999]" ] ||
	fail "ports without a range: $(jq -c '[.facts["ports.low"], .facts["ports.high"]]' "$W/np.json")"
jq -e '[.notes[] | select(.source == "sockets" and (.text | test("ip_local_port_range could not be read.*32768-60999")))] | length == 1' \
	"$W/np.json" >/dev/null || fail "no note for the missing port range: $(jq -c .notes "$W/np.json")"
# and with the file there, no such note
(cd / && "$BIN" check --root "$FXR" --format json --no-state) >"$W/fx.json" 2>/dev/null
jq -e '[.notes[] | select(.text | test("ip_local_port_range could not be read"))] | length == 0' "$W/fx.json" >/dev/null ||
	fail "the port-range note on a tree that has the key"
echo "ok: attribution complete with nothing to attribute; --colour hint; rules, keys, explain; missing paths refused;" \
	"the default port range noted where the tree lacks the key"
