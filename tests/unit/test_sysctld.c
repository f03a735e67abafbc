/* Tests for snap_sysctld.c: fake root trees under tests/fixtures/sysctld,
 * plus one built at run time for input that git cannot hold (mode 000, a
 * FIFO, 2 MiB, NUL bytes).  Every case states the exact winner (file, line,
 * value) and overridden lines under both orders.  Re-appliers found by
 * sysctld_load() are tested in test_snap_reappliers.c. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "keys.h"
#include "sysctld.h"
#include "sysctld_testlib.h"

#define KV(a, b, c) ((long) (a) * 65536 + (b) * 256 + (c))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Expected result for one tracked key: "file:line=value" winners and
 * "file:line file:line" overridden lists, systemd then procps.  NULL means
 * no winner / nothing overridden. */
struct want {
	const char *key;
	const char *win[ORDER__COUNT];
	const char *over[ORDER__COUNT];
};

static int open_root(const char *path)
{
	/* O_PATH, as snapshot_init() opens it. */
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void load_at(struct sysctld *d, const char *path, long kv)
{
	int fd = open_root(path);

	assert_int_equal(sysctld_load(d, fd, kv, 0), 0);
	close(fd);
	assert_non_null(d->keys);
}

static void load(struct sysctld *d, const char *name, long kv)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/sysctld/%s", FIXTURES, name);
	load_at(d, path, kv);
}

/* Assignments as systemd-sysctl reads them (each file is parsed once per
 * program). */
static size_t n_sd(const struct sysctld *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n_assigns; i++)
		n += d->assigns[i].order == ORDER_SYSTEMD;
	return n;
}

static void fmt_assign(char *buf, size_t len, const struct sysctld_assign *a)
{
	if (a)
		snprintf(buf, len, "%s:%u=%s", a->file, a->line, a->value);
	else
		snprintf(buf, len, "(none)");
}

static void fmt_overridden(char *buf, size_t len, const struct sysctld_key *ks, int o)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ks->n_overridden[o]; i++) {
		const struct sysctld_assign *a = ks->overridden[o][i];

		off += (size_t) snprintf(buf + off, len - off, "%s%s:%u", i ? " " : "", a->file, a->line);
		assert_true(off < len);
	}
}

/* Every tracked key: as wanted, or untouched by boot when not listed. */
static void check_keys(const struct sysctld *d, const struct want *w, size_t n)
{
	char got[4096];

	for (size_t i = 0; i < n; i++)
		assert_true(key_index(w[i].key) >= 0);	/* a typo must not pass silently */
	for (size_t k = 0; k < key_count; k++) {
		const struct want *cur = NULL;

		for (size_t i = 0; i < n; i++)
			if (strcmp(w[i].key, key_table[k].name) == 0)
				cur = &w[i];
		for (int o = 0; o < ORDER__COUNT; o++) {
			const char *win = cur && cur->win[o] ? cur->win[o] : "(none)";
			const char *over = cur && cur->over[o] ? cur->over[o] : "";

			fmt_assign(got, sizeof(got), d->keys[k].winner[o]);
			if (strcmp(got, win) != 0)
				fail_msg("%s %s: winner '%s', want '%s'", key_table[k].name,
					 o == ORDER_SYSTEMD ? "systemd" : "procps", got, win);
			fmt_overridden(got, sizeof(got), &d->keys[k], o);
			if (strcmp(got, over) != 0)
				fail_msg("%s %s: overridden '%s', want '%s'", key_table[k].name,
					 o == ORDER_SYSTEMD ? "systemd" : "procps", got, over);
		}
	}
}

/* "path sd pp", "path masked", "path shadowed-by=other". */
static void check_files(const struct sysctld *d, const char *const *want, size_t n)
{
	char got[4096];

	for (size_t i = 0; i < d->n_files && i < n; i++) {
		const struct sysctld_file *f = &d->files[i];

		snprintf(got, sizeof(got), "%s%s%s%s%s%s", f->path,
			 f->used[ORDER_SYSTEMD] ? " sd" : "", f->used[ORDER_PROCPS] ? " pp" : "",
			 f->masked ? " masked" : "", f->shadowed_by ? " shadowed-by=" : "",
			 f->shadowed_by ? f->shadowed_by : "");
		if (strcmp(got, want[i]) != 0)
			fail_msg("file %zu: '%s', want '%s'", i, got, want[i]);
	}
	assert_int_equal(d->n_files, n);
}

/* "file:line key reason: detail". */
static void check_stale(const struct sysctld *d, const char *const *want, size_t n)
{
	char got[4096];

	for (size_t i = 0; i < d->n_stale && i < n; i++) {
		const struct sysctld_stale *s = &d->stale[i];

		snprintf(got, sizeof(got), "%s:%u %s %s: %s", s->file, s->line, s->key,
			 sysctld_stale_reason_name(s->reason), s->detail);
		if (strcmp(got, want[i]) != 0)
			fail_msg("stale %zu: '%s', want '%s'", i, got, want[i]);
	}
	assert_int_equal(d->n_stale, n);
}

static void check_quiet(const struct sysctld *d)
{
	check_warnings(d, NULL, 0);
	check_stale(d, NULL, 0);
	assert_int_equal(d->n_reappliers, 0);
}

#define CHECK_KEYS(d, w) check_keys(d, w, ARRAY_SIZE(w))
#define CHECK_FILES(d, w) check_files(d, w, ARRAY_SIZE(w))
#define CHECK_WARNINGS(d, w) check_warnings(d, w, ARRAY_SIZE(w))
#define CHECK_STALE(d, w) check_stale(d, w, ARRAY_SIZE(w))

