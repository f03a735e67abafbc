/* The sysctl.d reader and parser (see sysctld.h and sysctld_int.h): one
 * configuration file read under the audited root, its lines parsed as
 * systemd-sysctl parses them, keys normalized, globs matched.  Shared by the
 * resolver (sysctld.c) and the re-applier detection (reappliers.c). */
#include "sysctld.h"

#include <ctype.h>
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
#include "readfile.h"
#include "rootfs.h"
#include "strutil.h"
#include "sysctld_int.h"

/* Neither program limits a file's size (a 2.5 MB file is read to its end
 * by both, docs/KERNEL.md §10.3); the cap only bounds memory. */
#define CONF_MAX (16 * 1024 * 1024)
#define SD_LONG_LINE_MAX (1024 * 1024)	/* systemd's LONG_LINE_MAX for read_line() */
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

/* One home for lexical path simplification (sysctld_int.h): key spellings
 * here, link targets in sysctld.c. */
void sysctld_path_simplify(const char *in, char *out, bool absolute)
{
	size_t o = 0, base = absolute ? 1 : 0;

	if (absolute)
		out[o++] = '/';
	for (const char *c = in; *c;) {
		size_t len = strcspn(c, "/");

		if (len == 2 && c[0] == '.' && c[1] == '.') {
			while (o > base && out[o - 1] != '/')
				o--;
			if (o > base)
				o--;
		} else if (len > 0 && !(len == 1 && c[0] == '.')) {
			if (o > base)
				out[o++] = '/';
			memcpy(out + o, c, len);
			o += len;
		}
		c += len;
		c += *c == '/';
	}
	out[o] = '\0';
}

/* The /proc/sys file a key names, as the program writes it and the
 * kernel's path walk finds it (docs/KERNEL.md §10.3): separators traded
 * when the first one is '.' (both programs), then empty and "." components
 * dropped and ".." going up (systemd's path_simplify(), the kernel's lookup
 * for procps).  Returns the dotted form in a new string, or NULL on
 * -ENOMEM; *ret_trailing says the key ended with a separator, which the
 * kernel refuses for a file (ENOTDIR) when procps keeps it. */
static char *key_canonical(const char *key, bool *ret_trailing)
{
	size_t n = strlen(key);
	const char *sep = strpbrk(key, "./");
	char *tmp, *out;

	tmp = strdup(key);
	out = malloc(n + 1);
	if (!tmp || !out) {
		free(tmp);
		free(out);
		return NULL;
	}
	if (sep && *sep == '.')
		sysctld_swap_separators(tmp);
	*ret_trailing = n > 0 && tmp[n - 1] == '/';
	sysctld_path_simplify(tmp, out, false);
	free(tmp);
	sysctld_swap_separators(out);
	return out;
}

static int append_assign(struct sysctld_assign **v, size_t *n, size_t *cap, const char *file,
			 unsigned line, const char *key, const char *value, bool ignore_failure,
			 bool exclude, enum sysctld_order o)
{
	struct sysctld_assign *a;
	bool trailing = false;

	a = sysctld_grow(*v, cap, *n, sizeof(*a));
	if (!a)
		return -ENOMEM;
	*v = a;
	a = &(*v)[(*n)++];
	a->line = line;
	a->ignore_failure = ignore_failure;
	a->exclude = exclude;
	a->order = o;
	a->file = strdup(file);
	a->key = key_canonical(key, &trailing);
	a->raw = strdup(key);
	if (a->raw && strpbrk(key, "./") && *strpbrk(key, "./") == '/')
		sysctld_swap_separators(a->raw);
	a->unreachable = trailing && o == ORDER_PROCPS;
	a->value = strdup(value);
	return a->file && a->key && a->raw && a->value ? 0 : -ENOMEM;
}

struct sysctld_assign *sysctld_assigns_free(struct sysctld_assign *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].file);
		free(v[i].key);
		free(v[i].raw);
		free(v[i].value);
	}
	free(v);
	return NULL;
}

