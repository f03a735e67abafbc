/* The store lock: txn_lock() creates the store, takes <store>/lock and
 * writes our pid; a second taker gets -EBUSY and the holder's pid, whether
 * the holder is another open in this process or a forked child; a holder that
 * dies, however it dies, leaves no stale lock. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lock.h"
#include "txn.h"

struct fx {
	char dir[512];
	char store[600];
	char lock[700];
	struct txn_paths paths;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmpdir = getenv("TMPDIR");

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/test_lock.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
	snprintf(f->lock, sizeof(f->lock), "%s/lock", f->store);
	f->paths.store = f->store;
	f->paths.sysctl_dir = f->dir;
	f->paths.managed_name = "99-tcptune.conf";
	f->paths.proc_sys = f->dir;
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

	free(f);
	return r;
}

static const char *lock_content(const struct fx *f)
{
	static char buf[64];
	FILE *fp = fopen(f->lock, "re");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

static void test_take_and_contend(void **state)
{
	struct fx *f = *state;
	char want[32];
	pid_t pid = -1;
	struct stat st;
	int fd, fd2;

	fd = txn_lock(&f->paths, &pid);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(stat(f->store, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(lstat(f->lock, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(want, sizeof(want), "%ld\n", (long) getpid());
	assert_string_equal(lock_content(f), want);

	/* Another open file description, even in this process, is refused. */
	fd2 = txn_lock(&f->paths, &pid);
	assert_int_equal(fd2, -EBUSY);
	assert_int_equal(pid, getpid());
	assert_string_equal(lock_content(f), want);	/* the loser did not touch it */

	txn_unlock(fd);
	assert_string_equal(lock_content(f), "");
	fd = txn_lock(&f->paths, &pid);
	assert_true(fd >= 0);
	txn_unlock(fd);
	txn_unlock(-1);
}

/* A forked child holds the lock until told to go. */
static void test_child_holds(void **state)
{
	struct fx *f = *state;
	int ready[2], go[2], status, fd;
	pid_t child, pid = 0;
	char c;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pid_t dummy;
		int lfd = txn_lock(&f->paths, &dummy);

		c = lfd >= 0 ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		txn_unlock(lfd);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(c, 'y');

	assert_int_equal(txn_lock(&f->paths, &pid), -EBUSY);
	assert_int_equal(pid, child);

	assert_int_equal(write(go[1], "x", 1), 1);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fd = txn_lock(&f->paths, &pid);
	assert_true(fd >= 0);
	txn_unlock(fd);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

/* Killed while holding it: the kernel drops the flock, the stale pid in
 * the file decides nothing. */
static void test_holder_killed(void **state)
{
	struct fx *f = *state;
	int ready[2], status, fd;
	pid_t child, pid = 0;
	char c;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pid_t dummy;

		if (txn_lock(&f->paths, &dummy) < 0 || write(ready[1], "y", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(txn_lock(&f->paths, &pid), -EBUSY);
	assert_int_equal(pid, child);
	assert_int_equal(kill(child, SIGKILL), 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));

	fd = txn_lock(&f->paths, &pid);
	assert_true(fd >= 0);
	txn_unlock(fd);
	close(ready[0]);
	close(ready[1]);
}

static void test_bad_lock_files(void **state)
{
	struct fx *f = *state;
	char victim[700];
	pid_t pid = 0;
	int fd;

	fd = txn_lock(&f->paths, &pid);	/* makes the store */
	txn_unlock(fd);
	assert_int_equal(unlink(f->lock), 0);

	/* A symlink planted at the lock is never followed (and never truncated). */
	snprintf(victim, sizeof(victim), "%s/victim", f->dir);
	{
		FILE *fp = fopen(victim, "we");

		assert_non_null(fp);
		fputs("precious\n", fp);
		fclose(fp);
	}
	assert_int_equal(symlink(victim, f->lock), 0);
	assert_int_equal(txn_lock(&f->paths, &pid), -ELOOP);
	assert_int_equal(unlink(f->lock), 0);
	{
		char buf[32] = "";
		FILE *fp = fopen(victim, "re");

		assert_non_null(fp);
		assert_non_null(fgets(buf, sizeof(buf), fp));
		fclose(fp);
		assert_string_equal(buf, "precious\n");
	}

	assert_int_equal(mkdir(f->lock, 0700), 0);
	assert_int_equal(txn_lock(&f->paths, &pid), -EISDIR);
	assert_int_equal(rmdir(f->lock), 0);

	/* The pid is only a message: garbage reads as 0, "unknown". */
	{
		FILE *fp = fopen(f->lock, "we");

		assert_non_null(fp);
		fputs("12abc\n", fp);
		fclose(fp);
		fd = open(f->lock, O_RDONLY | O_CLOEXEC);
		assert_int_equal(lock_read_pid(fd), 0);
		close(fd);
	}
	f->paths.store = "";
	assert_int_equal(txn_lock(&f->paths, &pid), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_take_and_contend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_holds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holder_killed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lock_files, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
