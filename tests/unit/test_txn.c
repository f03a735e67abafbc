/* txn_apply() on a fake tree in a temporary directory: <tmp>/proc/sys (regular
 * files), <tmp>/etc/sysctl.d and <tmp>/store.  Never the host's /proc/sys or
 * /etc.  Link-time wrapping (LDWRAP_test_txn in the Makefile) routes fsync,
 * rename, renameat, write and openat through the wrappers of txn_testlib.h:
 *  - a write() to a file under the fake /proc/sys behaves like procfs: it
 *    replaces the value (and prints a pair with a tab, as the kernel does), or
 *    fails with EINVAL, or "clamps" to another value, when a test says so;
 *  - any of them can be made to fail from its Nth call, so each step of the
 *    transaction fails in turn.  After every failure the fake runtime values and
 *    the managed file must be byte-identical to before, no temporary file may
 *    be left, and the entry must be "rolled-back" -- or, when the failure hit
 *    the record step (before anything changed), there must be no entry at all. */
#define TXN_TESTLIB_WRAP_TXN	/* = LDWRAP_test_txn: fsync rename renameat write openat */
#define TXN_TESTLIB_FAKE_TREE
#include "txn_testlib.h"

/* ---- the happy paths ----------------------------------------------------- */

static void test_apply_commits(void **state)
{
	struct fx *f = *state;
	struct txn_error err;
	struct txn_entry *v;
	char id[16] = "", buf[4096];
	bool changed = false;
	struct stat st;
	size_t n;

	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), 0);
	assert_true(changed);
	assert_string_equal(id, "0001");
	assert_string_equal(proc_value(f, "net/ipv4/tcp_fin_timeout"), "30\n");
	assert_string_equal(proc_value(f, "net/ipv4/tcp_keepalive_time"), "600\n");
	assert_string_equal(proc_value(f, "net/ipv4/ip_local_port_range"), "1024\t65535\n");
	assert_string_equal(proc_value(f, "net/core/somaxconn"), "8192\n");
	assert_string_equal(proc_value(f, "net/ipv4/tcp_tw_reuse"), "2\n");
	read_all(f->managed, buf, sizeof(buf), NULL);
	assert_string_equal(buf, managed_new);
	assert_int_equal(stat(f->managed, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	n = history(f, &v);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].id, "0001");
	assert_string_equal(v[0].action, "apply");
	assert_string_equal(v[0].status, "applied");
	assert_string_equal(v[0].profile, "web");
	assert_string_equal(v[0].user, "alice");
	assert_string_equal(v[0].file_path, f->managed);
	assert_true(v[0].file_existed);
	assert_int_equal(v[0].n_keys, 4);
	assert_string_equal(key_table[v[0].keys[2].key].name, "net.ipv4.ip_local_port_range");
	assert_true(v[0].keys[2].had_old);
	assert_string_equal(v[0].keys[2].old_value, "32768 60999");
	assert_string_equal(v[0].keys[2].new_value, "1024 65535");
	assert_int_equal(strlen(v[0].time), 20);
	txn_entries_free(v, n);

	/* The entry: 0700, its files 0600, the backups as they were. */
	assert_int_equal(stat(fx_path(f, f->store, "0001"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(f->store, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	{
		static const char *const files[] = { "manifest.json", "prior.conf", "prior-file", "planned.conf" };

		for (size_t i = 0; i < 4; i++) {
			char rel[64];

			snprintf(rel, sizeof(rel), "0001/%s", files[i]);
			assert_int_equal(stat(fx_path(f, f->store, rel), &st), 0);
			assert_int_equal(st.st_mode & 07777, 0600);
		}
	}
	read_all(fx_path(f, f->store, "0001/prior-file"), buf, sizeof(buf), NULL);
	assert_string_equal(buf, managed_old);
	read_all(fx_path(f, f->store, "0001/prior.conf"), buf, sizeof(buf), NULL);
	assert_non_null(strstr(buf, "\nnet.ipv4.tcp_fin_timeout = 60\n"));
	assert_non_null(strstr(buf, "\nnet.ipv4.ip_local_port_range = 32768 60999\n"));
	read_all(fx_path(f, f->store, "0001/planned.conf"), buf, sizeof(buf), NULL);
	assert_non_null(strstr(buf, "\nnet.core.somaxconn = 8192\n"));
	assert_no_temp(f);
}

static void test_apply_twice_unchanged(void **state)
{
	struct fx *f = *state;
	struct txn_error err;
	struct txn_entry *v;
	struct snap after_first;
	char id[16];
	bool changed;
	size_t n;

	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), 0);
	assert_true(changed);
	take_snap(f, &after_first);
	wraps_reset();
	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), 0);
	assert_false(changed);
	assert_string_equal(id, "0002");
	assert_int_equal(n_proc_writes, 0);	/* not one sysctl written */
	assert_as_before(f, &after_first);
	n = history(f, &v);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].status, "applied");
	assert_string_equal(v[1].status, "unchanged");
	txn_entries_free(v, n);
	assert_no_temp(f);
}

