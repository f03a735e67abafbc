/* Boot resolution (see sysctld.h): which line sets each tracked key under
 * each program, played as the kernel takes the writes, and what would beat a
 * given file.  Which files are read, in which order: sysctld_files.c; the
 * reader and parser: conf.c; stale lines: sysctld_stale.c.
 * It reads files under the audited root only and judges nothing: the rules
 * decide what a stale line or an overriding file means. */
#include "sysctld.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "rootfs.h"
#include "reappliers.h"
#include "sysctld_int.h"

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
size_t sysctld_write_order(const struct sysctld *d, enum sysctld_order o, const struct sysctld_assign **w)
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
	nw = sysctld_write_order(d, o, w);
	for (size_t k = 0; k < key_count; k++) {
		/* A root without proc/sys (a bare configuration tree) has every key. */
		exists[k] = !rootfs_exists(l->rootfd, "proc/sys") || sysctld_key_exists(l->rootfd, key_table[k].name);
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
			if (wr == -EOVERFLOW) {	/* taken, but not carried: said, never "refused" */
				if (!has_warning(d, a->file, a->line))
					r = sysctld_add_warning(d, a->file, a->line, "%s: %s", key_table[k].name, why);
				continue;
			}
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

int sysctld_load(struct sysctld *d, int rootfd, long kernel_version, int kernel_hz)
{
	struct loader l = { .d = d, .rootfd = rootfd, .kernel_version = kernel_version, .kernel_hz = kernel_hz };
	int r;

	memset(d, 0, sizeof(*d));
	r = sysctld_read_files(&l);
	if (r == 0)
		r = resolve_keys(&l);
	if (r == 0)
		r = sysctld_find_stale(&l);
	if (r == 0)
		r = reappliers_find(d, rootfd);
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
