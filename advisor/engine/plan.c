/* Plans; see plan.h.  What would beat the managed file at boot is decided by
 * the boot resolution itself (sysctld_overrides()). */
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "rootfs.h"
#include "txn.h"

static void normalize(const struct key_def *k, const char *in, char *out, size_t len)
{
	long long v[2];

	if (key_parse_value(k, in, v) < 0 || key_format_value(k, v, out, len) < 0)
		snprintf(out, len, "%s", in);
}

static int file_content(struct plan *pl)
{
	size_t cap = 512, len;
	char *buf;

	for (size_t i = 0; i < pl->n; i++)
		cap += strlen(key_table[pl->rows[i].key].name) + strlen(pl->rows[i].target) + 8;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	len = (size_t) snprintf(buf, cap,
				"# Managed by tcptune (profile %s). `tcptune apply` replaces this file;\n"
				"# `tcptune rollback` restores what was here before.\n", pl->profile);
	for (size_t i = 0; i < pl->n; i++) {
		if (pl->rows[i].skip)
			continue;
		len += (size_t) snprintf(buf + len, cap - len, "%s = %s\n", key_table[pl->rows[i].key].name,
					 pl->rows[i].target);
	}
	pl->file_content = buf;
	return 0;
}

/* Does the kernel of kernel_version accept target for k?  If not, why. */
static bool target_accepted(const struct key_def *k, const char *target, long kernel_version, char *why,
			    size_t why_len)
{
	long long v[2];

	return key_parse_value(k, target, v) < 0 || key_in_kernel_range_at(k, v, kernel_version, why, why_len);
}

static bool in_profile(const struct plan_input *in, size_t n, size_t key)
{
	for (size_t i = 0; i < n; i++)
		if (in[i].key == key)
			return true;
	return false;
}

/* The nearest value of k's apply range to the harmful v, in kernel text,
 * or false when k is not a single integer (a pair is left to the
 * profiles, which all set ip_local_port_range). */
static bool nearest_safe(const struct key_def *k, const long long v[2], char *buf, size_t len)
{
	long long t[2] = { v[0] < k->amin ? k->amin : v[0] > k->amax ? k->amax : v[0], 0 };

	return k->type == KEY_INT && key_format_value(k, t, buf, len) >= 0;
}

/* Harmful runtime values of keys the profile leaves alone: one more input
 * each, target and reason in the row (issue #16: whatever profile is
 * applied, a harmful value does not stay). */
static void add_corrections(struct plan *pl, const struct snapshot *s, const struct plan_input *in, size_t n,
			    struct plan_input *extra, size_t *n_extra)
{
	*n_extra = 0;
	for (size_t i = 0; i < key_count; i++) {
		const struct key_def *k = &key_table[i];
		const struct snap_sysctl *rt = &s->sysctl[i];
		struct plan_row *row = &pl->rows[n + *n_extra];
		char now[64];

		if (!k->writable || !rt->present || rt->err || !key_value_harmful(k, rt->v) || in_profile(in, n, i) ||
		    !nearest_safe(k, rt->v, row->target, sizeof(row->target)) ||
		    key_format_value(k, rt->v, now, sizeof(now)) < 0)
			continue;
		row->correction = true;
		snprintf(row->whybuf, sizeof(row->whybuf),
			 "corrects a harmful value (finding harmful-value): %s is outside %lld..%lld, the range "
			 "tcptune applies, because %s. %s is the nearest value inside it. The profile leaves "
			 "this key alone; a harmful value is corrected whatever the profile.",
			 now, k->amin, k->amax, k->arange_why ? k->arange_why : "`tcptune explain` says why", row->target);
		extra[*n_extra] = (struct plan_input) { i, row->target, row->whybuf };
		(*n_extra)++;
	}
}

int plan_build(struct plan *pl, const struct snapshot *s, const char *profile, const struct plan_input *in,
	       size_t n)
{
	struct plan_input *all = NULL;
	char *current = NULL;
	size_t n_extra = 0;
	int r;

	memset(pl, 0, sizeof(*pl));
	snprintf(pl->profile, sizeof(pl->profile), "%s", profile);
	pl->rows = calloc(n + key_count, sizeof(*pl->rows));
	all = calloc(n + key_count, sizeof(*all));
	if (!pl->rows || !all) {
		free(all);
		plan_release(pl);
		return -ENOMEM;
	}
	if (n)
		memcpy(all, in, n * sizeof(*in));
	add_corrections(pl, s, in, n, all + n, &n_extra);
	pl->n_corrections = n_extra;
	in = all;
	n += n_extra;
	for (size_t i = 0; i < n; i++) {
		struct plan_row *row = &pl->rows[pl->n++];
		const struct key_def *k = &key_table[in[i].key];
		const struct snap_sysctl *rt = &s->sysctl[in[i].key];

		row->key = in[i].key;
		row->why = row->correction ? row->whybuf : in[i].why;
		if (!row->correction)
			normalize(k, in[i].value, row->target, sizeof(row->target));
		row->present = rt->present;
		if (rt->present)
			normalize(k, rt->raw, row->runtime, sizeof(row->runtime));
		if (!rt->present) {
			const char *why = key_absence_reason(k, s->kernel_version, row->skipbuf, sizeof(row->skipbuf));
			if (!why)
				snprintf(row->skipbuf, sizeof(row->skipbuf), "%s",
					 rt->err ? "cannot be read here" : "not in this kernel");
			row->skip = row->skipbuf;
			pl->n_skip++;
		} else if (!target_accepted(k, row->target, s->kernel_version, row->skipbuf, sizeof(row->skipbuf))) {
			/* A value the running kernel refuses is never proposed. */
			row->skip = row->skipbuf;
			pl->n_skip++;
		} else if (strcmp(row->runtime, row->target) != 0) {
			row->change = true;
			pl->n_change++;
		}
		if (s->boot_ok) {
			for (int o = 0; o < ORDER__COUNT; o++)
				row->boot[o] = s->boot.keys[in[i].key].winner[o];
			sysctld_overrides(&s->boot, row->key, TXN_DEFAULT_MANAGED_FILE, row->override);
		}
	}
	free(all);
	r = file_content(pl);
	if (r < 0) {
		plan_release(pl);
		return r;
	}
	if (rootfs_read_file(s->rootfd, TXN_DEFAULT_MANAGED_FILE_REL, 1024 * 1024, &current, NULL) == 0)
		pl->file_unchanged = strcmp(current, pl->file_content) == 0;
	free(current);
	return 0;
}

void plan_release(struct plan *pl)
{
	free(pl->rows);
	free(pl->file_content);
	memset(pl, 0, sizeof(*pl));
}
