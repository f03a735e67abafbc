/* Printing a plan (diff, apply --dry-run, the apply prompt) as text or JSON. */
#include "report_plan.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "jsonutil.h"
#include "keys.h"
#include "report.h"
#include "strutil.h"
#include "sysctl_write.h"
#include "txn.h"

static const char *esc(const char *t, char *buf, size_t len)
{
	return str_escape(t, buf, len);
}

static void boot_text(FILE *out, const struct plan_row *r)
{
	char b1[300], b2[300];

	for (int o = 0; o < ORDER__COUNT; o++) {
		const struct sysctld_assign *w = r->override[o];
		const char *order = o == ORDER_SYSTEMD ? "systemd-sysctl" : "sysctl --system";

		if (w)
			fprintf(out, "      at boot under %s: LOSES to %s from %s:%u\n", order, esc(w->value, b1, 64),
				esc(w->file, b2, sizeof(b2)), w->line);
	}
}

/* The preflight of a new port range (engine/plan.h, docs/KERNEL.md §20). */
static void ports_text(FILE *out, const struct plan *pl)
{
	const struct plan_ports *pp = &pl->ports;
	bool planned = false;
	char b[300];

	if (!pp->range_changes)
		return;
	for (size_t i = 0; i < pl->n; i++)
		planned |= pl->rows[i].reserve && !pl->rows[i].skip;
	fprintf(out, "\nThe new ephemeral range %lld-%lld, checked against this host:\n", pp->low, pp->high);
	if (!pp->listeners_known)
		fprintf(out, "  TCP listeners: unknown, the sockets could not be read\n");
	else if (!pp->n_hazards)
		fprintf(out, "  no TCP listener inside it\n");
	for (size_t i = 0; i < pp->n_hazards; i++) {
		const struct plan_port_hazard *h = &pp->hazards[i];

		fprintf(out, "  listener on port %u: %s; %s; %s\n", h->port, esc(h->who, b, sizeof(b)),
			h->newly ? "newly inside" : "inside the current range too",
			h->reserved ? "reserved already" : planned ? "reserved by this plan" : "NOT reserved");
	}
	if (pp->reserved_inside[0])
		fprintf(out, "  reserved already inside it (connect() skips them): %s\n", pp->reserved_inside);
	if (pp->kubelet)
		fprintf(out, "  a kubelet runs: Kubernetes NodePorts 30000-32767 %s\n",
			planned ? "reserved by this plan" : "NOT reserved");
	if (pp->note[0])
		report_wrap(out, 80, "  Warning: ", "           ", pp->note);
	fprintf(out, "  (UDP services are not checked.)\n");
}

/* A plan that raises somaxconn: the listeners it does not reach until
 * their program calls listen() again (engine/plan.h, docs/KERNEL.md §22). */
static void somaxconn_text(FILE *out, const struct plan *pl)
{
	const struct plan_somaxconn *sm = &pl->somaxconn;
	char line[512], b[300];
	bool unknown = false;

	if (!sm->raises || (sm->listeners_known && !sm->n_clamped))
		return;
	fputc('\n', out);
	if (!sm->listeners_known) {
		snprintf(line, sizeof(line), "net.core.somaxconn %lld -> %lld: a listening socket keeps the "
			 "backlog it got from listen() until its program calls listen() again. The backlogs cannot "
			 "be read here (no sock_diag), so restart the programs that listen to give them the new "
			 "limit.", sm->from, sm->to);
		report_wrap(out, 80, "", "", line);
		return;
	}
	snprintf(line, sizeof(line), "net.core.somaxconn %lld -> %lld: a listening socket keeps the backlog it "
		 "got from listen() until its program calls listen() again. %s listen%s with backlog %lld, "
		 "equal to somaxconn now, so %s probably cut to it:", sm->from, sm->to,
		 sm->n_clamped + sm->n_more == 1 ? "This listener" : "These listeners",
		 sm->n_clamped + sm->n_more == 1 ? "s" : "", sm->from,
		 sm->n_clamped + sm->n_more == 1 ? "it was" : "they were");
	report_wrap(out, 80, "", "", line);
	for (size_t i = 0; i < sm->n_clamped; i++)
		fprintf(out, "  %s  backlog %u  %s\n", sm->clamped[i].where, sm->clamped[i].backlog,
			esc(sm->clamped[i].who, b, sizeof(b)));
	for (size_t i = 0; i < sm->n_clamped; i++)
		unknown |= strcmp(sm->clamped[i].who, "an unknown process") == 0;
	if (sm->n_more)
		fprintf(out, "  and %zu more\n", sm->n_more);
	snprintf(line, sizeof(line), "Restart %s after the change: a new listen() gets the smaller of the "
		 "program's own backlog and %lld. A reload that keeps the listening socket is not enough "
		 "unless the program calls listen() again.%s", sm->n_clamped + sm->n_more == 1 ? "it" : "them",
		 sm->to, unknown ? " `ss -ltnp` names the process that holds a listener." : "");
	report_wrap(out, 80, "", "", line);
}

