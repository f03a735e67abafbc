/* The manifest of a store entry (NNNN/manifest.json, layout in txn.h): JSON
 * to struct txn_entry and back.  Pure: no file I/O (store.c reads and writes
 * the files).  A manifest is input from disk, so decoding trusts nothing: every
 * field's type and size is checked and a key that is not a writable row of the
 * key table makes the whole manifest corrupt. */
#ifndef TCPTUNE_BACKUP_MANIFEST_H
#define TCPTUNE_BACKUP_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "txn.h"

#define MANIFEST_SCHEMA 1
#define MANIFEST_MAX (256 * 1024)	/* bytes; a full key table is ~4 KB */

/* The statuses of txn.h; "corrupt" and "running" are never written, only
 * reported. */
#define ST_PENDING "pending"
#define ST_APPLIED "applied"
#define ST_UNCHANGED "unchanged"
#define ST_ROLLED_BACK "rolled-back"
#define ST_RECOVERED "recovered"
#define ST_UNDONE "undone"
#define ST_CORRUPT "corrupt"
#define ST_RUNNING "running"	/* never written: history's view of the entry a live transaction holds */

/* Is s an entry id: 1 to 8 decimal digits?  Only such names are entries. */
bool manifest_id_valid(const char *s);

/* Is s a status a manifest may hold (not "corrupt")? */
bool manifest_status_valid(const char *s);

/* Encode e (and uid) as the manifest's JSON text, newline-terminated.
 * *ret_text is malloc'd, the caller frees it.  -EINVAL when a field cannot be
 * encoded (a key index outside the table, a string that is not UTF-8),
 * -ENOMEM. */
int manifest_encode(const struct txn_entry *e, uid_t uid, char **ret_text);

/* Decode and validate len bytes of JSON.  want_id: the entry's directory
 * name, which the "id" field must equal.  On success *ret owns a keys array
 * (manifest_entry_release() frees it).  On failure returns -EBADMSG and
 * writes the reason into why ("keys[2].key: 'net.x' is not a writable key"). */
int manifest_decode(const char *text, size_t len, const char *want_id, struct txn_entry *ret, uid_t *ret_uid,
		    char *why, size_t why_len);

/* Free what an entry owns; the struct itself stays usable (keys NULL). */
void manifest_entry_release(struct txn_entry *e);

#endif