/* Different basenames in /etc, /run and /usr/lib: the later basename wins,
 * whatever its directory; non-.conf names are not read. */
static void test_basename_order(void **state)
{
	static const char *const files[] = {
		"/etc/sysctl.d/10-first.conf sd pp",
		"/etc/sysctl.d/60-etc.conf sd pp",
		"/run/sysctl.d/65-run.conf sd pp",
		"/usr/lib/sysctl.d/70-usr.conf sd pp",
	};
	static const struct want w[] = {
		{ "net.ipv4.tcp_fin_timeout",
		  { "/usr/lib/sysctl.d/70-usr.conf:1=45", "/usr/lib/sysctl.d/70-usr.conf:1=45" },
		  { "/etc/sysctl.d/10-first.conf:1 /etc/sysctl.d/60-etc.conf:2",
		    "/etc/sysctl.d/10-first.conf:1 /etc/sysctl.d/60-etc.conf:2" } },
		{ "net.ipv4.tcp_keepalive_time",
		  { "/usr/lib/sysctl.d/70-usr.conf:2=600", "/usr/lib/sysctl.d/70-usr.conf:2=600" },
		  { "/run/sysctl.d/65-run.conf:1", "/run/sysctl.d/65-run.conf:1" } },
	};
	struct sysctld d;

	(void) state;
	load(&d, "basenames", KV(6, 18, 0));
	CHECK_FILES(&d, files);
	CHECK_KEYS(&d, w);
	assert_int_equal(n_sd(&d), 5);
	check_quiet(&d);
	sysctld_release(&d);
}

/* Same basename in /etc, /run and /usr/lib: only /etc counts, the others
 * are ignored entirely (their other keys too); /lib -> usr/lib is read once;
 * an absolute symlink resolves inside the root. */
static void test_same_basename(void **state)
{
	static const char *const files[] = {
		"/etc/sysctl.d/50-t.conf sd pp",
		"/run/sysctl.d/50-t.conf shadowed-by=/etc/sysctl.d/50-t.conf",
		"/usr/lib/sysctl.d/50-t.conf shadowed-by=/etc/sysctl.d/50-t.conf",
		"/usr/lib/sysctl.d/90-late.conf sd pp",
		"/etc/sysctl.d/95-abs.conf sd pp",
	};
	static const struct want w[] = {
		{ "net.ipv4.tcp_fin_timeout",
		  { "/etc/sysctl.d/50-t.conf:1=22", "/etc/sysctl.d/50-t.conf:1=22" }, { NULL, NULL } },
		{ "net.ipv4.tcp_keepalive_intvl",
		  { "/usr/lib/sysctl.d/90-late.conf:1=33", "/usr/lib/sysctl.d/90-late.conf:1=33" },
		  { NULL, NULL } },
		{ "net.ipv4.tcp_orphan_retries",
		  /* The link's target is the file to edit, and is named. */
		  { "/opt/conf/95.conf:1=95", "/opt/conf/95.conf:1=95" }, { NULL, NULL } },
	};
	struct sysctld d;

	(void) state;
	load(&d, "shadow", KV(6, 18, 0));
	CHECK_FILES(&d, files);
	CHECK_KEYS(&d, w);
	check_quiet(&d);
	sysctld_release(&d);
}

/* A /dev/null symlink in /etc and an empty file in /run mask /usr/lib files
 * of the same name. */
static void test_masks(void **state)
{
	static const char *const files[] = {
		"/usr/lib/sysctl.d/30-base.conf sd pp",
		"/etc/sysctl.d/40-null.conf masked",
		"/usr/lib/sysctl.d/40-null.conf shadowed-by=/etc/sysctl.d/40-null.conf",
		"/run/sysctl.d/45-empty.conf masked",
		"/usr/lib/sysctl.d/45-empty.conf shadowed-by=/run/sysctl.d/45-empty.conf",
	};
	static const struct want w[] = {
		{ "net.ipv4.tcp_fin_timeout",
		  { "/usr/lib/sysctl.d/30-base.conf:1=30", "/usr/lib/sysctl.d/30-base.conf:1=30" },
		  { NULL, NULL } },
	};
	struct sysctld d;

	(void) state;
	load(&d, "mask", KV(6, 18, 0));
	CHECK_FILES(&d, files);
	CHECK_KEYS(&d, w);
	assert_int_equal(n_sd(&d), 1);
	check_quiet(&d);
	sysctld_release(&d);
}

/* Debian: 99-sysctl.conf -> ../sysctl.conf.  systemd reads it once, as
 * 99-sysctl.conf, before 99-tcptune.conf; procps reads it again at the end.
 * Its stale line is one problem, not two. */
static void test_debian_sysctl_conf(void **state)
{
	static const char *const files[] = {
		"/etc/sysctl.d/99-sysctl.conf sd pp",
		"/etc/sysctl.d/99-tcptune.conf sd pp",
		"/etc/sysctl.conf pp",
	};
	static const struct want w[] = {
		{ "net.ipv4.tcp_fin_timeout",
		  { "/etc/sysctl.d/99-tcptune.conf:2=20", "/etc/sysctl.conf:3=35" },
		  { "/etc/sysctl.conf:3",
		    "/etc/sysctl.conf:3 /etc/sysctl.d/99-tcptune.conf:2" } },
		/* tcp_tw_recycle: absent from this kernel, set by neither. */
	};
	static const char *const stale[] = {
		"/etc/sysctl.conf:4 net.ipv4.tcp_tw_recycle removed: removed in Linux 4.12",
	};
	struct sysctld d;

	(void) state;
	load(&d, "debian", KV(6, 18, 0));
	CHECK_FILES(&d, files);
	CHECK_KEYS(&d, w);
	CHECK_STALE(&d, stale);
	check_warnings(&d, NULL, 0);
	sysctld_release(&d);
}

