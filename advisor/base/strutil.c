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

/* Escaped form of byte c into tmp; returns its length (1, 2 or 4). */
static size_t escape_byte(unsigned char c, char tmp[4])
{
	static const char hex[] = "0123456789abcdef";

	if (c == '\\') {
		tmp[0] = tmp[1] = '\\';
		return 2;
	}
	if (c >= 0x20 && c < 0x7f) {
		tmp[0] = (char) c;
		return 1;
	}
	tmp[0] = '\\';
	tmp[1] = 'x';
	tmp[2] = hex[c >> 4];
	tmp[3] = hex[c & 15];
	return 4;
}

char *str_escape(const char *s, char *buf, size_t len)
{
	size_t need = 0, o = 0, room;
	char tmp[4];

	if (len == 0)
		return buf;
	for (const char *p = s; *p; p++)
		need += escape_byte((unsigned char) *p, tmp);
	/* Whole tokens only, and "..." at the end when the whole does not fit. */
	room = need < len ? len - 1 : (len > 4 ? len - 4 : 0);
	for (; *s; s++) {
		size_t n = escape_byte((unsigned char) *s, tmp);

		if (o + n > room)
			break;
		memcpy(buf + o, tmp, n);
		o += n;
	}
	if (need >= len && len > 4) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}
