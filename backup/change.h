/* The engine under txn_apply() and txn_rollback(): one change of runtime
 * values and the managed file, recorded in the store before anything moves
 * and undone on any failure (docs/ARCHITECTURE.md §4).  The callers decide what to
 * change and check it; this module does it in order and cleans up. */
#ifndef TCPTUNE_BACKUP_CHANGE_H
#define TCPTUNE_BACKUP_CHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "txn.h"

struct change {
	/* The caller fills action, profile, target (rollback), user, keys (every
	 * one with had_old and canonical values), file_path and file_existed;
	 * change_record() fills id, time and status. */
	struct txn_entry entry;
	uid_t uid;
	const char *new_file;		/* the managed file's new content; NULL: remove it */
	size_t new_file_len;
	const char *prior_file;		/* its content now, when entry.file_existed */
	size_t prior_file_len;
	unsigned new_file_mode;		/* permission bits for new_file; 0: 0644 */
	const struct txn_entry *new_file_owner;	/* its owner: this entry's file_uid/gid (rollback); NULL: ours */
	/* Rollback: the managed file must still be what the target wrote
	 * (expect_file, or absent when !expect_existed), unless force; a hand
	 * edit is refused with -EEXIST, or, forced, kept as the new entry's
	 * prior-file and said in err->note. */
	bool check_file;
	bool expect_existed;
	const char *expect_file;
	size_t expect_len;
	const char *expect_from;	/* the target's id, for messages */
	bool force;
};

/* Check p and build "<sysctl_dir>/<managed_name>" into managed_path.
 * -EINVAL or -ENAMETOOLONG with err->what filled. */
int change_check_paths(const struct txn_paths *p, char managed_path[256], struct txn_error *err);

/* The start of an apply or a rollback: err cleared and marked restored
 * (nothing has changed yet), c cleared, then change_check_paths(). */
int change_begin(const struct txn_paths *p, struct change *c, char managed_path[256], struct txn_error *err);

/* key's value as we record and write it ("1024 65535"), from any text the
 * kernel would accept.  -EINVAL when it does not parse. */
int change_canonical_value(size_t key, const char *in, char out[64]);

/* Record c as a new entry with status (prior.conf, prior-file, planned.conf,
 * planned-file when c->new_file, then the manifest; every file, the entry directory and the store fsynced).
 * If that fails the half-made entry is removed again and nothing else has
 * changed: err->restored is true, err->id empty. */
int change_record(int storefd, struct change *c, const char *status, struct txn_error *err);

/* Record c "pending", write the managed file in sysfd, write each key whose
 * value differs (read back), then commit: a rollback's target is marked
 * "undone", the entry "applied".  On any failure after recording, the keys
 * written so far (last first) and the managed file are restored, the target
 * is "applied" again, and the entry is marked "rolled-back" with the error --
 * or, when restoring failed too, left "pending" (with the error) for
 * txn_recover() to finish.
 * Returns 0 or the first error; err says what failed, whether the machine is
 * as it was (restored) and the entry's id. */
int change_run(int storefd, int sysfd, const struct txn_paths *p, struct change *c, struct txn_error *err);

/* The common end of txn_apply() and txn_rollback(), once c is planned (all
 * of c->entry but the file_existed, id, time and status; c->uid, c->new_file
 * and its length) and storefd is open: open p->sysctl_dir (never through a
 * symlink), read the managed file managed_path into c->prior_file and
 * c->entry.file_existed, then change_run() -- or, when skip_unchanged and
 * neither a key nor the file would change, only change_record() c as
 * "unchanged".  On success the store is pruned to TXN_KEEP entries (a failure
 * there is ignored: the change is committed), *ret_changed (unless NULL) says
 * whether change_run() ran and ret_id holds the new entry's id; on failure
 * neither is touched.  The copy of the managed file is freed and
 * c->prior_file reset to NULL before returning; c->entry stays the caller's
 * to release.  Returns 0 or the first error, err filled as by change_run(). */
int change_finish(int storefd, const struct txn_paths *p, const char *managed_path, struct change *c,
		  bool skip_unchanged, bool *ret_changed, char ret_id[16], struct txn_error *err);

/* Replace every byte of err->what that is not printable ASCII with '?': it
 * reaches a terminal and a JSON string. */
void change_error_sanitize(struct txn_error *err);

/* Read the managed file sysfd/name for a transaction: absent is fine
 * (*ret_existed false, *ret_buf NULL), a symlink or anything but a regular
 * file is refused (never follow a symlink there).  err filled on
 * failure. */
int change_read_managed(int sysfd, const struct txn_paths *p, const char *path, char **ret_buf, size_t *ret_len,
			bool *ret_existed, struct txn_error *err);

/* Does anything in s fall outside printable ASCII? (profile, user names:
 * they end up in files a human or `sysctl -p` reads). */
bool change_has_control(const char *s);

/* Load the store's entries (oldest first) for a new transaction; refuse with
 * -EINPROGRESS (err naming it) while an entry is pending.  On success the
 * caller frees *ret_v with txn_entries_free(). */
int change_load_history(int storefd, const struct txn_paths *p, struct txn_entry **ret_v, size_t *ret_n,
			struct txn_error *err);

/* vsnprintf into buf (err->what and friends); a long message is cut. */
void change_say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The same, appended to what buf already holds. */
void change_append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
