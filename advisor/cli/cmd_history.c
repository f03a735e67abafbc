/* `tcptune history [show ID]`: the backup store's entries, oldest first,
 * each with the effect apply --watch measured (effect.json, read back and
 * checked here: it is input from disk); `show ID` one entry in full. */
#include "cmd.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "keys.h"
#include "report_plan.h"
#include "guard.h"
#include "log.h"
#include "report.h"
#include "strutil.h"
#include "txn.h"

const struct cli_opt cmd_history_opts[] = {
	{ "format", true, CLI_OPT_FORMAT, "" },
	{ NULL, false, 0, NULL },
};

/* The entry's effect, checked member by member; NULL when it has none.  A
 * malformed one comes back as {"error": why}. */
static json_t *load_effect(const char *id)
{
	static const char *const strs[] = { "verdict", "why" };
	char *text = NULL, why[200] = "";
	json_error_t jerr;
	json_t *o, *figs, *f;
	size_t i;
	int r;

	r = txn_effect_load(&guard_paths, id, &text);
	if (r == -ENOENT)
		return NULL;
	if (r < 0)
		return json_pack("{s:s}", "error", strerror(-r));
	o = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!o)
		return json_pack("{s:s}", "error", "effect.json is not JSON");
	if (!json_is_object(o))
		snprintf(why, sizeof(why), "effect.json is not an object");
	for (i = 0; !why[0] && i < 2; i++)
		if (!json_is_string(json_object_get(o, strs[i])))
			snprintf(why, sizeof(why), "effect.json: \"%s\" is not a string", strs[i]);
	if (!why[0] && !json_is_integer(json_object_get(o, "watch_seconds")))
		snprintf(why, sizeof(why), "effect.json: \"watch_seconds\" is not a number");
	figs = json_object_get(o, "figures");
	if (!why[0] && !json_is_array(figs))
		snprintf(why, sizeof(why), "effect.json: \"figures\" is not an array");
	json_array_foreach(why[0] ? NULL : figs, i, f) {
		json_t *b = json_object_get(f, "before"), *a = json_object_get(f, "after");

		if (!json_is_string(json_object_get(f, "fact")) || !json_is_string(json_object_get(f, "unit")) ||
		    !json_is_string(json_object_get(f, "change")) || !(json_is_number(b) || json_is_null(b)) ||
		    !(json_is_number(a) || json_is_null(a))) {
			snprintf(why, sizeof(why), "effect.json: figures[%zu] is malformed", i);
			break;
		}
	}
	if (why[0]) {
		json_decref(o);
		return json_pack("{s:s}", "error", why);
	}
	return o;
}

static json_t *entry_json(const struct txn_entry *e)
{
	json_t *keys = json_array(), *effect = load_effect(e->id);

	for (size_t k = 0; k < e->n_keys; k++)
		json_array_append_new(keys, json_pack("{s:s, s:o, s:s}", "key", key_table[e->keys[k].key].name,
						      "old", e->keys[k].had_old ?
						      json_string_safe(e->keys[k].old_value) : json_null(),
						      "new", e->keys[k].new_value));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", e->id, "time", e->time, "user",
			 e->user, "action", e->action, "profile", e->profile, "status", e->status, "keys", keys,
			 "target", e->target[0] ? json_string(e->target) : json_null(),
			 "error", e->error[0] ? json_string_safe(e->error) : json_null(),
			 "effect", effect ? effect : json_null());
}

/* "effect (--watch 30 s): VERDICT: WHY", wrapped at 80 columns. */
static void effect_line(json_t *eff, const char *indent)
{
	char b1[32], b2[600], text[700], cont[16];

	if (json_object_get(eff, "error"))
		snprintf(text, sizeof(text), "effect: unreadable (%s)",
			 str_escape(json_string_value(json_object_get(eff, "error")), b2, sizeof(b2)));
	else
		snprintf(text, sizeof(text), "effect (--watch %lld s): %s: %s",
			 (long long) json_integer_value(json_object_get(eff, "watch_seconds")),
			 str_escape(json_string_value(json_object_get(eff, "verdict")), b1, sizeof(b1)),
			 str_escape(json_string_value(json_object_get(eff, "why")), b2, sizeof(b2)));
	snprintf(cont, sizeof(cont), "%s  ", indent);
	report_wrap(stdout, report_text_width(stdout), indent, cont, text);
}

