/* engine/canary.c: windows of snapshots with set facts (no kernel), and the
 * rule: a rate up by half and by 60/min is worse, the port share at 90% and
 * up 10 points is worse, the reverse is better, and a change is rolled back
 * only when something got worse and nothing better. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "canary.h"
#include "facts.h"
#include "snapshot.h"

struct point { int64_t pct, overflows; };

/* A window of snapshots, one a second: pct and ListenOverflows per point;
 * a negative value leaves the fact missing. */
static void window(struct canary_window *w, const struct point *p, size_t n)
{
	struct snapshot s[8];

	assert_true(n <= 8);
	canary_window_init(w);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(snapshot_init(&s[i], &(struct snap_target){ .root = FIXTURES }), 0);
		if (p[i].pct >= 0)
			snap_set_int(&s[i], (size_t) fact_lookup("ports.max_dest_usage_pct"), p[i].pct);
		if (p[i].overflows >= 0)
			snap_set_int(&s[i], (size_t) fact_lookup("tcpext.ListenOverflows"), p[i].overflows);
		assert_int_equal(canary_window_add(w, &s[i], (double) i), 0);
	}
	canary_window_finish(w, &s[n - 1]);
	for (size_t i = 0; i < n; i++)
		snapshot_release(&s[i]);
}

static const struct canary_figure *fig(const struct canary_result *r, const char *fact)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->fig[i].def->fact, fact) == 0)
			return &r->fig[i];
	fail_msg("no figure %s", fact);
	return NULL;
}

/* The gauge is the highest value of the window; the rate per minute. */
static void test_window_values(void **state)
{
	struct canary_window w;
	const struct point p[] = { { 10, 100 }, { 40, 103 }, { 20, 106 } };

	(void) state;
	window(&w, p, 3);
	assert_true(w.have[0]);
	assert_true(w.value[0] == 40.0);	/* ports.max_dest_usage_pct: the highest */
	assert_true(w.have[1]);
	assert_true(w.value[1] == 180.0);	/* 6 in 2 s: 180 a minute */
	canary_window_release(&w);
}

/* One snapshot or a counter that went back: the rate is unknown. */
static void test_unknown_rate(void **state)
{
	struct canary_window w;
	const struct point one[] = { { 5, 100 } };
	const struct point back[] = { { 5, 100 }, { 5, 10 } };

	(void) state;
	window(&w, one, 1);
	assert_false(w.have[1]);
	canary_window_release(&w);
	window(&w, back, 2);
	assert_false(w.have[1]);
	canary_window_release(&w);
}

/* The port share to 100%: worse, nothing better -> roll back. */
static void test_worse_rolls_back(void **state)
{
	struct canary_window b, a;
	struct canary_result r;
	const struct point pb[] = { { 16, 0 }, { 16, 0 } };
	const struct point pa[] = { { 100, 0 }, { 100, 0 } };

	(void) state;
	window(&b, pb, 2);
	window(&a, pa, 2);
	canary_compare(&b, &a, &r);
	assert_int_equal(fig(&r, "ports.max_dest_usage_pct")->change, CANARY_WORSE);
	assert_int_equal(fig(&r, "tcpext.ListenOverflows")->change, CANARY_SAME);
	assert_int_equal(fig(&r, "tcpext.ListenDrops")->change, CANARY_UNKNOWN);
	assert_true(r.roll_back);
	assert_non_null(strstr(r.why, "ports.max_dest_usage_pct rose 16 -> 100%"));
	canary_window_release(&b);
	canary_window_release(&a);
}

/* Better port share, worse overflows: kept (the problem got better). */
static void test_better_keeps(void **state)
{
	struct canary_window b, a;
	struct canary_result r;
	const struct point pb[] = { { 100, 0 }, { 100, 0 } };
	const struct point pa[] = { { 13, 0 }, { 13, 3 } };	/* 3 in 1 s: 180/min */

	(void) state;
	window(&b, pb, 2);
	window(&a, pa, 2);
	canary_compare(&b, &a, &r);
	assert_int_equal(fig(&r, "ports.max_dest_usage_pct")->change, CANARY_BETTER);
	assert_int_equal(fig(&r, "tcpext.ListenOverflows")->change, CANARY_WORSE);
	assert_false(r.roll_back);
	assert_non_null(strstr(r.why, "better: ports.max_dest_usage_pct fell 100 -> 13%"));
	canary_window_release(&b);
	canary_window_release(&a);
}

/* Margins: a rate from 0 to 60/min is worse; a share from 90% to 99% (up 9)
 * is the same, from 85% to 95% (up 10, ending at 90% or more) worse. */
static void test_margins(void **state)
{
	struct canary_window b, a;
	struct canary_result r;
	const struct point pb[] = { { 90, 0 }, { 90, 0 } };
	const struct point pa[] = { { 99, 0 }, { 99, 1 } };	/* 1 in 1 s: 60/min */
	const struct point pb2[] = { { 85, 0 }, { 85, 0 } };
	const struct point pa2[] = { { 95, 0 }, { 95, 0 } };

	(void) state;
	window(&b, pb, 2);
	window(&a, pa, 2);
	canary_compare(&b, &a, &r);
	assert_int_equal(fig(&r, "ports.max_dest_usage_pct")->change, CANARY_SAME);
	assert_int_equal(fig(&r, "tcpext.ListenOverflows")->change, CANARY_WORSE);	/* 0 -> 60/min */
	canary_window_release(&b);
	canary_window_release(&a);
	window(&b, pb2, 2);
	window(&a, pa2, 2);
	canary_compare(&b, &a, &r);
	assert_int_equal(fig(&r, "ports.max_dest_usage_pct")->change, CANARY_WORSE);
	canary_window_release(&b);
	canary_window_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_values),
		cmocka_unit_test(test_unknown_rate),
		cmocka_unit_test(test_worse_rolls_back),
		cmocka_unit_test(test_better_keeps),
		cmocka_unit_test(test_margins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
