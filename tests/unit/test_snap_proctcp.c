/* /proc/net/tcp{,6} parser: real lines, every malformed field, whole files. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "census.h"
#include "rootfs.h"
#include "snap_proctcp.h"

static void test_ipv4_line(void **state)
{
	struct sock_rec r;
	char a[INET_ADDRSTRLEN];

	(void) state;
	assert_int_equal(proctcp_parse_line("   2: 0100007F:4651 0500000A:1538 08 00000010:00000002 "
					    "00:00000000 00000000  1000        0 424242 1 0000000000000000 20 4 30 10 -1\n",
					    AF_INET, &r), 0);
	assert_int_equal(r.state, 8);
	assert_int_equal(r.lport, 18001);
	assert_int_equal(r.rport, 5432);
	assert_string_equal(inet_ntop(AF_INET, r.laddr, a, sizeof(a)), "127.0.0.1");
	assert_string_equal(inet_ntop(AF_INET, r.raddr, a, sizeof(a)), "10.0.0.5");
	assert_int_equal(r.wqueue, 16);
	assert_int_equal(r.rqueue, 2);
	assert_int_equal(r.uid, 1000);
	assert_int_equal(r.inode, 424242);
}

static void test_ipv6_line(void **state)
{
	struct sock_rec r;
	char a[INET6_ADDRSTRLEN];

	(void) state;
	assert_int_equal(proctcp_parse_line("   0: 00000000000000000000000001000000:46B5 "
					    "0000000000000000FFFF00000500000A:C350 01 00000000:00000000 02:00000A3C "
					    "00000000   107        0 555 1 0000000000000000 20 4 0 10 -1", AF_INET6, &r), 0);
	assert_string_equal(inet_ntop(AF_INET6, r.laddr, a, sizeof(a)), "::1");
	assert_string_equal(inet_ntop(AF_INET6, r.raddr, a, sizeof(a)), "::ffff:10.0.0.5");
	assert_int_equal(r.lport, 18101);
	assert_int_equal(r.rport, 50000);
	assert_int_equal(r.timer, 2);
	assert_int_equal(r.inode, 555);
}

static void test_malformed_lines(void **state)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"   0: 0100007F:4651",
		"   0: 0100007F 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",	/* no port */
		"   0: 0100007G:4651 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",	/* bad hex */
		"   0: 0100007F:4651 00000000:0000 00 00000000:00000000 00:00000000 00000000 0 0 1",	/* state 0 */
		"   0: 0100007F:4651 00000000:0000 0D 00000000:00000000 00:00000000 00000000 0 0 1",	/* state 13 */
		"   0: 0100007F:4651 00000000:0000 0A 00000000:00000000 09:00000000 00000000 0 0 1",	/* timer 9 */
		"   0: 0100007F:4651 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0",	/* no inode */
		"   0: 0100007F:4651 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1x",	/* junk */
		"   0: 0100007F:4651 00000000:0000 0A 00000000:00000000 00:00000000 00000000 99999999999 0 1",
		"   0: 0100007F:4651 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 99999999999999999999999",
	};

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sock_rec r;
		if (proctcp_parse_line(bad[i], AF_INET, &r) != -EINVAL)
			fail_msg("accepted: '%s'", bad[i]);
	}
	/* an IPv4 line is not an IPv6 line */
	{
		struct sock_rec r;
		assert_int_equal(proctcp_parse_line("   0: 0100007F:4651 00000000:0000 0A 00000000:00000000 "
						    "00:00000000 00000000 0 0 1", AF_INET6, &r), -EINVAL);
	}
}

static void test_read_files(void **state)
{
	struct census c;
	unsigned line = 0;
	int root = rootfs_open(FIXTURES "/proctcp");

	(void) state;
	assert_true(root >= 0);
	census_init(&c, 32768, 60999);
	assert_int_equal(proctcp_read(root, "tcp", AF_INET, &c, &line), 0);
	assert_int_equal(proctcp_read(root, "tcp6", AF_INET6, &c, &line), 0);
	assert_int_equal(c.total, 4);
	assert_int_equal(c.states[10], 1);
	assert_int_equal(c.states[6], 1);
	assert_int_equal(c.tw_outgoing, 1);	/* local 40000 -> 127.0.0.1:18001 */
	assert_int_equal(c.states[8], 1);
	assert_int_equal(c.n_cw, 1);
	assert_int_equal(c.cw[0].inode, 424242);
	assert_int_equal(c.by_family[1][1], 1);
	census_release(&c);
	close(root);
}

static void test_read_bad_file(void **state)
{
	char dir[] = "/tmp/tcptune-proctcp-XXXXXX";
	struct census c;
	unsigned line = 0;
	int root, fd;
	static const char text[] =
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
		"   0: 0100007F:4651 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n"
		"   1: this line is broken\n";

	(void) state;
	assert_non_null(mkdtemp(dir));
	root = rootfs_open(dir);
	fd = openat(root, "tcp", O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t) sizeof(text) - 1);
	close(fd);
	census_init(&c, 32768, 60999);
	assert_int_equal(proctcp_read(root, "tcp", AF_INET, &c, &line), -EBADMSG);
	assert_int_equal(line, 3);
	/* no header at all */
	fd = openat(root, "empty", O_WRONLY | O_CREAT | O_EXCL, 0600);
	close(fd);
	line = 0;
	assert_int_equal(proctcp_read(root, "empty", AF_INET, &c, &line), -EBADMSG);
	assert_int_equal(proctcp_read(root, "absent", AF_INET, &c, &line), -ENOENT);
	census_release(&c);
	unlinkat(root, "tcp", 0);
	unlinkat(root, "empty", 0);
	close(root);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_line),
		cmocka_unit_test(test_ipv6_line),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_read_files),
		cmocka_unit_test(test_read_bad_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