static void keys_text(const struct txn_entry *e, bool all, const char *sep)
{
	size_t shown = 0;

	for (size_t k = 0; k < e->n_keys; k++) {
		const struct txn_entry_key *ek = &e->keys[k];

		if (!all && ek->had_old && strcmp(ek->old_value, ek->new_value) == 0)
			continue;
		printf("%s%s %s -> %s", shown++ ? sep : "", key_table[ek->key].name,
		       ek->had_old ? key_value_shown(ek->old_value) : "(absent)", key_value_shown(ek->new_value));
	}
	printf("%s\n", shown ? "" : "(no value changed)");
}

static int show_one(const struct txn_entry *v, size_t n, const char *id, bool json)
{
	const struct txn_entry *e = NULL;
	json_t *eff;

	for (size_t i = 0; i < n; i++)
		if (strtoul(v[i].id, NULL, 10) == strtoul(id, NULL, 10) && strspn(id, "0123456789") == strlen(id))
			e = &v[i];
	if (!e)
		return log_errx(EXIT_FAILED, "history show: no transaction '%s' in %s", id, guard_paths.store);
	if (json)
		return json_print(entry_json(e), stdout) < 0 ? EXIT_FAILED : EXIT_OK;
	printf("Transaction %s: %s %s at %s by %s, status %s\n", e->id, e->action,
	       e->action[0] == 'r' && e->target[0] ? e->target : e->profile, e->time, e->user, e->status);
	printf("Keys (before -> set):\n  ");
	keys_text(e, true, "\n  ");
	if (e->error[0])
		printf("Note: %s\n", e->error);
	eff = load_effect(e->id);
	if (eff) {
		effect_line(eff, "");
		report_effect_figures(eff, stdout);
		json_decref(eff);
	} else
		printf("Effect: not measured (apply --watch DURATION measures it)\n");
	return EXIT_OK;
}

int cmd_history(const struct cli_args *a)
{
	struct txn_entry *v = NULL;
	bool json = cli_format_is(a, "json");
	size_t n = 0;
	int r, code = EXIT_OK;

	if (a->n_pos && (strcmp(a->pos[0], "show") != 0 || a->n_pos != 2))
		return log_errx(EXIT_UNKNOWN, "history takes no argument, or 'show ID'");
	r = txn_history(&guard_paths, &v, &n);
	if (r < 0)
		return guard_explain_store(r, "history", guard_paths.store), EXIT_FAILED;
	if (a->n_pos)
		code = show_one(v, n, a->pos[1], json);
	else if (json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, entry_json(&v[i]));
		code = json_print(arr, stdout) < 0 ? EXIT_FAILED : EXIT_OK;
	} else if (n == 0)
		printf("No transactions in %s.\n", guard_paths.store);
	else {
		printf("%-5s %-20s %-10s %-8s %-15s %-11s %s\n", "id", "time (UTC)", "user", "action", "profile",
		       "status", "keys");
		for (size_t i = 0; i < n; i++) {
			json_t *eff;

			printf("%-5s %-20s %-10s %-8s %-15s %-11s ", v[i].id, v[i].time, v[i].user, v[i].action,
			       v[i].action[0] == 'r' && v[i].target[0] ? v[i].target : v[i].profile, v[i].status);
			/* Only what changed; --format json and show list every key. */
			keys_text(&v[i], false, ", ");
			/* What it could not restore, what recovery kept, why it failed. */
			if (v[i].error[0])
				printf("      %s\n", v[i].error);
			eff = load_effect(v[i].id);
			if (eff)
				effect_line(eff, "      ");
			json_decref(eff);
		}
	}
	txn_entries_free(v, n);
	return code;
}
