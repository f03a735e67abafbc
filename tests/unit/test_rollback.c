/* txn_rollback() on the same fake tree as test_txn.c (<tmp>/proc/sys as
 * regular files, <tmp>/etc/sysctl.d, <tmp>/store; never the host's): round
 * trips back to byte-identical runtime values and managed file, the refusals
 * (changed outside tcptune, not applied, a newer apply still in effect) and
 * --force, and each step failing in turn through the wrappers of
 * LDWRAP_test_rollback, after which the state must be exactly what the apply
 * left and the target still "applied". */
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
#include "rollback.h"
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

static void wrap_fail(struct wrap *w, unsigned from, unsigned n, int err)
{
	w->fail_from = from;
	w->fail_n = n;
	w->err = err;
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
	snprintf(f->dir, sizeof(f->dir), "%s/test_rollback.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
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

static void assert_as_before(const struct fx *f, const struct snap *before)
{
	struct snap now;

	take_snap(f, &now);
	assert_snap_equal(before, &now);
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

/* Remove every entry, so each case starts from an empty store. */
static void clear_store(struct fx *f)
{
	char cmd[PATH_MAX * 2];
	int storefd = store_open(f->store, true);
	unsigned long *ids = NULL;
	size_t n = 0;

	assert_true(storefd >= 0);
	assert_int_equal(store_list(storefd, &ids, &n), 0);
	for (size_t i = 0; i < n; i++) {
		store_id_format(ids[i], cmd);
		assert_int_equal(store_entry_remove(storefd, cmd), 0);
	}
	free(ids);
	close(storefd);
}


/* Put the fake machine back to the fixture's state with an empty store. */
static void reset_machine(struct fx *f, bool managed_exists)
{
	for (size_t i = 0; i < N_PROC; i++)
		write_file(fx_path(f, f->proc, proc_files[i].rel), proc_files[i].content, 0644);
	(void) unlink(f->managed);
	if (managed_exists)
		write_file(f->managed, managed_old, 0644);
	clear_store(f);
}

static void apply_ok(struct fx *f, const char *want_id)
{
	struct txn_error err;
	bool changed = false;
	char id[16];

	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), 0);
	assert_true(changed);
	assert_string_equal(id, want_id);
}

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
	struct txn_entry *v;
	struct snap before;
	char id[16] = "";
	size_t n;

	if (!managed_exists)
		assert_int_equal(unlink(f->managed), 0);
	take_snap(f, &before);
	apply_ok(f, "0001");
	assert_string_equal(proc_value(f, "net/ipv4/tcp_fin_timeout"), "30\n");

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
	txn_entries_free(v, n);

	/* Nothing left to undo. */
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 1001, id, &err), -ENOENT);
	assert_string_equal(err.what, "no applied transaction to roll back");
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
	struct txn_error err;
	struct snap drifted;
	char id[16] = "";

	apply_ok(f, "0001");
	write_file(fx_path(f, f->proc, "net/ipv4/tcp_fin_timeout"), "45\n", 0644);
	take_snap(f, &drifted);
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
	apply_ok(f, "0001");
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

	apply_ok(f, "0001");
	set_key(f, 0, "net.ipv4.tcp_tw_reuse", "1");
	f->req.n_keys = 1;
	f->req.file_content = second;
	apply_ok(f, "0002");
	assert_int_equal(txn_rollback(&f->paths, "0001", false, "bob", 0, id, &err), -EEXIST);
	assert_non_null(strstr(err.what, "transaction 0002 was applied after 0001"));
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

	apply_ok(f, "0001");
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

	apply_ok(f, "0001");
	f->req.n_keys = 1;
	set_key(f, 0, "net.ipv4.tcp_tw_reuse", "1");
	apply_ok(f, "0002");
	storefd = store_open(f->store, false);
	assert_int_equal(store_set_status(storefd, "0002", "pending", NULL), 0);
	close(storefd);
	assert_int_equal(txn_rollback(&f->paths, "0001", true, "bob", 0, id, &err), -EINPROGRESS);
	assert_string_equal(err.id, "0002");
}

/* ---- each step failing in turn ------------------------------------------ */

static void test_each_step_fails(void **state)
{
	static const struct {
		const char *label;
		struct wrap *w;
		int err;
	} steps[] = {
		{ "fsync", &w_fsync, EIO },
		{ "renameat", &w_renameat, ENOSPC },
		{ "write", &w_write, ENOSPC },
		{ "openat(O_CREAT)", &w_create, EROFS },
	};
	struct fx *f = *state;
	struct txn_error err;
	unsigned baseline[4];
	char id[16];

	/* Count each call in a successful rollback. */
	clear_store(f);
	apply_ok(f, "0001");
	wraps_reset();
	assert_int_equal(txn_rollback(&f->paths, NULL, false, "bob", 0, id, &err), 0);
	for (size_t i = 0; i < 4; i++)
		baseline[i] = steps[i].w->calls;
	assert_int_equal(n_proc_writes, 4);
	assert_int_equal(w_rename.calls, 0);
	print_message("calls: fsync %u, renameat %u, write %u, create %u\n", baseline[0], baseline[1], baseline[2],
		      baseline[3]);

	for (size_t s = 0; s < 4; s++) {
		unsigned recorded = 0, rolled = 0;

		for (unsigned call = 1; call <= baseline[s]; call++) {
			struct txn_entry *v;
			struct snap applied;
			size_t n;
			int r;

			reset_machine(f, true);
			apply_ok(f, "0001");
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
