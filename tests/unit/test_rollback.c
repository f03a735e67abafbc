/* txn_rollback() on the same fake tree as test_txn.c (<tmp>/proc/sys as
 * regular files, <tmp>/etc/sysctl.d, <tmp>/store; never the host's): round
 * trips back to byte-identical runtime values and managed file, the refusals
 * (changed outside tcptune, not applied, a newer apply still in effect) and
 * --force, and each step failing in turn through the wrappers of
 * LDWRAP_test_rollback, after which the state must be exactly what the apply
 * left and the target still "applied". */
#define TXN_TESTLIB_WRAP_TXN	/* = LDWRAP_test_rollback: fsync rename renameat write openat */
#define TXN_TESTLIB_FAKE_TREE
#include "txn_testlib.h"

#include "rollback.h"

static const char *status_of(const struct fx *f, const char *id)
{
	static char buf[16];
	struct txn_entry *v;
	size_t n = history(f, &v);

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].id, id) == 0)
			snprintf(buf, sizeof(buf), "%s", v[i].status);
	txn_entries_free(v, n);
	return buf;
}

/* ---- round trips ----------------------------------------------------------- */

static void round_trip(struct fx *f, bool managed_exists)
{
	struct txn_error err;
	struct txn_entry *v, plan;
	struct snap before, applied;
	char id[16] = "";
	size_t n;

	if (!managed_exists)
		assert_int_equal(unlink(f->managed), 0);
	take_snap(f, &before);
	apply_ok(f, "0001", true);
	assert_string_equal(proc_value(f, "net/ipv4/tcp_fin_timeout"), "30\n");

	/* The plan shown before asking: the keys the rollback then records,
	 * and nothing changed by showing it. */
	take_snap(f, &applied);
	assert_int_equal(txn_rollback_plan(&f->paths, NULL, false, &plan, &err), 0);
	assert_string_equal(plan.id, "0001");
	assert_int_equal(plan.file_existed, managed_exists);
	assert_as_before(f, &applied);

	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 1001, id, &err), 0);
	assert_string_equal(id, "0002");
	assert_as_before(f, &before);	/* byte for byte, the pair with its tab; absent stays absent */
	assert_no_temp(f);

	n = history(f, &v);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].status, "undone");
	assert_string_equal(v[1].action, "rollback");
	assert_string_equal(v[1].status, "applied");
	assert_string_equal(v[1].target, "0001");
	assert_string_equal(v[1].user, "bob");
	assert_string_equal(v[1].profile, "web");
	assert_int_equal(v[1].n_keys, 4);
	assert_string_equal(v[1].keys[0].old_value, "30");
	assert_string_equal(v[1].keys[0].new_value, "60");
	assert_true(v[1].file_existed);	/* the apply's file was there when the rollback began */
	assert_int_equal(plan.n_keys, v[1].n_keys);
	for (size_t k = 0; k < plan.n_keys; k++) {
		assert_int_equal(plan.keys[k].key, v[1].keys[k].key);
		assert_string_equal(plan.keys[k].old_value, v[1].keys[k].old_value);
		assert_string_equal(plan.keys[k].new_value, v[1].keys[k].new_value);
	}
	free(plan.keys);
	txn_entries_free(v, n);

	/* Nothing left to undo. */
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 1001, id, &err), -ENOENT);
	assert_string_equal(err.what, "no applied transaction to undo");
}

static void test_round_trip_file_existed(void **state)
{
	round_trip(*state, true);
}

static void test_round_trip_file_absent(void **state)
{
	round_trip(*state, false);
}

/* ---- refusals -------------------------------------------------------------- */

