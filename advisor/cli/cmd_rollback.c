/* `tcptune rollback [ID]`: undo the last (or the given) applied transaction,
 * as a transaction of its own (SPEC §7, §8). */
#include "cmd.h"

#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"
#include "keys.h"
#include "log.h"
#include "txn.h"

enum { OPT_YES = 1, OPT_FORCE, OPT_FORMAT, OPT_CAPEFF };

const struct cli_opt cmd_rollback_opts[] = {
	{ "yes",    false, OPT_YES,    "do not ask" },
	{ "force",  false, OPT_FORCE,  "undo even keys changed outside tcptune since" },
	{ "format", true,  OPT_FORMAT, "text|json" },
	{ "debug-print-capeff", false, OPT_CAPEFF, NULL },	/* tests: the capabilities kept */
	{ NULL, false, 0, NULL },
};

static const char *login_name(void)
{
	struct passwd *pw = getpwuid(getuid());

	return pw ? pw->pw_name : "?";
}

int cmd_rollback(const struct cli_args *a)
{
	const char *id = a->n_pos ? a->pos[0] : NULL;
	struct txn_error err = { .restored = false };
	struct txn_entry target;
	bool yes = false, force = false, json = false, capeff = false;
	char question[256], new_id[16] = "";
	int lockfd = -1, r, code = EXIT_OK;

	for (size_t i = 0; i < a->n_opts; i++) {
		if (a->opts[i].id == OPT_YES)
			yes = true;
		else if (a->opts[i].id == OPT_FORCE)
			force = true;
		else if (a->opts[i].id == OPT_CAPEFF)
			capeff = true;
		else if (a->opts[i].id == OPT_FORMAT) {
			json = strcmp(a->opts[i].value, "json") == 0;
			if (!json && strcmp(a->opts[i].value, "text") != 0)
				return log_errx(EXIT_UNKNOWN, "unknown format '%s': use text or json", a->opts[i].value);
		}
	}
	if (strcmp(a->g->root, "/") != 0)
		return log_errx(EXIT_UNKNOWN, "rollback changes the live system; --root is only for audits");
	if (guard_privileges("rollback") < 0 || guard_drop_privileges("rollback", capeff) < 0)
		return 1;
	if (guard_lock("rollback", &lockfd) < 0)
		return 1;
	/* The same choice txn_rollback() makes, shown before asking. */
	r = txn_rollback_target(&guard_paths, id, force, &target, &err);
	if (r < 0) {
		log_errx(0, "rollback: %s%s", err.what, r == -ENOENT && !id ? "" : " (see tcptune history)");
		code = 1;
		goto out;
	}
	snprintf(question, sizeof(question), "Undo transaction %s (%s %s, %s, %zu keys)?", target.id, target.action,
		 target.profile, target.time, target.n_keys);
	if (!json)
		printf("Rolling back %s: %s %s at %s by %s, status %s\n", target.id, target.action, target.profile,
		       target.time, target.user, target.status);
	if (guard_confirm("rollback", question, yes) < 0) {
		code = 1;
		goto out;
	}
	r = txn_rollback(&guard_paths, target.id, force, login_name(), getuid(), new_id, &err);
	if (r < 0) {
		log_errx(0, "rollback of %s failed: %s; %s", target.id, err.what,
			 err.restored ? "the machine is as it was" : "the machine may be partly changed: see tcptune history");
		code = 1;
		goto out;
	}
	if (json) {
		json_t *o = json_pack("{s:b, s:s, s:s}", "changed", 1, "entry", new_id, "target", target.id);
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	} else
		printf("Rolled back %s (entry %s): runtime values and %s/%s are as before it.\n", target.id, new_id,
		       guard_paths.sysctl_dir, guard_paths.managed_name);
out:
	if (lockfd >= 0)
		txn_unlock(lockfd);
	return code;
}
