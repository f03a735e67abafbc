/* `tcptune explain KEY|RULE`: the key table's entry with the runtime value
 * and what boot sets, under both orders; or a rule's text, its title's
 * placeholders named and filled from this machine.  A typo gets the nearest
 * names. */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "report.h"
#include "rule.h"
#include "datadir.h"
#include "snapshot.h"

const struct cli_opt cmd_explain_opts[] = {
	{ NULL, false, 0, NULL },
};

static void range(FILE *out, const char *label, const struct key_def *k, long long lo, long long hi)
{
	if (k->type == KEY_PORT_LIST)
		fprintf(out, "%-22s ports 0..65535, \"N\" or \"N-M\" separated by ','\n", label);
	else if (k->type == KEY_INT_PAIR)
		fprintf(out, "%-22s each of low and high in %lld..%lld, low <= high\n", label, lo, hi);
	else
		fprintf(out, "%-22s %lld..%lld\n", label, lo, hi);
}

static void print_boot(const struct snapshot *s, size_t i, FILE *out)
{
	for (int o = 0; o < ORDER__COUNT; o++) {
		const struct sysctld_key *b = &s->boot.keys[i];
		const struct sysctld_assign *w = b->winner[o];
		char label[40];

		snprintf(label, sizeof(label), "boot (%s):", report_order_name((enum sysctld_order) o));
		char v[64];

		if (!w || sysctld_boot_value(&s->boot, i, (enum sysctld_order) o, v, sizeof(v)) < 0)
			fprintf(out, "%-22s not set: the kernel default stays\n", label);
		else
			fprintf(out, "%-22s %s from %s:%u\n", label, v, w->file, w->line);
		for (size_t j = 0; j < b->n_overridden[o]; j++)
			fprintf(out, "%-22s   overrides %s from %s:%u\n", "", b->overridden[o][j]->value,
				b->overridden[o][j]->file, b->overridden[o][j]->line);
	}
}

/* "did you mean": the rule ids and keys (full or last part) at most 3 edits
 * from name, nearest first, at most 3 of them. */
static void suggest(const struct rule_set *rules, const char *name)
{
	const char *best[3] = { NULL, NULL, NULL };
	size_t best_d[3] = { 4, 4, 4 };
	char line[256] = "";

	for (size_t i = 0; i < rules->n + 2 * key_count; i++) {
		const char *cand;
		size_t d;

		if (i < rules->n)
			cand = rules->rules[i].id;
		else if (i < rules->n + key_count)
			cand = key_table[i - rules->n].name;
		else {
			cand = strrchr(key_table[i - rules->n - key_count].name, '.');
			cand = cand ? cand + 1 : key_table[i - rules->n - key_count].name;
		}
		d = cli_distance(name, cand);
		for (size_t k = 0; k < 3; k++)
			if (d < best_d[k]) {
				memmove(&best[k + 1], &best[k], (2 - k) * sizeof(best[0]));
				memmove(&best_d[k + 1], &best_d[k], (2 - k) * sizeof(best_d[0]));
				best[k] = cand;
				best_d[k] = d;
				break;
			}
	}
	for (size_t k = 0; k < 3 && best[k]; k++) {
		size_t len = strlen(line);

		snprintf(line + len, sizeof(line) - len, "%s'%s'", k == 0 ? "" : k == 2 || !best[k + 1] ? " or " : ", ",
			 best[k]);
	}
	if (best[0])
		log_errx(0, "'%s' is neither a tracked sysctl nor a rule id; did you mean %s?", name, line);
	else
		log_errx(0, "'%s' is neither a tracked sysctl nor a rule id (tcptune rules, tcptune keys list them)",
			 name);
}

/* The rule's text; its title's placeholders named (<fact>), then filled
 * from this machine when a snapshot can be taken. */
