/* The sysctl.d reader and parser (see sysctld.h and sysctld_int.h): one
 * configuration file read under the audited root, its lines parsed as
 * systemd-sysctl parses them, keys normalized, globs matched.  Shared by the
 * resolver (sysctld.c) and the re-applier detection (reappliers.c). */
#include "sysctld.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "rootfs.h"
#include "strutil.h"
#include "sysctld_int.h"

#define CONF_MAX (1024 * 1024)	/* bytes per file; a larger one is not configuration */
#define LINE_WARN_MAX 20	/* per file: binary junk would otherwise add a warning per line */

/* Room for element n of an array of cap elements: returns v, a larger copy
 * (new elements zeroed, *cap updated), or NULL with v untouched. */
void *sysctld_grow(void *v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	char *nv;

	if (n < *cap)
		return v;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / size)
		return NULL;
	nv = realloc(v, ncap * size);
	if (!nv)
		return NULL;
	memset(nv + *cap * size, 0, (ncap - *cap) * size);
	*cap = ncap;
	return nv;
}

/* The capacity of d->warnings, which follows from the count (as sysctld_grow()
 * leaves it) because the public struct has no field for it: the functions
 * shared with snap_reappliers.c add warnings through d alone. */
static size_t warnings_cap(size_t n)
{
	size_t cap = 16;

	if (n == 0)
		return 0;
	while (cap < n)
		cap *= 2;
	return cap;
}

/* Record a warning.  Returns 0, or -ENOMEM. */
int sysctld_add_warning(struct sysctld *d, const char *file, unsigned line, const char *fmt, ...)
{
	size_t cap = warnings_cap(d->n_warnings);
	struct sysctld_warning *w;
	va_list ap;
	int n;

	w = sysctld_grow(d->warnings, &cap, d->n_warnings, sizeof(*w));
	if (!w)
		return -ENOMEM;
	d->warnings = w;
	w = &d->warnings[d->n_warnings++];
	w->line = line;
	va_start(ap, fmt);
	n = vasprintf(&w->text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		w->text = NULL;
		return -ENOMEM;
	}
	w->file = strdup(file);
	return w->file ? 0 : -ENOMEM;
}

bool sysctld_is_glob(const char *key)
{
	return strpbrk(key, "*?[") != NULL;
}

/* Trade '.' and '/': turns a dotted key into its /proc/sys path and back,
 * keeping a dot inside a component ("eth0.100") literal (sysctl.d(5)). */
void sysctld_swap_separators(char *s)
{
	for (; *s; s++) {
		if (*s == '.')
			*s = '/';
		else if (*s == '/')
			*s = '.';
	}
}

/* Both tools accept "net/ipv4/x" as well as "net.ipv4.x"; which form a key
 * uses is decided by its first separator. */
static void key_normalize(char *key)
{
	const char *sep = strpbrk(key, "./");

	if (sep && *sep == '/')
		sysctld_swap_separators(key);
}

/* Exact lookup: key_lookup() would also map "eth0/100" to "eth0.100". */
static int append_assign(struct sysctld_assign **v, size_t *n, size_t *cap, const char *file,
			 unsigned line, const char *key, const char *value, bool ignore_failure)
{
	struct sysctld_assign *a;

	a = sysctld_grow(*v, cap, *n, sizeof(*a));
	if (!a)
		return -ENOMEM;
	*v = a;
	a = &(*v)[(*n)++];
	a->line = line;
	a->ignore_failure = ignore_failure;
	a->file = strdup(file);
	a->key = strdup(key);
	a->value = strdup(value);
	return a->file && a->key && a->value ? 0 : -ENOMEM;
}

struct sysctld_assign *sysctld_assigns_free(struct sysctld_assign *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].file);
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
	return NULL;
}

static int line_problem(struct sysctld *d, const char *file, unsigned line, unsigned *problems,
			const char *text)
{
	if (++*problems > LINE_WARN_MAX)
		return 0;
	return sysctld_add_warning(d, file, line, "%s", text);
}

/* As systemd-sysctl's parse_file(). */
int sysctld_parse_conf(struct sysctld *d, const char *file, char *buf,
		       struct sysctld_assign **v, size_t *n, size_t *cap)
{
	unsigned lineno = 0, problems = 0;
	char *next = buf;
	int r;

	while (next) {
		char *line = next, *eq, *key;
		bool ignore_failure = false;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		line = str_strip(line);
		if (*line == '\0' || *line == '#' || *line == ';')
			continue;
		if (*line == '-') {
			ignore_failure = true;
			line++;
		}
		eq = strchr(line, '=');
		if (!eq) {
			r = line_problem(d, file, lineno, &problems,
					 "line is not an assignment, ignored");
			if (r < 0)
				return r;
			continue;
		}
		*eq = '\0';
		key = str_strip(line);
		if (*key == '\0') {
			r = line_problem(d, file, lineno, &problems, "empty key, line ignored");
			if (r < 0)
				return r;
			continue;
		}
		key_normalize(key);
		r = append_assign(v, n, cap, file, lineno, key, str_strip(eq + 1), ignore_failure);
		if (r < 0)
			return r;
	}
	if (problems > LINE_WARN_MAX)
		return sysctld_add_warning(d, file, 0, "%u more lines with problems not listed",
				   problems - LINE_WARN_MAX);
	return 0;
}

/* The result of a skipped file: r from sysctld_add_warning(), 0 or -ENOMEM. */
static int skipped(int r)
{
	return r < 0 ? r : SYSCTLD_READ_SKIPPED;
}

int sysctld_read_conf(struct sysctld *d, int rootfd, const char *rel, const char *host,
		      char **ret_buf, struct stat *ret_st)
{
	struct stat st;
	char *buf;
	int fd, r;

	/* O_PATH first: opening a FIFO for reading would block. */
	fd = rootfs_openat(rootfd, rel, O_PATH);
	if (fd < 0)
		return skipped(sysctld_add_warning(d, host, 0, "cannot open, skipped: %s", strerror(-fd)));
	r = fstat(fd, &st) < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return skipped(sysctld_add_warning(d, host, 0, "cannot stat, skipped: %s", strerror(-r)));
	/* Live, a link to /dev/null by any route is reached here (systemd's
	 * null_or_empty()); under --root only the literal link text is seen. */
	if (S_ISCHR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size == 0))
		return SYSCTLD_READ_NULL;
	if (!S_ISREG(st.st_mode))
		return skipped(sysctld_add_warning(d, host, 0, "not a regular file, skipped"));
	r = rootfs_read_file(rootfd, rel, CONF_MAX, &buf, NULL);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return skipped(sysctld_add_warning(d, host, 0, "cannot read, skipped: %s%s", rootfs_strerror(r),
					   r == -EFBIG ? " (larger than 1 MiB)" :
					   r == -EINVAL ? " (contains a NUL byte)" : ""));
	*ret_buf = buf;
	if (ret_st)
		*ret_st = st;
	return SYSCTLD_READ_TEXT;
}

bool sysctld_assign_matches(const struct sysctld_assign *a, const char *name, const char *path)
{
	char pattern[PATH_MAX];

	if (!sysctld_is_glob(a->key))
		return strcmp(a->key, name) == 0;
	/* systemd expands a glob against /proc/sys (glob(3)), so a '*' never
	 * spans a separator: match in path form with FNM_PATHNAME. */
	if (str_printf(pattern, sizeof(pattern), "%s", a->key) < 0)
		return false;
	sysctld_swap_separators(pattern);
	return fnmatch(pattern, path, FNM_PATHNAME) == 0;
}
