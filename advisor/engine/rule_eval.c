/* Evaluating a rule set against a snapshot: findings with interpolated
 * titles and the evidence (the facts each rule read, with their values),
 * ignored findings kept and marked, evaluation errors reported per rule.
 * A rule over sysctl.* facts is judged twice (docs/ARCHITECTURE.md §7): now,
 * and after the next boot, with the sysctl.* facts taken from what each boot
 * program sets; one finding says in which world(s) it holds. */
#include "rule.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "keys.h"
#include "strutil.h"

struct lookup_ctx {
	const struct snapshot *s;
	struct expr_value v;
};

static int add_error(struct findings *f, const struct rule *r, const char *msg);

static const struct expr_value *lookup(void *ctx, size_t id)
{
	struct lookup_ctx *l = ctx;
	const struct fact_val *f = snap_get(l->s, id);

	if (!f)
		return NULL;
	l->v = (struct expr_value) { .present = f->present, .i = f->i, .s = f->s };
	return &l->v;
}

/* The snapshot as the next boot leaves it, for one boot program's order: a
 * shallow copy whose facts array is the snapshot's with sysctl.<key> set to
 * the boot value of every key a line sets (keys no line sets keep their
 * running value), TcpExt counters at 0 (they start again at boot) and rates
 * missing.  Socket counts stay: the load is assumed to be today's. */
struct boot_view {
	struct snapshot snap;
	char (*pair)[64];		/* text of pair-valued keys, key_count entries */
	bool any;			/* some tracked key is set by a line */
};

static void boot_view_release(struct boot_view *v)
{
	free(v->snap.facts);
	v->snap.facts = NULL;
	free(v->pair);
	v->pair = NULL;
}

