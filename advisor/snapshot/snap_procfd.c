/* CLOSE_WAIT attribution: which process holds each CLOSE_WAIT socket, by
 * matching socket inodes against /proc/PID/fd links "socket:[N]" (what
 * ss -p does).  The scan stops as soon as every inode is found.  Reading
 * another user's fd table needs CAP_DAC_READ_SEARCH (to list the directory,
 * fs/proc/fd.c proc_fd_permission()) and CAP_SYS_PTRACE (to read a link,
 * ptrace_may_access() in fs/proc/base.c); docs/KERNEL.md §9.5. */
#include "snap_readers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps.h"
#include "log.h"
#include "rootfs.h"
#include "strutil.h"
#include "userdb.h"

static int cw_by_inode(const void *a, const void *b)
{
	const struct census_cw *x = a, *y = b;

	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

static int parse_socket_link(const char *link, uint64_t *ret)
{
	const char *p = link + 8;
	uint64_t v = 0;

	if (strncmp(link, "socket:[", 8) != 0)
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t) (*p - '0');
	}
	if (*p != ']' || p[1] != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

static int add_proc(struct census *c, int pid, int procfd, bool confine)
{
	struct census_proc *np, *p;
	char rel[32], comm[64];
	int r;

	/* The array doubles when n_procs reaches a power of two (its
	 * capacity is the next one): thousands of holders, few reallocs. */
	if ((c->n_procs & (c->n_procs - 1)) == 0) {
		np = realloc(c->procs, (c->n_procs ? 2 * c->n_procs : 1) * sizeof(*np));
		if (!np)
			return -ENOMEM;
		c->procs = np;
	}
	p = &c->procs[c->n_procs];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(rel, sizeof(rel), "%d/comm", pid);
	r = -ENOENT;
	{
		/* Under --root, confined: a planted symlink must not read a
		 * host file into the report; O_NONBLOCK for a planted FIFO. */
		int fd = rootfs_openat_in(procfd, rel, O_RDONLY | O_NONBLOCK, confine);
		if (fd >= 0) {
			ssize_t n = read(fd, comm, sizeof(comm) - 1);
			close(fd);
			if (n > 0) {
				comm[n] = '\0';
				/* A program names itself: never trust the bytes. */
				str_escape(str_strip(comm), p->comm, sizeof(p->comm));
				r = 0;
			}
		}
	}
	if (r < 0)
		snprintf(p->comm, sizeof(p->comm), "?");
	return (int) c->n_procs++;
}

/* The uids owning a CLOSE_WAIT socket, sorted, for the first pass. */
struct uid_set {
	uint32_t *v;
	size_t n;
	bool ns_known;		/* live: the audited network namespace, */
	dev_t ns_dev;		/* as stat() of /proc/self/ns/net shows it */
	ino_t ns_ino;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

	return x < y ? -1 : x > y;
}

static int uid_set_make(const struct census *c, struct uid_set *u)
{
	u->n = 0;
	u->v = malloc((c->n_cw ? c->n_cw : 1) * sizeof(*u->v));
	if (!u->v)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_cw; i++)
		u->v[i] = c->cw[i].uid;
	if (c->n_cw > 1)
		qsort(u->v, c->n_cw, sizeof(*u->v), cmp_u32);
	for (size_t i = 0; i < c->n_cw; i++)
		if (u->n == 0 || u->v[u->n - 1] != u->v[i])
			u->v[u->n++] = u->v[i];
	return 0;
}

static bool uid_set_has(const struct uid_set *u, uint32_t uid)
{
	return bsearch(&uid, u->v, u->n, sizeof(*u->v), cmp_u32) != NULL;
}

/* The process already counted for pid (a second pass adds to it). */
static int proc_index(const struct census *c, int pid)
{
	for (size_t i = 0; i < c->n_procs; i++)
		if (c->procs[i].pid == pid)
			return (int) i;
	return -1;
}

/* One fd link: a wanted CLOSE_WAIT inode not yet attributed?  Returns 1
 * when it was attributed to pid, 0 when not, or -ENOMEM. */
static int match_fd(struct census *c, int procfd, bool confine, int pid, int fd, const char *name,
		    int *owner, bool *denied)
{
	char link[64];
	struct census_cw key, *hit;
	ssize_t n = readlinkat(fd, name, link, sizeof(link) - 1);

	if (n < 0) {
		if (errno == EACCES || errno == EPERM)
			*denied = true;
		return 0;
	}
	link[n] = '\0';
	if (parse_socket_link(link, &key.inode) < 0)
		return 0;
	hit = bsearch(&key, c->cw, c->n_cw, sizeof(*c->cw), cw_by_inode);
	if (!hit || hit->owner >= 0)
		return 0;
	if (*owner < 0) {
		*owner = proc_index(c, pid);
		if (*owner < 0)
			*owner = add_proc(c, pid, procfd, confine);
		if (*owner < 0)
			return *owner;
	}
	hit->owner = *owner;
	c->procs[*owner].count++;
	if (hit->rqueue > 1)
		c->procs[*owner].unread++;
	return 1;
}

