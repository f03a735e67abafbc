/* txn_apply() on a fake tree in a temporary directory: <tmp>/proc/sys (regular
 * files), <tmp>/etc/sysctl.d and <tmp>/store.  Never the host's /proc/sys or
 * /etc.  Link-time wrapping (LDWRAP_test_txn in the Makefile) routes fsync,
 * rename, renameat, write and openat through the wrappers below:
 *  - a write() to a file under the fake /proc/sys behaves like procfs: it
 *    replaces the value (and prints a pair with a tab, as the kernel does), or
 *    fails with EINVAL, or "clamps" to another value, when a test says so;
 *  - any of them can be made to fail from its Nth call, so each step of the
 *    transaction fails in turn.  After every failure the fake runtime values and
 *    the managed file must be byte-identical to before, no temporary file may
 *    be left, and the entry must be "rolled-back" -- or, when the failure hit
 *    the record step (before anything changed), there must be no entry at all. */
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
static char refuse_key[128];		/* key path where the fake kernel refuses ... */
static char refuse_value[32];		/* ... only this value (EINVAL) */
static char kernel_clamp[128];		/* key path where the fake kernel turns ... */
static char kernel_clamp_from[32];	/* ... this value ... */
static char kernel_clamp_to[32];	/* ... into this one */
#define MAX_PROC_WRITES 64
static unsigned proc_write_calls[MAX_PROC_WRITES];	/* w_write call numbers that went to /proc/sys */
static size_t n_proc_writes;

/* What happened, in order: "fsync <path>", "rename <new name>",
 * "sysctl <key path>", so a test can check what was durable before what. */
#define MAX_EVENTS 128
static char events[MAX_EVENTS][PATH_MAX + 16];
static size_t n_events;

__attribute__((format(printf, 1, 2)))
static void event(const char *fmt, ...)
{
	va_list ap;

	if (n_events == MAX_EVENTS)
		return;
	va_start(ap, fmt);
	vsnprintf(events[n_events++], sizeof(events[0]), fmt, ap);
	va_end(ap);
}

static void fd_path(int fd, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	buf[n < 0 ? 0 : n] = '\0';
}

static void wraps_reset(void)
{
	n_events = 0;
	struct wrap *all[] = { &w_fsync, &w_rename, &w_renameat, &w_write, &w_create };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		memset(all[i], 0, sizeof(*all[i]));
	refuse_key[0] = refuse_value[0] = '\0';
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
	char path[PATH_MAX];

	fd_path(fd, path, sizeof(path));
	event("fsync %s", path);
	return wrap_hit(&w_fsync) ? -1 : __real_fsync(fd);
}

int __wrap_rename(const char *a, const char *b)
{
	return wrap_hit(&w_rename) ? -1 : __real_rename(a, b);
}

int __wrap_renameat(int da, const char *a, int db, const char *b)
{
	event("rename %s", b);
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
	if (strcmp(rel, refuse_key) == 0 && strncmp(text, refuse_value, strlen(refuse_value)) == 0 &&
	    text[strlen(refuse_value)] == '\n') {
		errno = EINVAL;
		return -1;
	}
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
	if (proc)
		event("sysctl %s", rel);
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
	snprintf(f->dir, sizeof(f->dir), "%s/test_txn.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
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

/* SPEC §8 step 2 and STYLE §4: every backup file, the manifest, the entry
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
	assert_non_null(strstr(err.what, "transaction 0001 is pending"));
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
		{ "openat(O_CREAT)", &w_create, EACCES },
	};
	struct fx *f = *state;
	struct txn_error err;
	unsigned baseline[4];
	char id[16];
	bool changed;

	/* Count each call in a successful apply, then undo it by hand.  The
	 * store exists first, as it does after txn_lock(). */
	clear_store(f);
	wraps_reset();
	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), 0);
	for (size_t i = 0; i < 4; i++)
		baseline[i] = steps[i].w->calls;
	assert_int_equal(w_rename.calls, 0);	/* all renames are renameat() */
	assert_int_equal(n_proc_writes, 4);
	print_message("calls: fsync %u, renameat %u, write %u, create %u\n", baseline[0], baseline[1], baseline[2],
		      baseline[3]);
	assert_true(baseline[0] >= 12 && baseline[1] >= 5 && baseline[3] >= 5);
	for (size_t i = 0; i < N_PROC; i++)
		write_file(fx_path(f, f->proc, proc_files[i].rel), proc_files[i].content, 0644);
	write_file(f->managed, managed_old, 0644);
	clear_store(f);

	for (size_t s = 0; s < 4; s++) {
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
