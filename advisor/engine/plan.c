/* Plans; see plan.h.  What would beat the managed file at boot is decided by
 * the boot resolution itself (sysctld_overrides()). */
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "rootfs.h"
#include "txn.h"

static void normalize(const struct key_def *k, const char *in, char *out, size_t len)
{
	long long v[2];

	if (key_parse_value(k, in, v) < 0 || key_format_value(k, v, out, len) < 0)
		snprintf(out, len, "%s", in);
}

static int file_content(struct plan *pl)
{
	size_t cap = 512, len;
	char *buf;

	for (size_t i = 0; i < pl->n; i++)
		cap += strlen(key_table[pl->rows[i].key].name) + strlen(pl->rows[i].target) + 8;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	len = (size_t) snprintf(buf, cap,
				"# Managed by tcptune (profile %s). `tcptune apply` replaces this file;\n"
				"# `tcptune rollback` restores what was here before.\n", pl->profile);
	for (size_t i = 0; i < pl->n; i++) {
		if (pl->rows[i].skip)
			continue;
		len += (size_t) snprintf(buf + len, cap - len, "%s = %s\n", key_table[pl->rows[i].key].name,
					 pl->rows[i].target);
	}
	pl->file_content = buf;
	return 0;
}

/* Does the kernel of kernel_version accept target for k?  If not, why. */
static bool target_accepted(const struct key_def *k, const char *target, long kernel_version, char *why,
			    size_t why_len)
{
	long long v[2];

	return key_parse_value(k, target, v) < 0 || key_in_kernel_range_at(k, v, kernel_version, why, why_len);
}

static bool in_profile(const struct plan_input *in, size_t n, size_t key)
{
	for (size_t i = 0; i < n; i++)
		if (in[i].key == key)
			return true;
	return false;
}

/* The nearest value of k's apply range to the harmful v, in kernel text,
 * or false when k is not a single integer (a pair is left to the
 * profiles, which all set ip_local_port_range). */
static bool nearest_safe(const struct key_def *k, const long long v[2], char *buf, size_t len)
{
	long long t[2] = { v[0] < k->amin ? k->amin : v[0] > k->amax ? k->amax : v[0], 0 };

	return k->type == KEY_INT && key_format_value(k, t, buf, len) >= 0;
}

/* Harmful runtime values of keys the profile leaves alone: one more input
 * each at all[*pos], target and reason in the row (issue #16: whatever
 * profile is applied, a harmful value does not stay). */
static void add_corrections(struct plan *pl, const struct snapshot *s, const struct plan_input *in, size_t n,
			    struct plan_input *all, size_t *pos)
{
	for (size_t i = 0; i < key_count; i++) {
		const struct key_def *k = &key_table[i];
		const struct snap_sysctl *rt = &s->sysctl[i];
		struct plan_row *row = &pl->rows[*pos];
		char now[64];

		if (!k->writable || !rt->present || rt->err || !key_value_harmful(k, rt->v) || in_profile(in, n, i) ||
		    !nearest_safe(k, rt->v, row->target, sizeof(row->target)) ||
		    key_format_value(k, rt->v, now, sizeof(now)) < 0)
			continue;
		row->correction = true;
		snprintf(row->whybuf, sizeof(row->whybuf),
			 "corrects a harmful value (finding harmful-value): %s is outside %lld..%lld, the range "
			 "tcptune applies, because %s. %s is the nearest value inside it. The profile leaves "
			 "this key alone; a harmful value is corrected whatever the profile.",
			 now, k->amin, k->amax, k->arange_why ? k->arange_why : "`tcptune explain` says why", row->target);
		all[*pos] = (struct plan_input) { i, row->target, row->whybuf };
		(*pos)++;
		pl->n_corrections++;
	}
}

/* A profile's port set joins what is reserved already: a write replaces
 * the set (docs/KERNEL.md §20.2), and a plan never drops a reservation. */
static void union_ports(struct plan_row *row, const char *runtime)
{
	static unsigned char a[65536 / 8], b[65536 / 8];
	char why[96];

	if (key_ports_parse(row->target, a, why, sizeof(why)) < 0 || key_ports_parse(runtime, b, why, sizeof(why)) < 0)
		return;
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] |= b[i];
	if (key_ports_format(a, row->target, sizeof(row->target)) < 0) {
		snprintf(row->skipbuf, sizeof(row->skipbuf), "with what is reserved already (%s), longer than %d "
			 "characters", runtime, KEY_PORT_LIST_MAX);
		row->skip = row->skipbuf;
	}
}

