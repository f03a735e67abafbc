/* `tcptune profiles`, `show PROFILE`, `recommend`, and the profile loading
 * every profile verb shares. */
#include "cmd.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "datadir.h"
#include "keys.h"
#include "log.h"
#include "profile.h"
#include "recommend.h"
#include "snapshot.h"

enum { OPT_FORMAT = 1 };

const struct cli_opt cmd_profiles_opts[] = { { NULL, false, 0, NULL } };
const struct cli_opt cmd_show_opts[] = { { NULL, false, 0, NULL } };
const struct cli_opt cmd_recommend_opts[] = {
	{ "format", true, OPT_FORMAT, "text|json" },
	{ NULL, false, 0, NULL },
};

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

int cmd_recommend(const struct cli_args *a)
{
	struct profile_set set;
	struct recommendation rec;
	struct snapshot s;
	bool json = false;
	int r, code = EXIT_OK;

	for (size_t i = 0; i < a->n_opts; i++)
		if (a->opts[i].id == OPT_FORMAT) {
			json = strcmp(a->opts[i].value, "json") == 0;
			if (!json && strcmp(a->opts[i].value, "text") != 0)
				return log_errx(EXIT_UNKNOWN, "unknown format '%s': use text or json", a->opts[i].value);
		}
	if (cmd_load_profiles(a, &set) < 0)
		return EXIT_UNKNOWN;
	r = snapshot_init(&s, a->g->root);
	if (r < 0) {
		profile_set_release(&set);
		return log_err(r, "cannot open root directory '%s'", a->g->root), EXIT_UNKNOWN;
	}
	r = snapshot_take(&s);
	if (r < 0 && !s.census_ok) {
		log_errx(0, "recommend needs the socket census, which failed");
		code = EXIT_UNKNOWN;
		goto out;
	}
	recommend(&set, &s, &rec);
	if (rec.error[0])
		log_errx(0, "%s", rec.error);
	if (json) {
		json_t *o = json_pack("{s:o, s:s}", "profile", rec.profile ? json_string(rec.profile->name) : json_null(),
				      "reason", rec.reason);
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	} else
		printf("Recommended profile: %s\n%s\n\nSee what it would change: tcptune diff %s\n",
		       rec.profile ? rec.profile->name : "(none)", rec.reason, rec.profile ? rec.profile->name : "");
out:
	snapshot_release(&s);
	profile_set_release(&set);
	return code;
}
