/* Loading rules/NAME.yaml into a rule set: strict fields, unique ids, `when`
 * parsed and type-checked, titles' {fact} names checked, sysctl values
 * checked against the key table's apply range.  Every error names
 * file:line:column. */
#include "rule.h"

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "keys.h"
#include "yaml_load.h"

static const char *const severity_names[] = { "info", "warning", "critical" };

const char *severity_name(enum severity s)
{
	return (unsigned) s < 3 ? severity_names[s] : "?";
}

static void rule_release(struct rule *r)
{
	free(r->id);
	free(r->when_src);
	rule_expr_free(r->when);
	free(r->title);
	free(r->explain);
	free(r->fix);
	for (size_t i = 0; i < r->n_sysctl; i++) {
		free(r->sysctl[i].key);
		free(r->sysctl[i].value);
	}
	free(r->sysctl);
	free(r->file);
	memset(r, 0, sizeof(*r));
}

void rule_set_release(struct rule_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		rule_release(&set->rules[i]);
	free(set->rules);
	memset(set, 0, sizeof(*set));
}

const struct rule *rule_set_find(const struct rule_set *set, const char *id)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->rules[i].id, id) == 0)
			return &set->rules[i];
	return NULL;
}

/* Where the text of a scalar starts: a quoted scalar's text is one column
 * after its quote.  (For block scalars the position is the indicator's.) */
static void text_pos(const struct ynode *n, unsigned *line, unsigned *col)
{
	*line = n->line;
	*col = n->col + (n->quoted ? 1 : 0);
}

static int want_scalar(const struct ynode *n, const char *file, const char *what, struct diag *d)
{
	if (n->type != YNODE_SCALAR)
		return diag_set(d, -EINVAL, file, n->line, n->col, "%s must be a single value, not %s", what,
				ynode_type_name(n->type));
	return 0;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64 || id[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
			return false;
	return true;
}

int rule_check_interpolation(const char *text, unsigned line, unsigned col, struct diag *d)
{
	for (const char *p = text; (p = strchr(p, '{')); ) {
		const char *end = strchr(p, '}');
		const char *name = p + 1;

		if (!end)
			return diag_set(d, -EINVAL, NULL, line, col + (unsigned) (p - text), "'{' without '}'");
		/* {a|b|c}: the first fact that is present */
		while (name < end) {
			const char *bar = memchr(name, '|', (size_t) (end - name));
			const char *stop = bar ? bar : end;
			char fact[128];
			size_t len = (size_t) (stop - name);

			/* "{a|}": an empty last choice means "nothing when a is missing" */
			if (len == 0 && bar == NULL && name > p + 1)
				break;
			if (len == 0 || len >= sizeof(fact))
				return diag_set(d, -EINVAL, NULL, line, col + (unsigned) (name - text),
						"empty or too long fact name in '{...}'");
			memcpy(fact, name, len);
			fact[len] = '\0';
			if (fact_lookup(fact) < 0)
				return diag_set(d, -EINVAL, NULL, line, col + (unsigned) (name - text),
						"unknown fact '%s' in '{...}'", fact);
			name = stop + 1;
		}
		p = end + 1;
	}
	return 0;
}

static int load_sysctl(struct rule *r, const struct ynode *n, const char *file, struct diag *d)
{
	if (n->type != YNODE_MAP)
		return diag_set(d, -EINVAL, file, n->line, n->col, "'sysctl' must be a mapping of key: value");
	if (n->n == 0)
		return 0;
	r->sysctl = calloc(n->n, sizeof(*r->sysctl));
	if (!r->sysctl)
		return -ENOMEM;
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *k = n->keys[i], *v = n->items[i];
		const struct key_def *kd = key_lookup(k->scalar);
		long long val[2];

		if (!kd)
			return diag_set(d, -EINVAL, file, k->line, k->col, "unknown sysctl '%s'", k->scalar);
		if (want_scalar(v, file, "a sysctl value", d) < 0)
			return -EINVAL;
		if (!kd->writable)
			return diag_set(d, -EINVAL, file, k->line, k->col, "'%s' is never set by tcptune: %s",
					kd->name, kd->arange_why ? kd->arange_why : "read only");
		if (key_parse_value(kd, v->scalar, val) < 0)
			return diag_set(d, -EINVAL, file, v->line, v->col, "'%s' is not a valid value for %s",
					v->scalar, kd->name);
		if (!key_in_apply_range(kd, val))
			return diag_set(d, -EINVAL, file, v->line, v->col, "%s = %s is outside %lld..%lld: %s",
					kd->name, v->scalar, kd->amin, kd->amax, kd->arange_why ? kd->arange_why : "");
		r->sysctl[r->n_sysctl].key = strdup(kd->name);
		r->sysctl[r->n_sysctl].value = strdup(v->scalar);
		r->n_sysctl++;
		if (!r->sysctl[r->n_sysctl - 1].key || !r->sysctl[r->n_sysctl - 1].value)
			return -ENOMEM;
	}
	return 0;
}

/* Does e read a sysctl.<key> fact (the facts a boot file can change)? */
static bool reads_sysctl(const struct rule_expr *e)
{
	size_t ids[64], n = rule_expr_facts(e, ids, 64);

	for (size_t i = 0; i < n && i < 64; i++)
		if (ids[i] >= fact_id_sysctl(0) && ids[i] < fact_id_sysctl(0) + key_count)
			return true;
	return false;
}