/* Is row r printed whole: it changes, is skipped or corrected, or another
 * file beats tcptune's at boot? */
static bool row_detailed(const struct plan_row *r)
{
	return r->change || r->skip || r->correction || r->override[ORDER_SYSTEMD] || r->override[ORDER_PROCPS];
}

/* The other rows, one a line under "Already at the profile's value:". */
static void same_text(FILE *out, const struct plan *pl)
{
	bool first = true;

	for (size_t i = 0; i < pl->n; i++) {
		const struct plan_row *r = &pl->rows[i];

		if (row_detailed(r))
			continue;
		if (first)
			fprintf(out, "Already at the profile's value:\n");
		first = false;
		fprintf(out, "  %s %s\n", key_table[r->key].name, r->target);
	}
}

int report_plan_text(const struct plan *pl, const struct snapshot *s, FILE *out)
{
	char b[1024];

	fprintf(out, "Profile %s: %zu change%s now, %zu key%s skipped\n", pl->profile, pl->n_change,
		pl->n_change == 1 ? "" : "s", pl->n_skip, pl->n_skip == 1 ? "" : "s");
	if (pl->n_corrections)
		fprintf(out, "Also %zu harmful value%s corrected, which the profile leaves alone (marked "
			"\"correct\")\n", pl->n_corrections, pl->n_corrections == 1 ? "" : "s");
	fputc('\n', out);
	/* What changes first, one key a paragraph within 80 columns; the keys
	 * already at the profile's value (and not lost at boot) in one list
	 * after them. */
	for (size_t i = 0; i < pl->n; i++) {
		const struct plan_row *r = &pl->rows[i];
		const struct sysctld_assign *bt = r->boot[ORDER_SYSTEMD];
		char line[1200];

		if (!row_detailed(r))
			continue;
		snprintf(line, sizeof(line), "%s  %s -> %s  %s", key_table[r->key].name,
			 r->present ? key_value_shown(r->runtime) : "missing", key_value_shown(r->target),
			 r->skip ? "skipped" : r->correction ? "correct" : r->reserve && r->change ? "reserve"
			 : r->change ? "change" : "same");
		report_wrap(out, 80, r->change ? "* " : "  ", "      ", line);
		if (r->skip)
			report_wrap(out, 80, "      skipped: ", "      ", r->skip);
		if (bt) {
			char v[64];

			snprintf(line, sizeof(line), "%s from %s:%u", esc(bt->value, v, sizeof(v)),
				 esc(bt->file, b, sizeof(b)), bt->line);
			report_wrap(out, 80, "      boot now: ", "      ", line);
		}
		if (r->why && (r->change || r->skip))
			report_wrap(out, 80, "      why: ", "           ", esc(r->why, b, sizeof(b)));
		boot_text(out, r);
	}
	same_text(out, pl);
	ports_text(out, pl);
	somaxconn_text(out, pl);
	fputc('\n', out);
	report_wrap(out, 80, "", "", "At boot, tcptune's file wins for every key not marked LOSES above "
		    "(systemd-sysctl and sysctl --system).");
	fprintf(out, "Managed file %s: %s\n", TXN_DEFAULT_MANAGED_FILE,
		pl->file_unchanged ? "already up to date" : "will be written");
	for (size_t i = 0; s->boot_ok && i < s->boot.n_reappliers; i++)
		fprintf(out, "Warning: %s may rewrite these settings after boot: %s\n", s->boot.reappliers[i].name,
			esc(s->boot.reappliers[i].detail ? s->boot.reappliers[i].detail : "", b, sizeof(b)));
	return ferror(out) ? -EIO : 0;
}

static json_t *assign_json(const struct sysctld_assign *a)
{
	if (!a)
		return json_null();
	return json_pack("{s:o, s:o, s:I}", "value", json_string_safe(a->value), "file", json_string_safe(a->file), "line",
			 (json_int_t) a->line);
}

