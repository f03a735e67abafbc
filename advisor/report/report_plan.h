/* Printing a plan: diff, apply --dry-run and the apply prompt show the same. */
#ifndef TCPTUNE_ADVISOR_REPORT_PLAN_H
#define TCPTUNE_ADVISOR_REPORT_PLAN_H

#include <jansson.h>
#include <stdio.h>

#include "plan.h"
#include "snapshot.h"

int report_plan_text(const struct plan *pl, const struct snapshot *s, FILE *out);

/* The plan as a JSON object (new reference), NULL on ENOMEM. */
json_t *report_plan_json(const struct plan *pl);

#endif
