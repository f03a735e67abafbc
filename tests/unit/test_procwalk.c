/* Walking /proc: getdents64 records (crafted buffers, a real directory) and
 * one process's fd table, against what readdir(3) and readlink(2) show of
 * /proc/self/fd. */
#include <dirent.h>
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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "procwalk.h"

/* A getdents64 record for name at buf + off, reclen rounded up to 8. */
static size_t put_rec(char *buf, size_t off, const char *name)
{
	struct dirent64 *e = (struct dirent64 *) (void *) (buf + off);
	size_t len = offsetof(struct dirent64, d_name) + strlen(name) + 1;

	len = (len + 7) & ~(size_t) 7;
	memset(e, 0, len);
	e->d_ino = 1;
	e->d_reclen = (unsigned short) len;
	e->d_type = DT_LNK;
	memcpy(e->d_name, name, strlen(name) + 1);
	return off + len;
}

static void test_dirent_records(void **state)
{
	char buf[256] __attribute__((aligned(8)));
	const char *name;
	size_t len, off = 0;

	(void) state;
	len = put_rec(buf, 0, "12");
	len = put_rec(buf, len, "socket");
	assert_int_equal(dirent_next(buf, len, &off, &name), 1);
	assert_string_equal(name, "12");
	assert_int_equal(dirent_next(buf, len, &off, &name), 1);
	assert_string_equal(name, "socket");
	assert_int_equal(dirent_next(buf, len, &off, &name), 0);
	assert_int_equal(off, len);
}

static void test_dirent_bad_records(void **state)
{
	char buf[256] __attribute__((aligned(8)));
	struct dirent64 *e = (struct dirent64 *) (void *) buf;
	const char *name;
	size_t len, off;

	(void) state;
	len = put_rec(buf, 0, "7");
	/* a record longer than what is left */
	e->d_reclen = (unsigned short) (len + 8);
	off = 0;
	assert_int_equal(dirent_next(buf, len, &off, &name), -EBADMSG);
	assert_int_equal(off, 0);
	/* a record of length 0 would loop for ever */
	e->d_reclen = 0;
	assert_int_equal(dirent_next(buf, len, &off, &name), -EBADMSG);
	/* a name without its NUL inside the record */
	e->d_reclen = (unsigned short) len;
	memset(e->d_name, 'x', len - offsetof(struct dirent64, d_name));
	assert_int_equal(dirent_next(buf, len, &off, &name), -EBADMSG);
	/* a buffer cut inside the header */
	put_rec(buf, 0, "7");
	assert_int_equal(dirent_next(buf, 10, &off, &name), -EBADMSG);
}

static void test_name_number(void **state)
{
	(void) state;
	assert_int_equal(proc_name_number("0"), 0);
	assert_int_equal(proc_name_number("4242"), 4242);
	assert_int_equal(proc_name_number("2147483647"), 2147483647);
	assert_int_equal(proc_name_number("2147483648"), -1);
	assert_int_equal(proc_name_number("99999999999999999999"), -1);
	assert_int_equal(proc_name_number("self"), -1);
	assert_int_equal(proc_name_number("12a"), -1);
	assert_int_equal(proc_name_number(""), -1);
}

/* A real directory of 1,200 files: more than one getdents64 buffer. */
static void test_dirwalk_directory(void **state)
{
	char dir[] = "/tmp/tcptune-procwalk-XXXXXX";
	static bool seen[1200];
	struct dirwalk *w = malloc(sizeof(*w));
	const char *name;
	int dfd, n = 0, r;

	(void) state;
	assert_non_null(w);
	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	for (int i = 0; i < 1200; i++) {
		char f[48];
		int fd;

		snprintf(f, sizeof(f), "file-with-a-longer-name-%d", i);
		fd = openat(dfd, f, O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	dirwalk_init(w, dfd, false);
	while ((r = dirwalk_next(w, &name)) > 0) {
		int i;

		assert_int_equal(sscanf(name, "file-with-a-longer-name-%d", &i), 1);
		assert_true(i >= 0 && i < 1200);
		assert_false(seen[i]);
		seen[i] = true;
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, 1200);
	for (int i = 0; i < 1200; i++) {
		char f[48];

		snprintf(f, sizeof(f), "file-with-a-longer-name-%d", i);
		unlinkat(dfd, f, 0);
	}
	close(dfd);
	rmdir(dir);
	free(w);
}

/* The links fdtable_scan() reports, joined with '\n'. */
struct links {
	char text[8192];
	size_t len;
	int n, stop_after;
};

static int collect(void *arg, const char *link)
{
	struct links *l = arg;

	l->len += (size_t) snprintf(l->text + l->len, sizeof(l->text) - l->len, "%s\n", link);
	assert_true(l->len < sizeof(l->text));
	return ++l->n == l->stop_after;
}

/* What readdir(3) and readlink(2) show of /proc/self/fd, in fd order, with
 * fddir (the scanner's own directory fd) among them. */
static void expected_links(struct links *l)
{
	int fds[256], n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		assert_true(n < 256);
		fds[n++] = atoi(e->d_name);
	}
	closedir(d);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			int t = fds[j];

			fds[j] = fds[j - 1];
			fds[j - 1] = t;
		}
	memset(l, 0, sizeof(*l));
	for (int i = 0; i < n; i++) {
		char p[64], link[64];
		ssize_t k;

		snprintf(p, sizeof(p), "/proc/self/fd/%d", fds[i]);
		k = readlink(p, link, sizeof(link) - 1);
		assert_true(k > 0);
		link[k] = '\0';
		/* the directory opendir() held is fddir's double: same link */
		l->len += (size_t) snprintf(l->text + l->len, sizeof(l->text) - l->len, "%s\n", link);
		l->n++;
	}
}

