/* `tcptune profiles`, and the profile loading every profile verb shares. */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "datadir.h"
#include "log.h"
#include "profile.h"

const struct cli_opt cmd_profiles_opts[] = { { NULL, false, 0, NULL } };

int cmd_load_profiles(const struct cli_args *a, struct profile_set *set)
{
	struct datadir dd;
	struct diag d = { .line = 0 };

	datadir_init(&dd, a->g->data);
	if (profile_set_load(set, &dd, &d) < 0)
		return log_diag(-EINVAL, &d);
	return 0;
}

const struct profile *cmd_find_profile(const struct profile_set *set, const char *name)
{
	const struct profile *p = profile_find(set, name);
	char names[512] = "";
	size_t o = 0;

	if (p)
		return p;
	for (size_t i = 0; i < set->n && o < sizeof(names); i++)
		o += (size_t) snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "", set->v[i].name);
	log_errx(0, "unknown profile '%s' (profiles: %s)", name, names);
	return NULL;
}

int cmd_profiles(const struct cli_args *a)
{
	struct profile_set set;

	if (cmd_load_profiles(a, &set) < 0)
		return EXIT_UNKNOWN;
	for (size_t i = 0; i < set.n; i++) {
		/* The first sentence; `tcptune show` has the rest. */
		const char *d = set.v[i].description ? set.v[i].description : "";
		const char *stop = strstr(d, ". ");
		printf("%-16s %.*s\n", set.v[i].name, (int) (stop ? (size_t) (stop - d) + 1 : strlen(d)), d);
	}
	profile_set_release(&set);
	return EXIT_OK;
}
