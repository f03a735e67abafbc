/* `check --format json`: the schema-1 object of the README's JSON section, built with
 * jansson.  Additions only; every fact appears, missing ones as null. */
#include "report.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "jsonutil.h"
#include "keys.h"
#include "report_netns.h"
#include "strutil.h"
#include "tcpstates.h"

#define TOP_DESTS 10

/* jansson returns NULL on allocation failure; json_object_set_new() then
 * fails too, and the final dump reports it, so the builders stay linear. */
static json_t *fact_json(const struct snapshot *s, size_t id)
{
	const struct fact_val *v = snap_get(s, id);

	if (!v || !v->present)
		return json_null();
	if (fact_def(id)->type == FT_STR)
		return json_string_safe(v->s ? v->s : "");
	return json_integer(v->i);
}

static json_t *facts_json(const struct snapshot *s)
{
	json_t *o = json_object();

	for (size_t i = 0; i < facts_count(); i++)
		json_object_set_new(o, fact_def(i)->name, fact_json(s, i));
	return o;
}

static json_t *scopes_json(void)
{
	json_t *o = json_object();

	for (size_t i = 0; i < facts_count(); i++)
		json_object_set_new(o, fact_def(i)->name, json_string_safe(fact_scope_name(fact_def(i)->scope)));
	return o;
}

static json_t *value_json(const struct key_def *k, const char *raw)
{
	long long v[2];

	if (key_parse_value(k, raw, v) < 0)
		return json_string_safe(raw);	/* as written in the file */
	if (k->type == KEY_INT_PAIR) {
		char buf[48];
		snprintf(buf, sizeof(buf), "%lld %lld", v[0], v[1]);
		return json_string_safe(buf);
	}
	if (k->type == KEY_PORT_LIST) {
		char buf[KEY_PORT_LIST_MAX + 1];
		return json_string_safe(key_format_value(k, v, buf, sizeof(buf)) < 0 ? raw : buf);
	}
	return json_integer(v[0]);
}

static json_t *assign_json(const struct key_def *k, const struct sysctld_assign *a)
{
	if (!a)
		return json_null();
	return json_pack("{s:o, s:o, s:I}", "value", value_json(k, a->value), "file", json_string_safe(a->file),
			 "line", (json_int_t) a->line);
}

/* What boot leaves key i at under order o (the kernel's value, not the
 * line's text), and the line that set it. */
static json_t *boot_json_key(const struct snapshot *s, size_t i, enum sysctld_order o)
{
	const struct sysctld_assign *a = s->boot.keys[i].winner[o];
	char v[64];

	if (!a || sysctld_boot_value(&s->boot, i, o, v, sizeof(v)) < 0)
		return json_null();
	return json_pack("{s:o, s:o, s:I, s:o}", "value", value_json(&key_table[i], v), "file",
			 json_string_safe(a->file), "line", (json_int_t) a->line, "text", json_string_safe(a->value));
}

static json_t *sysctl_json(const struct snapshot *s)
{
	json_t *o = json_object();

	for (size_t i = 0; i < key_count; i++) {
		const struct key_def *k = &key_table[i];
		const struct snap_sysctl *v = &s->sysctl[i];
		json_t *e = json_object(), *over = json_array();

		json_object_set_new(e, "value", v->present ? value_json(k, v->raw) : json_null());
		json_object_set_new(e, "scope", json_string_safe(k->per_netns ? "netns" : "host"));
		if (s->boot_ok) {
			const struct sysctld_key *b = &s->boot.keys[i];

			json_object_set_new(e, "boot", boot_json_key(s, i, ORDER_SYSTEMD));
			json_object_set_new(e, "boot_procps", boot_json_key(s, i, ORDER_PROCPS));
			for (size_t j = 0; j < b->n_overridden[ORDER_SYSTEMD]; j++)
				json_array_append_new(over, assign_json(k, b->overridden[ORDER_SYSTEMD][j]));
		} else {
			json_object_set_new(e, "boot", json_null());
			json_object_set_new(e, "boot_procps", json_null());
		}
		json_object_set_new(e, "overridden", over);
		json_object_set_new(o, k->name, e);
	}
	return o;
}