static long event_index(const char *prefix)
{
	for (size_t i = 0; i < n_events; i++)
		if (strncmp(events[i], prefix, strlen(prefix)) == 0)
			return (long) i;
	return -1;
}

/* docs/ARCHITECTURE.md §4 step 4 (record before any change): every backup file, the manifest, the entry
 * directory and the store directory are fsynced before the managed file or
 * any sysctl changes; the manifest (which makes the entry "pending") comes
 * after the backups it points to. */
static void test_record_durable_first(void **state)
{
	static const char *const files[] = { ".prior.conf.tmp-", ".prior-file.tmp-", ".planned.conf.tmp-",
					     ".manifest.json.tmp-" };
	struct fx *f = *state;
	struct txn_error err;
	char id[16], want[PATH_MAX * 2];
	long first_change, i;
	bool changed;

	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), 0);
	for (size_t e = 0; e < n_events; e++)
		print_message("%s\n", events[e]);
	first_change = event_index("rename 99-tcptune.conf");
	assert_true(first_change > 0);
	assert_true(event_index("sysctl ") > first_change);

	for (size_t k = 0; k < 4; k++) {
		snprintf(want, sizeof(want), "fsync %s/0001/%s", f->store, files[k]);
		i = event_index(want);
		if (i < 0 || i > first_change)
			fail_msg("%s not fsynced before the managed file changed", files[k]);
	}
	snprintf(want, sizeof(want), "fsync %s/0001", f->store);
	for (i = 0; i < first_change; i++)
		if (strcmp(events[i], want) == 0)
			break;
	if (i == first_change)
		fail_msg("the entry directory was not fsynced before the managed file changed");
	snprintf(want, sizeof(want), "fsync %s", f->store);
	for (i = 0; i < first_change; i++)
		if (strcmp(events[i], want) == 0)
			break;
	if (i == first_change)
		fail_msg("the store directory was not fsynced before the managed file changed");
	assert_true(event_index("rename prior-file") < event_index("rename manifest.json"));
	assert_true(event_index("rename prior.conf") < event_index("rename manifest.json"));
}

/* Only the keys that differ are written; the file alone can be the change. */
static void test_apply_file_only_and_absent(void **state)
{
	struct fx *f = *state;
	struct txn_error err;
	struct txn_entry *v;
	char id[16], buf[4096];
	struct stat st;
	bool changed;
	size_t n;

	assert_int_equal(unlink(f->managed), 0);
	set_key(f, 0, "net.ipv4.tcp_fin_timeout", "60");	/* as it is */
	f->req.n_keys = 1;
	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), 0);
	assert_true(changed);
	assert_int_equal(n_proc_writes, 0);
	read_all(f->managed, buf, sizeof(buf), NULL);
	assert_string_equal(buf, managed_new);
	n = history(f, &v);
	assert_int_equal(n, 1);
	assert_false(v[0].file_existed);
	txn_entries_free(v, n);
	assert_int_equal(stat(fx_path(f, f->store, "0001/prior-file"), &st), -1);	/* absent: nothing to back up */
}

/* ---- refusals before anything is recorded -------------------------------- */

static void assert_refused(struct fx *f, int want, const char *what_has)
{
	struct txn_error err;
	struct txn_entry *v;
	struct snap before;
	char id[16] = "";
	bool changed = false;
	int r;

	take_snap(f, &before);
	r = txn_apply(&f->paths, &f->req, &changed, id, &err);
	print_message("refused: %s\n", err.what);
	assert_int_equal(r, want);
	assert_true(err.restored);
	assert_non_null(strstr(err.what, what_has));
	assert_string_equal(id, "");	/* ret_id written only on success */
	assert_as_before(f, &before);
	assert_int_equal(history(f, &v), 0);
	assert_no_temp(f);
}

