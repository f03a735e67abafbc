/* Recommendation; see recommend.h. */
#include "recommend.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "tcpstates.h"

static const struct expr_value *lookup(void *ctx, size_t id)
{
	static struct expr_value v;
	const struct fact_val *f = snap_get(ctx, id);

	if (!f)
		return NULL;
	v = (struct expr_value) { .present = f->present, .i = f->i, .s = f->s };
	return &v;
}

/* Append "name=value" for fact id to buf (o: bytes used so far). */
static size_t add_fact(char *buf, size_t len, size_t o, const struct snapshot *s, size_t id)
{
	const struct fact_val *f = snap_get(s, id);
	const char *sep = o ? ", " : "";
	int w;

	if (o >= len || !f)
		return o;
	if (!f->present)
		w = snprintf(buf + o, len - o, "%s%s=missing", sep, fact_def(id)->name);
	else if (fact_def(id)->type == FT_STR)
		w = snprintf(buf + o, len - o, "%s%s=%s", sep, fact_def(id)->name, f->s);
	else
		w = snprintf(buf + o, len - o, "%s%s=%" PRId64, sep, fact_def(id)->name, f->i);
	return w < 0 ? o : o + (size_t) w;
}

/* "sockets.listen=3, timewait.incoming=1200" for the facts match reads. */
static void evidence(const struct profile *p, const struct snapshot *s, char *buf, size_t len)
{
	size_t ids[8], n = rule_expr_facts(p->match, ids, 8), o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && i < 8; i++)
		o = add_fact(buf, len, o, s, ids[i]);
}

static int64_t fact_int(const struct snapshot *s, size_t id)
{
	const struct fact_val *f = snap_get(s, id);

	return f && f->present ? f->i : 0;
}

/* Sockets of any state but LISTEN: the connections the evidence rests on. */
static int64_t connections(const struct snapshot *s)
{
	return fact_int(s, F_SOCKETS_TOTAL) - fact_int(s, fact_id_state(TCPS_LISTEN));
}

static void basis(const struct snapshot *s, size_t samples, char *buf, size_t len)
{
	static const int ids[] = { F_TW_OUTGOING, F_TW_INCOMING, F_TW_MAX_PER_DEST, F_PORTS_MAX_DEST_USAGE_PCT };
	size_t o;
	int w;

	w = snprintf(buf, len, "connections=%" PRId64 " (sockets not listening), sockets.listen=%" PRId64,
		     connections(s), fact_int(s, fact_id_state(TCPS_LISTEN)));
	o = w < 0 ? 0 : (size_t) w;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		o = add_fact(buf, len, o, s, (size_t) ids[i]);
	if (o < len)
		snprintf(buf + o, len - o, ", samples=%zu", samples);
}

int recommend_tally_init(struct recommend_tally *t, const struct profile_set *set)
{
	memset(t, 0, sizeof(*t));
	t->held = calloc(set->n ? set->n : 1, sizeof(*t->held));
	if (!t->held)
		return -ENOMEM;
	t->n_profiles = set->n;
	return 0;
}

void recommend_tally_release(struct recommend_tally *t)
{
	free(t->held);
	memset(t, 0, sizeof(*t));
}

/* 1 holds, 0 does not, negative: cannot be evaluated (err filled). */
static int match_holds(const struct profile *p, const struct snapshot *s, char *err, size_t len)
{
	if (!p->match)
		return 0;
	return rule_expr_eval(p->match, lookup, (void *) s, err, len);
}

void recommend_tally_add(struct recommend_tally *t, const struct profile_set *set, const struct snapshot *s)
{
	char err[160];

	for (size_t i = 0; i < set->n && i < t->n_profiles; i++)
		if (match_holds(&set->v[i], s, err, sizeof(err)) == 1)
			t->held[i]++;
	t->n++;
}

const char *recommend_confidence_name(enum recommend_confidence c)
{
	return c == CONFIDENCE_HIGH ? "high" : c == CONFIDENCE_MEDIUM ? "medium" : "low";
}

/* The description's first sentence says what the profile is for. */
static int first_sentence(const struct profile *p, const char **ret)
{
	const char *desc = p->description ? p->description : p->name;
	const char *stop = strstr(desc, ". ");

	*ret = desc;
	return (int) (stop ? (size_t) (stop - desc) : strlen(desc));
}

