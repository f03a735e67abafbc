/* /proc/net/netstat TcpExt header/value pairs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "snap_readers.h"

static const char text[] =
	"TcpExt: SyncookiesSent TW TWRecycled TCPTimeWaitOverflow\n"
	"TcpExt: 0 1234 5 18446744073709551615\n"
	"IpExt: InNoRoutes TW\n"
	"IpExt: 0 77\n";

static void test_counters(void **state)
{
	unsigned long long v;

	(void) state;
	assert_int_equal(netstat_counter(text, "TcpExt", "TW", &v), 0);
	assert_int_equal(v, 1234);
	assert_int_equal(netstat_counter(text, "TcpExt", "TWRecycled", &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(netstat_counter(text, "TcpExt", "TCPTimeWaitOverflow", &v), 0);
	assert_true(v == 18446744073709551615ULL);
	assert_int_equal(netstat_counter(text, "IpExt", "TW", &v), 0);
	assert_int_equal(v, 77);
	assert_int_equal(netstat_counter(text, "TcpExt", "PAWSTimewait", &v), -ENOENT);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"TcpExt: A B C\nTcpExt: 1 2\n",		/* fewer values */
		"TcpExt: A B\nTcpExt: 1 2 3\n",		/* more values */
		"TcpExt: A B\nTcpExt: 1 x\n",		/* not a number */
		"TcpExt: A B\n",			/* no value line */
		"TcpExt: A B\nIpExt: 1 2\n",		/* wrong pair */
		"TcpExt: B\nTcpExt: 99999999999999999999999\n",	/* overflow */
	};
	unsigned long long v;

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (netstat_counter(bad[i], "TcpExt", "B", &v) != -EBADMSG)
			fail_msg("accepted case %zu", i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
