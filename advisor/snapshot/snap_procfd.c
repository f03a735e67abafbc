/* CLOSE_WAIT attribution: which process holds each CLOSE_WAIT socket.  On a
 * live system where BPF can be used, from the socket descriptors a BPF
 * task iterator walks in the kernel (owners_bpf.c, docs/KERNEL.md
 * §18.5); otherwise, or with TCPTUNE_OWNERS=proc, by
 * matching socket inodes against /proc/PID/fd links "socket:[N]" (what
 * ss -p does), each fd table read by fdtable_scan() (procwalk.c), on two
 * threads from SCAN_THREADS_MIN_PIDS processes.  The scan stops as soon as
 * every inode is found by the processes /proc lists first (docs/KERNEL.md
 * §18.3).  Reading
 * another user's fd table needs CAP_DAC_READ_SEARCH (to list the directory,
 * fs/proc/fd.c proc_fd_permission()) and CAP_SYS_PTRACE (to read a link,
 * ptrace_may_access() in fs/proc/base.c); docs/KERNEL.md §9.5. */
#include "snap_readers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps.h"
#include "log.h"
#include "procwalk.h"
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

/* The process's name, escaped for display ("?" when unreadable). */
static void read_comm(int procfd, int pid, bool confine, char *comm, size_t len)
{
	char rel[32], raw[64];
	/* Under --root, confined: a planted symlink must not read a host file
	 * into the report; O_NONBLOCK for a planted FIFO. */
	int fd;

	snprintf(rel, sizeof(rel), "%d/comm", pid);
	fd = rootfs_openat_in(procfd, rel, O_RDONLY | O_NONBLOCK, confine);
	if (fd >= 0) {
		ssize_t n = read(fd, raw, sizeof(raw) - 1);

		close(fd);
		if (n > 0) {
			raw[n] = '\0';
			/* A program names itself: never trust the bytes. */
			str_escape(str_strip(raw), comm, len);
			return;
		}
	}
	snprintf(comm, len, "?");
}

