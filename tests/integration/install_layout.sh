#!/bin/bash
# `make install DESTDIR=... PREFIX=/usr/local` lays out the binary, the shipped
# rules and profiles, the man page and the bash completion with the right
# modes and nothing else; `man -l` renders the page, which names every verb
# and every option `--help` shows; the installed completion completes verbs
# and a profile name.  Installs only into a fresh temporary DESTDIR (never
# under the host's /usr), so it needs no namespace.
. "$(dirname "$0")/lib.sh"
need_cmds make install find stat cmp mktemp

P=/usr/local
tmp=$(mktemp -d) || fail "mktemp -d"
[ -n "$tmp" ] && [ -d "$tmp" ] && [ "$tmp" != / ] || fail "bad temporary directory '$tmp'"
trap 'tt_cleanup; rm -rf -- "$tmp"' EXIT
D=$tmp/dest
mkdir "$D" || fail "mkdir $D"

# The host's PREFIX must stay as it was: a DESTDIR install never touches it.
host_before=$(ls -ld "$P/sbin/tcptune" "$P/share/tcptune" "$P/share/man/man8/tcptune.8" \
	"$P/share/bash-completion/completions/tcptune" 2>/dev/null)

# Twice: a second install over the first must work as well.
for pass in 1 2; do
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -C "$TT_ROOT" install DESTDIR="$D" PREFIX="$P" >"$tmp/make.log" 2>&1 ||
		{ cat "$tmp/make.log" >&2; fail "make install (pass $pass) failed"; }
done
echo "make install DESTDIR=<tmp> PREFIX=$P: ok (twice)"

host_after=$(ls -ld "$P/sbin/tcptune" "$P/share/tcptune" "$P/share/man/man8/tcptune.8" \
	"$P/share/bash-completion/completions/tcptune" 2>/dev/null)
[ "$host_before" = "$host_after" ] || fail "the host's $P changed during a DESTDIR install"

# --- layout: exactly these files, with these modes ---------------------------
R=$D$P
{
	echo "0755 $P/sbin/tcptune"
	for f in "$TT_ROOT"/rules/*.yaml "$TT_ROOT"/profiles/*.yaml; do
		[ -e "$f" ] || continue
		echo "0644 $P/share/tcptune/$(basename "$(dirname "$f")")/$(basename "$f")"
	done
	echo "0644 $P/share/man/man8/tcptune.8"
	echo "0644 $P/share/bash-completion/completions/tcptune"
} | sort >"$tmp/want"
(cd "$D" && find . -type f -printf '%m /%P\n' | sed 's/^\([0-7][0-7][0-7]\) /0\1 /') | sort >"$tmp/got"
diff -u "$tmp/want" "$tmp/got" >&2 || fail "installed files or modes differ from the expected layout (- expected, + installed)"
odd=$(cd "$D" && find . ! -type f ! -type d)
[ -z "$odd" ] || fail "unexpected non-regular files installed: $odd"
baddirs=$(cd "$D" && find ./usr -type d ! -perm 0755)
[ -z "$baddirs" ] || fail "installed directories not 0755: $baddirs"
n_rules=$(ls "$R"/share/tcptune/rules/*.yaml | wc -l)
n_profiles=$(ls "$R"/share/tcptune/profiles/*.yaml | wc -l)
[ "$n_rules" -ge 1 ] && [ "$n_profiles" -ge 1 ] || fail "no rules or profiles installed"
for f in "$TT_ROOT"/rules/*.yaml "$TT_ROOT"/profiles/*.yaml; do
	cmp -s "$f" "$R/share/tcptune/$(basename "$(dirname "$f")")/$(basename "$f")" ||
		fail "installed copy of $f differs"
done
cmp -s "$TT_ROOT/build/tcptune" "$R/sbin/tcptune" || fail "installed binary differs from build/tcptune"
cmp -s "$TT_ROOT/contrib/bash-completion/tcptune" "$R/share/bash-completion/completions/tcptune" ||
	fail "installed completion differs from contrib/bash-completion/tcptune"
"$R/sbin/tcptune" --version | grep -q '^tcptune ' || fail "installed binary does not run"
echo "layout: $(wc -l <"$tmp/got") files ($n_rules rules, $n_profiles profiles), modes ok:"
sed 's/^/    /' "$tmp/got"

# --- the man page --------------------------------------------------------------
MAN=$R/share/man/man8/tcptune.8
grep -q '^\.TH "\?tcptune"\? "\?8"\?' "$MAN" || fail "tcptune.8 has no .TH tcptune 8 header"
if ! command -v man >/dev/null 2>&1 || ! command -v col >/dev/null 2>&1; then
	no_man="no 'man' or 'col' command (Debian packages man-db, bsdextrautils)"
	echo "man page: not rendered: $no_man"
else
	MANWIDTH=100 LC_ALL=C.UTF-8 man --warnings -l "$MAN" 2>"$tmp/man.err" | col -bx >"$tmp/man.txt"
	rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] || { cat "$tmp/man.err" >&2; fail "man -l exited $rc"; }
	[ ! -s "$tmp/man.err" ] || { cat "$tmp/man.err" >&2; fail "man -l printed warnings"; }
	for h in NAME SYNOPSIS DESCRIPTION COMMANDS "GLOBAL OPTIONS" "EXIT STATUS" FILES ENVIRONMENT \
		EXAMPLES "SEE ALSO"; do
		grep -qx "$h" "$tmp/man.txt" || fail "rendered man page has no '$h' section"
	done
	# The COMMANDS section: each verb of `tcptune list verbs` as a heading,
	# with every option its `--help` lists.
	sed -n '/^COMMANDS$/,/^[A-Z]/p' "$tmp/man.txt" >"$tmp/commands.txt"
	verbs=$("$R/sbin/tcptune" list verbs) || fail "tcptune list verbs failed"
	[ "$(echo "$verbs" | wc -l)" -ge 9 ] || fail "tcptune list verbs: only $(echo "$verbs" | wc -l) verbs"
	for v in $verbs; do
		grep -qE "^ {7}$v( |\$)" "$tmp/commands.txt" || fail "man page COMMANDS does not describe '$v'"
		awk -v v="$v" '
			$0 ~ "^       " v "( |$)" { on = 1; next }
			on && /^       [^ ]/ { on = 0 }
			on' "$tmp/commands.txt" >"$tmp/verb.txt"
		for o in $("$R/sbin/tcptune" "$v" --help | sed -n '/ options:$/,/^$/p' | grep -oE '^  --[a-z-]+'); do
			grep -qe "$o" "$tmp/verb.txt" || fail "man page: '$v' lacks its option $o (in '$v --help')"
		done
	done
	for o in $("$R/sbin/tcptune" --help | sed -n '/^options:$/,$p' | grep -oE '^  --[a-z-]+'); do
		sed -n '/^GLOBAL OPTIONS$/,/^[A-Z]/p' "$tmp/man.txt" | grep -qe "$o" ||
			fail "man page GLOBAL OPTIONS lacks $o (in --help)"
	done
	for f in /etc/sysctl.d/99-tcptune.conf /var/lib/tcptune /etc/tcptune/tcptune.yaml NO_COLOR \
		'sysctl.d(5)' 'systemd-sysctl(8)' 'sysctl(8)' 'ss(8)'; do
		grep -qF "$f" "$tmp/man.txt" || fail "rendered man page does not mention $f"
	done
	echo "man -l: renders $(wc -l <"$tmp/man.txt") lines, no warnings; sections, verbs (${verbs//$'\n'/ }) and options ok"
fi

# --- the bash completion -------------------------------------------------------
# complete CURRENT WORD...: run the function `complete -p tcptune` names, with
# COMP_WORDS=(WORD...) and COMP_CWORD on the last word; print COMPREPLY, one
# per line.  The installed binary comes first in PATH.
complete_words() {
	PATH="$R/sbin:$PATH" bash --norc --noprofile -c '
		. "$1" || exit 90
		shift
		[ "$(type -P tcptune)" = "$TT_BIN" ] || { echo "PATH tcptune is $(type -P tcptune)" >&2; exit 91; }
		spec=$(complete -p tcptune) || exit 92
		fn=$(echo "$spec" | sed -n "s/.*-F \([^ ]*\).*/\1/p")
		[ -n "$fn" ] || { echo "no -F in: $spec" >&2; exit 93; }
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' complete-test "$R/share/bash-completion/completions/tcptune" "$@"
}
export TT_BIN=$R/sbin/tcptune

