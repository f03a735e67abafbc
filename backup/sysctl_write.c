/* Reading and writing one sysctl under /proc/sys (docs/KERNEL.md §1.5).  The only
 * place a sysctl path is built, and only from a key table row: callers pass an
 * index, never a name.  What to write, and what to do when the kernel refuses,
 * is the transaction's business. */
#include "sysctl_write.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"

/* Our keys print at most two integers; anything longer is not what we think. */
#define VALUE_MAX 128

static int key_path(const char *proc_sys, size_t key, char *buf, size_t len)
{
	char rel[128];
	int n, r;

	if (key >= key_count)
		return -EINVAL;
	r = key_proc_path(&key_table[key], rel, sizeof(rel));
	if (r < 0)
		return r;
	n = snprintf(buf, len, "%s/%s", proc_sys, rel);
	if (n < 0 || (size_t) n >= len)
		return -ENAMETOOLONG;
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* Collapse runs of blanks to one space and drop them at both ends, in place:
 * "32768\t60999\n" -> "32768 60999". */
static void normalize(char *s)
{
	char *out = s;
	bool gap = false;

	for (const char *in = s; *in; in++) {
		if (is_blank(*in)) {
			gap = out != s;
			continue;
		}
		if (gap)
			*out++ = ' ';
		gap = false;
		*out++ = *in;
	}
	*out = '\0';
}

int sysctl_read(const char *proc_sys, size_t key, char *buf, size_t len)
{
	char path[PATH_MAX], raw[VALUE_MAX + 1];
	size_t got = 0;
	int fd, r;

	r = key_path(proc_sys, key, path, sizeof(path));
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* procfs hands out the whole value in the first read; loop anyway, so a
	 * fake tree or a short read cannot cut a value in half. */
	while (got < sizeof(raw)) {
		ssize_t n = read(fd, raw + got, sizeof(raw) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t) n;
	}
	close(fd);
	if (r < 0)
		return r;
	if (got == sizeof(raw))
		return -EOVERFLOW;
	if (memchr(raw, '\0', got))
		return -EINVAL;
	raw[got] = '\0';
	normalize(raw);
	if (strlen(raw) >= len)
		return -EOVERFLOW;
	memcpy(buf, raw, strlen(raw) + 1);
	return 0;
}

/* The value as we write it: decimal, one space between a pair, newline. */
int sysctl_write(const char *proc_sys, size_t key, const char *value, char *ret_readback, size_t len)
{
	char path[PATH_MAX], text[64], back[VALUE_MAX];
	const struct key_def *k;
	long long v[2];
	ssize_t n;
	int fd, r, tlen;

	/* docs/SECURITY.md: only writable rows of the table, checked before any path. */
	if (key >= key_count || !key_table[key].writable)
		return -EPERM;
	k = &key_table[key];
	if (!value || key_parse_value(k, value, v) < 0)
		return -EINVAL;
	tlen = key_format_value(k, v, text, sizeof(text) - 1);
	if (tlen < 0)
		return tlen;
	text[tlen++] = '\n';
	text[tlen] = '\0';
	r = key_path(proc_sys, key, path, sizeof(path));
	if (r < 0)
		return r;

	/* No O_TRUNC, no O_CREAT: a sysctl that does not exist is -ENOENT, and
	 * nothing but the kernel's own files is ever written here. */
	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* One write at offset 0: with kernel.sysctl_writes_strict=1 (the
	 * default) a second write would be at a non-zero offset and ignored or
	 * refused, so a short write is an error, never continued.  EINTR before
	 * anything was written leaves the offset at 0, so that one is retried. */
	do
		n = write(fd, text, (size_t) tlen);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		r = -errno;
	else if (n != tlen)
		r = -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		return r;

	/* Read back through a fresh open: the kernel may have clamped it. */
	r = sysctl_read(proc_sys, key, back, sizeof(back));
	if (r < 0)
		return r;
	if (ret_readback && len > 0) {
		if (strlen(back) >= len)
			return -EOVERFLOW;
		memcpy(ret_readback, back, strlen(back) + 1);
	}
	return sysctl_value_equal(key, back, value) ? 0 : -ERANGE;
}

bool sysctl_value_equal(size_t key, const char *a, const char *b)
{
	long long va[2], vb[2];

	if (key >= key_count || !a || !b)
		return false;
	/* The same text is the same value, even one this build cannot parse
	 * (a port set longer than KEY_PORT_LIST_MAX): the kernel prints a
	 * value one way. */
	if (strcmp(a, b) == 0)
		return true;
	if (key_parse_value(&key_table[key], a, va) < 0 || key_parse_value(&key_table[key], b, vb) < 0)
		return false;
	/* A pair is two numbers; a port set its text's hash and its size. */
	if (key_table[key].type == KEY_INT_PAIR || key_table[key].type == KEY_PORT_LIST)
		return va[0] == vb[0] && va[1] == vb[1];
	return va[0] == vb[0];
}
