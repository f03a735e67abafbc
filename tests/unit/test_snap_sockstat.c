/* sockstat field parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "snap_readers.h"

static const char text[] =
	"sockets: used 13\n"
	"TCP: inuse 7 orphan 1 tw 2 alloc 11 mem 3\n"
	"UDP: inuse 0 mem 0\n"
	"TCP6: inuse 3\n";

static void test_fields(void **state)
{
	long long v;

	(void) state;
	assert_int_equal(sockstat_field(text, "TCP:", "inuse", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(sockstat_field(text, "TCP:", "tw", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(sockstat_field(text, "TCP:", "mem", &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(sockstat_field(text, "TCP6:", "inuse", &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(sockstat_field(text, "UDP:", "inuse", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(sockstat_field(text, "TCP:", "nope", &v), -ENOENT);
	assert_int_equal(sockstat_field(text, "RAW:", "inuse", &v), -ENOENT);
}

static void test_garbage(void **state)
{
	long long v;

	(void) state;
	assert_int_equal(sockstat_field("TCP: inuse x7 orphan 1\n", "TCP:", "inuse", &v), -EINVAL);
	assert_int_equal(sockstat_field("TCP: inuse -1\n", "TCP:", "inuse", &v), -EINVAL);
	assert_int_equal(sockstat_field("TCP: inuse\n", "TCP:", "inuse", &v), -EINVAL);
	assert_int_equal(sockstat_field("", "TCP:", "inuse", &v), -ENOENT);
	assert_int_equal(sockstat_field("TCP:inuse 1\n", "TCP:", "inuse", &v), -ENOENT);
	assert_int_equal(sockstat_field("TCP: inuse 99999999999999999999999\n", "TCP:", "inuse", &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