static void test_changed_outside(void **state)
{
	struct fx *f = *state;
	struct txn_entry plan;
	struct txn_error err;
	struct snap drifted;
	char id[16] = "";

	apply_ok(f, "0001", true);
	write_file(fx_path(f, f->proc, "net/ipv4/tcp_fin_timeout"), "45\n", 0644);
	take_snap(f, &drifted);
	memset(&plan, 0, sizeof(plan));
	assert_int_equal(txn_rollback_plan(&f->paths, NULL, false, &plan, &err), -EEXIST);	/* refused alike */
	assert_string_equal(err.what, "net.ipv4.tcp_fin_timeout is 45 now, tcptune set 30 "
			    "(changed outside tcptune; use --force)");
	assert_null(plan.keys);
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err), -EEXIST);
	assert_string_equal(err.what, "net.ipv4.tcp_fin_timeout is 45 now, tcptune set 30 "
			    "(changed outside tcptune; use --force)");
	assert_string_equal(err.id, "0001");
	assert_true(err.restored);
	assert_string_equal(id, "");
	assert_as_before(f, &drifted);
	assert_string_equal(status_of(f, "0001"), "applied");
	assert_string_equal(status_of(f, "0002"), "");	/* nothing recorded */

	/* --force: back to what was there before the apply. */
	assert_int_equal(txn_rollback(&f->paths, NULL, true, "bob", 0, id, &err), 0);
	assert_string_equal(id, "0002");
	assert_string_equal(proc_value(f, "net/ipv4/tcp_fin_timeout"), "60\n");
	assert_string_equal(proc_value(f, "net/ipv4/ip_local_port_range"), "32768\t60999\n");
	assert_string_equal(status_of(f, "0001"), "undone");
}

static void test_not_applied(void **state)
{
	static const struct {
		const char *id;
		int want;
		const char *what;
	} cases[] = {
		{ "0001", -EINVAL, "transaction 0001 is undone, not applied: nothing to roll back" },
		{ "1", -EINVAL, "transaction 0001 is undone, not applied" },
		{ "0002", -EINVAL, "transaction 0002 is a rollback itself" },
		{ "0042", -ENOENT, "no transaction 0042 in the store" },
		{ "../etc", -EINVAL, "'../etc' is not a transaction id" },
		{ "123456789", -EINVAL, "not a transaction id" },
	};
	struct fx *f = *state;
	struct txn_error err;
	char id[16];

	/* Nothing recorded at all. */
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err), -ENOENT);
	apply_ok(f, "0001", true);
	assert_int_equal(txn_rollback(&f->paths, "0001", false, "bob", 0, id, &err), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct snap before;

		take_snap(f, &before);
		assert_int_equal(txn_rollback(&f->paths, cases[i].id, false, "bob", 0, id, &err), cases[i].want);
		print_message("%s: %s\n", cases[i].id, err.what);
		assert_non_null(strstr(err.what, cases[i].what));
		assert_as_before(f, &before);
	}
	assert_string_equal(status_of(f, "0003"), "");

	/* A corrupt entry is never used as a plan. */
	assert_int_equal(mkdir(fx_path(f, f->store, "0005"), 0700), 0);
	assert_int_equal(txn_rollback(&f->paths, "5", true, "bob", 0, id, &err), -EBADMSG);
	assert_non_null(strstr(err.what, "transaction 0005 is corrupt: manifest.json missing"));
}

/* Going back to 0001's prior file would throw away 0002's file. */
static void test_newer_apply_in_effect(void **state)
{
	static const char second[] = "net.ipv4.tcp_tw_reuse = 1\n";
	struct fx *f = *state;
	struct txn_error err;
	char id[16], buf[256];

	apply_ok(f, "0001", true);
	set_key(f, 0, "net.ipv4.tcp_tw_reuse", "1");
	f->req.n_keys = 1;
	f->req.file_content = second;
	apply_ok(f, "0002", true);
	assert_int_equal(txn_rollback(&f->paths, "0001", false, "bob", 0, id, &err), -EEXIST);
	assert_non_null(strstr(err.what, "transaction 0002 (web) was applied after 0001"));
	assert_non_null(strstr(err.what, "tcptune rollback 0002; tcptune rollback 0001"));
	read_all(f->managed, buf, sizeof(buf), NULL);
	assert_string_equal(buf, second);

	/* In order it works: 0002, then 0001 (the default target each time). */
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err), 0);
	assert_string_equal(id, "0003");
	assert_string_equal(status_of(f, "0002"), "undone");
	read_all(f->managed, buf, sizeof(buf), NULL);
	assert_string_equal(buf, managed_new);
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err), 0);
	assert_string_equal(id, "0004");
	assert_string_equal(status_of(f, "0001"), "undone");
	read_all(f->managed, buf, sizeof(buf), NULL);
	assert_string_equal(buf, managed_old);
	assert_string_equal(proc_value(f, "net/ipv4/tcp_tw_reuse"), "2\n");
	assert_string_equal(proc_value(f, "net/ipv4/tcp_fin_timeout"), "60\n");
}

