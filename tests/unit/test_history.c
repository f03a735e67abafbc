/* txn_history(), history_load() and pruning, on the fake tree of
 * test_txn.c (never the host's /proc/sys or /etc; the wrappers of
 * LDWRAP_test_history only emulate procfs here).  Entries come oldest first;
 * a corrupt one is listed, not fatal; names that are not ids are ignored; the
 * store keeps TXN_KEEP entries but never a pending one nor the entry a
 * rollback would undo. */
#define TXN_TESTLIB_WRAP_TXN	/* = LDWRAP_test_history: fsync rename renameat write openat */
#define TXN_TESTLIB_FAKE_TREE
#include "txn_testlib.h"

#include "history.h"

static void mkdir_store(const struct fx *f, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", f->store, rel);
	assert_int_equal(mkdir(path, 0700), 0);
}

static void test_empty(void **state)
{
	struct fx *f = *state;
	struct txn_entry *v = (struct txn_entry *) 1;
	size_t n = 99;

	assert_int_equal(txn_history(&f->paths, &v, &n), 0);	/* no store at all */
	assert_null(v);
	assert_int_equal(n, 0);
	assert_int_equal(mkdir(f->store, 0700), 0);
	assert_int_equal(txn_history(&f->paths, &v, &n), 0);
	assert_int_equal(n, 0);
	txn_entries_free(v, n);
}

static void test_order_and_corrupt(void **state)
{
	struct fx *f = *state;
	struct txn_error err;
	struct txn_entry *v;
	char id[16];
	size_t n;

	apply_ok(f, "0001", true);
	apply_ok(f, "0002", false);
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err), 0);
	assert_string_equal(id, "0003");

	/* Not entries: ignored. */
	mkdir_store(f, "junk");
	mkdir_store(f, "42");
	mkdir_store(f, "00042");
	mkdir_store(f, ".0009");
	/* Entries that cannot be read: listed as corrupt, in their place. */
	mkdir_store(f, "0005");	/* recording cut off before the manifest */
	mkdir_store(f, "0010");
	put_file(f, "0010/manifest.json", "{\"schema\": 1, \"schema\": 1}");
	mkdir_store(f, "0011");
	put_file(f, "0011/manifest.json", "not json");
	put_file(f, "0012", "a file, not a directory");
	mkdir_store(f, "0100");
	assert_int_equal(symlink("../0001/manifest.json", fx_path(f, f->store, "0100/manifest.json")), 0);

	n = history(f, &v);
	assert_int_equal(n, 8);
	assert_string_equal(v[0].id, "0001");
	assert_string_equal(v[0].status, "undone");
	assert_string_equal(v[1].id, "0002");
	assert_string_equal(v[1].status, "unchanged");
	assert_string_equal(v[2].id, "0003");
	assert_string_equal(v[2].action, "rollback");
	assert_string_equal(v[2].target, "0001");
	assert_string_equal(v[2].status, "applied");
	assert_string_equal(v[3].id, "0005");
	assert_string_equal(v[3].status, "corrupt");
	assert_non_null(strstr(v[3].error, "manifest.json missing"));
	assert_null(v[3].keys);
	assert_string_equal(v[4].id, "0010");
	assert_string_equal(v[4].status, "corrupt");
	assert_non_null(strstr(v[4].error, "duplicate"));
	assert_string_equal(v[5].id, "0011");
	assert_string_equal(v[5].status, "corrupt");
	assert_string_equal(v[6].id, "0012");
	assert_string_equal(v[6].status, "corrupt");
	assert_string_equal(v[7].id, "0100");
	assert_string_equal(v[7].status, "corrupt");	/* a symlinked manifest is not followed */
	for (size_t i = 0; i < n; i++)
		print_message("%s %-8s %-11s %s\n", v[i].id, v[i].action, v[i].status, v[i].error);
	txn_entries_free(v, n);

	/* The next id is one above the highest entry, corrupt ones included. */
	apply_ok(f, "0101", true);
	assert_string_equal(proc_value(f, "net/ipv4/tcp_fin_timeout"), "30\n");
	assert_no_temp(f);
}

