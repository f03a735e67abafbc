/* The store on disk, in a temporary directory: who may own it, which names
 * are entries, ids, entry creation and removal, capped no-follow reads, and
 * manifests through store_load()/store_save()/store_set_status(). */
#include "txn_testlib.h"

#include "keys.h"
#include "manifest.h"
#include "store.h"

struct fx {
	char dir[512];
	char store[600];
};

static const char *at(const struct fx *f, const char *rel)
{
	static char buf[2][PATH_MAX];
	static int which;

	which ^= 1;
	snprintf(buf[which], sizeof(buf[which]), "%s/%s", f->store, rel);
	return buf[which];
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || make_tmpdir(f->dir, sizeof(f->dir)) < 0) {
		free(f);
		return -1;
	}
	snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int r = rm_tree(f->dir);

	free(f);
	return r;
}

static void test_open(void **state)
{
	struct fx *f = *state;
	char link[700];
	struct stat st;
	mode_t old;
	int fd;

	assert_int_equal(store_open(f->store, false), -ENOENT);
	old = umask(0);
	fd = store_open(f->store, true);
	umask(old);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	assert_int_equal(stat(f->store, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	fd = store_open(f->store, true);	/* exists: fine */
	assert_true(fd >= 0);
	close(fd);

	/* Anyone else who can write it could make recovery write /etc. */
	assert_int_equal(chmod(f->store, 0770), 0);
	assert_int_equal(store_open(f->store, false), -EPERM);
	assert_int_equal(chmod(f->store, 0702), 0);
	assert_int_equal(store_open(f->store, false), -EPERM);
	assert_int_equal(chmod(f->store, 0755), 0);
	fd = store_open(f->store, false);
	assert_true(fd >= 0);
	close(fd);
	if (geteuid() == 0) {
		assert_int_equal(chown(f->store, 1234, 1234), 0);
		assert_int_equal(store_open(f->store, false), -EPERM);
		assert_int_equal(chown(f->store, 0, 0), 0);
	}

	snprintf(link, sizeof(link), "%s/link", f->dir);
	assert_int_equal(symlink(f->store, link), 0);
	assert_int_equal(store_open(link, true), -ELOOP);
	assert_int_equal(store_open("", true), -EINVAL);
}

static void test_list_and_ids(void **state)
{
	static const char *const names[] = { "0002", "0010", "0001", "12345", "42", "00042", "abc", ".0003", "0x10" };
	struct fx *f = *state;
	unsigned long *ids = NULL;
	char id[16];
	size_t n = 99;
	int storefd, fd;

	storefd = store_open(f->store, true);
	assert_true(storefd >= 0);
	assert_int_equal(store_list(storefd, &ids, &n), 0);
	assert_int_equal(n, 0);
	assert_null(ids);
	fd = store_entry_create(storefd, id);
	assert_true(fd >= 0);
	close(fd);
	assert_string_equal(id, "0001");
	assert_int_equal(rmdir(at(f, "0001")), 0);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(mkdir(at(f, names[i]), 0700), 0);
	assert_int_equal(store_list(storefd, &ids, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 2);
	assert_int_equal(ids[2], 10);
	assert_int_equal(ids[3], 12345);
	free(ids);
	/* Listing twice reads the directory from the start again. */
	assert_int_equal(store_list(storefd, &ids, &n), 0);
	assert_int_equal(n, 4);
	free(ids);

	fd = store_entry_create(storefd, id);
	assert_true(fd >= 0);
	close(fd);
	assert_string_equal(id, "12346");

	assert_int_equal(mkdir(at(f, "99999999"), 0700), 0);
	assert_int_equal(store_entry_create(storefd, id), -EOVERFLOW);
	store_id_format(7, id);
	assert_string_equal(id, "0007");
	close(storefd);
}

static void test_entry_remove(void **state)
{
	struct fx *f = *state;
	char id[16];
	int storefd, fd;

	storefd = store_open(f->store, true);
	fd = store_entry_create(storefd, id);
	assert_true(fd >= 0);
	assert_int_equal(store_write(fd, "a", "x", 1), 0);
	assert_int_equal(store_write(fd, "b", "y", 1), 0);
	{
		char victim[700];

		snprintf(victim, sizeof(victim), "%s/victim", f->dir);
		write_text(victim, "keep me\n");
		assert_int_equal(symlinkat(victim, fd, "c"), 0);	/* removed as a link, never followed */
		close(fd);
		assert_int_equal(store_entry_remove(storefd, id), 0);
		assert_int_equal(access(at(f, id), F_OK), -1);
		assert_int_equal(access(victim, F_OK), 0);
	}

	/* A directory inside is not ours: refused, the entry stays. */
	fd = store_entry_create(storefd, id);
	close(fd);
	assert_int_equal(mkdir(at(f, "0001/sub"), 0700), 0);
	assert_int_equal(store_entry_remove(storefd, "0001"), -EISDIR);
	assert_int_equal(access(at(f, "0001/sub"), F_OK), 0);

	/* A file squatting on an id goes. */
	write_text(at(f, "0005"), "x");
	assert_int_equal(store_entry_remove(storefd, "0005"), 0);
	assert_int_equal(access(at(f, "0005"), F_OK), -1);
	assert_int_equal(store_entry_remove(storefd, "0042"), -ENOENT);
	assert_int_equal(store_entry_remove(storefd, "../x"), -EINVAL);
	close(storefd);
}

static void test_read_at(void **state)
{
	struct fx *f = *state;
	char *buf = NULL;
	struct stat st;
	size_t len = 0;
	int storefd;

	storefd = store_open(f->store, true);
	assert_int_equal(store_write(storefd, "file", "hello\n", 6), 0);
	assert_int_equal(stat(at(f, "file"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(store_read_at(storefd, "file", 6, &buf, &len), 0);
	assert_int_equal(len, 6);
	assert_string_equal(buf, "hello\n");
	free(buf);
	buf = NULL;
	assert_int_equal(store_read_at(storefd, "file", 5, &buf, &len), -EFBIG);
	assert_null(buf);
	assert_int_equal(store_write(storefd, "empty", "", 0), 0);
	assert_int_equal(store_read_at(storefd, "empty", 0, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);

	assert_int_equal(store_read_at(storefd, "absent", 100, &buf, &len), -ENOENT);
	assert_int_equal(symlinkat("file", storefd, "link"), 0);
	assert_int_equal(store_read_at(storefd, "link", 100, &buf, &len), -ELOOP);
	assert_int_equal(mkdirat(storefd, "dir", 0700), 0);
	assert_int_equal(store_read_at(storefd, "dir", 100, &buf, &len), -EISDIR);
	assert_int_equal(mkfifoat(storefd, "fifo", 0600), 0);
	assert_int_equal(store_read_at(storefd, "fifo", 100, &buf, &len), -EINVAL);	/* and no hang */
	close(storefd);
}

static void test_manifest_io(void **state)
{
	struct fx *f = *state;
	struct txn_entry_key key;
	struct txn_entry e, d;
	char id[16], why[256];
	uid_t uid = 0;
	int storefd, fd;

	storefd = store_open(f->store, true);
	fd = store_entry_create(storefd, id);
	close(fd);
	memset(&e, 0, sizeof(e));
	memset(&key, 0, sizeof(key));
	snprintf(e.id, sizeof(e.id), "%s", id);
	snprintf(e.action, sizeof(e.action), "apply");
	snprintf(e.status, sizeof(e.status), "pending");
	snprintf(e.file_path, sizeof(e.file_path), "/etc/sysctl.d/99-tcptune.conf");
	key.key = (size_t) key_index("net.core.somaxconn");
	key.had_old = true;
	snprintf(key.old_value, sizeof(key.old_value), "4096");
	snprintf(key.new_value, sizeof(key.new_value), "8192");
	e.keys = &key;
	e.n_keys = 1;
	assert_int_equal(store_save(storefd, &e, 500), 0);

	assert_int_equal(store_set_status(storefd, id, "rolled-back", "it broke"), 0);
	assert_int_equal(store_load(storefd, id, &d, &uid, why, sizeof(why)), 0);
	assert_string_equal(d.status, "rolled-back");
	assert_string_equal(d.error, "it broke");
	assert_int_equal(uid, 500);	/* kept through the status change */
	assert_int_equal(d.n_keys, 1);
	assert_string_equal(d.keys[0].new_value, "8192");
	manifest_entry_release(&d);

	assert_int_equal(store_set_status(storefd, id, "bogus", NULL), -EINVAL);	/* would not decode */
	assert_int_equal(store_load(storefd, id, &d, &uid, why, sizeof(why)), 0);
	assert_string_equal(d.status, "rolled-back");
	manifest_entry_release(&d);

	assert_int_equal(store_load(storefd, "0099", &d, &uid, why, sizeof(why)), -ENOENT);
	assert_int_equal(mkdir(at(f, "0002"), 0700), 0);
	assert_int_equal(store_load(storefd, "0002", &d, &uid, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "manifest.json missing"));
	close(storefd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_and_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_at, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manifest_io, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
