/* Capability checks with libcap (never from the uid alone). */
#ifndef TCPTUNE_ADVISOR_CAPS_H
#define TCPTUNE_ADVISOR_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/capability.h>

/* Is cap in this process's effective set? */
bool caps_have(cap_value_t cap);

/* Keep only keep[0..n) of the capabilities this process has, in the
 * permitted and effective sets; clear the inheritable and ambient sets.
 * (tcptune runs no other program; with euid 0 an execve would regain
 * the bounding set.)  Returns 0 or -errno. */
int caps_keep_only(const cap_value_t *keep, size_t n);

/* What a verb that only reads keeps: CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE
 * (attributing other users' sockets, docs/KERNEL.md §9.5).  A failure to drop
 * is reported as a warning and the verb goes on. */
void caps_keep_reading(void);

/* The "CapEff:" line of /proc/self/status, for tests (--debug-print-capeff). */
int caps_effective_hex(char *buf, size_t len);

#endif
