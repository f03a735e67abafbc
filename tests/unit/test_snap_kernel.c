/* Kernel release parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "snap_readers.h"

static void test_versions(void **state)
{
	static const struct { const char *rel; long want; } ok[] = {
		{ "6.18.44-fc-v595", 6 * 65536 + 18 * 256 + 44 },
		{ "4.9.0-8-amd64", 4 * 65536 + 9 * 256 },
		{ "5.4", 5 * 65536 + 4 * 256 },
		{ "4.14.300", 4 * 65536 + 14 * 256 + 255 },	/* patch clamped like KERNEL_VERSION() */
		{ "6.1.0-rc3", 6 * 65536 + 1 * 256 },
	};
	static const char *const bad[] = { "", "linux", "6", "6.", ".1.2", "300.1.1", "6.x" };
	long v;

	(void) state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(kernel_version_parse(ok[i].rel, &v), 0);
		assert_int_equal(v, ok[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (kernel_version_parse(bad[i], &v) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
