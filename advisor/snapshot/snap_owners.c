/* Which process holds a socket, through the BPF walk (owners_bpf.c): made
 * once per snapshot, when there are CLOSE_WAIT sockets to attribute, for
 * those and the listening sockets together, so that the CLOSE_WAIT owners
 * (snap_procfd.c) and the listeners' (snap_listen.c) come from one walk of
 * the kernel's tables instead of a /proc scan each.  Only the sockets asked
 * about are kept: memory follows the census's CLOSE_WAIT and LISTEN
 * sockets, not every socket of the host, and so does the program's output
 * (a record per process holding one).  docs/KERNEL.md §18.5. */
#include "snap_readers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "owners_bpf.h"
#include "rootfs.h"
#include "strutil.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

/* The processes that took a socket, as the walk names them: the holders,
 * one entry per pid (a thread with a table of its own comes again, at its
 * thread id, under its process's pid). */
struct collect {
	struct snapshot *s;
	size_t cap;
	int max_pid;		/* the highest pid named so far */
};

static int on_holder(void *arg, int pid, const char *comm)
{
	struct collect *k = arg;
	struct snapshot *s = k->s;
	char raw[sizeof(s->holders->comm)];

	/* Out of order (a thread of its own table): maybe named already.
	 * Rare; a linear look. */
	for (size_t h = 0; pid <= k->max_pid && h < s->n_holders; h++)
		if (s->holders[h].pid == pid)
			return 0;
	if (pid > k->max_pid)
		k->max_pid = pid;
	if (s->n_holders == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 256;
		struct sock_holder *v = realloc(s->holders, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->holders = v;
		k->cap = cap;
	}
	s->holders[s->n_holders].pid = pid;
	/* A program names itself: never trust the bytes. */
	snprintf(raw, sizeof(raw), "%s", comm);
	str_escape(str_strip(raw), s->holders[s->n_holders].comm, sizeof(s->holders->comm));
	s->n_holders++;
	return 0;
}

struct pid_index {
	int pid;
	int index;
};

static int by_pid(const void *a, const void *b)
{
	const struct pid_index *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* owned_by[] from the pids the walk found: each pid's place in holders. */
static int index_holders(struct snapshot *s, const uint32_t *pid)
{
	struct pid_index *map = malloc((s->n_holders ? s->n_holders : 1) * sizeof(*map));

	if (!map)
		return -ENOMEM;
	for (size_t h = 0; h < s->n_holders; h++)
		map[h] = (struct pid_index) { .pid = s->holders[h].pid, .index = (int) h };
	if (s->n_holders > 1)
		qsort(map, s->n_holders, sizeof(*map), by_pid);
	for (size_t i = 0; i < s->n_owned; i++) {
		const struct pid_index key = { .pid = (int) pid[i] }, *m = NULL;

		if (pid[i])
			m = bsearch(&key, map, s->n_holders, sizeof(*map), by_pid);
		/* A pid no record named (its record was refused): unknown. */
		s->owned_by[i] = m ? m->index : -1;
	}
	free(map);
	return 0;
}

void snap_owners_env(struct snapshot *s)
{
	const char *v = getenv("TCPTUNE_OWNERS");

	if (!v || !*v || strcmp(v, "auto") == 0)
		return;
	if (strcmp(v, "proc") == 0) {
		if (!s->owners_walk && s->live)
			log_debug("socket owners: TCPTUNE_OWNERS=proc: through /proc only");
		if (!s->owners_walk)
			s->owners_walk = -EOPNOTSUPP;
		return;
	}
	snap_bad_input(s, "closewait", "TCPTUNE_OWNERS=%.32s: expected auto or proc; taken as auto", v);
}

/* Open files on the host (fs/file_table.c get_nr_files(), for every
 * namespace): a bound on the socket descriptors a walk can meet.  0 when
 * unknown. */
static long long open_files(const struct snapshot *s)
{
	char *text = NULL, *tab;
	long long n = 0;

	if (rootfs_read_file(s->rootfd, "proc/sys/fs/file-nr", 256, &text, NULL) < 0)
		return 0;
	tab = strchr(text, '\t');
	if (tab)
		*tab = '\0';
	if (parse_ll_trim(text, 0, INT32_MAX, &n) < 0)
		n = 0;
	free(text);
	return n;
}

void snap_owners_ahead(void *snapshot)
{
	const struct snapshot *s = snapshot;
	const char *v = getenv("TCPTUNE_OWNERS");
	long long files;
	int r;

	/* Only where snap_owners_walk() will load it: snapshot_take() on a
	 * live system, the walk neither made nor turned off, TCPTUNE_OWNERS
	 * unset or auto (a mistyped value is reported later by
	 * snap_owners_env()). */
	if (!s->owners_ahead || !s->live || s->owners_walk || (v && *v && strcmp(v, "auto") != 0))
		return;
	files = open_files(s);
	if (files <= 0 || files > SNAP_OWNERS_WALK_AHEAD) {
		if (files <= 0)
			log_debug("socket owners: not walked during the census (no count of open files)");
		else
			log_debug("socket owners: not walked during the census (%lld open files, more than %d)",
				  files, SNAP_OWNERS_WALK_AHEAD);
		return;
	}
	/* Room for the files opened meanwhile: a quarter more. */
	r = owners_bpf_ahead((size_t) (files + files / 4 + 1024));
	if (r == 0)
		log_debug("socket owners: a CLOSE_WAIT socket: walking every socket descriptor (%lld open files) "
			  "during the census", files);
	if (r < 0 && r != -EBUSY)
		log_debug("socket owners: nothing started ahead (%s)", strerror(-r));
}

void snap_owners_drop(void)
{
	owners_bpf_drop();
}

/* The inodes to look for, sorted and unique: CLOSE_WAIT and listening
 * sockets. */
static int wanted(struct snapshot *s)
{
	const struct census *c = &s->census;
	size_t n = 0, u = 0;
	uint64_t *v = malloc((c->n_cw + c->n_listeners + 1) * sizeof(*v));
	int *by = malloc((c->n_cw + c->n_listeners + 1) * sizeof(*by));

	if (!v || !by) {
		free(v);
		free(by);
		return -ENOMEM;
	}
	/* (inode 0: a socket without one, an orphan; and the program's mark
	 * of a free slot) */
	for (size_t i = 0; i < c->n_cw; i++)
		if (c->cw[i].inode)
			v[n++] = c->cw[i].inode;
	for (size_t i = 0; i < c->n_listeners; i++)
		if (c->listeners[i].inode)
			v[n++] = c->listeners[i].inode;
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || v[u - 1] != v[i])
			v[u++] = v[i];
	for (size_t i = 0; i < u; i++)
		by[i] = -1;
	s->owned_inodes = v;
	s->owned_by = by;
	s->n_owned = u;
	return 0;
}

static void forget(struct snapshot *s)
{
	free(s->owned_inodes);
	free(s->owned_by);
	free(s->holders);
	s->owned_inodes = NULL;
	s->owned_by = NULL;
	s->holders = NULL;
	s->n_owned = s->n_holders = 0;
}

int snap_owners_walk(struct snapshot *s)
{
	struct collect k = { .s = s };
	struct timespec t0, t1;
	uint32_t *pid = NULL;
	uint64_t sockets = 0;
	char why[192] = "";
	int r;

	/* Made, failed, or turned off (snap_owners_env()). */
	if (s->owners_walk)
		return s->owners_walk > 0 ? 0 : s->owners_walk;
	if (!s->live || !s->census_ok) {
		s->owners_walk = -EOPNOTSUPP;
		return s->owners_walk;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = wanted(s);
	if (r == 0 && s->n_owned == 0)
		r = -ENOENT;	/* nothing to look for */
	if (r == 0) {
		pid = calloc(s->n_owned, sizeof(*pid));
		r = pid ? owners_bpf_find(s->owned_inodes, s->n_owned, pid, on_holder, &k, &sockets, why, sizeof(why))
			: -ENOMEM;
	}
	if (r == 0)
		r = index_holders(s, pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(pid);
	if (r < 0) {
		if (why[0])
			log_debug("socket owners: BPF iterator not used (%s): reading /proc", why);
		forget(s);
		s->owners_walk = r;
		return r;
	}
	s->owners_walk = 1;
	if (log_get_level() >= LOG_VERBOSE) {
		size_t held = 0;

		for (size_t i = 0; i < s->n_owned; i++)
			held += s->owned_by[i] >= 0;
		log_debug("socket owners: BPF task iterator (%s), %llu socket descriptors, %zu of %zu sockets "
			  "asked about held by %zu processes, in %.1f ms", why, (unsigned long long) sockets, held,
			  s->n_owned, s->n_holders,
			  (double) (t1.tv_sec - t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6);
	}
	return 0;
}

int snap_owner_of(const struct snapshot *s, uint64_t inode)
{
	const uint64_t *hit;

	if (s->owners_walk <= 0 || !s->n_owned)
		return -1;
	hit = bsearch(&inode, s->owned_inodes, s->n_owned, sizeof(*hit), cmp_u64);
	return hit ? s->owned_by[hit - s->owned_inodes] : -1;
}
