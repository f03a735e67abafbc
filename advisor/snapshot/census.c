/* Socket census: counts, TIME_WAIT direction and destinations, CLOSE_WAIT
 * inodes for attribution.  Classification follows docs/KERNEL.md §9.1:
 * timer 3 = timewait minisocket; inode 0 in FIN_WAIT1/FIN_WAIT2/CLOSING/
 * LAST_ACK = orphan; inode 0 in ESTABLISHED/CLOSE_WAIT = not yet accepted.
 *
 * "Incoming" (this host was the server) means the local port is a listening
 * port now, or lies outside ip_local_port_range: connect() without an
 * explicit bind() takes its local port from that range
 * (__inet_hash_connect(), docs/KERNEL.md §20.1), so a port outside it is a
 * server's port even after its listener closed.  Both sock_diag
 * (inet_diag_dump_icsk() walks the listening hash before the established
 * hash, net/ipv4/inet_diag.c) and /proc/net/tcp (tcp_seq_start() starts with
 * LISTENING_SOCKETS) deliver a family's listeners before its connections, and
 * an accepted socket has its listener's family, so the bitmap is complete
 * when a connection is classified. */
#include "census.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "strutil.h"

struct dest_slot {
	uint8_t used;
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
	uint32_t tw;		/* outgoing TIME_WAIT */
	uint32_t all;		/* outgoing sockets of any state from an ephemeral port */
	uint32_t bindpar;	/* of those, on a port of the parity bind(0) picks (docs/KERNEL.md §19.6) */
};

struct census_desttab {
	struct dest_slot *slots;
	size_t cap, used;	/* cap is a power of two */
};

int census_init(struct census *c, uint16_t port_low, uint16_t port_high)
{
	memset(c, 0, sizeof(*c));
	c->port_low = port_low;
	c->port_high = port_high;
	c->dests = calloc(1, sizeof(*c->dests));
	if (!c->dests)
		return -ENOMEM;
	return 0;
}

void census_release(struct census *c)
{
	if (c->dests)
		free(c->dests->slots);
	free(c->dests);
	free(c->cw);
	free(c->cw_uids);
	free(c->procs);
	free(c->listeners);
	memset(c, 0, sizeof(*c));
}

static uint64_t dest_hash(uint8_t family, const uint8_t *addr, uint16_t port)
{
	/* FNV-1a over the key: good enough spread for a table we size ourselves. */
	uint64_t h = 1469598103934665603ULL;
	size_t n = family == AF_INET ? 4 : 16;

	h = (h ^ family) * 1099511628211ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ addr[i]) * 1099511628211ULL;
	h = (h ^ (port & 0xff)) * 1099511628211ULL;
	h = (h ^ (port >> 8)) * 1099511628211ULL;
	return h;
}

static int desttab_grow(struct census_desttab *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 256;
	struct dest_slot *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		struct dest_slot *o = &t->slots[i];
		size_t j;

		if (!o->used)
			continue;
		j = dest_hash(o->family, o->addr, o->port) & (ncap - 1);
		while (ns[j].used)
			j = (j + 1) & (ncap - 1);
		ns[j] = *o;
	}
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
	return 0;
}

static struct dest_slot *desttab_get(struct census_desttab *t, uint8_t family, const uint8_t *addr,
				     uint16_t port)
{
	size_t n = family == AF_INET ? 4 : 16, j;

	if ((t->used + 1) * 10 > t->cap * 7 && desttab_grow(t) < 0)
		return NULL;
	j = dest_hash(family, addr, port) & (t->cap - 1);
	while (t->slots[j].used) {
		struct dest_slot *s = &t->slots[j];
		if (s->family == family && s->port == port && memcmp(s->addr, addr, n) == 0)
			return s;
		j = (j + 1) & (t->cap - 1);
	}
	t->slots[j].used = 1;
	t->slots[j].family = family;
	t->slots[j].port = port;
	memcpy(t->slots[j].addr, addr, n);
	t->used++;
	return &t->slots[j];
}

