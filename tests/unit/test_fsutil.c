/* atomic_write() and its helpers.  Link-time wrapping (LDWRAP_test_fsutil in
 * the Makefile) routes openat, write, fchmod, fsync and renameat through the
 * wrappers of txn_testlib.h, which pass each call on unless a test armed them to fail
 * from the Nth call; after every failure the old file must be byte-identical
 * (the same inode even) and no temporary file may be left. */
#include <dirent.h>

/* = LDWRAP_test_fsutil: fsync, renameat, write, fchmod, openat */
#define TXN_TESTLIB_WRAP_FSYNC
#define TXN_TESTLIB_WRAP_RENAMEAT
#define TXN_TESTLIB_WRAP_WRITE
#define TXN_TESTLIB_WRAP_FCHMOD
#define TXN_TESTLIB_WRAP_OPENAT
#include "txn_testlib.h"

#include "fsutil.h"

/* ---- fixture: a temporary directory holding "target" --------------------- */

#define TARGET "target"
static const char old_content[] = "net.ipv4.tcp_fin_timeout = 30\n";
#define OLD_MODE 0644
#define NEW_LEN 20000		/* several pages, so a short write leaves a real rest */
static char new_content[NEW_LEN];

struct env {
	char dir[PATH_MAX];
	int dirfd;
	ino_t old_ino;
};

static const char *env_path(const struct env *e, const char *name)
{
	static char buf[PATH_MAX + NAME_MAX + 2];

	assert_true((size_t) snprintf(buf, sizeof(buf), "%s/%s", e->dir, name) < sizeof(buf));
	return buf;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct stat st;

	if (!e || make_tmpdir(e->dir, sizeof(e->dir)) < 0) {
		free(e);
		return -1;
	}
	e->dirfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->dirfd < 0) {
		free(e);
		return -1;
	}
	write_plain(env_path(e, TARGET), old_content, sizeof(old_content) - 1, OLD_MODE);
	if (stat(env_path(e, TARGET), &st) < 0)
		return -1;
	e->old_ino = st.st_ino;
	for (size_t i = 0; i < NEW_LEN; i++)
		new_content[i] = (char) ('a' + i % 26);
	new_content[NEW_LEN - 1] = '\n';
	wraps_reset();
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	int r;

	wraps_reset();
	close(e->dirfd);
	r = rm_tree(e->dir);
	free(e);
	return r;
}

/* ---- checks -------------------------------------------------------------- */