static void test_refusals(void **state)
{
	struct fx *f = *state;

	set_key(f, 1, "net.ipv4.tcp_tw_recycle", "0");
	assert_refused(f, -EPERM, "net.ipv4.tcp_tw_recycle is not a key tcptune writes");
	set_key(f, 1, "net.ipv4.tcp_fin_timeout", "45");
	assert_refused(f, -EINVAL, "net.ipv4.tcp_fin_timeout requested twice");
	set_key(f, 1, "net.ipv4.tcp_keepalive_time", "6OO");
	assert_refused(f, -EINVAL, "net.ipv4.tcp_keepalive_time: not a valid value");
	set_key(f, 1, "net.ipv4.tcp_keepalive_time", "0");
	assert_refused(f, -ERANGE, "outside what tcptune applies");
	set_key(f, 1, "net.ipv4.ip_local_port_range", "65535 1024");
	assert_refused(f, -ERANGE, "net.ipv4.ip_local_port_range");
	set_key(f, 1, "net.ipv4.tcp_keepalive_time", "600");
	f->req.profile = "web\nkernel.core_pattern = |/tmp/x";
	assert_refused(f, -EINVAL, "profile name contains control characters");
	f->req.profile = "web";

	/* A key that vanished (module unloaded) after the caller's preflight. */
	assert_int_equal(unlink(fx_path(f, f->proc, "net/core/somaxconn")), 0);
	assert_refused(f, -ENOENT, "net.core.somaxconn does not exist here");
}

static void test_managed_not_a_file(void **state)
{
	struct fx *f = *state;
	char victim[PATH_MAX * 2], buf[256];

	/* A symlink is refused, never followed: the victim keeps its content. */
	snprintf(victim, sizeof(victim), "%s/victim", f->dir);
	write_file(victim, "victim\n", 0644);
	assert_int_equal(unlink(f->managed), 0);
	assert_int_equal(symlink(victim, f->managed), 0);
	{
		struct txn_error err;
		bool changed;
		char id[16];

		assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), -ELOOP);
		assert_non_null(strstr(err.what, "is a symlink"));
	}
	read_all(victim, buf, sizeof(buf), NULL);
	assert_string_equal(buf, "victim\n");
	assert_int_equal(unlink(f->managed), 0);

	assert_int_equal(mkdir(f->managed, 0755), 0);
	{
		struct txn_error err;
		bool changed;
		char id[16];

		assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), -EISDIR);
		assert_non_null(strstr(err.what, "not a regular file"));
	}
	assert_string_equal(proc_value(f, "net/ipv4/tcp_fin_timeout"), "60\n");
	assert_int_equal(rmdir(f->managed), 0);
}

/* A pending entry (a crash mid-apply) must be recovered before the next. */
static void test_pending_blocks_apply(void **state)
{
	struct fx *f = *state;
	struct txn_error err;
	char id[16];
	bool changed;
	int storefd;

	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), 0);
	storefd = store_open(f->store, false);
	assert_true(storefd >= 0);
	assert_int_equal(store_set_status(storefd, "0001", "pending", NULL), 0);
	close(storefd);
	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), -EINPROGRESS);
	assert_string_equal(err.id, "0001");
	assert_non_null(strstr(err.what, "transaction 0001 is still pending"));
	assert_int_equal(txn_recover(&f->paths, &err), 1);
	assert_string_equal(proc_value(f, "net/ipv4/tcp_fin_timeout"), "60\n");
	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), 0);
	assert_string_equal(id, "0002");
}

/* ---- each step failing in turn ------------------------------------------ */

/* Run the apply with one wrapper armed; check the outcome.  Returns true
 * when the failure hit after the record step (a rolled-back entry). */
static bool apply_failing(struct fx *f, struct wrap *w, unsigned from, int e, const char *label)
{
	struct txn_error err;
	struct txn_entry *v;
	struct snap before;
	char id[16] = "";
	bool changed = false, after_record;
	size_t n;
	int r;

	take_snap(f, &before);
	wraps_reset();
	wrap_fail(w, from, 1, e);
	r = txn_apply(&f->paths, &f->req, &changed, id, &err);
	print_message("%s #%u: %d %s\n", label, from, r, err.what);
	wrap_fail(w, 0, 0, 0);
	assert_int_equal(w->calls >= from, true);	/* it did reach the step */
	assert_int_equal(r, -e);
	assert_true(err.restored);
	assert_string_equal(id, "");
	assert_true(err.what[0] != '\0');
	assert_as_before(f, &before);
	assert_no_temp(f);

	n = history(f, &v);
	after_record = n == 1;
	if (n == 1) {
		/* Failed after recording: restored and marked. */
		assert_string_equal(v[0].status, "rolled-back");
		assert_string_equal(v[0].error, err.what);
		assert_string_equal(err.id, v[0].id);
	} else {
		/* Failed while recording: nothing changed and no entry at all
		 * (not even an empty directory) is left for recovery. */
		struct stat st;

		assert_int_equal(n, 0);
		assert_string_equal(err.id, "");
		assert_int_equal(lstat(fx_path(f, f->store, "0001"), &st), -1);
	}
	txn_entries_free(v, n);
	return after_record;
}

