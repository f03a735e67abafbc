/* Detection of programs that re-write sysctls after boot (see
 * snap_reappliers.h): TuneD from its binary or tuned-main.conf, ufw from
 * ufw.conf and the file its IPT_SYSCTL names, bpftune from its binary.  It
 * reads their shell and ini style settings itself and leaves sysctl.d syntax
 * to snap_sysctld.c; whether a re-applier matters is for the rules to say. */
#include "reappliers.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys.h"
#include "rootfs.h"
#include "strutil.h"

static void free_keys(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

/* Value of the last "name = value" line of a small shell or ini style file,
 * without quotes; *ret is NULL when absent or unreadable (a warning says
 * why, a missing file is normal).  Returns 0 or -ENOMEM. */
static int conf_get(struct sysctld *d, int rootfd, const char *rel, const char *name, char **ret)
{
	char *buf = NULL, *next, *found = NULL;
	char host[PATH_MAX];
	int r;

	*ret = NULL;
	(void) str_printf(host, sizeof(host), "/%s", rel);
	if (!rootfs_exists(rootfd, rel))
		return 0;
	r = sysctld_read_conf(d, rootfd, rel, host, &buf, NULL, NULL);
	if (r != SYSCTLD_READ_TEXT)
		return r < 0 ? r : 0;
	for (next = buf; next;) {
		char *line = next, *eq;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line = str_strip(line);
		eq = strchr(line, '=');
		if (*line == '#' || *line == ';' || !eq)
			continue;
		*eq = '\0';
		if (strcmp(str_strip(line), name) == 0)
			found = str_strip(eq + 1);
	}
	if (found) {
		size_t len = strlen(found);

		if (len >= 2 && (found[0] == '"' || found[0] == '\'') && found[len - 1] == found[0]) {
			found[len - 1] = '\0';
			found++;
		}
		*ret = strdup(found);
		if (!*ret)
			r = -ENOMEM;
	}
	free(buf);
	return r < 0 ? r : 0;
}

/* Takes ownership of detail and keys, on every path. */
static int add_reapplier(struct sysctld *d, const char *name, char *detail, char **keys, size_t n_keys)
{
	struct sysctld_reapplier *ra = NULL;

	/* Three at most: growing by one costs nothing, and needs no capacity
	 * field in the public struct. */
	if (detail)
		ra = realloc(d->reappliers, (d->n_reappliers + 1) * sizeof(*ra));
	if (!ra) {
		free(detail);
		free_keys(keys, n_keys);
		return -ENOMEM;
	}
	d->reappliers = ra;
	ra = &d->reappliers[d->n_reappliers++];
	*ra = (struct sysctld_reapplier) { .detail = detail, .keys = keys, .n_keys = n_keys };
	ra->name = strdup(name);
	return ra->name ? 0 : -ENOMEM;
}

static int find_tuned(struct sysctld *d, int rootfd)
{
	char *value = NULL;
	const char *detail;
	int r;

	if (!rootfs_exists(rootfd, "usr/sbin/tuned") &&
	    !rootfs_exists(rootfd, "etc/tuned/tuned-main.conf"))
		return 0;
	r = conf_get(d, rootfd, "etc/tuned/tuned-main.conf", "reapply_sysctl", &value);
	if (r < 0)
		return r;
	/* Absent or unparsable: TuneD's default is 1. */
	if (value && (strcmp(value, "0") == 0 || strcasecmp(value, "false") == 0 ||
		      strcasecmp(value, "no") == 0 || strcasecmp(value, "off") == 0))
		detail = "TuneD's profile sysctls override sysctl.d "
			"(reapply_sysctl = 0 in /etc/tuned/tuned-main.conf)";
	else if (value)
		detail = "TuneD applies its profile's sysctls and then re-applies the sysctl.d files "
			"(reapply_sysctl = 1 in /etc/tuned/tuned-main.conf); "
			"a runtime change is overwritten whenever tuned restarts";
	else
		detail = "TuneD applies its profile's sysctls and then re-applies the sysctl.d files "
			"(reapply_sysctl is not set in /etc/tuned/tuned-main.conf, default 1); "
			"a runtime change is overwritten whenever tuned restarts";
	free(value);
	return add_reapplier(d, "tuned", strdup(detail), NULL, 0);
}

/* Tracked keys (dotted, key table order) that some line of v sets. */
static int tracked_keys(const struct sysctld_assign *v, size_t n, char ***ret_keys, size_t *ret_n)
{
	char **keys = NULL, path[PATH_MAX];
	size_t nk = 0;

	if (n > 0) {
		keys = calloc(key_count, sizeof(*keys));
		if (!keys)
			return -ENOMEM;
	}
	for (size_t k = 0; k < key_count && n > 0; k++) {
		if (key_proc_path(&key_table[k], path, sizeof(path)) < 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (!sysctld_assign_matches(&v[i], key_table[k].name, path))
				continue;
			keys[nk] = strdup(key_table[k].name);
			if (!keys[nk]) {
				free_keys(keys, nk);
				return -ENOMEM;
			}
			nk++;
			break;
		}
	}
	if (nk == 0) {
		free(keys);
		keys = NULL;
	}
	*ret_keys = keys;
	*ret_n = nk;
	return 0;
}

/* ufw's before-start hook applies IPT_SYSCTL with `sysctl -p`, so the file
 * is sysctl.d syntax but not boot configuration. */
static int find_ufw(struct sysctld *d, int rootfd)
{
	struct sysctld_assign *v = NULL;
	size_t n = 0, cap = 0, n_keys = 0;
	char *enabled = NULL, *path = NULL, *buf = NULL, *detail = NULL, **keys = NULL;
	const char *rel;
	int r;

	r = conf_get(d, rootfd, "etc/ufw/ufw.conf", "ENABLED", &enabled);
	if (r < 0 || !enabled || strcmp(enabled, "yes") != 0)
		goto out;
	r = conf_get(d, rootfd, "etc/default/ufw", "IPT_SYSCTL", &path);
	if (r < 0)
		goto out;
	if (!path || !*path) {
		free(path);
		path = strdup("/etc/ufw/sysctl.conf");
		if (!path) {
			r = -ENOMEM;
			goto out;
		}
	}
	for (rel = path; *rel == '/'; rel++)
		;
	r = sysctld_read_conf(d, rootfd, rel, path, &buf, NULL, NULL);
	if (r == SYSCTLD_READ_TEXT)
		r = sysctld_parse_conf(d, path, buf, &v, &n, &cap);
	if (r >= 0)
		r = tracked_keys(v, n, &keys, &n_keys);
	if (r < 0)
		goto out;
	if (asprintf(&detail, "ufw applies %s when it starts (IPT_SYSCTL in /etc/default/ufw)",
		     path) < 0)
		detail = NULL;
	r = add_reapplier(d, "ufw", detail, keys, n_keys);
out:
	sysctld_assigns_free(v, n);
	free(buf);
	free(path);
	free(enabled);
	return r < 0 ? r : 0;
}

int reappliers_find(struct sysctld *d, int rootfd)
{
	int r;

	r = find_tuned(d, rootfd);
	if (r >= 0)
		r = find_ufw(d, rootfd);
	if (r >= 0 && rootfs_exists(rootfd, "usr/sbin/bpftune"))
		r = add_reapplier(d, "bpftune",
				  strdup("bpftune tunes TCP sysctls automatically at runtime"), NULL, 0);
	return r;
}

struct sysctld_reapplier *reappliers_free(struct sysctld_reapplier *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].name);
		free(v[i].detail);
		free_keys(v[i].keys, v[i].n_keys);
	}
	free(v);
	return NULL;
}
