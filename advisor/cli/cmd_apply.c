/* `tcptune apply PROFILE`: the plan (cmd_plan_make(), shared with diff),
 * then the transaction (backup/txn.h).  cli_run() has checked privileges,
 * dropped all but CAP_NET_ADMIN and taken the store lock, with recovery,
 * before this runs (VERB_CHANGES); --dry-run only shows the plan. */
#include "cmd.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"
#include "jsonutil.h"
#include "log.h"
#include "report_plan.h"
#include "txn.h"

enum { OPT_YES = 1 };

const struct cli_opt cmd_apply_opts[] = {
	{ "dry-run", false, CLI_OPT_DRY_RUN, "print the plan, change nothing" },
	{ "yes",     false, OPT_YES,         "do not ask" },
	{ "format",  true,  CLI_OPT_FORMAT,  "(json: {\"changed\", \"entry\", ...} for automation)" },
	{ "debug-print-capeff", false, CLI_OPT_CAPEFF, NULL },	/* tests: the capabilities kept */
	{ NULL, false, 0, NULL },
};

/* Run the transaction for the plan's keys that apply here. */
static int run_apply(const struct cmd_plan *p, bool json, bool yes)
{
	const struct plan *pl = &p->plan;
	struct txn_error err = { .restored = false };
	struct txn_key *keys;
	struct txn_request req;
	char id[16] = "", question[128];
	bool changed = false;
	size_t n = 0;
	int r;

	keys = calloc(pl->n ? pl->n : 1, sizeof(*keys));
	if (!keys)
		return log_err(-ENOMEM, "apply");
	for (size_t i = 0; i < pl->n; i++)
		if (!pl->rows[i].skip) {
			keys[n].key = pl->rows[i].key;
			snprintf(keys[n].new_value, sizeof(keys[n].new_value), "%s", pl->rows[i].target);
			n++;
		}
	if (!json)
		report_plan_text(pl, &p->s, stdout);
	snprintf(question, sizeof(question), "Apply profile %s (%zu change%s now)?", pl->profile, pl->n_change,
		 pl->n_change == 1 ? "" : "s");
	if ((pl->n_change || !pl->file_unchanged) && guard_confirm("apply", question, yes) < 0) {
		free(keys);
		return -ECANCELED;
	}
	req = (struct txn_request) { .action = "apply", .profile = pl->profile, .keys = keys, .n_keys = n,
				     .file_content = pl->file_content, .user = cli_login_name(), .uid = getuid() };
	r = txn_apply(&guard_paths, &req, &changed, id, &err);
	free(keys);
	if (r < 0) {
		char state[512];

		guard_state_after_failure(&err, state, sizeof(state));
		log_errx(0, "apply %s failed: %s; %s", pl->profile, err.what, state);
		if (json)
			json_print(json_pack("{s:b, s:s, s:s, s:s, s:b, s:s}", "changed", 0, "entry", err.id,
					     "status", "failed", "error", err.what, "restored", err.restored,
					     "entry_status", err.status), stdout);
		return r;
	}
	if (err.note[0])
		log_info("note: %s", err.note);
	if (json) {
		json_t *o = report_plan_json(pl);
		json_object_set_new(o, "changed", json_boolean(changed));
		json_object_set_new(o, "entry", json_string(id));
		json_object_set_new(o, "status", json_string(changed ? "applied" : "unchanged"));
		json_print(o, stdout);
	} else if (changed)
		printf("\nApplied %s: %zu key%s now, %s/%s written (entry %s; undo with tcptune rollback)\n",
		       pl->profile, pl->n_change, pl->n_change == 1 ? "" : "s", guard_paths.sysctl_dir,
		       guard_paths.managed_name, id);
	else
		printf("\nNo changes: %s is already applied (entry %s)\n", pl->profile, id);
	return 0;
}

int cmd_apply(const struct cli_args *a)
{
	struct cmd_plan p;
	bool yes = false;
	int code = EXIT_OK;

	if (a->dry_run)
		return cmd_plan_show(a);
	for (size_t i = 0; i < a->n_opts; i++)
		if (a->opts[i].id == OPT_YES)
			yes = true;
	/* Plan only now: recovery may just have changed the runtime values. */
	if (cmd_plan_make(a, a->pos[0], &p) < 0)
		code = EXIT_UNKNOWN;
	else if (run_apply(&p, cli_format_is(a, "json"), yes) < 0)
		code = EXIT_FAILED;
	cmd_plan_release(&p);
	return code;
}
