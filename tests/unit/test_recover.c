/* Recovery: txn_recover() on entries a crash left "pending", and the restore
 * primitives the failure path shares with it.  Same fake tree as test_txn.c
 * (never the host's /proc/sys or /etc).  The crash tests fork: the child runs
 * an apply or a rollback and _exit()s at the Nth fsync, renameat or write (the
 * wrappers of LDWRAP_test_recover, from txn_testlib.h), for every N; the parent
 * then recovers and the machine must be exactly as before the transaction or
 * exactly as the committed transaction left it, with nothing pending. */
#define TXN_TESTLIB_WRAP_TXN	/* = LDWRAP_test_recover: fsync rename renameat write openat */
#define TXN_TESTLIB_FAKE_TREE
#include "txn_testlib.h"

#include <sys/wait.h>

#include "recover.h"

/* A pending entry as an apply leaves it when it dies after changing the file
 * and the first key: written by hand, not by the code under test. */
static void make_crashed_apply(struct fx *f, bool file_existed)
{
	char manifest[2048], dir[PATH_MAX * 2];

	snprintf(dir, sizeof(dir), "%s/0007", f->store);
	assert_int_equal(mkdir(f->store, 0700), 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(manifest, sizeof(manifest),
		 "{\"schema\": 1, \"id\": \"0007\", \"action\": \"apply\", \"profile\": \"web\", \"user\": \"root\","
		 " \"uid\": 0, \"time\": \"2024-05-01T12:00:00Z\", \"status\": \"pending\", \"keys\": ["
		 "{\"key\": \"net.ipv4.tcp_fin_timeout\", \"old\": \"60\", \"new\": \"30\"},"
		 "{\"key\": \"net.ipv4.ip_local_port_range\", \"old\": \"32768 60999\", \"new\": \"1024 65535\"},"
		 "{\"key\": \"net.core.somaxconn\", \"old\": \"4096\", \"new\": \"8192\"}],"
		 " \"file\": {\"path\": \"%s\", \"existed\": %s}}\n",
		 f->managed, file_existed ? "true" : "false");
	put_file(f, "0007/manifest.json", manifest);
	put_file(f, "0007/prior.conf", "net.ipv4.tcp_fin_timeout = 60\n");
	if (file_existed)
		put_file(f, "0007/prior-file", managed_old);
	/* Half done: the file and two keys changed, the third not yet. */
	write_file(f->managed, managed_new, 0644);
	write_file(fx_path(f, f->proc, "net/ipv4/tcp_fin_timeout"), "30\n", 0644);
	write_file(fx_path(f, f->proc, "net/ipv4/ip_local_port_range"), "1024\t65535\n", 0644);
}

/* ---- recovery of hand-made entries ------------------------------------------ */

static void test_no_store(void **state)
{
	struct fx *f = *state;
	struct txn_error err;

	assert_int_equal(txn_recover(&f->paths, &err), 0);
	assert_int_equal(access(f->store, F_OK), -1);	/* not created either */
}

static void recover_hand_made(struct fx *f, bool file_existed)
{
	struct txn_error err;
	struct txn_entry *v;
	struct snap before;
	size_t n;

	if (!file_existed)
		assert_int_equal(unlink(f->managed), 0);
	take_snap(f, &before);
	make_crashed_apply(f, file_existed);
	assert_int_equal(txn_recover(&f->paths, &err), 1);
	assert_as_before(f, &before);
	assert_no_temp(f);
	n = history(f, &v);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].status, "recovered");
	txn_entries_free(v, n);
	/* Idempotent: nothing pending any more. */
	assert_int_equal(txn_recover(&f->paths, &err), 0);
	/* And the store is usable again: the next id follows 0007. */
	{
		bool changed;
		char id[16];

		assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), 0);
		assert_string_equal(id, "0008");
	}
}

static void test_recover_hand_made(void **state)
{
	recover_hand_made(*state, true);
}

static void test_recover_hand_made_file_absent(void **state)
{
	recover_hand_made(*state, false);
}

