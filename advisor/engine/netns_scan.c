/* check --all-netns; see netns_scan.h.  Each namespace is read with the same
 * snapshot readers and rules as the host, one at a time, and only a summary
 * is kept, so memory grows with the number of namespaces, not with their
 * sockets. */
#include "netns_scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "facts.h"
#include "keys.h"
#include "snap_cgroup.h"

/* What a new network namespace starts with on 6.1, for the per-namespace
 * keys whose start value is a compile-time constant (docs/KERNEL.md §2.2,
 * §14.2: tcp_sk_init(), inet_init_net(), netdev_init() via
 * net_defaults_init_net(), the conntrack tcp_timeouts[]).  tcp_max_tw_buckets
 * and tcp_max_syn_backlog depend on the hash size, so they are not judged. */
static const struct {
	const char *key;
	long long v[2];
} ns_defaults[] = {
	{ "net.ipv4.tcp_fin_timeout", { 60, 0 } },
	{ "net.ipv4.tcp_keepalive_time", { 7200, 0 } },
	{ "net.ipv4.tcp_keepalive_intvl", { 75, 0 } },
	{ "net.ipv4.tcp_keepalive_probes", { 9, 0 } },
	{ "net.ipv4.tcp_tw_reuse", { 2, 0 } },
	{ "net.ipv4.tcp_orphan_retries", { 0, 0 } },
	{ "net.ipv4.tcp_syncookies", { 1, 0 } },
	{ "net.ipv4.tcp_timestamps", { 1, 0 } },
	{ "net.ipv4.ip_local_port_range", { 32768, 60999 } },
	{ "net.ipv4.ip_unprivileged_port_start", { 1024, 0 } },
	{ "net.core.somaxconn", { 4096, 0 } },
	{ "net.netfilter.nf_conntrack_tcp_timeout_established", { 432000, 0 } },
	{ "net.netfilter.nf_conntrack_tcp_timeout_time_wait", { 120, 0 } },
	{ "net.netfilter.nf_conntrack_tcp_timeout_close_wait", { 60, 0 } },
	{ "net.netfilter.nf_conntrack_tcp_timeout_fin_wait", { 120, 0 } },
};

static const long long *ns_default(size_t k)
{
	for (size_t i = 0; i < sizeof(ns_defaults) / sizeof(ns_defaults[0]); i++)
		if (strcmp(ns_defaults[i].key, key_table[k].name) == 0)
			return ns_defaults[i].v;
	return NULL;
}

static bool same_value(size_t k, const long long a[2], const long long b[2])
{
	return a[0] == b[0] && (key_table[k].type != KEY_INT_PAIR || a[1] == b[1]);
}

bool netns_rule_applies(const struct rule *r)
{
	size_t ids[32], n = rule_expr_facts(r->when, ids, 32);
	bool netns = false;

	if (n > 32)
		n = 32;
	for (size_t i = 0; i < n; i++) {
		const struct fact_def *d = fact_def(ids[i]);
		if (d->scope == SCOPE_FILES)
			return false;
		if (d->scope == SCOPE_NETNS)
			netns = true;
	}
	return netns;
}

static int find_untuned(struct netns_result *res, const struct snapshot *host)
{
	if (!host->boot_ok || !host->boot.keys)
		return 0;
	for (size_t k = 0; k < key_count; k++) {
		const struct sysctld_key *bk = &host->boot.keys[k];
		const struct sysctld_assign *w = bk->winner[ORDER_SYSTEMD];
		const long long *def = ns_default(k);
		struct netns_untuned *nu;

		if (!key_table[k].per_netns || !w || !def || !res->keys[k].present || res->keys[k].err)
			continue;
		/* Boot tunes the host away from the default, and this
		 * namespace still has the default. */
		if (same_value(k, bk->value[ORDER_SYSTEMD], def) || !same_value(k, res->keys[k].v, def))
			continue;
		nu = realloc(res->untuned, (res->n_untuned + 1) * sizeof(*nu));
		if (!nu)
			return -ENOMEM;
		res->untuned = nu;
		nu = &nu[res->n_untuned++];
		nu->key = k;
		memcpy(nu->value, res->keys[k].v, sizeof(nu->value));
		memcpy(nu->boot, bk->value[ORDER_SYSTEMD], sizeof(nu->boot));
		nu->file = w->file;
		nu->line = w->line;
	}
	return 0;
}