/* Scan one process's fds; returns how many new inodes it matched, or -ENOMEM.
 * *denied is set when the fd directory or a link could not be read.  The
 * owner of the fd directory (the process's uid, docs/KERNEL.md §18.2) picks
 * the pass: the first scans the processes of a uid in uids, and counts the
 * others in *skipped; the second (want_in false) scans only those others.
 * The directory is listed with getdents64 straight into a buffer (no DIR,
 * no allocation), links read relative to its fd (docs/KERNEL.md §18.2). */
static int scan_pid(struct census *c, int procfd, bool confine, int pid, const struct uid_set *uids,
		    bool want_in, size_t *remaining, bool *denied, bool *skipped)
{
	static char buf[32768] __attribute__((aligned(8)));
	char rel[32];
	int fd, owner = -1, found = 0;

	snprintf(rel, sizeof(rel), "%d/fd", pid);
	fd = rootfs_openat_in(procfd, rel, O_RDONLY | O_DIRECTORY, confine);
	if (fd < 0) {
		if (fd == -EACCES || fd == -EPERM)
			*denied = true;
		return 0;
	}
	{
		/* Likely a holder: its uid owns a wanted socket, and it runs in
		 * the audited network namespace (a socket stays in the namespace
		 * it was made in; a process in another one holds it only if it
		 * moved or was given the fd).  What cannot be read counts as
		 * likely. */
		struct stat st;
		bool likely = !(fstat(fd, &st) == 0 && !uid_set_has(uids, (uint32_t) st.st_uid));

		if (likely && uids->ns_known) {
			snprintf(rel, sizeof(rel), "%d/ns/net", pid);
			if (fstatat(procfd, rel, &st, 0) == 0 &&
			    (st.st_ino != uids->ns_ino || st.st_dev != uids->ns_dev))
				likely = false;
		}
		if (likely != want_in) {
			*skipped = true;
			close(fd);
			return 0;
		}
	}
	while (*remaining > 0) {
		ssize_t n = getdents64(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (size_t off = 0; off < (size_t) n && *remaining > 0;) {
			const struct dirent64 *e = (const struct dirent64 *) (buf + off);
			int r;

			/* A record must hold its header and a terminated name. */
			if (e->d_reclen <= offsetof(struct dirent64, d_name) || e->d_reclen > (size_t) n - off ||
			    !memchr(e->d_name, '\0', e->d_reclen - offsetof(struct dirent64, d_name)))
				break;
			off += e->d_reclen;
			if (e->d_name[0] == '.')
				continue;
			r = match_fd(c, procfd, confine, pid, fd, e->d_name, &owner, denied);
			if (r < 0) {
				close(fd);
				return r;
			}
			found += r;
			*remaining -= (size_t) r;
		}
		/* Room left for one more entry: the kernel stopped because the
		 * fds ended, not for want of space (signals are blocked, see
		 * snap_procfd_read()).  Asking again would walk the fd table's
		 * slots from the last fd to its end a second time
		 * (docs/KERNEL.md §18.2). */
		if ((size_t) n + sizeof(struct dirent64) <= sizeof(buf))
			break;
	}
	close(fd);
	return found;
}

/* One pass over /proc (scan_pid() says which processes it takes). */
static int scan_all(struct census *c, int procfd, bool confine, const struct uid_set *uids,
		    bool want_in, size_t *remaining, bool *denied, bool *skipped)
{
	static char buf[32768] __attribute__((aligned(8)));
	int fd = dup(procfd);	/* shares the offset: rewound for each pass */

	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_SET) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	while (*remaining > 0) {
		ssize_t n = getdents64(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (size_t off = 0; off < (size_t) n && *remaining > 0;) {
			const struct dirent64 *e = (const struct dirent64 *) (buf + off);
			long long pid;
			int r;

			if (e->d_reclen <= offsetof(struct dirent64, d_name) || e->d_reclen > (size_t) n - off ||
			    !memchr(e->d_name, '\0', e->d_reclen - offsetof(struct dirent64, d_name)))
				break;
			off += e->d_reclen;
			if (parse_ll(e->d_name, 1, INT32_MAX, &pid) < 0)
				continue;
			r = scan_pid(c, procfd, confine, (int) pid, uids, want_in, remaining, denied, skipped);
			if (r < 0) {
				close(fd);
				return r;
			}
		}
	}
	close(fd);
	return 0;
}

static int peer_cmp(const struct census_dest *a, const struct census_dest *b)
{
	int m;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	m = memcmp(a->addr, b->addr, 16);
	if (m)
		return m;
	return a->port < b->port ? -1 : a->port > b->port;
}

static int cw_by_owner_peer(const void *a, const void *b)
{
	const struct census_cw *x = a, *y = b;

	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	return peer_cmp(&x->peer, &y->peer);
}

/* Keep the 3 largest peer runs of a process, largest first. */
static void top_insert(struct census_proc *p, const struct census_dest *run)
{
	size_t n = p->n_top_peers, k;

	if (n == 3 && p->top_peers[2].count >= run->count)
		return;
	k = n < 3 ? n++ : 2;
	while (k > 0 && p->top_peers[k - 1].count < run->count) {
		p->top_peers[k] = p->top_peers[k - 1];
		k--;
	}
	p->top_peers[k] = *run;
	p->n_top_peers = n;
}

/* Top peers per process: sort by (owner, peer) and count runs. */
static void top_peers(struct census *c)
{
	if (c->n_cw > 1)	/* qsort(NULL, 0) is undefined */
		qsort(c->cw, c->n_cw, sizeof(*c->cw), cw_by_owner_peer);
	for (size_t i = 0; i < c->n_cw; ) {
		size_t j = i;

		while (j < c->n_cw && c->cw[j].owner == c->cw[i].owner &&
		       peer_cmp(&c->cw[j].peer, &c->cw[i].peer) == 0)
			j++;
		if (c->cw[i].owner >= 0) {
			struct census_dest run = c->cw[i].peer;

			run.count = (uint32_t) (j - i);
			top_insert(&c->procs[c->cw[i].owner], &run);
		}
		i = j;
	}
}

static int uid_by_count(const void *a, const void *b)
{
	const struct census_uid *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* The unattributed CLOSE_WAIT sockets by owner uid, most first. */
static int group_unattributed(struct census *c)
{
	free(c->cw_uids);
	c->cw_uids = NULL;
	c->n_cw_uids = 0;
	for (size_t i = 0; i < c->n_cw; i++) {
		size_t j;

		if (c->cw[i].owner >= 0)
			continue;
		for (j = 0; j < c->n_cw_uids && c->cw_uids[j].uid != c->cw[i].uid; j++)
			;
		if (j == c->n_cw_uids) {
			struct census_uid *n = realloc(c->cw_uids, (c->n_cw_uids + 1) * sizeof(*n));

			if (!n)
				return -ENOMEM;
			c->cw_uids = n;
			c->cw_uids[c->n_cw_uids++] = (struct census_uid) { .uid = c->cw[i].uid };
		}
		c->cw_uids[j].count++;
	}
	if (c->n_cw_uids > 1)
		qsort(c->cw_uids, c->n_cw_uids, sizeof(*c->cw_uids), uid_by_count);
	return 0;
}

/* "uid 33 (www-data)": the user name only live, where this host's user
 * database is the socket's. */
static void uid_label(const struct snapshot *s, uint32_t uid, char *buf, size_t len)
{
	char raw[256];

	if (s->live && user_name((uid_t) uid, raw, sizeof(raw)) == 0) {
		char name[64];

		snprintf(buf, len, "uid %u (%s)", uid, str_escape(raw, name, sizeof(name)));
	} else
		snprintf(buf, len, "uid %u", uid);
}

/* closewait.top.*: the biggest holder, a process or, where no process could
 * be seen, the uid owning the sockets; closewait.others: the next two, as
 * "; then java (pid 40) 120, processes of uid 33 (www-data) 80". */
static int holder_facts(struct snapshot *s)
{
	const struct census *c = &s->census;
	char others[512] = "", one[160];
	size_t p = 0, u = 0, len = 0;
	int r;

	for (int k = 0; k < 3 && (p < c->n_procs || u < c->n_cw_uids); k++) {
		bool proc = p < c->n_procs && (u >= c->n_cw_uids || c->procs[p].count >= c->cw_uids[u].count);
		uint32_t count;

		if (proc) {
			snprintf(one, sizeof(one), "%s (pid %d)", c->procs[p].comm, c->procs[p].pid);
			count = c->procs[p++].count;
		} else {
			char who[96];

			uid_label(s, c->cw_uids[u].uid, who, sizeof(who));
			snprintf(one, sizeof(one), "processes of %s", who);
			count = c->cw_uids[u++].count;
		}
		if (k == 0) {
			snap_set_int(s, F_CW_TOP_COUNT, count);
			r = snap_set_str(s, F_CW_TOP_HOLDER, one);
			if (r < 0)
				return r;
		} else if (len < sizeof(others))
			len += (size_t) snprintf(others + len, sizeof(others) - len, "%s%s %u", k == 1 ? "; then " : ", ",
						 one, count);
	}
	if (c->n_cw_uids) {
		snap_set_int(s, F_CW_UNATTRIBUTED_MAX_PER_UID, c->cw_uids[0].count);
		snap_set_int(s, F_CW_UNATTRIBUTED_TOP_UID, c->cw_uids[0].uid);
	}
	return others[0] ? snap_set_str(s, F_CW_OTHERS, others) : 0;
}

static int proc_by_count(const void *a, const void *b)
{
	const struct census_proc *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

int snap_procfd_read(struct snapshot *s)
{
	struct census *c = &s->census;
	struct uid_set uids = { .v = NULL };
	size_t remaining = c->n_cw;
	bool denied = false, skipped = false;
	sigset_t all, old;
	int procfd = -1, r = 0;

	if (!s->census_ok)
		return 0;
	if (c->n_cw == 0)
		goto facts;
	qsort(c->cw, c->n_cw, sizeof(*c->cw), cw_by_inode);
	procfd = rootfs_openat(s->rootfd, "proc", O_RDONLY | O_DIRECTORY);
	if (procfd < 0) {
		snap_note(s, "closewait", "cannot open proc: %s", strerror(-procfd));
		goto facts;
	}
	/* First the processes running as a uid that owns a CLOSE_WAIT socket
	 * (sock_diag's idiag_uid) in the audited network namespace; then,
	 * only if some socket is still not found, the others: a process may
	 * hold a socket created under another uid or in another namespace (it
	 * changed uid or namespace, or got the fd passed; docs/KERNEL.md
	 * §18.2).  The two passes visit every process once, as one would. */
	r = uid_set_make(c, &uids);
	if (r < 0)
		goto out;
	if (s->live) {
		struct stat st;

		if (fstatat(procfd, "self/ns/net", &st, 0) == 0) {
			uids.ns_known = true;
			uids.ns_dev = st.st_dev;
			uids.ns_ino = st.st_ino;
		}
	}
	/* A signal pending during getdents64 ends a listing early, and
	 * scan_pid() takes a short listing for the whole: blocked while we
	 * scan, delivered right after (Ctrl-C waits for the end of the scan). */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	r = scan_all(c, procfd, !s->live, &uids, true, &remaining, &denied, &skipped);
	if (r == 0 && remaining > 0 && skipped) {
		log_debug("CLOSE_WAIT attribution: %zu sockets left after the processes of their uids; "
			  "scanning the others", remaining);
		r = scan_all(c, procfd, !s->live, &uids, false, &remaining, &denied, &skipped);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		goto out;
	c->attribution_done = true;
	log_debug("CLOSE_WAIT attribution: %zu of %zu sockets found, %zu processes hold them",
		  c->n_cw - remaining, c->n_cw, c->n_procs);
facts:
	c->cw_unattributed = remaining;
	if (remaining > 0 && denied && !(caps_have(CAP_DAC_READ_SEARCH) && caps_have(CAP_SYS_PTRACE)))
		snap_note(s, "closewait", "%zu CLOSE_WAIT sockets not attributed to a process: reading other "
			  "users' /proc/PID/fd needs CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE", remaining);
	else if (remaining > 0)
		snap_note(s, "closewait", "%zu CLOSE_WAIT sockets not attributed to a process "
			  "(owner exited, or in another pid namespace)", remaining);
	top_peers(c);
	if (c->n_procs > 1)
		qsort(c->procs, c->n_procs, sizeof(*c->procs), proc_by_count);
	snap_set_int(s, F_CW_PROCESSES, (int64_t) c->n_procs);
	snap_set_int(s, F_CW_UNATTRIBUTED, (int64_t) remaining);
	snap_set_int(s, F_CW_MAX_PER_PROCESS, c->n_procs ? c->procs[0].count : 0);
	if (c->n_procs) {
		snap_set_int(s, F_CW_TOP_PID, c->procs[0].pid);
		snap_set_str(s, F_CW_TOP_COMM, c->procs[0].comm);
	}
	r = group_unattributed(c);
	if (r == 0)
		r = holder_facts(s);
	if (r == 0 && !c->n_procs && !c->n_cw_uids)
		snap_set_int(s, F_CW_TOP_COUNT, 0);
out:
	free(uids.v);
	if (procfd >= 0)
		close(procfd);
	return r;
}
