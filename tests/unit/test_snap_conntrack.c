/* /proc/net/stat/nf_conntrack: columns by name, CPU lines summed, hex. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "snap_readers.h"

/* 6.1 / 6.18 header (docs/KERNEL.md §19.1), two CPUs. */
static const char text[] =
	"entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop "
	"icmp_error  expect_new expect_create expect_delete search_restart\n"
	"0000003d  00000000 000004b0 00000000 00000006 00000000 00000000 00000000 00000bb8 00000001 00000002 "
	"0000001a 00000000  00000000 00000000 00000000 00000007\n"
	"0000003d  00000000 000004b1 00000000 ffffffff 00000000 00000000 00000000 00000bb9 00000000 00000001 "
	"0000001a 00000000  00000000 00000000 00000000 00000007\n";

static size_t idx(const char *name)
{
	for (size_t i = 0; i < ctstat_count; i++)
		if (strcmp(ctstat_names[i], name) == 0)
			return i;
	fail_msg("no ctstat %s", name);
	return 0;
}

static void test_sums(void **state)
{
	uint64_t sum[CTSTAT_MAX_NAMES];
	bool have[CTSTAT_MAX_NAMES];
	char err[160];

	(void) state;
	assert_int_equal(ctstat_parse(text, sum, have, err, sizeof(err)), 0);
	assert_true(have[idx("drop")] && have[idx("invalid")]);
	assert_int_equal(sum[idx("drop")], 3);
	assert_int_equal(sum[idx("early_drop")], 52);
	assert_int_equal(sum[idx("insert_failed")], 1);
	/* a CPU at 2^32 - 1 does not wrap the sum */
	assert_true(sum[idx("invalid")] == 6ULL + 0xffffffffULL);
}

static void test_missing_column(void **state)
{
	uint64_t sum[CTSTAT_MAX_NAMES];
	bool have[CTSTAT_MAX_NAMES];
	char err[160];

	(void) state;
	assert_int_equal(ctstat_parse("entries drop\n00000001 00000002\n", sum, have, err, sizeof(err)), 0);
	assert_true(have[idx("drop")]);
	assert_false(have[idx("invalid")]);
	assert_int_equal(sum[idx("drop")], 2);
}

static void test_malformed(void **state)
{
	static const struct { const char *text, *where; } bad[] = {
		{ "entries drop\n00000001 00000002 00000003\n", "2:19:" },	/* more values */
		{ "entries drop\n00000001\n", "2:9:" },			/* fewer values */
		{ "entries drop\n00000001 0000000g\n", "2:" },		/* not hex */
		{ "entries drop\n00000001 000000001\n", "2:10:" },		/* 9 digits */
		{ "\n00000001\n", "1:1:" },					/* no header */
		{ "00000001 00000002\n", "1:1:" },				/* values, no header */
	};
	uint64_t sum[CTSTAT_MAX_NAMES];
	bool have[CTSTAT_MAX_NAMES];
	char err[160];

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(ctstat_parse(bad[i].text, sum, have, err, sizeof(err)), -EBADMSG);
		if (strncmp(err, bad[i].where, strlen(bad[i].where)) != 0)
			fail_msg("case %zu: '%s', expected it to start with '%s'", i, err, bad[i].where);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sums),
		cmocka_unit_test(test_missing_column),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
