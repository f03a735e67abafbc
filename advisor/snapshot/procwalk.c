/* Walking /proc: getdents64 records, and one process's fd table
 * (docs/KERNEL.md §18.2, §18.3). */
#include "procwalk.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int dirent_next(const char *buf, size_t len, size_t *off, const char **ret_name)
{
	const size_t hdr = offsetof(struct dirent64, d_name);
	const char *name;
	unsigned short rl;
	size_t reclen;

	if (*off >= len)
		return 0;
	if (len - *off < hdr)
		return -EBADMSG;
	/* Copied out, not read in place: a record of a crafted buffer need not
	 * be aligned (the kernel's are, to 8 bytes). */
	memcpy(&rl, buf + *off + offsetof(struct dirent64, d_reclen), sizeof(rl));
	reclen = rl;
	name = buf + *off + hdr;
	/* A record must hold its header and a terminated name. */
	if (reclen <= hdr || reclen > len - *off || !memchr(name, '\0', reclen - hdr))
		return -EBADMSG;
	*off += reclen;
	*ret_name = name;
	return 1;
}

void dirwalk_init(struct dirwalk *w, int fd, bool short_is_end)
{
	w->fd = fd;
	w->short_is_end = short_is_end;
	w->eof = false;
	w->off = w->len = 0;
}

int dirwalk_next(struct dirwalk *w, const char **ret_name)
{
	for (;;) {
		const char *name = NULL;
		int r = dirent_next(w->buf, w->len, &w->off, &name);

		if (r < 0) {
			w->eof = true;	/* a bad record: nothing after it can be trusted */
			return r;
		}
		if (r > 0) {
			if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
				continue;
			*ret_name = name;
			return 1;
		}
		if (w->eof)
			return 0;
		{
			ssize_t n = getdents64(w->fd, w->buf, sizeof(w->buf));

			if (n < 0) {
				w->eof = true;
				return -errno;
			}
			if (n == 0) {
				w->eof = true;
				return 0;
			}
			w->off = 0;
			w->len = (size_t) n;
			/* Room left for one more record: the kernel stopped because
			 * the fds ended, not for want of space.  Asking again would
			 * walk the fd table's slots from the last fd to its end a
			 * second time (docs/KERNEL.md §18.2). */
			if (w->short_is_end && w->len + sizeof(struct dirent64) <= sizeof(w->buf))
				w->eof = true;
		}
	}
}

int proc_name_number(const char *name)
{
	long v = 0;

	if (*name < '0' || *name > '9')
		return -1;
	for (; *name >= '0' && *name <= '9'; name++) {
		v = v * 10 + (*name - '0');
		if (v > INT32_MAX)
			return -1;
	}
	return *name ? -1 : (int) v;
}

bool procfs_counts_fds(int procfd)
{
	struct stat st;

	return fstatat(procfd, "self/fd", &st, 0) == 0 && S_ISDIR(st.st_mode) && st.st_size > 0;
}

int proc_netns_inum(int procfd, int pid, unsigned long *ret_inum)
{
	char rel[40], link[64];
	unsigned long v = 0;
	const char *p = link + 5;
	ssize_t n;

	if (pid > 0)
		snprintf(rel, sizeof(rel), "%d/ns/net", pid);
	else
		snprintf(rel, sizeof(rel), "self/ns/net");
	n = readlinkat(procfd, rel, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	if (strncmp(link, "net:[", 5) != 0 || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (ULONG_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (unsigned long) (*p - '0');
	}
	if (p[0] != ']' || p[1] != '\0')
		return -EINVAL;
	*ret_inum = v;
	return 0;
}

/* One link: 1 read into link, 0 gone or not a link, or denied. */
static int read_link(int fddir, const char *name, char *link, size_t len, bool *denied)
{
	ssize_t n = readlinkat(fddir, name, link, len - 1);

	if (n < 0) {
		if (errno == EACCES || errno == EPERM)
			*denied = true;
		return 0;
	}
	link[n] = '\0';
	return 1;
}

/* Holes passed before the lookups by number give way to a listing: each hole
 * costs a lookup, the listing a walk of the fd table's slots; a table with
 * a few scattered holes (closed descriptors not yet reused) stays probed. */
#define PROBE_HOLES(nfds) (32 + (nfds) / 4)

int fdtable_scan(int fddir, long long nfds, struct dirwalk *w, fdlink_fn fn, void *arg, bool *denied)
{
	char link[64];
	const char *name = NULL;
	int fd = 0, r;

	if (nfds > 0) {
		long long seen = 0, holes = 0;

		for (; seen < nfds && fd < INT32_MAX; fd++) {
			char num[16];
			ssize_t n;

			if (holes > PROBE_HOLES(nfds))
				break;
			snprintf(num, sizeof(num), "%d", fd);
			n = readlinkat(fddir, num, link, sizeof(link) - 1);
			if (n < 0) {
				/* Denied: the fd exists (the lookup found it,
				 * readlink refused; docs/KERNEL.md §9.5). */
				if (errno == EACCES || errno == EPERM) {
					*denied = true;
					seen++;
				} else
					holes++;
				continue;
			}
			seen++;
			link[n] = '\0';
			r = fn(arg, link);
			if (r != 0)
				return r;
		}
		if (seen >= nfds)
			return 0;
		/* The rest by listing, from fd on: a listing's position is the
		 * fd plus 2 (docs/KERNEL.md §18.3). */
		if (lseek(fddir, (off_t) fd + 2, SEEK_SET) < 0) {
			*denied = true;	/* the rest unread: said, not taken for "none" */
			return 0;
		}
	}
	dirwalk_init(w, fddir, true);
	/* A listing that fails ends the table: the process exited. */
	while (dirwalk_next(w, &name) > 0 && name) {
		if (!read_link(fddir, name, link, sizeof(link), denied))
			continue;
		r = fn(arg, link);
		if (r != 0)
			return r;
	}
	return 0;
}