static void test_each_step_fails(void **state)
{
	static const struct fail_step steps[N_FAIL_STEPS] = FAIL_STEPS(EACCES);
	struct fx *f = *state;
	struct txn_error err;
	unsigned baseline[N_FAIL_STEPS];
	char id[16];
	bool changed;

	/* Count each call in a successful apply, then undo it by hand.  The
	 * store exists first, as it does after txn_lock(). */
	clear_store(f);
	wraps_reset();
	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), 0);
	step_calls(steps, baseline);
	assert_int_equal(w_rename.calls, 0);	/* all renames are renameat() */
	assert_int_equal(n_proc_writes, 4);
	assert_true(baseline[0] >= 12 && baseline[1] >= 5 && baseline[3] >= 5);
	for (size_t i = 0; i < N_PROC; i++)
		write_file(fx_path(f, f->proc, proc_files[i].rel), proc_files[i].content, 0644);
	write_file(f->managed, managed_old, 0644);
	clear_store(f);

	for (size_t s = 0; s < N_FAIL_STEPS; s++) {
		unsigned recorded = 0, rolled = 0;

		for (unsigned call = 1; call <= baseline[s]; call++) {
			if (apply_failing(f, steps[s].w, call, steps[s].err, steps[s].label))
				rolled++;
			else
				recorded++;
			clear_store(f);
		}
		/* Both kinds of failure were reached: in the record step and later. */
		assert_true(recorded > 0);
		assert_true(rolled > 0);
	}
}

/* The kernel refuses (EINVAL, value unchanged) or clamps a key: the keys
 * before it are put back, last first. */
static void test_kernel_refuses(void **state)
{
	static const struct {
		const char *rel;
		bool clamp;
		int want;
		const char *what;
	} cases[] = {
		{ "net/ipv4/tcp_fin_timeout", false, -EINVAL, "tcp_fin_timeout: Invalid argument" },
		{ "net/ipv4/ip_local_port_range", false, -EINVAL, "ip_local_port_range: Invalid argument" },
		{ "net/core/somaxconn", false, -EINVAL, "somaxconn: Invalid argument" },
		{ "net/core/somaxconn", true, -ERANGE, "cannot set net.core.somaxconn to 8192: the kernel reads back 4000" },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct txn_error err;
		struct txn_entry *v;
		struct snap before;
		char id[16] = "";
		bool changed;
		size_t n;

		take_snap(f, &before);
		wraps_reset();
		if (cases[i].clamp) {
			snprintf(kernel_clamp, sizeof(kernel_clamp), "%s", cases[i].rel);
			snprintf(kernel_clamp_from, sizeof(kernel_clamp_from), "8192");
			snprintf(kernel_clamp_to, sizeof(kernel_clamp_to), "4000");
		} else {
			snprintf(kernel_einval, sizeof(kernel_einval), "%s", cases[i].rel);
		}
		assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), cases[i].want);
		print_message("%s\n", err.what);
		assert_non_null(strstr(err.what, cases[i].what));
		assert_true(err.restored);
		wraps_reset();
		assert_as_before(f, &before);
		assert_no_temp(f);
		n = history(f, &v);
		assert_int_equal(n, i + 1);
		assert_string_equal(v[i].status, "rolled-back");
		txn_entries_free(v, n);
	}
}

/* When restoring fails too, err.restored says so, the entry stays pending,
 * and txn_recover() finishes the job once the fault is gone. */
