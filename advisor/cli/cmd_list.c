/* `tcptune list profiles|rules|keys|verbs`: one name per line, for shell
 * completion (contrib/bash-completion).  Not shown in --help.  And for
 * people: `tcptune rules` and `tcptune keys`, each name with a one-line
 * summary. */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datadir.h"
#include "keys.h"
#include "log.h"
#include "report.h"
#include "rule.h"

const struct cli_opt cmd_list_opts[] = { { NULL, false, 0, NULL } };
const struct cli_opt cmd_rules_opts[] = { { NULL, false, 0, NULL } };
const struct cli_opt cmd_keys_opts[] = { { NULL, false, 0, NULL } };

int cmd_load_rules(const struct cli_args *a, struct rule_set *rules)
{
	struct datadir dd;
	struct diag d = { .line = 0 };

	datadir_init(&dd, a->g->data);
	if (rule_set_load(rules, &dd, &d) < 0)
		return log_diag(-EINVAL, &d);
	return 0;
}

/* Each rule: id and severity, then its title with the placeholders named
 * (<fact>), which is what the finding says. */
int cmd_rules(const struct cli_args *a)
{
	struct rule_set rules;
	size_t width = report_text_width(stdout);

	if (cmd_load_rules(a, &rules) < 0)
		return EXIT_UNKNOWN;
	for (size_t i = 0; i < rules.n; i++) {
		const struct rule *r = &rules.rules[i];
		char *title = rule_interpolate(r->title, NULL);

		if (!title) {
			rule_set_release(&rules);
			return log_err(-ENOMEM, "rules"), EXIT_UNKNOWN;
		}
		printf("%s (%s)\n", r->id, severity_name(r->severity));
		report_wrap(stdout, width, "    ", "    ", title);
		free(title);
	}
	printf("\n%zu rules; tcptune explain ID shows one in full.\n", rules.n);
	rule_set_release(&rules);
	return EXIT_OK;
}

/* Each tracked key with the first sentence of its explanation. */
int cmd_keys(const struct cli_args *a)
{
	size_t width = report_text_width(stdout);

	(void) a;
	for (size_t i = 0; i < key_count; i++) {
		const struct key_def *k = &key_table[i];
		const char *dot = strstr(k->explain, ". ");
		char *summary = strndup(k->explain, dot ? (size_t) (dot - k->explain + 1) : strlen(k->explain));

		if (!summary)
			return log_err(-ENOMEM, "keys"), EXIT_UNKNOWN;
		printf("%s%s\n", k->name, k->per_netns ? "" : " (host-wide)");
		report_wrap(stdout, width, "    ", "    ", summary);
		free(summary);
	}
	printf("\n%zu keys; tcptune explain KEY shows one in full, with its values here.\n", key_count);
	return EXIT_OK;
}

int cmd_list(const struct cli_args *a)
{
	const char *what = a->pos[0];

	if (strcmp(what, "verbs") == 0) {
		cli_print_verbs();
	} else if (strcmp(what, "keys") == 0) {
		for (size_t i = 0; i < key_count; i++)
			printf("%s\n", key_table[i].name);
	} else if (strcmp(what, "profiles") == 0) {
		struct profile_set set;

		if (cmd_load_profiles(a, &set) < 0)
			return EXIT_UNKNOWN;
		for (size_t i = 0; i < set.n; i++)
			printf("%s\n", set.v[i].name);
		profile_set_release(&set);
	} else if (strcmp(what, "rules") == 0) {
		struct rule_set rules;

		if (cmd_load_rules(a, &rules) < 0)
			return EXIT_UNKNOWN;
		for (size_t i = 0; i < rules.n; i++)
			printf("%s\n", rules.rules[i].id);
		rule_set_release(&rules);
	} else
		return log_errx(EXIT_UNKNOWN, "list what? profiles, rules, keys or verbs (not '%s')", what);
	return EXIT_OK;
}
