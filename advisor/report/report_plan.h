/* Printing a plan: diff, apply --dry-run and the apply prompt show the same. */
#ifndef TCPTUNE_ADVISOR_REPORT_PLAN_H
#define TCPTUNE_ADVISOR_REPORT_PLAN_H

#include <jansson.h>
#include <stdio.h>

#include "plan.h"
#include "snapshot.h"
#include "txn.h"

int report_plan_text(const struct plan *pl, const struct snapshot *s, FILE *out);

/* The plan as a JSON object (new reference), NULL on ENOMEM. */
json_t *report_plan_json(const struct plan *pl);

/* Keys going back, key / now / after, and a line on the managed file:
 * rollback's plan and apply default's. */
int report_change_list_text(const char *title, const struct txn_entry_key *keys, size_t n, const char *file_line,
			    FILE *out);

/* An apply --watch effect's figures (the "figures" array of effect.json:
 * fact, unit, before, after, change), one row each under a header; nothing
 * when it has none.  The one table `apply --watch` and `history show` print. */
void report_effect_figures(const json_t *eff, FILE *out);

#endif
