/* Stale lines (see sysctld.h): sysctl.d lines for a key the running kernel
 * does not have, and why it may be missing (a module not loaded, an
 * interface not present yet, a key of another kernel). */
#include "sysctld.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "rootfs.h"
#include "strutil.h"
#include "sysctld_int.h"

bool sysctld_key_exists(int rootfd, const char *key)
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

int sysctld_find_stale(struct loader *l)
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
	nw = sysctld_write_order(d, ORDER_SYSTEMD, w);
	for (size_t i = 0; i < d->n_assigns && r == 0; i++) {
		const struct sysctld_assign *as = &d->assigns[i];

		if (!d->files[as->file_idx].used[as->order] || as->exclude || sysctld_is_glob(as->key) ||
		    (as->order == ORDER_SYSTEMD && !in_write_order(w, nw, as)) ||
		    sysctld_key_exists(l->rootfd, as->key))
			continue;
		r = add_stale(l, as);
	}
	free(w);
	return r;
}