/* Without the link, systemd does not read /etc/sysctl.conf at all. */
static void test_sysctl_conf_without_link(void **state)
{
	static const char *const files[] = {
		"/etc/sysctl.d/99-tcptune.conf sd pp",
		"/etc/sysctl.conf pp",
	};
	static const struct want w[] = {
		{ "net.ipv4.tcp_fin_timeout",
		  { "/etc/sysctl.d/99-tcptune.conf:1=20", "/etc/sysctl.conf:1=35" },
		  { NULL, "/etc/sysctl.d/99-tcptune.conf:1" } },
		{ "net.ipv4.tcp_orphan_retries", { NULL, "/etc/sysctl.conf:2=7" }, { NULL, NULL } },
		/* Absent from this kernel: neither program can set it. */
	};
	static const char *const stale[] = {
		"/etc/sysctl.conf:3 net.ipv4.tcp_tw_recycle removed: removed in Linux 4.12",
	};
	struct sysctld d;

	(void) state;
	load(&d, "nosymlink", KV(6, 18, 0));
	CHECK_FILES(&d, files);
	CHECK_KEYS(&d, w);
	CHECK_STALE(&d, stale);
	sysctld_release(&d);
}

/* Comments, blanks, spaces around '=', slash keys, '-' prefix, a line
 * without '=', an empty key, no final newline. */
static void test_syntax(void **state)
{
	static const char *const assigns[] = {
		"/etc/sysctl.d/50-syntax.conf:4 net.ipv4.tcp_fin_timeout=25",
		"/etc/sysctl.d/50-syntax.conf:7 net.ipv4.tcp_keepalive_time=600",
		"/etc/sysctl.d/50-syntax.conf:8 -net.ipv4.tcp_keepalive_intvl=15",
		"/etc/sysctl.d/50-syntax.conf:9 -net.ipv4.tcp_keepalive_probes=4",
		"/etc/sysctl.d/50-syntax.conf:10 net.ipv4.conf.eth0/100.rp_filter=2",
		"/etc/sysctl.d/50-syntax.conf:11 net.core.somaxconn=4096 # not a comment",
		"/etc/sysctl.d/50-syntax.conf:12 net.ipv4.tcp_syncookies=",
		"/etc/sysctl.d/60-nonewline.conf:1 net.ipv4.tcp_orphan_retries=5",
	};
	static const char *const warnings[] = {
		"/etc/sysctl.d/50-syntax.conf:5: line is not an assignment, ignored",
		"/etc/sysctl.d/50-syntax.conf:6: empty key, line ignored",
	};
	static const struct want w[] = {
		{ "net.ipv4.tcp_fin_timeout",
		  { "/etc/sysctl.d/50-syntax.conf:4=25", "/etc/sysctl.d/50-syntax.conf:4=25" }, { 0 } },
		{ "net.ipv4.tcp_keepalive_time",
		  { "/etc/sysctl.d/50-syntax.conf:7=600", "/etc/sysctl.d/50-syntax.conf:7=600" }, { 0 } },
		{ "net.ipv4.tcp_keepalive_intvl",
		  { "/etc/sysctl.d/50-syntax.conf:8=15", "/etc/sysctl.d/50-syntax.conf:8=15" }, { 0 } },
		{ "net.ipv4.tcp_keepalive_probes",
		  { "/etc/sysctl.d/50-syntax.conf:9=4", "/etc/sysctl.d/50-syntax.conf:9=4" }, { 0 } },
		{ "net.core.somaxconn",
		  { "/etc/sysctl.d/50-syntax.conf:11=4096 # not a comment",
		    "/etc/sysctl.d/50-syntax.conf:11=4096 # not a comment" }, { 0 } },
		/* "net.ipv4.tcp_syncookies =": both programs write an empty line,
		 * which the kernel refuses (checked below).  Boot leaves the key
		 * alone. */
		{ "net.ipv4.tcp_orphan_retries",
		  { "/etc/sysctl.d/60-nonewline.conf:1=5", "/etc/sysctl.d/60-nonewline.conf:1=5" }, { 0 } },
	};
	char got[512];
	struct sysctld d;

	(void) state;
	load(&d, "syntax", KV(6, 18, 0));
	assert_int_equal(n_sd(&d), ARRAY_SIZE(assigns));
	for (size_t i = 0, j = 0; i < d.n_assigns; i++) {
		const struct sysctld_assign *a = &d.assigns[i];

		if (a->order != ORDER_SYSTEMD)
			continue;
		snprintf(got, sizeof(got), "%s:%u %s%s=%s", a->file, a->line,
			 a->ignore_failure ? "-" : "", a->key, a->value);
		assert_string_equal(got, assigns[j++]);
	}
	CHECK_KEYS(&d, w);
	CHECK_WARNINGS(&d, warnings);
	check_stale(&d, NULL, 0);	/* eth0.100 found as proc/sys/net/ipv4/conf/eth0.100 */
	/* systemd logged "Couldn't write '' to 'net/ipv4/tcp_syncookies'",
	 * procps 'setting key "net.ipv4.tcp_syncookies": Invalid argument'
	 * (docs/KERNEL.md §10.4). */
	assert_int_equal(d.n_rejected, 1);
	assert_string_equal(key_table[d.rejected[0].key].name, "net.ipv4.tcp_syncookies");
	assert_int_equal(d.rejected[0].line, 12);
	assert_string_equal(d.rejected[0].value, "");
	assert_true(d.rejected[0].order[ORDER_SYSTEMD] && d.rejected[0].order[ORDER_PROCPS]);
	sysctld_release(&d);
}