static int line_problem(struct sysctld *d, const char *file, unsigned line, unsigned *problems,
			enum sysctld_order o, const char *text)
{
	if (o != ORDER_SYSTEMD || ++*problems > LINE_WARN_MAX)
		return 0;
	return sysctld_add_warning(d, file, line, "%s", text);
}

/* systemd's WHITESPACE (" \t\n\r"): strstrip() leaves a form feed or a
 * vertical tab in place, procps' isspace() does not. */
static bool sd_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static char *strip_with(char *s, bool (*is_ws)(char))
{
	char *e;

	while (*s && is_ws(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_ws(e[-1]))
		*--e = '\0';
	return s;
}

static bool c_space(char c)
{
	return isspace((unsigned char) c) != 0;
}

/* One line of systemd-sysctl's parse_file() (systemd 252). */
static int parse_line_systemd(struct sysctld *d, const char *file, unsigned lineno, char *line,
			      unsigned *problems, struct sysctld_assign **v, size_t *n, size_t *cap)
{
	bool ignore_failure = false, exclude = false;
	char *p = strip_with(line, sd_space), *eq, *value = NULL;

	if (*p == '\0' || *p == '#' || *p == ';')
		return 0;
	eq = strchr(p, '=');
	if (eq) {
		if (*p == '-') {
			ignore_failure = true;
			p++;
		}
		*eq = '\0';
		value = strip_with(eq + 1, sd_space);
	} else if (*p == '-') {
		exclude = true;
		p++;
	} else {
		return line_problem(d, file, lineno, problems, ORDER_SYSTEMD,
				    "line is not an assignment, ignored");
	}
	p = strip_with(p, sd_space);
	if (*p == '\0')
		return line_problem(d, file, lineno, problems, ORDER_SYSTEMD, "empty key, line ignored");
	return append_assign(v, n, cap, file, lineno, p, exclude ? "" : value, ignore_failure, exclude,
			     ORDER_SYSTEMD);
}

/* One line of procps' Preload() (procps-ng 4.0.2), by experiment
 * (docs/KERNEL.md §10.3): isspace() stripping, lines shorter than two
 * characters skipped, the name up to the first '=' (empty when the line
 * starts with one), the value the rest of the line after leading blanks
 * and tabs. */
static int parse_line_procps(struct sysctld *d, const char *file, unsigned lineno, char *line,
			     unsigned *problems, struct sysctld_assign **v, size_t *n, size_t *cap)
{
	bool ignore_failure = false;
	char *t = strip_with(line, c_space), *name, *eq, *value;

	if (strlen(t) < 2 || *t == '#' || *t == ';')
		return 0;
	if (*t == '-') {
		ignore_failure = true;
		t++;
	}
	/* A line that starts with '=' names the empty key: procps refuses
	 * the path "/proc/sys/" and writes nothing (observed, docs/KERNEL.md
	 * §10.3). */
	name = t;
	eq = strchr(name, '=');
	if (!eq && ignore_failure && *name)
		return append_assign(v, n, cap, file, lineno, strip_with(name, c_space), "", false, true,
				     ORDER_PROCPS);
	if (!eq || eq == name)
		return line_problem(d, file, lineno, problems, ORDER_PROCPS, "invalid syntax");
	*eq = '\0';
	/* "key =" with nothing after it: procps writes a lone newline, which
	 * the kernel refuses, so the key keeps its value and still counts as
	 * set explicitly (a glob skips it); a glob "KEY* =" writes the newline
	 * to every match (observed with strace, docs/KERNEL.md §10.3). */
	if (eq[1] == '\0')
		return *strip_with(name, c_space) == '\0' ? 0 :
			append_assign(v, n, cap, file, lineno, strip_with(name, c_space), "", ignore_failure,
				      false, ORDER_PROCPS);
	value = eq + 1 + strspn(eq + 1, " \t");
	name = strip_with(name, c_space);
	if (*name == '\0' || *value == '\0')
		return line_problem(d, file, lineno, problems, ORDER_PROCPS, "invalid syntax");
	return append_assign(v, n, cap, file, lineno, name, value, ignore_failure, false, ORDER_PROCPS);
}

int sysctld_parse_conf_as(struct sysctld *d, const char *file, const char *buf, size_t len,
			  enum sysctld_order o, struct sysctld_assign **v, size_t *n, size_t *cap)
{
	unsigned lineno = 0, problems = 0;
	size_t pos = 0;
	int r = 0;

	while (pos < len && r == 0) {
		size_t end = pos, next;
		char *line;

		/* systemd's read_line(): a line ends at '\n', '\r' or NUL, "\r\n"
		 * is one end; procps' getline() ends lines at '\n' only and a NUL
		 * ends the C string it then works on. */
		if (o == ORDER_SYSTEMD)
			while (end < len && buf[end] != '\n' && buf[end] != '\r' && buf[end] != '\0')
				end++;
		else
			while (end < len && buf[end] != '\n')
				end++;
		next = end + 1;
		/* systemd ends a line with a run of end characters in which each
		 * of '\n', '\r' and NUL appears at most once and NUL comes last
		 * ("\r\n", "\n\r", "\r\0" are one end; "\n\n", "\0\n" two):
		 * its read_line(), by the line numbers it logs (docs/KERNEL.md
		 * §10.4). */
		if (o == ORDER_SYSTEMD && end < len) {
			unsigned seen = 0;

			for (next = end; next < len && !(seen & 4); next++) {
				unsigned type = buf[next] == '\n' ? 1 : buf[next] == '\r' ? 2 :
					buf[next] == '\0' ? 4 : 0;

				if (type == 0 || (seen & type))
					break;
				seen |= type;
			}
		}
		lineno++;
		if (o == ORDER_SYSTEMD && end - pos >= SD_LONG_LINE_MAX) {
			r = sysctld_add_warning(d, file, lineno, "line longer than 1 MiB: systemd-sysctl "
						"stops reading the file here");
			break;
		}
		line = strndup(buf + pos, end - pos);
		if (!line)
			return -ENOMEM;
		r = o == ORDER_SYSTEMD ? parse_line_systemd(d, file, lineno, line, &problems, v, n, cap) :
			parse_line_procps(d, file, lineno, line, &problems, v, n, cap);
		free(line);
		pos = next;
	}
	if (r == 0 && problems > LINE_WARN_MAX)
		r = sysctld_add_warning(d, file, 0, "%u more lines with problems not listed",
					problems - LINE_WARN_MAX);
	return r;
}

int sysctld_parse_conf(struct sysctld *d, const char *file, char *buf,
		       struct sysctld_assign **v, size_t *n, size_t *cap)
{
	return sysctld_parse_conf_as(d, file, buf, strlen(buf), ORDER_SYSTEMD, v, n, cap);
}

/* The result of a skipped file: r from sysctld_add_warning(), 0 or -ENOMEM. */
static int skipped(int r)
{
	return r < 0 ? r : SYSCTLD_READ_SKIPPED;
}

int sysctld_read_conf(struct sysctld *d, int rootfd, const char *rel, const char *host,
		      char **ret_buf, size_t *ret_len, struct stat *ret_st)
{
	struct stat st;
	size_t len;
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
	fd = rootfs_open_regular(rootfd, rel);
	if (fd < 0)
		return skipped(sysctld_add_warning(d, host, 0, "cannot read, skipped: %s", rootfs_strerror(fd)));
	/* NUL bytes are kept: both programs read such a file (§10.3). */
	r = read_fd_capped(fd, CONF_MAX, &buf, &len);
	close(fd);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return skipped(sysctld_add_warning(d, host, 0, "cannot read, skipped: %s%s", rootfs_strerror(r),
					   r == -EFBIG ? " (larger than 16 MiB)" : ""));
	*ret_buf = buf;
	if (ret_len)
		*ret_len = len;
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
