/* sysctl_read(), sysctl_write() and sysctl_value_equal() on a fake
 * <tmp>/proc/sys of regular files (never the host's).  The wrappers of
 * LDWRAP_test_sysctl_write record each open() and make write() behave like
 * procfs (replace the value, print pairs with a tab, refuse or clamp on
 * demand), so the test sees exactly how a key is opened and written. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "keys.h"
#include "sysctl_write.h"

/* ---- the wrappers -------------------------------------------------------- */

static char fake_proc[PATH_MAX];	/* "<tmp>/proc/sys/" */
static unsigned opens, writes;
static int last_open_flags;
static char last_written[128];
static char kernel_einval[128], kernel_clamp[128];	/* key paths */
static int write_errno_once;		/* next write fails with it, once */
static size_t write_short;		/* next write takes only this many bytes */

int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);
ssize_t __real_write(int fd, const void *buf, size_t len);
ssize_t __wrap_write(int fd, const void *buf, size_t len);

int __wrap_open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (flags & O_CREAT) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (fake_proc[0] && strncmp(path, fake_proc, strlen(fake_proc)) == 0) {
		opens++;
		last_open_flags = flags;
	}
	return __real_open(path, flags, mode);
}

ssize_t __wrap_write(int fd, const void *buf, size_t len)
{
	char link[64], target[PATH_MAX], text[128];
	const char *rel;
	ssize_t n;
	long long a, b;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0 || !fake_proc[0] || strncmp(target, fake_proc, strlen(fake_proc)) != 0)
		return __real_write(fd, buf, len);
	target[n] = '\0';
	rel = target + strlen(fake_proc);
	writes++;
	if (write_errno_once) {
		errno = write_errno_once;
		write_errno_once = 0;
		return -1;
	}
	if (len >= sizeof(text) || strcmp(rel, kernel_einval) == 0) {
		errno = EINVAL;
		return -1;
	}
	memcpy(text, buf, len);
	text[len] = '\0';
	snprintf(last_written, sizeof(last_written), "%s", text);
	if (write_short) {
		len = write_short;
		write_short = 0;
		return (ssize_t) len;	/* took a part, changed nothing: sysctl_write must not go on */
	}
	if (strcmp(rel, kernel_clamp) == 0)
		snprintf(text, sizeof(text), "42\n");
	else if (sscanf(text, "%lld %lld", &a, &b) == 2)
		snprintf(text, sizeof(text), "%lld\t%lld\n", a, b);
	if (pwrite(fd, text, strlen(text), 0) != (ssize_t) strlen(text) || ftruncate(fd, (off_t) strlen(text)) < 0)
		return -1;
	return (ssize_t) len;
}

/* ---- fixture --------------------------------------------------------------- */

struct fx {
	char dir[512];
	char proc[600];
};

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
	assert_int_equal(fclose(f), 0);
}

static const char *path_of(const struct fx *f, const char *rel)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s/%s", f->proc, rel);
	return buf;
}

static const char *content_of(const struct fx *f, const char *rel)
{
	static char buf[256];
	FILE *fp = fopen(path_of(f, rel), "re");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

static size_t k(const char *name)
{
	int i = key_index(name);

	assert_true(i >= 0);
	return (size_t) i;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmpdir = getenv("TMPDIR");
	char sub[700];

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/test_sysctl_write.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->proc, sizeof(f->proc), "%s/proc/sys", f->dir);
	snprintf(sub, sizeof(sub), "%s/proc", f->dir);
	mkdir(sub, 0755);
	mkdir(f->proc, 0755);
	snprintf(sub, sizeof(sub), "%s/net", f->proc);
	mkdir(sub, 0755);
	snprintf(sub, sizeof(sub), "%s/net/ipv4", f->proc);
	mkdir(sub, 0755);
	snprintf(sub, sizeof(sub), "%s/net/core", f->proc);
	mkdir(sub, 0755);
	write_file(path_of(f, "net/ipv4/tcp_fin_timeout"), "60\n");
	write_file(path_of(f, "net/ipv4/ip_local_port_range"), "32768\t60999\n");
	write_file(path_of(f, "net/core/somaxconn"), "4096\n");
	write_file(path_of(f, "net/ipv4/tcp_tw_recycle"), "0\n");
	snprintf(fake_proc, sizeof(fake_proc), "%s/", f->proc);
	opens = writes = 0;
	last_open_flags = 0;
	last_written[0] = kernel_einval[0] = kernel_clamp[0] = '\0';
	write_errno_once = 0;
	write_short = 0;
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int r = nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	fake_proc[0] = '\0';
	free(f);
	return r;
}

/* ---- reading ------------------------------------------------------------- */