/* Stale keys and their classification, on three kernels. */
static void test_stale(void **state)
{
	static const char *const stale_618[] = {
		"/etc/sysctl.d/10-old.conf:2 net.ipv4.tcp_tw_recycle removed: removed in Linux 4.12",
		"/etc/sysctl.d/10-old.conf:3 net.ipv4.tcp_max_orphans not-namespaced: "
			"host-wide key, absent in this network namespace",
		"/etc/sysctl.d/10-old.conf:4 net.netfilter.nf_conntrack_tcp_timeout_time_wait "
			"module-not-loaded: module nf_conntrack not loaded",
		"/etc/sysctl.d/10-old.conf:5 net.nf_conntrack_max module-not-loaded: module nf_conntrack not loaded",
		"/etc/sysctl.d/10-old.conf:6 net.bridge.bridge-nf-call-iptables module-not-loaded: "
			"module br_netfilter not loaded",
		"/etc/sysctl.d/10-old.conf:7 net.ipv4.vs.conntrack unknown: not present in this kernel",
		"/etc/sysctl.d/10-old.conf:8 net.ipv4.tcp_bogus_knob unknown: not present in this kernel",
		/* Exists as a file of the tree, but only by walking out of proc/sys. */
		"/etc/sysctl.d/10-old.conf:10 etc.sysctl/d.10-old/conf unknown: "
			"not present in this kernel",
	};
	static const struct want w[] = {
		{ "net.ipv4.tcp_fin_timeout",
		  { "/etc/sysctl.d/10-old.conf:1=30", "/etc/sysctl.d/10-old.conf:1=30" }, { 0 } },
		/* tcp_tw_recycle: absent from this kernel, set by neither. */
		/* tcp_max_orphans (host-wide) and the conntrack timeout (module
		 * not loaded) are absent here too: no boot value. */
	};
	struct sysctld d;

	(void) state;
	load(&d, "stale", 0x061200);
	CHECK_STALE(&d, stale_618);
	CHECK_KEYS(&d, w);
	check_warnings(&d, NULL, 0);
	assert_string_equal(sysctld_stale_reason_name(STALE_REMOVED), "removed");
	assert_string_equal(sysctld_stale_reason_name(STALE_NOT_NAMESPACED), "not-namespaced");
	assert_string_equal(sysctld_stale_reason_name(STALE_MODULE), "module-not-loaded");
	assert_string_equal(sysctld_stale_reason_name(STALE_UNKNOWN), "unknown");
	sysctld_release(&d);

	/* Unknown kernel: the table's removal is trusted. */
	load(&d, "stale", -1);
	assert_true(d.n_stale > 0);
	assert_int_equal(d.stale[0].reason, STALE_REMOVED);
	sysctld_release(&d);

	/* 4.9 still had tcp_tw_recycle, host-wide: absent means another netns. */
	load(&d, "stale", KV(4, 9, 0));
	assert_true(d.n_stale > 0);
	assert_int_equal(d.stale[0].reason, STALE_NOT_NAMESPACED);
	assert_string_equal(d.stale[0].detail, "host-wide key, absent in this network namespace");
	/* 4.12.0 exactly is the first kernel without it. */
	sysctld_release(&d);
	load(&d, "stale", KV(4, 12, 0));
	assert_int_equal(d.stale[0].reason, STALE_REMOVED);
	sysctld_release(&d);
}

/* An explicit key beats any glob, wherever it is, under both programs
 * (procps 4.0.2 too, by experiment: docs/KERNEL.md §10.3).  A glob '*'
 * does not span a separator. */
static void test_glob(void **state)
{
	static const struct want w[] = {
		{ "net.ipv4.tcp_keepalive_time",
		  { "/etc/sysctl.d/10-explicit.conf:1=300", "/etc/sysctl.d/10-explicit.conf:1=300" },
		  { "/usr/lib/sysctl.d/20-glob.conf:1", "/usr/lib/sysctl.d/20-glob.conf:1" } },
		{ "net.ipv4.tcp_keepalive_intvl",
		  { "/usr/lib/sysctl.d/20-glob.conf:1=77", "/usr/lib/sysctl.d/20-glob.conf:1=77" },
		  { NULL, NULL } },
		{ "net.ipv4.tcp_keepalive_probes",
		  { "/usr/lib/sysctl.d/15-probes.conf:1=5", "/usr/lib/sysctl.d/15-probes.conf:1=5" },
		  { "/usr/lib/sysctl.d/20-glob.conf:1", "/usr/lib/sysctl.d/20-glob.conf:1" } },
		{ "net.ipv4.tcp_fin_timeout",
		  { "/usr/lib/sysctl.d/20-glob.conf:3=44", "/usr/lib/sysctl.d/20-glob.conf:3=44" },
		  { NULL, NULL } },
	};
	struct sysctld d;

	(void) state;
	load(&d, "glob", KV(6, 18, 0));
	CHECK_KEYS(&d, w);
	check_quiet(&d);	/* globs are never stale */
	sysctld_release(&d);
}

/* ---- input git cannot carry, built in a temporary root ---- */

static char tmp_root[] = "/tmp/test_snap_sysctld.XXXXXX";

static void put(const char *rel, const void *data, size_t len)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmp_root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t) len);
	assert_int_equal(close(fd), 0);
}

static void put_str(const char *rel, const char *s)
{
	put(rel, s, strlen(s));
}

static void link_to(const char *target, const char *rel)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", tmp_root, rel);
	assert_int_equal(symlink(target, path), 0);
}

