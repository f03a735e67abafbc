/* Recovery: txn_recover() on entries a crash left "pending", and the restore
 * primitives the failure path shares with it.  Same fake tree as test_txn.c
 * (never the host's /proc/sys or /etc).  The crash tests fork: the child runs
 * an apply or a rollback and _exit()s at the Nth fsync, renameat or write (the
 * wrappers of LDWRAP_test_recover), for every N; the parent then recovers and
 * the machine must be exactly as before the transaction or exactly as the
 * committed transaction left it, with nothing pending. */
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
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "keys.h"
#include "store.h"
#include "sysctl_write.h"
#include "recover.h"
#include "txn.h"

/* ---- the wrappers -------------------------------------------------------- */

#define CRASHED 77

struct wrap {
	unsigned calls;		/* since the last wraps_reset() */
	unsigned fail_from;	/* 1-based call number; 0: never fail */
	unsigned fail_n;	/* consecutive calls that fail */
	int err;
	bool crash;		/* at call fail_from, _exit() instead: a crash */
};

static struct wrap w_fsync, w_rename, w_renameat, w_write, w_create;	/* w_create: openat with O_CREAT */

static char fake_proc[PATH_MAX];	/* "<tmp>/proc/sys/": writes below it act like procfs */
static char kernel_einval[128];		/* key path the fake kernel refuses with EINVAL */
static char kernel_clamp[128];		/* key path where the fake kernel turns ... */
static char kernel_clamp_from[32];	/* ... this value ... */
static char kernel_clamp_to[32];	/* ... into this one */
#define MAX_PROC_WRITES 64
static unsigned proc_write_calls[MAX_PROC_WRITES];	/* w_write call numbers that went to /proc/sys */
static char proc_write_keys[MAX_PROC_WRITES][PATH_MAX];	/* and the key each wrote */
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
	if (w->crash && w->calls == w->fail_from)
		_exit(CRASHED);
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

	if (proc && n_proc_writes < MAX_PROC_WRITES) {
		snprintf(proc_write_keys[n_proc_writes], sizeof(proc_write_keys[0]), "%s", rel);
		proc_write_calls[n_proc_writes++] = w_write.calls + 1;
	}
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
	snprintf(f->dir, sizeof(f->dir), "%s/test_recover.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
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


static void reset_machine(struct fx *f, bool managed_exists)
{
	for (size_t i = 0; i < N_PROC; i++)
		write_file(fx_path(f, f->proc, proc_files[i].rel), proc_files[i].content, 0644);
	(void) unlink(f->managed);
	if (managed_exists)
		write_file(f->managed, managed_old, 0644);
	clear_store(f);
}

static void apply_ok(struct fx *f)
{
	struct txn_error err;
	bool changed = false;
	char id[16];

	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), 0);
	assert_true(changed);
}

static void put_file(const struct fx *f, const char *rel, const char *content)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", f->store, rel);
	write_file(path, content, 0600);
}

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

	assert_int_equal(recover_keys(f->proc, keys, 3, what, sizeof(what)), 0);
	assert_int_equal(n_proc_writes, 1);
	assert_string_equal(proc_value(f, "net/core/somaxconn"), "1024\n");
	assert_string_equal(proc_value(f, "net/ipv4/tcp_keepalive_time"), "7200\n");

	/* Last first: the reverse of the order they were written in. */
	write_file(fx_path(f, f->proc, "net/ipv4/tcp_fin_timeout"), "30\n", 0644);
	write_file(fx_path(f, f->proc, "net/core/somaxconn"), "8192\n", 0644);
	n_proc_writes = 0;
	assert_int_equal(recover_keys(f->proc, keys, 3, what, sizeof(what)), 0);
	assert_int_equal(n_proc_writes, 2);
	assert_string_equal(proc_write_keys[0], "net/core/somaxconn");
	assert_string_equal(proc_write_keys[1], "net/ipv4/tcp_fin_timeout");

	/* A failure does not stop the others; the first is reported. */
	snprintf(keys[0].old_value, sizeof(keys[0].old_value), "50");
	snprintf(keys[1].old_value, sizeof(keys[1].old_value), "2048");
	snprintf(kernel_einval, sizeof(kernel_einval), "net/core/somaxconn");
	assert_int_equal(recover_keys(f->proc, keys, 3, what, sizeof(what)), -EINVAL);
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
	assert_int_equal(recover_file(sysfd, "99-tcptune.conf", f->managed, true, managed_old, strlen(managed_old),
				      what, sizeof(what)), 0);
	assert_int_equal(stat(f->managed, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	/* Changed: content back, 0644. */
	write_file(f->managed, "changed\n", 0600);
	assert_int_equal(recover_file(sysfd, "99-tcptune.conf", f->managed, true, managed_old, strlen(managed_old),
				      what, sizeof(what)), 0);
	read_all(f->managed, buf, sizeof(buf), NULL);
	assert_string_equal(buf, managed_old);
	assert_int_equal(stat(f->managed, &st2), 0);
	assert_int_equal(st2.st_mode & 07777, 0644);
	/* Did not exist: removed; twice is fine. */
	assert_int_equal(recover_file(sysfd, "99-tcptune.conf", f->managed, false, NULL, 0, what, sizeof(what)), 0);
	assert_int_equal(access(f->managed, F_OK), -1);
	assert_int_equal(recover_file(sysfd, "99-tcptune.conf", f->managed, false, NULL, 0, what, sizeof(what)), 0);
	/* A failure is reported with the path. */
	wraps_reset();
	wrap_fail(&w_renameat, 1, 1, EROFS);
	assert_int_equal(recover_file(sysfd, "99-tcptune.conf", f->managed, true, managed_old, strlen(managed_old),
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
		apply_ok(f);
	take_snap(f, &before);
	wraps_reset();
	if (rollback)
		assert_int_equal(txn_rollback(&f->paths, NULL, false, "root", 0, id, &err), 0);
	else
		apply_ok(f);
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
				apply_ok(f);
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
