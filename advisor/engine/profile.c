/* Loading profiles/NAME.yaml (docs/ARCHITECTURE.md §2): strict fields, the name equal to the
 * file's, every sysctl key found in the key table and writable, every value
 * inside the key's apply range and explained in `why`, `match` parsed in the
 * `when` language; then `extends` resolved across all loaded profiles.
 * Every error names file:line:column. */
#include "profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "strutil.h"
#include "yaml_load.h"

#define SUBDIR "profiles"

/* ---- freeing ------------------------------------------------------------- */

static void setting_release(struct profile_setting *s)
{
	free(s->value);
	free(s->why);
	free(s->from);
	memset(s, 0, sizeof(*s));
}

static void settings_free(struct profile_setting *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		setting_release(&v[i]);
	free(v);
}

static void profile_release(struct profile *p)
{
	free(p->name);
	free(p->description);
	free(p->extends);
	free(p->match_src);
	rule_expr_free(p->match);
	settings_free(p->settings, p->n_settings);
	free(p->file);
	memset(p, 0, sizeof(*p));
}

void profile_set_release(struct profile_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		profile_release(&set->v[i]);
	free(set->v);
	memset(set, 0, sizeof(*set));
}

const struct profile *profile_find(const struct profile_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->v[i].name, name) == 0)
			return &set->v[i];
	return NULL;
}

const struct profile_setting *profile_setting_find(const struct profile *p, size_t key)
{
	for (size_t i = 0; i < p->n_settings; i++)
		if (p->settings[i].key == key)
			return &p->settings[i];
	return NULL;
}

/* ---- one file ------------------------------------------------------------ */

/* Names end up in file names, the store's manifests and on the command
 * line: keep them to what needs no quoting anywhere. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PROFILE_NAME_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

/* The name a file must declare: its base name without ".yaml". */
static void name_from_display(const char *display, char *buf, size_t len)
{
	const char *base = strrchr(display, '/');
	size_t n;

	base = base ? base + 1 : display;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".yaml") == 0)
		n -= 5;
	if (n >= len)
		n = len - 1;
	memcpy(buf, base, n);
	buf[n] = '\0';
}

static int want_scalar(const struct ynode *n, const char *file, const char *what, struct diag *d)
{
	if (n->type != YNODE_SCALAR)
		return diag_set(d, -EINVAL, file, n->line, n->col, "%s must be a single value, not %s", what,
				ynode_type_name(n->type));
	return 0;
}

static int want_text(const struct ynode *n, const char *file, const char *what, struct diag *d)
{
	const char *s;

	if (want_scalar(n, file, what, d) < 0)
		return -EINVAL;
	for (s = n->scalar; *s == ' ' || *s == '\t' || *s == '\n'; s++)
		;
	if (!*s)
		return diag_set(d, -EINVAL, file, n->line, n->col, "%s is empty", what);
	return 0;
}

/* Check one `sysctl` entry against the key table (docs/SECURITY.md: a name from a
 * file is only ever compared with the table, never made into a path). */