/* The uids owning a CLOSE_WAIT socket, sorted, for the first pass. */
struct uid_set {
	uint32_t *v;
	size_t n;
	bool ns_known;		/* live: the audited network namespace */
	unsigned long ns_inum;	/* (proc_netns_inum()) */
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

/* The scan: every process of /proc, in the order /proc lists them, gets an
 * order number (pass * n_pids + its place).  Each CLOSE_WAIT socket goes to
 * the process of lowest order holding it, which is what one thread stopping
 * at the last socket found gives, whatever the timing of two threads: a
 * claim only ever moves to a lower order.  Workers take the processes in
 * blocks of SCAN_BLOCK, in order, and stop once every socket is claimed by
 * an order below the next process's: no later process can take one. */
#define SCAN_BLOCK 16
/* Two threads, where two CPUs are online, from this many processes (a
 * table read costs some 20 µs with cold caches, docs/KERNEL.md §18.3: 256
 * of them are milliseconds, against a thread's start and join). */
#define SCAN_THREADS_MIN_PIDS 256

/* A process that took a socket, with the order it took it under. */
struct holder {
	size_t order;
	int pid;
	char comm[64];
};

struct scan {
	struct census *c;
	int procfd;
	bool confine, probe;	/* probe: live procfs, st_size counts fds */
	const struct uid_set *uids;
	bool first;		/* this pass: the likely holders; else the others */
	bool *read;		/* per pids[k]: its table was read (or it has none) */
	const int *pids;
	size_t n_pids, base;	/* order of pids[k]: base + k */
	_Atomic size_t *claim;	/* per c->cw[i]: order of its holder, SIZE_MAX none */
	atomic_size_t next;	/* the next block's first k */
	atomic_size_t unclaimed;
	atomic_size_t bound;	/* unclaimed 0: no claim is above this order */
	atomic_bool failed;
};

struct worker {
	struct scan *x;
	struct holder *h;
	size_t n_h, cap_h;
	size_t order;		/* of the process being read */
	int pid;
	bool took;		/* it took a socket: it has a holder entry */
	unsigned links;		/* links read without a claim */
	bool denied, skipped;
	int err;
	struct dirwalk w;
};

/* Once every socket is claimed: the highest order holding one (claims only
 * go down, so an old value is an upper bound). */
static size_t refresh_bound(struct scan *x)
{
	size_t m = 0;

	for (size_t i = 0; i < x->c->n_cw; i++) {
		size_t v = atomic_load(&x->claim[i]);

		if (v > m)
			m = v;
	}
	atomic_store(&x->bound, m);
	return m;
}

/* True when no process of this order or a later one can take a socket:
 * every socket is claimed, by earlier processes.  refresh: recompute the
 * bound (O(sockets)), else trust the last one. */
static bool all_taken_before(struct scan *x, size_t order, bool refresh)
{
	if (atomic_load(&x->unclaimed) > 0)
		return false;
	return (refresh ? refresh_bound(x) : atomic_load(&x->bound)) < order;
}

/* comm: the process's name as the BPF walk gave it, escaped; NULL: read
 * it from /proc. */
static int add_holder(struct worker *k, const char *comm)
{
	struct holder *h;

	if (k->n_h == k->cap_h) {
		size_t cap = k->cap_h ? 2 * k->cap_h : 64;

		h = realloc(k->h, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		k->h = h;
		k->cap_h = cap;
	}
	h = &k->h[k->n_h++];
	h->order = k->order;
	h->pid = k->pid;
	if (comm)
		snprintf(h->comm, sizeof(h->comm), "%s", comm);
	else
		read_comm(k->x->procfd, k->pid, k->x->confine, h->comm, sizeof(h->comm));
	return 0;
}

/* One fd link of the process being read (fdtable_scan()'s callback). */
static int on_link(void *arg, const char *link)
{
	struct worker *k = arg;
	struct scan *x = k->x;
	struct census_cw key = { .inode = 0 };
	const struct census_cw *hit = NULL;
	bool claimed = false;

	if (parse_socket_link(link, &key.inode) == 0)
		hit = bsearch(&key, x->c->cw, x->c->n_cw, sizeof(*x->c->cw), cw_by_inode);
	if (hit) {
		size_t i = (size_t) (hit - x->c->cw), cur = atomic_load(&x->claim[i]);

		while (k->order < cur && !claimed)
			/* on failure cur is reloaded: lower now? */
			claimed = atomic_compare_exchange_weak(&x->claim[i], &cur, k->order);
		if (claimed) {
			if (!k->took) {
				int r = add_holder(k, NULL);

				if (r < 0)
					return r;
				k->took = true;
			}
			if (cur == SIZE_MAX && atomic_fetch_sub(&x->unclaimed, 1) == 1)
				refresh_bound(x);
		}
	}
	/* Every socket taken, none above this process: the rest of its table
	 * cannot change who holds what.  Asked after a claim of ours, and
	 * every 64 links (the counters are shared with the other thread: a
	 * read per link would fetch their cache line each time). */
	if (!claimed && (++k->links & 63) != 0)
		return 0;
	return all_taken_before(x, k->order + 1, false) ? 1 : 0;
}

/* Read the fd table of pids[j], if this pass takes it: the first pass the
 * likely holders, the second every process the first did not read. */
static int scan_pid(struct worker *k, size_t j)
{
	struct scan *x = k->x;
	struct stat st;
	char rel[32];
	int pid = x->pids[j], fd, r;

	if (!x->first && x->read[j])
		return 0;
	snprintf(rel, sizeof(rel), "%d/fd", pid);
	fd = rootfs_openat_in(x->procfd, rel, O_RDONLY | O_DIRECTORY, x->confine);
	if (fd < 0) {
		if (fd == -EACCES || fd == -EPERM)
			k->denied = true;
		return 0;
	}
	if (fstat(fd, &st) < 0)
		memset(&st, 0, sizeof(st));	/* unknown: likely, listed */
	else if (x->probe && st.st_size == 0) {
		/* No descriptor at all (a kernel thread, a zombie). */
		x->read[j] = true;
		close(fd);
		return 0;
	}
	if (!x->probe)
		st.st_size = 0;	/* no count: list the directory */
	if (x->first) {
		/* Likely a holder: its uid owns a wanted socket, and it runs in
		 * the audited network namespace (a socket stays in the
		 * namespace it was made in; a process in another one holds it
		 * only if it moved or was given the fd; docs/KERNEL.md §18.2).
		 * What cannot be read counts as likely. */
		bool likely = st.st_mode == 0 || uid_set_has(x->uids, (uint32_t) st.st_uid);

		if (likely && x->uids->ns_known) {
			unsigned long ns;

			if (proc_netns_inum(x->procfd, pid, &ns) == 0 && ns != x->uids->ns_inum)
				likely = false;
		}
		if (!likely) {
			k->skipped = true;
			close(fd);
			return 0;
		}
	}
	/* Each worker writes only the slots of the processes it took. */
	x->read[j] = true;
	k->pid = pid;
	k->took = false;
	r = fdtable_scan(fd, st.st_size, &k->w, on_link, k, &k->denied);
	close(fd);
	return r < 0 ? r : 0;
}

static void *worker_run(void *arg)
{
	struct worker *k = arg;
	struct scan *x = k->x;

	while (!atomic_load(&x->failed)) {
		size_t k0 = atomic_fetch_add(&x->next, SCAN_BLOCK);

		if (k0 >= x->n_pids || all_taken_before(x, x->base + k0, true))
			break;
		for (size_t j = k0; j < k0 + SCAN_BLOCK && j < x->n_pids; j++) {
			int r;

			k->order = x->base + j;
			if (all_taken_before(x, k->order, false))
				break;
			r = scan_pid(k, j);
			if (r < 0) {
				k->err = r;
				atomic_store(&x->failed, true);
				break;
			}
		}
	}
	return NULL;
}

/* One pass over the processes, on one thread or two. */
static int scan_pass(struct scan *x, struct worker *wk, size_t n_workers)
{
	pthread_t th;
	bool threaded = false;
	int r = 0;

	atomic_store(&x->next, 0);
	atomic_store(&x->bound, SIZE_MAX);
	if (n_workers > 1)
		threaded = pthread_create(&th, NULL, worker_run, &wk[1]) == 0;
	worker_run(&wk[0]);
	if (threaded)
		pthread_join(th, NULL);
	for (size_t t = 0; t < n_workers; t++)
		if (wk[t].err < 0 && r == 0)
			r = wk[t].err;
	return r;
}

static int holder_by_order(const void *a, const void *b)
{
	const struct holder *x = a, *y = b;

	return x->order < y->order ? -1 : x->order > y->order;
}

/* The claims into the census: each socket's owner, and the processes (those
 * still holding a socket at the end) in scan order. */
static int settle(struct census *c, _Atomic size_t *claim, struct worker *wk, size_t n_workers)
{
	struct holder *all = NULL;
	size_t n_all = 0, *proc_of = NULL;
	int r = 0;

	for (size_t t = 0; t < n_workers; t++)
		n_all += wk[t].n_h;
	if (n_all == 0)
		return 0;
	all = malloc(n_all * sizeof(*all));
	proc_of = calloc(n_all, sizeof(*proc_of));
	if (!all || !proc_of) {
		r = -ENOMEM;
		goto out;
	}
	n_all = 0;
	for (size_t t = 0; t < n_workers; t++) {
		if (!wk[t].n_h)
			continue;	/* a worker that found nothing may have no array at all */
		memcpy(all + n_all, wk[t].h, wk[t].n_h * sizeof(*all));
		n_all += wk[t].n_h;
	}
	qsort(all, n_all, sizeof(*all), holder_by_order);
	/* proc_of[h]: 0 none yet, else 1 + the process's index */
	for (size_t i = 0; i < c->n_cw; i++) {
		struct holder key = { .order = atomic_load(&claim[i]) }, *h;

		if (key.order == SIZE_MAX)
			continue;
		h = bsearch(&key, all, n_all, sizeof(*all), holder_by_order);
		if (h)
			proc_of[h - all] = 1;
	}
	for (size_t h = 0; h < n_all; h++)
		if (proc_of[h])
			c->n_procs++;
	c->procs = calloc(c->n_procs ? c->n_procs : 1, sizeof(*c->procs));
	if (!c->procs) {
		c->n_procs = 0;
		r = -ENOMEM;
		goto out;
	}
	for (size_t h = 0, p = 0; h < n_all; h++)
		if (proc_of[h]) {
			c->procs[p].pid = all[h].pid;
			memcpy(c->procs[p].comm, all[h].comm, sizeof(c->procs[p].comm));
			proc_of[h] = ++p;
		}
	for (size_t i = 0; i < c->n_cw; i++) {
		struct holder key = { .order = atomic_load(&claim[i]) }, *h;
		struct census_proc *p;

		if (key.order == SIZE_MAX)
			continue;
		h = bsearch(&key, all, n_all, sizeof(*all), holder_by_order);
		if (!h)
			continue;
		c->cw[i].owner = (int) (proc_of[h - all] - 1);
		p = &c->procs[c->cw[i].owner];
		p->count++;
		if (c->cw[i].rqueue > 1)
			p->unread++;
	}
out:
	free(all);
	free(proc_of);
	return r;
}

/* Every process id /proc lists, in its order. */
static int list_pids(int procfd, int **ret_pids, size_t *ret_n)
{
	struct dirwalk *w = malloc(sizeof(*w));
	int *pids = NULL, fd = -1, r;
	size_t n = 0, cap = 0;
	const char *name;

	if (!w)
		return -ENOMEM;
	fd = dup(procfd);	/* shares the offset: rewound */
	if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		r = -errno;
		goto out;
	}
	dirwalk_init(w, fd, false);
	while ((r = dirwalk_next(w, &name)) > 0) {
		int pid = proc_name_number(name);

		if (pid <= 0)
			continue;
		if (n == cap) {
			int *np = realloc(pids, (cap ? 2 * cap : 1024) * sizeof(*np));

			if (!np) {
				r = -ENOMEM;
				goto out;
			}
			pids = np;
			cap = cap ? 2 * cap : 1024;
		}
		pids[n++] = pid;
	}
	if (r < 0)
		goto out;
	*ret_pids = pids;
	*ret_n = n;
	pids = NULL;
out:
	free(pids);
	free(w);
	if (fd >= 0)
		close(fd);
	return r;
}

/* Attribute the census's CLOSE_WAIT sockets (sorted by inode): the processes
 * a uid of theirs runs, in the audited namespace, first; then, only if some
 * socket is still not found, the others.  *ret_remaining: not found. */
static int attribute(struct snapshot *s, int procfd, const struct uid_set *uids, size_t *ret_remaining,
		     bool *denied)
{
	struct census *c = &s->census;
	struct scan x = {
		.c = c, .procfd = procfd, .confine = !s->live, .uids = uids,
	};
	struct worker *wk = NULL;
	size_t n_workers = 1, n_pids = 0;
	int *pids = NULL, r;
	bool skipped = false;

	/* Live, and the kernel counts a process's fds (6.2 and later): look
	 * them up by number.  A --root tree's directory size is no count. */
	x.probe = s->live && procfs_counts_fds(procfd);
	x.claim = malloc(c->n_cw * sizeof(*x.claim));
	if (!x.claim)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_cw; i++)
		atomic_init(&x.claim[i], SIZE_MAX);
	atomic_init(&x.unclaimed, c->n_cw);
	atomic_init(&x.failed, false);
	r = list_pids(procfd, &pids, &n_pids);
	if (r < 0)
		goto out;
	x.pids = pids;
	x.n_pids = n_pids;
	if (s->live && n_pids >= SCAN_THREADS_MIN_PIDS && sysconf(_SC_NPROCESSORS_ONLN) > 1)
		n_workers = 2;
	log_debug("CLOSE_WAIT attribution: %zu processes in /proc, %zu thread%s", n_pids, n_workers,
		  n_workers == 1 ? "" : "s");
	wk = calloc(n_workers, sizeof(*wk));
	if (!wk) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t t = 0; t < n_workers; t++)
		wk[t].x = &x;
	x.read = calloc(n_pids ? n_pids : 1, sizeof(*x.read));
	if (!x.read) {
		r = -ENOMEM;
		goto out;
	}
	x.first = true;
	x.base = 0;
	r = scan_pass(&x, wk, n_workers);
	for (size_t t = 0; t < n_workers; t++)
		skipped |= wk[t].skipped;
	if (r == 0 && atomic_load(&x.unclaimed) > 0 && skipped) {
		log_debug("CLOSE_WAIT attribution: %zu sockets left after the processes of their uids; "
			  "scanning the others", atomic_load(&x.unclaimed));
		x.first = false;
		x.base = n_pids;
		r = scan_pass(&x, wk, n_workers);
	}
	if (r == 0)
		r = settle(c, x.claim, wk, n_workers);
	if (r == 0)
		*ret_remaining = atomic_load(&x.unclaimed);
	for (size_t t = 0; t < n_workers; t++)
		*denied |= wk[t].denied;