spec=$(bash --norc --noprofile -c '. "$1" && complete -p tcptune' x "$R/share/bash-completion/completions/tcptune") ||
	fail "sourcing the completion registers nothing for tcptune"
echo "complete -p: $spec"

got=$(complete_words tcptune apply web) || fail "completion function failed (tcptune apply web)"
echo "$got" | grep -qx web-server || fail "'tcptune apply web<TAB>' gave '$got', not web-server"
echo "tcptune apply web<TAB> -> ${got//$'\n'/ }"

got=$(complete_words tcptune ap) || fail "completion function failed (tcptune ap)"
[ "$got" = apply ] || fail "'tcptune ap<TAB>' gave '$got', not apply"
echo "tcptune ap<TAB> -> $got"

got=$(complete_words tcptune "") || fail "completion function failed (tcptune <TAB>)"
[ "$(echo "$got" | sort)" = "$("$R/sbin/tcptune" list verbs | sort)" ] ||
	fail "'tcptune <TAB>' gave '${got//$'\n'/ }', not the verbs"
echo "tcptune <TAB> -> ${got//$'\n'/ }"

got=$(complete_words tcptune diff "") || fail "completion function failed (tcptune diff <TAB>)"
[ "$(echo "$got" | sort)" = "$("$R/sbin/tcptune" list profiles | sort)" ] ||
	fail "'tcptune diff <TAB>' gave '${got//$'\n'/ }', not the profiles"
echo "tcptune diff <TAB> -> ${got//$'\n'/ }"

got=$(complete_words tcptune check --ignore close-wait-l) || fail "completion function failed (--ignore)"
[ "$got" = close-wait-leak ] || fail "'tcptune check --ignore close-wait-l<TAB>' gave '$got'"
got=$(complete_words tcptune check --format "") || fail "completion function failed (--format)"
[ "${got//$'\n'/ }" = "text json prometheus" ] || fail "'tcptune check --format <TAB>' gave '${got//$'\n'/ }'"
got=$(complete_words tcptune --color "") || fail "completion function failed (--color)"
[ "${got//$'\n'/ }" = "auto always never" ] || fail "'tcptune --color <TAB>' gave '${got//$'\n'/ }'"
got=$(complete_words tcptune apply --d) || fail "completion function failed (apply --d)"
[ "${got//$'\n'/ }" = "--data --dry-run" ] || fail "'tcptune apply --d<TAB>' gave '${got//$'\n'/ }'"
echo "tcptune check --ignore close-wait-l<TAB>, --format <TAB>, --color <TAB>, apply --d<TAB>: ok"
[ -z "${no_man:-}" ] || skip "all else passed, but the man page was not rendered: $no_man"
echo "PASS: install_layout"
