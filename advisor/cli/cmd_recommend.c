/* `tcptune recommend`: the profile that fits this machine, and the facts
 * that decided it (engine/recommend.h). */
#include "cmd.h"

#include <jansson.h>
#include <stdio.h>

#include "jsonutil.h"
#include "log.h"
#include "profile.h"
#include "recommend.h"
#include "snapshot.h"

const struct cli_opt cmd_recommend_opts[] = {
	{ "format", true, CLI_OPT_FORMAT, "" },
	{ NULL, false, 0, NULL },
};

int cmd_recommend(const struct cli_args *a)
{
	struct profile_set set;
	struct recommendation rec;
	struct snapshot s;
	int r, code = EXIT_OK;

	if (cmd_load_profiles(a, &set) < 0)
		return EXIT_UNKNOWN;
	r = snapshot_init(&s, &a->g->target);
	if (r < 0) {
		profile_set_release(&set);
		return log_err(r, "cannot open root directory '%s'", a->g->target.root), EXIT_UNKNOWN;
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
	if (cli_format_is(a, "json"))
		json_print(json_pack("{s:o, s:s}", "profile", rec.profile ? json_string(rec.profile->name) : json_null(),
				     "reason", rec.reason), stdout);
	else
		printf("Recommended profile: %s\n%s\n\nSee what it would change: tcptune diff %s\n",
		       rec.profile ? rec.profile->name : "(none)", rec.reason, rec.profile ? rec.profile->name : "");
out:
	snapshot_release(&s);
	profile_set_release(&set);
	return code;
}