json_t *report_plan_json(const struct plan *pl)
{
	json_t *keys = json_array();

	for (size_t i = 0; i < pl->n; i++) {
		const struct plan_row *r = &pl->rows[i];

		json_array_append_new(keys, json_pack(
			"{s:s, s:o, s:s, s:o, s:o, s:b, s:o, s:o, s:{s:b, s:b}, s:{s:o, s:o}, s:b, s:b}",
			"key", key_table[r->key].name,
			"runtime", r->present ? json_string(r->runtime) : json_null(),
			"profile", r->target,
			"why", r->why ? json_string_safe(r->why) : json_null(),
			"boot", assign_json(r->boot[ORDER_SYSTEMD]),
			"change", r->change,
			"skipped", r->skip ? json_string(r->skip) : json_null(),
			"boot_procps", assign_json(r->boot[ORDER_PROCPS]),
			"wins_at_boot", "systemd", !r->skip && !r->override[ORDER_SYSTEMD],
			"procps", !r->skip && !r->override[ORDER_PROCPS],
			"overridden_by", "systemd", assign_json(r->override[ORDER_SYSTEMD]),
			"procps", assign_json(r->override[ORDER_PROCPS]),
			"correction", r->correction, "reservation", r->reserve));
	}
	json_t *ports = json_null();
	if (pl->ports.range_changes) {
		const struct plan_ports *pp = &pl->ports;
		json_t *hz = json_array();

		for (size_t i = 0; i < pp->n_hazards; i++)
			json_array_append_new(hz, json_pack("{s:I, s:o, s:b, s:b}", "port", (json_int_t) pp->hazards[i].port,
							    "process", json_string_safe(pp->hazards[i].who),
							    "reserved_already", pp->hazards[i].reserved,
							    "newly_inside", pp->hazards[i].newly));
		ports = json_pack("{s:I, s:I, s:o, s:s, s:b, s:o}", "low", (json_int_t) pp->low, "high",
				  (json_int_t) pp->high, "listeners", pp->listeners_known ? hz : (json_decref(hz), json_null()),
				  "reserved_inside", pp->reserved_inside, "kubelet", pp->kubelet,
				  "warning", pp->note[0] ? json_string_safe(pp->note) : json_null());
	}
	json_t *smx = json_null();
	if (pl->somaxconn.raises) {
		const struct plan_somaxconn *sm = &pl->somaxconn;
		json_t *cl = json_array();

		for (size_t i = 0; i < sm->n_clamped; i++)
			json_array_append_new(cl, json_pack("{s:s, s:I, s:o}", "listener", sm->clamped[i].where,
							    "backlog", (json_int_t) sm->clamped[i].backlog,
							    "process", json_string_safe(sm->clamped[i].who)));
		smx = json_pack("{s:I, s:I, s:o, s:I}", "from", (json_int_t) sm->from, "to", (json_int_t) sm->to,
				"clamped_listeners", sm->listeners_known ? cl : (json_decref(cl), json_null()),
				"clamped_not_listed", (json_int_t) sm->n_more);
	}
	return json_pack("{s:s, s:I, s:I, s:o, s:{s:s, s:b}, s:o, s:o}", "profile", pl->profile,
			 "changes", (json_int_t) pl->n_change, "skipped", (json_int_t) pl->n_skip, "keys", keys,
			 "file", "path", TXN_DEFAULT_MANAGED_FILE, "unchanged", pl->file_unchanged, "port_range", ports,
			 "somaxconn", smx);
}

/* A plan of keys going back (rollback's, shown before it asks, and apply
 * default's): per key its value now and after, '*' where it changes, then
 * what happens to the managed file.  80 columns: the longest key name in
 * the table is 49 characters. */
int report_change_list_text(const char *title, const struct txn_entry_key *keys, size_t n, const char *file_line,
			    FILE *out)
{
	size_t changes = 0;

	for (size_t i = 0; i < n; i++)
		changes += !sysctl_value_equal(keys[i].key, keys[i].old_value, keys[i].new_value);
	fprintf(out, "%s: %zu key%s change%s\n\n", title, changes, changes == 1 ? "" : "s", changes == 1 ? "s" : "");
	if (n)
		fprintf(out, "  %-49s %-13s %s\n", "key", "now", "after");
	for (size_t i = 0; i < n; i++) {
		/* what the transaction counts as a change (change.c) */
		bool ch = !sysctl_value_equal(keys[i].key, keys[i].old_value, keys[i].new_value);

		fprintf(out, "%c %-49s %-13s %s\n", ch ? '*' : ' ', key_table[keys[i].key].name,
			keys[i].had_old ? key_value_shown(keys[i].old_value) : "missing",
			key_value_shown(keys[i].new_value));
	}
	fprintf(out, "%s%s\n", n ? "\n" : "", file_line);
	return ferror(out) ? -EIO : 0;
}

void report_effect_figures(const json_t *eff, FILE *out)
{
	const json_t *figs = json_object_get(eff, "figures"), *f;
	size_t i;

	if (!json_array_size(figs))
		return;
	fprintf(out, "  %-28s %12s %12s  %s\n", "figure", "before", "after", "change");
	json_array_foreach(figs, i, f) {
		char fact[64], unit[16], ch[16], b[40] = "?", a[40] = "?";
		const char *u;

		str_escape(json_string_value(json_object_get(f, "fact")), fact, sizeof(fact));
		u = json_string_value(json_object_get(f, "unit"));
		str_escape(u ? u : "", unit, sizeof(unit));
		str_escape(json_string_value(json_object_get(f, "change")), ch, sizeof(ch));
		if (json_is_number(json_object_get(f, "before")))
			snprintf(b, sizeof(b), "%.0f%s", json_number_value(json_object_get(f, "before")), unit);
		if (json_is_number(json_object_get(f, "after")))
			snprintf(a, sizeof(a), "%.0f%s", json_number_value(json_object_get(f, "after")), unit);
		fprintf(out, "  %-28s %12s %12s  %s\n", fact, b, a, ch);
	}
}
