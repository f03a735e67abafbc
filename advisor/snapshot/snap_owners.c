/* Which process holds a socket, through the BPF walk (owners_bpf.c): made
 * once per snapshot, when there are CLOSE_WAIT sockets to attribute, for
 * those and the listening sockets together, so that the CLOSE_WAIT owners
 * (snap_procfd.c) and the listeners' (snap_listen.c) come from one walk of
 * the kernel's tables instead of a /proc scan each.  Only the sockets asked
 * about are kept: memory follows the census's CLOSE_WAIT and LISTEN
 * sockets, not every socket of the host.  docs/KERNEL.md §18.5. */
#include "snap_readers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "owners_bpf.h"
#include "strutil.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

static int owner_by_inode(const void *a, const void *b)
{
	const struct sock_owner *x = a, *y = b;

	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	/* The walk goes in ascending pid order: the lowest pid first, as the
	 * /proc scan, which reads /proc in its ascending order, settles. */
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int owner_by_inode_only(const void *a, const void *b)
{
	const struct sock_owner *x = a, *y = b;

	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

struct collect {
	const uint64_t *want;	/* sorted, unique */
	size_t n_want;
	struct sock_owner *v;
	size_t n, cap;
	size_t records;
};

static int on_record(void *arg, uint64_t inode, int pid, const char *comm)
{
	struct collect *k = arg;
	struct sock_owner *o;
	char raw[sizeof(o->comm)];

	k->records++;
	if (!bsearch(&inode, k->want, k->n_want, sizeof(*k->want), cmp_u64))
		return 0;
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 256;

		o = realloc(k->v, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		k->v = o;
		k->cap = cap;
	}
	o = &k->v[k->n++];
	o->inode = inode;
	o->pid = pid;
	/* A program names itself: never trust the bytes. */
	snprintf(raw, sizeof(raw), "%s", comm);
	str_escape(str_strip(raw), o->comm, sizeof(o->comm));
	return 0;
}

/* TCPTUNE_OWNERS: "proc" reads /proc only; unset or "auto", BPF where it can
 * be used.  Anything else is noted and taken as "auto". */
static bool owners_try_bpf(struct snapshot *s)
{
	const char *v = getenv("TCPTUNE_OWNERS");

	if (!v || !*v || strcmp(v, "auto") == 0)
		return true;
	if (strcmp(v, "proc") == 0)
		return false;
	snap_bad_input(s, "closewait", "TCPTUNE_OWNERS=%.32s: expected auto or proc; taken as auto", v);
	return true;
}

/* The inodes to look for: CLOSE_WAIT and listening sockets, sorted. */
static int wanted(const struct census *c, uint64_t **ret, size_t *ret_n)
{
	uint64_t *v = malloc((c->n_cw + c->n_listeners + 1) * sizeof(*v));
	size_t n = 0, u = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_cw; i++)
		v[n++] = c->cw[i].inode;
	for (size_t i = 0; i < c->n_listeners; i++)
		if (c->listeners[i].inode)
			v[n++] = c->listeners[i].inode;
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || v[u - 1] != v[i])
			v[u++] = v[i];
	*ret = v;
	*ret_n = u;
	return 0;
}

int snap_owners_walk(struct snapshot *s)
{
	struct collect k = { .want = NULL };
	uint64_t *want = NULL;
	char why[128] = "";
	int r;

	if (s->owners_walk)
		return s->owners_walk > 0 ? 0 : s->owners_walk;
	if (!s->live || !s->census_ok) {
		s->owners_walk = -EOPNOTSUPP;
		return s->owners_walk;
	}
	if (!owners_try_bpf(s)) {
		log_debug("socket owners: TCPTUNE_OWNERS=proc: reading /proc");
		s->owners_walk = -EOPNOTSUPP;
		return s->owners_walk;
	}
	r = wanted(&s->census, &want, &k.n_want);
	if (r < 0) {
		s->owners_walk = r;
		return r;
	}
	k.want = want;
	r = owners_bpf_walk(on_record, &k, why, sizeof(why));
	free(want);
	if (r < 0) {
		log_debug("socket owners: BPF iterator not used (%s): reading /proc", why);
		free(k.v);
		s->owners_walk = r;
		return r;
	}
	/* Sorted by inode, the lowest pid first; only that one kept. */
	if (k.n > 1)
		qsort(k.v, k.n, sizeof(*k.v), owner_by_inode);
	s->n_owners = 0;
	for (size_t i = 0; i < k.n; i++)
		if (s->n_owners == 0 || k.v[s->n_owners - 1].inode != k.v[i].inode)
			k.v[s->n_owners++] = k.v[i];
	s->owners = k.v;
	s->owners_walk = 1;
	log_debug("socket owners: BPF task iterator, %zu socket descriptors, %zu of %zu sockets asked about held",
		  k.records, s->n_owners, k.n_want);
	return 0;
}

const struct sock_owner *snap_owner_of(const struct snapshot *s, uint64_t inode)
{
	struct sock_owner key = { .inode = inode };

	if (s->owners_walk <= 0 || !s->n_owners)
		return NULL;
	return bsearch(&key, s->owners, s->n_owners, sizeof(*s->owners), owner_by_inode_only);
}
