/* `tcptune diff PROFILE` and `tcptune apply PROFILE`: the plan, then the
 * transaction (backup/txn.h) with its preconditions (guard.h). */
#include "cmd.h"

#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "guard.h"
#include "keys.h"
#include "log.h"
#include "plan.h"
#include "report_plan.h"
#include "snapshot.h"
#include "txn.h"

enum { OPT_FORMAT = 1, OPT_DRY_RUN, OPT_YES, OPT_CAPEFF };

const struct cli_opt cmd_diff_opts[] = {
	{ "format", true, OPT_FORMAT, "text|json" },
	{ NULL, false, 0, NULL },
};

const struct cli_opt cmd_apply_opts[] = {
	{ "dry-run", false, OPT_DRY_RUN, "print the plan, change nothing" },
	{ "yes",     false, OPT_YES,     "do not ask" },
	{ "format",  true,  OPT_FORMAT,  "text|json (json: {\"changed\", \"entry\", ...} for automation)" },
	{ "debug-print-capeff", false, OPT_CAPEFF, NULL },	/* tests: the capabilities kept */
	{ NULL, false, 0, NULL },
};

struct planned {
	struct profile_set set;
	struct snapshot s;
	struct plan plan;
	bool have_set, have_snapshot, have_plan;
};

static void planned_release(struct planned *p)
{
	if (p->have_plan)
		plan_release(&p->plan);
	if (p->have_snapshot)
		snapshot_release(&p->s);
	if (p->have_set)
		profile_set_release(&p->set);
}

/* Profiles, a configuration snapshot of root, and the plan for name. */
static int make_plan(const struct cli_args *a, const char *name, struct planned *p)
{
	const struct profile *prof;
	struct plan_input *in;
	int r;

	memset(p, 0, sizeof(*p));
	if (cmd_load_profiles(a, &p->set) < 0)
		return -EINVAL;
	p->have_set = true;
	prof = cmd_find_profile(&p->set, name);
	if (!prof)
		return -ENOENT;
	r = snapshot_init(&p->s, a->g->root);
	if (r < 0)
		return log_err(r, "cannot open root directory '%s'", a->g->root);
	p->have_snapshot = true;
	r = snapshot_take_config(&p->s);
	if (r < 0)
		return log_err(r, "cannot read the configuration");
	for (size_t i = 0; i < p->s.n_notes; i++)
		if (p->s.notes[i].bad_input)
			return log_errx(-EINVAL, "%s", p->s.notes[i].text);
	in = calloc(prof->n_settings ? prof->n_settings : 1, sizeof(*in));
	if (!in)
		return log_err(-ENOMEM, "plan");
	for (size_t i = 0; i < prof->n_settings; i++)
		in[i] = (struct plan_input) { prof->settings[i].key, prof->settings[i].value, prof->settings[i].why };
	r = plan_build(&p->plan, &p->s, prof->name, in, prof->n_settings);
	free(in);
	if (r < 0)
		return log_err(r, "plan");
	p->have_plan = true;
	return 0;
}

static int format_opt(const struct cli_args *a, bool *json)
{
	*json = false;
	for (size_t i = 0; i < a->n_opts; i++)
		if (a->opts[i].id == OPT_FORMAT) {
			*json = strcmp(a->opts[i].value, "json") == 0;
			if (!*json && strcmp(a->opts[i].value, "text") != 0)
				return log_errx(-EINVAL, "unknown format '%s': use text or json", a->opts[i].value);
		}
	return 0;
}

static void print_json(json_t *o)
{
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(o);
}

/* diff, and apply --dry-run: the plan and nothing else. */
static int show_plan(const struct cli_args *a, bool json)
{
	struct planned p;
	int code = EXIT_OK;

	if (make_plan(a, a->pos[0], &p) < 0)
		code = EXIT_UNKNOWN;
	else if (json)
		print_json(report_plan_json(&p.plan));
	else
		report_plan_text(&p.plan, &p.s, stdout);
	planned_release(&p);
	return code;
}

int cmd_diff(const struct cli_args *a)
{
	bool json;

	if (format_opt(a, &json) < 0)
		return EXIT_UNKNOWN;
	return show_plan(a, json);
}

static const char *login_name(void)
{
	struct passwd *pw = getpwuid(getuid());

	return pw ? pw->pw_name : "?";
}

/* Run the transaction for the plan's keys that apply here. */
static int run_apply(const struct planned *p, bool json, bool yes)
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
				     .file_content = pl->file_content, .user = login_name(), .uid = getuid() };
	r = txn_apply(&guard_paths, &req, &changed, id, &err);
	free(keys);
	if (r < 0) {
		log_errx(0, "apply %s failed: %s; %s", pl->profile, err.what,
			 !err.restored ? "the machine may be partly changed: run tcptune rollback, see tcptune history"
			 : err.id[0] ? "the machine is as it was (entry marked rolled-back)"
				     : "the machine is as it was (nothing was recorded)");
		if (json)
			print_json(json_pack("{s:b, s:s, s:s, s:s, s:b}", "changed", 0, "entry", err.id,
					     "status", "failed", "error", err.what, "restored", err.restored));
		return r;
	}
	if (json) {
		json_t *o = report_plan_json(pl);
		json_object_set_new(o, "changed", json_boolean(changed));
		json_object_set_new(o, "entry", json_string(id));
		json_object_set_new(o, "status", json_string(changed ? "applied" : "unchanged"));
		print_json(o);
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
	struct planned p = { .have_set = false };
	bool json, dry = false, yes = false, capeff = false;
	int lockfd = -1, code = EXIT_OK;

	if (format_opt(a, &json) < 0)
		return EXIT_UNKNOWN;
	for (size_t i = 0; i < a->n_opts; i++) {
		if (a->opts[i].id == OPT_DRY_RUN)
			dry = true;
		else if (a->opts[i].id == OPT_YES)
			yes = true;
		else if (a->opts[i].id == OPT_CAPEFF)
			capeff = true;
	}
	if (dry) {
		caps_keep_reading();	/* a dry run only reads */
		return show_plan(a, json);
	}
	if (strcmp(a->g->root, "/") != 0)
		return log_errx(EXIT_UNKNOWN, "apply changes the live system; --root is only for audits and diff");
	if (guard_privileges("apply") < 0 || guard_drop_privileges("apply", capeff) < 0)
		return 1;
	if (guard_lock("apply", &lockfd) < 0)
		return 1;
	/* Plan only now: recovery may just have changed the runtime values. */
	if (make_plan(a, a->pos[0], &p) < 0)
		code = EXIT_UNKNOWN;
	else if (run_apply(&p, json, yes) < 0)
		code = 1;
	planned_release(&p);
	txn_unlock(lockfd);
	return code;
}
