/* The engine's helpers and its record step in a temporary directory:
 * canonical values, path checks, what the managed file may be, and the
 * entry change_record() leaves (the full transaction, with every step failing
 * in turn, is test_txn.c's and test_rollback.c's). */
#include "txn_testlib.h"

#include "change.h"
#include "keys.h"
#include "manifest.h"
#include "store.h"

struct fx {
	char dir[512];
	char sysctl_dir[600];
	char managed[700];
	char store[600];
	struct txn_paths paths;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || make_tmpdir(f->dir, sizeof(f->dir)) < 0) {
		free(f);
		return -1;
	}
	snprintf(f->sysctl_dir, sizeof(f->sysctl_dir), "%s/sysctl.d", f->dir);
	snprintf(f->managed, sizeof(f->managed), "%s/99-tcptune.conf", f->sysctl_dir);
	snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
	if (mkdir(f->sysctl_dir, 0755) < 0)
		return -1;
	f->paths.store = f->store;
	f->paths.sysctl_dir = f->sysctl_dir;
	f->paths.managed_name = "99-tcptune.conf";
	f->paths.proc_sys = "/nonexistent/proc/sys";	/* nothing here writes a key */
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

static void test_canonical(void **state)
{
	static const struct {
		const char *key, *in, *out;
	} cases[] = {
		{ "net.ipv4.tcp_fin_timeout", "60", "60" },
		{ "net.ipv4.tcp_fin_timeout", " 060\n", "60" },
		{ "net.ipv4.tcp_fin_timeout", "+30", "30" },
		{ "net.ipv4.tcp_fin_timeout", "-1", "-1" },
		{ "net.ipv4.ip_local_port_range", "32768\t60999", "32768 60999" },
		{ "net.ipv4.ip_local_port_range", "  1024   65535 ", "1024 65535" },
	};
	char out[64];

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(change_canonical_value((size_t) key_index(cases[i].key), cases[i].in, out), 0);
		assert_string_equal(out, cases[i].out);
	}
	assert_int_equal(change_canonical_value((size_t) key_index("net.ipv4.tcp_fin_timeout"), "6 0", out), -EINVAL);
	assert_int_equal(change_canonical_value((size_t) key_index("net.ipv4.ip_local_port_range"), "1", out),
			 -EINVAL);
	assert_int_equal(change_canonical_value(key_count, "1", out), -EINVAL);
}