static void test_prune_keeps_fifty(void **state)
{
	struct fx *f = *state;
	struct txn_error err;
	struct txn_entry *v;
	char id[16], want[16];
	size_t n;

	apply_ok(f, "0001", true);
	for (unsigned i = 2; i <= TXN_KEEP + 6; i++) {
		store_id_format(i, want);
		apply_ok(f, want, false);
	}
	/* 56 made: 50 stay, 0001 (which rollback would undo) among them. */
	n = history(f, &v);
	assert_int_equal(n, TXN_KEEP);
	assert_string_equal(v[0].id, "0001");
	assert_string_equal(v[0].status, "applied");
	assert_string_equal(v[1].id, "0008");
	assert_string_equal(v[n - 1].id, "0056");
	txn_entries_free(v, n);

	/* Once undone it is history like the others, but a real change: the
	 * unchanged entries go first. */
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err), 0);
	assert_string_equal(id, "0057");
	n = history(f, &v);
	assert_int_equal(n, TXN_KEEP);
	assert_string_equal(v[0].id, "0001");
	assert_string_equal(v[0].status, "undone");
	assert_string_equal(v[1].id, "0009");
	assert_string_equal(v[n - 1].id, "0057");
	txn_entries_free(v, n);
	assert_string_equal(proc_value(f, "net/ipv4/tcp_fin_timeout"), "60\n");
	assert_no_temp(f);
}

static void test_prune_never_pending(void **state)
{
	struct fx *f = *state;
	struct snap before, after;
	struct txn_entry *v;
	char text[1024];
	int storefd;
	size_t n;

	assert_int_equal(mkdir(f->store, 0700), 0);
	for (unsigned i = 1; i <= 60; i++) {
		char id[16], rel[64];

		store_id_format(i, id);
		mkdir_store(f, id);
		snprintf(text, sizeof(text),
			 "{\"schema\": 1, \"id\": \"%s\", \"action\": \"apply\", \"profile\": \"p\", \"user\": \"u\","
			 " \"uid\": 0, \"time\": \"t\", \"status\": \"%s\", \"keys\": [],"
			 " \"file\": {\"path\": \"%s\", \"existed\": false}}", id,
			 i == 2 ? "pending" : "unchanged", f->managed);
		snprintf(rel, sizeof(rel), "%s/manifest.json", id);
		put_file(f, rel, text);
	}
	take_snap(f, &before);
	storefd = store_open(f->store, false);
	assert_true(storefd >= 0);
	assert_int_equal(history_prune(storefd, TXN_KEEP), 10);
	close(storefd);
	take_snap(f, &after);
	assert_snap_equal(&before, &after);	/* pruning touches only the store */
	n = history(f, &v);
	assert_int_equal(n, TXN_KEEP);
	assert_string_equal(v[0].id, "0002");
	assert_string_equal(v[0].status, "pending");
	assert_string_equal(v[1].id, "0012");
	txn_entries_free(v, n);
}

/* Idempotent re-applies (a periodic Ansible run) never
 * prune an entry an applied entry depends on, nor the one that holds the
 * state before tcptune's first change; and no-op ("unchanged") entries go
 * before real ones. */