static void test_recover_refuses(void **state)
{
	struct fx *f = *state;
	struct txn_error err;
	char path[PATH_MAX * 2];

	/* Its backup is gone: nothing can be restored, nothing is touched. */
	make_crashed_apply(f, true);
	snprintf(path, sizeof(path), "%s/0007/prior-file", f->store);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(txn_recover(&f->paths, &err), -EBADMSG);
	assert_string_equal(err.id, "0007");
	assert_false(err.restored);
	assert_non_null(strstr(err.what, "cannot read the backup of"));
	assert_string_equal(proc_value(f, "net/ipv4/tcp_fin_timeout"), "30\n");

	/* An entry about another managed file is for another configuration. */
	put_file(f, "0007/prior-file", managed_old);
	f->paths.managed_name = "98-other.conf";
	assert_int_equal(txn_recover(&f->paths, &err), -EINVAL);
	assert_non_null(strstr(err.what, "pending entry 0007 manages"));
	f->paths.managed_name = "99-tcptune.conf";
	assert_int_equal(txn_recover(&f->paths, &err), 1);
}

/* A manifest naming a key that is not writable never becomes a path. */
static void test_recover_corrupt_key(void **state)
{
	struct fx *f = *state;
	struct txn_error err;
	struct txn_entry *v;
	size_t n;

	assert_int_equal(mkdir(f->store, 0700), 0);
	assert_int_equal(mkdir(fx_path(f, f->store, "0001"), 0700), 0);
	put_file(f, "0001/manifest.json",
		 "{\"schema\": 1, \"id\": \"0001\", \"action\": \"apply\", \"profile\": \"\", \"user\": \"\","
		 " \"uid\": 0, \"time\": \"\", \"status\": \"pending\", \"keys\": ["
		 "{\"key\": \"kernel.core_pattern\", \"old\": \"1\", \"new\": \"2\"}],"
		 " \"file\": {\"path\": \"/x\", \"existed\": false}}");
	assert_int_equal(txn_recover(&f->paths, &err), 0);	/* corrupt, not pending */
	n = history(f, &v);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].status, "corrupt");
	assert_non_null(strstr(v[0].error, "'kernel.core_pattern' is not a writable key"));
	txn_entries_free(v, n);
}

/* ---- the primitives ------------------------------------------------------ */

static void test_recover_keys(void **state)
{
	struct fx *f = *state;
	struct txn_entry_key keys[3];
	char what[256] = "";

	memset(keys, 0, sizeof(keys));
	keys[0].key = (size_t) key_index("net.ipv4.tcp_fin_timeout");
	keys[0].had_old = true;
	snprintf(keys[0].old_value, sizeof(keys[0].old_value), "60");	/* already 60: not written */
	keys[1].key = (size_t) key_index("net.core.somaxconn");
	keys[1].had_old = true;
	snprintf(keys[1].old_value, sizeof(keys[1].old_value), "1024");
	keys[2].key = (size_t) key_index("net.ipv4.tcp_keepalive_time");
	keys[2].had_old = false;					/* no old value: left alone */

	assert_int_equal(recover_keys(f->proc, keys, 3, what, sizeof(what), NULL, 0), 0);
	assert_int_equal(n_proc_writes, 1);
	assert_string_equal(proc_value(f, "net/core/somaxconn"), "1024\n");
	assert_string_equal(proc_value(f, "net/ipv4/tcp_keepalive_time"), "7200\n");

	/* Last first: the reverse of the order they were written in. */
	write_file(fx_path(f, f->proc, "net/ipv4/tcp_fin_timeout"), "30\n", 0644);
	write_file(fx_path(f, f->proc, "net/core/somaxconn"), "8192\n", 0644);
	n_proc_writes = 0;
	assert_int_equal(recover_keys(f->proc, keys, 3, what, sizeof(what), NULL, 0), 0);
	assert_int_equal(n_proc_writes, 2);
	assert_string_equal(proc_write_keys[0], "net/core/somaxconn");
	assert_string_equal(proc_write_keys[1], "net/ipv4/tcp_fin_timeout");

	/* A failure does not stop the others; the first is reported. */
	snprintf(keys[0].old_value, sizeof(keys[0].old_value), "50");
	snprintf(keys[1].old_value, sizeof(keys[1].old_value), "2048");
	snprintf(kernel_einval, sizeof(kernel_einval), "net/core/somaxconn");
	assert_int_equal(recover_keys(f->proc, keys, 3, what, sizeof(what), NULL, 0), -EINVAL);
	assert_string_equal(what, "cannot restore net.core.somaxconn to 2048: Invalid argument");
	assert_string_equal(proc_value(f, "net/ipv4/tcp_fin_timeout"), "50\n");
}

