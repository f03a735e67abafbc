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

/* Ask on the terminal unless yes; with no terminal and no --yes, refuse. */
int guard_confirm(const char *verb, const char *question, bool yes);

#endif
