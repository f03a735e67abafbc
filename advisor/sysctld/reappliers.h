/* Programs that re-write sysctls after boot and so may undo a change made at
 * boot or at runtime: TuneD, ufw (the sysctl file it applies) and bpftune.
 * Detection only, from files under the audited root; sysctld_load() calls it
 * and owns the result (struct sysctld_reapplier, snap_sysctld.h). */
#ifndef TCPTUNE_ADVISOR_REAPPLIERS_H
#define TCPTUNE_ADVISOR_REAPPLIERS_H

#include <stddef.h>

#include "sysctld.h"

/* Append to d->reappliers each re-applier found under rootfd (a directory fd
 * of "/" or the --root directory), in the order TuneD, ufw, bpftune; a
 * configuration file that exists but cannot be read, and a bad line in ufw's
 * sysctl file, add to d->warnings.  d is zeroed or being filled by
 * sysctld_load(); on every return, sysctld_release() frees what was added.
 * Returns 0 or -ENOMEM. */
int reappliers_find(struct sysctld *d, int rootfd);

/* Free n entries (half-built ones too) and the array v, which may be NULL.
 * Returns NULL. */
struct sysctld_reapplier *reappliers_free(struct sysctld_reapplier *v, size_t n);

#endif
