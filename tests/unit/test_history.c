/* txn_history(), history_load() and pruning, on the fake tree of
 * test_txn.c (never the host's /proc/sys or /etc; the wrappers of
 * LDWRAP_test_history only emulate procfs here).  Entries come oldest first;
 * a corrupt one is listed, not fatal; names that are not ids are ignored; the
 * store keeps TXN_KEEP entries but never a pending one nor the entry a
 * rollback would undo. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "keys.h"
#include "store.h"
#include "sysctl_write.h"
#include "history.h"
#include "txn.h"

/* ---- the wrappers -------------------------------------------------------- */

struct wrap {
	unsigned calls;		/* since the last wraps_reset() */
	unsigned fail_from;	/* 1-based call number; 0: never fail */
	unsigned fail_n;	/* consecutive calls that fail */
	int err;
};

static struct wrap w_fsync, w_rename, w_renameat, w_write, w_create;	/* w_create: openat with O_CREAT */

static char fake_proc[PATH_MAX];	/* "<tmp>/proc/sys/": writes below it act like procfs */
static char kernel_einval[128];		/* key path the fake kernel refuses with EINVAL */
static char kernel_clamp[128];		/* key path where the fake kernel turns ... */
static char kernel_clamp_from[32];	/* ... this value ... */
static char kernel_clamp_to[32];	/* ... into this one */
#define MAX_PROC_WRITES 64
static unsigned proc_write_calls[MAX_PROC_WRITES];	/* w_write call numbers that went to /proc/sys */
static size_t n_proc_writes;

static void wraps_reset(void)
{
	struct wrap *all[] = { &w_fsync, &w_rename, &w_renameat, &w_write, &w_create };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		memset(all[i], 0, sizeof(*all[i]));
	kernel_einval[0] = kernel_clamp[0] = kernel_clamp_from[0] = kernel_clamp_to[0] = '\0';
	n_proc_writes = 0;
}

static bool wrap_hit(struct wrap *w)
{
	w->calls++;
	if (w->fail_from && w->calls >= w->fail_from && w->calls < w->fail_from + w->fail_n) {
		errno = w->err;
		return true;
	}
	return false;
}

int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __real_rename(const char *a, const char *b);
int __wrap_rename(const char *a, const char *b);
int __real_renameat(int da, const char *a, int db, const char *b);
int __wrap_renameat(int da, const char *a, int db, const char *b);
ssize_t __real_write(int fd, const void *buf, size_t len);
ssize_t __wrap_write(int fd, const void *buf, size_t len);
int __real_openat(int dirfd, const char *path, int flags, ...);
int __wrap_openat(int dirfd, const char *path, int flags, ...);

int __wrap_fsync(int fd)
{
	return wrap_hit(&w_fsync) ? -1 : __real_fsync(fd);
}

int __wrap_rename(const char *a, const char *b)
{
	return wrap_hit(&w_rename) ? -1 : __real_rename(a, b);
}

int __wrap_renameat(int da, const char *a, int db, const char *b)
{
	return wrap_hit(&w_renameat) ? -1 : __real_renameat(da, a, db, b);
}

int __wrap_openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (flags & O_CREAT) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
		if (wrap_hit(&w_create))
			return -1;
	}
	return __real_openat(dirfd, path, flags, mode);
}

/* The key path ("net/ipv4/tcp_fin_timeout") when fd is open below fake_proc. */
static bool fd_in_fake_proc(int fd, char *rel, size_t len)
{
	char link[64], target[PATH_MAX];
	size_t plen = strlen(fake_proc);
	ssize_t n;

	if (!plen)
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	if (strncmp(target, fake_proc, plen) != 0)
		return false;
	snprintf(rel, len, "%s", target + plen);
	return true;
}

/* procfs: a write at offset 0 replaces the value; the kernel prints pairs
 * with a tab; it may refuse (EINVAL, value unchanged) or clamp. */