/* A key the target found without a value is left alone. */
static void test_key_without_old_left_alone(void **state)
{
	struct fx *f = *state;
	struct txn_entry e;
	struct txn_error err;
	char id[16], why[256];
	uid_t uid;
	int storefd;

	apply_ok(f, "0001", true);
	storefd = store_open(f->store, false);
	assert_true(storefd >= 0);
	assert_int_equal(store_load(storefd, "0001", &e, &uid, why, sizeof(why)), 0);
	e.keys[1].had_old = false;	/* tcp_keepalive_time */
	assert_int_equal(store_save(storefd, &e, uid), 0);
	free(e.keys);
	close(storefd);

	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err), 0);
	assert_string_equal(proc_value(f, "net/ipv4/tcp_keepalive_time"), "600\n");
	assert_string_equal(proc_value(f, "net/ipv4/tcp_fin_timeout"), "60\n");
}

static void test_pending_blocks_rollback(void **state)
{
	struct fx *f = *state;
	struct txn_error err;
	char id[16];
	int storefd;

	apply_ok(f, "0001", true);
	f->req.n_keys = 1;
	set_key(f, 0, "net.ipv4.tcp_tw_reuse", "1");
	apply_ok(f, "0002", true);
	storefd = store_open(f->store, false);
	assert_int_equal(store_set_status(storefd, "0002", "pending", NULL), 0);
	close(storefd);
	assert_int_equal(txn_rollback(&f->paths, "0001", true, "bob", 0, id, &err), -EINPROGRESS);
	assert_string_equal(err.id, "0002");
}

/* ---- each step failing in turn ------------------------------------------ */

static void test_each_step_fails(void **state)
{
	static const struct fail_step steps[N_FAIL_STEPS] = FAIL_STEPS(EROFS);
	struct fx *f = *state;
	struct txn_error err;
	unsigned baseline[N_FAIL_STEPS];
	char id[16];

	/* Count each call in a successful rollback. */
	clear_store(f);
	apply_ok(f, "0001", true);
	wraps_reset();
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err), 0);
	step_calls(steps, baseline);
	assert_int_equal(n_proc_writes, 4);
	assert_int_equal(w_rename.calls, 0);

	for (size_t s = 0; s < N_FAIL_STEPS; s++) {
		unsigned recorded = 0, rolled = 0;

		for (unsigned call = 1; call <= baseline[s]; call++) {
			struct txn_entry *v;
			struct snap applied;
			size_t n;
			int r;

			reset_machine(f, true);
			apply_ok(f, "0001", true);
			take_snap(f, &applied);
			wraps_reset();
			wrap_fail(steps[s].w, call, 1, steps[s].err);
			r = txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err);
			print_message("%s #%u: %d %s\n", steps[s].label, call, r, err.what);
			wraps_reset();
			assert_int_equal(r, -steps[s].err);
			assert_true(err.restored);
			assert_as_before(f, &applied);
			assert_no_temp(f);
			n = history(f, &v);
			assert_string_equal(v[0].status, "applied");	/* still the target, never "undone" */
			if (n == 2) {
				assert_string_equal(v[1].status, "rolled-back");
				assert_string_equal(v[1].error, err.what);
				rolled++;
			} else {
				assert_int_equal(n, 1);
				recorded++;
			}
			txn_entries_free(v, n);
		}
		assert_true(recorded > 0);
		assert_true(rolled > 0);
	}
}

/* ---- rollback that always gets you back ---------------------------------- */

/* A key recorded in the entry that no longer exists here
 * (module not loaded, another kernel) is skipped with its reason, as apply's
 * preflight skips it; the rest is restored and the rollback entry says what
 * could not be restored and how to finish when the key returns. */
static void test_vanished_key_skipped(void **state)
{
	struct fx *f = *state;

	for (int force = 0; force <= 1; force++) {
		struct txn_error err;
		struct txn_entry *v;
		char id[16] = "", buf[256];
		size_t n;

		reset_machine(f, true);
		apply_ok(f, "0001", true);
		assert_int_equal(unlink(fx_path(f, f->proc, "net/ipv4/tcp_keepalive_time")), 0);
		assert_int_equal(txn_rollback(&f->paths, NULL, force, "bob", 0, id, &err), 0);
		assert_string_equal(id, "0002");
		assert_string_equal(proc_value(f, "net/ipv4/tcp_fin_timeout"), "60\n");
		assert_string_equal(proc_value(f, "net/ipv4/ip_local_port_range"), "32768\t60999\n");
		assert_string_equal(proc_value(f, "net/core/somaxconn"), "4096\n");
		read_all(f->managed, buf, sizeof(buf), NULL);
		assert_string_equal(buf, managed_old);
		n = history(f, &v);
		assert_int_equal(n, 2);
		assert_string_equal(v[0].status, "undone");
		assert_string_equal(v[1].status, "applied");
		/* The entry itself says what is left and how to finish. */
		assert_non_null(strstr(v[1].error, "net.ipv4.tcp_keepalive_time"));
		assert_non_null(strstr(v[1].error, "sysctl -w net.ipv4.tcp_keepalive_time=7200"));
		txn_entries_free(v, n);
		write_file(fx_path(f, f->proc, "net/ipv4/tcp_keepalive_time"), "7200\n", 0644);
	}
}