out:
	for (size_t t = 0; wk && t < n_workers; t++)
		free(wk[t].h);
	free(wk);
	free(pids);
	free(x.read);
	free(x.claim);
	return r;
}

/* The owners the BPF walk found (snap_owners.c) into the census: each
 * socket's holder is the lowest pid holding it, the one the /proc scan
 * below settles on too; a holder's order is its place in s->holders. */
static int attribute_walked(struct snapshot *s, size_t *ret_remaining)
{
	struct census *c = &s->census;
	struct worker k = { .x = NULL };
	_Atomic size_t *claim = malloc((c->n_cw ? c->n_cw : 1) * sizeof(*claim));
	size_t remaining = 0;
	int r = 0;

	if (!claim)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_cw; i++) {
		int h = snap_owner_of(s, c->cw[i].inode);

		atomic_init(&claim[i], h >= 0 ? (size_t) h : SIZE_MAX);
		remaining += h < 0;
	}
	for (size_t h = 0; h < s->n_holders && r == 0; h++) {
		k.order = h;
		k.pid = s->holders[h].pid;
		r = add_holder(&k, s->holders[h].comm);
	}
	if (r == 0)
		r = settle(c, claim, &k, 1);
	if (r == 0)
		*ret_remaining = remaining;
	free(k.h);
	free(claim);
	return r;
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

