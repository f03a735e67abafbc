/* engine/canary.c: windows of snapshots with set facts (no kernel), and the
 * rule: a rate up by half and by 60/min is worse, the port share at 90% and
 * up 10 points is worse, the FIN_WAIT2 pile at the window's end up by half
 * and by 100 is worse, the reverse is better (for the pile: down by a third
 * and by 100), and a change is rolled back only when something got worse and
 * nothing better. */
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

struct point { int64_t pct, overflows, fw2; };

/* A window of snapshots, one a second: pct, ListenOverflows and
 * sockets.fin_wait2 per point; a negative value leaves the fact missing. */
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
		if (p[i].fw2 >= 0)
			snap_set_int(&s[i], (size_t) fact_lookup("sockets.fin_wait2"), p[i].fw2);
		assert_int_equal(canary_window_add(w, &s[i], (double) i), 0);
	}
	canary_window_finish(w, &s[n - 1]);
	for (size_t i = 0; i < n; i++)
		snapshot_release(&s[i]);
}

/* The index of a figure in canary_defs (and in a window's values). */
static size_t idx(const char *fact)
{
	for (size_t i = 0; i < canary_count; i++)
		if (strcmp(canary_defs[i].fact, fact) == 0)
			return i;
	fail_msg("no figure %s", fact);
	return 0;
}

static const struct canary_figure *fig(const struct canary_result *r, const char *fact)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->fig[i].def->fact, fact) == 0)
			return &r->fig[i];
	fail_msg("no figure %s", fact);
	return NULL;
}

/* The gauge is the highest value of the window; the pile the last value;
 * the rate per minute. */
static void test_window_values(void **state)
{
	struct canary_window w;
	const struct point p[] = { { 10, 100, 700 }, { 40, 103, 900 }, { 20, 106, 650 } };
	size_t pct = idx("ports.max_dest_usage_pct"), lo = idx("tcpext.ListenOverflows");
	size_t fw2 = idx("sockets.fin_wait2");

	(void) state;
	window(&w, p, 3);
	assert_true(w.have[pct]);
	assert_true(w.value[pct] == 40.0);	/* the highest */
	assert_true(w.have[fw2]);
	assert_true(w.value[fw2] == 650.0);	/* the last, not the highest */
	assert_true(w.have[lo]);
	assert_true(w.value[lo] == 180.0);	/* 6 in 2 s: 180 a minute */
	canary_window_release(&w);
}

/* A pile missing from the window's last snapshot is unknown, even when an
 * earlier snapshot had it. */
static void test_pile_missing_last(void **state)
{
	struct canary_window w;
	const struct point p[] = { { 10, 100, 700 }, { 10, 100, -1 } };

	(void) state;
	window(&w, p, 2);
	assert_false(w.have[idx("sockets.fin_wait2")]);
	canary_window_release(&w);
}

/* One snapshot or a counter that went back: the rate is unknown. */
static void test_unknown_rate(void **state)
{
	struct canary_window w;
	const struct point one[] = { { 5, 100, 0 } };
	const struct point back[] = { { 5, 100, 0 }, { 5, 10, 0 } };

	(void) state;
	window(&w, one, 1);
	assert_false(w.have[idx("tcpext.ListenOverflows")]);
	canary_window_release(&w);
	window(&w, back, 2);
	assert_false(w.have[idx("tcpext.ListenOverflows")]);
	canary_window_release(&w);
}

