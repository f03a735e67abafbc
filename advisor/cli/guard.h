/* What apply and rollback do before they change anything: privileges
 * (libcap, naming what is missing), the store lock, recovery of a crashed
 * transaction, and the user's confirmation.  Each prints its own error once
 * and returns a negative errno on refusal. */
#ifndef TCPTUNE_ADVISOR_GUARD_H
#define TCPTUNE_ADVISOR_GUARD_H

#include <stdbool.h>

#include "txn.h"

/* The live system's paths (the defaults of backup/txn.h). */
extern const struct txn_paths guard_paths;

/* CAP_NET_ADMIN in the effective set and write access to the managed
 * directory and the store's parent. */
int guard_privileges(const char *verb);

/* Keep only CAP_NET_ADMIN of this process's capabilities, once
 * guard_privileges() has passed; with print_capeff, log the effective set
 * (the hidden --debug-print-capeff option, for tests). */
int guard_drop_privileges(const char *verb, bool print_capeff);

/* Take the store lock and restore any transaction a crash left pending.
 * *ret_lockfd must be released with txn_unlock(). */
int guard_lock(const char *verb, int *ret_lockfd);

/* After a failed apply or rollback: the state the machine and the store are
 * really in (err->restored, err->status of entry err->id), and the exact
 * command that continues, into buf. */
void guard_state_after_failure(const struct txn_error *err, char *buf, size_t len);

/* Print why the store or data directory at path was refused (-EPERM): its
 * owner or mode and the command that fixes it; r otherwise.  Returns r. */
int guard_explain_store(int r, const char *verb, const char *path);

/* Ask on the terminal unless yes; with no terminal and no --yes, refuse. */
int guard_confirm(const char *verb, const char *question, bool yes);

#endif