static int load_rule(struct rule *r, const struct ynode *n, const char *file, struct diag *d)
{
	static const char *const fields[] = { "id", "severity", "when", "title", "explain", "fix", "sysctl",
					      "world" };
	char **text[] = { &r->id, NULL, &r->when_src, &r->title, &r->explain, &r->fix, NULL, NULL };
	bool seen[8] = { false };
	const struct ynode *world = NULL;
	int rc;

	if (n->type != YNODE_MAP)
		return diag_set(d, -EINVAL, file, n->line, n->col, "a rule must be a mapping, not %s",
				ynode_type_name(n->type));
	r->line = n->line;
	r->file = strdup(file);
	if (!r->file)
		return -ENOMEM;
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *k = n->keys[i], *v = n->items[i];
		size_t f;

		for (f = 0; f < 8; f++)
			if (strcmp(k->scalar, fields[f]) == 0)
				break;
		if (f == 8)
			return diag_set(d, -EINVAL, file, k->line, k->col,
					"unknown field '%s' (fields: id, severity, when, title, explain, fix, sysctl, "
					"world)", k->scalar);
		/* yaml_load refuses duplicate keys already; a second value
		 * here would leak the first. */
		if (seen[f])
			return diag_set(d, -EINVAL, file, k->line, k->col, "duplicate field '%s'", k->scalar);
		seen[f] = true;
		if (f == 6) {
			rc = load_sysctl(r, v, file, d);
			if (rc < 0)
				return rc;
			continue;
		}
		if (want_scalar(v, file, fields[f], d) < 0)
			return -EINVAL;
		if (f == 7) {
			if (strcmp(v->scalar, "now") != 0 && strcmp(v->scalar, "boot") != 0)
				return diag_set(d, -EINVAL, file, v->line, v->col, "world '%s' is not now or boot",
						v->scalar);
			world = v;
			continue;
		}
		if (f == 1) {
			size_t s;
			for (s = 0; s < 3; s++)
				if (strcmp(v->scalar, severity_names[s]) == 0)
					break;
			if (s == 3)
				return diag_set(d, -EINVAL, file, v->line, v->col,
						"severity '%s' is not info, warning or critical", v->scalar);
			r->severity = (enum severity) s;
			continue;
		}
		*text[f] = strdup(v->scalar);
		if (!*text[f])
			return -ENOMEM;
		if (f == 0 && !valid_id(r->id))
			return diag_set(d, -EINVAL, file, v->line, v->col,
					"rule id '%s' must be lower-case letters, digits and '-'", r->id);
		if (f == 2 || f == 3) {
			unsigned line, col;

			text_pos(v, &line, &col);
			rc = f == 2 ? rule_expr_parse(v->scalar, line, col, &r->when, d)
				    : rule_check_interpolation(v->scalar, line, col, d);
			if (rc < 0) {
				snprintf(d->file, sizeof(d->file), "%s", file);
				return rc;
			}
		}
	}
	for (size_t f = 0; f < 6; f++)
		if (!seen[f])
			return diag_set(d, -EINVAL, file, n->line, n->col, "rule%s%s has no '%s'", r->id ? " " : "",
					r->id ? r->id : "", fields[f]);
	r->over_sysctl = reads_sysctl(r->when);
	r->world = world && strcmp(world->scalar, "boot") == 0 ? WORLD_BOOT : WORLD_NOW;
	if (world && r->over_sysctl)
		return diag_set(d, -EINVAL, file, world->line, world->col,
				"a rule over sysctl.* facts is judged in both worlds; 'world' is for the others");
	return 0;
}

static int add_rules(struct rule_set *set, const struct ynode *doc, const char *file, struct diag *d)
{
	if (!doc)
		return 0;	/* an empty file holds no rules */
	if (doc->type != YNODE_SEQ)
		return diag_set(d, -EINVAL, file, doc->line, doc->col, "a rules file is a list of rules ('- id: ...')");
	for (size_t i = 0; i < doc->n; i++) {
		struct rule r = { .id = NULL };
		const struct rule *dup;
		struct rule *nr;
		int rc;

		rc = load_rule(&r, doc->items[i], file, d);
		if (rc == 0 && (dup = rule_set_find(set, r.id))) {
			const struct ynode *idn = ynode_map_get(doc->items[i], "id");
			rc = diag_set(d, -EINVAL, file, idn->line, idn->col, "duplicate rule id '%s' (first in %s:%u)",
				      r.id, dup->file, dup->line);
		}
		if (rc == 0) {
			nr = realloc(set->rules, (set->n + 1) * sizeof(*nr));
			if (!nr)
				rc = -ENOMEM;
			else {
				set->rules = nr;
				set->rules[set->n++] = r;
				continue;
			}
		}
		rule_release(&r);
		return rc;
	}
	return 0;
}

int rule_set_load_buffer(struct rule_set *set, const char *buf, size_t len, const char *display, struct diag *d)
{
	struct ynode *doc = NULL;
	int r;

	r = yaml_load_buffer(buf, len, display, &doc, d);
	if (r == 0)
		r = add_rules(set, doc, display, d);
	ynode_free(doc);
	return r;
}

static int add_cb(void *ctx, const struct ynode *doc, const char *display, struct diag *d)
{
	return add_rules(ctx, doc, display, d);
}

int rule_set_load(struct rule_set *set, const struct datadir *dd, struct diag *d)
{
	int r;

	memset(set, 0, sizeof(*set));
	r = datadir_load_yaml(dd, "rules", add_cb, set, d);
	if (r < 0)
		rule_set_release(set);
	return r;
}
