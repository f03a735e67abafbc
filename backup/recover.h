/* Putting the machine back as an entry found it: runtime values and the
 * managed file.  Used when a transaction fails (change.c) and, through
 * txn_recover() (declared in txn.h, defined here), for entries a crash left
 * "pending".  Every step is idempotent: what is already as it was is not
 * written again, so recovering twice is as good as once. */
#ifndef TCPTUNE_BACKUP_RECOVER_H
#define TCPTUNE_BACKUP_RECOVER_H

#include <stdbool.h>
#include <stddef.h>

#include "txn.h"

/* Set each of keys[0..n) that had an old value back to it, last first; a
 * key already at its old value is not written, one without an old value is
 * left alone, one this kernel lacks (-ENOENT: module not loaded, another
 * kernel or namespace) is skipped and appended to skipped (when not NULL)
 * with the command that finishes it ("net.x (absent here; when it returns:
 * sysctl -w net.x=60)").  Carries on past a failure, so as much as possible
 * is restored, and returns the first error with what filled ("cannot restore
 * net.ipv4.tcp_fin_timeout to 60: Permission denied"); 0 when every key
 * present is back. */
int recover_keys(const char *proc_sys, const struct txn_entry_key *keys, size_t n, char *what, size_t what_len,
		 char *skipped, size_t skipped_len);

/* Put sysfd/name back: the prior content (existed, with mode, 0 meaning
 * 0644) or no file at all.  Nothing is written when it already is so.  path
 * is for messages.  0 or -errno with what filled. */
int recover_file(int sysfd, const char *name, const char *path, bool existed, const char *prior, size_t prior_len,
		 unsigned mode, char *what, size_t what_len);

/* Give sysfd/name the owner e recorded for its prior file (nothing when
 * not recorded or already so).  apply and rollback run without CAP_CHOWN
 * (docs/SECURITY.md), so this may be refused: then note says whose it was
 * and the chown that finishes; never an error of the transaction. */
void recover_owner(int sysfd, const char *name, const char *path, const struct txn_entry *e, char *note,
		   size_t note_len);

#endif
