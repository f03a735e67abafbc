/* Undoing an applied entry as a transaction of its own: txn_rollback() of
 * txn.h is defined here, with the choice of what to undo, which is pure and
 * tested on its own. */
#ifndef TCPTUNE_BACKUP_ROLLBACK_H
#define TCPTUNE_BACKUP_ROLLBACK_H

#include <stdbool.h>
#include <stddef.h>

#include "txn.h"

/* Which of the entries v (oldest first) a rollback of id undoes; id NULL:
 * the newest "apply" entry with status "applied".  id is compared as a
 * number ("7" finds "0007").  Returns 0 with *ret_index, or with why filled:
 * -ENOENT no such entry / nothing to roll back; -EINVAL id malformed, the
 * entry is a rollback itself, or it is not "applied"; -EBADMSG corrupt;
 * -EEXIST a newer apply entry is still applied (its file would be lost), with
 * force or without: why then lists the rollbacks to run, newest first. */
int rollback_find_target(const struct txn_entry *v, size_t n, const char *id, bool force, size_t *ret_index,
			 char *why, size_t why_len);

#endif
