/* Profiles (docs/ARCHITECTURE.md §2): profiles/NAME.yaml loaded along the data search path,
 * every value checked against the key table's apply range, `extends`
 * resolved so that each profile carries its full list of settings.  Which
 * profile fits a machine is recommend.c's business; writing the values is
 * the transaction's (backup/txn.h). */
#ifndef TCPTUNE_ADVISOR_PROFILE_H
#define TCPTUNE_ADVISOR_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "datadir.h"
#include "diag.h"
#include "rule_expr.h"

/* Longest profile name: the store records it in a 64-byte field (txn.h). */
#define PROFILE_NAME_MAX 63

struct profile_setting {
	size_t key;		/* index into key_table; always writable */
	long long v[2];		/* parsed value (v[1] for KEY_INT_PAIR) */
	char *value;		/* canonical kernel text: "30", "10240 65535" */
	char *why;		/* the reason, from the profile that set it */
	char *from;		/* name of the profile that set it (itself or an ancestor) */
	unsigned line, col;	/* position of the key in from's file */
};

struct profile {
	char *name;		/* equals the file's base name without .yaml */
	char *description;
	char *extends;		/* parent's name, or NULL */
	unsigned extends_line, extends_col;
	char *match_src;	/* `when` language; NULL: never proposed by match */
	struct rule_expr *match;
	struct profile_setting *settings;	/* resolved: inherited and own, in key-table order */
	size_t n_settings;
	char *file;		/* where it was loaded from, for messages */
};

struct profile_set {
	struct profile *v;	/* sorted by name */
	size_t n;
};

/* One YAML document to load, for tests and fuzzing: display names the file
 * in messages and its base name without .yaml is the name it must declare. */
struct profile_source {
	const char *display;
	const char *buf;
	size_t len;
};

/* Load every profiles/NAME.yaml along dd's search path (the first directory
 * that has NAME.yaml wins; built-ins last) and resolve `extends` across all
 * of them, so a profile in /etc/tcptune may extend a built-in one.  When
 * dd->trust_check is set, files not owned by root or writable by group or
 * others are refused (-EPERM).  Returns 0 or a negative errno with d naming
 * file:line:column; on failure set is empty. */
int profile_set_load(struct profile_set *set, const struct datadir *dd, struct diag *d);

/* The same from memory: parse src[0..n) and resolve `extends` among them.
 * Returns 0, -EINVAL with d filled, or -ENOMEM; on failure set is empty. */
int profile_set_load_buffers(struct profile_set *set, const struct profile_source *src, size_t n,
			     struct diag *d);

/* Free everything set holds (an empty or zeroed set is fine). */
void profile_set_release(struct profile_set *set);

/* The profile called name, or NULL. */
const struct profile *profile_find(const struct profile_set *set, const char *name);

/* The setting of key_table[key] in p, or NULL when p leaves that key alone. */
const struct profile_setting *profile_setting_find(const struct profile *p, size_t key);

#endif
