/* Which sysctl.d files systemd-sysctl and procps `sysctl --system` read, in
 * which order (docs/KERNEL.md §10): the directories by priority, a name in a
 * higher one shadowing the same name below, masks, globbed names, and
 * /etc/sysctl.conf; each file read is parsed by conf.c into the struct
 * sysctld that sysctld.c then resolves. */
#include "sysctld.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs.h"
#include "strutil.h"
#include "sysctld_int.h"

/* Highest priority first (docs/KERNEL.md §10).  procps and split-usr systemd
 * builds read /lib/sysctl.d too; on merged-usr systems it is /usr/lib again
 * and is read once (see collect_dir()). */
static const char *const conf_dirs[] = {
	"etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d", "lib/sysctl.d",
};
#define N_CONF_DIRS (sizeof(conf_dirs) / sizeof(conf_dirs[0]))

/* A *.conf name found in one of conf_dirs. */
struct cand {
	char *rel;		/* "usr/lib/sysctl.d/50-t.conf" */
	const char *name;	/* its basename, inside rel */
	size_t prio;		/* index in conf_dirs */
	bool devnull;		/* symlink to "/dev/null" */
	bool isdir;		/* a directory of that name: shadows, read by neither */
	char *target;		/* a symlink's target as a host path, or NULL */
};

static bool is_devnull_link(int dirfd, const char *name)
{
	char target[16];
	ssize_t n;

	/* Before any open: under --root, /dev/null does not exist in the tree. */
	n = readlinkat(dirfd, name, target, sizeof(target));
	return n == (ssize_t) strlen("/dev/null") && memcmp(target, "/dev/null", (size_t) n) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The host path a symlink in directory host_dir points to, lexically
 * ("../sysctl.conf" from /etc/sysctl.d is /etc/sysctl.conf): the file an
 * admin edits.  NULL when it is not a symlink or on -ENOMEM. */
static char *link_target(int dirfd, const char *name, const char *host_dir)
{
	char target[PATH_MAX], joined[2 * PATH_MAX + 2], *out;
	ssize_t n;

	n = readlinkat(dirfd, name, target, sizeof(target) - 1);
	if (n <= 0)
		return NULL;
	target[n] = '\0';
	if (target[0] == '/')
		snprintf(joined, sizeof(joined), "%s", target);
	else
		snprintf(joined, sizeof(joined), "%s/%s", host_dir, target);
	out = malloc(strlen(joined) + 2);
	if (!out)
		return NULL;
	sysctld_path_simplify(joined, out, true);
	return out;
}

static int add_cand(struct cand **cands, size_t *n, size_t *cap, size_t prio, const char *name,
		    bool devnull, bool isdir, char *target)
{
	struct cand *c;

	c = sysctld_grow(*cands, cap, *n, sizeof(*c));
	if (!c) {
		free(target);
		return -ENOMEM;
	}
	*cands = c;
	c = &(*cands)[*n];
	if (asprintf(&c->rel, "%s/%s", conf_dirs[prio], name) < 0) {
		c->rel = NULL;
		free(target);
		return -ENOMEM;
	}
	(*n)++;
	c->name = c->rel + strlen(conf_dirs[prio]) + 1;
	c->prio = prio;
	c->devnull = devnull;
	c->isdir = isdir;
	c->target = target;
	return 0;
}

/* List the *.conf entries of conf_dirs[prio], hidden ones and directories
 * included (procps reads hidden files, a directory shadows a file of its
 * name for both; docs/KERNEL.md §10.3).  A directory already listed under
 * another name (Debian 12: /lib -> usr/lib) is skipped, or its files would
 * shadow themselves.  Returns 0 or -ENOMEM. */
static int collect_dir(struct loader *l, size_t prio, struct stat *seen, size_t *n_seen,
		       struct cand **cands, size_t *n, size_t *cap)
{
	char host[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *dir = NULL;
	int dfd, r = 0;

	(void) str_printf(host, sizeof(host), "/%s", conf_dirs[prio]);
	dfd = rootfs_openat(l->rootfd, conf_dirs[prio], O_RDONLY | O_DIRECTORY);
	if (dfd == -ENOENT || dfd == -ENOTDIR)
		return 0;	/* most systems lack some of them */
	if (dfd < 0)
		return sysctld_add_warning(l->d, host, 0, "cannot open directory: %s", strerror(-dfd));
	if (fstat(dfd, &st) < 0) {
		r = sysctld_add_warning(l->d, host, 0, "cannot stat directory: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < *n_seen; i++)
		if (seen[i].st_dev == st.st_dev && seen[i].st_ino == st.st_ino)
			goto out;
	seen[(*n_seen)++] = st;

	r = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
	if (r >= 0)
		dir = fdopendir(r);
	if (!dir) {
		int e = errno;

		if (r >= 0)
			close(r);
		r = e == ENOMEM ? -ENOMEM :
			sysctld_add_warning(l->d, host, 0, "cannot list directory: %s", strerror(e));
		goto out;
	}
	r = 0;
	for (errno = 0; (de = readdir(dir)); errno = 0) {
		const char *name = de->d_name;
		bool lnk;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || !ends_with(name, ".conf"))
			continue;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;	/* vanished while listing */
		if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode) && !S_ISDIR(st.st_mode))
			continue;
		lnk = S_ISLNK(st.st_mode);
		r = add_cand(cands, n, cap, prio, name, lnk && is_devnull_link(dfd, name), S_ISDIR(st.st_mode),
			     lnk ? link_target(dfd, name, host) : NULL);
		if (r < 0)
			goto out;
	}
	if (errno != 0)
		r = sysctld_add_warning(l->d, host, 0, "cannot list directory: %s", strerror(errno));
out:
	if (dir)
		closedir(dir);
	close(dfd);
	return r;
}

/* Same basename: highest priority first, so the winner leads its group. */
static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->prio < y->prio ? -1 : x->prio > y->prio;
}

