/* The libyaml front end for every YAML file tcptune reads (rules, profiles,
 * tcptune.yaml): a strict subset turned into a small tree with positions.
 * Refused, with file:line:column: anchors and aliases, tags, duplicate map
 * keys, non-scalar keys, more than one document, nesting deeper than
 * YAML_MAX_DEPTH, files over the size cap, invalid UTF-8 (libyaml's reader
 * error), NUL bytes. */
#ifndef TCPTUNE_ADVISOR_YAML_LOAD_H
#define TCPTUNE_ADVISOR_YAML_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

#define YAML_MAX_MIB 1
#define YAML_MAX_SIZE (YAML_MAX_MIB * 1024 * 1024)	/* bytes per file */
#define YAML_MAX_DEPTH 32

enum ynode_type { YNODE_SCALAR, YNODE_SEQ, YNODE_MAP };

struct ynode {
	enum ynode_type type;
	unsigned line, col;		/* 1-based start of the node */
	/* YNODE_SCALAR */
	char *scalar;			/* NUL-terminated, UTF-8 */
	bool quoted;			/* written with ' or " (or a block scalar) */
	/* YNODE_SEQ: items[n]; YNODE_MAP: keys[n] (scalars) and items[n] (values) */
	struct ynode **keys;
	struct ynode **items;
	size_t n;
};

/* Parse buf (len bytes, need not be NUL-terminated).  display names the file
 * in errors.  An empty document gives NULL in *ret and returns 0.
 * Returns 0, or a negative errno with d filled (-EINVAL for bad input,
 * -EFBIG over the cap, -ENOMEM). */
int yaml_load_buffer(const char *buf, size_t len, const char *display, struct ynode **ret, struct diag *d);

/* Open path (relative to dirfd, O_NOFOLLOW), check it is a regular file no
 * larger than YAML_MAX_SIZE and, when trust_check is set, that it is owned
 * by root and not group/world-writable (docs/SECURITY.md; -EPERM with the reason),
 * then parse it like yaml_load_buffer. */
int yaml_load_file(int dirfd, const char *path, const char *display, bool trust_check, struct ynode **ret,
		   struct diag *d);

/* Free a tree (NULL allowed); returns NULL. */
struct ynode *ynode_free(struct ynode *n);

/* Value for key in map n, or NULL (also when n is not a map). */
const struct ynode *ynode_map_get(const struct ynode *n, const char *key);

/* Name of a node type for messages: "a scalar", "a list", "a mapping". */
const char *ynode_type_name(enum ynode_type t);

#endif
