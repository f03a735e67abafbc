/* txn_testlib.h: what the unit tests of backup/ share, so that each test file
 * keeps only its own tests.  Header only, every function static (and marked
 * unused, so no warning where a test needs only some): the Makefile builds
 * each tests/unit/test_*.c alone into its own binary and compiles no other .c
 * file of this directory.  A test defines the macros below that it wants, then
 * includes this once.  (The Makefile's unit-test rule does not list this header
 * as a prerequisite: after editing it, remove the build/unit/test_* binaries.)
 *
 * Always provided:
 *   make_tmpdir()  creates "<$TMPDIR or /tmp>/<program name>.XXXXXX"
 *                  (e.g. /tmp/test_store.Ab12Cd); rm_tree() removes it again
 *   write_data()   a file with these bytes; write_text() the same for a string;
 *   write_plain()  the same, then chmod -- every step asserted
 *   read_all()     a small file into a buffer, NUL-terminated
 *
 * TXN_TESTLIB_WRAP_<SYMBOL>: link-time wrappers of libc calls, each able to fail
 * from its Nth call on.  A wrapper calls __real_<symbol>, which exists only
 * when the binary is linked with -Wl,--wrap=<symbol>: define the macro only in
 * a test whose LDWRAP_<test> line in the Makefile wraps that symbol.
 *   macro                      link with        counts in (struct wrap)
 *   TXN_TESTLIB_WRAP_FSYNC     --wrap=fsync     w_fsync     logs "fsync <path>"
 *   TXN_TESTLIB_WRAP_RENAME    --wrap=rename    w_rename
 *   TXN_TESTLIB_WRAP_RENAMEAT  --wrap=renameat  w_renameat  logs "rename <new name>"
 *   TXN_TESTLIB_WRAP_WRITE     --wrap=write     w_write     below fake_proc it acts
 *                              like procfs and logs "sysctl <key path>"; may be short
 *   TXN_TESTLIB_WRAP_OPENAT    --wrap=openat    w_openat (every call), w_create (the
 *                              calls with O_CREAT); records created_name/_flags/_mode
 *   TXN_TESTLIB_WRAP_FCHMOD    --wrap=fchmod    w_fchmod
 *   TXN_TESTLIB_WRAP_TXN       all of fsync, rename, renameat, write and openat: the
 *                              LDWRAP line of test_txn, test_rollback, test_recover
 *                              and test_history
 * With any of them defined, also: struct wrap; wraps_reset() (every counter,
 * knob and log back to zero); wrap_fail(w, from, n, err): calls from..from+n-1
 * fail with err; w->crash: the call w->fail_from _exit()s with CRASHED instead;
 * w_write.short_at/short_len: that write() call writes at most short_len bytes;
 * the fake kernel behind fake_proc ("<tmp>/proc/sys/", empty: none): a write at
 * offset 0 replaces the value, a pair is printed with a tab, kernel_einval
 * refuses a key (EINVAL), refuse_key/refuse_value refuses one value of a key,
 * kernel_clamp turns kernel_clamp_from into kernel_clamp_to; proc_write_calls
 * and proc_write_keys: the w_write call number and the key path of each write
 * below fake_proc (n_proc_writes); events/n_events: what happened, in order;
 * struct fail_step, FAIL_STEPS(), step_calls(): each step failing in turn.
 *
 * TXN_TESTLIB_FAKE_TREE (needs TXN_TESTLIB_WRAP_WRITE): the fake machine the
 * transaction tests run on, in a temporary directory and never the host's
 * /proc/sys, /etc or /var/lib: <tmp>/proc/sys (regular files: proc_files,
 * N_PROC), <tmp>/etc/sysctl.d/99-tcptune.conf (managed_old; a request writes
 * managed_new) and <tmp>/store.  struct fx; setup()/teardown() for cmocka (the
 * request: 4 keys of profile "web" by alice); write_file(), mkdir_p(),
 * fx_path(), set_key(); struct snap, take_snap(), assert_snap_equal(),
 * assert_as_before(); assert_no_temp(); history(); proc_value(); clear_store(),
 * reset_machine(), put_file(); apply_ok(). */
#ifndef TCPTUNE_TESTS_TXN_TESTLIB_H
#define TCPTUNE_TESTS_TXN_TESTLIB_H

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

/* Every function here is static; a test need not use them all. */
#define TL_UNUSED __attribute__((unused))

/* ---- always: temporary directories and files ----------------------------- */

/* "<$TMPDIR or /tmp>/<program name>.XXXXXX", created; -1 when it cannot be. */
static TL_UNUSED int make_tmpdir(char *dir, size_t len)
{
	const char *tmpdir = getenv("TMPDIR");

	snprintf(dir, len, "%s/%s.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp", program_invocation_short_name);
	return mkdtemp(dir) ? 0 : -1;
}