static void test_recover_file(void **state)
{
	struct fx *f = *state;
	char what[256] = "", buf[256];
	int sysfd = open(f->sysctl_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st1, st2;

	assert_true(sysfd >= 0);
	/* Already as it was: not rewritten (same inode). */
	assert_int_equal(stat(f->managed, &st1), 0);
	assert_int_equal(recover_file(sysfd, "99-tcptune.conf", f->managed, true, managed_old, strlen(managed_old), 0,
				      what, sizeof(what)), 0);
	assert_int_equal(stat(f->managed, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	/* Changed: content back, 0644. */
	write_file(f->managed, "changed\n", 0600);
	assert_int_equal(recover_file(sysfd, "99-tcptune.conf", f->managed, true, managed_old, strlen(managed_old), 0,
				      what, sizeof(what)), 0);
	read_all(f->managed, buf, sizeof(buf), NULL);
	assert_string_equal(buf, managed_old);
	assert_int_equal(stat(f->managed, &st2), 0);
	assert_int_equal(st2.st_mode & 07777, 0644);
	/* Did not exist: removed; twice is fine. */
	assert_int_equal(recover_file(sysfd, "99-tcptune.conf", f->managed, false, NULL, 0, 0, what, sizeof(what)), 0);
	assert_int_equal(access(f->managed, F_OK), -1);
	assert_int_equal(recover_file(sysfd, "99-tcptune.conf", f->managed, false, NULL, 0, 0, what, sizeof(what)), 0);
	/* A failure is reported with the path. */
	wraps_reset();
	wrap_fail(&w_renameat, 1, 1, EROFS);
	assert_int_equal(recover_file(sysfd, "99-tcptune.conf", f->managed, true, managed_old, strlen(managed_old), 0,
				      what, sizeof(what)), -EROFS);
	assert_non_null(strstr(what, "cannot restore "));
	assert_non_null(strstr(what, "99-tcptune.conf: Read-only file system"));
	close(sysfd);
}

/* ---- crashes at every step ----------------------------------------------- */

/* Run fn in a child that dies at call `at` of w.  True if it did die there. */
static bool crash_child(struct fx *f, bool rollback, struct wrap *w, unsigned at)
{
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct txn_error err;
		bool changed;
		char id[16];

		wraps_reset();
		w->crash = true;
		w->fail_from = at;
		if (rollback)
			(void) txn_rollback(&f->paths, NULL, false, "root", 0, id, &err);
		else
			(void) txn_apply(&f->paths, &f->req, &changed, id, &err);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status) == CRASHED;
}

static void crash_everywhere(struct fx *f, bool rollback)
{
	static const char *const names[] = { "fsync", "renameat", "write" };
	struct wrap *ws[] = { &w_fsync, &w_renameat, &w_write };
	struct snap before, after;
	struct txn_error err;
	char id[16];
	unsigned total[3];

	/* The two states a crash may leave after recovery: before, after. */
	reset_machine(f, true);
	if (rollback)
		apply_ok(f, NULL, true);
	take_snap(f, &before);
	wraps_reset();
	if (rollback)
		assert_int_equal(txn_rollback(&f->paths, NULL, false, "root", 0, id, &err), 0);
	else
		apply_ok(f, NULL, true);
	for (size_t i = 0; i < 3; i++)
		total[i] = ws[i]->calls;
	take_snap(f, &after);

	for (size_t s = 0; s < 3; s++) {
		unsigned back = 0, forward = 0;

		for (unsigned at = 1; at <= total[s]; at++) {
			struct txn_entry *v;
			struct snap now;
			bool same_before = true;
			size_t n;
			int r;

			reset_machine(f, true);
			if (rollback)
				apply_ok(f, NULL, true);
			assert_true(crash_child(f, rollback, ws[s], at));
			wraps_reset();
			r = txn_recover(&f->paths, &err);
			print_message("%s crash at %s #%u: recovered %d %s\n", rollback ? "rollback" : "apply",
				      names[s], at, r, err.what);
			assert_true(r == 0 || r == 1);
			take_snap(f, &now);
			for (size_t i = 0; i < N_PROC; i++)
				same_before &= strcmp(now.proc[i], before.proc[i]) == 0;
			same_before &= now.managed_len == before.managed_len &&
				       memcmp(now.managed, before.managed, now.managed_len) == 0;
			if (same_before) {
				assert_snap_equal(&before, &now);
				back++;
			} else {
				assert_snap_equal(&after, &now);
				assert_int_equal(r, 0);	/* only a committed one stays forward */
				forward++;
			}
			n = history(f, &v);
			for (size_t i = 0; i < n; i++) {
				assert_string_not_equal(v[i].status, "pending");
				if (rollback && strcmp(v[i].id, "0001") == 0)
					assert_string_equal(v[i].status, same_before ? "applied" : "undone");
			}
			txn_entries_free(v, n);
		}
		assert_true(back > 0);
		assert_true(forward > 0 || s != 0);	/* the last fsync is after the commit's rename */
	}
}

static void test_crash_during_apply(void **state)
{
	crash_everywhere(*state, false);
}

static void test_crash_during_rollback(void **state)
{
	crash_everywhere(*state, true);
}

/* ---- recovery that never loses anything ----------------------------------- */

/* A pending entry with a key that no longer exists is
 * recovered all the same (the key skipped with its reason), and stops
 * blocking every later apply. */
static void test_recover_vanished_key(void **state)
{
	struct fx *f = *state;
	struct txn_error err;
	struct txn_entry *v;
	char buf[256];
	size_t n;

	make_crashed_apply(f, true);
	assert_int_equal(unlink(fx_path(f, f->proc, "net/core/somaxconn")), 0);
	assert_int_equal(txn_recover(&f->paths, &err), 1);
	assert_string_equal(proc_value(f, "net/ipv4/tcp_fin_timeout"), "60\n");
	assert_string_equal(proc_value(f, "net/ipv4/ip_local_port_range"), "32768\t60999\n");
	read_all(f->managed, buf, sizeof(buf), NULL);
	assert_string_equal(buf, managed_old);
	n = history(f, &v);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].status, "recovered");
	assert_non_null(strstr(v[0].error, "net.core.somaxconn"));
	txn_entries_free(v, n);
	/* Not blocking: the next apply runs (the missing key is the caller's to skip). */
	f->req.n_keys = 3;
	apply_ok(f, "0008", true);
}