/* `rollback OLD --force` under a newer applied entry must
 * not leave the managed file holding an undone profile.  It is refused, with
 * the plan (the newer entries to undo first, newest first), and nothing
 * changes; undoing in order gets back to the start. */
static void test_out_of_order_force_refused(void **state)
{
	static const char second[] = "net.ipv4.tcp_tw_reuse = 1\n";
	struct fx *f = *state;
	struct txn_error err;
	struct snap start, after2;
	char id[16], buf[256];

	take_snap(f, &start);
	apply_ok(f, "0001", true);
	set_key(f, 0, "net.ipv4.tcp_tw_reuse", "1");
	f->req.n_keys = 1;
	f->req.file_content = second;
	apply_ok(f, "0002", true);
	take_snap(f, &after2);
	assert_int_equal(txn_rollback(&f->paths, "0001", true, "bob", 0, id, &err), -EEXIST);
	assert_non_null(strstr(err.what, "tcptune rollback 0002"));
	assert_as_before(f, &after2);
	assert_string_equal(status_of(f, "0001"), "applied");
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err), 0);
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err), 0);
	assert_as_before(f, &start);
	read_all(f->managed, buf, sizeof(buf), NULL);
	assert_string_equal(buf, managed_old);
	assert_int_equal(txn_rollback(&f->paths, NULL, true, "bob", 0, id, &err), -ENOENT);
}

/* A hand edit of the managed file since the apply is
 * treated like a hand-changed key: refused without --force; with it, the
 * edited content is kept in the store (the rollback entry's prior-file). */
static void test_managed_hand_edit(void **state)
{
	static const char edited[] = "# edited by hand\nnet.core.somaxconn = 9000\n";
	struct fx *f = *state;
	struct txn_error err;
	char id[16], buf[256];

	apply_ok(f, "0001", true);
	write_file(f->managed, edited, 0644);
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err), -EEXIST);
	assert_non_null(strstr(err.what, "changed by hand"));
	read_all(f->managed, buf, sizeof(buf), NULL);
	assert_string_equal(buf, edited);
	assert_int_equal(txn_rollback(&f->paths, NULL, true, "bob", 0, id, &err), 0);
	read_all(f->managed, buf, sizeof(buf), NULL);
	assert_string_equal(buf, managed_old);
	read_all(fx_path(f, f->store, "0002/prior-file"), buf, sizeof(buf), NULL);
	assert_string_equal(buf, edited);
}

/* The managed file comes back with its mode, not 0644,
 * and (as root, which may chown) its owner. */
static void test_managed_mode_restored(void **state)
{
	struct fx *f = *state;
	struct txn_error err;
	struct stat st;
	char id[16];

	assert_int_equal(chmod(f->managed, 0600), 0);
	if (geteuid() == 0)
		assert_int_equal(chown(f->managed, 4242, 4343), 0);
	apply_ok(f, "0001", true);
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err), 0);
	assert_int_equal(stat(f->managed, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	if (geteuid() == 0) {
		assert_int_equal(st.st_uid, 4242);
		assert_int_equal(st.st_gid, 4343);
		assert_string_equal(err.note, "");
	}
}

/* 200 seeded random sequences on the fake tree, with what a
 * network namespace cannot do: keys that vanish (a key file deleted, as when
 * nf_conntrack is unloaded) and come back with their default.  Steps: apply
 * one of three requests (keys this "kernel" lacks skipped first, as apply's
 * preflight does), rollback of the latest or of a random id, with or without
 * force, a hand edit of a key, a key vanishing or returning.  After each
 * step history's applied apply entries are the model's stack; a rollback
 * must succeed exactly when it undoes the newest applied entry and that one
 * was not edited by hand since (or force), and then every key present and
 * the managed file are as before that entry.  At the end everything is
 * rolled back, vanished keys return, and the fake machine is exactly as it
 * started; nothing is pending. */
#define SEQ_N 200
#define SEQ_DEPTH 32

static unsigned seq_rand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 16) & 0x7fff;
}

