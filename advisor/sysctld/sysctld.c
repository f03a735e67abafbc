/* Boot resolution (see sysctld.h): which sysctl.d files systemd-sysctl and
 * procps `sysctl --system` read, in which order, which line sets each
 * tracked key, what would beat a given file, and stale lines.  The reader
 * and parser are in conf.c.
 * It reads files under the audited root only and judges nothing: the rules
 * decide what a stale line or an overriding file means. */
#include "sysctld.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "rootfs.h"
#include "reappliers.h"
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

/* Does a glob line yield to an explicit line for the same key, wherever
 * that one is?  Both programs skip a glob match for a key that has an
 * explicit setting or a "-key" exclusion anywhere (systemd: "explicit
 * setting exists"; procps 4.0.2 by experiment, docs/KERNEL.md §10.3).  The
 * one place that decides it, for simulate() and sysctld_overrides(). */
static bool glob_yields(enum sysctld_order o)
{
	(void) o;
	return true;
}

/* The writes program o makes, in its order (docs/KERNEL.md §10.3): procps
 * every line in turn; systemd-sysctl one entry per key in an ordered map,
 * where a repeated assignment with another value removes the entry and
 * appends the new one at the end, and one with the same value keeps the
 * first entry and its place.  Fills w (room for n_assigns) and returns the
 * count. */
static size_t write_order(const struct sysctld *d, enum sysctld_order o, const struct sysctld_assign **w)
{
	size_t nw = 0;

	for (size_t i = 0; i < d->n_assigns; i++) {
		const struct sysctld_assign *a = &d->assigns[i];
		size_t j;

		if (a->order != o || !d->files[a->file_idx].used[o])
			continue;
		if (o == ORDER_SYSTEMD) {
			for (j = 0; j < nw && strcmp(w[j]->key, a->key) != 0; j++)
				;
			if (j < nw) {
				if (w[j]->exclude == a->exclude && strcmp(w[j]->value, a->value) == 0)
					continue;
				memmove(&w[j], &w[j + 1], (nw - j - 1) * sizeof(*w));	/* NOLINT(bugprone-sizeof-expression): an array of pointers */
				nw--;
			}
		}
		w[nw++] = a;
	}
	return nw;
}

static int add_rejected(struct loader *l, size_t k, const struct sysctld_assign *a, const char *why)
{
	struct sysctld *d = l->d;
	struct sysctld_rejected *rj;

	for (size_t i = 0; i < d->n_rejected; i++) {
		rj = &d->rejected[i];
		if (rj->key == k && rj->line == a->line && strcmp(rj->file, a->file) == 0 &&
		    strcmp(rj->value, a->value) == 0) {
			rj->order[a->order] = true;
			return 0;
		}
	}
	rj = sysctld_grow(d->rejected, &l->cap_rejected, d->n_rejected, sizeof(*rj));
	if (!rj)
		return -ENOMEM;
	d->rejected = rj;
	rj = &d->rejected[d->n_rejected++];
	rj->key = k;
	rj->line = a->line;
	rj->order[a->order] = true;
	rj->file = strdup(a->file);
	rj->value = strdup(a->value);
	rj->why = strdup(why);
	return rj->file && rj->value && rj->why ? 0 : -ENOMEM;
}

/* Does the dotted key exist under proc/sys? */
static bool key_exists(int rootfd, const char *key);

/* Is there a warning about file:line already (both programs write it)? */
static bool has_warning(const struct sysctld *d, const char *file, unsigned line)
{
	for (size_t i = 0; i < d->n_warnings; i++)
		if (d->warnings[i].line == line && strcmp(d->warnings[i].file, file) == 0)
			return true;
	return false;
}

/* Play program o's writes against the tracked keys as the kernel takes
 * them: the last accepted write wins, a refused one leaves the key as it
 * was (docs/KERNEL.md §1.1-1.4), and the order of writes decides the
 * checks between keys. */