static ssize_t fake_kernel_write(int fd, const char *rel, const void *buf, size_t len)
{
	char text[128];
	long long a, b;
	int n;

	if (strcmp(rel, kernel_einval) == 0) {
		errno = EINVAL;
		return -1;
	}
	if (len >= sizeof(text)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(text, buf, len);
	text[len] = '\0';
	if (strcmp(rel, kernel_clamp) == 0 && strncmp(text, kernel_clamp_from, strlen(kernel_clamp_from)) == 0 &&
	    text[strlen(kernel_clamp_from)] == '\n')
		snprintf(text, sizeof(text), "%s\n", kernel_clamp_to);
	else if (strstr(rel, "ip_local_port_range") && sscanf(text, "%lld %lld", &a, &b) == 2)
		snprintf(text, sizeof(text), "%lld\t%lld\n", a, b);
	n = (int) strlen(text);
	if (pwrite(fd, text, (size_t) n, 0) != n || ftruncate(fd, n) < 0)
		return -1;
	return (ssize_t) len;
}

ssize_t __wrap_write(int fd, const void *buf, size_t len)
{
	char rel[PATH_MAX];
	bool proc = fd_in_fake_proc(fd, rel, sizeof(rel));

	if (proc && n_proc_writes < MAX_PROC_WRITES)
		proc_write_calls[n_proc_writes++] = w_write.calls + 1;
	if (wrap_hit(&w_write))
		return -1;
	return proc ? fake_kernel_write(fd, rel, buf, len) : __real_write(fd, buf, len);
}

/* ---- fixture --------------------------------------------------------------- */

static const struct {
	const char *rel;
	const char *content;
} proc_files[] = {
	{ "net/ipv4/tcp_fin_timeout", "60\n" },
	{ "net/ipv4/tcp_keepalive_time", "7200\n" },
	{ "net/ipv4/ip_local_port_range", "32768\t60999\n" },
	{ "net/core/somaxconn", "4096\n" },
	{ "net/ipv4/tcp_tw_reuse", "2\n" },
};
#define N_PROC (sizeof(proc_files) / sizeof(proc_files[0]))

static const char managed_old[] = "# by hand\nnet.core.somaxconn = 4096\n";
static const char managed_new[] = "# tcptune profile web\nnet.ipv4.tcp_fin_timeout = 30\n"
				  "net.ipv4.tcp_keepalive_time = 600\nnet.ipv4.ip_local_port_range = 1024 65535\n"
				  "net.core.somaxconn = 8192\n";

struct fx {
	char dir[512];
	char proc[600];
	char sysctl_dir[600];
	char store[600];
	char managed[700];
	struct txn_paths paths;
	struct txn_key keys[8];
	struct txn_request req;
};

static void write_file(const char *path, const char *content, mode_t mode)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = buf + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			(void) mkdir(buf, 0755);
			*s = '/';
		}
	(void) mkdir(buf, 0755);
}

static const char *fx_path(const struct fx *f, const char *base, const char *rel)
{
	static char buf[2][PATH_MAX * 2];
	static int which;

	which ^= 1;
	snprintf(buf[which], sizeof(buf[which]), "%s/%s", base ? base : f->dir, rel);
	return buf[which];
}

static void set_key(struct fx *f, size_t i, const char *name, const char *value)
{
	int k = key_index(name);

	assert_true(k >= 0);
	f->keys[i].key = (size_t) k;
	snprintf(f->keys[i].new_value, sizeof(f->keys[i].new_value), "%s", value);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmpdir = getenv("TMPDIR");

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/test_history.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->proc, sizeof(f->proc), "%s/proc/sys", f->dir);
	snprintf(f->sysctl_dir, sizeof(f->sysctl_dir), "%s/etc/sysctl.d", f->dir);
	snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
	snprintf(f->managed, sizeof(f->managed), "%s/99-tcptune.conf", f->sysctl_dir);
	snprintf(fake_proc, sizeof(fake_proc), "%s/", f->proc);
	for (size_t i = 0; i < N_PROC; i++) {
		char dir[PATH_MAX * 2];

		snprintf(dir, sizeof(dir), "%s", fx_path(f, f->proc, proc_files[i].rel));
		*strrchr(dir, '/') = '\0';
		mkdir_p(dir);
		write_file(fx_path(f, f->proc, proc_files[i].rel), proc_files[i].content, 0644);
	}
	mkdir_p(f->sysctl_dir);
	write_file(f->managed, managed_old, 0644);

	f->paths.store = f->store;
	f->paths.sysctl_dir = f->sysctl_dir;
	f->paths.managed_name = "99-tcptune.conf";
	f->paths.proc_sys = f->proc;
	set_key(f, 0, "net.ipv4.tcp_fin_timeout", "30");
	set_key(f, 1, "net.ipv4.tcp_keepalive_time", "600");
	set_key(f, 2, "net.ipv4.ip_local_port_range", "1024 65535");
	set_key(f, 3, "net.core.somaxconn", "8192");
	f->req.action = "apply";
	f->req.profile = "web";
	f->req.keys = f->keys;
	f->req.n_keys = 4;
	f->req.file_content = managed_new;
	f->req.user = "alice";
	f->req.uid = 1000;
	wraps_reset();
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
	int r;

	wraps_reset();
	fake_proc[0] = '\0';
	r = nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return r;
}