static TL_UNUSED int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	return remove(path);
}

/* The directory and everything below it; symlinks removed, never followed. */
static TL_UNUSED int rm_tree(const char *dir)
{
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static TL_UNUSED void write_data(const char *path, const void *buf, size_t len)
{
	FILE *fp = fopen(path, "we");

	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static TL_UNUSED void write_text(const char *path, const char *content)
{
	write_data(path, content, strlen(content));
}

static TL_UNUSED void write_plain(const char *path, const void *buf, size_t len, mode_t mode)
{
	write_data(path, buf, len);
	assert_int_equal(chmod(path, mode), 0);
}

static TL_UNUSED void read_all(const char *path, char *buf, size_t cap, size_t *ret_len)
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

/* ---- TXN_TESTLIB_WRAP_*: the wrappers -------------------------------------- */

#ifdef TXN_TESTLIB_WRAP_TXN
#define TXN_TESTLIB_WRAP_FSYNC
#define TXN_TESTLIB_WRAP_RENAME
#define TXN_TESTLIB_WRAP_RENAMEAT
#define TXN_TESTLIB_WRAP_WRITE
#define TXN_TESTLIB_WRAP_OPENAT
#endif

#if defined(TXN_TESTLIB_WRAP_FSYNC) || defined(TXN_TESTLIB_WRAP_RENAME) || defined(TXN_TESTLIB_WRAP_RENAMEAT) || \
	defined(TXN_TESTLIB_WRAP_WRITE) || defined(TXN_TESTLIB_WRAP_OPENAT) || defined(TXN_TESTLIB_WRAP_FCHMOD)

#define CRASHED 77		/* the exit status of a child that "crashed" in a wrapper */

struct wrap {
	unsigned calls;		/* since the last wraps_reset() */
	unsigned fail_from;	/* 1-based call number; 0: never fail */
	unsigned fail_n;	/* consecutive calls that fail */
	int err;
	bool crash;		/* at call fail_from, _exit(CRASHED) instead: a crash */
	unsigned short_at;	/* write only: this call writes at most short_len bytes */
	size_t short_len;
};

static struct wrap w_fsync, w_rename, w_renameat, w_write, w_fchmod;
static struct wrap w_openat, w_create;	/* w_create: openat with O_CREAT */

static char fake_proc[PATH_MAX];	/* "<tmp>/proc/sys/": writes below it act like procfs */
static char kernel_einval[128];		/* key path the fake kernel refuses with EINVAL */
static char refuse_key[128];		/* key path where the fake kernel refuses ... */
static char refuse_value[32];		/* ... only this value (EINVAL) */
static char kernel_clamp[128];		/* key path where the fake kernel turns ... */
static char kernel_clamp_from[32];	/* ... this value ... */
static char kernel_clamp_to[32];	/* ... into this one */
#define MAX_PROC_WRITES 64
static unsigned proc_write_calls[MAX_PROC_WRITES];	/* w_write call numbers that went to /proc/sys */
static char proc_write_keys[MAX_PROC_WRITES][PATH_MAX];	/* and the key each wrote */
static size_t n_proc_writes;

/* What the last O_CREAT openat() asked for. */
static char created_name[NAME_MAX + 1];
static int created_flags;
static mode_t created_mode;

/* What happened, in order: "fsync <path>", "rename <new name>",
 * "sysctl <key path>", so a test can check what was durable before what. */
#define MAX_EVENTS 128
static char events[MAX_EVENTS][PATH_MAX + 16];
static size_t n_events;

__attribute__((format(printf, 1, 2)))
static TL_UNUSED void event(const char *fmt, ...)
{
	va_list ap;

	if (n_events == MAX_EVENTS)
		return;
	va_start(ap, fmt);
	vsnprintf(events[n_events++], sizeof(events[0]), fmt, ap);
	va_end(ap);
}

static TL_UNUSED void fd_path(int fd, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	buf[n < 0 ? 0 : n] = '\0';
}

static TL_UNUSED void wraps_reset(void)
{
	struct wrap *all[] = { &w_fsync, &w_rename, &w_renameat, &w_write, &w_fchmod, &w_openat, &w_create };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		memset(all[i], 0, sizeof(*all[i]));
	refuse_key[0] = refuse_value[0] = '\0';
	kernel_einval[0] = kernel_clamp[0] = kernel_clamp_from[0] = kernel_clamp_to[0] = '\0';
	n_proc_writes = 0;
	n_events = 0;
	created_name[0] = '\0';
	created_flags = 0;
	created_mode = 0;
}

static TL_UNUSED void wrap_fail(struct wrap *w, unsigned from, unsigned n, int err)
{
	w->fail_from = from;
	w->fail_n = n;
	w->err = err;
}

/* Count the call; true (errno set) when it is one that must fail. */
static TL_UNUSED bool wrap_hit(struct wrap *w)
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

/* The steps a transaction can fail at, one wrapper each, for a test that makes
 * each fail in turn: FAIL_STEPS(err) lists them, the O_CREAT openat() failing
 * with err.  step_calls() takes each one's count after a clean run. */
struct fail_step {
	const char *label;
	struct wrap *w;
	int err;
};
#define N_FAIL_STEPS 4
#define FAIL_STEPS(create_err)                                                          \
	{                                                                               \
		{ "fsync", &w_fsync, EIO },                                             \
		{ "renameat", &w_renameat, ENOSPC },                                    \
		{ "write", &w_write, ENOSPC },                                          \
		{ "openat(O_CREAT)", &w_create, (create_err) },                         \
	}

static TL_UNUSED void step_calls(const struct fail_step steps[N_FAIL_STEPS], unsigned calls[N_FAIL_STEPS])
{
	for (size_t i = 0; i < N_FAIL_STEPS; i++)
		calls[i] = steps[i].w->calls;
	print_message("calls: fsync %u, renameat %u, write %u, create %u\n", calls[0], calls[1], calls[2], calls[3]);
}

/* The key path ("net/ipv4/tcp_fin_timeout") when fd is open below fake_proc. */
static TL_UNUSED bool fd_in_fake_proc(int fd, char *rel, size_t len)
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
static TL_UNUSED ssize_t fake_kernel_write(int fd, const char *rel, const void *buf, size_t len)
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

#endif /* any TXN_TESTLIB_WRAP_* */

#ifdef TXN_TESTLIB_WRAP_FSYNC
int __real_fsync(int fd);
int __wrap_fsync(int fd);

int __wrap_fsync(int fd)
{
	char path[PATH_MAX];

	fd_path(fd, path, sizeof(path));
	event("fsync %s", path);
	return wrap_hit(&w_fsync) ? -1 : __real_fsync(fd);
}
#endif

#ifdef TXN_TESTLIB_WRAP_RENAME
int __real_rename(const char *a, const char *b);
int __wrap_rename(const char *a, const char *b);

int __wrap_rename(const char *a, const char *b)
{
	return wrap_hit(&w_rename) ? -1 : __real_rename(a, b);
}
#endif

#ifdef TXN_TESTLIB_WRAP_RENAMEAT
int __real_renameat(int da, const char *a, int db, const char *b);
int __wrap_renameat(int da, const char *a, int db, const char *b);

int __wrap_renameat(int da, const char *a, int db, const char *b)
{
	event("rename %s", b);
	return wrap_hit(&w_renameat) ? -1 : __real_renameat(da, a, db, b);
}
#endif

#ifdef TXN_TESTLIB_WRAP_WRITE
ssize_t __real_write(int fd, const void *buf, size_t len);
ssize_t __wrap_write(int fd, const void *buf, size_t len);

ssize_t __wrap_write(int fd, const void *buf, size_t len)
{
	char rel[PATH_MAX];
	bool proc = fd_in_fake_proc(fd, rel, sizeof(rel));

	if (proc && n_proc_writes < MAX_PROC_WRITES) {
		snprintf(proc_write_keys[n_proc_writes], sizeof(proc_write_keys[0]), "%s", rel);
		proc_write_calls[n_proc_writes++] = w_write.calls + 1;
	}
	if (proc)
		event("sysctl %s", rel);
	if (wrap_hit(&w_write))
		return -1;
	if (w_write.short_at == w_write.calls && len > w_write.short_len)
		len = w_write.short_len;
	return proc ? fake_kernel_write(fd, rel, buf, len) : __real_write(fd, buf, len);
}
#endif

#ifdef TXN_TESTLIB_WRAP_OPENAT
int __real_openat(int dirfd, const char *path, int flags, ...);
int __wrap_openat(int dirfd, const char *path, int flags, ...);

int __wrap_openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
		snprintf(created_name, sizeof(created_name), "%s", path);
		created_flags = flags;
		created_mode = mode;
	}
	if (wrap_hit(&w_openat))
		return -1;
	if ((flags & O_CREAT) && wrap_hit(&w_create))
		return -1;
	return __real_openat(dirfd, path, flags, mode);
}
#endif