static int check_setting(const struct ynode *k, const struct ynode *v, const char *file, size_t *ret_key,
			 long long val[2], struct diag *d)
{
	const struct key_def *kd;
	char kbuf[96], vbuf[96];
	int idx;

	/* key_lookup() accepts "net/ipv4/x" for /proc paths; a profile names
	 * keys one way only, and "/" or ".." never reach the table. */
	if (strchr(k->scalar, '/') || strstr(k->scalar, ".."))
		return diag_set(d, -EINVAL, file, k->line, k->col,
				"'%s' is not a sysctl name: write keys with dots, as in net.ipv4.tcp_fin_timeout",
				str_escape(k->scalar, kbuf, sizeof(kbuf)));
	idx = key_index(k->scalar);
	if (idx < 0)
		return diag_set(d, -EINVAL, file, k->line, k->col,
				"unknown sysctl '%s': not in tcptune's key table (see 'tcptune explain KEY')",
				str_escape(k->scalar, kbuf, sizeof(kbuf)));
	kd = &key_table[idx];
	if (!kd->writable)
		return diag_set(d, -EINVAL, file, k->line, k->col, "%s is never set by tcptune: %s%s%s", kd->name,
				kd->arange_why ? kd->arange_why : "tcptune only reads it",
				kd->removed ? "; it was removed in Linux " : "", kd->removed ? kd->removed : "");
	if (want_scalar(v, file, "a sysctl value", d) < 0)
		return -EINVAL;
	if (key_parse_value(kd, v->scalar, val) < 0)
		return diag_set(d, -EINVAL, file, v->line, v->col, "'%s' is not a valid value for %s%s",
				str_escape(v->scalar, vbuf, sizeof(vbuf)), kd->name,
				kd->type == KEY_INT_PAIR ? " (two numbers, \"low high\")" : "");
	if (!key_in_apply_range(kd, val)) {
		if (kd->type == KEY_INT_PAIR)
			snprintf(vbuf, sizeof(vbuf), "%lld %lld", val[0], val[1]);
		else
			snprintf(vbuf, sizeof(vbuf), "%lld", val[0]);
		return diag_set(d, -EINVAL, file, v->line, v->col, "%s = %s is outside %lld..%lld: %s", kd->name, vbuf,
				kd->amin, kd->amax, kd->arange_why ? kd->arange_why : "tcptune's apply range");
	}
	*ret_key = (size_t) idx;
	return 0;
}

static int load_settings(struct profile *p, const struct ynode *sysctl, const struct ynode *why, const char *file,
			 struct diag *d)
{
	char kbuf[96];

	if (sysctl && sysctl->type != YNODE_MAP)
		return diag_set(d, -EINVAL, file, sysctl->line, sysctl->col,
				"'sysctl' must be a mapping of key: value");
	if (why && why->type != YNODE_MAP)
		return diag_set(d, -EINVAL, file, why->line, why->col, "'why' must be a mapping of key: reason");
	/* Every reason belongs to a setting: a stray one is usually a typo in
	 * a key that was meant to be explained. */
	for (size_t i = 0; why && i < why->n; i++)
		if (!sysctl || !ynode_map_get(sysctl, why->keys[i]->scalar))
			return diag_set(d, -EINVAL, file, why->keys[i]->line, why->keys[i]->col,
					"'why' explains '%s', which is not in 'sysctl'",
					str_escape(why->keys[i]->scalar, kbuf, sizeof(kbuf)));
	if (!sysctl || sysctl->n == 0)
		return 0;
	p->settings = calloc(sysctl->n, sizeof(*p->settings));
	if (!p->settings)
		return -ENOMEM;
	for (size_t i = 0; i < sysctl->n; i++) {
		const struct ynode *k = sysctl->keys[i], *v = sysctl->items[i];
		const struct ynode *reason = why ? ynode_map_get(why, k->scalar) : NULL;
		struct profile_setting *s = &p->settings[p->n_settings];
		const struct key_def *kd;
		char value[64];
		int r;

		r = check_setting(k, v, file, &s->key, s->v, d);
		if (r < 0)
			return r;
		if (!reason)
			return diag_set(d, -EINVAL, file, k->line, k->col,
					"%s has no reason: every setting needs one under 'why'",
					key_table[s->key].name);
		if (want_text(reason, file, "a reason in 'why'", d) < 0)
			return -EINVAL;
		kd = &key_table[s->key];
		/* Keep the kernel's text form, not the file's spelling: this is
		 * what goes into sysctl.d and /proc/sys. */
		if (key_format_value(kd, s->v, value, sizeof(value)) < 0)
			return diag_set(d, -EINVAL, file, k->line, k->col, "%s: value too long", kd->name);
		s->value = strdup(value);
		s->why = strdup(reason->scalar);
		s->from = strdup(p->name);
		s->line = k->line;
		s->col = k->col;
		p->n_settings++;
		if (!s->value || !s->why || !s->from)
			return -ENOMEM;
	}
	return 0;
}

