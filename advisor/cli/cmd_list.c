/* `tcptune list profiles|rules|keys|verbs`: one name per line, for shell
 * completion (contrib/bash-completion).  Not shown in --help. */
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#include "datadir.h"
#include "keys.h"
#include "log.h"
#include "rule.h"

const struct cli_opt cmd_list_opts[] = { { NULL, false, 0, NULL } };

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
		struct datadir dd;
		struct diag d = { .line = 0 };

		datadir_init(&dd, a->g->data);
		if (rule_set_load(&rules, &dd, &d) < 0)
			return log_diag(EXIT_UNKNOWN, &d);
		for (size_t i = 0; i < rules.n; i++)
			printf("%s\n", rules.rules[i].id);
		rule_set_release(&rules);
	} else
		return log_errx(EXIT_UNKNOWN, "list what? profiles, rules, keys or verbs (not '%s')", what);
	return EXIT_OK;
}