#ifdef TXN_TESTLIB_WRAP_FCHMOD
int __real_fchmod(int fd, mode_t mode);
int __wrap_fchmod(int fd, mode_t mode);

int __wrap_fchmod(int fd, mode_t mode)
{
	return wrap_hit(&w_fchmod) ? -1 : __real_fchmod(fd, mode);
}
#endif

/* ---- TXN_TESTLIB_FAKE_TREE: the fake machine ------------------------------ */

#ifdef TXN_TESTLIB_FAKE_TREE
#ifndef TXN_TESTLIB_WRAP_WRITE
#error "TXN_TESTLIB_FAKE_TREE needs TXN_TESTLIB_WRAP_WRITE (and -Wl,--wrap=write): it is what fakes /proc/sys"
#endif

#include "keys.h"
#include "store.h"
#include "txn.h"

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

static TL_UNUSED void write_file(const char *path, const char *content, mode_t mode)
{
	write_plain(path, content, strlen(content), mode);
}

static TL_UNUSED void mkdir_p(const char *path)
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

/* "<base>/<rel>" (base NULL: the fixture's directory); the last two results
 * stay valid. */
static TL_UNUSED const char *fx_path(const struct fx *f, const char *base, const char *rel)
{
	static char buf[2][PATH_MAX * 2];
	static int which;

	which ^= 1;
	snprintf(buf[which], sizeof(buf[which]), "%s/%s", base ? base : f->dir, rel);
	return buf[which];
}

