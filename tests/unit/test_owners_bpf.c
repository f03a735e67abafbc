/* owners_bpf_find() and what owners_bpf_ahead() starts, against the
 * running kernel: this process opens sockets, and the walk must name it as
 * their holder whether nothing was walked ahead, or every socket was, with
 * room for them all, with too little room (the table overflows: its
 * program walks again when the table holds the sockets asked about, else
 * one is loaded for them), or before some of the sockets asked about were
 * opened.  Loading needs CAP_BPF and CAP_PERFMON in the initial pid and
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

/* How owners_bpf_find() says it found them. */
#define WALKED "the sockets asked about, walked"
#define WALKED_AHEAD "every socket, walked ahead: "
#define WALKED_AGAIN "walked again: a socket was missing from the walk made ahead"

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

/* Room for every socket descriptor of the host, as check gives the walk
 * ahead: twice its open files (proc/sys/fs/file-nr) and 4,096 more. */
static size_t room_for_all(void)
{
	unsigned long long files = 0;
	FILE *f = fopen("/proc/sys/fs/file-nr", "r");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%llu", &files), 1);
	fclose(f);
	return (size_t) files * 2 + 4096;
}

/* Hold `extra` sockets not asked about and SOCKETS asked about (the last
 * `late` of them opened after the walk ahead started); start a walk ahead
 * with room for `ahead` sockets (0: none), find the holders, and require
 * this process as the holder of each, and `how` as the way it was found
 * (NULL: either of the two ways after a walk ahead). */
static void walk(size_t ahead, size_t late, size_t extra, const char *how)
{
	int fds[SOCKETS], more[64];
	uint64_t inodes[SOCKETS], unused[64], sockets = 0;
	uint32_t pid[SOCKETS];
	struct seen seen = { .self = getpid() };
	char why[192] = "";
	size_t opened = SOCKETS - late;
	int r;

	assert_true(extra <= 64);
	open_sockets(more, unused, 0, extra);
	open_sockets(fds, inodes, 0, opened);
	r = ahead ? owners_bpf_ahead(ahead) : 0;
	if (r == 0 && ahead)
		/* One at a time. */
		assert_int_equal(owners_bpf_ahead(ahead), -EBUSY);
	if (r == 0 && late) {
		/* Most likely after the walk ahead has passed this process
		 * (its load alone takes milliseconds): then those are missing
		 * from it, and the walk is made again. */
		usleep(300 * 1000);
		open_sockets(fds, inodes, opened, SOCKETS);
		opened = SOCKETS;
	}
	if (r == 0) {
		qsort(inodes, SOCKETS, sizeof(inodes[0]), cmp_u64);
		memset(pid, 0, sizeof(pid));
		r = owners_bpf_find(inodes, SOCKETS, pid, on_holder, &seen, &sockets, why, sizeof(why));
	}
	for (size_t i = 0; i < opened; i++)
		close(fds[i]);
	for (size_t i = 0; i < extra; i++)
		close(more[i]);
	if (r == -EPERM || r == -EXDEV || r == -EOPNOTSUPP) {
		print_message("no BPF walk here: %s\n", why[0] ? why : strerror(-r));
		skip();
	}
	assert_int_equal(r, 0);
	if (how)
		assert_true(strncmp(why, how, strlen(how)) == 0);
	else
		assert_true(strncmp(why, WALKED_AHEAD, strlen(WALKED_AHEAD)) == 0 || strcmp(why, WALKED_AGAIN) == 0);
	for (size_t i = 0; i < SOCKETS; i++)
		assert_int_equal(pid[i], (uint32_t) seen.self);
	/* One record for this process, whatever it holds. */
	assert_int_equal(seen.calls, 1);
	assert_true(sockets >= SOCKETS + extra);
	/* What was started ahead was taken: another may start. */
	if (ahead) {
		assert_int_equal(owners_bpf_ahead(ahead), 0);
		owners_bpf_drop();
	}
}

static void test_not_ahead(void **state)
{
	(void) state;
	walk(0, 0, 0, WALKED);
}

/* Every socket descriptor of every process walked ahead: this process's
 * 70 are among them. */
static void test_walk_ahead(void **state)
{
	(void) state;
	walk(room_for_all(), 0, 0, WALKED_AHEAD);
}

/* Room for 1 socket (64 slots, 32 taken at most): the walk ahead
 * overflows (this process alone holds 70), and the table cannot hold 70
 * (which need 256 slots): a program loaded for them walks. */
static void test_walk_ahead_overflow(void **state)
{
	(void) state;
	walk(1, 0, 0, WALKED);
}

/* A table of 256 slots takes 128 sockets: this process alone holds 70
 * asked about and 64 others, so the walk ahead overflows; its program
 * walks again, its table emptied, for the 70 (which need 256 slots). */
static void test_walk_ahead_overflow_reused(void **state)
{
	(void) state;
	walk(100, 0, 64, WALKED);
}

/* 20 of the sockets opened after the walk ahead started: when it missed
 * them, they are looked for again. */
static void test_walk_ahead_late_sockets(void **state)
{
	(void) state;
	walk(room_for_all(), 20, 0, NULL);
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
		cmocka_unit_test(test_walk_ahead),
		cmocka_unit_test(test_walk_ahead_overflow),
		cmocka_unit_test(test_walk_ahead_overflow_reused),
		cmocka_unit_test(test_walk_ahead_late_sockets),
		cmocka_unit_test(test_drop_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
