/* Number parsing and string helpers; see strutil.h. */
#include "strutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int parse_ll(const char *s, long long min, long long max, long long *ret)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -EINVAL;
	/* strtoll skips leading blanks; a whole-string parse must not. */
	if (!((*s >= '0' && *s <= '9') || *s == '-' || *s == '+'))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_ll_trim(const char *s, long long min, long long max, long long *ret)
{
	char buf[64];
	size_t n;

	if (!s)
		return -EINVAL;
	n = strlen(s);
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n + 1);
	return parse_ll(str_strip(buf), min, max, ret);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

char *str_strip(char *s)
{
	size_t n;

	while (is_blank(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

int str_printf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t) n >= len)
		return -ENAMETOOLONG;
	return 0;
}
