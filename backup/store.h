/* The backup store on disk (layout in txn.h): the store directory, its
 * numbered entry directories and the files in them.  Every file is written
 * with atomic_write() (0600) and read without following symlinks, with a size
 * cap.  What an entry means is the transaction's business. */
#ifndef TCPTUNE_BACKUP_STORE_H
#define TCPTUNE_BACKUP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "txn.h"

#define STORE_MANIFEST "manifest.json"
#define STORE_PRIOR_CONF "prior.conf"
#define STORE_PRIOR_FILE "prior-file"
#define STORE_PLANNED_CONF "planned.conf"
#define STORE_PLANNED_FILE "planned-file"
#define STORE_HAND_FILE "hand-file"
#define STORE_HAND_CONF "hand.conf"
#define STORE_FILE_MAX (1024 * 1024)	/* cap for the managed file and its backup */

/* Open the store directory (O_NOFOLLOW).  create: make it (0700) when
 * missing, its parent must exist.  The store is trusted input, so it must be
 * owned by root or by us and writable by nobody else: -EPERM otherwise.
 * Returns the fd or -errno. */
int store_open(const char *path, bool create);

/* The entry ids in the store, ascending.  *ret_ids is malloc'd (NULL when
 * empty).  Only names store_id_format() makes count ("0042", "12345"); "42",
 * "00042" and non-numeric names are ignored. */
int store_list(int storefd, unsigned long **ret_ids, size_t *ret_n);

/* "0042": four digits at least. */
void store_id_format(unsigned long id, char buf[16]);

/* Make the next entry directory (one above the highest id, 0700).  Returns
 * its fd with the id in ret_id, or -errno.  Nothing is fsynced yet. */
int store_entry_create(int storefd, char ret_id[16]);

/* Open entry id's directory (O_NOFOLLOW).  fd or -errno. */
int store_entry_open(int storefd, const char *id);

/* Delete entry id: its files, then the directory; fsync the store.  A
 * subdirectory inside it is not ours: -EISDIR, the entry stays. */
int store_entry_remove(int storefd, const char *id);

/* Read dirfd/name, a regular file of at most max bytes, without following
 * a symlink: -ENOENT absent, -ELOOP symlink, -EISDIR or -EINVAL not a regular
 * file, -EFBIG larger than max.  *ret_buf is malloc'd and NUL-terminated
 * (the caller frees it), *ret_len excludes the NUL. */
int store_read_at(int dirfd, const char *name, size_t max, char **ret_buf, size_t *ret_len);

/* atomic_write() dirfd/name, mode 0600. */
int store_write(int dirfd, const char *name, const void *buf, size_t len);

/* Read and decode entry id's manifest.  -EBADMSG when it is missing or
 * corrupt, other -errno when it cannot be read; why says what in both cases.
 * *ret owns its keys (manifest_entry_release()). */
int store_load(int storefd, const char *id, struct txn_entry *ret, uid_t *ret_uid, char *why, size_t why_len);

/* Remove what a crash can leave in the store: temporary files of the entry
 * files, and entry directories without a manifest (cut off while recording,
 * before anything was changed: the manifest is written last).  Call with the
 * lock held.  Returns 0 or -errno. */
int store_clean(int storefd);

/* Replace e->id's manifest with e (atomic, fsynced). */
int store_save(int storefd, const struct txn_entry *e, uid_t uid);

/* Load entry id, set its status (and error, when not NULL), save it. */
int store_set_status(int storefd, const char *id, const char *status, const char *error);

#endif
