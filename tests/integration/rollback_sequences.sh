#!/bin/bash
# After any sequence of applies and rollbacks, runtime, the
# managed file and `history` tell one story, and rolling back everything
# returns the exact starting state.  SEQUENCES seeded random sequences
# (seed = SEED + sequence number; SEED defaults to 12) of: apply
# (one of four profiles), re-apply of the profile in effect, rollback of the
# latest (with and without --force), rollback of a random id (with and
# without --force; anything but the newest applied apply entry must be
# refused and change nothing), hand edits of a key the newest applied entry
# set or of the managed file (then rollback must refuse without --force).
# A model (a stack of the applied entries with the state before each) is
# checked after every step against the real runtime values, the managed
# file (content and mode) and `history --format json`.  Keys that vanish are
# tested at unit level (tests/unit/test_rollback.c, test_recover.c: the
# fake /proc/sys tree can lose a key file; a network namespace cannot).
# SEQUENCES defaults to 15, which fits tests/run-integration's 300 s limit
# on a loaded machine (about 11 s a sequence at load 18 on 2 cores); the
# full run is SEQUENCES=200 (run it directly with bash: 37 min at that
# load, 1644 steps).
# Each sequence starts with no managed file or a hand-written one (mode 0644
# or 0600); the store is kept across sequences, so pruning is exercised too.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds jq
enter_netns --tmpfs /etc/sysctl.d --tmpfs /var/lib -- "$@"
need_store

SEQUENCES=${SEQUENCES:-15}
SEED=${SEED:-12}
managed=/etc/sysctl.d/99-tcptune.conf
store=/var/lib/tcptune
PROFILES=(web-server reverse-proxy database nat-gateway)
HAND_KEYS=(net.ipv4.tcp_fin_timeout net.ipv4.tcp_keepalive_time net.core.somaxconn net.ipv4.tcp_max_syn_backlog)

# Every key any of the profiles sets here (skipped keys excluded).
declare -A KEYS=()
for p in "${PROFILES[@]}"; do
	while IFS= read -r k; do KEYS[$k]=1; done < <("$BIN" diff "$p" --format json |
		jq -r '.keys[] | select(.skipped == null) | .key')
done
[ "${#KEYS[@]}" -gt 5 ] || fail "the profiles set only ${#KEYS[@]} keys here"
SORTED_KEYS=$(printf '%s\n' "${!KEYS[@]}" | sort)

