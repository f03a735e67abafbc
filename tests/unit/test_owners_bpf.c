/* owners_bpf_find() and what owners_bpf_ahead() starts, against the
 * running kernel: this process opens sockets, and the walk must name it as
 * their holder whether the program was loaded ahead with a table big
 * enough, ahead with one too small (then loaded again), not ahead at all,
 * or walked every socket ahead (with room for them all, with too little
 * room, or before some of the sockets asked about were opened).  Loading needs CAP_BPF and CAP_PERFMON in the initial pid and
 * user namespaces: elsewhere each case is skipped, and says why. */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
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

static void open_sockets(int *fds, uint64_t *inodes, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		struct stat st;

		fds[i] = socket(i % 2 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0)
			fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(fds[i] >= 0);
		assert_int_equal(fstat(fds[i], &st), 0);
		inodes[i] = st.st_ino;
	}
}

/* Open SOCKETS sockets (the last `late` of them after starting what is
 * made ahead), walk with what was made ahead for `ahead` sockets (0:
 * nothing; all: a walk of every socket), and require this process as the
 * holder of each. */
static void walk_extra(size_t ahead, bool all, size_t late, size_t extra);

static void walk(size_t ahead, bool all, size_t late)
{
	walk_extra(ahead, all, late, 0);
}

/* As walk(), holding `extra` more sockets not asked about meanwhile. */
static void walk_extra(size_t ahead, bool all, size_t late, size_t extra)
{
	int more[64];
	int fds[SOCKETS];
	uint64_t inodes[SOCKETS], sockets = 0;
	uint32_t pid[SOCKETS];
	struct seen seen = { .self = getpid() };
	char why[192] = "";
	int r;

	uint64_t unused[64];

	assert_true(extra <= 64);
	open_sockets(more, unused, 0, extra);
	open_sockets(fds, inodes, 0, SOCKETS - late);
	if (ahead) {
		r = owners_bpf_ahead(ahead, all);
		if (r == -EPERM || r == -EXDEV) {
			for (size_t i = 0; i < SOCKETS - late; i++)
				close(fds[i]);
			for (size_t i = 0; i < extra; i++)
				close(more[i]);
			skip();
		}
		assert_int_equal(r, 0);
		/* One at a time. */
		assert_int_equal(owners_bpf_ahead(ahead, all), -EBUSY);
	}
	if (late) {
		/* Most likely after the walk made ahead has passed this
		 * process (its load alone takes milliseconds): then those are
		 * missing from it, and the walk is made again. */
		usleep(300 * 1000);
		open_sockets(fds, inodes, SOCKETS - late, SOCKETS);
	}
	qsort(inodes, SOCKETS, sizeof(inodes[0]), cmp_u64);
	memset(pid, 0, sizeof(pid));
	r = owners_bpf_find(inodes, SOCKETS, pid, on_holder, &seen, &sockets, why, sizeof(why));
	for (size_t i = 0; i < SOCKETS; i++)
		close(fds[i]);
	for (size_t i = 0; i < extra; i++)
		close(more[i]);
	if (r == -EPERM || r == -EXDEV || r == -EOPNOTSUPP) {
		print_message("owners_bpf_find: %s\n", why);
		skip();
	}
	assert_int_equal(r, 0);
	/* How it was answered. */
	if (all && ahead >= SOCKETS && !late && !extra)
		assert_true(strncmp(why, "every socket, walked ahead: ", 28) == 0);
	else if (extra)
		assert_string_equal(why, "the sockets asked about, walked");
	else if (!all || ahead < SOCKETS)
		assert_string_equal(why, "the sockets asked about, walked");
	else
		assert_true(strncmp(why, "every socket, walked ahead: ", 28) == 0 ||
			    strcmp(why, "walked again: a socket was missing from the walk made ahead") == 0);
	for (size_t i = 0; i < SOCKETS; i++)
		assert_int_equal(pid[i], (uint32_t) seen.self);
	/* One record for this process, whatever it holds. */
	assert_int_equal(seen.calls, 1);
	assert_true(sockets >= SOCKETS);
	/* The load made ahead was taken (or dropped): another may start. */
	if (ahead) {
		assert_int_equal(owners_bpf_ahead(ahead, all), 0);
		owners_bpf_drop();
	}
}

static void test_not_ahead(void **state)
{
	(void) state;
	walk(0, false, 0);
}

/* A table for 128 sockets has 256 slots, as many as 70 need. */
static void test_ahead_big_enough(void **state)
{
	(void) state;
	walk(128, false, 0);
}

/* A table for 1 socket (64 slots) cannot even hold 70 (which need 256):
 * the walk loads a program with a table of its own. */
static void test_ahead_too_small(void **state)
{
	(void) state;
	walk(1, false, 0);
}

/* Every socket descriptor of every process walked ahead: this process's
 * 70 are among them (the table has room for 65,536). */
static void test_walk_ahead(void **state)
{
	(void) state;
	walk(32768, true, 0);
}

/* Room for 32 sockets: the walk ahead overflows (this process alone holds
 * 70), and the sockets are looked for by a walk of their own. */
static void test_walk_ahead_overflow(void **state)
{
	(void) state;
	walk(1, true, 0);
}

/* A table of 256 slots takes 128 sockets: this process alone holds 70
 * asked about and 64 others, so the walk ahead overflows; its program
 * walks again, its table emptied, for the 70 (which need 256 slots). */
static void test_walk_ahead_overflow_reused(void **state)
{
	(void) state;
	walk_extra(100, true, 0, 64);
}

/* 20 of the sockets opened after the walk ahead started: when it missed
 * them, they are looked for again. */
static void test_walk_ahead_late_sockets(void **state)
{
	(void) state;
	walk(32768, true, 20);
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
		cmocka_unit_test(test_walk_ahead),
		cmocka_unit_test(test_walk_ahead_overflow),
		cmocka_unit_test(test_walk_ahead_overflow_reused),
		cmocka_unit_test(test_walk_ahead_late_sockets),
		cmocka_unit_test(test_drop_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
