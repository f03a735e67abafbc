/* Helpers shared by the files of the sysctld layer only (conf.c, sysctld.c,
 * reappliers.c); nothing outside advisor/sysctld/ includes this. */
#ifndef TCPTUNE_ADVISOR_SYSCTLD_INT_H
#define TCPTUNE_ADVISOR_SYSCTLD_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "sysctld.h"

/* Room for element n of an array of cap elements: returns v, a larger copy
 * (new elements zeroed, *cap updated), or NULL with v untouched. */
void *sysctld_grow(void *v, size_t *cap, size_t n, size_t size);

/* Record a warning about file:line (line 0: the whole file).  Returns 0 or
 * -ENOMEM. */
int sysctld_add_warning(struct sysctld *d, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Does the key contain glob characters (systemd expands it, sysctl.d(5))? */
bool sysctld_is_glob(const char *key);

/* Trade '.' and '/': a dotted key into its /proc/sys path and back, keeping
 * a dot inside a component ("eth0.100") literal (sysctl.d(5)). */
void sysctld_swap_separators(char *s);

/* Lexical simplification of a '/'-separated path into out (room for
 * strlen(in) + 1, + 2 when absolute): empty and "." components dropped, ".." going up but never
 * above the start; absolute: out begins with '/'. */
void sysctld_path_simplify(const char *in, char *out, bool absolute);

#endif