/* What an admin fixed by hand between the crash and the
 * recovery (the managed file, a key to a third value) is kept in the store
 * and named, never silently lost. */
static void test_recover_keeps_hand_fixes(void **state)
{
	static const char fixed[] = "# fixed by hand after the crash\nnet.core.somaxconn = 5000\n";
	struct fx *f = *state;
	struct txn_error err;
	struct txn_entry *v;
	char buf[256];
	size_t n;

	make_crashed_apply(f, true);
	put_file(f, "0007/planned-file", managed_new);
	write_file(f->managed, fixed, 0644);
	write_file(fx_path(f, f->proc, "net/ipv4/tcp_fin_timeout"), "45\n", 0644);
	assert_int_equal(txn_recover(&f->paths, &err), 1);
	read_all(fx_path(f, f->store, "0007/hand-file"), buf, sizeof(buf), NULL);
	assert_string_equal(buf, fixed);
	read_all(fx_path(f, f->store, "0007/hand.conf"), buf, sizeof(buf), NULL);
	assert_non_null(strstr(buf, "net.ipv4.tcp_fin_timeout = 45\n"));
	n = history(f, &v);
	assert_non_null(strstr(v[0].error, "hand-file"));
	assert_non_null(strstr(v[0].error, "net.ipv4.tcp_fin_timeout"));
	txn_entries_free(v, n);
}

/* A manifest recovery cannot read (EIO) is never skipped
 * in silence: recovery either restores the entry or fails naming it, and
 * never reports success while an entry is still pending. */
static void test_recover_read_error_not_silent(void **state)
{
	struct fx *f = *state;
	unsigned failed = 0;

	for (unsigned call = 1; call <= 40; call++) {
		struct txn_error err;
		struct txn_store_state st;
		int r, storefd;

		(void) rm_tree(f->store);
		make_crashed_apply(f, true);
		wraps_reset();
		wrap_fail(&w_openat, call, 1, EIO);
		r = txn_recover(&f->paths, &err);
		wraps_reset();
		storefd = store_open(f->store, false);
		assert_true(storefd >= 0);
		assert_int_equal(txn_store_state(storefd, &st), 0);
		close(storefd);
		print_message("openat #%u fails: %d %s (pending %zu)\n", call, r, err.what, st.n_pending);
		if (r >= 0)
			assert_int_equal(st.n_pending, 0);
		else {
			failed++;
			assert_true(err.what[0] != '\0');
		}
	}
	assert_true(failed > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_hand_made, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_hand_made_file_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_corrupt_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_during_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_during_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_vanished_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_keeps_hand_fixes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_read_error_not_silent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
