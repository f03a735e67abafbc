/* tcptune.yaml; see config.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rootfs.h"
#include "strutil.h"
#include "yaml_load.h"

void config_release(struct config *c)
{
	for (size_t i = 0; i < c->n_ignore; i++)
		free(c->ignore[i]);
	free(c->ignore);
	memset(c, 0, sizeof(*c));
}

int config_add_ignore(struct config *c, const char *id)
{
	char **n = realloc(c->ignore, (c->n_ignore + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	c->ignore = n;
	n[c->n_ignore] = strdup(id);
	if (!n[c->n_ignore])
		return -ENOMEM;
	c->n_ignore++;
	return 0;
}

static int load_doc(struct config *c, const struct ynode *doc, const char *path, struct diag *d)
{
	if (!doc)
		return 0;
	if (doc->type != YNODE_MAP)
		return diag_set(d, -EINVAL, path, doc->line, doc->col, "expected a mapping (ignore: [...])");
	for (size_t i = 0; i < doc->n; i++) {
		const struct ynode *k = doc->keys[i], *v = doc->items[i];

		if (strcmp(k->scalar, "idle_timeout") == 0) {
			if (v->type != YNODE_SCALAR ||
			    parse_ll(v->scalar, 1, CONFIG_IDLE_TIMEOUT_MAX, &c->idle_timeout) < 0)
				return diag_set(d, -EINVAL, path, v->line, v->col,
						"'idle_timeout' is a number of seconds from 1 to %d", CONFIG_IDLE_TIMEOUT_MAX);
			continue;
		}
		if (strcmp(k->scalar, "ignore") != 0)
			return diag_set(d, -EINVAL, path, k->line, k->col,
					"unknown setting '%s' (known: ignore, idle_timeout)", k->scalar);
		if (v->type != YNODE_SEQ)
			return diag_set(d, -EINVAL, path, v->line, v->col, "'ignore' is a list of rule ids");
		for (size_t j = 0; j < v->n; j++) {
			if (v->items[j]->type != YNODE_SCALAR)
				return diag_set(d, -EINVAL, path, v->items[j]->line, v->items[j]->col,
						"'ignore' entries are rule ids");
			if (config_add_ignore(c, v->items[j]->scalar) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

int config_load(struct config *c, const char *root, const char *path, bool required, bool trust_check,
		struct diag *d)
{
	char *dir_copy = strdup(path), *base_copy = strdup(path), *display = NULL;
	bool in_root = strcmp(root, "/") != 0;
	struct ynode *doc = NULL;
	int rootfd = -1, dfd = -1, r;

	if (!dir_copy || !base_copy) {
		r = -ENOMEM;
		goto out;
	}
	if (in_root) {
		/* Inside the audited tree, as every other file of it (README "--root"). */
		const char *rel = path;

		while (*rel == '/')
			rel++;
		if (asprintf(&display, "%s/%s", root, rel) < 0) {
			display = NULL;
			r = -ENOMEM;
			goto out;
		}
		rootfd = rootfs_open(root);
		if (rootfd < 0) {
			r = diag_set(d, rootfd, root, 0, 0, "cannot open the --root directory: %s", strerror(-rootfd));
			goto out;
		}
		free(dir_copy);
		dir_copy = strdup(rel);
		if (!dir_copy) {
			r = -ENOMEM;
			goto out;
		}
		dfd = strchr(rel, '/') ? rootfs_openat(rootfd, dirname(dir_copy), O_RDONLY | O_DIRECTORY)
				       : fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
		if (dfd < 0 && !strchr(rel, '/'))
			dfd = -errno;
	} else {
		dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			dfd = -errno;
	}
	if (dfd < 0) {
		/* The default file is optional; one the user named is not. */
		if (dfd == -ENOENT && !required)
			r = 0;
		else
			r = diag_set(d, dfd, display ? display : path, 0, 0, "%s: cannot open its directory: %s",
				     required ? "--config" : "site settings", strerror(-dfd));
		goto out;
	}
	r = yaml_load_file(dfd, basename(base_copy), display ? display : path, trust_check, &doc, d);
	if (r == -ENOENT) {
		r = required ? diag_set(d, r, display ? display : path, 0, 0, "--config names no file: %s",
					strerror(ENOENT)) : 0;
		goto out;
	}
	if (r == 0)
		r = load_doc(c, doc, display ? display : path, d);
out:
	ynode_free(doc);
	if (dfd >= 0)
		close(dfd);
	if (rootfd >= 0)
		close(rootfd);
	free(dir_copy);
	free(base_copy);
	free(display);
	return r;
}
