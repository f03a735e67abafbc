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

/* Called once for each process that took a socket, in the order of the
 * walk (ascending pid; a thread with a descriptor table of its own comes at
 * its thread id, with its process's pid): the process id and its name as
 * the kernel holds it (NUL-terminated, unescaped: the program named
 * itself).  0 to go on, or a negative errno to stop. */
typedef int (*owners_fn)(void *arg, int pid, const char *comm);

/* Find the holders of the sockets inodes[0..n) (sorted ascending, unique,
 * n > 0): ret_pid[i] is the pid of the lowest pid holding inodes[i], 0 for
 * none; fn is called for every process that holds one of them first;
 * *ret_sockets is the number of socket descriptors the walk saw.  Returns
 * 0, with how the walk was made in why, or a negative errno with a short
 * reason in why, and then what fn was
 * given must be dropped (a read can fail midway): -EPERM without CAP_BPF
 * and CAP_PERFMON or when the kernel refuses the load for want of them,
 * -EOPNOTSUPP where the kernel lacks or forbids what the program needs,
 * -EXDEV when we are not in the initial pid namespace (the program gives
 * pids as that namespace numbers them), -E2BIG for more than 2^22
 * sockets, a read's error, or fn's. */
int owners_bpf_find(const uint64_t *inodes, size_t n, uint32_t *ret_pid, owners_fn fn, void *arg,
		    uint64_t *ret_sockets, char *why, size_t len);

/* Start, on a thread of its own, loading the program and walking every
 * socket descriptor of every process, adding each socket to a table of
 * room for n with its holder, while the caller does something else (the
 * census dump).  The next owners_bpf_find() answers from that walk when
 * each of its sockets is there; when one is not (opened after the walk
 * passed its holder, or held by no descriptor) or the table overflowed,
 * the same program walks again for its sockets alone, or one loaded for
 * them when the table is too small (docs/KERNEL.md §18.5).  0 when
 * started; -EBUSY when one is pending; may_load()'s refusals as
 * owners_bpf_find() (nothing started then); an error of pthread_create(). */
int owners_bpf_ahead(size_t n);

/* Drop a load and walk started ahead that no owners_bpf_find() took
 * (waits for it). */
void owners_bpf_drop(void);

#endif