struct seq_req {
	const char *profile;
	const char *file;
	const char *key[4];
	const char *value[4];
};

static const struct seq_req seq_reqs[] = {
	{ "web", managed_new, { "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_time",
				"net.ipv4.ip_local_port_range", "net.core.somaxconn" }, { "30", "600", "1024 65535", "8192" } },
	{ "db", "net.ipv4.tcp_tw_reuse = 1\nnet.ipv4.tcp_fin_timeout = 40\n",
	  { "net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_fin_timeout", NULL, NULL }, { "1", "40", NULL, NULL } },
	{ "proxy", "net.core.somaxconn = 1024\nnet.ipv4.tcp_keepalive_time = 300\n",
	  { "net.core.somaxconn", "net.ipv4.tcp_keepalive_time", NULL, NULL }, { "1024", "300", NULL, NULL } },
};

/* A key file of proc_files by index is there. */
static bool seq_present(const struct fx *f, size_t i)
{
	return access(fx_path(f, f->proc, proc_files[i].rel), F_OK) == 0;
}

/* Equal on every key present in both (a key absent when the entry was
 * applied is not in it, and one that returned since holds its default), and
 * on the file. */
static bool seq_same_present(const struct fx *f, const struct snap *a, const struct snap *b)
{
	for (size_t i = 0; i < N_PROC; i++)
		if (seq_present(f, i) && strcmp(a->proc[i], "(absent)") != 0 && strcmp(a->proc[i], b->proc[i]) != 0) {
			print_message("%s: want %s, have %s\n", proc_files[i].rel, a->proc[i], b->proc[i]);
			return false;
		}
	return a->managed_exists == b->managed_exists && a->managed_len == b->managed_len &&
	       memcmp(a->managed, b->managed, a->managed_len) == 0 && a->managed_mode == b->managed_mode;
}

