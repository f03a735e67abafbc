/* Files under an audited root: absolute symlinks stay inside it, size caps,
 * NUL bytes. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "rootfs.h"

static char dir[] = "/tmp/tcptune-rootfs-XXXXXX";
static int root = -1;

static void put(const char *rel, const void *data, size_t len)
{
	int fd = openat(root, rel, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t) len);
	close(fd);
}

static int setup(void **state)
{
	(void) state;
	if (!mkdtemp(dir))
		return -1;
	root = rootfs_open(dir);
	if (root < 0 || mkdirat(root, "etc", 0755) < 0)
		return -1;
	put("etc/value", "42\n", 3);
	/* An absolute link must resolve inside the root, never to the host's /etc. */
	if (symlinkat("/etc/value", root, "abs") < 0 || symlinkat("/etc/hostname", root, "host") < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	unlinkat(root, "abs", 0);
	unlinkat(root, "host", 0);
	unlinkat(root, "etc/value", 0);
	unlinkat(root, "big", 0);
	unlinkat(root, "nul", 0);
	unlinkat(root, "etc", AT_REMOVEDIR);
	close(root);
	rmdir(dir);
	return 0;
}

static void test_symlinks_stay_inside(void **state)
{
	char buf[64];

	(void) state;
	assert_int_equal(rootfs_read_small(root, "abs", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "42\n");
	/* /etc/hostname exists on the host but not in the root */
	assert_int_equal(rootfs_read_small(root, "host", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(rootfs_read_small(root, "../../etc/hostname", buf, sizeof(buf)), -ENOENT);
	assert_true(rootfs_exists(root, "abs"));
	assert_false(rootfs_exists(root, "nope"));
}

static void test_limits(void **state)
{
	char *big = malloc(100000), *data = NULL, buf[4];
	size_t len;

	(void) state;
	assert_non_null(big);
	memset(big, 'x', 100000);
	put("big", big, 100000);
	assert_int_equal(rootfs_read_file(root, "big", 99999, &data, &len), -EFBIG);
	assert_int_equal(rootfs_read_file(root, "big", 100000, &data, &len), 0);
	assert_int_equal(len, 100000);
	free(data);
	assert_int_equal(rootfs_read_small(root, "etc/value", buf, 3), -EFBIG);
	put("nul", "a\0b", 3);
	assert_int_equal(rootfs_read_file(root, "nul", 100, &data, &len), -EINVAL);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symlinks_stay_inside),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