/* The profile's value of key, or NULL. */
static const char *input_value(const struct plan_input *in, size_t n, int key)
{
	for (size_t i = 0; key >= 0 && i < n; i++)
		if (in[i].key == (size_t) key)
			return in[i].value;
	return NULL;
}

/* The hazard of port, found or added (kept in port order); NULL on ENOMEM. */
static struct plan_port_hazard *hazard_get(struct plan_ports *pp, unsigned port)
{
	struct plan_port_hazard *h;
	size_t i = 0;

	while (i < pp->n_hazards && pp->hazards[i].port < port)
		i++;
	if (i < pp->n_hazards && pp->hazards[i].port == port)
		return &pp->hazards[i];	/* IPv4 and IPv6 listeners on one port */
	h = realloc(pp->hazards, (pp->n_hazards + 1) * sizeof(*h));
	if (!h)
		return NULL;
	pp->hazards = h;
	memmove(&h[i + 1], &h[i], (pp->n_hazards - i) * sizeof(*h));
	pp->n_hazards++;
	memset(&h[i], 0, sizeof(*h));
	h[i].port = port;
	return &h[i];
}

/* The NodePort range of Kubernetes (--service-node-port-range default). */
#define NODEPORT_LOW 30000
#define NODEPORT_HIGH 32767
/* The kubelet's API port (its --port default). */
#define KUBELET_PORT 10250

/* Does a kubelet run here: a TCP listener on its API port held by a
 * process named kubelet?  From the census, so that no /proc scan runs
 * unless such a listener exists (the processes' names are looked up only
 * for it). */
static bool kubelet_listens(const struct snapshot *s)
{
	for (size_t i = 0; s->census_ok && i < s->census.n_listeners; i++) {
		char who[128];

		if (s->census.listeners[i].port != KUBELET_PORT)
			continue;
		snap_listener_owner(s, &s->census.listeners[i], who, sizeof(who));
		if (strncmp(who, "kubelet ", 8) == 0)
			return true;
	}
	return false;
}

/* Preflight of a new ip_local_port_range (plan.h): fills pl->ports and,
 * when ports need reserving, the row at pl->rows[0] and all[0].  Returns 1
 * when it added that row, 0 when not, -ENOMEM. */
static int ports_preflight(struct plan *pl, const struct snapshot *s, const struct plan_input *in, size_t n,
			   struct plan_input *all)
{
	static unsigned char cur[65536 / 8], want[65536 / 8];
	int ri = key_index("net.ipv4.ip_local_port_range"), ki = key_index("net.ipv4.ip_local_reserved_ports");
	struct plan_ports *pp = &pl->ports;
	const char *target = input_value(in, n, ri), *profile_res = input_value(in, n, ki);
	struct plan_row *row = &pl->rows[0];
	char why[96], now[KEY_PORT_LIST_MAX + 1];
	long long t[2];
	size_t o;
	int w;

