#!/bin/bash
# keepalive-too-long fires on evidence only (issue: one idle SSH session was
# enough before).  On the rules table's healthy host with keepalive probes
# sent (an idle SSH session with SO_KEEPALIVE) and tcp_keepalive_time 7200:
#   no idle timeout known           -> quiet;
#   idle_timeout: 350 in --config   -> fires, naming tcptune.yaml and 350 s;
#   idle_timeout: 9000 in --config  -> quiet (keepalive comes first);
#   idle_timeout: 0                 -> refused with file:line:column, exit 3.
set -u
. "$(dirname "$0")/lib.sh"
need_scratch
rules_root "$W/root" keepalive-too-long/quiet

finding() {	# CONFIG-OR-EMPTY -> the keepalive-too-long finding as JSON, or nothing
	local cfg=()
	[ -n "$1" ] && cfg=(--config "$1")
	"$BIN" --root "$W/root" check --format json "${cfg[@]}" 2>"$W/err" |
		jq -c '.findings[] | select(.id == "keepalive-too-long")'
}

[ -z "$(finding "")" ] || fail "fires without any idle timeout known: $(finding "")"
# --config names a file inside the --root tree.
printf 'idle_timeout: 350\n' >"$W/root/near.yaml"
got=$(finding /near.yaml)
[ -n "$got" ] || fail "quiet with idle_timeout 350 < keepalive 7200 ($(cat "$W/err"))"
jq -e '.title | test("7200 s, not shorter than the 350 s idle timeout of idle_timeout in tcptune.yaml")' <<<"$got" >/dev/null ||
	fail "title does not name the evidence: $got"
printf 'idle_timeout: 9000\n' >"$W/root/far.yaml"
[ -z "$(finding /far.yaml)" ] || fail "fires although keepalive (7200) comes before the 9000 s timeout"
printf '# site\nidle_timeout: 0\n' >"$W/root/bad.yaml"
"$BIN" --root "$W/root" check --config /bad.yaml >/dev/null 2>"$W/err"
rc=$?
[ "$rc" = 3 ] || fail "idle_timeout: 0 gave exit $rc, want 3"
grep -q "bad.yaml:2:15: 'idle_timeout' is a number of seconds from 1 to 604800" "$W/err" ||
	fail "idle_timeout: 0: wrong error: $(cat "$W/err")"
echo "ok: keepalive-too-long quiet without evidence, fires at a declared 350 s, quiet at 9000 s; idle_timeout 0 refused at 2:15"