/* Keep what the report needs of one namespace's snapshot and findings. */
static int summarise(struct netns_result *res, const struct snapshot *s, const struct snapshot *host,
		     const struct findings *f, bool current)
{
	int r;

	res->census_ok = s->census_ok;
	if (s->census_ok) {
		memcpy(res->states, s->census.states, sizeof(res->states));
		res->total = s->census.total;
		res->close_wait = s->census.states[TCPS_CLOSE_WAIT];
	}
	res->keys = calloc(key_count, sizeof(*res->keys));
	if (!res->keys)
		return -ENOMEM;
	for (size_t k = 0; k < key_count; k++)
		if (key_table[k].per_netns)
			res->keys[k] = s->sysctl[k];
	if (s->census_ok && s->census.n_procs > 0) {
		const struct census_proc *p = &s->census.procs[0];
		res->cw_pid = p->pid;
		res->cw_count = p->count;
		snprintf(res->cw_comm, sizeof(res->cw_comm), "%s", p->comm);
		(void) cgroup_container_of_pid(p->pid, res->cw_container, sizeof(res->cw_container));
	}
	if (!current) {
		r = find_untuned(res, host);
		if (r < 0)
			return r;
	}
	res->worst = -1;
	res->findings = calloc(f->n ? f->n : 1, sizeof(*res->findings));
	if (!res->findings)
		return -ENOMEM;
	for (size_t i = 0; i < f->n; i++) {
		const struct finding *fi = &f->v[i];

		if (fi->ignored || (!current && !netns_rule_applies(fi->rule)))
			continue;
		res->findings[res->n_findings].rule = fi->rule;
		res->findings[res->n_findings].title = strdup(fi->title ? fi->title : fi->rule->id);
		if (!res->findings[res->n_findings].title)
			return -ENOMEM;
		if ((int) fi->rule->severity > res->worst)
			res->worst = (int) fi->rule->severity;
		res->n_findings++;
	}
	return 0;
}

/* Enter e, take a snapshot, evaluate, summarise into res, come back. */
static int scan_one(struct netns_result *res, int homefd, const struct rule_set *rules,
		    const struct snapshot *host, const struct snap_sysctl *host_keys, char *const *ignore,
		    size_t n_ignore)
{
	const struct snap_target t = { .root = "/", .netns = res->e.path, .host_keys = host_keys };
	struct snapshot s;
	struct findings f = { 0 };
	int r, r2;

	r = netns_enter_entry(&res->e);
	if (r < 0) {
		res->err = r;
		return 0;
	}
	r = snapshot_init(&s, &t);
	if (r == 0) {
		(void) snapshot_take(&s);
		r = rules_evaluate(rules, &s, ignore, n_ignore, &f);
		if (r == 0) {
			r = summarise(res, &s, host, &f, false);
			findings_release(&f);
		}
		snapshot_release(&s);
	}
	r2 = netns_return(homefd);
	if (r2 < 0)
		return r2;
	if (r < 0 && r != -ENOMEM) {
		res->err = r;
		r = 0;
	}
	return r;
}

static int result_cmp(const void *a, const void *b)
{
	const struct netns_result *x = a, *y = b;

	if (x->e.current != y->e.current)
		return x->e.current ? -1 : 1;
	if (x->worst != y->worst)
		return x->worst > y->worst ? -1 : 1;
	if (x->close_wait != y->close_wait)
		return x->close_wait > y->close_wait ? -1 : 1;
	if (x->n_untuned != y->n_untuned)
		return x->n_untuned > y->n_untuned ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return x->e.ino < y->e.ino ? -1 : x->e.ino > y->e.ino;
}

int netns_scan_run(struct netns_scan *ret, const struct rule_set *rules, const struct snapshot *host,
		   const struct findings *host_findings, char *const *ignore, size_t n_ignore)
{
	struct netns_scan sc = { 0 };
	struct netns_list l = { 0 };
	struct snap_sysctl *host_keys = NULL;
	struct timespec t0, t1;
	int homefd = -1, r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = netns_list_all(&l);
	if (r < 0)
		return r;
	homefd = netns_open_current();
	if (homefd < 0) {
		r = homefd;
		goto out;
	}
	sc.v = calloc(l.n, sizeof(*sc.v));
	if (!sc.v) {
		r = -ENOMEM;
		goto out;
	}
	/* Host-wide keys are absent inside a child namespace: take them from
	 * the host's snapshot, labelled host (docs/KERNEL.md §2.2). */
	host_keys = calloc(key_count, sizeof(*host_keys));
	if (!host_keys) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < key_count; k++)
		if (!key_table[k].per_netns)
			host_keys[k] = host->sysctl[k];
	sc.unreadable = l.unreadable;
	for (size_t i = 0; i < l.n; i++) {
		struct netns_result *res = &sc.v[sc.n++];

		res->e = l.v[i];
		res->worst = -1;
		if (res->e.pid > 0)
			(void) cgroup_container_of_pid(res->e.pid, res->container, sizeof(res->container));
		if (res->e.current)
			r = summarise(res, host, host, host_findings, true);
		else
			r = scan_one(res, homefd, rules, host, host_keys, ignore, n_ignore);
		if (r < 0)
			goto out;
		if (res->err < 0)
			sc.n_failed++;
		if (res->n_untuned)
			sc.n_untuned++;
	}
	qsort(sc.v, sc.n, sizeof(*sc.v), result_cmp);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	sc.seconds = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
	*ret = sc;
	memset(&sc, 0, sizeof(sc));
out:
	netns_scan_release(&sc);
	free(host_keys);
	if (homefd >= 0)
		close(homefd);
	netns_list_release(&l);
	return r;
}

void netns_scan_release(struct netns_scan *sc)
{
	for (size_t i = 0; i < sc->n; i++) {
		struct netns_result *res = &sc->v[i];

		for (size_t j = 0; j < res->n_findings; j++)
			free(res->findings[j].title);
		free(res->findings);
		free(res->untuned);
		free(res->keys);
	}
	free(sc->v);
	memset(sc, 0, sizeof(*sc));
}