static void test_prune_reapplies_keep_the_way_back(void **state)
{
	static const char second[] = "net.ipv4.tcp_tw_reuse = 1\n";
	struct fx *f = *state;
	struct txn_error err;
	struct txn_entry *v;
	struct snap start;
	char id[16], want[16];
	size_t n;

	take_snap(f, &start);
	apply_ok(f, "0001", true);			/* web: its prior is the state before tcptune */
	set_key(f, 0, "net.ipv4.tcp_tw_reuse", "1");
	f->req.n_keys = 1;
	f->req.file_content = second;
	apply_ok(f, "0002", true);			/* on top of it */
	for (unsigned i = 3; i <= TXN_KEEP + 8; i++) {
		store_id_format(i, want);
		apply_ok(f, want, false);
	}
	n = history(f, &v);
	assert_string_equal(v[0].id, "0001");
	assert_string_equal(v[1].id, "0002");
	txn_entries_free(v, n);
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err), 0);
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err), 0);
	assert_as_before(f, &start);

	/* A real rollback is not pushed out by no-op entries after it. */
	apply_ok(f, NULL, true);
	for (unsigned i = 0; i < TXN_KEEP + 5; i++)
		apply_ok(f, NULL, false);
	n = history(f, &v);
	assert_true(n <= TXN_KEEP);
	assert_string_equal(v[0].id, "0001");
	assert_string_equal(v[0].status, "undone");
	assert_string_equal(v[1].id, "0002");
	assert_string_equal(v[1].status, "undone");
	txn_entries_free(v, n);
}

/* While a transaction holds the lock, history and check
 * (txn_store_state()) call its entry running, not pending or corrupt; once
 * the lock is free the same entry is pending (cut off). */
static void test_running_entry_not_pending(void **state)
{
	struct fx *f = *state;
	struct txn_store_state st;
	struct txn_entry *v;
	int storefd, lockfd;
	pid_t holder = 0;
	size_t n;

	apply_ok(f, "0001", true);
	storefd = store_open(f->store, false);
	assert_true(storefd >= 0);
	assert_int_equal(store_set_status(storefd, "0001", "pending", NULL), 0);
	assert_int_equal(mkdir(fx_path(f, f->store, "0002"), 0700), 0);	/* recording, no manifest yet */
	lockfd = txn_lock(&f->paths, &holder);
	assert_true(lockfd >= 0);
	n = history(f, &v);
	assert_string_equal(v[1].status, "running");
	txn_entries_free(v, n);
	assert_int_equal(txn_store_state(storefd, &st), 0);
	assert_int_equal(st.n_corrupt, 0);
	assert_int_equal(st.n_pending, 1);	/* 0001 is not the running one */
	assert_int_equal(rmdir(fx_path(f, f->store, "0002")), 0);
	assert_int_equal(txn_store_state(storefd, &st), 0);
	assert_int_equal(st.n_pending, 0);
	n = history(f, &v);
	assert_string_equal(v[0].status, "running");
	txn_entries_free(v, n);
	txn_unlock(lockfd);
	assert_int_equal(txn_store_state(storefd, &st), 0);
	assert_int_equal(st.n_pending, 1);
	close(storefd);
}

/* Check (txn_store_state()) counts pending entries the
 * way recovery sees them: a symlink in place of an entry directory or of a
 * manifest is never followed by either, so neither calls it pending. */
static void test_symlinked_pending_agrees_with_recovery(void **state)
{
	struct fx *f = *state;
	struct txn_store_state st;
	struct txn_error err;
	int storefd;

	apply_ok(f, "0001", true);
	storefd = store_open(f->store, false);
	assert_true(storefd >= 0);
	assert_int_equal(store_set_status(storefd, "0001", "pending", NULL), 0);
	assert_int_equal(rename(fx_path(f, f->store, "0001"), fx_path(f, NULL, "elsewhere")), 0);
	assert_int_equal(symlink(fx_path(f, NULL, "elsewhere"), fx_path(f, f->store, "0001")), 0);
	assert_int_equal(mkdir(fx_path(f, f->store, "0002"), 0700), 0);
	assert_int_equal(symlink(fx_path(f, NULL, "elsewhere/manifest.json"), fx_path(f, f->store, "0002/manifest.json")), 0);
	assert_int_equal(txn_store_state(storefd, &st), 0);
	assert_int_equal(st.n_pending, 0);
	assert_int_equal(txn_recover(&f->paths, &err), 0);
	assert_int_equal(txn_store_state(storefd, &st), 0);
	assert_int_equal(st.n_pending, 0);
	close(storefd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_and_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_keeps_fifty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_never_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_reapplies_keep_the_way_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_running_entry_not_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinked_pending_agrees_with_recovery, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