static int explain_rule(const struct cli_args *a, const char *id)
{
	struct rule_set rules;
	struct findings found = { 0 };
	struct snapshot s;
	const struct rule *r;
	size_t width = report_text_width(stdout);
	char *title;
	bool have_snapshot = false, have_found = false;
	int code = EXIT_OK;

	if (cmd_load_rules(a, &rules) < 0)
		return EXIT_UNKNOWN;
	r = rule_set_find(&rules, id);
	if (!r) {
		suggest(&rules, id);
		rule_set_release(&rules);
		return EXIT_UNKNOWN;
	}
	title = rule_interpolate(r->title, NULL);
	if (!title) {
		log_err(-ENOMEM, "explain");
		code = EXIT_UNKNOWN;
		goto out;
	}
	printf("%s (%s)\n\n", r->id, severity_name(r->severity));
	report_wrap(stdout, width, "Reports: ", "  ", title);
	free(title);
	if (snapshot_init(&s, &a->g->target) == 0) {
		have_snapshot = true;
		(void) snapshot_take(&s);	/* what could not be read shows as "?" */
		if (rules_evaluate(&rules, &s, NULL, 0, &found) == 0)
			have_found = true;
	}
	if (have_found) {
		const struct finding *f = NULL;

		for (size_t i = 0; i < found.n; i++)
			if (found.v[i].rule == r)
				f = &found.v[i];
		if (f)
			report_wrap(stdout, width, "Here now: ", "  ", f->title);
		else {
			char *here = rule_interpolate(r->title, &s);

			report_wrap(stdout, width, "Here now: does not fire; its title would read: ", "  ",
				    here ? here : "?");
			free(here);
		}
	}
	printf("\n");
	report_wrap(stdout, width, "", "", r->explain);
	printf("\n");
	report_wrap(stdout, width, "Fix: ", "     ", r->fix);
	for (size_t i = 0; i < r->n_sysctl; i++)
		printf("     %s = %s\n", r->sysctl[i].key, r->sysctl[i].value);
	printf("\n");
	report_wrap(stdout, width, "Fires when: ", "  ", r->when_src);
	printf("Defined in: %s:%u\n", r->file, r->line);
out:
	if (have_found)
		findings_release(&found);
	if (have_snapshot)
		snapshot_release(&s);
	rule_set_release(&rules);
	return code;
}

int cmd_explain(const struct cli_args *a)
{
	const char *name = a->pos[0];
	const struct key_def *k;
	struct snapshot s;
	size_t i;
	int r;

	r = key_index(name);
	if (r < 0) {
		/* also accept the short form "tcp_fin_timeout" */
		for (i = 0; i < key_count; i++) {
			const char *dot = strrchr(key_table[i].name, '.');
			if (dot && strcmp(dot + 1, name) == 0)
				r = (int) i;
		}
	}
	if (r < 0)
		return explain_rule(a, name);
	i = (size_t) r;
	k = &key_table[i];

	r = snapshot_init(&s, &a->g->target);
	if (r < 0)
		return log_err(r, "cannot open root directory '%s'", a->g->target.root), EXIT_UNKNOWN;
	r = snapshot_take_config(&s);
	if (r < 0) {
		snapshot_release(&s);
		return log_err(r, "cannot read the configuration"), EXIT_UNKNOWN;
	}

	printf("%s\n\n%s\n\n", k->name, k->explain);
	if (s.sysctl[i].present)
		printf("%-22s %s %s\n", "runtime value:", s.sysctl[i].raw, k->unit);
	else {
		char why[96];
		const char *reason = key_absence_reason(k, s.kernel_version, why, sizeof(why));
		printf("%-22s missing here%s%s\n", "runtime value:", reason ? ": " : "", reason ? reason : "");
	}
	if (s.boot_ok)
		print_boot(&s, i, stdout);
	printf("%-22s %s\n", "unit:", k->unit);
	printf("%-22s %s\n", "scope:", k->per_netns ? "per network namespace" : "host-wide (init namespace only)");
	if (k->jiffies) {
		long long lo, hi;

		/* |v| <= INT_MAX/HZ (docs/KERNEL.md §1.2) */
		key_kernel_bounds(k, s.kernel_hz, &lo, &hi);
		if (s.kernel_hz > 0)
			printf("%-22s %lld..%lld (INT_MAX/HZ s, HZ=%d)\n", "kernel accepts:", lo, hi, s.kernel_hz);
		else
			printf("%-22s %lld..%lld at HZ=1000 (INT_MAX/HZ s; HZ unknown here)\n", "kernel accepts:",
			       k->kmin, k->kmax);
	} else
		range(stdout, "kernel accepts:", k, k->kmin, k->kmax);
	if (k->writable) {
		range(stdout, "tcptune applies:", k, k->amin, k->amax);
		if (k->arange_why)
			printf("%-22s %s\n", "", k->arange_why);
	} else
		printf("%-22s never (%s)\n", "tcptune applies:", k->arange_why ? k->arange_why : "read only");
	if (k->added)
		printf("%-22s %s\n", "added in Linux:", k->added);
	if (k->per_netns_since)
		printf("%-22s %s (before: host-wide only)\n", "per-namespace since:", k->per_netns_since);
	if (k->removed)
		printf("%-22s %s\n", "removed in Linux:", k->removed);
	if (k->module)
		printf("%-22s %s\n", "needs module:", k->module);
	snapshot_release(&s);
	return EXIT_OK;
}