static void make_dir(const char *rel)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", tmp_root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static int build_bad_root(void **state)
{
	static const char nul[] = "net.ipv4.tcp_keepalive_time = 1\n\0junk\n";
	const char *line = "net.ipv4.tcp_keepalive_intvl = 3\n";
	char *buf, path[4096];
	size_t len = 17 * 1024 * 1024, off = 0, ll = strlen(line);

	(void) state;
	if (!mkdtemp(tmp_root))
		return -1;
	make_dir("etc");
	make_dir("etc/sysctl.d");
	make_dir("somedir");
	make_dir("run");
	link_to("sysctl.d", "run/sysctl.d");	/* a loop: cannot be opened */
	make_dir("usr");
	put_str("usr/lib", "not a directory\n");	/* ENOTDIR: as good as missing */
	put_str("etc/sysctl.d/10-good.conf", "net.ipv4.tcp_fin_timeout = 12\n");
	put("etc/sysctl.d/20-nul.conf", nul, sizeof(nul) - 1);

	buf = malloc(len);
	assert_non_null(buf);
	for (off = 0; off + ll <= len; off += ll)
		memcpy(buf + off, line, ll);
	put("etc/sysctl.d/30-huge.conf", buf, off);
	free(buf);

	put_str("etc/sysctl.d/40-noperm.conf", "net.ipv4.tcp_keepalive_probes = 4\n");
	snprintf(path, sizeof(path), "%s/etc/sysctl.d/40-noperm.conf", tmp_root);
	assert_int_equal(chmod(path, 0), 0);
	link_to("nowhere.conf", "etc/sysctl.d/50-dangling.conf");
	link_to("55-loop.conf", "etc/sysctl.d/55-loop.conf");
	link_to("../../somedir", "etc/sysctl.d/60-dir.conf");
	make_dir("etc/sysctl.d/62-realdir.conf");
	snprintf(path, sizeof(path), "%s/fifo", tmp_root);
	assert_int_equal(mkfifo(path, 0644), 0);
	link_to("../../fifo", "etc/sysctl.d/65-fifo.conf");

	/* 30 junk lines, one 100 KB line, then a real one without newline. */
	buf = malloc(200 * 1024);
	assert_non_null(buf);
	off = 0;
	for (int i = 0; i < 30; i++) {
		static const char junk[] = "\x01\x02\xff\xfe junk \x7f\x1b[0m\r\n";

		memcpy(buf + off, junk, sizeof(junk) - 1);
		off += sizeof(junk) - 1;
	}
	memset(buf + off, 'A', 100 * 1024);
	off += 100 * 1024;
	buf[off++] = '\n';
	memcpy(buf + off, "net.ipv4.tcp_syncookies = 2", 27);
	off += 27;
	put("etc/sysctl.d/70-junk.conf", buf, off);
	free(buf);

	put_str("etc/sysctl.d/80-last.conf", "net.ipv4.tcp_fin_timeout=80");
	/* Both lead to real host files if resolved outside the root. */
	link_to("../../../../../../../../etc/os-release", "etc/sysctl.d/85-escape.conf");
	link_to("/etc/os-release", "etc/sysctl.d/86-abs.conf");
	put_str("etc/sysctl.d/.hidden.conf", "net.ipv4.tcp_orphan_retries = 1\n");
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	return remove(path);
}

