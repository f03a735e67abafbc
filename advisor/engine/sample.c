/* Sampling facts; see sample.h. */
#include "sample.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "tcpstates.h"

void sampler_init(struct sampler *sm)
{
	memset(sm, 0, sizeof(*sm));
}

void sampler_release(struct sampler *sm)
{
	free(sm->first);
	free(sm->first_present);
	free(sm->procs);
	free(sm->by_pid);
	memset(sm, 0, sizeof(*sm));
}

static int pid_cmp(const void *a, const void *b)
{
	int x = ((const struct sample_pid *) a)->pid, y = ((const struct sample_pid *) b)->pid;

	return (x > y) - (x < y);
}

/* The process pid among the n_sorted first entries of by_pid, or NULL. */
static struct sample_proc *find_proc(struct sampler *sm, size_t n_sorted, int pid)
{
	struct sample_pid key = { .pid = pid }, *f;

	f = n_sorted ? bsearch(&key, sm->by_pid, n_sorted, sizeof(key), pid_cmp) : NULL;
	return f ? &sm->procs[f->at] : NULL;
}

/* Room for one more process in procs and by_pid. */
static int grow_procs(struct sampler *sm)
{
	size_t cap = sm->cap_procs ? sm->cap_procs * 2 : 64;
	struct sample_proc *np;
	struct sample_pid *ni;

	if (sm->n_procs < sm->cap_procs && sm->procs && sm->by_pid)
		return 0;
	np = realloc(sm->procs, cap * sizeof(*np));
	if (!np)
		return -ENOMEM;
	sm->procs = np;
	ni = realloc(sm->by_pid, cap * sizeof(*ni));
	if (!ni)
		return -ENOMEM;
	sm->by_pid = ni;
	sm->cap_procs = cap;
	return 0;
}

int sampler_add(struct sampler *sm, const struct snapshot *s, double t)
{
	const struct census *c = &s->census;
	size_t n_sorted;

	if (sm->n >= SAMPLE_MAX)
		return -E2BIG;
	if (sm->n == 0) {
		sm->first = calloc(facts_count(), sizeof(*sm->first));
		sm->first_present = calloc(facts_count(), sizeof(*sm->first_present));
		if (!sm->first || !sm->first_present)
			return -ENOMEM;
		for (size_t i = 0; i < facts_count(); i++) {
			sm->first[i] = s->facts[i].i;
			sm->first_present[i] = s->facts[i].present;
		}
		sm->t_first = t;
	}
	/* Processes new in this sample are appended and sorted into the
	 * lookup once at the end: n log n a sample, not n squared. */
	n_sorted = sm->n_procs;
	for (size_t i = 0; s->census_ok && i < c->n_procs; i++) {
		struct sample_proc *p = find_proc(sm, n_sorted, c->procs[i].pid);

		if (!p) {
			if (grow_procs(sm) < 0)
				return -ENOMEM;
			p = &sm->procs[sm->n_procs];
			memset(p, 0, sizeof(*p));
			p->pid = c->procs[i].pid;
			sm->by_pid[sm->n_procs] = (struct sample_pid) { p->pid, sm->n_procs };
			sm->n_procs++;
		}
		memcpy(p->comm, c->procs[i].comm, sizeof(p->comm));
		p->counts[sm->n] = c->procs[i].count;
	}
	if (sm->n_procs > n_sorted)
		qsort(sm->by_pid, sm->n_procs, sizeof(*sm->by_pid), pid_cmp);
	sm->t_last = t;
	sm->n++;
	return 0;
}

/* Per-second change, rounded away from zero so that any change shows. */
static int64_t rate(int64_t from, int64_t to, double secs)
{
	double r = (double) (to - from) / secs;

	return (int64_t) (r > 0 ? ceil(r) : floor(r));
}

/* A phrase for rule titles, so they need no conditional syntax. */
static void set_note(struct snapshot *last, const struct sample_proc *p, int64_t per_min)
{
	const struct fact_val *top = snap_get(last, F_CW_TOP_PID);
	char note[160];

	if (top->present && top->i == p->pid)
		snprintf(note, sizeof(note), "; growing by %" PRId64 " per minute", per_min);
	else
		snprintf(note, sizeof(note), "; %s (pid %d) grows by %" PRId64 " per minute", p->comm, p->pid, per_min);
	snap_set_str(last, F_CW_GROWTH_NOTE, note);
}

void sampler_finish(const struct sampler *sm, struct snapshot *last)
{
	double secs = sm->t_last - sm->t_first;
	const struct sample_proc *best = NULL;
	int64_t best_rate = 0;

	snap_set_int(last, F_SAMPLES, (int64_t) sm->n);
	if (sm->n < 2 || secs <= 0)
		return;
	snap_set_int(last, F_SAMPLE_SECONDS, (int64_t) llround(secs));
	for (size_t i = 0; i < counter_count(); i++) {
		size_t id = fact_id_counter(i);
		if (sm->first_present[id] && last->facts[id].present)
			snap_set_int(last, fact_id_rate_counter(i), rate(sm->first[id], last->facts[id].i, secs));
	}
	for (size_t i = 0; i < tcp_state_count; i++) {
		size_t id = fact_id_state(tcp_state_names[i].state);
		if (sm->first_present[id] && last->facts[id].present)
			snap_set_int(last, fact_id_rate_state(tcp_state_names[i].state),
				     rate(sm->first[id], last->facts[id].i, secs));
	}
	/* A leak: the count rose in every interval, not just overall. */
	for (size_t i = 0; i < sm->n_procs; i++) {
		const struct sample_proc *p = &sm->procs[i];
		bool rising = true;
		int64_t per_min;

		for (size_t k = 1; k < sm->n && rising; k++)
			rising = p->counts[k] > p->counts[k - 1];
		if (!rising)
			continue;
		per_min = (int64_t) ceil((double) (p->counts[sm->n - 1] - p->counts[0]) * 60.0 / secs);
		if (!best || per_min > best_rate) {
			best = p;
			best_rate = per_min;
		}
	}
	if (best) {
		snap_set_int(last, F_CW_GROWTH_PID, best->pid);
		snap_set_str(last, F_CW_GROWTH_COMM, best->comm);
		snap_set_int(last, F_CW_GROWTH_COUNT, best->counts[sm->n - 1]);
		snap_set_int(last, F_CW_GROWTH_PER_MIN, best_rate);
		set_note(last, best, best_rate);
	}
}