enum field { FIELD_NAME, FIELD_DESCRIPTION, FIELD_EXTENDS, FIELD_MATCH, FIELD_SYSCTL, FIELD_WHY, FIELD__COUNT };
static const char *const field_names[FIELD__COUNT] = { "name", "description", "extends", "match", "sysctl", "why" };

static int dup_into(char **dst, const char *s)
{
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

/* Fill p from doc.  p is half-built on failure; the caller releases it. */
static int load_profile(struct profile *p, const struct ynode *doc, const char *file, struct diag *d)
{
	const struct ynode *f[FIELD__COUNT] = { NULL };
	char want[PROFILE_NAME_MAX + 8], buf[96];
	int r;

	if (!doc)
		return diag_set(d, -EINVAL, file, 0, 0, "empty profile file");
	if (doc->type != YNODE_MAP)
		return diag_set(d, -EINVAL, file, doc->line, doc->col,
				"a profile is a mapping (name, description, extends, match, sysctl, why), not %s",
				ynode_type_name(doc->type));
	for (size_t i = 0; i < doc->n; i++) {
		size_t k;

		for (k = 0; k < FIELD__COUNT; k++)
			if (strcmp(doc->keys[i]->scalar, field_names[k]) == 0)
				break;
		if (k == FIELD__COUNT)
			return diag_set(d, -EINVAL, file, doc->keys[i]->line, doc->keys[i]->col,
					"unknown field '%s' (fields: name, description, extends, match, sysctl, why)",
					str_escape(doc->keys[i]->scalar, buf, sizeof(buf)));
		f[k] = doc->items[i];
	}
	if ((r = dup_into(&p->file, file)) < 0)
		return r;
	if (!f[FIELD_NAME])
		return diag_set(d, -EINVAL, file, doc->line, doc->col, "profile has no 'name'");
	if (want_scalar(f[FIELD_NAME], file, "name", d) < 0)
		return -EINVAL;
	name_from_display(file, want, sizeof(want));
	if (!valid_name(f[FIELD_NAME]->scalar))
		return diag_set(d, -EINVAL, file, f[FIELD_NAME]->line, f[FIELD_NAME]->col,
				"profile name '%s' must be 1 to %d lower-case letters, digits, '-' or '_'",
				str_escape(f[FIELD_NAME]->scalar, buf, sizeof(buf)), PROFILE_NAME_MAX);
	/* `tcptune apply NAME` finds the file by name: the two must agree. */
	if (strcmp(f[FIELD_NAME]->scalar, want) != 0)
		return diag_set(d, -EINVAL, file, f[FIELD_NAME]->line, f[FIELD_NAME]->col,
				"profile name '%s' does not match its file name; name it '%s' or rename the file",
				f[FIELD_NAME]->scalar, str_escape(want, buf, sizeof(buf)));
	if ((r = dup_into(&p->name, f[FIELD_NAME]->scalar)) < 0)
		return r;
	if (!f[FIELD_DESCRIPTION])
		return diag_set(d, -EINVAL, file, doc->line, doc->col, "profile %s has no 'description'", p->name);
	if (want_text(f[FIELD_DESCRIPTION], file, "description", d) < 0)
		return -EINVAL;
	if ((r = dup_into(&p->description, f[FIELD_DESCRIPTION]->scalar)) < 0)
		return r;
	if (f[FIELD_EXTENDS]) {
		if (want_scalar(f[FIELD_EXTENDS], file, "extends", d) < 0)
			return -EINVAL;
		if (!valid_name(f[FIELD_EXTENDS]->scalar))
			return diag_set(d, -EINVAL, file, f[FIELD_EXTENDS]->line, f[FIELD_EXTENDS]->col,
					"extends '%s' is not a profile name",
					str_escape(f[FIELD_EXTENDS]->scalar, buf, sizeof(buf)));
		if ((r = dup_into(&p->extends, f[FIELD_EXTENDS]->scalar)) < 0)
			return r;
		p->extends_line = f[FIELD_EXTENDS]->line;
		p->extends_col = f[FIELD_EXTENDS]->col;
	}
	if (f[FIELD_MATCH]) {
		const struct ynode *m = f[FIELD_MATCH];

		if (want_text(m, file, "match", d) < 0)
			return -EINVAL;
		if ((r = dup_into(&p->match_src, m->scalar)) < 0)
			return r;
		/* A quoted scalar's text starts one column after its quote. */
		r = rule_expr_parse(m->scalar, m->line, m->col + (m->quoted ? 1 : 0), &p->match, d);
		if (r < 0) {
			snprintf(d->file, sizeof(d->file), "%s", file);
			return r;
		}
	}
	return load_settings(p, f[FIELD_SYSCTL], f[FIELD_WHY], file, d);
}

/* Parse doc into a new profile at the end of set (extends unresolved). */
static int add_profile(struct profile_set *set, const struct ynode *doc, const char *file, struct diag *d)
{
	struct profile p = { .name = NULL }, *nv;
	const struct profile *dup;
	int r;

	r = load_profile(&p, doc, file, d);
	if (r == 0 && (dup = profile_find(set, p.name))) {
		const struct ynode *n = ynode_map_get(doc, "name");
		r = diag_set(d, -EINVAL, file, n->line, n->col, "duplicate profile '%s' (first in %s)", p.name,
			     dup->file);
	}
	if (r == 0) {
		nv = realloc(set->v, (set->n + 1) * sizeof(*nv));
		if (nv) {
			set->v = nv;
			set->v[set->n++] = p;
			return 0;
		}
		r = -ENOMEM;
	}
	profile_release(&p);
	return r;
}

/* ---- extends ------------------------------------------------------------- */

static size_t index_of(const struct profile_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->v[i].name, name) == 0)
			return i;
	return set->n;
}

