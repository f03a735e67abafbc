/* Verb handlers (cmd_<verb>.c) and their option tables. */
#ifndef TCPTUNE_ADVISOR_CMD_H
#define TCPTUNE_ADVISOR_CMD_H

#include "cli.h"
#include "plan.h"
#include "profile.h"
#include "rule.h"
#include "snapshot.h"

/* Load the profiles along the data search path; logs and returns -EINVAL on
 * a bad profile. */
int cmd_load_profiles(const struct cli_args *a, struct profile_set *set);

/* The profile called name, or NULL after logging the known names. */
const struct profile *cmd_find_profile(const struct profile_set *set, const char *name);

/* diff's plan, which apply and apply --dry-run share: the profiles, a
 * configuration snapshot of the target and the plan for one profile. */
struct cmd_plan {
	struct profile_set set;
	struct snapshot s;
	struct plan plan;
	bool have_set, have_snapshot, have_plan;
};
/* Build it; logs and returns a negative errno on failure.  Release it
 * with cmd_plan_release() either way. */
int cmd_plan_make(const struct cli_args *a, const char *name, struct cmd_plan *p);
void cmd_plan_release(struct cmd_plan *p);
/* diff and apply --dry-run: the plan of a->pos[0] in a->format. */
int cmd_plan_show(const struct cli_args *a);

int cmd_check(const struct cli_args *a);
extern const struct cli_opt cmd_check_opts[];

int cmd_explain(const struct cli_args *a);
extern const struct cli_opt cmd_explain_opts[];

int cmd_history(const struct cli_args *a);
extern const struct cli_opt cmd_history_opts[];

int cmd_rollback(const struct cli_args *a);
extern const struct cli_opt cmd_rollback_opts[];

int cmd_apply(const struct cli_args *a);
extern const struct cli_opt cmd_apply_opts[];
/* With the store lock held: undo an apply whose --watch was cut off by a
 * crash (its effect still "watching"), as recovery undoes a pending entry,
 * and record why.  Returns how many it undid; the last one undone and its
 * rollback entry in last_target and last_entry when not NULL. */
int cmd_resolve_watch(char last_target[16], char last_entry[16]);

int cmd_diff(const struct cli_args *a);
extern const struct cli_opt cmd_diff_opts[];

int cmd_profiles(const struct cli_args *a);
extern const struct cli_opt cmd_profiles_opts[];

int cmd_show(const struct cli_args *a);
extern const struct cli_opt cmd_show_opts[];

int cmd_recommend(const struct cli_args *a);
extern const struct cli_opt cmd_recommend_opts[];

int cmd_list(const struct cli_args *a);
extern const struct cli_opt cmd_list_opts[];

int cmd_rules(const struct cli_args *a);
extern const struct cli_opt cmd_rules_opts[];

int cmd_watch(const struct cli_args *a);
extern const struct cli_opt cmd_watch_opts[];

int cmd_keys(const struct cli_args *a);
extern const struct cli_opt cmd_keys_opts[];

/* Load the rules along the data search path; logs and returns -EINVAL on a
 * bad rule file. */
int cmd_load_rules(const struct cli_args *a, struct rule_set *rules);

/* The verbs' names, for `tcptune list verbs`. */
void cli_print_verbs(void);

#endif
