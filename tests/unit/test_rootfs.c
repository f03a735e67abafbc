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
	unlinkat(root, "fifo", 0);
	unlinkat(root, "hostdir/x", 0);
	unlinkat(root, "hostdir", 0);
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

/* A FIFO, a directory or a device where a file should be: refused at once
 * (a FIFO must not block the open), with errors rootfs_strerror() names. */
static void test_only_regular_files(void **state)
{
	char *data = NULL;
	size_t len;

	(void) state;
	assert_int_equal(mkfifoat(root, "fifo", 0644), 0);
	assert_int_equal(rootfs_read_file(root, "fifo", 100, &data, &len), -ROOTFS_ENOTREG);
	assert_string_equal(rootfs_strerror(-ROOTFS_ENOTREG), "not a regular file");
	assert_int_equal(rootfs_open_regular(root, "etc"), -EISDIR);
	/* /dev/null through an absolute link resolves inside the root: absent. */
	assert_int_equal(symlinkat("/dev/null", root, "hostdir"), 0);
	assert_int_equal(rootfs_read_file(root, "hostdir", 100, &data, &len), -ENOENT);
	assert_null(data);
}

/* rootfs_openat_in() confines below any directory, not only the root:
 * "etc/../../x" and an absolute link stay under etc. */
static void test_confined_below_a_directory(void **state)
{
	int etc, fd;

	(void) state;
	etc = rootfs_openat(root, "etc", O_RDONLY | O_DIRECTORY);
	assert_true(etc >= 0);
	assert_int_equal(symlinkat("/value", etc, "link"), 0);
	fd = rootfs_openat_in(etc, "link", O_RDONLY, true);
	assert_true(fd >= 0);	/* /value inside etc = etc/value */
	close(fd);
	assert_int_equal(rootfs_openat_in(etc, "../abs", O_RDONLY, true), -ENOENT);
	unlinkat(etc, "link", 0);
	close(etc);
	/* rootfs_exists() does not follow a final link, and resolves the
	 * components before it inside the root. */
	assert_true(rootfs_exists(root, "host"));
	assert_false(rootfs_exists(root, "host/../etc"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symlinks_stay_inside),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_only_regular_files),
		cmocka_unit_test(test_confined_below_a_directory),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