static int setting_copy(struct profile_setting *dst, const struct profile_setting *src)
{
	*dst = *src;
	dst->value = strdup(src->value);
	dst->why = strdup(src->why);
	dst->from = strdup(src->from);
	if (!dst->value || !dst->why || !dst->from) {
		setting_release(dst);
		return -ENOMEM;
	}
	return 0;
}

/* Replace child's own settings by parent's (resolved) with child's on top,
 * in key-table order. */
static int merge(struct profile *child, const struct profile *parent)
{
	const struct profile_setting **by_key;
	struct profile_setting *out = NULL;
	size_t n = 0;
	int r = 0;

	by_key = calloc(key_count, sizeof(*by_key));	/* NOLINT(bugprone-sizeof-expression): pointers */
	if (!by_key)
		return -ENOMEM;
	if (parent)
		for (size_t i = 0; i < parent->n_settings; i++)
			by_key[parent->settings[i].key] = &parent->settings[i];
	for (size_t i = 0; i < child->n_settings; i++)
		by_key[child->settings[i].key] = &child->settings[i];
	for (size_t k = 0; k < key_count; k++)
		n += by_key[k] != NULL;
	out = calloc(n ? n : 1, sizeof(*out));	/* at least one: out is never NULL below */
	if (!out) {
		r = -ENOMEM;
		goto out;
	}
	n = 0;
	for (size_t k = 0; k < key_count; k++) {
		if (!by_key[k])
			continue;
		r = setting_copy(&out[n], by_key[k]);
		if (r < 0)
			goto out;
		n++;
	}
	settings_free(child->settings, child->n_settings);
	child->settings = out;
	child->n_settings = n;
	out = NULL;		/* the child owns it now */
out:
	settings_free(out, n);
	free(by_key);
	return r;
}

static int cycle_error(const struct profile_set *set, const size_t *chain, size_t len, size_t start,
		       struct diag *d)
{
	const struct profile *p = &set->v[chain[start]];
	char msg[sizeof(d->msg)];
	size_t o = 0;