static int simulate(struct loader *l, enum sysctld_order o)
{
	struct sysctld *d = l->d;
	const struct sysctld_assign **w;
	long long (*state)[2];
	bool *exists, *explicit;
	char path[PATH_MAX], why[160];
	size_t nw;
	int r = 0;

	w = calloc(d->n_assigns ? d->n_assigns : 1, sizeof(*w));	/* NOLINT(bugprone-sizeof-expression): pointers */
	state = calloc(key_count, sizeof(*state));
	exists = calloc(key_count, sizeof(*exists));
	explicit = calloc(key_count, sizeof(*explicit));
	if (!w || !state || !exists || !explicit) {
		r = -ENOMEM;
		goto out;
	}
	nw = write_order(d, o, w);
	for (size_t k = 0; k < key_count; k++) {
		/* A root without proc/sys (a bare configuration tree) has every key. */
		exists[k] = !rootfs_exists(l->rootfd, "proc/sys") || key_exists(l->rootfd, key_table[k].name);
		if (key_table[k].kdefault)
			(void) key_parse_value(&key_table[k], key_table[k].kdefault, state[k]);
		/* systemd looks the expanded path up in its map of normalized
		 * keys; procps compares the name as written, separators traded
		 * only, so ".net.ipv4.x" or "net..ipv4.x" does not stop a glob
		 * (docs/KERNEL.md §10.3). */
		for (size_t i = 0; i < nw && !explicit[k]; i++)
			explicit[k] = !sysctld_is_glob(w[i]->key) &&
				strcmp(o == ORDER_PROCPS ? w[i]->raw : w[i]->key, key_table[k].name) == 0;
	}
	for (size_t i = 0; i < nw && r == 0; i++) {
		const struct sysctld_assign *a = w[i];
		bool glob = sysctld_is_glob(a->key);

		if (a->exclude || a->unreachable)
			continue;
		for (size_t k = 0; k < key_count && r == 0; k++) {
			long long v[2];
			int wr;

			if (!exists[k] || key_proc_path(&key_table[k], path, sizeof(path)) < 0)
				continue;
			if (glob ? explicit[k] && glob_yields(o) : false)
				continue;
			if (!sysctld_assign_matches(a, key_table[k].name, path))
				continue;
			wr = key_kernel_write(&key_table[k], a->value, state[k], l->kernel_hz, v, why, sizeof(why));
			if (wr < 0 || key_kernel_cross_check(k, v, (const long long (*)[2]) state, why, sizeof(why)) < 0) {
				r = add_rejected(l, k, a, why);
				continue;
			}
			/* Taken or refused depending on CONFIG_HZ, which is
			 * unknown here: predicted taken, and said (§1.2). */
			if (wr == KEY_WRITE_HZ_DEPENDS && !has_warning(d, a->file, a->line))
				r = sysctld_add_warning(d, a->file, a->line, "%s = %s: %s", key_table[k].name, a->value,
							why);
			state[k][0] = v[0];
			state[k][1] = v[1];
			d->keys[k].winner[o] = a;
			d->keys[k].value[o][0] = v[0];
			d->keys[k].value[o][1] = v[1];
		}
	}
out:
	free(w);
	free(state);
	free(exists);
	free(explicit);
	return r;
}

/* Overridden lines of key k under order o: every line of o that sets the
 * key and is not the winner. */
static int resolve_overridden(struct loader *l, size_t k, enum sysctld_order o)
{
	struct sysctld *d = l->d;
	struct sysctld_key *ks = &d->keys[k];
	char path[PATH_MAX];
	size_t j = 0;

	if (!ks->winner[o] || key_proc_path(&key_table[k], path, sizeof(path)) < 0)
		return 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < d->n_assigns; i++) {
			const struct sysctld_assign *a = &d->assigns[i];

			if (a->order != o || a->exclude || a == ks->winner[o] || !d->files[a->file_idx].used[o] ||
			    !sysctld_assign_matches(a, key_table[k].name, path))
				continue;
			if (pass == 1)
				ks->overridden[o][j] = a;
			j++;
		}
		if (pass == 0) {
			if (j == 0)
				return 0;
			ks->overridden[o] = calloc(j, sizeof(*ks->overridden[o]));	/* NOLINT(bugprone-sizeof-expression): pointers */
			if (!ks->overridden[o])
				return -ENOMEM;
			ks->n_overridden[o] = j;
			j = 0;
		}
	}
	return 0;
}