static void test_read(void **state)
{
	struct fx *f = *state;
	char buf[64], tiny[4];

	assert_int_equal(sysctl_read(f->proc, k("net.ipv4.tcp_fin_timeout"), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "60");
	assert_int_equal(sysctl_read(f->proc, k("net.ipv4.ip_local_port_range"), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "32768 60999");
	write_file(path_of(f, "net/core/somaxconn"), "  \t4096 \n\n");
	assert_int_equal(sysctl_read(f->proc, k("net.core.somaxconn"), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "4096");
	/* Read-only keys can be read. */
	assert_int_equal(sysctl_read(f->proc, k("net.ipv4.tcp_tw_recycle"), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0");

	assert_int_equal(sysctl_read(f->proc, k("net.ipv4.tcp_keepalive_time"), buf, sizeof(buf)), -ENOENT);
	assert_int_equal(sysctl_read(f->proc, key_count, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sysctl_read(f->proc, k("net.ipv4.ip_local_port_range"), tiny, sizeof(tiny)), -EOVERFLOW);
	{
		char big[300];

		memset(big, '1', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		write_file(path_of(f, "net/core/somaxconn"), big);
		assert_int_equal(sysctl_read(f->proc, k("net.core.somaxconn"), buf, sizeof(buf)), -EOVERFLOW);
	}
	{
		FILE *fp = fopen(path_of(f, "net/core/somaxconn"), "we");

		assert_non_null(fp);
		fwrite("40\0" "96\n", 1, 6, fp);
		fclose(fp);
		assert_int_equal(sysctl_read(f->proc, k("net.core.somaxconn"), buf, sizeof(buf)), -EINVAL);
	}
	/* No symlink is followed at the key. */
	assert_int_equal(unlink(path_of(f, "net/core/somaxconn")), 0);
	assert_int_equal(symlink("../ipv4/tcp_fin_timeout", path_of(f, "net/core/somaxconn")), 0);
	assert_int_equal(sysctl_read(f->proc, k("net.core.somaxconn"), buf, sizeof(buf)), -ELOOP);
}

/* ---- writing ----------------------------------------------------------------- */

static void test_write_one_write(void **state)
{
	struct fx *f = *state;
	char back[64] = "";

	assert_int_equal(sysctl_write(f->proc, k("net.ipv4.tcp_fin_timeout"), "30", back, sizeof(back)), 0);
	assert_string_equal(back, "30");
	assert_string_equal(content_of(f, "net/ipv4/tcp_fin_timeout"), "30\n");
	assert_int_equal(writes, 1);
	assert_string_equal(last_written, "30\n");
	/* Opened to write, no symlink, no create, no truncate; then read back
	 * through a fresh open. */
	assert_int_equal(opens, 2);
	assert_int_equal(last_open_flags & O_ACCMODE, O_RDONLY);

	/* Whatever the caller's spelling, the kernel gets the canonical one. */
	assert_int_equal(sysctl_write(f->proc, k("net.ipv4.tcp_fin_timeout"), " +45\n", NULL, 0), 0);
	assert_string_equal(last_written, "45\n");	/* canonical form */
}

static void test_write_flags(void **state)
{
	struct fx *f = *state;

	/* A failing write stops before the read-back open, so the last open
	 * recorded is the write open. */
	write_errno_once = EPERM;
	assert_int_equal(sysctl_write(f->proc, k("net.core.somaxconn"), "8192", NULL, 0), -EPERM);
	assert_int_equal(opens, 1);
	assert_int_equal(last_open_flags & O_ACCMODE, O_WRONLY);
	assert_true(last_open_flags & O_NOFOLLOW);
	assert_true(last_open_flags & O_CLOEXEC);
	assert_false(last_open_flags & (O_TRUNC | O_CREAT | O_APPEND));
	assert_string_equal(content_of(f, "net/core/somaxconn"), "4096\n");

	/* EINTR before anything was written: retried at offset 0. */
	writes = 0;
	write_errno_once = EINTR;
	assert_int_equal(sysctl_write(f->proc, k("net.core.somaxconn"), "8192", NULL, 0), 0);
	assert_int_equal(writes, 2);
	assert_string_equal(content_of(f, "net/core/somaxconn"), "8192\n");

	/* A short write is an error, never continued at an offset. */
	writes = 0;
	write_short = 2;
	assert_int_equal(sysctl_write(f->proc, k("net.core.somaxconn"), "1024", NULL, 0), -EIO);
	assert_int_equal(writes, 1);
}

static void test_write_pair(void **state)
{
	struct fx *f = *state;
	char back[64];

	assert_int_equal(sysctl_write(f->proc, k("net.ipv4.ip_local_port_range"), "1024\t 65535", back, sizeof(back)),
			 0);
	assert_string_equal(last_written, "1024 65535\n");
	assert_string_equal(content_of(f, "net/ipv4/ip_local_port_range"), "1024\t65535\n");
	assert_string_equal(back, "1024 65535");
}

static void test_write_refused_before_open(void **state)
{
	static const struct {
		const char *key;
		const char *value;
		int want;
	} cases[] = {
		{ "net.ipv4.tcp_tw_recycle", "0", -EPERM },		/* in the table, not writable */
		{ "net.ipv4.ip_unprivileged_port_start", "1024", -EPERM },
		{ "net.ipv4.tcp_fin_timeout", "abc", -EINVAL },
		{ "net.ipv4.tcp_fin_timeout", "30 40", -EINVAL },
		{ "net.ipv4.tcp_fin_timeout", "", -EINVAL },
		{ "net.ipv4.tcp_fin_timeout", "30\n40", -EINVAL },
		{ "net.ipv4.tcp_fin_timeout", "99999999999999999999", -EINVAL },
		{ "net.ipv4.ip_local_port_range", "1024", -EINVAL },
		{ "net.ipv4.ip_local_port_range", "1024 65535 1", -EINVAL },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("%s = '%s'\n", cases[i].key, cases[i].value);
		assert_int_equal(sysctl_write(f->proc, k(cases[i].key), cases[i].value, NULL, 0), cases[i].want);
	}
	assert_int_equal(sysctl_write(f->proc, key_count, "1", NULL, 0), -EPERM);
	assert_int_equal(sysctl_write(f->proc, (size_t) -1, "1", NULL, 0), -EPERM);
	assert_int_equal(sysctl_write(f->proc, k("net.ipv4.tcp_fin_timeout"), NULL, NULL, 0), -EINVAL);
	assert_int_equal(opens, 0);
	assert_int_equal(writes, 0);
	assert_string_equal(content_of(f, "net/ipv4/tcp_tw_recycle"), "0\n");
}

static void test_kernel_says_no(void **state)
{
	struct fx *f = *state;
	char back[64] = "";
	struct stat st;

	/* EINVAL: out of the kernel's range, value unchanged. */
	snprintf(kernel_einval, sizeof(kernel_einval), "net/ipv4/tcp_fin_timeout");
	assert_int_equal(sysctl_write(f->proc, k("net.ipv4.tcp_fin_timeout"), "30", back, sizeof(back)), -EINVAL);
	assert_string_equal(content_of(f, "net/ipv4/tcp_fin_timeout"), "60\n");

	/* Clamped: -ERANGE with what the kernel kept. */
	snprintf(kernel_clamp, sizeof(kernel_clamp), "net/core/somaxconn");
	assert_int_equal(sysctl_write(f->proc, k("net.core.somaxconn"), "8192", back, sizeof(back)), -ERANGE);
	assert_string_equal(back, "42");

	/* Missing key: ENOENT, and nothing is created. */
	assert_int_equal(sysctl_write(f->proc, k("net.ipv4.tcp_keepalive_time"), "600", NULL, 0), -ENOENT);
	assert_int_equal(stat(path_of(f, "net/ipv4/tcp_keepalive_time"), &st), -1);

	/* A symlink at the key is not followed. */
	assert_int_equal(unlink(path_of(f, "net/core/somaxconn")), 0);
	assert_int_equal(symlink("../ipv4/tcp_fin_timeout", path_of(f, "net/core/somaxconn")), 0);
	assert_int_equal(sysctl_write(f->proc, k("net.core.somaxconn"), "8192", NULL, 0), -ELOOP);
	assert_string_equal(content_of(f, "net/ipv4/tcp_fin_timeout"), "60\n");
}

static void test_value_equal(void **state)
{
	static const struct {
		const char *key, *a, *b;
		bool eq;
	} cases[] = {
		{ "net.ipv4.ip_local_port_range", "1024\t65535", "1024 65535", true },
		{ "net.ipv4.ip_local_port_range", "1024 65535\n", "  1024   65535", true },
		{ "net.ipv4.ip_local_port_range", "1024 65535", "1024 65534", false },
		{ "net.ipv4.ip_local_port_range", "1024 65535", "1025 65535", false },
		{ "net.ipv4.ip_local_port_range", "1024", "1024", true },	/* same text, below */
		{ "net.ipv4.ip_local_port_range", "1024", "1024 1024", false },
		{ "net.ipv4.tcp_fin_timeout", "60", "60\n", true },
		{ "net.ipv4.tcp_fin_timeout", "060", "60", true },
		{ "net.ipv4.tcp_fin_timeout", "60", "61", false },
		/* The same text is the same value, parsable or not (the
		 * kernel prints a value one way): a key whose text this
		 * build cannot parse is not "changed" against itself. */
		{ "net.ipv4.tcp_fin_timeout", "x", "x", true },
		{ "net.ipv4.tcp_fin_timeout", "", "", true },
		{ "net.ipv4.tcp_fin_timeout", "x", "y", false },
		{ "net.ipv4.tcp_fin_timeout", "60", "x", false },
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (sysctl_value_equal(k(cases[i].key), cases[i].a, cases[i].b) != cases[i].eq)
			fail_msg("%s: '%s' vs '%s'", cases[i].key, cases[i].a, cases[i].b);
	assert_false(sysctl_value_equal(key_count, "1", "1"));
	assert_false(sysctl_value_equal(k("net.ipv4.tcp_fin_timeout"), NULL, "1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_one_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_pair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_refused_before_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_says_no, setup, teardown),
		cmocka_unit_test_setup_teardown(test_value_equal, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