static int remove_bad_root(void **state)
{
	(void) state;
	return nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_bad_input(void **state)
{
	char dirloop[256], eloop[256], enoent[256], efbig[256], einval[256], eacces[256];
	bool root = geteuid() == 0;	/* root reads a mode 000 file anyway */
	const char *warnings[64];
	size_t n = 0;
	struct want w[] = {
		{ "net.ipv4.tcp_fin_timeout",
		  { "/etc/sysctl.d/80-last.conf:1=80", "/etc/sysctl.d/80-last.conf:1=80" },
		  { "/etc/sysctl.d/10-good.conf:1", "/etc/sysctl.d/10-good.conf:1" } },
		{ "net.ipv4.tcp_syncookies",
		  { "/etc/sysctl.d/70-junk.conf:32=2", "/etc/sysctl.d/70-junk.conf:32=2" }, { 0 } },
		{ "net.ipv4.tcp_keepalive_time",
		  { "/etc/sysctl.d/20-nul.conf:1=1", "/etc/sysctl.d/20-nul.conf:1=1" }, { 0 } },
		{ "net.ipv4.tcp_orphan_retries", { NULL, "/etc/sysctl.d/.hidden.conf:1=1" }, { 0 } },
		{ "net.ipv4.tcp_keepalive_probes",
		  { "/etc/sysctl.d/40-noperm.conf:1=4", "/etc/sysctl.d/40-noperm.conf:1=4" }, { 0 } },
	};
	struct sysctld d;
	char junk[32][64];

	(void) state;
	/* Both programs read past a NUL byte (systemd ends the line there). */
	/* "\n\0" is one line end for systemd: it logged "bogus3" of
	 * "bogus1\n\0\nbogus3" as line 3 (docs/KERNEL.md §10.4), so "junk"
	 * is line 2. */
	snprintf(einval, sizeof(einval), "/etc/sysctl.d/20-nul.conf:2: line is not an assignment, ignored");
	snprintf(efbig, sizeof(efbig), "/etc/sysctl.d/30-huge.conf:0: cannot read, skipped: %s "
		 "(larger than 16 MiB)", strerror(EFBIG));
	snprintf(eacces, sizeof(eacces), "/etc/sysctl.d/40-noperm.conf:0: cannot read, skipped: %s",
		 strerror(EACCES));
	snprintf(enoent, sizeof(enoent), "/etc/sysctl.d/50-dangling.conf:0: cannot open, skipped: %s",
		 strerror(ENOENT));
	snprintf(eloop, sizeof(eloop), "/etc/sysctl.d/55-loop.conf:0: cannot open, skipped: %s",
		 strerror(ELOOP));
	snprintf(dirloop, sizeof(dirloop), "/run/sysctl.d:0: cannot open directory: %s", strerror(ELOOP));
	warnings[n++] = dirloop;
	warnings[n++] = einval;
	warnings[n++] = efbig;
	if (!root)
		warnings[n++] = eacces;
	warnings[n++] = enoent;
	warnings[n++] = eloop;
	warnings[n++] = "/etc/sysctl.d/60-dir.conf:0: not a regular file, skipped";
	/* A real directory: systemd-sysctl logs "Failed to read file" for it. */
	warnings[n++] = "/etc/sysctl.d/62-realdir.conf:0: a directory, skipped: *";
	warnings[n++] = "/etc/sysctl.d/65-fifo.conf:0: not a regular file, skipped";
	for (int i = 0; i < 20; i++) {
		snprintf(junk[i], sizeof(junk[i]), "/etc/sysctl.d/70-junk.conf:%d: line is not*", i + 1);
		warnings[n++] = junk[i];
	}
	warnings[n++] = "/etc/sysctl.d/70-junk.conf:0: 11 more lines with problems not listed";
	warnings[n++] = "/etc/sysctl.d/85-escape.conf:0: cannot open, skipped: *";
	warnings[n++] = "/etc/sysctl.d/86-abs.conf:0: cannot open, skipped: *";

	load_at(&d, tmp_root, -1);
	check_warnings(&d, warnings, n);
	check_keys(&d, w, root ? 5 : 4);
	/* Unreadable winners still count as read: the tools try them; the
	 * hidden file is procps' only, the directory is read by neither. */
	for (size_t i = 0; i < d.n_files; i++)
		assert_true(d.files[i].used[ORDER_SYSTEMD] || strstr(d.files[i].path, "/.hidden") ||
			    strstr(d.files[i].path, "realdir"));
	assert_int_equal(d.n_files, 14);
	sysctld_release(&d);
}

/* The live system: whatever is installed, it loads and releases cleanly. */
static void test_live_root(void **state)
{
	struct sysctld d;

	(void) state;
	load_at(&d, "/", -1);
	sysctld_release(&d);
}

static void test_release(void **state)
{
	struct sysctld d;

	(void) state;
	memset(&d, 0, sizeof(d));
	sysctld_release(&d);
	sysctld_release(NULL);
	load(&d, "debian", KV(6, 18, 0));
	sysctld_release(&d);
	assert_null(d.files);
	assert_int_equal(n_sd(&d), 0);
	sysctld_release(&d);	/* twice is harmless */
}

/* A root without any of the directories: nothing, and no complaint. */
static void test_missing_root_dirs(void **state)
{
	char path[4096];
	struct sysctld d;

	(void) state;
	/* The fixture root itself has no sysctl.d at all. */
	snprintf(path, sizeof(path), "%s/sysctld", FIXTURES);
	load_at(&d, path, -1);
	assert_int_equal(d.n_files, 0);
	assert_int_equal(n_sd(&d), 0);
	check_quiet(&d);
	check_keys(&d, NULL, 0);
	sysctld_release(&d);
}

/* CONFIG_HZ of the kernel the rows below were observed on. */
#define OBSERVED_HZ 250

/* The kernel's own answers: each row was written to /proc/sys in a
 * throwaway network namespace (`unshare --net`, Linux 6.18, 2026-12-02) by
 * `printf '%b\n' TEXT > /proc/sys/KEY` after resetting the keys to
 * fin_timeout 60, keepalive_probes 9, somaxconn 4096, tw_reuse 2,
 * tw_reuse_delay 1000, ip_unprivileged_port_start 1024 and
 * ip_local_port_range "32768 60999"; "ok" is whether write(2) succeeded
 * and "after" what the key read back (docs/KERNEL.md §1.1, §1.4). */
static void test_kernel_write(void **state)
{
	static const struct {
		const char *key, *text;
		bool ok;
		const char *after;
	} cases[] = {
		{ "net.ipv4.tcp_fin_timeout", "25", true, "25" },
		{ "net.ipv4.tcp_fin_timeout", "25   # shorter", true, "25" },
		{ "net.ipv4.tcp_fin_timeout", "010", true, "8" },
		{ "net.ipv4.tcp_fin_timeout", "0x1e", true, "30" },
		{ "net.ipv4.tcp_fin_timeout", "0X1E", true, "30" },
		{ "net.ipv4.tcp_fin_timeout", "08", false, "60" },
		{ "net.ipv4.tcp_fin_timeout", "0x", false, "60" },
		{ "net.ipv4.tcp_fin_timeout", "+5", false, "60" },
		{ "net.ipv4.tcp_fin_timeout", "-5", true, "-5" },
		{ "net.ipv4.tcp_fin_timeout", "-0", true, "0" },
		{ "net.ipv4.tcp_fin_timeout", "-", false, "60" },
		{ "net.ipv4.tcp_fin_timeout", "12abc", false, "60" },
		{ "net.ipv4.tcp_fin_timeout", "30s", false, "60" },
		{ "net.ipv4.tcp_fin_timeout", "5,6", false, "60" },
		{ "net.ipv4.tcp_fin_timeout", "7 8", true, "7" },
		{ "net.ipv4.tcp_fin_timeout", "7\t8x", true, "7" },
		{ "net.ipv4.tcp_fin_timeout", "", false, "60" },
		{ "net.ipv4.tcp_fin_timeout", "abc", false, "60" },
		{ "net.ipv4.tcp_fin_timeout", "\f13", true, "13" },
		{ "net.ipv4.tcp_fin_timeout", "13\f", false, "60" },
		{ "net.ipv4.tcp_fin_timeout", "13\r", false, "60" },
		{ "net.ipv4.tcp_fin_timeout", "= 7", false, "60" },
		{ "net.ipv4.tcp_fin_timeout", "2147483", true, "2147483" },
		{ "net.ipv4.tcp_fin_timeout", "-2147483", true, "-2147483" },
		{ "net.ipv4.tcp_fin_timeout", "99999999999999999999", false, "60" },
		{ "net.ipv4.tcp_fin_timeout", "000000000000000000025", false, "60" },
		{ "net.ipv4.tcp_fin_timeout", "00000000000000000025", true, "21" },
		{ "net.ipv4.tcp_keepalive_probes", "255", true, "255" },
		{ "net.ipv4.tcp_keepalive_probes", "256", false, "9" },
		{ "net.ipv4.tcp_keepalive_probes", "-0", false, "9" },
		{ "net.ipv4.tcp_keepalive_probes", "-1", false, "9" },
		{ "net.ipv4.tcp_keepalive_probes", "0x10", true, "16" },
		{ "net.ipv4.tcp_keepalive_probes", "4294967296", false, "9" },
		{ "net.ipv4.tcp_tw_reuse", "3", false, "2" },
		{ "net.ipv4.tcp_tw_reuse", "0", true, "0" },
		{ "net.ipv4.tcp_tw_reuse_delay", "0", false, "1000" },
		{ "net.ipv4.tcp_tw_reuse_delay", "60000", true, "60000" },
		{ "net.ipv4.tcp_tw_reuse_delay", "60001", false, "1000" },
		{ "net.core.somaxconn", "-1", false, "4096" },
		{ "net.core.somaxconn", "2147483647", true, "2147483647" },
		{ "net.core.somaxconn", "2147483648", false, "4096" },
		{ "net.core.somaxconn", "+5", false, "4096" },
		{ "net.ipv4.ip_local_port_range", "1024 65535", true, "1024 65535" },
		{ "net.ipv4.ip_local_port_range", "1024 65536", false, "32768 60999" },
		{ "net.ipv4.ip_local_port_range", "40000", true, "40000 60999" },
		{ "net.ipv4.ip_local_port_range", "40000 50000 60000", true, "40000 50000" },
		{ "net.ipv4.ip_local_port_range", "40000 50000x", false, "32768 60999" },
		{ "net.ipv4.ip_local_port_range", "50000 40000", false, "32768 60999" },
		{ "net.ipv4.ip_local_port_range", "1000 2000", false, "32768 60999" },
		{ "net.ipv4.ip_local_port_range", "1024\t65535", true, "1024 65535" },
		{ "net.ipv4.ip_local_port_range", "0 100", false, "32768 60999" },
		{ "net.ipv4.ip_local_port_range", "070000 60000", true, "28672 60000" },
		{ "net.ipv4.ip_local_port_range", "65000", false, "32768 60999" },
		{ "net.ipv4.ip_local_port_range", "40000 -50000", false, "32768 60999" },
		{ "net.ipv4.ip_unprivileged_port_start", "40000", false, "1024" },
		{ "net.ipv4.ip_unprivileged_port_start", "32768", true, "32768" },
		{ "net.ipv4.ip_unprivileged_port_start", "65536", false, "1024" },
		{ "net.ipv4.ip_unprivileged_port_start", "0", true, "0" },
		/* Added with the same procedure (keepalive_intvl reset to 75,
		 * syncookies to 1, max_syn_backlog to 4096): leading blanks, a
		 * CR or form feed after a number, an exponent, an unsigned key
		 * with a sign, the jiffies bound on every HZ (21474837 >
		 * INT_MAX / 100), and a vector with extra blanks or octal. */
		{ "net.ipv4.tcp_fin_timeout", " \t13", true, "13" },
		{ "net.ipv4.tcp_fin_timeout", "12\rfoo", false, "60" },
		{ "net.ipv4.tcp_keepalive_intvl", "2147483", true, "2147483" },
		{ "net.ipv4.tcp_keepalive_intvl", "21474837", false, "75" },
		{ "net.ipv4.tcp_keepalive_intvl", "-5", true, "-5" },
		{ "net.ipv4.tcp_syncookies", "-1", false, "1" },
		{ "net.ipv4.tcp_syncookies", "3", true, "3" },
		{ "net.ipv4.tcp_syncookies", "255", true, "255" },
		{ "net.ipv4.tcp_syncookies", "256", false, "1" },
		{ "net.ipv4.tcp_max_syn_backlog", "1e3", false, "4096" },
		{ "net.ipv4.ip_local_port_range", "  40000   50000  ", true, "40000 50000" },
		{ "net.ipv4.ip_local_port_range", "40000\f50000", false, "32768 60999" },
		{ "net.ipv4.ip_local_port_range", "040000 50000", true, "16384 50000" },
		/* The jiffies bound of this kernel (CONFIG_HZ=250, from
		 * /proc/config.gz): INT_MAX / 250 = 8589934 s, both signs. */
		{ "net.ipv4.tcp_keepalive_intvl", "2147484", true, "2147484" },
		{ "net.ipv4.tcp_keepalive_intvl", "8589934", true, "8589934" },
		{ "net.ipv4.tcp_keepalive_intvl", "8589935", false, "75" },
		{ "net.ipv4.tcp_keepalive_intvl", "-8589934", true, "-8589934" },
		{ "net.ipv4.tcp_keepalive_intvl", "-8589935", false, "75" },
		{ "net.ipv4.tcp_fin_timeout", "8589934", true, "8589934" },
		{ "net.ipv4.tcp_fin_timeout", "8589935", false, "60" },
	};
	static const struct { const char *key, *value; } reset[] = {
		{ "net.ipv4.tcp_fin_timeout", "60" }, { "net.ipv4.tcp_keepalive_probes", "9" },
		{ "net.core.somaxconn", "4096" }, { "net.ipv4.tcp_tw_reuse", "2" },
		{ "net.ipv4.tcp_tw_reuse_delay", "1000" }, { "net.ipv4.ip_unprivileged_port_start", "1024" },
		{ "net.ipv4.ip_local_port_range", "32768 60999" }, { "net.ipv4.tcp_keepalive_intvl", "75" },
		{ "net.ipv4.tcp_syncookies", "1" }, { "net.ipv4.tcp_max_syn_backlog", "4096" },
	};
	long long (*st)[2] = calloc(key_count, sizeof(*st));

	(void) state;
	assert_non_null(st);
	for (size_t i = 0; i < ARRAY_SIZE(reset); i++) {
		int k = key_index(reset[i].key);

		assert_true(k >= 0);
		assert_int_equal(key_parse_value(&key_table[k], reset[i].value, st[k]), 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int k = key_index(cases[i].key);
		long long v[2] = { 0, 0 };
		char why[160] = "", got[64];
		bool ok;

		assert_true(k >= 0);
		ok = key_kernel_write(&key_table[k], cases[i].text, st[k], OBSERVED_HZ, v, why, sizeof(why)) == 0 &&
		     key_kernel_cross_check((size_t) k, v, (const long long (*)[2]) st, why, sizeof(why)) == 0;
		if (!ok)
			memcpy(v, st[k], sizeof(v));
		assert_true(key_format_value(&key_table[k], v, got, sizeof(got)) > 0);
		if (ok != cases[i].ok || strcmp(got, cases[i].after) != 0)
			fail_msg("%s = '%s': %s, %s (%s); the kernel: %s, %s", cases[i].key, cases[i].text,
				 ok ? "accepted" : "refused", got, why, cases[i].ok ? "accepted" : "refused",
				 cases[i].after);
		assert_true(ok || why[0] != '\0');	/* a refusal always says why */
	}
	free(st);
}

/* The jiffies bound for other HZ values and for an unknown HZ, from
 * do_proc_dointvec_jiffies_conv() (|v| > INT_MAX / HZ is refused,
 * docs/KERNEL.md §1.2): an unknown HZ refuses only what every HZ refuses
 * (above INT_MAX / 24) and marks what depends on it. */
static void test_jiffies_hz(void **state)
{
	const struct key_def *k = key_lookup("net.ipv4.tcp_keepalive_time");
	const long long cur[2] = { 7200, 0 };
	long long v[2], lo, hi;
	char why[160];

	(void) state;
	assert_non_null(k);
	assert_true(k->jiffies);
	key_kernel_bounds(k, 1000, &lo, &hi);
	assert_true(lo == -2147483 && hi == 2147483);
	key_kernel_bounds(k, 100, &lo, &hi);
	assert_true(lo == -21474836 && hi == 21474836);
	assert_int_equal(key_kernel_write(k, "2147484", cur, 1000, v, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "HZ=1000"));
	assert_int_equal(key_kernel_write(k, "2147484", cur, 100, v, why, sizeof(why)), 0);
	assert_int_equal(v[0], 2147484);
	/* HZ unknown: INT_MAX/1200 is taken everywhere (alpha offers HZ 1200),
	 * one more only where HZ is at most 1199, and INT_MAX/1000 where it is
	 * at most 1000 (INT_MAX / 2147483 = 1000.0002). */
	assert_int_equal(key_kernel_write(k, "1789569", cur, 0, v, why, sizeof(why)), 0);
	assert_int_equal(key_kernel_write(k, "1789570", cur, 0, v, why, sizeof(why)), KEY_WRITE_HZ_DEPENDS);
	assert_non_null(strstr(why, "at most 1199"));
	assert_int_equal(key_kernel_write(k, "2147483", cur, 0, v, why, sizeof(why)), KEY_WRITE_HZ_DEPENDS);
	assert_non_null(strstr(why, "at most 1000"));
	why[0] = '\0';
	assert_int_equal(key_kernel_write(k, "8589935", cur, 0, v, why, sizeof(why)), KEY_WRITE_HZ_DEPENDS);
	assert_int_equal(v[0], 8589935);
	assert_non_null(strstr(why, "at most 249"));
	assert_int_equal(key_kernel_write(k, "89478485", cur, 0, v, why, sizeof(why)), KEY_WRITE_HZ_DEPENDS);
	assert_int_equal(key_kernel_write(k, "89478486", cur, 0, v, why, sizeof(why)), -EINVAL);
	/* A key that is not jiffies-based ignores HZ. */
	k = key_lookup("net.core.somaxconn");
	assert_int_equal(key_kernel_write(k, "2147483647", cur, 0, v, why, sizeof(why)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basename_order),
		cmocka_unit_test(test_same_basename),
		cmocka_unit_test(test_masks),
		cmocka_unit_test(test_debian_sysctl_conf),
		cmocka_unit_test(test_sysctl_conf_without_link),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_glob),
		cmocka_unit_test_setup_teardown(test_bad_input, build_bad_root, remove_bad_root),
		cmocka_unit_test(test_live_root),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_missing_root_dirs),
		cmocka_unit_test(test_kernel_write),
		cmocka_unit_test(test_jiffies_hz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
