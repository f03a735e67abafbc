#!/bin/bash
# check counts the pending transactions that recovery would restore, no more,
# no fewer: both take the store's entries from backup/ (txn_store_state()).
# A directory named "42" is not an entry ("0042" would be; store_list() only
# takes the names it makes), so a "pending" manifest in it is neither
# recovered nor reported: before, check counted it and its critical finding
# could never clear.  A symlinked entry is refused the same way.  The real
# pending entry 0003 beside them is reported, with its id.
set -u
. "$(dirname "$0")/lib.sh"
need_scratch
MAN=$TT_ROOT/tests/fixtures/manifests

R=$W/root
boot_root "$R"
S=$R/var/lib/tcptune
mkdir -p -m 0700 "$S"
# pending MANIFEST ID: the manifest with status "pending" and id ID
pending() { jq --arg id "$2" '.status = "pending" | .id = $id' "$1"; }

# Only not-quite entries: nothing pending.
mkdir -m 0700 "$S/0001" "$S/42" "$W/elsewhere"
cp "$MAN/0001/manifest.json" "$S/0001/"
pending "$MAN/0001/manifest.json" 0042 >"$S/42/manifest.json"
pending "$MAN/0001/manifest.json" 0002 >"$W/elsewhere/manifest.json"
ln -s "$W/elsewhere" "$S/0002"
json=$("$BIN" --root "$R" check --format json 2>"$W/err")
rc=$?
[ "$rc" -le 2 ] || fail "check exit $rc: $(cat "$W/err")"
got=$(jq -c '[.facts["txn.pending"], ([.findings[] | select(.id == "pending-transaction")] | length)]' <<<"$json")
[ "$got" = "[0,0]" ] || fail "store with '42' and a symlinked '0002': pending and finding count $got, want [0,0]"

# A real pending entry beside them.
mkdir -m 0700 "$S/0003"
pending "$MAN/0001/manifest.json" 0003 >"$S/0003/manifest.json"
json=$("$BIN" --root "$R" check --format json 2>"$W/err")
got=$(jq -c '[.facts["txn.pending"], .facts["txn.pending_id"], ([.findings[] | select(.id == "pending-transaction")] | length)]' <<<"$json")
[ "$got" = '[1,"0003",1]' ] || fail "with pending 0003: got $got, want [1,\"0003\",1]"
echo "ok: '42' and a symlinked entry are not counted (as recovery ignores them); pending 0003 is, with its id"
