/* Boot configuration: what systemd-sysctl and procps `sysctl --system` would
 * set at boot, resolved from sysctl.d directories and /etc/sysctl.conf under
 * a root directory.  Per tracked key (key table): the winning file:line under
 * each order and the assignments it overrides; keys set in files that the
 * running kernel lacks (stale), classified; programs that re-write sysctls
 * after boot (found by reappliers.h).  Semantics: docs/KERNEL.md §10
 * (systemd 252 sysctl.d(5), procps-ng 4.0.2 PreloadSystem()). */
#ifndef TCPTUNE_ADVISOR_SYSCTLD_H
#define TCPTUNE_ADVISOR_SYSCTLD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

enum sysctld_order {
	ORDER_SYSTEMD,		/* systemd-sysctl: sysctl.d only, /etc/sysctl.conf ignored */
	ORDER_PROCPS,		/* sysctl --system: sysctl.d, then /etc/sysctl.conf last */
	ORDER__COUNT
};

/* One "key = value" line (or "-key", an exclusion from globs) as one of
 * the programs reads it: each file is parsed once per order, because the
 * two split lines, strip and normalize keys differently (docs/KERNEL.md
 * §10.3). */
struct sysctld_assign {
	char *file;		/* the file to edit, host path, e.g. "/etc/sysctl.conf" for Debian's
				 * 99-sysctl.conf link (no --root prefix) */
	unsigned line;		/* 1-based */
	char *key;		/* normalized: dotted form; may contain glob characters */
	char *raw;		/* dotted, separators traded only: what procps compares */
	char *value;		/* stripped; "" for an exclusion */
	bool ignore_failure;	/* "-" prefix */
	bool exclude;		/* "-key" without "=": no glob sets this key (sysctl.d(5)) */
	bool unreachable;	/* procps: a trailing separator makes the write fail (ENOTDIR) */
	enum sysctld_order order;	/* the program that reads the line this way */
	size_t file_idx;	/* index in sysctld.files */
};

/* A line whose value the kernel refuses for a tracked key: the key keeps
 * what it had (docs/KERNEL.md §1.1, §1.2, §1.4). */
struct sysctld_rejected {
	size_t key;		/* key table index */
	char *file;
	unsigned line;
	char *value;		/* as written */
	char *why;		/* "65536 is outside the kernel's range 1 to 65535" */
	bool order[ORDER__COUNT];	/* refused when that program writes it */
};

/* A configuration file considered by one or both orders. */
struct sysctld_file {
	char *path;		/* host path */
	bool masked;		/* symlink to /dev/null or empty file that shadows others */
	char *shadowed_by;	/* non-NULL: same basename in a higher-priority dir wins, this is ignored */
	bool used[ORDER__COUNT];	/* read by that order */
};

enum stale_reason {
	STALE_REMOVED,		/* the key table says a kernel release removed it */
	STALE_NOT_NAMESPACED,	/* host-wide key, absent in this network namespace */
	STALE_MODULE,		/* provided by a module that is not loaded */
	STALE_UNKNOWN,
	STALE_INTERFACE,	/* an interface's key: applies when the interface appears */
};

struct sysctld_stale {
	char *key;
	char *file;
	unsigned line;
	enum stale_reason reason;
	char *detail;		/* e.g. "removed in 4.12", "module nf_conntrack not loaded" */
};

/* Per tracked key (index = key table index). */
struct sysctld_key {
	const struct sysctld_assign *winner[ORDER__COUNT];	/* last accepted write; NULL: boot leaves the kernel default */
	long long value[ORDER__COUNT][2];	/* what the key holds after boot, when winner is set */
	const struct sysctld_assign **overridden[ORDER__COUNT];	/* earlier assignments the winner beats */
	size_t n_overridden[ORDER__COUNT];
};

/* A program that re-writes sysctls after boot and may undo ours. */
struct sysctld_reapplier {
	char *name;		/* "tuned", "ufw", "bpftune" */
	char *detail;		/* why we think so: file and setting */
	char **keys;		/* tracked keys it sets, when known (ufw's sysctl file) */
	size_t n_keys;
};

struct sysctld_warning {
	char *file;
	unsigned line;
	char *text;		/* "line is not an assignment" ... */
};

struct sysctld {
	struct sysctld_file *files;
	size_t n_files;
	struct sysctld_assign *assigns;	/* in application order (systemd order), all files */
	size_t n_assigns;
	struct sysctld_key *keys;	/* key_count entries */
	struct sysctld_stale *stale;
	size_t n_stale;
	struct sysctld_reapplier *reappliers;
	size_t n_reappliers;
	struct sysctld_warning *warnings;
	size_t n_warnings;
	struct sysctld_rejected *rejected;
	size_t n_rejected;
};

