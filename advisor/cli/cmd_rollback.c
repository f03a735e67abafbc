/* `tcptune rollback [ID]`: undo the last (or the given) applied transaction,
 * as a transaction of its own (backup/txn.h).  cli_run() has checked
 * privileges, dropped all but CAP_NET_ADMIN and taken the store lock, with
 * recovery, before this runs (VERB_CHANGES). */
#include "cmd.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"
#include "jsonutil.h"
#include "keys.h"
#include "log.h"
#include "txn.h"

enum { OPT_YES = 1, OPT_FORCE };

const struct cli_opt cmd_rollback_opts[] = {
	{ "yes",    false, OPT_YES,    "do not ask" },
	{ "force",  false, OPT_FORCE,  "undo even keys changed outside tcptune since" },
	{ "format", true,  CLI_OPT_FORMAT, "" },
	{ "debug-print-capeff", false, CLI_OPT_CAPEFF, NULL },	/* tests: the capabilities kept */
	{ NULL, false, 0, NULL },
};

int cmd_rollback(const struct cli_args *a)
{
	const char *id = a->n_pos ? a->pos[0] : NULL;
	struct txn_error err = { .restored = false };
	struct txn_entry target;
	bool yes = false, force = false, json = cli_format_is(a, "json");
	char question[256], new_id[16] = "";
	int r;

	for (size_t i = 0; i < a->n_opts; i++) {
		if (a->opts[i].id == OPT_YES)
			yes = true;
		else if (a->opts[i].id == OPT_FORCE)
			force = true;
	}
	/* The same choice txn_rollback() makes, shown before asking. */
	r = txn_rollback_target(&guard_paths, id, force, &target, &err);
	if (r == -EPERM)
		return guard_explain_store(r, "rollback", guard_paths.store), EXIT_FAILED;
	if (r < 0)
		return log_errx(EXIT_FAILED, "rollback: %s%s", err.what,
				r == -ENOENT && !id ? "" : r == -EEXIST ? " (nothing changed)" : " (nothing changed; see tcptune history)");
	snprintf(question, sizeof(question), "Undo transaction %s (%s %s, %s, %zu keys)?", target.id, target.action,
		 target.profile, target.time, target.n_keys);
	if (!json)
		printf("Rolling back %s: %s %s at %s by %s, status %s\n", target.id, target.action, target.profile,
		       target.time, target.user, target.status);
	if (guard_confirm("rollback", question, yes) < 0)
		return EXIT_FAILED;
	r = txn_rollback(&guard_paths, target.id, force, cli_login_name(), getuid(), new_id, &err);
	if (r < 0) {
		char state[512];

		if (r == -EEXIST && !err.status[0])	/* refused before anything was recorded */
			return log_errx(EXIT_FAILED, "rollback of %s refused: %s; nothing changed", target.id, err.what);
		guard_state_after_failure(&err, state, sizeof(state));
		return log_errx(EXIT_FAILED, "rollback of %s failed: %s; %s", target.id, err.what, state);
	}
	if (json)
		json_print(json_pack("{s:b, s:s, s:s, s:s?}", "changed", 1, "entry", new_id, "target", target.id,
				     "note", err.note[0] ? err.note : NULL), stdout);
	else if (err.note[0])
		printf("Rolled back %s (entry %s): runtime values and %s/%s are as before it, except: %s\n", target.id,
		       new_id, guard_paths.sysctl_dir, guard_paths.managed_name, err.note);
	else
		printf("Rolled back %s (entry %s): runtime values and %s/%s are as before it.\n", target.id, new_id,
		       guard_paths.sysctl_dir, guard_paths.managed_name);
	return EXIT_OK;
}