static int resolve_keys(struct loader *l)
{
	struct sysctld *d = l->d;
	int r = 0;

	d->keys = calloc(key_count, sizeof(*d->keys));
	if (!d->keys)
		return -ENOMEM;
	for (int o = 0; o < ORDER__COUNT && r == 0; o++)
		r = simulate(l, (enum sysctld_order) o);
	for (size_t k = 0; k < key_count && r == 0; k++)
		for (int o = 0; o < ORDER__COUNT && r == 0; o++)
			r = resolve_overridden(l, k, (enum sysctld_order) o);
	return r;
}

static bool key_exists(int rootfd, const char *key)
{
	char path[PATH_MAX];
	const char *c;

	if (str_printf(path, sizeof(path), "proc/sys/%s", key) < 0)
		return false;
	sysctld_swap_separators(path + strlen("proc/sys/"));
	/* A key names a sysctl, not a path: ".." must not leave proc/sys. */
	for (c = path; c; c = strchr(c, '/')) {
		size_t len;

		c += *c == '/';
		len = strcspn(c, "/");
		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
	}
	return rootfs_exists(rootfd, path);
}

/* The module whose loading creates key, or NULL for the core kernel. */
static const char *key_module(const struct key_def *k, const char *key)
{
	if (k && k->module)
		return k->module;
	if (strncmp(key, "net.netfilter.", 14) == 0 || strcmp(key, "net.nf_conntrack_max") == 0)
		return "nf_conntrack";
	if (strncmp(key, "net.bridge.", 11) == 0)
		return "br_netfilter";
	if (strncmp(key, "net.ipv4.vs.", 12) == 0)
		return "ip_vs";
	return NULL;
}

/* For "net.ipv4.conf.eno1.rp_filter" and the other per-interface trees
 * (net.ipv{4,6}.{conf,neigh}.IF.*): the interface's directory under
 * proc/sys in buf and its name in *ret_if, or false for another key and for
 * "all" and "default", which always exist. */
static bool interface_key(const char *key, char *buf, size_t len, const char **ret_if)
{
	static const char *const trees[] = { "net/ipv4/conf/", "net/ipv6/conf/", "net/ipv4/neigh/", "net/ipv6/neigh/" };
	char path[PATH_MAX];

	if (str_printf(path, sizeof(path), "%s", key) < 0)
		return false;
	sysctld_swap_separators(path);
	for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
		size_t tl = strlen(trees[i]), il;
		const char *ifn = path + tl;

		if (strncmp(path, trees[i], tl) != 0)
			continue;
		il = strcspn(ifn, "/");
		if (il == 0 || ifn[il] != '/' || (il == 3 && strncmp(ifn, "all", 3) == 0) ||
		    (il == 7 && strncmp(ifn, "default", 7) == 0))
			return false;
		if (str_printf(buf, len, "proc/sys/%.*s", (int) (tl + il), path) < 0)
			return false;
		*ret_if = buf + strlen("proc/sys/") + tl;
		return true;
	}
	return false;
}