static TL_UNUSED void set_key(struct fx *f, size_t i, const char *name, const char *value)
{
	int k = key_index(name);

	assert_true(k >= 0);
	f->keys[i].key = (size_t) k;
	snprintf(f->keys[i].new_value, sizeof(f->keys[i].new_value), "%s", value);
}

static TL_UNUSED int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || make_tmpdir(f->dir, sizeof(f->dir)) < 0) {
		free(f);
		return -1;
	}
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

static TL_UNUSED int teardown(void **state)
{
	struct fx *f = *state;
	int r;

	wraps_reset();
	fake_proc[0] = '\0';
	r = rm_tree(f->dir);
	free(f);
	return r;
}

/* What a transaction may change: the runtime values and the managed file. */
struct snap {
	char proc[N_PROC][64];
	bool managed_exists;
	char managed[4096];
	size_t managed_len;
	mode_t managed_mode;
};

static TL_UNUSED void take_snap(const struct fx *f, struct snap *s)
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

static TL_UNUSED void assert_snap_equal(const struct snap *a, const struct snap *b)
{
	for (size_t i = 0; i < N_PROC; i++)
		assert_string_equal(a->proc[i], b->proc[i]);
	assert_int_equal(a->managed_exists, b->managed_exists);
	assert_int_equal(a->managed_len, b->managed_len);
	assert_memory_equal(a->managed, b->managed, a->managed_len);
	assert_int_equal(a->managed_mode, b->managed_mode);
}

static TL_UNUSED void assert_as_before(const struct fx *f, const struct snap *before)
{
	struct snap now;

	take_snap(f, &now);
	assert_snap_equal(before, &now);
}

static const char *temp_found;

static TL_UNUSED int find_temp(const char *path, const struct stat *st, int flag, struct FTW *ftw)
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

/* No ".tmp-" name anywhere in the fake tree. */
static TL_UNUSED void assert_no_temp(const struct fx *f)
{
	temp_found = NULL;
	assert_int_equal(nftw(f->dir, find_temp, 16, FTW_PHYS), 0);
	if (temp_found)
		fail_msg("temporary file left behind: %s", temp_found);
}

/* txn_history(), asserted to work; the caller frees *v. */
static TL_UNUSED size_t history(const struct fx *f, struct txn_entry **v)
{
	size_t n = 0;

	*v = NULL;
	assert_int_equal(txn_history(&f->paths, v, &n), 0);
	return n;
}

/* The runtime value of a key path ("net/core/somaxconn"), newline and all. */
static TL_UNUSED const char *proc_value(const struct fx *f, const char *rel)
{
	static char buf[64];

	read_all(fx_path(f, f->proc, rel), buf, sizeof(buf), NULL);
	return buf;
}

/* Remove every entry, so each case starts from an empty store. */
static TL_UNUSED void clear_store(struct fx *f)
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
static TL_UNUSED void reset_machine(struct fx *f, bool managed_exists)
{
	for (size_t i = 0; i < N_PROC; i++)
		write_file(fx_path(f, f->proc, proc_files[i].rel), proc_files[i].content, 0644);
	(void) unlink(f->managed);
	if (managed_exists)
		write_file(f->managed, managed_old, 0644);
	clear_store(f);
}

/* A file in the store, written by hand (0600): "<store>/<rel>". */
static TL_UNUSED void put_file(const struct fx *f, const char *rel, const char *content)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", f->store, rel);
	write_file(path, content, 0600);
}

/* txn_apply() of the fixture's request succeeds, as entry want_id (NULL: any)
 * and changing something or not. */
static TL_UNUSED void apply_ok(struct fx *f, const char *want_id, bool want_changed)
{
	struct txn_error err;
	bool changed = !want_changed;
	char id[16];

	assert_int_equal(txn_apply(&f->paths, &f->req, &changed, id, &err), 0);
	assert_int_equal(changed, want_changed);
	if (want_id)
		assert_string_equal(id, want_id);
}

#endif /* TXN_TESTLIB_FAKE_TREE */

#endif
