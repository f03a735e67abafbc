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
};

/* What loading needs beyond the public struct; parallel to d->files. */
struct file_info {
	size_t first, n;	/* its assignments in d->assigns */
	bool have_id;		/* dev/ino of the file read (symlinks followed) */
	dev_t dev;
	ino_t ino;
};

struct loader {
	struct sysctld *d;
	int rootfd;
	long kernel_version;
	struct file_info *info;
	size_t cap_assigns, cap_stale;
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

static int add_cand(struct cand **cands, size_t *n, size_t *cap, size_t prio, const char *name,
		    bool devnull)
{
	struct cand *c;

	c = sysctld_grow(*cands, cap, *n, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*cands = c;
	c = &(*cands)[*n];
	if (asprintf(&c->rel, "%s/%s", conf_dirs[prio], name) < 0) {
		c->rel = NULL;
		return -ENOMEM;
	}
	(*n)++;
	c->name = c->rel + strlen(conf_dirs[prio]) + 1;
	c->prio = prio;
	c->devnull = devnull;
	return 0;
}

/* List the *.conf entries of conf_dirs[prio].  A directory already listed
 * under another name (Debian 12: /lib -> usr/lib) is skipped, or its files
 * would shadow themselves.  Returns 0 or -ENOMEM. */
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

		/* Hidden files are skipped by both tools (systemd's conf_files_list()). */
		if (name[0] == '.' || !ends_with(name, ".conf"))
			continue;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;	/* vanished while listing */
		if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
			continue;
		r = add_cand(cands, n, cap, prio, name,
			     S_ISLNK(st.st_mode) && is_devnull_link(dfd, name));
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

/* Parse one file into d->assigns and record where its lines went. */
static int load_file(struct loader *l, size_t i, const char *rel, bool devnull, bool maskable)
{
	struct sysctld *d = l->d;
	struct sysctld_file *f = &d->files[i];
	struct file_info *fi = &l->info[i];
	struct stat st;
	char *buf = NULL;
	int r;

	fi->first = d->n_assigns;
	r = devnull ? SYSCTLD_READ_NULL : sysctld_read_conf(d, l->rootfd, rel, f->path, &buf, &st);
	if (r == SYSCTLD_READ_NULL && maskable)
		f->masked = true;
	if (r == SYSCTLD_READ_TEXT) {
		fi->have_id = true;
		fi->dev = st.st_dev;
		fi->ino = st.st_ino;
		r = sysctld_parse_conf(d, f->path, buf, &d->assigns, &d->n_assigns, &l->cap_assigns);
	}
	free(buf);
	fi->n = d->n_assigns - fi->first;
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
	f = &d->files[d->n_files++];
	f->path = strdup("/etc/sysctl.conf");
	if (!f->path)
		return -ENOMEM;
	f->used[ORDER_PROCPS] = true;
	return load_file(l, d->n_files - 1, "etc/sysctl.conf", devnull, false);
}

/* Build d->files in application order and parse each file that counts. */
static int load_files(struct loader *l, struct cand *cands, size_t n_cands)
{
	struct sysctld *d = l->d;
	size_t winner = 0;
	int r;

	if (n_cands > 1)
		qsort(cands, n_cands, sizeof(*cands), cand_cmp);
	d->files = calloc(n_cands + 1, sizeof(*d->files));
	l->info = calloc(n_cands + 1, sizeof(*l->info));
	if (!d->files || !l->info)
		return -ENOMEM;
	for (size_t i = 0; i < n_cands; i++) {
		struct sysctld_file *f = &d->files[d->n_files++];

		if (asprintf(&f->path, "/%s", cands[i].rel) < 0) {
			f->path = NULL;
			return -ENOMEM;
		}
		/* A loser is ignored entirely, not merged (sysctl.d(5)). */
		if (i > 0 && strcmp(cands[i].name, cands[winner].name) == 0) {
			f->shadowed_by = strdup(d->files[winner].path);
			if (!f->shadowed_by)
				return -ENOMEM;
			continue;
		}
		winner = i;
		r = load_file(l, i, cands[i].rel, cands[i].devnull, true);
		if (r < 0)
			return r;
		f->used[ORDER_SYSTEMD] = f->used[ORDER_PROCPS] = !f->masked;
	}
	return load_sysctl_conf(l);
}


/* Does a glob line yield to an explicit line for the same key, wherever
 * that one is?  systemd-sysctl skips a glob match for a key that has an
 * explicit setting anywhere ("explicit setting exists"), whatever the
 * order; procps writes every line in turn.  The one place that decides it,
 * for resolve_key() and sysctld_overrides(). */
static bool glob_yields(enum sysctld_order o)
{
	return o == ORDER_SYSTEMD;
}

/* Winner and overridden lines of key k under order o; cand is scratch space
 * for n_assigns pointers. */
static int resolve_key(struct loader *l, size_t k, enum sysctld_order o,
		       const struct sysctld_assign **cand)
{
	struct sysctld *d = l->d;
	struct sysctld_key *ks = &d->keys[k];
	char path[PATH_MAX];
	size_t nc = 0, win, j = 0;

	if (key_proc_path(&key_table[k], path, sizeof(path)) < 0)
		return 0;
	for (size_t i = 0; i < d->n_files; i++) {
		const struct file_info *fi = &l->info[i];

		if (!d->files[i].used[o])
			continue;
		for (size_t a = fi->first; a < fi->first + fi->n; a++)
			if (sysctld_assign_matches(&d->assigns[a], key_table[k].name, path))
				cand[nc++] = &d->assigns[a];
	}
	if (nc == 0)
		return 0;
	win = nc - 1;
	if (glob_yields(o)) {
		for (size_t i = nc; i-- > 0;) {
			if (!sysctld_is_glob(cand[i]->key)) {
				win = i;
				break;
			}
		}
	}
	ks->winner[o] = cand[win];
	if (nc == 1)
		return 0;
	ks->overridden[o] = calloc(nc - 1, sizeof(*ks->overridden[o]));	/* NOLINT(bugprone-sizeof-expression): pointers */
	if (!ks->overridden[o])
		return -ENOMEM;
	for (size_t i = 0; i < nc; i++)
		if (i != win)
			ks->overridden[o][j++] = cand[i];
	ks->n_overridden[o] = j;
	return 0;
}

static int resolve_keys(struct loader *l)
{
	struct sysctld *d = l->d;
	const struct sysctld_assign **cand;
	int r = 0;

	d->keys = calloc(key_count, sizeof(*d->keys));
	cand = calloc(d->n_assigns ? d->n_assigns : 1, sizeof(*cand));	/* NOLINT(bugprone-sizeof-expression): pointers */
	if (!d->keys || !cand) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < key_count && r == 0; k++)
		for (int o = 0; o < ORDER__COUNT && r == 0; o++)
			r = resolve_key(l, k, (enum sysctld_order) o, cand);
out:
	free(cand);
	return r;
}

/* Does the dotted key exist under proc/sys? */
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

static int add_stale(struct loader *l, const struct sysctld_assign *a)
{
	struct sysctld *d = l->d;
	const struct key_def *k = key_lookup(a->key);
	const char *mod = key_module(k, a->key);
	char modpath[PATH_MAX];
	struct sysctld_stale *s;
	int n;

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

/* Same inode read earlier under another name?  With Debian's
 * 99-sysctl.conf -> ../sysctl.conf, procps reads one file twice; its stale
 * lines are still one problem each. */
static bool read_before(const struct loader *l, size_t i)
{
	const struct file_info *fi = &l->info[i];

	for (size_t j = 0; j < i && fi->have_id; j++)
		if (l->info[j].have_id && l->info[j].n > 0 &&
		    l->info[j].dev == fi->dev && l->info[j].ino == fi->ino)
			return true;
	return false;
}

static int find_stale(struct loader *l)
{
	struct sysctld *d = l->d;
	int r;

	for (size_t i = 0; i < d->n_files; i++) {
		const struct file_info *fi = &l->info[i];

		if (fi->n == 0 || read_before(l, i))
			continue;
		for (size_t a = fi->first; a < fi->first + fi->n; a++) {
			const struct sysctld_assign *as = &d->assigns[a];

			if (sysctld_is_glob(as->key) || key_exists(l->rootfd, as->key))
				continue;
			r = add_stale(l, as);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int sysctld_load(struct sysctld *d, int rootfd, long kernel_version)
{
	struct loader l = { .d = d, .rootfd = rootfd, .kernel_version = kernel_version };
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

	for (size_t i = 0; i < n_cands; i++)
		free(cands[i].rel);
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
	}
	return "unknown";
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/* The file d read under path, or NULL. */
static const struct sysctld_file *file_at(const struct sysctld *d, const char *path)
{
	for (size_t i = 0; i < d->n_files; i++)
		if (strcmp(d->files[i].path, path) == 0)
			return &d->files[i];
	return NULL;
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
			const struct sysctld_file *f = file_at(d, a->file);

			if (!f || !f->used[o] || strcmp(a->file, path) == 0 ||
			    !applied_after(a->file, path, (enum sysctld_order) o))
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
		sets = strcmp(d->assigns[i].file, path) == 0 &&
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
