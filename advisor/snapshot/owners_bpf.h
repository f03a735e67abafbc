/* The socket descriptors of every process, through a BPF task iterator
 * (bpf/owners.bpf.c, loaded as a light skeleton): what snap_procfd.c reads
 * from /proc/PID/fd, walked in the kernel over each table's bitmap of open
 * descriptors and read in a few system calls, instead of a few per
 * descriptor (docs/KERNEL.md §18.5).  Live systems only; /proc stays the
 * way wherever this one cannot be taken. */
#ifndef TCPTUNE_ADVISOR_OWNERS_BPF_H
#define TCPTUNE_ADVISOR_OWNERS_BPF_H

#include <stddef.h>
#include <stdint.h>

/* Called for each open socket descriptor, in ascending pid order (a
 * process's descriptors together, ascending): its inode, the process id and
 * the process's name as the kernel holds it (NUL-terminated, unescaped: the
 * program named itself).  0 to go on, or a negative errno to stop. */
typedef int (*owners_fn)(void *arg, uint64_t inode, int pid, const char *comm);

/* Walk them.  Returns 0, or a negative errno with a short reason in why,
 * and then what fn was given must be dropped (a read can fail midway):
 * -EPERM without CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), -EOPNOTSUPP
 * where the kernel or this build lacks what the program needs, -EXDEV when
 * we are not in the initial pid namespace (the program gives pids as that
 * namespace numbers them), a read's error, or fn's. */
int owners_bpf_walk(owners_fn fn, void *arg, char *why, size_t len);

#endif