static void assert_content(const struct env *e, const char *name, const void *want, size_t want_len,
			   mode_t want_mode)
{
	char *buf = malloc(want_len + 2);
	struct stat st;
	size_t n;
	FILE *f;

	assert_non_null(buf);
	assert_int_equal(lstat(env_path(e, name), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, want_mode);
	f = fopen(env_path(e, name), "re");
	assert_non_null(f);
	n = fread(buf, 1, want_len + 2, f);
	fclose(f);
	assert_int_equal(n, want_len);
	assert_memory_equal(buf, want, want_len);
	free(buf);
}

/* The old file, untouched: same bytes, same mode, same inode. */
static void assert_old_intact(const struct env *e)
{
	struct stat st;

	assert_content(e, TARGET, old_content, sizeof(old_content) - 1, OLD_MODE);
	assert_int_equal(stat(env_path(e, TARGET), &st), 0);
	assert_int_equal(st.st_ino, e->old_ino);
}

static void assert_new_in_place(const struct env *e, mode_t mode)
{
	assert_content(e, TARGET, new_content, NEW_LEN, mode);
}

/* No ".*.tmp-*" entry in the directory. */
static void assert_no_temp(const struct env *e)
{
	DIR *d = opendir(e->dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp-"))
			fail_msg("temporary file left behind: %s", de->d_name);
	}
	closedir(d);
}

/* ---- the happy paths ----------------------------------------------------- */

static void test_create_new(void **state)
{
	struct env *e = *state;
	mode_t old_umask;
	int r;

	/* The mode is exactly what was asked for, whatever the umask. */
	old_umask = umask(077);
	r = atomic_write(e->dirfd, "fresh", new_content, NEW_LEN, 0644);
	umask(old_umask);
	assert_int_equal(r, 0);
	assert_content(e, "fresh", new_content, NEW_LEN, 0644);
	assert_no_temp(e);

	/* The temporary file: beside the target, exclusive, no symlink, 0600. */
	assert_int_equal(strncmp(created_name, ".fresh.tmp-", 11), 0);
	assert_int_equal(strlen(created_name), 11 + 16);
	assert_int_equal(strspn(created_name + 11, "0123456789abcdef"), 16);
	assert_int_equal(created_flags & (O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC),
			 O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC);
	assert_int_equal(created_flags & O_ACCMODE, O_WRONLY);
	assert_int_equal(created_mode, 0600);

	/* Every step ran once: file fsync, then the directory's. */
	assert_int_equal(w_openat.calls, 1);
	assert_int_equal(w_fchmod.calls, 1);
	assert_int_equal(w_fsync.calls, 2);
	assert_int_equal(w_renameat.calls, 1);
}

static void test_replace_existing(void **state)
{
	struct env *e = *state;
	struct stat st;

	assert_int_equal(atomic_write(e->dirfd, TARGET, new_content, NEW_LEN, 0600), 0);
	assert_new_in_place(e, 0600);
	assert_int_equal(stat(env_path(e, TARGET), &st), 0);
	assert_int_not_equal(st.st_ino, e->old_ino);	/* replaced, not rewritten in place */
	assert_no_temp(e);

	/* Empty content is content too. */
	assert_int_equal(atomic_write(e->dirfd, TARGET, "", 0, 0640), 0);
	assert_content(e, TARGET, "", 0, 0640);
	assert_no_temp(e);
}

/* A symlink at the name is replaced, never followed. */
static void test_symlink_target_replaced(void **state)
{
	struct env *e = *state;

	write_plain(env_path(e, "victim"), old_content, sizeof(old_content) - 1, OLD_MODE);
	assert_int_equal(unlink(env_path(e, TARGET)), 0);
	assert_int_equal(symlink("victim", env_path(e, TARGET)), 0);

	assert_int_equal(atomic_write(e->dirfd, TARGET, new_content, NEW_LEN, 0644), 0);
	assert_new_in_place(e, 0644);	/* a regular file now (lstat) */
	assert_content(e, "victim", old_content, sizeof(old_content) - 1, OLD_MODE);
	assert_no_temp(e);
}

/* A short write, then EINTR: write_all() carries on and the result is whole. */
static void test_short_write_then_eintr(void **state)
{
	struct env *e = *state;

	w_write.short_at = 1;
	w_write.short_len = 100;
	wrap_fail(&w_write, 2, 1, EINTR);
	assert_int_equal(atomic_write(e->dirfd, TARGET, new_content, NEW_LEN, 0644), 0);
	assert_new_in_place(e, 0644);
	assert_no_temp(e);
	assert_int_equal(w_write.calls, 3);
}

/* ---- each step failing in turn ------------------------------------------ */

static void test_step_failures(void **state)
{
	static const struct {
		const char *what;
		struct wrap *w;
		unsigned from;
		int err;
		bool short_first;	/* first write() short, so the failure hits mid-file */
	} cases[] = {
		{ "temp create EACCES", &w_openat, 1, EACCES, false },
		{ "temp create ENOSPC", &w_openat, 1, ENOSPC, false },
		{ "write ENOSPC", &w_write, 1, ENOSPC, false },
		{ "write ENOSPC after a short write", &w_write, 2, ENOSPC, true },
		{ "fchmod EPERM", &w_fchmod, 1, EPERM, false },
		{ "file fsync EIO", &w_fsync, 1, EIO, false },
		{ "rename EXDEV", &w_renameat, 1, EXDEV, false },
	};
	struct env *e = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r;

		print_message("case: %s\n", cases[i].what);
		wraps_reset();
		wrap_fail(cases[i].w, cases[i].from, 1, cases[i].err);
		if (cases[i].short_first) {
			w_write.short_at = 1;
			w_write.short_len = 4096;
		}
		r = atomic_write(e->dirfd, TARGET, new_content, NEW_LEN, 0600);
		assert_int_equal(r, -cases[i].err);
		assert_int_equal(cases[i].w->calls, cases[i].from);	/* it did reach the step */
		assert_old_intact(e);
		assert_no_temp(e);
		/* Nothing after the failing step ran. */
		if (cases[i].w != &w_renameat)
			assert_int_equal(w_renameat.calls, 0);
	}
}

/* The directory fsync comes after the rename: the new content is already in
 * place, but the rename may not survive a crash, so the caller must still
 * get the error (and must not, say, delete the backup of the old file). */
static void test_dir_fsync_fails_after_rename(void **state)
{
	struct env *e = *state;

	wrap_fail(&w_fsync, 2, 1, EIO);
	assert_int_equal(atomic_write(e->dirfd, TARGET, new_content, NEW_LEN, 0644), -EIO);
	assert_int_equal(w_fsync.calls, 2);
	assert_int_equal(w_renameat.calls, 1);
	assert_new_in_place(e, 0644);
	assert_no_temp(e);
}

/* A name collision draws a new random suffix, a bounded number of times. */
static void test_temp_name_collisions(void **state)
{
	struct env *e = *state;

	wrap_fail(&w_openat, 1, 1, EEXIST);
	assert_int_equal(atomic_write(e->dirfd, TARGET, new_content, NEW_LEN, 0644), 0);
	assert_int_equal(w_openat.calls, 2);
	assert_new_in_place(e, 0644);
	assert_no_temp(e);

	wraps_reset();
	wrap_fail(&w_openat, 1, 100000, EEXIST);
	assert_int_equal(atomic_write(e->dirfd, TARGET, old_content, sizeof(old_content) - 1, 0644), -EEXIST);
	assert_true(w_openat.calls > 1 && w_openat.calls <= 100);
	assert_new_in_place(e, 0644);
	assert_no_temp(e);
}