/* ---- observing the fake machine ------------------------------------------ */

struct snap {
	char proc[N_PROC][64];
	bool managed_exists;
	char managed[4096];
	size_t managed_len;
	mode_t managed_mode;
};

static void read_all(const char *path, char *buf, size_t cap, size_t *ret_len)
{
	FILE *fp = fopen(path, "re");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, cap - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if (ret_len)
		*ret_len = n;
}

static void take_snap(const struct fx *f, struct snap *s)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < N_PROC; i++) {
		const char *path = fx_path(f, f->proc, proc_files[i].rel);

		if (access(path, F_OK) == 0)
			read_all(path, s->proc[i], sizeof(s->proc[i]), NULL);
		else
			snprintf(s->proc[i], sizeof(s->proc[i]), "(absent)");
	}
	if (lstat(f->managed, &st) == 0) {
		assert_true(S_ISREG(st.st_mode));
		s->managed_exists = true;
		s->managed_mode = st.st_mode & 07777;
		read_all(f->managed, s->managed, sizeof(s->managed), &s->managed_len);
	}
}

static void assert_snap_equal(const struct snap *a, const struct snap *b)
{
	for (size_t i = 0; i < N_PROC; i++)
		assert_string_equal(a->proc[i], b->proc[i]);
	assert_int_equal(a->managed_exists, b->managed_exists);
	assert_int_equal(a->managed_len, b->managed_len);
	assert_memory_equal(a->managed, b->managed, a->managed_len);
	assert_int_equal(a->managed_mode, b->managed_mode);
}

static const char *temp_found;

static int find_temp(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	static char keep[PATH_MAX];

	(void) st;
	(void) flag;
	if (strstr(path + ftw->base, ".tmp-")) {
		snprintf(keep, sizeof(keep), "%s", path);
		temp_found = keep;
	}
	return 0;
}

static void assert_no_temp(const struct fx *f)
{
	temp_found = NULL;
	assert_int_equal(nftw(f->dir, find_temp, 16, FTW_PHYS), 0);
	if (temp_found)
		fail_msg("temporary file left behind: %s", temp_found);
}

static size_t history(const struct fx *f, struct txn_entry **v)
{
	size_t n = 0;

	*v = NULL;
	assert_int_equal(txn_history(&f->paths, v, &n), 0);
	return n;
}

static const char *proc_value(const struct fx *f, const char *rel)
{
	static char buf[64];

	read_all(fx_path(f, f->proc, rel), buf, sizeof(buf), NULL);
	return buf;
}


static void apply_ok(struct fx *f, const char *want_id, bool want_changed)
{
	struct txn_error err;
	bool changed = !want_changed;
	char id[16];

	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), 0);
	assert_int_equal(changed, want_changed);
	assert_string_equal(id, want_id);
}

static void put(const struct fx *f, const char *rel, const char *content)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", f->store, rel);
	write_file(path, content, 0600);
}

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
	put(f, "0010/manifest.json", "{\"schema\": 1, \"schema\": 1}");
	mkdir_store(f, "0011");
	put(f, "0011/manifest.json", "not json");
	put(f, "0012", "a file, not a directory");
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
	/* 56 made: the 50 newest stay, and 0001, which rollback would undo. */
	n = history(f, &v);
	assert_int_equal(n, TXN_KEEP + 1);
	assert_string_equal(v[0].id, "0001");
	assert_string_equal(v[0].status, "applied");
	assert_string_equal(v[1].id, "0007");
	assert_string_equal(v[n - 1].id, "0056");
	txn_entries_free(v, n);

	/* Once undone it is history like the others. */
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err), 0);
	assert_string_equal(id, "0057");
	n = history(f, &v);
	assert_int_equal(n, TXN_KEEP);
	assert_string_equal(v[0].id, "0008");
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
		put(f, rel, text);
	}
	take_snap(f, &before);
	storefd = store_open(f->store, false);
	assert_true(storefd >= 0);
	assert_int_equal(history_prune(storefd, TXN_KEEP), 9);
	close(storefd);
	take_snap(f, &after);
	assert_snap_equal(&before, &after);	/* pruning touches only the store */
	n = history(f, &v);
	assert_int_equal(n, TXN_KEEP + 1);
	assert_string_equal(v[0].id, "0002");
	assert_string_equal(v[0].status, "pending");
	assert_string_equal(v[1].id, "0011");
	txn_entries_free(v, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_and_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_keeps_fifty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_never_pending, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