static int add_stale(struct loader *l, const struct sysctld_assign *a)
{
	struct sysctld *d = l->d;
	const struct key_def *k = key_lookup(a->key);
	const char *mod = key_module(k, a->key), *ifn = NULL;
	char modpath[PATH_MAX], ifdir[PATH_MAX];
	struct sysctld_stale *s;
	int n;

	for (size_t i = 0; i < d->n_stale; i++)
		if (d->stale[i].line == a->line && strcmp(d->stale[i].file, a->file) == 0 &&
		    strcmp(d->stale[i].key, a->key) == 0)
			return 0;	/* the other program's reading of the same line */
	s = sysctld_grow(d->stale, &l->cap_stale, d->n_stale, sizeof(*s));
	if (!s)
		return -ENOMEM;
	d->stale = s;
	s = &d->stale[d->n_stale++];
	s->line = a->line;
	if (k && k->removed &&
	    (l->kernel_version < 0 || l->kernel_version >= key_release_code(k->removed))) {
		s->reason = STALE_REMOVED;
		n = asprintf(&s->detail, "removed in Linux %s", k->removed);
	} else if (k && !k->per_netns) {
		s->reason = STALE_NOT_NAMESPACED;
		n = asprintf(&s->detail, "host-wide key, absent in this network namespace");
	} else if (interface_key(a->key, ifdir, sizeof(ifdir), &ifn) && !rootfs_exists(l->rootfd, ifdir)) {
		/* udev runs systemd-sysctl for each new interface
		 * (99-systemd.rules), which sets these keys then (docs/KERNEL.md §10.1). */
		s->reason = STALE_INTERFACE;
		n = asprintf(&s->detail, "interface %s is not present now; set when it appears "
			     "(udev runs systemd-sysctl for it)", ifn);
	} else if (mod && str_printf(modpath, sizeof(modpath), "sys/module/%s", mod) == 0 &&
		   !rootfs_exists(l->rootfd, modpath)) {
		s->reason = STALE_MODULE;
		n = asprintf(&s->detail, "module %s not loaded", mod);
	} else {
		s->reason = STALE_UNKNOWN;
		n = asprintf(&s->detail, "not present in this kernel");
	}
	if (n < 0) {
		s->detail = NULL;
		return -ENOMEM;
	}
	s->key = strdup(a->key);
	s->file = strdup(a->file);
	return s->key && s->file ? 0 : -ENOMEM;
}

/* Lines that set a key the kernel lacks, each once: a line read by both
 * programs, or twice by procps (Debian's 99-sysctl.conf -> ../sysctl.conf
 * and /etc/sysctl.conf itself, both named /etc/sysctl.conf), is one. */
/* Is a among the n entries of w (a program's write order)? */
static bool in_write_order(const struct sysctld_assign *const *w, size_t n, const struct sysctld_assign *a)
{
	for (size_t j = 0; j < n; j++)
		if (w[j] == a)
			return true;
	return false;
}

static int find_stale(struct loader *l)
{
	struct sysctld *d = l->d;
	const struct sysctld_assign **w;
	size_t nw;
	int r = 0;

	/* systemd writes only what survives in its map: an assignment that a
	 * later line for the same key replaced (another value, or a `-KEY`
	 * exclusion) is never attempted, so it cannot be missing
	 * (docs/KERNEL.md §10.3). */
	w = calloc(d->n_assigns ? d->n_assigns : 1, sizeof(*w));	/* NOLINT(bugprone-sizeof-expression): pointers */
	if (!w)
		return -ENOMEM;
	nw = write_order(d, ORDER_SYSTEMD, w);
	for (size_t i = 0; i < d->n_assigns && r == 0; i++) {
		const struct sysctld_assign *as = &d->assigns[i];

		if (!d->files[as->file_idx].used[as->order] || as->exclude || sysctld_is_glob(as->key) ||
		    (as->order == ORDER_SYSTEMD && !in_write_order(w, nw, as)) ||
		    key_exists(l->rootfd, as->key))
			continue;
		r = add_stale(l, as);
	}
	free(w);
	return r;
}

int sysctld_load(struct sysctld *d, int rootfd, long kernel_version, int kernel_hz)
{
	struct loader l = { .d = d, .rootfd = rootfd, .kernel_version = kernel_version, .kernel_hz = kernel_hz };
	struct stat seen[N_CONF_DIRS];
	struct cand *cands = NULL;
	size_t n_cands = 0, cap_cands = 0, n_seen = 0;
	int r = 0;

	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < N_CONF_DIRS && r == 0; i++)
		r = collect_dir(&l, i, seen, &n_seen, &cands, &n_cands, &cap_cands);
	if (r == 0)
		r = load_files(&l, cands, n_cands);
	if (r == 0)
		r = resolve_keys(&l);
	if (r == 0)
		r = find_stale(&l);
	if (r == 0)
		r = reappliers_find(d, rootfd);

	for (size_t i = 0; i < n_cands; i++) {
		free(cands[i].rel);
		free(cands[i].target);
	}
	free(cands);
	free(l.info);
	if (r < 0)
		sysctld_release(d);	/* only -ENOMEM gets here */
	return r;
}

