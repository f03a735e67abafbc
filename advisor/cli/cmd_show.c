/* `tcptune show PROFILE`: one profile fully resolved, every value with its
 * reason and the profile it comes from. */
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "profile.h"

const struct cli_opt cmd_show_opts[] = { { NULL, false, 0, NULL } };

int cmd_show(const struct cli_args *a)
{
	struct profile_set set;
	const struct profile *p;

	if (cmd_load_profiles(a, &set) < 0)
		return EXIT_UNKNOWN;
	p = cmd_find_profile(&set, a->pos[0]);
	if (!p) {
		profile_set_release(&set);
		return EXIT_UNKNOWN;
	}
	printf("%s: %s\n", p->name, p->description ? p->description : "");
	if (p->extends)
		printf("extends: %s\n", p->extends);
	printf("proposed when: %s\nfrom: %s\n\n", p->match_src ? p->match_src : "(never proposed automatically)",
	       p->file);
	for (size_t i = 0; i < p->n_settings; i++) {
		const struct profile_setting *st = &p->settings[i];
		printf("%s = %s%s%s%s\n    %s\n", key_table[st->key].name, st->value,
		       strcmp(st->from, p->name) ? "   (from " : "", strcmp(st->from, p->name) ? st->from : "",
		       strcmp(st->from, p->name) ? ")" : "", st->why);
	}
	profile_set_release(&set);
	return EXIT_OK;
}
