/* Helpers shared by the files of the sysctld layer only (conf.c, sysctld.c,
 * sysctld_files.c, sysctld_stale.c, reappliers.c); nothing outside
 * advisor/sysctld/ includes this. */
#ifndef TCPTUNE_ADVISOR_SYSCTLD_INT_H
#define TCPTUNE_ADVISOR_SYSCTLD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

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

/* sysctld_load()'s state while it builds a struct sysctld. */
/* What loading needs beyond the public struct; parallel to d->files. */
struct file_info {
	bool have_id;		/* dev/ino of the file read (symlinks followed) */
	dev_t dev;
	ino_t ino;
};

struct loader {
	struct sysctld *d;
	int rootfd;
	long kernel_version;
	int kernel_hz;		/* CONFIG_HZ, 0 unknown */
	struct file_info *info;
	size_t cap_files, cap_assigns, cap_stale, cap_rejected;
};

/* Find the sysctl.d files under the root, decide which each program reads
 * and in which order, and parse them (and /etc/sysctl.conf) into l->d
 * (sysctld_files.c).  Returns 0 or -ENOMEM. */
int sysctld_read_files(struct loader *l);

/* The writes program o makes, in its order (sysctld.c): fills w (room for
 * n_assigns) and returns the count. */
size_t sysctld_write_order(const struct sysctld *d, enum sysctld_order o, const struct sysctld_assign **w);

/* Does the dotted key exist under proc/sys (sysctld_stale.c)? */
bool sysctld_key_exists(int rootfd, const char *key);

/* Lines that set a key the running kernel lacks, with why (sysctld_stale.c).
 * Returns 0 or -ENOMEM. */
int sysctld_find_stale(struct loader *l);

#endif
