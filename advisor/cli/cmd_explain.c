/* `tcptune explain KEY`: the key table's entry with the runtime value and
 * what boot sets, under both orders.  Rules join in #3. */
#include "cmd.h"

#include <stdio.h>
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
	if (k->type == KEY_INT_PAIR)
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

static int explain_rule(const struct cli_args *a, const char *id)
{
	struct rule_set rules;
	struct datadir dd;
	struct diag d = { .line = 0 };
	const struct rule *r;
	int rc;

	datadir_init(&dd, a->g->data);
	rc = rule_set_load(&rules, &dd, &d);
	if (rc < 0)
		return log_diag(EXIT_UNKNOWN, &d);
	r = rule_set_find(&rules, id);
	if (!r) {
		rule_set_release(&rules);
		return log_errx(EXIT_UNKNOWN, "'%s' is neither a tracked sysctl nor a rule id", id);
	}
	printf("%s (%s)\n\n%s\n\n", r->id, severity_name(r->severity), r->title);
	printf("%s\n\nFix: %s\n", r->explain, r->fix);
	for (size_t i = 0; i < r->n_sysctl; i++)
		printf("  %s = %s\n", r->sysctl[i].key, r->sysctl[i].value);
	printf("\nFires when: %s\nDefined in: %s:%u\n", r->when_src, r->file, r->line);
	rule_set_release(&rules);
	return EXIT_OK;
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