static struct dirwalk *walk;

static int open_fddir(long long *ret_count)
{
	struct stat st;
	int fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*ret_count = st.st_size;
	return fd;
}

/* Dense, sparse (a socket at fd 900, far past the holes a lookup by number
 * accepts) and listed: each time what readdir and readlink show. */
static void test_fdtable_scan_matches_readdir(void **state)
{
	struct links want, got;
	long long count;
	bool denied = false;
	int sv[2], fddir, far;

	(void) state;
	walk = malloc(sizeof(*walk));
	assert_non_null(walk);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

	fddir = open_fddir(&count);
	expected_links(&want);
	if (count == 0)
		print_message("kernel before 6.2: /proc/PID/fd has no count, only the listing is tested\n");
	memset(&got, 0, sizeof(got));
	assert_int_equal(fdtable_scan(fddir, count, walk, collect, &got, &denied), 0);
	assert_string_equal(got.text, want.text);
	assert_false(denied);
	close(fddir);

	far = dup2(sv[1], 900);
	assert_int_equal(far, 900);
	fddir = open_fddir(&count);
	expected_links(&want);
	assert_non_null(strstr(want.text, "socket:["));
	memset(&got, 0, sizeof(got));
	assert_int_equal(fdtable_scan(fddir, count, walk, collect, &got, &denied), 0);
	assert_string_equal(got.text, want.text);

	/* the listing alone (no count) gives the same */
	assert_int_equal(lseek(fddir, 0, SEEK_SET), 0);
	memset(&got, 0, sizeof(got));
	assert_int_equal(fdtable_scan(fddir, 0, walk, collect, &got, &denied), 0);
	assert_string_equal(got.text, want.text);

	/* the callback stops it: 1, and nothing after */
	assert_int_equal(lseek(fddir, 0, SEEK_SET), 0);
	memset(&got, 0, sizeof(got));
	got.stop_after = 2;
	assert_int_equal(fdtable_scan(fddir, count, walk, collect, &got, &denied), 1);
	assert_int_equal(got.n, 2);
	close(fddir);
	close(far);
	close(sv[0]);
	close(sv[1]);
	free(walk);
}

/* With a count, the fds are looked up by number and no more than the count
 * are read: a count of 2 gives fds 0 and 1 (a listing would give all). */
static void test_fdtable_scan_count_bounds_lookups(void **state)
{
	struct links got;
	long long count;
	bool denied = false;
	int fddir;
	char l0[64], l1[64], want[160];
	ssize_t k;

	(void) state;
	/* fds 0 and 1 must be open for this, before the directory takes one:
	 * a runner may close stdin */
	for (int fd = 0; fd <= 1; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			assert_int_equal(open("/dev/null", O_RDONLY), fd);
	walk = malloc(sizeof(*walk));
	assert_non_null(walk);
	fddir = open_fddir(&count);
	if (count == 0) {
		print_message("kernel before 6.2: no count, nothing to test\n");
		close(fddir);
		free(walk);
		skip();
	}
	k = readlink("/proc/self/fd/0", l0, sizeof(l0) - 1);
	assert_true(k > 0);
	l0[k] = '\0';
	k = readlink("/proc/self/fd/1", l1, sizeof(l1) - 1);
	assert_true(k > 0);
	l1[k] = '\0';
	snprintf(want, sizeof(want), "%s\n%s\n", l0, l1);
	memset(&got, 0, sizeof(got));
	assert_int_equal(fdtable_scan(fddir, 2, walk, collect, &got, &denied), 0);
	assert_string_equal(got.text, want);
	close(fddir);
	free(walk);
}

/* The namespace number from readlink() is the inode stat() shows of the
 * same link, for "self" and for our pid. */
static void test_netns_inum(void **state)
{
	struct stat st;
	unsigned long a = 0, b = 0;
	int proc = open("/proc", O_RDONLY | O_DIRECTORY);

	(void) state;
	assert_true(proc >= 0);
	assert_int_equal(stat("/proc/self/ns/net", &st), 0);
	assert_int_equal(proc_netns_inum(proc, 0, &a), 0);
	assert_int_equal(proc_netns_inum(proc, (int) getpid(), &b), 0);
	assert_true(a == (unsigned long) st.st_ino);
	assert_true(b == a);
	assert_int_equal(proc_netns_inum(proc, 0x7ffffffe, &b), -ENOENT);
	close(proc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dirent_records),
		cmocka_unit_test(test_dirent_bad_records),
		cmocka_unit_test(test_name_number),
		cmocka_unit_test(test_dirwalk_directory),
		cmocka_unit_test(test_fdtable_scan_matches_readdir),
		cmocka_unit_test(test_fdtable_scan_count_bounds_lookups),
		cmocka_unit_test(test_netns_inum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
