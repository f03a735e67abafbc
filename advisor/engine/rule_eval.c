/* Evaluating a rule set against a snapshot: findings with interpolated
 * titles and the evidence (the facts each rule read, with their values),
 * ignored findings kept and marked, evaluation errors reported per rule. */
#include "rule.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "strutil.h"

struct lookup_ctx {
	const struct snapshot *s;
	struct expr_value v;
};

static const struct expr_value *lookup(void *ctx, size_t id)
{
	struct lookup_ctx *l = ctx;
	const struct fact_val *f = snap_get(l->s, id);

	if (!f)
		return NULL;
	l->v = (struct expr_value) { .present = f->present, .i = f->i, .s = f->s };
	return &l->v;
}

/* A fact's value as shown in titles and evidence: a number, an escaped
 * string (whole: titles wrap in text, JSON takes any length) or "missing".
 * Returns a malloc'd string or NULL on ENOMEM. */
static char *format_fact(const struct snapshot *s, size_t id)
{
	const struct fact_val *f = snap_get(s, id);
	char *out = NULL;

	if (!f || !f->present)
		return strdup("missing");
	if (fact_def(id)->type == FT_STR) {
		const char *v = f->s ? f->s : "";
		size_t len = strlen(v) * 4 + 1;	/* every byte may become \xNN */

		out = malloc(len);
		return out ? str_escape(v, out, len) : NULL;
	}
	if (asprintf(&out, "%" PRId64, f->i) < 0)
		return NULL;
	return out;
}

/* "{a|b}" as "<a or b>", "{a|}" as "<a, if any>": what a title says where
 * no snapshot fills it.  name..end is the text between the braces. */
static char *placeholder_name(const char *name, const char *end)
{
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);

	if (!m)
		return NULL;
	fputc('<', m);
	for (const char *q = name; q < end; ) {
		const char *bar = memchr(q, '|', (size_t) (end - q));
		const char *stop = bar ? bar : end;

		if (stop == q && q > name)
			fputs(", if any", m);
		else
			fprintf(m, "%s%.*s", q > name ? " or " : "", (int) (stop - q), q);
		q = bar ? bar + 1 : end;
		if (bar && bar + 1 == end)
			fputs(", if any", m);
	}
	fputc('>', m);
	if (fclose(m) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

char *rule_interpolate(const char *text, const struct snapshot *s)
{
	size_t cap = strlen(text) + 64, n = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	for (const char *p = text; *p; ) {
		char *piece = NULL;
		const char *add = p, *end = NULL;
		size_t alen = 1;

		if (*p == '{' && (end = strchr(p, '}')) && !s) {
			piece = placeholder_name(p + 1, end);
			if (!piece) {
				free(out);
				return NULL;
			}
			add = piece;
			alen = strlen(piece);
			p = end + 1;
		} else if (*p == '{' && end) {
			/* {a|b}: the first present fact, "?" if none */
			const char *name = p + 1;
			bool chosen = false;

			while (name <= end) {
				const char *bar = memchr(name, '|', (size_t) (end - name));
				const char *stop = bar ? bar : end;
				char fact[128];
				int id;

				if (stop == name) {	/* "{a|}": an empty last choice shows nothing */
					piece = strdup("");
					chosen = true;
					break;
				}
				snprintf(fact, sizeof(fact), "%.*s", (int) (stop - name), name);
				id = fact_lookup(fact);
				if (id >= 0 && snap_get(s, (size_t) id)->present) {
					piece = format_fact(s, (size_t) id);
					chosen = true;
					break;
				}
				name = stop + 1;
			}
			if (!chosen)
				piece = strdup("?");
			if (!piece) {
				free(out);
				return NULL;
			}
			add = piece;
			alen = strlen(piece);
			p = end + 1;
		} else
			p++;
		if (n + alen + 1 > cap) {
			char *no;
			cap = (n + alen + 1) * 2;
			no = realloc(out, cap);
			if (!no) {
				free(piece);
				free(out);
				return NULL;
			}
			out = no;
		}
		memcpy(out + n, add, alen);
		n += alen;
		free(piece);
	}
	out[n] = '\0';
	return out;
}

static bool is_ignored(const char *id, char *const *ignore, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ignore[i], id) == 0)
			return true;
	return false;
}

void findings_release(struct findings *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].title);
		for (size_t k = 0; k < f->v[i].n_evidence; k++)
			free(f->v[i].evidence[k].value);
	}
	free(f->v);
	for (size_t i = 0; i < f->n_errors; i++)
		free(f->errors[i].msg);
	free(f->errors);
	memset(f, 0, sizeof(*f));
}

static int add_error(struct findings *f, const struct rule *r, const char *msg)
{
	struct rule_error *ne = realloc(f->errors, (f->n_errors + 1) * sizeof(*ne));

	if (!ne)
		return -ENOMEM;
	f->errors = ne;
	ne[f->n_errors].rule = r;
	ne[f->n_errors].msg = strdup(msg);
	if (!ne[f->n_errors].msg)
		return -ENOMEM;
	f->n_errors++;
	return 0;
}

static int add_finding(struct findings *f, const struct rule *r, const struct snapshot *s, bool ignored)
{
	struct finding *nf = realloc(f->v, (f->n + 1) * sizeof(*nf)), *x;
	size_t ids[8], n;

	if (!nf)
		return -ENOMEM;
	f->v = nf;
	x = &nf[f->n];
	memset(x, 0, sizeof(*x));
	f->n++;		/* counted now, so that findings_release() frees what a failure leaves */
	x->rule = r;
	x->ignored = ignored;
	x->title = rule_interpolate(r->title, s);
	if (!x->title)
		return -ENOMEM;
	n = rule_expr_facts(r->when, ids, 8);
	for (size_t i = 0; i < n && i < 8; i++) {
		x->evidence[i].fact = fact_def(ids[i])->name;
		x->evidence[i].value = format_fact(s, ids[i]);
		if (!x->evidence[i].value)
			return -ENOMEM;
		x->n_evidence++;
	}
	return 0;
}

int rules_evaluate(const struct rule_set *set, const struct snapshot *s, char *const *ignore, size_t n_ignore,
		   struct findings *ret)
{
	struct findings f = { 0 };
	struct lookup_ctx ctx = { .s = s };
	int r = 0;

	for (size_t i = 0; i < set->n && r == 0; i++) {
		const struct rule *rule = &set->rules[i];
		char err[160];
		int v = rule_expr_eval(rule->when, lookup, &ctx, err, sizeof(err));

		if (v < 0)
			r = add_error(&f, rule, err[0] ? err : strerror(-v));
		else if (v == 1)
			r = add_finding(&f, rule, s, is_ignored(rule->id, ignore, n_ignore));
	}
	if (r < 0) {
		findings_release(&f);
		return r;
	}
	*ret = f;
	return 0;
}

int findings_worst(const struct findings *f)
{
	int worst = -1;

	for (size_t i = 0; i < f->n; i++)
		if (!f->v[i].ignored && (int) f->v[i].rule->severity > worst)
			worst = (int) f->v[i].rule->severity;
	return worst;
}