/* A new entry at the end of d->files.  Returns it, or NULL on -ENOMEM. */
static struct sysctld_file *new_file(struct loader *l, const char *path)
{
	struct sysctld *d = l->d;
	struct sysctld_file *f;
	size_t cap = l->cap_files;

	f = sysctld_grow(d->files, &cap, d->n_files, sizeof(*f));
	if (!f)
		return NULL;
	d->files = f;
	l->info = sysctld_grow(l->info, &l->cap_files, d->n_files, sizeof(*l->info));
	if (!l->info)
		return NULL;
	f = &d->files[d->n_files++];
	f->path = strdup(path);
	return f->path ? f : NULL;
}

/* Read file i (rel under the root) and parse it once for each program that
 * reads it; assignments and the warnings about its lines name edit_path,
 * the file behind a symlink, where there is one. */
static int load_file(struct loader *l, size_t i, const char *rel, bool devnull, bool maskable,
		     const char *edit_path)
{
	struct sysctld *d = l->d;
	struct file_info *fi = &l->info[i];
	struct stat st;
	char *buf = NULL;
	size_t len = 0, first = d->n_assigns;
	int r;

	r = devnull ? SYSCTLD_READ_NULL :
		sysctld_read_conf(d, l->rootfd, rel, d->files[i].path, &buf, &len, &st);
	if (r == SYSCTLD_READ_NULL && maskable) {
		d->files[i].masked = true;
		d->files[i].used[ORDER_SYSTEMD] = d->files[i].used[ORDER_PROCPS] = false;
	}
	if (r == SYSCTLD_READ_TEXT) {
		fi->have_id = true;
		fi->dev = st.st_dev;
		fi->ino = st.st_ino;
		r = 0;
		for (int o = 0; o < ORDER__COUNT && r == 0; o++)
			if (d->files[i].used[o])
				r = sysctld_parse_conf_as(d, edit_path ? edit_path : d->files[i].path, buf, len,
							  (enum sysctld_order) o,
							  &d->assigns, &d->n_assigns, &l->cap_assigns);
	}
	free(buf);
	for (size_t a = first; a < d->n_assigns; a++)
		d->assigns[a].file_idx = i;
	return r < 0 ? r : 0;
}

/* /etc/sysctl.conf: read only by procps, after everything else. */
static int load_sysctl_conf(struct loader *l)
{
	struct sysctld *d = l->d;
	struct sysctld_file *f;
	struct stat st;
	bool devnull;
	int etcfd;

	etcfd = rootfs_openat(l->rootfd, "etc", O_PATH | O_DIRECTORY);
	if (etcfd < 0)
		return 0;
	if (fstatat(etcfd, "sysctl.conf", &st, AT_SYMLINK_NOFOLLOW) < 0) {
		close(etcfd);
		return 0;
	}
	devnull = S_ISLNK(st.st_mode) && is_devnull_link(etcfd, "sysctl.conf");
	close(etcfd);
	f = new_file(l, "/etc/sysctl.conf");
	if (!f)
		return -ENOMEM;
	f->used[ORDER_PROCPS] = true;
	return load_file(l, d->n_files - 1, "etc/sysctl.conf", devnull, false, NULL);
}

/* procps hands each file name to glob(3) (docs/KERNEL.md §10.3): a name
 * with glob characters reads the files of that directory it matches, not
 * itself.  Adds them as procps-only files.  Returns 0 or -ENOMEM. */