	for (size_t i = start; i < len && o < sizeof(msg); i++)
		o += (size_t) snprintf(msg + o, sizeof(msg) - o, "%s -> ", set->v[chain[i]].name);
	if (o < sizeof(msg))
		snprintf(msg + o, sizeof(msg) - o, "%s", p->name);
	return diag_set(d, -EINVAL, p->file, p->extends_line, p->extends_col, "extends cycle: %s", msg);
}

/* Resolve every profile's extends: follow each chain up to a resolved
 * profile or a root, then merge back down.  Iterative, so a long chain of
 * user files cannot exhaust the stack. */
static int resolve(struct profile_set *set, struct diag *d)
{
	size_t *chain = NULL;
	bool *done = NULL, *in_chain = NULL;
	int r = 0;

	if (set->n == 0)
		return 0;
	chain = calloc(set->n, sizeof(*chain));
	done = calloc(set->n, sizeof(*done));
	in_chain = calloc(set->n, sizeof(*in_chain));
	if (!chain || !done || !in_chain) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < set->n && r == 0; i++) {
		size_t len = 0, j = i;

		while (!done[j]) {
			const struct profile *p = &set->v[j];
			size_t parent;

			if (in_chain[j]) {
				size_t start = 0;

				while (chain[start] != j)
					start++;
				r = cycle_error(set, chain, len, start, d);
				goto out;
			}
			chain[len++] = j;
			in_chain[j] = true;
			if (!p->extends)
				break;
			parent = index_of(set, p->extends);
			if (parent == set->n) {
				r = diag_set(d, -EINVAL, p->file, p->extends_line, p->extends_col,
					     "profile %s extends unknown profile '%s' (no " SUBDIR
					     "/%s.yaml in the data path)", p->name, p->extends, p->extends);
				goto out;
			}
			j = parent;
		}
		/* chain[len-1] has no parent or a resolved one; walk back down. */
		while (len > 0) {
			struct profile *p = &set->v[chain[--len]];
			const struct profile *parent = p->extends ? &set->v[index_of(set, p->extends)] : NULL;

			r = merge(p, parent);
			if (r < 0)
				goto out;
			in_chain[chain[len]] = false;
			done[chain[len]] = true;
		}
	}
	/* Checked after merging: a child may add nothing of its own. */
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].n_settings == 0) {
			r = diag_set(d, -EINVAL, set->v[i].file, 0, 0, "profile %s sets no sysctl", set->v[i].name);
			goto out;
		}
out:
	free(chain);
	free(done);
	free(in_chain);
	return r;
}

static int cmp_profile(const void *a, const void *b)
{
	return strcmp(((const struct profile *) a)->name, ((const struct profile *) b)->name);
}

static int finish(struct profile_set *set, int r, struct diag *d)
{
	if (r == 0 && set->n > 1)
		qsort(set->v, set->n, sizeof(set->v[0]), cmp_profile);
	if (r == 0)
		r = resolve(set, d);
	if (r == -ENOMEM)
		diag_set(d, r, NULL, 0, 0, "out of memory");
	if (r < 0)
		profile_set_release(set);
	return r;
}

int profile_set_load_buffers(struct profile_set *set, const struct profile_source *src, size_t n,
			     struct diag *d)
{
	int r = 0;

	memset(set, 0, sizeof(*set));
	for (size_t i = 0; i < n && r == 0; i++) {
		struct ynode *doc = NULL;

		r = yaml_load_buffer(src[i].buf, src[i].len, src[i].display, &doc, d);
		if (r == 0)
			r = add_profile(set, doc, src[i].display, d);
		ynode_free(doc);
	}
	return finish(set, r, d);
}

/* ---- the search path ----------------------------------------------------- */

static int add_cb(void *ctx, const struct ynode *doc, const char *display, struct diag *d)
{
	return add_profile(ctx, doc, display, d);
}

int profile_set_load(struct profile_set *set, const struct datadir *dd, struct diag *d)
{
	memset(set, 0, sizeof(*set));
	return finish(set, datadir_load_yaml(dd, "profiles", add_cb, set, d), d);
}