	if (ri < 0 || ki < 0 || !target || !s->sysctl[ri].present || key_parse_value(&key_table[ri], target, t) < 0 ||
	    (t[0] == s->sysctl[ri].v[0] && t[1] == s->sysctl[ri].v[1]))
		return 0;
	pp->range_changes = true;
	pp->low = t[0];
	pp->high = t[1];
	if (!s->sysctl[ki].present || s->sysctl[ki].err || key_ports_parse(s->sysctl[ki].raw, cur, why, sizeof(why)) < 0) {
		snprintf(pp->note, sizeof(pp->note), "net.ipv4.ip_local_reserved_ports %s here, so tcptune cannot "
			 "add to it; reserve the ports named below by hand",
			 s->sysctl[ki].err == -EOVERFLOW ? "is longer than tcptune handles"
			 : s->sysctl[ki].err || s->sysctl[ki].present ? "cannot be read" : "is missing");
		memset(cur, 0, sizeof(cur));
	}
	memcpy(want, cur, sizeof(want));
	if (profile_res && key_ports_parse(profile_res, want, why, sizeof(why)) == 0)
		for (size_t i = 0; i < sizeof(want); i++)
			want[i] |= cur[i];	/* never drop a reservation */
	/* Already reserved inside the new range: connect() keeps skipping them. */
	{
		static unsigned char inside[65536 / 8];

		memset(inside, 0, sizeof(inside));
		for (long long p = t[0]; p <= t[1]; p++)
			if (key_ports_has(cur, (unsigned) p))
				key_ports_add(inside, (unsigned) p);
		if (key_ports_format(inside, pp->reserved_inside, sizeof(pp->reserved_inside)) < 0)
			snprintf(pp->reserved_inside, sizeof(pp->reserved_inside), "many ports");
	}
	pp->listeners_known = s->census_ok;
	for (size_t i = 0; s->census_ok && i < s->census.n_listeners; i++) {
		const struct census_listener *l = &s->census.listeners[i];
		struct plan_port_hazard *h;

		if (l->port < t[0] || l->port > t[1])
			continue;
		h = hazard_get(pp, l->port);
		if (!h)
			return -ENOMEM;
		if (h->who[0])
			continue;
		if (s->live)
			snap_listener_owner(s, l, h->who, sizeof(h->who));
		else
			snprintf(h->who, sizeof(h->who), "process not looked up (--root)");
		h->reserved = key_ports_has(cur, l->port);
		h->newly = l->port < s->sysctl[ri].v[0] || l->port > s->sysctl[ri].v[1];
		key_ports_add(want, l->port);
	}
	if (s->live && t[0] <= NODEPORT_HIGH && t[1] >= NODEPORT_LOW && kubelet_listens(s)) {
		pp->kubelet = true;
		for (unsigned p = NODEPORT_LOW; p <= NODEPORT_HIGH; p++)
			key_ports_add(want, p);
	}
	if (pp->note[0] || memcmp(want, cur, sizeof(cur)) == 0)
		return 0;
	if (key_ports_format(want, row->target, sizeof(row->target)) < 0) {
		snprintf(pp->note, sizeof(pp->note), "the reservation needed is longer than the %d characters "
			 "tcptune carries; reserve the ports named below by hand", KEY_PORT_LIST_MAX);
		return 0;
	}
	if (key_ports_format(cur, now, sizeof(now)) < 0)
		snprintf(now, sizeof(now), "?");
	w = snprintf(row->whybuf, sizeof(row->whybuf),
		     "the new ephemeral range %lld-%lld covers ports that services on this host use; reserved, "
		     "connect() and bind() to port 0 never take them:", t[0], t[1]);
	o = w < 0 ? 0 : (size_t) w;
	for (size_t i = 0; i < pp->n_hazards && o < sizeof(row->whybuf); i++) {
		w = snprintf(row->whybuf + o, sizeof(row->whybuf) - o, "%s %u (%s)", i ? "," : "",
			     pp->hazards[i].port, pp->hazards[i].who);
		o += w < 0 ? 0 : (size_t) w;
	}
	if (pp->kubelet && o < sizeof(row->whybuf)) {
		w = snprintf(row->whybuf + o, sizeof(row->whybuf) - o, "%s the Kubernetes NodePort range %d-%d "
			     "(a kubelet runs)", pp->n_hazards ? "," : "", NODEPORT_LOW, NODEPORT_HIGH);
		o += w < 0 ? 0 : (size_t) w;
	}
	if (o < sizeof(row->whybuf))
		snprintf(row->whybuf + o, sizeof(row->whybuf) - o, ". Added to what is reserved now (%s), "
			 "never less; written before the range, now and at boot.", now[0] ? now : "nothing");
	row->reserve = true;
	all[0] = (struct plan_input) { (size_t) ki, row->target, row->whybuf };
	return 1;
}

/* A plan that raises net.core.somaxconn (plan.h, docs/KERNEL.md §22): the
 * listeners whose backlog equals somaxconn now, from the census the port
 * preflight reads too.  Only sock_diag gives a listener's backlog
 * (census.h); from /proc/net/tcp the backlogs are unknown. */
static void somaxconn_preflight(struct plan *pl, const struct snapshot *s)
{
	struct plan_somaxconn *sm = &pl->somaxconn;
	int k = key_index("net.core.somaxconn");
	const struct plan_row *row = NULL;
	long long t[2];

	for (size_t i = 0; k >= 0 && i < pl->n; i++)
		if (pl->rows[i].key == (size_t) k)
			row = &pl->rows[i];
	if (!row || !row->change || row->skip || s->sysctl[k].err ||
	    key_parse_value(&key_table[k], row->target, t) < 0 || t[0] <= s->sysctl[k].v[0])
		return;
	sm->raises = true;
	sm->from = s->sysctl[k].v[0];
	sm->to = t[0];
	sm->listeners_known = s->census_ok && s->sockets_source && strcmp(s->sockets_source, "netlink") == 0;
	for (size_t i = 0; sm->listeners_known && i < s->census.n_listeners; i++) {
		const struct census_listener *l = &s->census.listeners[i];
		struct census_dest d = { .family = l->family, .port = l->port };
		struct plan_clamped *c;

		if ((long long) l->backlog != sm->from)
			continue;
		if (sm->n_clamped == PLAN_CLAMPED_MAX) {
			sm->n_more++;
			continue;
		}
		c = &sm->clamped[sm->n_clamped++];
		c->backlog = l->backlog;
		memcpy(d.addr, l->addr, sizeof(d.addr));
		if (census_dest_format(&d, c->where, sizeof(c->where)) < 0)
			snprintf(c->where, sizeof(c->where), "port %u", l->port);
		if (s->live)
			snap_listener_owner(s, l, c->who, sizeof(c->who));
		else
			snprintf(c->who, sizeof(c->who), "process not looked up (--root)");
	}
}