void sysctld_release(struct sysctld *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_files; i++) {
		free(d->files[i].path);
		free(d->files[i].shadowed_by);
	}
	free(d->files);
	sysctld_assigns_free(d->assigns, d->n_assigns);
	for (size_t k = 0; d->keys && k < key_count; k++)
		for (int o = 0; o < ORDER__COUNT; o++)
			free(d->keys[k].overridden[o]);
	free(d->keys);
	for (size_t i = 0; i < d->n_stale; i++) {
		free(d->stale[i].key);
		free(d->stale[i].file);
		free(d->stale[i].detail);
	}
	free(d->stale);
	reappliers_free(d->reappliers, d->n_reappliers);
	for (size_t i = 0; i < d->n_warnings; i++) {
		free(d->warnings[i].file);
		free(d->warnings[i].text);
	}
	free(d->warnings);
	for (size_t i = 0; i < d->n_rejected; i++) {
		free(d->rejected[i].file);
		free(d->rejected[i].value);
		free(d->rejected[i].why);
	}
	free(d->rejected);
	memset(d, 0, sizeof(*d));
}

const char *sysctld_stale_reason_name(enum stale_reason r)
{
	switch (r) {
	case STALE_REMOVED:
		return "removed";
	case STALE_NOT_NAMESPACED:
		return "not-namespaced";
	case STALE_MODULE:
		return "module-not-loaded";
	case STALE_UNKNOWN:
		return "unknown";
	case STALE_INTERFACE:
		return "interface-not-present";
	}
	return "unknown";
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/* Under order o, is file `other` applied after a sysctl.d file `path`
 * would be?  sysctl.d files go by basename across directories; procps
 * reads /etc/sysctl.conf after all of them. */
static bool applied_after(const char *other, const char *path, enum sysctld_order o)
{
	if (strcmp(other, "/etc/sysctl.conf") == 0)
		return o == ORDER_PROCPS;
	return strcmp(base_name(other), base_name(path)) > 0;
}

void sysctld_overrides(const struct sysctld *d, size_t k, const char *path,
		       const struct sysctld_assign *ret[ORDER__COUNT])
{
	char proc[PATH_MAX];

	for (int o = 0; o < ORDER__COUNT; o++)
		ret[o] = NULL;
	if (k >= key_count || key_proc_path(&key_table[k], proc, sizeof(proc)) < 0)
		return;
	for (int o = 0; o < ORDER__COUNT; o++) {
		for (size_t i = 0; i < d->n_assigns; i++) {
			const struct sysctld_assign *a = &d->assigns[i];
			const struct sysctld_file *f = &d->files[a->file_idx];

			if (a->order != (enum sysctld_order) o || a->exclude || !f->used[o] ||
			    strcmp(a->file, path) == 0 ||
			    !applied_after(f->path, path, (enum sysctld_order) o))
				continue;
			/* path's line is explicit: a glob yields to it where globs do. */
			if (sysctld_is_glob(a->key) && glob_yields((enum sysctld_order) o))
				continue;
			if (sysctld_assign_matches(a, key_table[k].name, proc))
				ret[o] = a;
		}
	}
}

bool sysctld_file_loses(const struct sysctld *d, size_t k, const char *path)
{
	char proc[PATH_MAX];
	bool sets = false;

	if (!d->keys || k >= key_count || key_proc_path(&key_table[k], proc, sizeof(proc)) < 0)
		return false;
	for (size_t i = 0; i < d->n_assigns && !sets; i++)
		sets = !d->assigns[i].exclude && strcmp(d->assigns[i].file, path) == 0 &&
		       sysctld_assign_matches(&d->assigns[i], key_table[k].name, proc);
	if (!sets)
		return false;
	for (int o = 0; o < ORDER__COUNT; o++) {
		const struct sysctld_assign *w = d->keys[k].winner[o];

		if (w && strcmp(w->file, path) != 0)
			return true;
	}
	return false;
}

int sysctld_boot_value(const struct sysctld *d, size_t k, enum sysctld_order o, char *buf, size_t len)
{
	if (!d->keys || k >= key_count || !d->keys[k].winner[o])
		return -ENOENT;
	return key_format_value(&key_table[k], d->keys[k].value[o], buf, len);
}
