/* The store's entries as a list: txn_history() and txn_entries_free() of
 * txn.h are defined here, with the loader the transaction itself uses to find
 * pending entries and rollback targets, and the pruning of old entries. */
#ifndef TCPTUNE_BACKUP_HISTORY_H
#define TCPTUNE_BACKUP_HISTORY_H

#include <stddef.h>

#include "txn.h"

/* Every entry in the open store, oldest first.  An entry whose manifest is
 * missing or corrupt is listed with status "corrupt", the reason in error
 * and no keys; it does not fail the list.  Caller frees with
 * txn_entries_free(). */
int history_load(int storefd, struct txn_entry **ret, size_t *ret_n);

/* Index of the oldest "pending" entry in v, or -1. */
long history_first_pending(const struct txn_entry *v, size_t n);

/* Remove old entries until keep are left where it can: "unchanged" ones
 * first, then the others, oldest first; never a pending entry, an applied
 * apply entry (the way back, down to the state before tcptune) or the newest
 * entry, so more than keep may stay.  Returns the number removed or the
 * first error (removal carries on past it). */
int history_prune(int storefd, size_t keep);

#endif
