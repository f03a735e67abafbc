/* owners_bpf_find() and the load made ahead (owners_bpf_ahead()) against
 * the running kernel: this process opens sockets, and the walk must name
 * it as their holder whether the program was loaded ahead with a table
 * big enough, ahead with one too small (then loaded again), or not ahead
 * at all.  Loading needs CAP_BPF and CAP_PERFMON in the initial pid and
 * user namespaces: elsewhere each case is skipped, and says why. */
#include <errno.h>
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

#include "owners_bpf.h"

#define SOCKETS 70

struct seen {
	int self, calls;
};

static int on_holder(void *arg, int pid, const char *comm)
{
	struct seen *s = arg;

	(void) comm;
	if (pid == s->self)
		s->calls++;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

/* Open SOCKETS sockets, walk with the load made ahead for `ahead` sockets
 * (0: none), and require this process as the holder of each. */
static void walk(size_t ahead)
{
	int fds[SOCKETS];
	uint64_t inodes[SOCKETS], sockets = 0;
	uint32_t pid[SOCKETS];
	struct seen seen = { .self = getpid() };
	char why[192] = "";
	int r;

	for (size_t i = 0; i < SOCKETS; i++) {
		struct stat st;

		fds[i] = socket(i % 2 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0)
			fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(fds[i] >= 0);
		assert_int_equal(fstat(fds[i], &st), 0);
		inodes[i] = st.st_ino;
	}
	qsort(inodes, SOCKETS, sizeof(inodes[0]), cmp_u64);
	if (ahead) {
		r = owners_bpf_ahead(ahead);
		if (r == -EPERM || r == -EXDEV) {
			for (size_t i = 0; i < SOCKETS; i++)
				close(fds[i]);
			skip();
		}
		assert_int_equal(r, 0);
		/* One at a time. */
		assert_int_equal(owners_bpf_ahead(ahead), -EBUSY);
	}
	memset(pid, 0, sizeof(pid));
	r = owners_bpf_find(inodes, SOCKETS, pid, on_holder, &seen, &sockets, why, sizeof(why));
	for (size_t i = 0; i < SOCKETS; i++)
		close(fds[i]);
	if (r == -EPERM || r == -EXDEV || r == -EOPNOTSUPP) {
		print_message("owners_bpf_find: %s\n", why);
		skip();
	}
	assert_int_equal(r, 0);
	for (size_t i = 0; i < SOCKETS; i++)
		assert_int_equal(pid[i], (uint32_t) seen.self);
	/* One record for this process, whatever it holds. */
	assert_int_equal(seen.calls, 1);
	assert_true(sockets >= SOCKETS);
	/* The load made ahead was taken (or dropped): another may start. */
	if (ahead) {
		assert_int_equal(owners_bpf_ahead(ahead), 0);
		owners_bpf_drop();
	}
}

static void test_not_ahead(void **state)
{
	(void) state;
	walk(0);
}

/* A table for 128 sockets has 256 slots, as many as 70 need. */
static void test_ahead_big_enough(void **state)
{
	(void) state;
	walk(128);
}

/* A table for 1 socket (64 slots) cannot even hold 70 (which need 256):
 * the walk loads a program with a table of its own. */
static void test_ahead_too_small(void **state)
{
	(void) state;
	walk(1);
}

/* Dropping with nothing ahead, or twice, does nothing. */
static void test_drop_idle(void **state)
{
	(void) state;
	owners_bpf_drop();
	owners_bpf_drop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_ahead),
		cmocka_unit_test(test_ahead_big_enough),
		cmocka_unit_test(test_ahead_too_small),
		cmocka_unit_test(test_drop_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
