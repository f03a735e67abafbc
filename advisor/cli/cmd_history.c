/* `tcptune history`: the backup store's entries, oldest first. */
#include "cmd.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "keys.h"
#include "guard.h"
#include "log.h"
#include "txn.h"

const struct cli_opt cmd_history_opts[] = {
	{ "format", true, CLI_OPT_FORMAT, "" },
	{ NULL, false, 0, NULL },
};

static int print_json(const struct txn_entry *v, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *keys = json_array();

		for (size_t k = 0; k < v[i].n_keys; k++)
			json_array_append_new(keys, json_pack("{s:s, s:o, s:s}", "key", key_table[v[i].keys[k].key].name,
							      "old", v[i].keys[k].had_old ?
							      json_string_safe(v[i].keys[k].old_value) : json_null(),
							      "new", v[i].keys[k].new_value));
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", v[i].id,
						     "time", v[i].time, "user", v[i].user, "action", v[i].action,
						     "profile", v[i].profile, "status", v[i].status, "keys", keys,
						     "target", v[i].target[0] ? json_string(v[i].target) : json_null(),
						     "error", v[i].error[0] ? json_string_safe(v[i].error) : json_null()));
	}
	return json_print(arr, stdout);
}

int cmd_history(const struct cli_args *a)
{
	struct txn_entry *v = NULL;
	bool json = cli_format_is(a, "json");
	size_t n = 0;
	int r;

	r = txn_history(&guard_paths, &v, &n);
	if (r < 0)
		return guard_explain_store(r, "history", guard_paths.store), EXIT_FAILED;
	if (json)
		r = print_json(v, n);
	else if (n == 0)
		printf("No transactions in %s.\n", guard_paths.store);
	else {
		printf("%-5s %-20s %-10s %-8s %-15s %-11s %s\n", "id", "time (UTC)", "user", "action", "profile",
		       "status", "keys");
		for (size_t i = 0; i < n; i++) {
			printf("%-5s %-20s %-10s %-8s %-15s %-11s ", v[i].id, v[i].time, v[i].user, v[i].action,
			       v[i].action[0] == 'r' && v[i].target[0] ? v[i].target : v[i].profile, v[i].status);
			/* Only what changed; --format json lists every key. */
			size_t shown = 0;
			for (size_t k = 0; k < v[i].n_keys; k++) {
				const struct txn_entry_key *ek = &v[i].keys[k];
				if (ek->had_old && strcmp(ek->old_value, ek->new_value) == 0)
					continue;
				printf("%s%s %s -> %s", shown++ ? ", " : "", key_table[ek->key].name,
				       ek->had_old ? ek->old_value : "(absent)", ek->new_value);
			}
			printf("%s\n", shown ? "" : "(no value changed)");
			/* What it could not restore, what recovery kept, why it failed. */
			if (v[i].error[0])
				printf("      %s\n", v[i].error);
		}
	}
	txn_entries_free(v, n);
	return r < 0 ? 1 : EXIT_OK;
}