static int rank_by_count(const void *a, const void *b, void *procs)
{
	const struct census_proc *p = procs;

	return proc_by_count(&p[*(const size_t *) a], &p[*(const size_t *) b]);
}

/* The processes biggest first, each socket's owner still the index of its
 * process (census.h). */
static int sort_procs(struct census *c)
{
	size_t n = c->n_procs, *order = NULL, *place = NULL;
	struct census_proc *sorted = NULL;
	int r = 0;

	if (n < 2)
		return 0;
	order = malloc(n * sizeof(*order));
	place = malloc(n * sizeof(*place));
	sorted = malloc(n * sizeof(*sorted));
	if (!order || !place || !sorted) {
		free(sorted);
		r = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < n; k++)
		order[k] = k;
	qsort_r(order, n, sizeof(*order), rank_by_count, c->procs);
	for (size_t k = 0; k < n; k++) {
		sorted[k] = c->procs[order[k]];
		place[order[k]] = k;
	}
	free(c->procs);
	c->procs = sorted;
	for (size_t i = 0; i < c->n_cw; i++)
		if (c->cw[i].owner >= 0)
			c->cw[i].owner = (int) place[c->cw[i].owner];
out:
	free(order);
	free(place);
	return r;
}

int snap_procfd_read(struct snapshot *s)
{
	struct census *c = &s->census;
	struct uid_set uids = { .v = NULL };
	size_t remaining = c->n_cw;
	bool denied = false, via_bpf = false;
	sigset_t all, old;
	int procfd = -1, r = 0;

	snap_owners_env(s);
	if (!s->census_ok)
		return 0;
	if (c->n_cw == 0)
		goto facts;
	qsort(c->cw, c->n_cw, sizeof(*c->cw), cw_by_inode);
	/* The BPF walk, where it can be made (snap_owners.c); else /proc. */
	via_bpf = snap_owners_walk(s) == 0 && attribute_walked(s, &remaining) == 0;
	if (!via_bpf) {
		remaining = c->n_cw;
		procfd = rootfs_openat(s->rootfd, "proc", O_RDONLY | O_DIRECTORY);
		if (procfd < 0) {
			snap_note(s, "closewait", "cannot open proc: %s", strerror(-procfd));
			goto facts;
		}
		/* First the processes running as a uid that owns a CLOSE_WAIT
		 * socket (sock_diag's idiag_uid) in the audited network
		 * namespace; then, only if some socket is still not found, the
		 * others: a process may hold a socket created under another uid
		 * or in another namespace (it changed uid or namespace, or got
		 * the fd passed; docs/KERNEL.md §18.2).  The two passes visit
		 * every process once, as one would. */
		r = uid_set_make(c, &uids);
		if (r < 0)
			goto out;
		uids.ns_known = s->live && s->netns_inum != 0;
		uids.ns_inum = s->netns_inum;
		/* A signal pending during getdents64 ends a listing early, and
		 * fdtable_scan() takes a short listing for the whole: blocked
		 * while we scan (the second thread inherits the mask),
		 * delivered right after (Ctrl-C waits for the end of the
		 * scan). */
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, &old);
		r = attribute(s, procfd, &uids, &remaining, &denied);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (r < 0)
			goto out;
	}
	c->attribution_done = true;
	log_debug("CLOSE_WAIT attribution: %zu of %zu sockets found, %zu processes hold them",
		  c->n_cw - remaining, c->n_cw, c->n_procs);
facts:
	c->cw_unattributed = remaining;
	if (remaining > 0 && denied && !(caps_have(CAP_DAC_READ_SEARCH) && caps_have(CAP_SYS_PTRACE)))
		snap_note(s, "closewait", "%zu CLOSE_WAIT sockets not attributed to a process: reading other "
			  "users' /proc/PID/fd needs CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE", remaining);
	else if (remaining > 0 && via_bpf)
		/* The iterator saw every descriptor of every process. */
		snap_note(s, "closewait", "%zu CLOSE_WAIT sockets not attributed to a process: no process "
			  "held them a moment after the census (closed since, or in flight between "
			  "processes)", remaining);
	else if (remaining > 0)
		snap_note(s, "closewait", "%zu CLOSE_WAIT sockets not attributed to a process "
			  "(owner exited, or in another pid namespace)", remaining);
	top_peers(c);
	r = sort_procs(c);
	if (r < 0)
		goto out;
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
