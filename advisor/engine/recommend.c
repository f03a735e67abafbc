/* Recommendation; see recommend.h. */
#include "recommend.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "facts.h"

static const struct expr_value *lookup(void *ctx, size_t id)
{
	static struct expr_value v;
	const struct fact_val *f = snap_get(ctx, id);

	if (!f)
		return NULL;
	v = (struct expr_value) { .present = f->present, .i = f->i, .s = f->s };
	return &v;
}

/* "sockets.listen=3, timewait.incoming=1200" for the facts match reads. */
static void evidence(const struct profile *p, const struct snapshot *s, char *buf, size_t len)
{
	size_t ids[8], n = rule_expr_facts(p->match, ids, 8), o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && i < 8 && o < len; i++) {
		const struct fact_val *f = snap_get(s, ids[i]);
		int w;

		if (!f->present)
			w = snprintf(buf + o, len - o, "%s%s=missing", i ? ", " : "", fact_def(ids[i])->name);
		else if (fact_def(ids[i])->type == FT_STR)
			w = snprintf(buf + o, len - o, "%s%s=%s", i ? ", " : "", fact_def(ids[i])->name, f->s);
		else
			w = snprintf(buf + o, len - o, "%s%s=%" PRId64, i ? ", " : "", fact_def(ids[i])->name, f->i);
		if (w < 0)
			break;
		o += (size_t) w;
	}
}

int recommend(const struct profile_set *set, const struct snapshot *s, struct recommendation *ret)
{
	const struct profile *best = NULL;
	size_t best_facts = 0;
	char ev[400];

	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < set->n; i++) {
		const struct profile *p = &set->v[i];
		size_t ids[16], nf;
		char err[160];
		int v;

		if (!p->match)
			continue;
		v = rule_expr_eval(p->match, lookup, (void *) s, err, sizeof(err));
		if (v < 0) {
			snprintf(ret->error, sizeof(ret->error), "profile %s: match: %s", p->name, err);
			continue;
		}
		nf = rule_expr_facts(p->match, ids, 16);
		if (v == 1 && (!best || nf > best_facts)) {
			best = p;
			best_facts = nf;
		}
	}
	if (best) {
		evidence(best, s, ev, sizeof(ev));
		ret->profile = best;
		/* The description's first sentence says what the profile is for. */
		const char *desc = best->description ? best->description : best->name;
		const char *stop = strstr(desc, ". ");
		int dlen = (int) (stop ? (size_t) (stop - desc) : strlen(desc));

		snprintf(ret->reason, sizeof(ret->reason), "%.*s; its condition `%s` holds here (%s)", dlen, desc,
			 best->match_src, ev);
		return 0;
	}
	ret->profile = profile_find(set, "default");
	snprintf(ret->reason, sizeof(ret->reason),
		 "no profile's condition matches this machine, so the kernel's defaults are the fit");
	return 0;
}
