#!/bin/bash
# apply web-server -> runtime values and the managed file match the profile;
# apply again -> "no changes", exit 0; rollback -> runtime values back and
# the managed file byte-identical to before (or absent); history lists all
# three.  Run twice: once with no managed file, once with one already there.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq cmp
# A tmpfs over /var/lib (not just the store) so nothing is created on the host.
enter_netns --tmpfs /etc/sysctl.d --tmpfs /var/lib -- "$@"
mkdir -m 0700 /var/lib/tcptune || fail "cannot create the store"

need_bin
managed=/etc/sysctl.d/99-tcptune.conf

# key=value for every key the profile sets that this netns has, from its JSON plan.
profile_values() {
	"$BIN" diff "$1" --format json | jq -r '.keys[] | select(.skipped == null) | "\(.key)=\(.profile)"'
}
runtime_of() {	# key -> value as the kernel shows it, blanks collapsed
	tr -s '\t ' '  ' < "/proc/sys/$(echo "$1" | tr . /)"
}

round() {
	local label=$1 before_file=$2 before_vals after_vals line key want out rc n
	rm -rf /var/lib/tcptune/* "$managed"
	[ -n "$before_file" ] && printf '%s' "$before_file" > "$managed"
	before_vals=$(for k in $(profile_values web-server | cut -d= -f1); do echo "$k=$(runtime_of "$k")"; done)
	[ -n "$before_file" ] && cp "$managed" /tmp/managed.before

	out=$("$BIN" apply web-server --yes 2>&1) || fail "$label: apply failed: $out"
	while IFS= read -r line; do
		key=${line%%=*}; want=${line#*=}
		[ "$(runtime_of "$key")" = "$want" ] || fail "$label: $key is $(runtime_of "$key"), profile says $want"
		grep -qx "$key = $want" "$managed" || fail "$label: $managed lacks '$key = $want'"
	done < <(profile_values web-server)
	n=$(grep -c ' = ' "$managed")
	[ "$n" = "$(profile_values web-server | wc -l)" ] || fail "$label: $managed has $n settings"

	out=$("$BIN" apply web-server --yes 2>&1); rc=$?
	[ "$rc" = 0 ] || fail "$label: second apply exit $rc: $out"
	echo "$out" | grep -q "No changes" || fail "$label: second apply did not say 'No changes': $out"
	out=$("$BIN" apply web-server --yes --format json 2>&1) || fail "$label: json apply: $out"
	[ "$(echo "$out" | jq .changed)" = false ] || fail "$label: --format json changed=$(echo "$out" | jq .changed)"

	out=$("$BIN" rollback --yes 2>&1) || fail "$label: rollback failed: $out"
	after_vals=$(for k in $(profile_values web-server | cut -d= -f1); do echo "$k=$(runtime_of "$k")"; done)
	[ "$after_vals" = "$before_vals" ] || fail "$label: runtime after rollback differs: $(diff <(echo "$before_vals") <(echo "$after_vals"))"
	if [ -n "$before_file" ]; then
		cmp -s /tmp/managed.before "$managed" || fail "$label: $managed not byte-identical after rollback"
	else
		[ ! -e "$managed" ] || fail "$label: $managed exists after rollback, it was absent before"
	fi
	ls -A /etc/sysctl.d | grep -q '\.tmp-' && fail "$label: temp file left in /etc/sysctl.d"

	hist=$("$BIN" history --format json)
	[ "$(echo "$hist" | jq -r '[.[] | "\(.action):\(.status)"] | join(" ")')" = \
	  "apply:undone apply:unchanged apply:unchanged rollback:applied" ] ||
		fail "$label: history is $(echo "$hist" | jq -c '[.[] | [.id, .action, .status]]')"
	"$BIN" history | grep -q "rollback" || fail "$label: text history lacks the rollback"
	echo "  $label: apply, apply (no changes), rollback: runtime and file restored; history $(echo "$hist" | jq -r '[.[] | .id + " " + .action + " " + .status] | join(", ")')"
}

round "no file before" ""
round "a file before" "# hand-written by an admin
net.ipv4.tcp_keepalive_time = 600
"
echo "ok: apply/rollback round trips restore runtime and the managed file exactly"