static bool is_listening(const struct census *c, uint16_t port)
{
	return c->listen_ports[port / 8] & (1u << (port % 8));
}

bool census_port_is_server(const struct census *c, uint16_t port)
{
	return is_listening(c, port) || port < c->port_low || port > c->port_high;
}

static int add_close_wait(struct census *c, const struct sock_rec *r, bool server_side)
{
	struct census_cw *cw;

	if (c->n_cw == 0 && c->on_first_cw)
		c->on_first_cw(c->on_first_cw_arg);
	if (c->n_cw == c->cap_cw) {
		size_t ncap = c->cap_cw ? c->cap_cw * 2 : 64;
		struct census_cw *n = realloc(c->cw, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->cw = n;
		c->cap_cw = ncap;
	}
	cw = &c->cw[c->n_cw++];
	memset(cw, 0, sizeof(*cw));
	cw->inode = r->inode;
	cw->rqueue = r->rqueue;
	cw->uid = r->uid;
	cw->owner = -1;
	cw->peer.family = r->family;
	memcpy(cw->peer.addr, r->raddr, sizeof(cw->peer.addr));
	/* A server's CLOSE_WAIT peers are clients on ephemeral ports: group them
	 * by address.  A client's peer is a service: keep its port. */
	cw->peer.port = server_side ? 0 : r->rport;
	cw->peer.count = 1;
	return 0;
}

static int listener_add(struct census *c, const struct sock_rec *r)
{
	struct census_listener *l;

	if (c->n_listeners == c->cap_listeners) {
		size_t cap = c->cap_listeners ? c->cap_listeners * 2 : 16;
		l = realloc(c->listeners, cap * sizeof(*l));
		if (!l)
			return -ENOMEM;
		c->listeners = l;
		c->cap_listeners = cap;
	}
	l = &c->listeners[c->n_listeners++];
	l->family = r->family;
	memcpy(l->addr, r->laddr, sizeof(l->addr));
	l->port = r->lport;
	l->queue = r->rqueue;
	l->backlog = r->wqueue;
	l->inode = r->inode;
	return 0;
}

int census_add(struct census *c, const struct sock_rec *r)
{
	const struct tcp_state_name *sn = tcp_state_by_number(r->state);
	int state, fam;
	bool server_port, ephemeral;

	if (!sn || (r->family != AF_INET && r->family != AF_INET6))
		return -EINVAL;
	state = sn->state;
	fam = r->family == AF_INET ? 0 : 1;
	c->states[state]++;
	c->by_family[fam][state]++;
	c->total++;

	if (state == TCPS_LISTEN) {
		c->listen_ports[r->lport / 8] |= (uint8_t) (1u << (r->lport % 8));
		return listener_add(c, r);
	}
	if (r->timer == 1 && r->retrans >= CENSUS_STALLED_RETRANS && r->wqueue > 0 && state != TCPS_SYN_RECV &&
	    state != TCPS_SYN_SENT) {
		c->stalled++;
		if (r->retrans > c->stalled_max_retrans)
			c->stalled_max_retrans = r->retrans;
	}
	if (r->timer == 3)
		c->tw_minisocks++;
	else if (r->inode == 0) {
		if (state == TCPS_FIN_WAIT1 || state == TCPS_FIN_WAIT2 || state == TCPS_CLOSING ||
		    state == TCPS_LAST_ACK)
			c->orphans++;
		else if (state == TCPS_ESTABLISHED || state == TCPS_CLOSE_WAIT)
			c->unaccepted++;
	}

	/* A port outside the ephemeral range is a server's, even after its
	 * listener closed (the comment at the top). */
	server_port = census_port_is_server(c, r->lport);
	ephemeral = !server_port;

	if (state == TCPS_TIME_WAIT) {
		if (server_port)
			c->tw_incoming++;
		else
			c->tw_outgoing++;
	}
	if (ephemeral) {
		struct dest_slot *d = desttab_get(c->dests, r->family, r->raddr, r->rport);

		if (!d)
			return -ENOMEM;
		if (state == TCPS_TIME_WAIT)
			d->tw++;
		d->all++;
		if ((r->lport - c->port_low) & 1)
			d->bindpar++;
	}
	if (state == TCPS_CLOSE_WAIT) {
		if (r->rqueue > 1)
			c->cw_with_unread++;
		if (r->inode != 0)
			return add_close_wait(c, r, server_port);
	}
	return 0;
}

static int dest_cmp(const struct dest_slot *a, uint32_t va, const struct dest_slot *b, uint32_t vb)
{
	if (va != vb)
		return va > vb ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	{
		int m = memcmp(a->addr, b->addr, 16);
		if (m)
			return m;
	}
	return a->port < b->port ? -1 : a->port > b->port;
}

static void slot_to_dest(const struct dest_slot *s, uint32_t count, struct census_dest *d)
{
	memset(d, 0, sizeof(*d));
	d->family = s->family;
	memcpy(d->addr, s->addr, 16);
	d->port = s->port;
	d->count = count;
}

size_t census_top_tw_dests(const struct census *c, struct census_dest *out, size_t n)
{
	const struct census_desttab *t = c->dests;
	const struct dest_slot *best[16];
	size_t k = 0;

	if (n > 16)
		n = 16;
	/* n == 0 would compare against best[-1] below. */
	if (!t || n == 0)
		return 0;
	/* Insertion into a tiny sorted array: O(destinations * n). */
	for (size_t i = 0; i < t->cap; i++) {
		const struct dest_slot *s = &t->slots[i];
		size_t j;

		if (!s->used || s->tw == 0)
			continue;
		if (k == n && dest_cmp(s, s->tw, best[k - 1], best[k - 1]->tw) >= 0)
			continue;
		j = k < n ? k++ : k - 1;
		while (j > 0 && dest_cmp(s, s->tw, best[j - 1], best[j - 1]->tw) < 0) {
			best[j] = best[j - 1];
			j--;
		}
		best[j] = s;
	}
	for (size_t i = 0; i < k; i++)
		slot_to_dest(best[i], best[i]->tw, &out[i]);
	return k;
}

bool census_max_dest_usage(const struct census *c, struct census_dest *ret)
{
	const struct census_desttab *t = c->dests;
	const struct dest_slot *best = NULL;

	if (!t)
		return false;
	for (size_t i = 0; i < t->cap; i++) {
		const struct dest_slot *s = &t->slots[i];

		if (!s->used || s->all == 0)
			continue;
		if (!best || dest_cmp(s, s->all, best, best->all) < 0)
			best = s;
	}
	if (!best)
		return false;
	slot_to_dest(best, best->all, ret);
	return true;
}

uint64_t census_bind_parity(const struct census *c, struct census_dest *ret_top)
{
	const struct census_desttab *t = c->dests;
	const struct dest_slot *best = NULL;
	uint32_t half = (uint32_t) (c->port_high - c->port_low + 1) / 2;
	uint64_t sum = 0;

	if (!t)
		return 0;
	for (size_t i = 0; i < t->cap; i++) {
		const struct dest_slot *s = &t->slots[i];

		/* connect() moves to bind()'s parity for a destination only when
		 * its own half is used up for it: those are not counted. */
		if (!s->used || s->bindpar == 0 || s->all - s->bindpar >= half)
			continue;
		sum += s->bindpar;
		if (!best || dest_cmp(s, s->bindpar, best, best->bindpar) < 0)
			best = s;
	}
	if (best && ret_top)
		slot_to_dest(best, best->bindpar, ret_top);
	return sum;
}

int census_dest_format(const struct census_dest *d, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(d->family, d->addr, a, sizeof(a)))
		return -EINVAL;
	if (d->port == 0)
		return str_printf(buf, len, "%s", a);
	if (d->family == AF_INET6)
		return str_printf(buf, len, "[%s]:%u", a, d->port);
	return str_printf(buf, len, "%s:%u", a, d->port);
}
