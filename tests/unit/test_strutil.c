/* Checked number parsing. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "strutil.h"

static void test_parse_ll(void **state)
{
	long long v;

	(void) state;
	assert_int_equal(parse_ll("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_ll("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(parse_ll("101", 0, 100, &v), -ERANGE);
	assert_int_equal(parse_ll("99999999999999999999", LLONG_MIN, LLONG_MAX, &v), -ERANGE);
	assert_int_equal(parse_ll("", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_ll(" 4", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_ll("4 ", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_ll("0x10", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_ll_trim(" 60\n", 0, 100, &v), 0);
	assert_int_equal(v, 60);
	assert_int_equal(parse_ll_trim("6 0", 0, 100, &v), -EINVAL);
}

static void test_str_printf(void **state)
{
	char b[4];

	(void) state;
	assert_int_equal(str_printf(b, sizeof(b), "%s", "abc"), 0);
	assert_int_equal(str_printf(b, sizeof(b), "%s", "abcd"), -ENAMETOOLONG);
}

static void test_str_escape(void **state)
{
	char b[16];

	(void) state;
	assert_string_equal(str_escape("plain", b, sizeof(b)), "plain");
	assert_string_equal(str_escape("a\nb\x1b[", b, sizeof(b)), "a\\x0ab\\x1b[");
	assert_string_equal(str_escape("\xff\\", b, sizeof(b)), "\\xff\\\\");
	assert_string_equal(str_escape("abcdefghijklmnopqrstuvwxyz", b, sizeof(b)), "abcdefghijkl...");
	assert_string_equal(str_escape("\x01\x01\x01\x01\x01", b, sizeof(b)), "\\x01\\x01\\x01...");
	assert_string_equal(str_escape("x", b, 1), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ll),
		cmocka_unit_test(test_str_printf),
		cmocka_unit_test(test_str_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