# The state a transaction may change: every key's runtime value, and the
# managed file's content and mode, into $STATE.  One line per key, then the
# file's mode and its content.  Builtins only but one stat: forks are slow
# on a loaded machine.
state() {
	local k v content="" mode
	STATE=""
	for k in $SORTED_KEYS; do
		read -r v < "/proc/sys/${k//.//}" || v="(unreadable)"
		v=${v//$'\t'/ }
		STATE+="$k=${v//  / }"$'\n'
	done
	if [ -e "$managed" ]; then
		IFS= read -r -d '' content < "$managed"
		mode=$(stat -c %a "$managed")
		STATE+="file mode $mode"$'\n'"$content"
	else
		STATE+="file absent"
	fi
}

# CURV[key] = value, from the key lines of $CUR; FILE_NOW = the managed file.
declare -A CURV=()
parse_cur() {
	local k v
	CURV=()
	while IFS='=' read -r k v; do
		[ "${k:0:5}" = "file " ] && break
		CURV[$k]=$v
	done <<< "$CUR"
	FILE_NOW=""
	[ -e "$managed" ] && IFS= read -r -d '' FILE_NOW < "$managed"
}

# The model: parallel arrays, index 0 the oldest applied entry.
ST_ID=() ST_BEFORE=() ST_DIRTY=() ST_PROFILE=() ST_FILE=()
steps=0 refusals=0 forced=0 applies=0 unchanged=0 rollbacks=0 edits=0
LOG=""
note() { LOG="$LOG
  $*"; }
die() { fail "sequence $seq (seed $((SEED + seq))), step $step: $*; log:$LOG"; }

hist() { "$BIN" history --format json 2>&1 || die "history failed"; }

# Checker: history's applied apply entries are the model's stack, in order;
# the newest one's values and file are what runtime and the file hold unless
# a hand edit was made since; with nothing applied, the state is the start.
check_agree() {
	local out ids bad top=-1 tid=none line k v
	[ ${#ST_ID[@]} -gt 0 ] && top=$((${#ST_ID[@]} - 1)) && tid=${ST_ID[$top]}
	# One jq: the applied apply ids; pending or corrupt entries; the newest
	# applied entry's keys as key=new.
	out=$(hist | jq -r --arg id "$tid" '
		([.[] | select(.action == "apply" and .status == "applied") | .id] | join(" ")),
		([.[] | select(.status == "pending" or .status == "corrupt") | .id + ":" + .status] | join(" ")),
		(.[] | select(.id == $id) | .keys[] | "\(.key)=\(.new)")')
	{ read -r ids; read -r bad; } <<< "$out"
	[ "$ids" = "${ST_ID[*]}" ] || die "history's applied entries are '$ids', the model's '${ST_ID[*]}'"
	[ -z "$bad" ] || die "history has pending or corrupt entries: $bad"
	if [ "$top" -lt 0 ]; then
		[ "$CUR" = "$START" ] || die "nothing applied, yet the state is not the start: $(diff <(echo "$START") <(echo "$CUR") | tr '\n' ' ')"
		return
	fi
	[ "${ST_DIRTY[$top]}" = 1 ] && return
	parse_cur
	while IFS= read -r line; do
		k=${line%%=*}; v=${line#*=}
		[ "${CURV[$k]}" = "$v" ] || die "${ST_ID[$top]} set $k=$v, runtime has '${CURV[$k]}'"
	done < <(tail -n +3 <<< "$out")
	[ "${ST_FILE[$top]}" = "$FILE_NOW" ] || die "the managed file is not what ${ST_ID[$top]} wrote"
}

do_apply() {
	local p=$1 out changed id before line k
	local -A BEFV=()
	before=$CUR
	parse_cur
	for k in "${!CURV[@]}"; do BEFV[$k]=${CURV[$k]}; done
	out=$("$BIN" apply "$p" --yes --format json 2>/dev/null) || die "apply $p failed: $out"
	[[ $out =~ \"changed\":\ *(true|false) ]] || die "apply $p: no \"changed\" in its JSON: $out"
	changed=${BASH_REMATCH[1]}
	[[ $out =~ \"entry\":\ *\"([0-9]+)\" ]] || die "apply $p: no \"entry\" in its JSON: $out"
	id=${BASH_REMATCH[1]}
	state; CUR=$STATE
	parse_cur
	applies=$((applies + 1))
	if [ "$changed" = true ]; then
		ST_ID+=("$id"); ST_BEFORE+=("$before"); ST_DIRTY+=(0); ST_PROFILE+=("$p"); ST_FILE+=("$FILE_NOW")
		note "apply $p -> $id"
	else
		unchanged=$((unchanged + 1))
		[ "$CUR" = "$before" ] || die "apply $p said unchanged but the state moved"
		note "apply $p -> $id unchanged"
	fi
	# Runtime and file hold the profile's values now; keys it does not set
	# are untouched.
	local -A SETS=()
	while IFS= read -r line; do
		k=${line%%=*}; SETS[$k]=1
		[ "${CURV[$k]}" = "${line#*=}" ] || die "after apply $p: want $line, have '${CURV[$k]}'"
		[[ $'\n'$FILE_NOW == *$'\n'"$k = ${line#*=}"$'\n'* ]] || die "after apply $p: $managed lacks $line"
	done <<< "${PVALS[$p]}"
	for k in "${!CURV[@]}"; do
		[ -n "${SETS[$k]:-}" ] || [ "${CURV[$k]}" = "${BEFV[$k]}" ] || die "apply $p changed $k, which it does not set"
	done
}

# rollback [ID] [--force]: expect success iff ID is empty or the newest
# applied entry, and (not dirty or --force).
do_rollback() {
	local id=$1 force=$2 top=-1 expect=ok out rc
	[ ${#ST_ID[@]} -gt 0 ] && top=$((${#ST_ID[@]} - 1))
	if [ "$top" -lt 0 ]; then
		expect=refuse
	elif [ -n "$id" ] && [ "$((10#$id))" != "$((10#${ST_ID[$top]}))" ]; then
		expect=refuse
	elif [ "${ST_DIRTY[$top]}" = 1 ] && [ -z "$force" ]; then
		expect=refuse
	fi
	out=$("$BIN" rollback $id $force --yes 2>&1); rc=$?
	rollbacks=$((rollbacks + 1))
	if [ "$expect" = refuse ]; then
		[ "$rc" != 0 ] || die "rollback '$id' $force succeeded, the model expected a refusal: $out"
		state
		[ "$STATE" = "$CUR" ] || die "refused rollback '$id' $force changed the state: $out"
		refusals=$((refusals + 1))
		note "rollback '$id' $force refused: ${out:0:100}"
		return
	fi
	[ "$rc" = 0 ] || die "rollback '$id' $force of ${ST_ID[$top]} failed: $out"
	state; CUR=$STATE
	[ "$CUR" = "${ST_BEFORE[$top]}" ] ||
		die "rollback of ${ST_ID[$top]} did not restore the state before it: $(diff <(echo "${ST_BEFORE[$top]}") <(echo "$CUR") | tr '\n' ' ')"
	[ -n "$force" ] && forced=$((forced + 1))
	note "rollback '$id' $force -> undid ${ST_ID[$top]}"
	unset "ST_ID[$top]" "ST_BEFORE[$top]" "ST_DIRTY[$top]" "ST_PROFILE[$top]" "ST_FILE[$top]"
	ST_ID=("${ST_ID[@]}"); ST_BEFORE=("${ST_BEFORE[@]}"); ST_DIRTY=("${ST_DIRTY[@]}"); ST_PROFILE=("${ST_PROFILE[@]}")
	ST_FILE=("${ST_FILE[@]}")
}

# A hand edit: a key the newest applied entry set (one of HAND_KEYS), or the
# managed file.  Marks that entry dirty: rollback must now ask for --force.
do_hand_edit() {
	local top=$((${#ST_ID[@]} - 1)) cand=() k new line
	local -A SET=()
	while IFS= read -r line; do SET[${line%%=*}]=${line#*=}; done < <(hist |
		jq -r --arg id "${ST_ID[$top]}" '.[] | select(.id == $id) | .keys[] | "\(.key)=\(.new)"')
	for k in "${HAND_KEYS[@]}"; do
		[ -n "${SET[$k]:-}" ] && cand+=("$k")
	done
	edits=$((edits + 1))
	if [ ${#cand[@]} -gt 0 ] && [ $((RANDOM % 2)) = 0 ]; then
		k=${cand[$((RANDOM % ${#cand[@]}))]}
		new=$((${SET[$k]} + 1 + RANDOM % 50))
		echo "$new" > "/proc/sys/${k//.//}" || die "cannot set $k to $new by hand"
		note "hand: $k = $new"
	else
		echo "# edited by hand, step $step" >> "$managed"
		note "hand: edit $managed"
	fi
	ST_DIRTY[$top]=1
	state; CUR=$STATE
}

declare -A PVALS=()
for p in "${PROFILES[@]}"; do
	PVALS[$p]=$("$BIN" diff "$p" --format json | jq -r '.keys[] | select(.skipped == null) | "\(.key)=\(.profile)"')
done

for seq in $(seq 1 "$SEQUENCES"); do
	RANDOM=$((SEED + seq))
	LOG="" step=0
	case $((RANDOM % 3)) in
	0) rm -f "$managed" ;;
	1) printf '# hand-written before tcptune (%d)\nnet.ipv4.tcp_fin_timeout = 50\n' "$seq" > "$managed"; chmod 0644 "$managed" ;;
	2) printf '# a private one (%d)\n' "$seq" > "$managed"; chmod 0600 "$managed" ;;
	esac
	state; START=$STATE CUR=$STATE
	n=$((4 + RANDOM % 10))
	for step in $(seq 1 "$n"); do
		top=$((${#ST_ID[@]} - 1))
		r=$((RANDOM % 100))
		if [ "$r" -lt 30 ]; then
			do_apply "${PROFILES[$((RANDOM % ${#PROFILES[@]}))]}"
		elif [ "$r" -lt 40 ] && [ "$top" -ge 0 ]; then
			do_apply "${ST_PROFILE[$top]}"
		elif [ "$r" -lt 60 ]; then
			do_rollback "" "$([ $((RANDOM % 2)) = 0 ] && echo --force)"
		elif [ "$r" -lt 75 ]; then
			last=$(hist | jq -r '.[-1].id // "0001"')
			do_rollback "$(printf '%04d' $((1 + RANDOM % (10#$last))))" "$([ $((RANDOM % 2)) = 0 ] && echo --force)"
		elif [ "$top" -ge 0 ]; then
			do_hand_edit
		else
			do_apply "${PROFILES[$((RANDOM % ${#PROFILES[@]}))]}"
		fi
		steps=$((steps + 1))
		check_agree
	done
	# Roll back everything: the exact starting state, nothing applied.
	step=end
	while [ ${#ST_ID[@]} -gt 0 ]; do
		do_rollback "" "$([ "${ST_DIRTY[$((${#ST_ID[@]} - 1))]}" = 1 ] && echo --force)"
		check_agree
	done
	state
	[ "$STATE" = "$START" ] || die "after rolling back everything the state is not the start"
	out=$("$BIN" rollback --yes 2>&1) && die "a rollback with nothing applied succeeded: $out"
	[ $((seq % 50)) = 0 ] && echo "  $seq sequences: $steps steps, $applies applies ($unchanged unchanged), $rollbacks rollbacks ($refusals refused, $forced forced), $edits hand edits; store $(ls "$store" | grep -c '^[0-9]') entries"
done
echo "ok: $SEQUENCES sequences (seeds $((SEED + 1))..$((SEED + SEQUENCES))), $steps random steps: runtime, the managed file and history agreed after each, and rolling back everything gave the exact start each time"