/* ---- bad names and targets ----------------------------------------------- */

static void test_bad_names(void **state)
{
	static const char *const bad[] = { "", ".", "..", "a/b", "/target", "target/", "../target" };
	struct env *e = *state;
	char longname[NAME_MAX + 1];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("name: '%s'\n", bad[i]);
		assert_int_equal(atomic_write(e->dirfd, bad[i], "x", 1, 0644), -EINVAL);
	}
	assert_int_equal(w_openat.calls, 0);

	/* A legal name whose temporary name would not fit. */
	memset(longname, 'n', NAME_MAX - 5);
	longname[NAME_MAX - 5] = '\0';
	assert_int_equal(atomic_write(e->dirfd, longname, "x", 1, 0644), -ENAMETOOLONG);
	assert_old_intact(e);
	assert_no_temp(e);
}

static void test_target_is_directory(void **state)
{
	struct env *e = *state;
	char path[PATH_MAX + NAME_MAX + 2];

	assert_int_equal(mkdir(env_path(e, "sub"), 0755), 0);
	assert_int_equal(atomic_write(e->dirfd, "sub", "x", 1, 0644), -EISDIR);
	snprintf(path, sizeof(path), "%s", env_path(e, "sub"));
	assert_int_equal(atomic_write_path(path, "x", 1, 0644), -EISDIR);
	snprintf(path, sizeof(path), "%s", env_path(e, "sub/"));
	assert_int_equal(atomic_write_path(path, "x", 1, 0644), -EISDIR);
	assert_int_equal(w_openat.calls, 0);	/* refused before any temporary file */
	assert_no_temp(e);
}

/* ---- atomic_write_path() ------------------------------------------------- */

static void test_path(void **state)
{
	struct env *e = *state;
	char path[PATH_MAX + NAME_MAX + 2];

	snprintf(path, sizeof(path), "%s", env_path(e, TARGET));
	assert_int_equal(atomic_write_path(path, new_content, NEW_LEN, 0640), 0);
	assert_new_in_place(e, 0640);
	assert_no_temp(e);

	snprintf(path, sizeof(path), "%s", env_path(e, "nodir/file"));
	assert_int_equal(atomic_write_path(path, "x", 1, 0644), -ENOENT);
	snprintf(path, sizeof(path), "%s", env_path(e, ".."));
	assert_int_equal(atomic_write_path(path, "x", 1, 0644), -EINVAL);
	assert_int_equal(atomic_write_path("", "x", 1, 0644), -EINVAL);
}

/* The target's directory must not be a symlink: open_dir_nofollow() says
 * ELOOP (the kernel itself says ENOTDIR for O_DIRECTORY|O_NOFOLLOW). */
static void test_path_dir_symlink(void **state)
{
	struct env *e = *state;
	char path[PATH_MAX + NAME_MAX + 2];
	struct stat st;

	assert_int_equal(mkdir(env_path(e, "real"), 0755), 0);
	assert_int_equal(symlink("real", env_path(e, "link")), 0);

	snprintf(path, sizeof(path), "%s", env_path(e, "link"));
	assert_int_equal(open_dir_nofollow(path), -ELOOP);
	snprintf(path, sizeof(path), "%s", env_path(e, "link/file"));
	assert_int_equal(atomic_write_path(path, "x", 1, 0644), -ELOOP);
	assert_int_equal(lstat(env_path(e, "real/file"), &st), -1);
	assert_int_equal(errno, ENOENT);

	/* A plain file is not a directory, and the real one opens. */
	snprintf(path, sizeof(path), "%s", env_path(e, TARGET));
	assert_int_equal(open_dir_nofollow(path), -ENOTDIR);
	snprintf(path, sizeof(path), "%s", env_path(e, "real"));
	{
		int fd = open_dir_nofollow(path);

		assert_true(fd >= 0);
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		close(fd);
	}
}

/* ---- write_all() ----------------------------------------------------------- */

static void test_write_all_errors(void **state)
{
	int fds[2];

	(void) state;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	assert_int_equal(write_all(fds[1], "", 0), 0);
	assert_int_equal(w_write.calls, 0);	/* nothing to write, no call */
	wrap_fail(&w_write, 1, 3, EINTR);
	assert_int_equal(write_all(fds[1], "abc", 3), 0);
	assert_int_equal(w_write.calls, 4);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(write_all(fds[1], "abc", 3), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_existing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_target_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_write_then_eintr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_step_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_fsync_fails_after_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_temp_name_collisions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_is_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_dir_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_all_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