static json_t *states_json(const uint64_t *counts)
{
	json_t *o = json_object();

	for (size_t i = 0; i < tcp_state_count; i++)
		json_object_set_new(o, tcp_state_names[i].fact,
				    json_integer((json_int_t) counts[tcp_state_names[i].state]));
	return o;
}

static json_t *sockets_json(const struct snapshot *s)
{
	const struct census *c = &s->census;

	if (!s->census_ok)
		return json_null();
	return json_pack("{s:I, s:o, s:{s:o, s:o}, s:I, s:I, s:I, s:b}",
			 "total", (json_int_t) c->total,
			 "states", states_json(c->states),
			 "by_family", "ipv4", states_json(c->by_family[0]), "ipv6", states_json(c->by_family[1]),
			 "orphans", (json_int_t) c->orphans,
			 "unaccepted", (json_int_t) c->unaccepted,
			 "tw_minisocks", (json_int_t) c->tw_minisocks,
			 "approximate", s->sockets_approximate);
}

/* Built member by member, not with json_pack(): a check can list thousands
 * of CLOSE_WAIT holders with their peers, and json_pack() parses its format
 * string again for each (the keys are ours, plain ASCII: _nocheck). */
static json_t *dest_json(const struct census_dest *d, const char *key)
{
	char buf[80];
	json_t *o = json_object();

	if (census_dest_format(d, buf, sizeof(buf)) < 0)
		buf[0] = '\0';
	json_object_set_new_nocheck(o, key, json_string_safe(buf));
	json_object_set_new_nocheck(o, "count", json_integer((json_int_t) d->count));
	return o;
}

static json_t *timewait_json(const struct snapshot *s)
{
	struct census_dest top[TOP_DESTS];
	size_t n;
	json_t *arr;

	if (!s->census_ok)
		return json_null();
	arr = json_array();
	n = census_top_tw_dests(&s->census, top, TOP_DESTS);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, dest_json(&top[i], "remote"));
	return json_pack("{s:I, s:I, s:o}", "incoming", (json_int_t) s->census.tw_incoming,
			 "outgoing", (json_int_t) s->census.tw_outgoing, "top_destinations", arr);
}

static json_t *closewait_json(const struct snapshot *s)
{
	const struct census *c = &s->census;
	json_t *procs, *uids;

	if (!s->census_ok)
		return json_null();
	procs = json_array();
	for (size_t i = 0; i < c->n_procs; i++) {
		const struct census_proc *p = &c->procs[i];
		json_t *peers = json_array(), *o = json_object();

		for (size_t j = 0; j < p->n_top_peers; j++)
			json_array_append_new(peers, dest_json(&p->top_peers[j], "peer"));
		/* as dest_json() */
		json_object_set_new_nocheck(o, "pid", json_integer(p->pid));
		json_object_set_new_nocheck(o, "comm", json_string_safe(p->comm));
		json_object_set_new_nocheck(o, "count", json_integer((json_int_t) p->count));
		json_object_set_new_nocheck(o, "unread", json_integer((json_int_t) p->unread));
		json_object_set_new_nocheck(o, "peers", peers);
		json_array_append_new(procs, o);
	}
	uids = json_array();
	for (size_t i = 0; i < c->n_cw_uids; i++)
		json_array_append_new(uids, json_pack("{s:I, s:I}", "uid", (json_int_t) c->cw_uids[i].uid,
						      "count", (json_int_t) c->cw_uids[i].count));
	return json_pack("{s:o, s:I, s:o, s:I, s:b}", "processes", procs,
			 "unattributed", (json_int_t) c->cw_unattributed, "unattributed_by_uid", uids,
			 "with_unread", (json_int_t) c->cw_with_unread,
			 /* Nothing to attribute (no CLOSE_WAIT socket with an owner to find) is complete. */
			 "attribution_complete", (c->attribution_done || c->n_cw == 0) && c->cw_unattributed == 0);
}

