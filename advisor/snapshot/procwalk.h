/* Walking /proc: the one getdents64 record walk, and the one reader of a
 * process's fd table (docs/ARCHITECTURE.md §1.1).  The CLOSE_WAIT owners
 * (snap_procfd.c) and the listener owners (snap_listen.c) both use them. */
#ifndef TCPTUNE_ADVISOR_PROCWALK_H
#define TCPTUNE_ADVISOR_PROCWALK_H

#include <stdbool.h>
#include <stddef.h>

/* One record of a getdents64 buffer at *off: 1 with *ret_name set and *off
 * moved past it, 0 at the end of the buffer, -EBADMSG for a record that does
 * not hold its header and a terminated name within the buffer (the walk
 * stops there).  Pure: the unit tests feed it crafted buffers. */
int dirent_next(const char *buf, size_t len, size_t *off, const char **ret_name);

#define DIRWALK_BUF 16384

/* A directory listed with getdents64 straight into a buffer (no DIR, no
 * allocation).  With short_is_end, a listing that comes back with room left
 * for another record is taken as complete and not asked again: true of
 * /proc/PID/fd while no signal is pending (docs/KERNEL.md §18.2), so only for
 * fd directories with signals blocked. */
struct dirwalk {
	int fd;
	bool short_is_end;
	bool eof;
	size_t off, len;
	char buf[DIRWALK_BUF] __attribute__((aligned(8)));
};

/* fd is not owned: the caller closes it. */
void dirwalk_init(struct dirwalk *w, int fd, bool short_is_end);
/* The next name, "." and ".." skipped: 1 with *ret_name set (valid until the
 * next call), 0 at the end, or a negative errno. */
int dirwalk_next(struct dirwalk *w, const char **ret_name);

/* What fdtable_scan() calls for each open descriptor, in ascending fd
 * order, with the link's text ("socket:[123]"): 0 to go on, 1 to stop, or a
 * negative errno (returned by fdtable_scan()). */
typedef int (*fdlink_fn)(void *arg, const char *link);

/* Every descriptor of the process whose /proc/PID/fd is open at fddir.
 * nfds is that directory's st_size when it comes from the live procfs
 * (kernel 6.2 and later: the number of open descriptors), else 0.  With a
 * count, the fds are looked up by number from 0 until that many are seen
 * (no listing: docs/KERNEL.md §18.3); too many holes on the way, and the
 * rest is listed from there on.  Without one, the directory is listed
 * (short_is_end: signals must be blocked).  *denied is set when a link
 * could not be read.  w is the caller's workspace.  Returns 0, 1 when fn
 * stopped it, or fn's negative errno. */
int fdtable_scan(int fddir, long long nfds, struct dirwalk *w, fdlink_fn fn, void *arg, bool *denied);

/* Does this procfs give a process's open fd count as the st_size of
 * /proc/PID/fd (kernel 6.2 and later; docs/KERNEL.md §18.3)?  Asked of our
 * own, which holds at least procfd. */
bool procfs_counts_fds(int procfd);

/* The network namespace of process pid (0: our own) under the live procfd:
 * the inode number readlink() shows of /proc/PID/ns/net ("net:[N]"), the
 * same number for the same namespace.  A readlink, not a stat(): it does not
 * open the namespace file (docs/KERNEL.md §18.3).  Returns 0 or a negative
 * errno (-EACCES without ptrace access). */
int proc_netns_inum(int procfd, int pid, unsigned long *ret_inum);

/* The number in "123", or -1 for anything else (INT32_MAX at most). */
int proc_name_number(const char *name);

#endif
