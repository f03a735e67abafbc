/* engine/sample.c: snapshots with set facts and CLOSE_WAIT holders (no
 * kernel).  Holders are followed by pid across samples however many there
 * are and in whatever order the census lists them; a leak is a holder whose
 * count rose in every interval, the fastest one named; the counters' rates
 * are per second between the first and the last sample. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "facts.h"
#include "sample.h"
#include "snapshot.h"

#define HOLDERS 3000

/* A snapshot whose census lists n holders: pid base + k*step for k < n (in
 * reverse order when rev), each with count(pid, sample). */
static void take(struct snapshot *s, size_t n, int base, int step, bool rev, uint32_t (*count)(int, size_t),
		 size_t sample)
{
	assert_int_equal(snapshot_init(s, &(struct snap_target){ .root = FIXTURES }), 0);
	s->census_ok = true;
	s->census.procs = calloc(n ? n : 1, sizeof(*s->census.procs));
	assert_non_null(s->census.procs);
	s->census.n_procs = n;
	for (size_t k = 0; k < n; k++) {
		struct census_proc *p = &s->census.procs[rev ? n - 1 - k : k];

		p->pid = base + (int) k * step;
		snprintf(p->comm, sizeof(p->comm), "p%d", p->pid);
		p->count = count(p->pid, sample);
	}
}

static void drop(struct snapshot *s)
{
	free(s->census.procs);
	s->census.procs = NULL;
	s->census.n_procs = 0;
	snapshot_release(s);
}

/* pid 1777 leaks 5 more each sample, pid 900 one more (a slower leak, not
 * the one named); the others stay at 2, but for pid 10, which rises once and
 * falls once (not a leak). */
static uint32_t counts(int pid, size_t sample)
{
	if (pid == 1777)
		return (uint32_t) (10 + 5 * sample);
	if (pid == 900)
		return (uint32_t) (100 + sample);
	if (pid == 10)
		return sample == 1 ? 50 : 2;
	return 2;
}

static void test_many_holders(void **state)
{
	struct sampler sm;
	struct snapshot s[4];

	(void) state;
	sampler_init(&sm);
	for (size_t i = 0; i < 4; i++) {
		/* every other sample lists them in reverse; the last adds 500 new ones */
		take(&s[i], HOLDERS + (i == 3 ? 500 : 0), 10, 1, i % 2 == 1, counts, i);
		assert_int_equal(sampler_add(&sm, &s[i], 10.0 * (double) i), 0);
	}
	assert_int_equal(sm.n, 4);
	assert_int_equal(sm.n_procs, HOLDERS + 500);
	for (size_t i = 0; i < sm.n_procs; i++) {
		const struct sample_proc *p = &sm.procs[i];

		if (p->pid == 1777) {
			assert_int_equal(p->counts[0], 10);
			assert_int_equal(p->counts[3], 25);
		} else if (p->pid >= 10 + HOLDERS) {	/* seen in the last sample only */
			assert_int_equal(p->counts[0], 0);
			assert_int_equal(p->counts[3], 2);
		}
	}
	sampler_finish(&sm, &s[3]);
	assert_int_equal(snap_get(&s[3], F_SAMPLES)->i, 4);
	assert_int_equal(snap_get(&s[3], F_SAMPLE_SECONDS)->i, 30);
	assert_int_equal(snap_get(&s[3], F_CW_GROWTH_PID)->i, 1777);
	assert_int_equal(snap_get(&s[3], F_CW_GROWTH_COUNT)->i, 25);
	assert_int_equal(snap_get(&s[3], F_CW_GROWTH_PER_MIN)->i, 30);	/* 15 in 30 s */
	assert_string_equal(snap_get(&s[3], F_CW_GROWTH_COMM)->s, "p1777");
	for (size_t i = 0; i < 4; i++)
		drop(&s[i]);
	sampler_release(&sm);
}

/* Counter rates: per second from the first to the last sample, rounded
 * away from zero. */
static void test_counter_rate(void **state)
{
	struct sampler sm;
	struct snapshot s[2];
	size_t id = (size_t) fact_lookup("tcpext.ListenOverflows");

	(void) state;
	sampler_init(&sm);
	for (size_t i = 0; i < 2; i++) {
		take(&s[i], 0, 1, 1, false, counts, i);
		snap_set_int(&s[i], id, i ? 1001 : 1000);
		assert_int_equal(sampler_add(&sm, &s[i], 4.0 * (double) i), 0);
	}
	sampler_finish(&sm, &s[1]);
	/* 0.25/s: rounded up, so that any increase shows (nearest would give 0) */
	assert_int_equal(snap_get(&s[1], (size_t) fact_lookup("rate.tcpext.ListenOverflows"))->i, 1);
	assert_false(snap_get(&s[1], F_CW_GROWTH_PID)->present);
	for (size_t i = 0; i < 2; i++)
		drop(&s[i]);
	sampler_release(&sm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_holders),
		cmocka_unit_test(test_counter_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
