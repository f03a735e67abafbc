#!/bin/bash
# Malformed rule files: each gives exactly one line on stderr naming
# file:line:column, exit 3, and no crash under ASan/UBSan.
set -u
. "$(dirname "$0")/lib.sh"
BIN=${TCPTUNE_ASAN:-$TT_ROOT/build/tcptune-asan}
[ -x "$BIN" ] || fail "build first: make build/tcptune-asan"
tmp=$(mktemp -d) || fail mktemp
trap 'rm -rf "$tmp"; tt_cleanup' EXIT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=halt_on_error=1:exitcode=98

good='  severity: warning
  when: sockets.time_wait > 1
  title: t
  explain: e
  fix: f'

# case name | expected "file:line:col" suffix | content writer
run_case() {
	local name=$1 want=$2 dir=$tmp/$1 err out rc
	mkdir -p "$dir/rules"
	chmod 0755 "$dir" "$dir/rules"
	cat > "$dir/rules/$name.yaml"
	chmod 0644 "$dir/rules/$name.yaml"
	out=$("$BIN" check --data "$dir" --root "$TT_ROOT/tests/fixtures/roots/old-kernel" --format json \
		2>"$tmp/$name.err")
	rc=$?
	err=$(cat "$tmp/$name.err")
	[ "$rc" = 3 ] || fail "$name: exit $rc, want 3; stderr: $err"
	[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "$name: want one stderr line, got: $err"
	case $err in
	"tcptune: $dir/rules/$name.yaml:$want"*) ;;
	*) fail "$name: stderr '$err' does not start with 'tcptune: $dir/rules/$name.yaml:$want'" ;;
	esac
	[ -z "$out" ] || fail "$name: printed a report although the rules did not load"
	echo "  $name: $err"
}

printf -- '- id: a\n%s\n  sysctl: {net.ipv4.tcp_fin_timeout: [\n' "$good" | run_case syntax-error "8:"
printf -- '- id: a\n  severity: warning\n  when: sockets.closewait > 1\n  title: t\n  explain: e\n  fix: f\n' |
	run_case unknown-fact "3:9: unknown fact 'sockets.closewait'"
printf -- '- id: a\n%s\n- id: a\n%s\n' "$good" "$good" | run_case duplicate-id "7:7: duplicate rule id 'a'"
{
	echo 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
	prev=a
	for n in b c d e f g h i; do
		echo "$n: &$n [*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev]"
		prev=$n
	done
} > "$tmp/bomb"
run_case alias-bomb "1:4:" < "$tmp/bomb"
{ echo '- id: a'; head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' '#'; echo; } | run_case ten-megabytes " file is larger"
printf -- '- id: a\n  severity: warning\n  when: sockets.time_wait > 1\n  title: caf\xe9\n  explain: e\n  fix: f\n' |
	run_case non-utf8 "4:"
echo "ok: 6 malformed rule files refused with one file:line:column line each, exit 3, no sanitizer report"