static void test_random_sequences_with_vanishing_keys(void **state)
{
	struct fx *f = *state;
	static struct snap before[SEQ_DEPTH], start, now;
	unsigned refused = 0, undone = 0, vanished_total = 0, skipped_notes = 0, steps = 0;

	for (unsigned seq = 1; seq <= SEQ_N; seq++) {
		char ids[SEQ_DEPTH][16];
		int dirty[SEQ_DEPTH];	/* 0 clean, 1 edited by hand, 2 maybe (a key vanished or returned since) */
		size_t depth = 0;
		unsigned rs = seq, n_steps = 4 + seq_rand(&rs) % 12;

		reset_machine(f, seq_rand(&rs) % 2 == 0);
		take_snap(f, &start);
		for (unsigned step = 0; step <= n_steps + SEQ_DEPTH; step++) {
			unsigned op = seq_rand(&rs) % 100;
			bool final = step >= n_steps;	/* then: roll everything back */
			struct txn_error err;
			struct txn_entry *v;
			char id[16] = "";
			size_t n;
			int r;

			if (final && depth == 0)
				break;
			steps++;
			if (!final && op < 35 && depth < SEQ_DEPTH - 1) {
				const struct seq_req *q = &seq_reqs[seq_rand(&rs) % 3];
				bool changed;

				f->req.n_keys = 0;
				for (size_t k = 0; k < 4 && q->key[k]; k++) {
					int ki = key_index(q->key[k]);
					char rel[128];

					assert_true(ki >= 0);
					assert_int_equal(key_proc_path(&key_table[ki], rel, sizeof(rel)), 0);
					if (access(fx_path(f, f->proc, rel), F_OK) != 0)
						continue;	/* apply's preflight skips it */
					set_key(f, f->req.n_keys++, q->key[k], q->value[k]);
				}
				f->req.profile = q->profile;
				f->req.file_content = q->file;
				take_snap(f, &before[depth]);
				assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), 0);
				if (changed) {
					snprintf(ids[depth], sizeof(ids[depth]), "%s", id);
					dirty[depth++] = 0;
				}
			} else if (final || op < 65) {
				/* Rollback: the latest or a random id, force or not. */
				bool force = final || seq_rand(&rs) % 2, by_id = !final && seq_rand(&rs) % 2;
				bool must_refuse, must_undo;

				n = history(f, &v);
				if (by_id && n)
					snprintf(id, sizeof(id), "%s", v[seq_rand(&rs) % n].id);
				txn_entries_free(v, n);
				must_refuse = depth == 0 || (by_id && strcmp(id, ids[depth - 1]) != 0) ||
					      (!force && dirty[depth - 1] == 1);
				must_undo = !must_refuse && (force || dirty[depth - 1] == 0);
				take_snap(f, &now);
				r = txn_rollback(&f->paths, by_id ? id : NULL, force, "bob", 0, id, &err);
				if (must_refuse)
					assert_true(r < 0);
				if (must_undo && r != 0)
					fail_msg("seq %u step %u: rollback of %s: %s", seq, step, ids[depth - 1], err.what);
				if (r < 0) {
					assert_as_before(f, &now);
					refused++;
				} else {
					struct snap after;

					if (err.note[0])
						skipped_notes++;
					depth--;
					take_snap(f, &after);
					if (!seq_same_present(f, &before[depth], &after))
						fail_msg("seq %u step %u: rollback of %s did not restore the state before it", seq,
							 step, ids[depth]);
					undone++;
				}
			} else if (op < 80 && depth > 0) {
				/* A hand edit of a key the newest entry set. */
				n = history(f, &v);
				for (size_t i = n; i-- > 0;)
					if (strcmp(v[i].id, ids[depth - 1]) == 0 && v[i].n_keys) {
						const struct txn_entry_key *k = &v[i].keys[seq_rand(&rs) % v[i].n_keys];
						char rel[128], val[64];

						assert_int_equal(key_proc_path(&key_table[k->key], rel, sizeof(rel)), 0);
						if (access(fx_path(f, f->proc, rel), F_OK) == 0) {
							snprintf(val, sizeof(val), "%s", key_table[k->key].type == KEY_INT_PAIR ?
								 "2000\t61000\n" : "77\n");
							if (strcmp(k->new_value, key_table[k->key].type == KEY_INT_PAIR ?
								   "2000 61000" : "77") != 0) {
								write_file(fx_path(f, f->proc, rel), val, 0644);
								if (dirty[depth - 1] == 0)
									dirty[depth - 1] = 1;
							}
						}
						break;
					}
				txn_entries_free(v, n);
			} else if (op < 92) {
				/* A key vanishes (its module unloaded). */
				size_t i = seq_rand(&rs) % N_PROC;

				if (seq_present(f, i)) {
					assert_int_equal(unlink(fx_path(f, f->proc, proc_files[i].rel)), 0);
					vanished_total++;
					for (size_t d = 0; d < depth; d++)
						dirty[d] = 2;
				}
			} else {
				/* A key comes back, with its default. */
				size_t i = seq_rand(&rs) % N_PROC;

				if (!seq_present(f, i)) {
					write_file(fx_path(f, f->proc, proc_files[i].rel), proc_files[i].content, 0644);
					/* Its value may differ from what an entry set: as a hand edit. */
					for (size_t d = 0; d < depth; d++)
						dirty[d] = 2;
				}
			}
			/* History's applied apply entries are the model's stack. */
			n = history(f, &v);
			{
				size_t a = 0;

				for (size_t i = 0; i < n; i++) {
					assert_string_not_equal(v[i].status, "pending");
					assert_string_not_equal(v[i].status, "corrupt");
					if (strcmp(v[i].action, "apply") == 0 && strcmp(v[i].status, "applied") == 0) {
						if (a >= depth || strcmp(v[i].id, ids[a]) != 0)
							fail_msg("seq %u step %u: history's applied entry %s is not the model's",
								 seq, step, v[i].id);
						a++;
					}
				}
				assert_int_equal(a, depth);
			}
			txn_entries_free(v, n);
		}
		/* Vanished keys return with their default: exactly the start. */
		for (size_t i = 0; i < N_PROC; i++)
			if (!seq_present(f, i))
				write_file(fx_path(f, f->proc, proc_files[i].rel), proc_files[i].content, 0644);
		assert_as_before(f, &start);
	}
	print_message("%u sequences, %u steps: %u rollbacks undid an entry (%u with keys skipped and noted), %u refused; "
		      "%u keys vanished\n", SEQ_N, steps, undone, skipped_notes, refused, vanished_total);
	assert_true(undone > 0 && refused > 0 && vanished_total > 0 && skipped_notes > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_file_existed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip_file_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_applied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_apply_in_effect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_without_old_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_blocks_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each_step_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vanished_key_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_force_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_managed_hand_edit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_managed_mode_restored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_sequences_with_vanishing_keys, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
