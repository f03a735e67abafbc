/* The data search path (docs/ARCHITECTURE.md §2): --data DIR, then /etc/tcptune, then the
 * installed share/tcptune, then the copy built into the binary.  Each
 * directory holds rules/ and profiles/. */
#ifndef TCPTUNE_ADVISOR_DATADIR_H
#define TCPTUNE_ADVISOR_DATADIR_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "yaml_load.h"

struct datadir {
	const char *dirs[4];	/* in search order; NULL-terminated within the array */
	size_t n_dirs;
	bool builtin;		/* fall back to the built-in copy */
	bool trust_check;	/* running as root: refuse files not owned by root or writable by others */
	bool first_named;	/* dirs[0] is --data: it must exist and be a directory */
};

/* Fill dd from --data (may be NULL) and the process's privilege. */
void datadir_init(struct datadir *dd, const char *data_opt);

/* Called with each parsed document (NULL for an empty file) and the name it
 * is shown by; returns 0 or a negative errno with d filled. */
typedef int (*datadir_add_fn)(void *ctx, const struct ynode *doc, const char *display, struct diag *d);

/* Load every SUB/NAME.yaml along the search path, the first directory that
 * has a NAME winning (built-ins last), in name order, passing each document
 * to add.  Files are opened O_NOFOLLOW with the trust check when
 * dd->trust_check.  A --data directory that is missing, empty or not a
 * directory is an error (-ENOENT, -EINVAL, -ENOTDIR), never skipped.  Stops
 * at the first error: 0 or a negative errno with d
 * naming file:line:column. */
int datadir_load_yaml(const struct datadir *dd, const char *sub, datadir_add_fn add, void *ctx, struct diag *d);

/* A built-in file: "rules/tcp.yaml" and its content. */
struct builtin_file {
	const char *path;
	const char *data;
	size_t len;
};

/* The files compiled into the binary (generated at build time from rules/
 * and profiles/). */
extern const struct builtin_file builtin_files[];
extern const size_t builtin_file_count;

#endif