int recommend_samples(const struct profile_set *set, const struct snapshot *s, const struct recommend_tally *tally,
		      struct recommendation *ret)
{
	const struct profile *best = NULL, *partial = NULL;
	size_t best_facts = 0, partial_held = 0;
	bool sampled = tally && tally->n >= 2 && tally->n_profiles == set->n;
	int64_t conns = connections(s);
	char ev[400];

	memset(ret, 0, sizeof(*ret));
	ret->samples = sampled ? tally->n : 1;
	for (size_t i = 0; i < set->n; i++) {
		const struct profile *p = &set->v[i];
		size_t ids[16], nf;
		char err[160];
		int v;

		if (!p->match)
			continue;
		v = match_holds(p, s, err, sizeof(err));
		if (v < 0) {
			snprintf(ret->error, sizeof(ret->error), "profile %s: match: %s", p->name, err);
			continue;
		}
		/* With samples, a match must hold in every one of them. */
		if (sampled && v == 1 && tally->held[i] < tally->n) {
			if (!partial || tally->held[i] > partial_held) {
				partial = p;
				partial_held = tally->held[i];
			}
			continue;
		}
		if (sampled && v == 0 && tally->held[i] > 0 && (!partial || tally->held[i] > partial_held)) {
			partial = p;
			partial_held = tally->held[i];
		}
		nf = rule_expr_facts(p->match, ids, 16);
		if (v == 1 && (!best || nf > best_facts)) {
			best = p;
			best_facts = nf;
		}
	}
	basis(s, ret->samples, ret->basis, sizeof(ret->basis));
	if (best) {
		const char *desc;
		int dlen = first_sentence(best, &desc);

		evidence(best, s, ev, sizeof(ev));
		ret->profile = best;
		snprintf(ret->reason, sizeof(ret->reason), "%.*s; its condition `%s` holds here (%s)", dlen, desc,
			 best->match_src, ev);
		if (sampled) {
			ret->confidence = CONFIDENCE_HIGH;
			snprintf(ret->confidence_why, sizeof(ret->confidence_why),
				 "its condition held in every one of %zu samples over %" PRId64 " s", tally->n,
				 fact_int(s, F_SAMPLE_SECONDS));
		} else {
			ret->confidence = CONFIDENCE_MEDIUM;
			snprintf(ret->confidence_why, sizeof(ret->confidence_why),
				 "its condition holds in this one snapshot; `tcptune recommend --samples 30` checks "
				 "that it lasts");
		}
		return 0;
	}
	ret->profile = profile_find(set, "default");
	if (partial) {
		ret->confidence = CONFIDENCE_LOW;
		snprintf(ret->reason, sizeof(ret->reason),
			 "%s's condition `%s` held in %zu of %zu samples only: a burst, not this machine's "
			 "steady load, so the kernel's defaults stay", partial->name, partial->match_src,
			 partial_held, tally->n);
		snprintf(ret->confidence_why, sizeof(ret->confidence_why),
			 "the evidence changed while sampling; sample longer, under typical load");
		return 0;
	}
	snprintf(ret->reason, sizeof(ret->reason),
		 "no profile's condition matches this machine, so the kernel's defaults are the fit");
	if (conns < RECOMMEND_MIN_CONNS) {
		ret->confidence = CONFIDENCE_LOW;
		snprintf(ret->confidence_why, sizeof(ret->confidence_why),
			 "thin evidence: %" PRId64 " connection%s (fewer than %d), so this machine looks idle "
			 "now; run recommend again under its usual load", conns, conns == 1 ? "" : "s",
			 RECOMMEND_MIN_CONNS);
	} else if (sampled) {
		ret->confidence = CONFIDENCE_HIGH;
		snprintf(ret->confidence_why, sizeof(ret->confidence_why),
			 "no condition held in any of %zu samples, with %" PRId64 " connections", tally->n, conns);
	} else {
		ret->confidence = CONFIDENCE_MEDIUM;
		snprintf(ret->confidence_why, sizeof(ret->confidence_why),
			 "no condition holds in this one snapshot of %" PRId64 " connections; "
			 "`tcptune recommend --samples 30` watches longer", conns);
	}
	return 0;
}

int recommend(const struct profile_set *set, const struct snapshot *s, struct recommendation *ret)
{
	return recommend_samples(set, s, NULL, ret);
}