static json_t *boot_json(const struct snapshot *s)
{
	json_t *stale, *re, *files, *warn, *rej;

	if (!s->boot_ok)
		return json_null();
	rej = json_array();
	for (size_t i = 0; i < s->boot.n_rejected; i++) {
		const struct sysctld_rejected *rj = &s->boot.rejected[i];
		json_t *by = json_array();

		for (int o = 0; o < ORDER__COUNT; o++)
			if (rj->order[o])
				json_array_append_new(by, json_string(o == ORDER_SYSTEMD ? "systemd" : "procps"));
		json_array_append_new(rej, json_pack("{s:s, s:o, s:I, s:o, s:o, s:o}", "key", key_table[rj->key].name,
						     "file", json_string_safe(rj->file), "line", (json_int_t) rj->line,
						     "value", json_string_safe(rj->value), "why", json_string_safe(rj->why),
						     "by", by));
	}
	stale = json_array();
	for (size_t i = 0; i < s->boot.n_stale; i++) {
		const struct sysctld_stale *st = &s->boot.stale[i];
		json_array_append_new(stale, json_pack("{s:o, s:o, s:I, s:s, s:o}", "key", json_string_safe(st->key),
						       "file", json_string_safe(st->file), "line", (json_int_t) st->line,
						       "reason", sysctld_stale_reason_name(st->reason),
						       "detail", json_string_safe(st->detail ? st->detail : "")));
	}
	re = json_array();
	for (size_t i = 0; i < s->boot.n_reappliers; i++) {
		const struct sysctld_reapplier *ra = &s->boot.reappliers[i];
		json_t *keys = json_array();
		for (size_t j = 0; j < ra->n_keys; j++)
			json_array_append_new(keys, json_string_safe(ra->keys[j]));
		json_array_append_new(re, json_pack("{s:s, s:o, s:o}", "name", ra->name, "detail",
						    json_string_safe(ra->detail ? ra->detail : ""), "keys", keys));
	}
	files = json_array();
	for (size_t i = 0; i < s->boot.n_files; i++) {
		const struct sysctld_file *f = &s->boot.files[i];
		json_array_append_new(files, json_pack("{s:o, s:b, s:o, s:b, s:b}", "path", json_string_safe(f->path),
						       "masked", f->masked, "shadowed_by",
						       f->shadowed_by ? json_string_safe(f->shadowed_by) : json_null(),
						       "systemd", f->used[ORDER_SYSTEMD], "procps", f->used[ORDER_PROCPS]));
	}
	warn = json_array();
	for (size_t i = 0; i < s->boot.n_warnings; i++)
		json_array_append_new(warn, json_pack("{s:o, s:I, s:o}", "file", json_string_safe(s->boot.warnings[i].file),
						      "line", (json_int_t) s->boot.warnings[i].line,
						      "text", json_string_safe(s->boot.warnings[i].text)));
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "stale", stale, "reappliers", re, "files", files,
			 "warnings", warn, "rejected", rej);
}

static json_t *notes_json(const struct snapshot *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->n_notes; i++)
		json_array_append_new(a, json_pack("{s:s, s:o}", "source", s->notes[i].source,
						   "text", json_string_safe(s->notes[i].text)));
	return a;
}

/* A finding's boot world: which program's order makes it hold, the lines
 * that set the keys it read, and their values where they differ from now;
 * null for a finding about now only (docs/ARCHITECTURE.md §7). */
static json_t *finding_boot_json(const struct finding *f)
{
	json_t *ev;

	if (!(f->world & WORLD_BOOT))
		return json_null();
	ev = json_object();
	for (size_t k = 0; k < f->n_boot_evidence; k++)
		json_object_set_new(ev, f->boot_evidence[k].fact, json_string_safe(f->boot_evidence[k].value));
	return json_pack("{s:b, s:b, s:o, s:o, s:o}", "systemd", f->boot_systemd, "procps", f->boot_procps,
			 "source", f->boot_source[0] ? json_string_safe(f->boot_source) : json_null(),
			 "source_procps", f->boot_source_procps[0] ? json_string_safe(f->boot_source_procps)
								    : json_null(),
			 "evidence", ev);
}