static int load_glob_named(struct loader *l, const struct cand *c)
{
	size_t dlen = (size_t) (c->name - c->rel);
	char dir[PATH_MAX], host[PATH_MAX + 1];
	struct dirent **list = NULL;
	size_t self = l->d->n_files - 1;
	int n, dfd, r = 0, matches = 0;

	if (dlen >= sizeof(dir))
		return 0;
	memcpy(dir, c->rel, dlen - 1);
	dir[dlen - 1] = '\0';
	dfd = rootfs_openat(l->rootfd, dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return 0;
	n = scandirat(dfd, ".", &list, NULL, alphasort);
	for (int i = 0; i < n; i++)
		matches += fnmatch(c->name, list[i]->d_name, FNM_PERIOD) == 0;
	/* GLOB_NOCHECK: with no match, the name itself is read. */
	if (matches == 0 && n >= 0) {
		struct sysctld_file *f = new_file(l, l->d->files[self].path);

		if (f) {
			f->used[ORDER_PROCPS] = true;
			r = load_file(l, l->d->n_files - 1, c->rel, false, false, c->target);
		} else {
			r = -ENOMEM;
		}
	}
	for (int i = 0; i < n; i++) {
		char rel[PATH_MAX];
		struct sysctld_file *f;

		if (r == 0 && fnmatch(c->name, list[i]->d_name, FNM_PERIOD) == 0 &&
		    str_printf(rel, sizeof(rel), "%s/%s", dir, list[i]->d_name) == 0 &&
		    str_printf(host, sizeof(host), "/%s", rel) == 0) {
			f = new_file(l, host);
			if (!f) {
				r = -ENOMEM;
			} else {
				f->used[ORDER_PROCPS] = true;
				r = load_file(l, l->d->n_files - 1, rel, false, false, NULL);
			}
		}
		free(list[i]);
	}
	free(list);
	close(dfd);
	return r;
}

/* Build d->files in application order and parse each file that counts. */
static int load_files(struct loader *l, struct cand *cands, size_t n_cands)
{
	struct sysctld *d = l->d;
	size_t winner = 0, winner_file = 0;
	int r;

	if (n_cands > 1)
		qsort(cands, n_cands, sizeof(*cands), cand_cmp);
	for (size_t i = 0; i < n_cands; i++) {
		const struct cand *c = &cands[i];
		struct sysctld_file *f;
		char host[PATH_MAX + 1];

		snprintf(host, sizeof(host), "/%s", c->rel);
		f = new_file(l, host);
		if (!f)
			return -ENOMEM;
		/* A loser is ignored entirely, not merged (sysctl.d(5)). */
		if (i > 0 && strcmp(c->name, cands[winner].name) == 0) {
			f->shadowed_by = strdup(d->files[winner_file].path);
			if (!f->shadowed_by)
				return -ENOMEM;
			continue;
		}
		winner = i;
		winner_file = d->n_files - 1;
		/* A directory shadows the name and is read by neither program;
		 * systemd-sysctl logs that it failed to read it, unless the name
		 * is hidden, which it skips (docs/KERNEL.md §10.3). */
		if (c->isdir) {
			r = c->name[0] == '.' ? 0 :
				sysctld_add_warning(d, host, 0, "a directory, skipped: neither program reads it, "
						    "and it hides files of this name in the directories below");
			if (r < 0)
				return r;
			continue;
		}
		/* systemd skips hidden files (conf_files_list()); procps reads them. */
		f->used[ORDER_SYSTEMD] = c->name[0] != '.';
		f->used[ORDER_PROCPS] = !sysctld_is_glob(c->name);
		r = load_file(l, d->n_files - 1, c->rel, c->devnull, true, c->target);
		/* procps globs the name even when the file is empty or a link
		 * to /dev/null: it knows no masks, only names. */
		if (r == 0 && sysctld_is_glob(c->name))
			r = load_glob_named(l, c);
		if (r < 0)
			return r;
	}
	return load_sysctl_conf(l);
}

int sysctld_read_files(struct loader *l)
{
	struct stat seen[N_CONF_DIRS];
	struct cand *cands = NULL;
	size_t n_cands = 0, cap_cands = 0, n_seen = 0;
	int r = 0;

	for (size_t i = 0; i < N_CONF_DIRS && r == 0; i++)
		r = collect_dir(l, i, seen, &n_seen, &cands, &n_cands, &cap_cands);
	if (r == 0)
		r = load_files(l, cands, n_cands);
	for (size_t i = 0; i < n_cands; i++) {
		free(cands[i].rel);
		free(cands[i].target);
	}
	free(cands);
	return r;
}