static void test_paths_and_names(void **state)
{
	static const char *const bad[] = { "", ".", "..", "a/b", "/abs" };
	struct fx *f = *state;
	struct txn_error err;
	char path[256], longdir[300];

	assert_int_equal(change_check_paths(&f->paths, path, &err), 0);
	assert_string_equal(path, f->managed);
	{
		struct change c;

		memset(&c, 0x5a, sizeof(c));
		memset(&err, 0x5a, sizeof(err));
		assert_int_equal(change_begin(&f->paths, &c, path, &err), 0);
		assert_true(err.restored);		/* nothing changed yet */
		assert_string_equal(err.what, "");
		assert_int_equal(c.entry.user[0], 0);
		assert_string_equal(path, f->managed);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f->paths.managed_name = bad[i];
		assert_int_equal(change_check_paths(&f->paths, path, &err), -EINVAL);
	}
	f->paths.managed_name = "99-tcptune.conf";
	memset(longdir, 'd', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	f->paths.sysctl_dir = longdir;
	assert_int_equal(change_check_paths(&f->paths, path, &err), -ENAMETOOLONG);
	f->paths.proc_sys = NULL;
	assert_int_equal(change_check_paths(&f->paths, path, &err), -EINVAL);
	assert_int_equal(change_check_paths(NULL, path, &err), -EINVAL);

	assert_false(change_has_control("web-1 caf\xc3\xa9"));
	assert_true(change_has_control("a\nb"));
	assert_true(change_has_control("a\x7f"));
	assert_true(change_has_control("\t"));
	snprintf(err.what, sizeof(err.what), "bad \x1b[31m\xff byte");
	change_error_sanitize(&err);
	assert_string_equal(err.what, "bad ?[31m? byte");
}

static void test_read_managed(void **state)
{
	struct fx *f = *state;
	struct txn_error err;
	char *buf = NULL, victim[700];
	bool existed = true;
	size_t len = 99;
	int sysfd = open(f->sysctl_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(sysfd >= 0);
	assert_int_equal(change_read_managed(sysfd, &f->paths, f->managed, &buf, &len, &existed, &err), 0);
	assert_false(existed);
	assert_null(buf);
	assert_int_equal(len, 0);

	write_text(f->managed, "a = 1\n");
	assert_int_equal(change_read_managed(sysfd, &f->paths, f->managed, &buf, &len, &existed, &err), 0);
	assert_true(existed);
	assert_string_equal(buf, "a = 1\n");
	free(buf);
	assert_int_equal(unlink(f->managed), 0);

	snprintf(victim, sizeof(victim), "%s/victim", f->dir);
	write_text(victim, "x\n");
	assert_int_equal(symlink(victim, f->managed), 0);
	assert_int_equal(change_read_managed(sysfd, &f->paths, f->managed, &buf, &len, &existed, &err), -ELOOP);
	assert_non_null(strstr(err.what, "is a symlink"));
	assert_int_equal(unlink(f->managed), 0);

	assert_int_equal(mkfifo(f->managed, 0644), 0);
	assert_int_equal(change_read_managed(sysfd, &f->paths, f->managed, &buf, &len, &existed, &err), -EINVAL);
	assert_non_null(strstr(err.what, "not a regular file"));
	assert_int_equal(unlink(f->managed), 0);

	assert_int_equal(truncate(victim, STORE_FILE_MAX + 1), 0);
	assert_int_equal(rename(victim, f->managed), 0);
	assert_int_equal(change_read_managed(sysfd, &f->paths, f->managed, &buf, &len, &existed, &err), -EFBIG);
	close(sysfd);
}

static const char *read_entry(const struct fx *f, const char *rel)
{
	static char buf[4096];
	char path[PATH_MAX];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", f->store, rel);
	fp = fopen(path, "re");
	if (!fp)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

/* What the record step leaves: sysctl -p-able backups, the manifest last. */
static void test_record(void **state)
{
	struct fx *f = *state;
	struct txn_entry_key keys[2];
	struct txn_error err;
	struct change c;
	int storefd;

	memset(&c, 0, sizeof(c));
	memset(&err, 0, sizeof(err));
	memset(keys, 0, sizeof(keys));
	keys[0].key = (size_t) key_index("net.ipv4.tcp_fin_timeout");
	keys[0].had_old = true;
	snprintf(keys[0].old_value, sizeof(keys[0].old_value), "60");
	snprintf(keys[0].new_value, sizeof(keys[0].new_value), "30");
	keys[1].key = (size_t) key_index("net.ipv4.ip_local_port_range");
	keys[1].had_old = true;
	snprintf(keys[1].old_value, sizeof(keys[1].old_value), "32768 60999");
	snprintf(keys[1].new_value, sizeof(keys[1].new_value), "1024 65535");
	c.entry.keys = keys;
	c.entry.n_keys = 2;
	snprintf(c.entry.action, sizeof(c.entry.action), "apply");
	snprintf(c.entry.profile, sizeof(c.entry.profile), "web");
	assert_true(strlen(f->managed) < sizeof(c.entry.file_path));
	memcpy(c.entry.file_path, f->managed, strlen(f->managed) + 1);
	c.entry.file_existed = true;
	c.prior_file = "old content\n";
	c.prior_file_len = strlen(c.prior_file);

	storefd = store_open(f->store, true);
	assert_true(storefd >= 0);
	assert_int_equal(change_record(storefd, &c, "unchanged", &err), 0);
	assert_string_equal(c.entry.id, "0001");
	assert_string_equal(err.id, "0001");
	assert_non_null(strstr(read_entry(f, "0001/prior.conf"),
			       "\nnet.ipv4.tcp_fin_timeout = 60\nnet.ipv4.ip_local_port_range = 32768 60999\n"));
	assert_non_null(strstr(read_entry(f, "0001/planned.conf"), "\nnet.ipv4.ip_local_port_range = 1024 65535\n"));
	assert_string_equal(read_entry(f, "0001/prior-file"), "old content\n");
	assert_non_null(strstr(read_entry(f, "0001/manifest.json"), "\"status\": \"unchanged\""));

	/* Nothing to back up when there was no file. */
	c.entry.file_existed = false;
	assert_int_equal(change_record(storefd, &c, "pending", &err), 0);
	assert_string_equal(c.entry.id, "0002");
	assert_null(read_entry(f, "0002/prior-file"));

	/* A manifest that cannot be encoded: the entry is taken away again. */
	snprintf(c.entry.user, sizeof(c.entry.user), "\xff");
	memset(&err, 0, sizeof(err));
	assert_int_equal(change_record(storefd, &c, "pending", &err), -EINVAL);
	assert_true(err.restored);
	assert_string_equal(err.id, "");
	assert_non_null(strstr(err.what, "cannot record transaction 0003"));
	assert_null(read_entry(f, "0003/prior.conf"));
	{
		struct stat st;
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/0003", f->store);
		assert_int_equal(lstat(path, &st), -1);
	}
	close(storefd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical),
		cmocka_unit_test_setup_teardown(test_paths_and_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_managed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