static json_t *findings_json(const struct report_ctx *ctx)
{
	json_t *arr = json_array();

	for (size_t i = 0; ctx->findings && i < ctx->findings->n; i++) {
		const struct finding *f = &ctx->findings->v[i];
		const struct rule *r = f->rule;
		json_t *sys = json_object(), *ev = json_object();

		for (size_t k = 0; k < r->n_sysctl; k++)
			json_object_set_new(sys, r->sysctl[k].key, value_json(key_lookup(r->sysctl[k].key),
									r->sysctl[k].value));
		for (size_t k = 0; k < f->n_evidence; k++) {
			int id = fact_lookup(f->evidence[k].fact);
			json_object_set_new(ev, f->evidence[k].fact, id < 0 ? json_null() : fact_json(ctx->s, (size_t) id));
		}
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:o, s:s, s:o}",
						     "id", r->id, "severity", severity_name(r->severity),
						     "title", json_string_safe(f->title), "explain", json_string_safe(r->explain),
						     "fix", json_string_safe(r->fix), "sysctl", sys, "ignored", f->ignored,
						     "evidence", ev, "world", finding_world_name(f), "boot", finding_boot_json(f)));
	}
	return arr;
}

static json_t *rule_errors_json(const struct report_ctx *ctx)
{
	json_t *arr = json_array();

	for (size_t i = 0; ctx->findings && i < ctx->findings->n_errors; i++)
		json_array_append_new(arr, json_pack("{s:s, s:o}", "id", ctx->findings->errors[i].rule->id,
						     "error", json_string_safe(ctx->findings->errors[i].msg)));
	return arr;
}

/* "net:[4026531840]", as /proc/self/ns/net reads; with --netns its path
 * first.  The snapshot read it (snapshot_init()). */
static json_t *netns_json(const struct snapshot *s)
{
	char link[32], buf[4200];

	if (!s->live)
		return json_null();
	if (s->netns_inum)
		snprintf(link, sizeof(link), "net:[%lu]", s->netns_inum);
	else
		snprintf(link, sizeof(link), "?");
	if (s->netns) {
		snprintf(buf, sizeof(buf), "%s (%s)", s->netns, link);
		return json_string_safe(buf);
	}
	return s->netns_inum ? json_string_safe(link) : json_null();
}

int report_json(const struct report_ctx *ctx, FILE *out)
{
	const struct snapshot *s = ctx->s;
	json_t *root;

	root = json_pack("{s:i, s:{s:s, s:s}, s:{s:o, s:o, s:o}, s:{s:o, s:s, s:s, s:s, s:s}, "
			 "s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s}",
			 "schema", 1,
			 "tool", "name", "tcptune", "version", TCPTUNE_VERSION,
			 "host", "kernel", s->kernel_release[0] ? json_string_safe(s->kernel_release) : json_null(),
			 "netns", netns_json(s), "root", json_string_safe(s->root),
			 "sources", "sockets", s->sockets_source ? json_string_safe(s->sockets_source) : json_null(),
			 "sysctl", "proc/sys", "sockstat", "proc/net/sockstat", "tcpext", "proc/net/netstat",
			 "boot", "sysctl.d and /etc/sysctl.conf",
			 "facts", facts_json(s),
			 "fact_scopes", scopes_json(),
			 "sysctl", sysctl_json(s),
			 "sockets", sockets_json(s),
			 "timewait", timewait_json(s),
			 "closewait", closewait_json(s),
			 "boot", boot_json(s),
			 "notes", notes_json(s),
			 "findings", findings_json(ctx),
			 "rule_errors", rule_errors_json(ctx),
			 "recommendation", ctx->rec && ctx->rec->profile ?
				json_pack("{s:s, s:o, s:s, s:o, s:o, s:I}", "profile", ctx->rec->profile->name,
					  "reason", json_string_safe(ctx->rec->reason),
					  "confidence", recommend_confidence_name(ctx->rec->confidence),
					  "confidence_reason", json_string_safe(ctx->rec->confidence_why),
					  "evidence", json_string_safe(ctx->rec->basis),
					  "samples", (json_int_t) ctx->rec->samples) : json_null(),
			 "status", report_status_name(ctx->status));
	if (root && ctx->netns)
		json_object_set_new(root, "namespaces", report_netns_json(ctx->netns));
	if (!root)
		return -ENOMEM;
	return json_print(root, out);
}