/* Resolve the boot configuration under rootfd (a directory fd of "/" or the
 * --root directory).  kernel_version is major*65536+minor*256+patch or -1,
 * kernel_hz the kernel's CONFIG_HZ or 0 (the range of jiffies keys).
 * Unreadable files become warnings; returns 0, or -ENOMEM. */
int sysctld_load(struct sysctld *d, int rootfd, long kernel_version, int kernel_hz);
void sysctld_release(struct sysctld *d);

const char *sysctld_stale_reason_name(enum stale_reason r);

/* The sysctl.d reader and parser, shared with snap_reappliers.c (ufw applies
 * a file in this syntax).  Problems become warnings appended to d. */

enum {
	SYSCTLD_READ_SKIPPED,	/* cannot be read; a warning says why */
	SYSCTLD_READ_TEXT,	/* its text is in *ret_buf */
	SYSCTLD_READ_NULL,	/* empty, or the null device: a mask */
};

/* Read the configuration file rel under rootfd; host is its name in warnings
 * ("/etc/sysctl.d/x.conf").  Returns SYSCTLD_READ_TEXT with *ret_buf
 * (NUL-terminated after *ret_len bytes, which may hold NUL bytes as the
 * programs read them; the caller frees it; ret_len may be NULL) and, when
 * ret_st is not NULL, the stat of the file reached through any symlinks in
 * *ret_st; SYSCTLD_READ_NULL; SYSCTLD_READ_SKIPPED after adding a warning
 * (missing, unreadable, not a regular file, over 16 MiB); or -ENOMEM. */
int sysctld_read_conf(struct sysctld *d, int rootfd, const char *rel, const char *host,
		      char **ret_buf, size_t *ret_len, struct stat *ret_st);

/* Parse len bytes of buf as program o reads them (docs/KERNEL.md §10.3) and
 * append the assignments, tagged with o, as sysctld_parse_conf() does.
 * Warnings are added for ORDER_SYSTEMD only, so a file is not reported
 * twice.  Returns 0 or -ENOMEM. */
int sysctld_parse_conf_as(struct sysctld *d, const char *file, const char *buf, size_t len,
			  enum sysctld_order o, struct sysctld_assign **v, size_t *n, size_t *cap);

/* Parse buf (NUL-terminated, modified in place) as systemd-sysctl does and
 * append one assignment per "key = value" line, keys normalized, to the
 * array *v of *n entries with room for *cap (start at NULL, 0, 0).  file is
 * the host path recorded in each assignment and in the warnings about bad
 * lines, at most 20 per file plus a count.  Returns 0 or -ENOMEM; either way
 * *v and *n stay consistent for sysctld_assigns_free(). */
int sysctld_parse_conf(struct sysctld *d, const char *file, char *buf,
		       struct sysctld_assign **v, size_t *n, size_t *cap);

/* Does a (its key possibly a glob) set the tracked key name, whose /proc/sys
 * path (key_proc_path()) is path?  A glob matches as systemd expands it. */
bool sysctld_assign_matches(const struct sysctld_assign *a, const char *name, const char *path);

/* The boot precedence around one sysctl.d file, for tcptune's managed file:
 * per order, the last line of another file that would beat an explicit
 * setting of tracked key k in the file at path (which need not exist yet),
 * or NULL where path's line would win.  Uses the same rules as the
 * resolution: basename order across directories, /etc/sysctl.conf last for
 * procps, shadowed and masked files ignored, globs matched and yielding to
 * explicit lines where the program does so. */
void sysctld_overrides(const struct sysctld *d, size_t k, const char *path,
		       const struct sysctld_assign *ret[ORDER__COUNT]);

/* Does the file at path set tracked key k (globs matched) while another
 * file wins it at boot under either order? */
bool sysctld_file_loses(const struct sysctld *d, size_t k, const char *path);

/* What tracked key k holds after boot under order o, in the kernel's text
 * form ("40000 60999": a vector written in part keeps its other element),
 * into buf.  Returns the length, -ENOENT when boot leaves the key as it
 * was (no accepted write), or -EOVERFLOW. */
int sysctld_boot_value(const struct sysctld *d, size_t k, enum sysctld_order o, char *buf, size_t len);

/* Free n assignments (half-built ones too) and the array v, which may be
 * NULL.  Returns NULL. */
struct sysctld_assign *sysctld_assigns_free(struct sysctld_assign *v, size_t n);

#endif
