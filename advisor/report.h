/* Report formats for `check`: one function per format, all reading the same
 * snapshot.  Findings and the recommendation arrive with the rule engine. */
#ifndef TCPTUNE_ADVISOR_REPORT_H
#define TCPTUNE_ADVISOR_REPORT_H

#include <stdio.h>

#include "snapshot.h"

struct report_format {
	const char *name;
	int (*write)(const struct snapshot *s, FILE *out);
};

extern const struct report_format report_formats[];
extern const size_t report_format_count;

/* The format called name, or NULL. */
const struct report_format *report_format_find(const char *name);

int report_text(const struct snapshot *s, FILE *out);
int report_json(const struct snapshot *s, FILE *out);

/* Shared by the text and JSON reports: the value a boot assignment sets, the
 * display name of an order. */
const char *report_order_name(enum sysctld_order o);

#endif