static int boot_view_init(struct boot_view *v, const struct snapshot *s, enum sysctld_order o)
{
	size_t nf = facts_count();
	struct fact_val *facts = malloc(nf * sizeof(*facts));
	char (*pair)[64] = calloc(key_count, sizeof(*pair));

	if (!facts || !pair) {
		free(facts);
		free(pair);
		return -ENOMEM;
	}
	memcpy(facts, s->facts, nf * sizeof(*facts));
	v->snap = *s;
	v->snap.facts = facts;
	v->pair = pair;
	v->any = false;
	for (size_t id = 0; id < nf; id++) {
		struct fact_val *f = &v->snap.facts[id];
		const char *name = fact_def(id)->name;

		if (strncmp(name, "tcpext.", 7) == 0 || strncmp(name, "ctstat.", 7) == 0)
			*f = (struct fact_val) { .present = f->present, .i = 0 };
		else if (strncmp(name, "rate.", 5) == 0 || strncmp(name, "delta.", 6) == 0)
			/* no sample and no previous check of the next boot */
			*f = (struct fact_val) { .present = false };
	}
	for (size_t i = 0; s->boot_ok && i < key_count; i++) {
		const struct sysctld_key *b = &s->boot.keys[i];
		struct fact_val *f = &v->snap.facts[fact_id_sysctl(i)];

		if (!b->winner[o])
			continue;
		v->any = true;
		if (key_table[i].type == KEY_INT) {
			*f = (struct fact_val) { .present = true, .i = b->value[o][0] };
		} else if (key_table[i].type == KEY_PORT_LIST) {
			if (key_format_value(&key_table[i], b->value[o], v->pair[i], sizeof(v->pair[i])) < 0)
				continue;
			*f = (struct fact_val) { .present = true, .s = v->pair[i] };
		} else {
			snprintf(v->pair[i], sizeof(v->pair[i]), "%lld %lld", b->value[o][0], b->value[o][1]);
			*f = (struct fact_val) { .present = true, .s = v->pair[i] };
		}
	}
	return 0;
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

/* The text of placeholder {a|b} (name .. end, the '}'): the first present
 * fact, "" for an empty last choice ("{a|}"), "?" if none.  Returns a
 * malloc'd string or NULL (ENOMEM). */
static char *placeholder_value(const char *name, const char *end, const struct snapshot *s)
{
	while (name <= end) {
		const char *bar = memchr(name, '|', (size_t) (end - name));
		const char *stop = bar ? bar : end;
		char fact[128];
		int id;

		if (stop == name)
			return strdup("");
		snprintf(fact, sizeof(fact), "%.*s", (int) (stop - name), name);
		id = fact_lookup(fact);
		if (id >= 0 && snap_get(s, (size_t) id)->present)
			return format_fact(s, (size_t) id);
		name = stop + 1;
	}
	return strdup("?");
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

		if (*p == '{' && (end = strchr(p, '}'))) {
			piece = s ? placeholder_value(p + 1, end, s) : placeholder_name(p + 1, end);
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
		for (size_t k = 0; k < f->v[i].n_boot_evidence; k++)
			free(f->v[i].boot_evidence[k].value);
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

/* The facts r's `when` reads, with their values in world s, into ev (8
 * entries); *n counts those filled, so that findings_release() frees them
 * after a failure too.  0 or -ENOMEM. */
static int fill_evidence(struct finding_evidence *ev, size_t *n, const struct rule *r, const struct snapshot *s)
{
	size_t ids[8], nids = rule_expr_facts(r->when, ids, 8);

	for (size_t i = 0; i < nids && i < 8; i++) {
		ev[i].fact = fact_def(ids[i])->name;
		ev[i].value = format_fact(s, ids[i]);
		if (!ev[i].value)
			return -ENOMEM;
		(*n)++;
	}
	return 0;
}

/* s is the world the title and evidence come from. */
static int add_finding(struct findings *f, const struct rule *r, const struct snapshot *s, bool ignored,
		       struct finding **ret)
{
	struct finding *nf = realloc(f->v, (f->n + 1) * sizeof(*nf)), *x;

	if (!nf)
		return -ENOMEM;
	f->v = nf;
	x = &nf[f->n];
	memset(x, 0, sizeof(*x));
	f->n++;		/* counted now, so that findings_release() frees what a failure leaves */
	x->rule = r;
	x->ignored = ignored;
	x->world = r->world;
	/* A rule about the boot files themselves speaks of both programs. */
	x->boot_systemd = x->boot_procps = r->world == WORLD_BOOT;
	x->title = rule_interpolate(r->title, s);
	if (!x->title)
		return -ENOMEM;
	*ret = x;
	return fill_evidence(x->evidence, &x->n_evidence, r, s);
}

/* The key table index of each sysctl.* fact r's `when` reads, into keys;
 * returns how many. */
static size_t rule_keys(const struct rule *r, size_t *keys, size_t max)
{
	size_t ids[64], n = rule_expr_facts(r->when, ids, 64), k = 0;

	for (size_t i = 0; i < n && i < 64 && k < max; i++)
		if (ids[i] >= fact_id_sysctl(0) && ids[i] < fact_id_sysctl(0) + key_count)
			keys[k++] = ids[i] - fact_id_sysctl(0);
	return k;
}

/* "file:line, file:line" of the lines order o takes the values of keys
 * from; returns whether any key is set by a line. */
static bool boot_sources(const struct snapshot *s, const size_t *keys, size_t n, enum sysctld_order o,
			 char *buf, size_t len)
{
	bool any = false;

	buf[0] = '\0';
	for (size_t i = 0; s->boot_ok && i < n; i++) {
		const struct sysctld_assign *w = s->boot.keys[keys[i]].winner[o];
		char one[200];
		size_t used = strlen(buf);

		if (!w)
			continue;
		any = true;
		snprintf(one, sizeof(one), "%s:%u", w->file, w->line);
		if (strstr(buf, one))
			continue;
		if (used + strlen(one) + 3 < len)
			snprintf(buf + used, len - used, "%s%s", used ? ", " : "", one);
	}
	return any;
}

/* Do the two worlds give any key in keys a different value? */
static bool values_differ(const struct snapshot *a, const struct snapshot *b, const size_t *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct fact_val *x = snap_get(a, fact_id_sysctl(keys[i]));
		const struct fact_val *y = snap_get(b, fact_id_sysctl(keys[i]));

		if (x->present != y->present || x->i != y->i ||
		    (x->s && y->s && strcmp(x->s, y->s) != 0))
			return true;
	}
	return false;
}

static int eval_in(const struct rule *rule, const struct snapshot *s, struct findings *f, const char *world,
		   int *ret)
{
	struct lookup_ctx ctx = { .s = s };
	char err[160], msg[200];
	int v = rule_expr_eval(rule->when, lookup, &ctx, err, sizeof(err));

	*ret = v;
	if (v >= 0)
		return 0;
	snprintf(msg, sizeof(msg), "%s%s", err[0] ? err : strerror(-v), world);
	return add_error(f, rule, msg);
}

/* A rule over sysctl.* facts, now and in each boot program's world. */
static int evaluate_worlds(const struct rule *rule, const struct snapshot *s, struct boot_view *views,
			   bool ignored, struct findings *f)
{
	size_t keys[16], nk = rule_keys(rule, keys, 16);
	char src[ORDER__COUNT][256];
	int now, boot[ORDER__COUNT] = { 0, 0 }, r;
	const struct snapshot *title_world = s, *boot_world = NULL;
	struct finding *x;

	r = eval_in(rule, s, f, "", &now);
	for (int o = 0; r == 0 && o < ORDER__COUNT; o++)
		/* No line sets these keys: boot leaves them at the kernel's
		 * default, a world tcptune does not judge. */
		if (boot_sources(s, keys, nk, (enum sysctld_order) o, src[o], sizeof(src[o])))
			r = eval_in(rule, &views[o].snap, f, o == ORDER_SYSTEMD ? " (boot world)" :
				    " (boot world, sysctl --system)", &boot[o]);
	if (r < 0 || (now != 1 && boot[ORDER_SYSTEMD] != 1 && boot[ORDER_PROCPS] != 1))
		return r;
	for (int o = ORDER__COUNT - 1; o >= 0; o--)
		if (boot[o] == 1)
			boot_world = &views[o].snap;
	if (now != 1)
		title_world = boot_world;
	r = add_finding(f, rule, title_world, ignored, &x);
	if (r < 0)
		return r;
	x->world = (now == 1 ? WORLD_NOW : 0) | (boot_world ? WORLD_BOOT : 0);
	if (!boot_world)
		return 0;
	x->boot_systemd = boot[ORDER_SYSTEMD] == 1;
	x->boot_procps = boot[ORDER_PROCPS] == 1;
	if (x->boot_systemd)
		snprintf(x->boot_source, sizeof(x->boot_source), "%s", src[ORDER_SYSTEMD]);
	if (x->boot_procps && (!x->boot_systemd || strcmp(src[ORDER_PROCPS], src[ORDER_SYSTEMD]) != 0))
		snprintf(x->boot_source_procps, sizeof(x->boot_source_procps), "%s", src[ORDER_PROCPS]);
	if (now == 1 && values_differ(s, boot_world, keys, nk))
		return fill_evidence(x->boot_evidence, &x->n_boot_evidence, rule, boot_world);
	return 0;
}

int rules_evaluate(const struct rule_set *set, const struct snapshot *s, char *const *ignore, size_t n_ignore,
		   struct findings *ret)
{
	struct findings f = { 0 };
	struct boot_view views[ORDER__COUNT];
	int r = 0;

	memset(views, 0, sizeof(views));
	for (int o = 0; o < ORDER__COUNT && r == 0; o++)
		r = boot_view_init(&views[o], s, (enum sysctld_order) o);
	for (size_t i = 0; i < set->n && r == 0; i++) {
		const struct rule *rule = &set->rules[i];
		bool ignored = is_ignored(rule->id, ignore, n_ignore);
		struct finding *x;
		int v;

		if (rule->over_sysctl) {
			r = evaluate_worlds(rule, s, views, ignored, &f);
			continue;
		}
		r = eval_in(rule, s, &f, "", &v);
		if (r == 0 && v == 1)
			r = add_finding(&f, rule, s, ignored, &x);
	}
	for (int o = 0; o < ORDER__COUNT; o++)
		boot_view_release(&views[o]);
	if (r < 0) {
		findings_release(&f);
		return r;
	}
	*ret = f;
	return 0;
}

const char *finding_world_name(const struct finding *f)
{
	switch (f->world) {
	case WORLD_NOW:
		return "now";
	case WORLD_BOOT:
		return "boot";
	case WORLD_NOW | WORLD_BOOT:
		return "now+boot";
	}
	return "?";
}

const char *finding_world_text(const struct finding *f, char *buf, size_t len)
{
	const char *now = f->world & WORLD_NOW ? "Now and after" : "After";
	const char *src = f->boot_source[0] ? f->boot_source : f->boot_source_procps;

	if (!(f->world & WORLD_BOOT) && !f->rule->over_sysctl)
		snprintf(buf, len, "%s", "");	/* counters, sockets: about now by nature */
	else if (!(f->world & WORLD_BOOT))
		snprintf(buf, len, "Now only: with the values the next reboot sets, this does not hold.");
	else if (!src[0])
		snprintf(buf, len, "%s the next reboot.", now);
	else if (f->boot_systemd && f->boot_procps && f->boot_source_procps[0])
		snprintf(buf, len, "%s the next reboot (set by %s; by %s under `sysctl --system`).", now,
			 f->boot_source, f->boot_source_procps);
	else if (f->boot_systemd && f->boot_procps)
		snprintf(buf, len, "%s the next reboot (set by %s).", now, src);
	else if (f->boot_systemd)
		snprintf(buf, len, "%s the next reboot by systemd-sysctl (set by %s); not after `sysctl "
			 "--system`, which reads the files differently.", now, src);
	else
		snprintf(buf, len, "%s `sysctl --system` (set by %s); not after a reboot by systemd-sysctl, "
			 "which reads the files differently.", now, src);
	return buf;
}

int findings_worst(const struct findings *f)
{
	int worst = -1;

	for (size_t i = 0; i < f->n; i++)
		if (!f->v[i].ignored && (int) f->v[i].rule->severity > worst)
			worst = (int) f->v[i].rule->severity;
	return worst;
}
