/* Checked number parsing and small string helpers shared by every parser. */
#ifndef TCPTUNE_ADVISOR_STRUTIL_H
#define TCPTUNE_ADVISOR_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Parse a whole decimal string (optional sign) into [min, max].
 * Returns 0, -EINVAL (not a number / trailing junk) or -ERANGE. */
int parse_ll(const char *s, long long min, long long max, long long *ret);

/* Same, but leading and trailing blanks (space, tab, newline) are allowed,
 * the way the kernel's proc_dointvec accepts "60\n". */
int parse_ll_trim(const char *s, long long min, long long max, long long *ret);

/* Remove leading/trailing blanks in place; returns s advanced past leading ones. */
char *str_strip(char *s);

/* Copy s into buf for display: printable ASCII as is, backslash as "\\",
 * every other byte as "\xNN"; cut with "..." when it does not fit.  Output is
 * plain ASCII, safe for a terminal and valid UTF-8.  Returns buf. */
char *str_escape(const char *s, char *buf, size_t len);

/* snprintf that returns -ENAMETOOLONG on truncation and 0 otherwise. */
int str_printf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
