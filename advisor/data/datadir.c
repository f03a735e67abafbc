/* The data search path; see datadir.h. */
#include "datadir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strutil.h"

#ifndef TCPTUNE_DATADIR
#define TCPTUNE_DATADIR "/usr/local/share/tcptune"
#endif

void datadir_init(struct datadir *dd, const char *data_opt)
{
	dd->n_dirs = 0;
	dd->first_named = data_opt != NULL;
	if (data_opt)
		dd->dirs[dd->n_dirs++] = data_opt;
	dd->dirs[dd->n_dirs++] = "/etc/tcptune";
	dd->dirs[dd->n_dirs++] = TCPTUNE_DATADIR;
	dd->builtin = true;
	/* Root reads files others could have planted: refuse them (docs/SECURITY.md). */
	dd->trust_check = geteuid() == 0;
}

/* A data file found along the search path. */
struct cand {
	char *name;		/* "web-server.yaml" */
	size_t dir;		/* index into dd->dirs; dd->n_dirs: built-in */
	size_t builtin;		/* index into builtin_files[] when built-in */
};

static bool is_yaml_name(const char *n)
{
	size_t l = strlen(n);

	return n[0] != '.' && l > 5 && strcmp(n + l - 5, ".yaml") == 0 && !strchr(n, '/');
}

/* Add name unless an earlier directory already has it: first one wins. */
static int cand_add(struct cand **c, size_t *n, const char *name, size_t dir, size_t builtin)
{
	struct cand *nc;

	for (size_t k = 0; k < *n; k++)
		if (strcmp((*c)[k].name, name) == 0)
			return 0;
	nc = realloc(*c, (*n + 1) * sizeof(*nc));
	if (!nc)
		return -ENOMEM;
	*c = nc;
	nc[*n].name = strdup(name);
	if (!nc[*n].name)
		return -ENOMEM;
	nc[*n].dir = dir;
	nc[*n].builtin = builtin;
	(*n)++;
	return 0;
}

/* docs/SECURITY.md for directories, as check_file() in yaml_load.c is for files:
 * whoever can write a data directory can delete or rename root's files in
 * it, or put another directory in place of rules/ or profiles/. */
static int check_dir(int fd, const char *path, struct diag *d)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return diag_set(d, -errno, path, 0, 0, "cannot stat directory: %s", strerror(errno));
	if (st.st_uid != 0)
		return diag_set(d, -EPERM, path, 0, 0,
				"refusing to load from a directory owned by uid %u, not root; fix with: chown root %s",
				(unsigned) st.st_uid, path);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return diag_set(d, -EPERM, path, 0, 0,
				"refusing to load from a directory writable by group or others (mode %04o); fix with: chmod go-w %s",
				(unsigned) (st.st_mode & 07777), path);
	return 0;
}

/* The data directory base and its sub directory, when trust_check. */
static int check_dirs(DIR *dir, const char *base, const char *path, struct diag *d)
{
	int fd, r = check_dir(dirfd(dir), path, d);

	if (r < 0)
		return r;
	fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return diag_set(d, -errno, base, 0, 0, "cannot open directory: %s", strerror(errno));
	r = check_dir(fd, base, d);
	close(fd);
	return r;
}

static int list_dir(const char *base, const char *sub, size_t dir_idx, bool trust_check, struct cand **c, size_t *n,
		    struct diag *d)
{
	char path[4096];
	struct dirent *e;
	DIR *dir;
	int r = 0;

	if (str_printf(path, sizeof(path), "%s/%s", base, sub) < 0)
		return diag_set(d, -ENAMETOOLONG, base, 0, 0, "data directory name too long");
	dir = opendir(path);
	if (!dir) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;	/* a data directory need not have this kind of file */
		r = -errno;
		return diag_set(d, r, path, 0, 0, "cannot read directory: %s", strerror(-r));
	}
	if (trust_check)
		r = check_dirs(dir, base, path, d);
	while (r == 0 && (e = readdir(dir)))
		if (is_yaml_name(e->d_name))
			r = cand_add(c, n, e->d_name, dir_idx, 0);
	closedir(dir);
	return r;
}

static int cmp_cand(const void *a, const void *b)
{
	return strcmp(((const struct cand *) a)->name, ((const struct cand *) b)->name);
}

static int load_cand(const struct datadir *dd, const char *sub, const struct cand *c, datadir_add_fn add,
		     void *ctx, struct diag *d)
{
	char display[4096 + 512];
	struct ynode *doc = NULL;
	int r;

	if (c->dir == dd->n_dirs) {
		const struct builtin_file *b = &builtin_files[c->builtin];

		snprintf(display, sizeof(display), "(built-in)/%s", b->path);
		r = yaml_load_buffer(b->data, b->len, display, &doc, d);
	} else {
		char dirpath[4096];
		int dfd;

		if (str_printf(dirpath, sizeof(dirpath), "%s/%s", dd->dirs[c->dir], sub) < 0)
			return diag_set(d, -ENAMETOOLONG, dd->dirs[c->dir], 0, 0, "data directory name too long");
		snprintf(display, sizeof(display), "%s/%s", dirpath, c->name);
		dfd = open(dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return diag_set(d, -errno, dirpath, 0, 0, "cannot open directory: %s", strerror(errno));
		r = yaml_load_file(dfd, c->name, display, dd->trust_check, &doc, d);
		close(dfd);
	}
	if (r == 0)
		r = add(ctx, doc, display, d);
	ynode_free(doc);
	return r;
}

/* A directory the user named (--data) is what they want loaded: one that
 * is not there is an error, never a silent fall back to the next directory
 * or the built-in copy (README: Data search path). */
static int check_named(const char *path, bool trust_check, struct diag *d)
{
	struct stat st;
	int fd, r;

	if (!path[0])
		return diag_set(d, -EINVAL, "--data", 0, 0, "empty path: name a data directory (with rules/ or profiles/)");
	if (stat(path, &st) < 0)
		return diag_set(d, -errno, path, 0, 0, "--data names no data directory: %s", strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return diag_set(d, -ENOTDIR, path, 0, 0, "--data names a file, not a directory (with rules/ or profiles/)");
	if (!trust_check)
		return 0;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return diag_set(d, -errno, path, 0, 0, "cannot open directory: %s", strerror(errno));
	r = check_dir(fd, path, d);
	close(fd);
	return r;
}

int datadir_load_yaml(const struct datadir *dd, const char *sub, datadir_add_fn add, void *ctx, struct diag *d)
{
	struct cand *c = NULL;
	size_t n = 0, plen = strlen(sub);
	int r = 0;

	if (dd->first_named && dd->n_dirs > 0) {
		r = check_named(dd->dirs[0], dd->trust_check, d);
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < dd->n_dirs && r == 0; i++)
		r = list_dir(dd->dirs[i], sub, i, dd->trust_check, &c, &n, d);
	for (size_t b = 0; dd->builtin && b < builtin_file_count && r == 0; b++) {
		const char *path = builtin_files[b].path;

		if (strncmp(path, sub, plen) == 0 && path[plen] == '/' && is_yaml_name(path + plen + 1))
			r = cand_add(&c, &n, path + plen + 1, dd->n_dirs, b);
	}
	/* Name order, like sysctl.d, so ids and messages are stable. */
	if (r == 0 && n > 1)
		qsort(c, n, sizeof(*c), cmp_cand);
	for (size_t k = 0; k < n && r == 0; k++)
		r = load_cand(dd, sub, &c[k], add, ctx, d);
	for (size_t k = 0; k < n; k++)
		free(c[k].name);
	free(c);
	return r;
}
