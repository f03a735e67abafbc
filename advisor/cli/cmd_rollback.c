/* `tcptune rollback [ID]`: undo the last (or the given) applied transaction,
 * as a transaction of its own (backup/txn.h).  cli_run() has checked
 * privileges, dropped all but CAP_NET_ADMIN and taken the store lock, with
 * recovery, before this runs (VERB_CHANGES).  The plan (key, now, after) is
 * shown before the question, with --yes and with --dry-run too. */
#include "cmd.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"
#include "jsonutil.h"
#include "keys.h"
#include "log.h"
#include "report_plan.h"
#include "txn.h"

enum { OPT_YES = 1, OPT_FORCE };

const struct cli_opt cmd_rollback_opts[] = {
	{ "dry-run", false, CLI_OPT_DRY_RUN, "show the plan, change nothing" },
	{ "yes",    false, OPT_YES,    "do not ask" },
	{ "force",  false, OPT_FORCE,  "undo even keys changed outside tcptune since" },
	{ "format", true,  CLI_OPT_FORMAT, "" },
	{ "debug-print-capeff", false, CLI_OPT_CAPEFF, NULL },	/* tests: the capabilities kept */
	{ NULL, false, 0, NULL },
};

/* The plan as JSON: [{"key", "now", "after", "change"}]. */
static json_t *plan_json(const struct txn_entry *t)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < t->n_keys; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:b}", "key", key_table[t->keys[i].key].name,
						     "now", t->keys[i].old_value, "after", t->keys[i].new_value,
						     "change", strcmp(t->keys[i].old_value, t->keys[i].new_value) != 0));
	return arr;
}

static void file_line(const struct txn_entry *t, char *buf, size_t len)
{
	if (t->file_existed)
		snprintf(buf, len, "Managed file %s/%s: back to its content before %s", guard_paths.sysctl_dir,
			 guard_paths.managed_name, t->id);
	else
		snprintf(buf, len, "Managed file %s/%s: removed (%s created it)", guard_paths.sysctl_dir,
			 guard_paths.managed_name, t->id);
}

int cmd_rollback(const struct cli_args *a)
{
	const char *id = a->n_pos ? a->pos[0] : NULL;
	struct txn_error err = { .restored = false };
	struct txn_entry target;
	bool yes = false, force = false, json = cli_format_is(a, "json");
	char question[256], new_id[16] = "", undone[16] = "", title[320], fline[300];
	int r, code = EXIT_FAILED;

	for (size_t i = 0; i < a->n_opts; i++) {
		if (a->opts[i].id == OPT_YES)
			yes = true;
		else if (a->opts[i].id == OPT_FORCE)
			force = true;
	}
	/* A watch cut off by a crash is undone first, like a pending entry. */
	if (!a->dry_run && cmd_resolve_watch(undone, new_id) > 0 && !id) {
		/* That entry was the newest applied one: the one to undo. */
		if (json)
			json_print(json_pack("{s:b, s:s, s:s, s:s}", "changed", 1, "entry", new_id, "target", undone,
					     "note", "the entry's --watch was cut off; it is undone like an unfinished "
					     "transaction"), stdout);
		else
			printf("The interrupted watch's entry %s is undone (entry %s); nothing more to do.\n", undone,
			       new_id);
		return EXIT_OK;
	}
	/* The same choice and key plan txn_rollback() makes, shown before asking. */
	memset(&target, 0, sizeof(target));
	r = txn_rollback_plan(&guard_paths, id, force, &target, &err);
	if (r == -EPERM)
		return guard_explain_store(r, "rollback", guard_paths.store), EXIT_FAILED;
	if (r < 0)
		return log_errx(EXIT_FAILED, "rollback: %s%s", err.what,
				r == -ENOENT && !id ? "" : r == -EEXIST ? " (nothing changed)" : " (nothing changed; see tcptune history)");
	snprintf(question, sizeof(question), "Undo transaction %s (%s %s, %s, %zu keys)?", target.id, target.action,
		 target.profile, target.time, target.n_keys);
	snprintf(title, sizeof(title), "Rolling back %s: %s %s at %s by %s, status %s", target.id, target.action,
		 target.profile, target.time, target.user, target.status);
	file_line(&target, fline, sizeof(fline));
	if (!json) {
		report_change_list_text(title, target.keys, target.n_keys, fline, stdout);
		if (err.note[0])
			printf("Note: %s\n", err.note);
	}
	if (a->dry_run) {
		if (json)
			json_print(json_pack("{s:b, s:b, s:s, s:o, s:{s:s, s:s}, s:s?}", "changed", 0, "dry_run", 1,
					     "target", target.id, "plan", plan_json(&target), "file", "path",
					     TXN_DEFAULT_MANAGED_FILE, "after", target.file_existed ? "restored" : "removed",
					     "note", err.note[0] ? err.note : NULL), stdout);
		else
			printf("\nDry run: nothing changed.\n");
		code = EXIT_OK;
		goto out;
	}
	if (guard_confirm("rollback", question, yes) < 0)
		goto out;
	r = txn_rollback(&guard_paths, target.id, force, cli_login_name(), getuid(), new_id, &err);
	if (r < 0) {
		char state[512];

		if (r == -EEXIST && !err.status[0]) {	/* refused before anything was recorded */
			log_errx(0, "rollback of %s refused: %s; nothing changed", target.id, err.what);
			goto out;
		}
		guard_state_after_failure(&err, state, sizeof(state));
		log_errx(0, "rollback of %s failed: %s; %s", target.id, err.what, state);
		goto out;
	}
	if (json)
		json_print(json_pack("{s:b, s:s, s:s, s:o, s:{s:s, s:s}, s:s?}", "changed", 1, "entry", new_id, "target",
				     target.id, "plan", plan_json(&target), "file", "path", TXN_DEFAULT_MANAGED_FILE,
				     "after", target.file_existed ? "restored" : "removed",
				     "note", err.note[0] ? err.note : NULL), stdout);
	else if (err.note[0])
		printf("\nRolled back %s (entry %s): runtime values and %s/%s are as before it, except: %s\n", target.id,
		       new_id, guard_paths.sysctl_dir, guard_paths.managed_name, err.note);
	else
		printf("\nRolled back %s (entry %s): runtime values and %s/%s are as before it.\n", target.id, new_id,
		       guard_paths.sysctl_dir, guard_paths.managed_name);
	code = EXIT_OK;
out:
	free(target.keys);
	return code;
}