static void test_restore_fails_then_recover(void **state)
{
	struct fx *f = *state;
	struct txn_error err;
	struct txn_entry *v;
	struct snap before;
	unsigned third;
	char id[16];
	bool changed;
	size_t n;

	take_snap(f, &before);
	/* Find the call number of the third sysctl write in a clean run. */
	wraps_reset();
	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), 0);
	assert_true(n_proc_writes >= 3);
	third = proc_write_calls[2];
	for (size_t i = 0; i < N_PROC; i++)
		write_file(fx_path(f, f->proc, proc_files[i].rel), proc_files[i].content, 0644);
	write_file(f->managed, managed_old, 0644);
	clear_store(f);

	/* Every write() from the third sysctl on fails: no restore can work. */
	wraps_reset();
	wrap_fail(&w_write, third, 1000, EIO);
	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), -EIO);
	print_message("%s\n", err.what);
	assert_false(err.restored);
	assert_non_null(strstr(err.what, "cannot restore net.ipv4.tcp_keepalive_time to 7200"));
	assert_non_null(strstr(err.what, "left pending"));
	wraps_reset();
	assert_string_equal(proc_value(f, "net/ipv4/tcp_fin_timeout"), "30\n");	/* still changed */
	n = history(f, &v);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].status, "pending");
	txn_entries_free(v, n);

	assert_int_equal(txn_recover(&f->paths, &err), 1);
	assert_as_before(f, &before);
	n = history(f, &v);
	assert_string_equal(v[0].status, "recovered");
	txn_entries_free(v, n);
	assert_no_temp(f);
}

/* The kernel takes the new value but refuses the old one back: the entry
 * must stay pending (not "rolled-back"), so recovery finishes the restore
 * once the kernel takes it again. */
static void test_restore_refused_stays_pending(void **state)
{
	struct fx *f = *state;
	struct txn_error err;
	struct txn_entry *v;
	struct snap before;
	char id[16];
	bool changed;
	size_t n;

	take_snap(f, &before);
	wraps_reset();
	snprintf(kernel_einval, sizeof(kernel_einval), "net/ipv4/ip_local_port_range");
	snprintf(refuse_key, sizeof(refuse_key), "net/ipv4/tcp_fin_timeout");
	snprintf(refuse_value, sizeof(refuse_value), "60");
	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), -EINVAL);
	print_message("%s\n", err.what);
	assert_false(err.restored);
	assert_non_null(strstr(err.what, "cannot restore net.ipv4.tcp_fin_timeout to 60: Invalid argument"));
	assert_non_null(strstr(err.what, "entry 0001 stays pending for recovery"));
	assert_string_equal(proc_value(f, "net/ipv4/tcp_fin_timeout"), "30\n");
	assert_string_equal(proc_value(f, "net/ipv4/tcp_keepalive_time"), "7200\n");	/* the others are back */
	n = history(f, &v);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].status, "pending");
	assert_int_equal(strncmp(v[0].error, err.what, strlen(v[0].error)), 0);	/* all but "(stays pending...)" */
	assert_non_null(strstr(v[0].error, "cannot restore net.ipv4.tcp_fin_timeout"));
	txn_entries_free(v, n);

	/* Still refused: recovery fails and says so; the entry stays pending. */
	assert_int_equal(txn_recover(&f->paths, &err), -EINVAL);
	assert_false(err.restored);
	assert_string_equal(err.id, "0001");
	wraps_reset();
	assert_int_equal(txn_recover(&f->paths, &err), 1);
	assert_as_before(f, &before);
	n = history(f, &v);
	assert_string_equal(v[0].status, "recovered");
	txn_entries_free(v, n);
	assert_no_temp(f);
}

/* A store that fills up (ENOSPC from some write on) must
 * never be reported as "entry marked rolled-back" while the entry is still
 * pending: err.status is what the store really says about the entry. */
static void test_store_fills_status_honest(void **state)
{
	struct fx *f = *state;
	unsigned pending = 0;

	for (unsigned call = 1; call <= 12; call++) {
		struct txn_error err;
		struct txn_entry *v;
		bool changed;
		char id[16];
		size_t n;
		int r;

		reset_machine(f, true);
		wraps_reset();
		wrap_fail(&w_renameat, call, 100, ENOSPC);
		r = txn_apply(&f->paths, &f->req, &changed, id, &err);
		wraps_reset();
		n = history(f, &v);
		print_message("renameat #%u on fails: %d status '%s' restored %d: %s\n", call, r, err.status,
			      err.restored, err.what);
		if (err.id[0] && n) {
			assert_string_equal(v[n - 1].id, err.id);
			assert_string_equal(v[n - 1].status, err.status);
			if (strcmp(err.status, "pending") == 0)
				pending++;
		} else {
			assert_true(r < 0);
			assert_int_equal(n, 0);
			assert_string_equal(err.status, "");
		}
		txn_entries_free(v, n);
		(void) txn_recover(&f->paths, &err);
	}
	assert_true(pending > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apply_commits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_twice_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_durable_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_file_only_and_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_managed_not_a_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_blocks_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each_step_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_fails_then_recover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_refused_stays_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_fills_status_honest, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
