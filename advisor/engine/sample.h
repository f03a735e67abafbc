/* check --samples N --interval SECS: rates between the first and the last
 * snapshot (rate.tcpext.*, rate.sockets.*) and the process whose CLOSE_WAIT
 * count rose in every interval (closewait.growth.*): a count that only grows
 * is the signature of a leak. */
#ifndef TCPTUNE_ADVISOR_SAMPLE_H
#define TCPTUNE_ADVISOR_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

#define SAMPLE_MAX 100

struct sample_proc {
	int pid;
	char comm[64];
	uint32_t counts[SAMPLE_MAX];	/* CLOSE_WAIT per sample; 0 when absent */
};

struct sample_pid {
	int pid;
	size_t at;			/* index in procs */
};

struct sampler {
	size_t n;			/* samples recorded */
	double t_first, t_last;		/* seconds, monotonic */
	int64_t *first;			/* fact values of the first sample (facts_count()) */
	bool *first_present;
	struct sample_proc *procs;	/* in the order first seen */
	size_t n_procs, cap_procs;
	struct sample_pid *by_pid;	/* n_procs entries sorted by pid: the lookup */
};

void sampler_init(struct sampler *sm);
void sampler_release(struct sampler *sm);

/* Record snapshot s taken at time t (seconds).  0 or -ENOMEM; -E2BIG past
 * SAMPLE_MAX samples. */
int sampler_add(struct sampler *sm, const struct snapshot *s, double t);

/* Write the sampling facts into last (the final snapshot, already added). */
void sampler_finish(const struct sampler *sm, struct snapshot *last);

#endif