int plan_build(struct plan *pl, const struct snapshot *s, const char *profile, const struct plan_input *in,
	       size_t n)
{
	struct plan_input *all = NULL;
	char *current = NULL;
	size_t pos = 0;
	int ki = key_index("net.ipv4.ip_local_reserved_ports");
	int r;

	memset(pl, 0, sizeof(*pl));
	snprintf(pl->profile, sizeof(pl->profile), "%s", profile);
	pl->rows = calloc(n + key_count + 1, sizeof(*pl->rows));
	all = calloc(n + key_count + 1, sizeof(*all));
	if (!pl->rows || !all) {
		free(all);
		plan_release(pl);
		return -ENOMEM;
	}
	/* The reservation first, then the profile's keys (its own reservation,
	 * if any, is merged into the first row), then the corrections. */
	r = ports_preflight(pl, s, in, n, all);
	if (r < 0) {
		free(all);
		plan_release(pl);
		return r;
	}
	pos = (size_t) r;
	for (size_t i = 0; i < n; i++)
		if (!(r == 1 && (int) in[i].key == ki))
			all[pos++] = in[i];
	add_corrections(pl, s, in, n, all, &pos);
	in = all;
	n = pos;
	for (size_t i = 0; i < n; i++) {
		struct plan_row *row = &pl->rows[pl->n++];
		const struct key_def *k = &key_table[in[i].key];
		const struct snap_sysctl *rt = &s->sysctl[in[i].key];

		row->key = in[i].key;
		row->why = row->correction || row->reserve ? row->whybuf : in[i].why;
		if (!row->correction && !row->reserve)
			normalize(k, in[i].value, row->target, sizeof(row->target));
		if (k->type == KEY_PORT_LIST && !row->reserve && rt->present && !rt->err)
			union_ports(row, rt->raw);
		row->present = rt->present;
		if (rt->present)
			normalize(k, rt->raw, row->runtime, sizeof(row->runtime));
		if (row->skip) {
			pl->n_skip++;	/* a port set that no longer fits */
		} else if (!rt->present) {
			const char *why = key_absence_reason(k, s->kernel_version, row->skipbuf, sizeof(row->skipbuf));
			if (!why)
				snprintf(row->skipbuf, sizeof(row->skipbuf), "%s",
					 rt->err ? "cannot be read here" : "not in this kernel");
			row->skip = row->skipbuf;
			pl->n_skip++;
		} else if (!target_accepted(k, row->target, s->kernel_version, row->skipbuf, sizeof(row->skipbuf))) {
			/* A value the running kernel refuses is never proposed. */
			row->skip = row->skipbuf;
			pl->n_skip++;
		} else if (strcmp(row->runtime, row->target) != 0) {
			row->change = true;
			pl->n_change++;
		}
		if (s->boot_ok) {
			for (int o = 0; o < ORDER__COUNT; o++)
				row->boot[o] = s->boot.keys[in[i].key].winner[o];
			sysctld_overrides(&s->boot, row->key, TXN_DEFAULT_MANAGED_FILE, row->override);
		}
	}
	free(all);
	somaxconn_preflight(pl, s);
	r = file_content(pl);
	if (r < 0) {
		plan_release(pl);
		return r;
	}
	if (rootfs_read_file(s->rootfd, TXN_DEFAULT_MANAGED_FILE_REL, 1024 * 1024, &current, NULL) == 0)
		pl->file_unchanged = strcmp(current, pl->file_content) == 0;
	free(current);
	return 0;
}

void plan_release(struct plan *pl)
{
	free(pl->ports.hazards);
	free(pl->rows);
	free(pl->file_content);
	memset(pl, 0, sizeof(*pl));
}