/* The port share to 100%: worse, nothing better -> roll back. */
static void test_worse_rolls_back(void **state)
{
	struct canary_window b, a;
	struct canary_result r;
	const struct point pb[] = { { 16, 0, 0 }, { 16, 0, 0 } };
	const struct point pa[] = { { 100, 0, 0 }, { 100, 0, 0 } };

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
	const struct point pb[] = { { 100, 0, 0 }, { 100, 0, 0 } };
	const struct point pa[] = { { 13, 0, 0 }, { 13, 3, 0 } };	/* 3 in 1 s: 180/min */

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
	const struct point pb[] = { { 90, 0, 0 }, { 90, 0, 0 } };
	const struct point pa[] = { { 99, 0, 0 }, { 99, 1, 0 } };	/* 1 in 1 s: 60/min */
	const struct point pb2[] = { { 85, 0, 0 }, { 85, 0, 0 } };
	const struct point pa2[] = { { 95, 0, 0 }, { 95, 0, 0 } };

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

/* tcp_fin_timeout 60 -> 30 as the live test sees it: the pile stays while
 * the old timers run out, then halves.  The highest value of the window is
 * still the old pile; the last one is better, and the change is kept. */
static void test_pile_better(void **state)
{
	struct canary_window b, a;
	struct canary_result r;
	const struct point pb[] = { { 1, 0, 720 }, { 1, 0, 700 } };
	const struct point pa[] = { { 1, 0, 710 }, { 1, 0, 705 }, { 1, 0, 560 }, { 1, 0, 360 } };

	(void) state;
	window(&b, pb, 2);
	window(&a, pa, 4);
	canary_compare(&b, &a, &r);
	assert_int_equal(fig(&r, "sockets.fin_wait2")->change, CANARY_BETTER);
	assert_true(fig(&r, "sockets.fin_wait2")->before == 700.0);
	assert_true(fig(&r, "sockets.fin_wait2")->after == 360.0);
	assert_false(r.roll_back);
	assert_non_null(strstr(r.why, "better: sockets.fin_wait2 fell 700 -> 360"));
	assert_null(strstr(r.why, "360%"));	/* a count has no unit */
	canary_window_release(&b);
	canary_window_release(&a);
}

/* Within the margins: down by less than a third (700 -> 480); down by more
 * than a third but by fewer than 100 sockets (150 -> 60); up by half but by
 * fewer than 100 (100 -> 160); up by 100 but by less than half (700 -> 1000). */
static void test_pile_same(void **state)
{
	const int64_t cases[][2] = { { 700, 480 }, { 150, 60 }, { 100, 160 }, { 700, 1000 } };

	(void) state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct canary_window b, a;
		struct canary_result r;
		const struct point pb[] = { { 1, 0, cases[k][0] }, { 1, 0, cases[k][0] } };
		const struct point pa[] = { { 1, 0, cases[k][1] }, { 1, 0, cases[k][1] } };

		window(&b, pb, 2);
		window(&a, pa, 2);
		canary_compare(&b, &a, &r);
		assert_int_equal(fig(&r, "sockets.fin_wait2")->change, CANARY_SAME);
		assert_false(r.roll_back);
		assert_string_equal(r.why, "no figure changed past its margin");
		canary_window_release(&b);
		canary_window_release(&a);
	}
}

/* tcp_fin_timeout 30 -> 60: the pile doubles once the longer timers are in
 * force; worse and nothing better, so the change is rolled back.  The
 * boundary: up by exactly half and by exactly 100 is worse. */
static void test_pile_worse(void **state)
{
	struct canary_window b, a;
	struct canary_result r;
	const struct point pb[] = { { 1, 0, 350 }, { 1, 0, 350 } };
	const struct point pa[] = { { 1, 0, 350 }, { 1, 0, 520 }, { 1, 0, 700 } };
	const struct point pb2[] = { { 1, 0, 200 }, { 1, 0, 200 } };
	const struct point pa2[] = { { 1, 0, 300 }, { 1, 0, 300 } };

	(void) state;
	window(&b, pb, 2);
	window(&a, pa, 3);
	canary_compare(&b, &a, &r);
	assert_int_equal(fig(&r, "sockets.fin_wait2")->change, CANARY_WORSE);
	assert_true(r.roll_back);
	assert_non_null(strstr(r.why, "worse and nothing better: sockets.fin_wait2 rose 350 -> 700"));
	canary_window_release(&b);
	canary_window_release(&a);
	window(&b, pb2, 2);
	window(&a, pa2, 2);
	canary_compare(&b, &a, &r);
	assert_int_equal(fig(&r, "sockets.fin_wait2")->change, CANARY_WORSE);
	canary_window_release(&b);
	canary_window_release(&a);
}

/* How long a lower tcp_fin_timeout takes to show in the FIN_WAIT2 pile
 * (docs/KERNEL.md §23.4): 60 -> 30 is down by a third 50 s after the change
 * (r * (60 - 50 + 30) = r * 40); from an old value above 60 s nothing is
 * claimed (the orphans' second phase takes the new value). */
static void test_fin_timeout_settle(void **state)
{
	(void) state;
	assert_int_equal(canary_fin_timeout_settle(60, 30), 50);
	assert_int_equal(canary_fin_timeout_settle(300, 60), 0);	/* above 60: not claimed */
	assert_int_equal(canary_fin_timeout_settle(30, 60), 0);	/* raised: nothing to wait for */
	assert_int_equal(canary_fin_timeout_settle(60, 60), 0);
	assert_int_equal(canary_fin_timeout_settle(90, 60), 0);		/* 90 also lives 60 s: no change */
	assert_int_equal(canary_fin_timeout_settle(120, 30), 0);	/* above 60: not claimed */
	assert_int_equal(canary_fin_timeout_settle(45, 15), 15 + 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_values),
		cmocka_unit_test(test_fin_timeout_settle),
		cmocka_unit_test(test_unknown_rate),
		cmocka_unit_test(test_worse_rolls_back),
		cmocka_unit_test(test_better_keeps),
		cmocka_unit_test(test_margins),
		cmocka_unit_test(test_pile_missing_last),
		cmocka_unit_test(test_pile_better),
		cmocka_unit_test(test_pile_same),
		cmocka_unit_test(test_pile_worse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
