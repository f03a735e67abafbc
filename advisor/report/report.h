/* Report formats for `check`: one function per format, all reading the same
 * snapshot.  Findings and the recommendation arrive with the rule engine. */
#ifndef TCPTUNE_ADVISOR_REPORT_H
#define TCPTUNE_ADVISOR_REPORT_H

#include <stdio.h>

#include "netns_scan.h"
#include "recommend.h"
#include "rule.h"
#include "sample.h"
#include "snapshot.h"

/* Everything a report shows. */
struct report_ctx {
	const struct snapshot *s;
	const struct rule_set *rules;		/* NULL when rules could not be loaded */
	const struct findings *findings;	/* NULL likewise */
	const struct recommendation *rec;	/* NULL when profiles could not be loaded */
	double started;				/* Unix time the check started, seconds */
	double duration;			/* seconds */
	int status;				/* the exit code: 0 ok, 1 warning, 2 critical, 3 unknown */
	bool color;				/* text: ANSI colours (--color, NO_COLOR, a terminal) */
	const struct netns_scan *netns;		/* --all-netns: every namespace, else NULL */
	/* text only: */
	size_t width;				/* wrap prose here; 0: never wrap (--wide) */
	int verbosity;				/* 0 -q: status and findings; 1; 2 -v: everything */
	const struct sampler *sampler;		/* --samples: first values for exact rates, or NULL */
};

/* The width a text report wraps at: the terminal's when out is one (80 when
 * it cannot be told), else 80, the width a mail or a ticket shows. */
size_t report_text_width(FILE *out);

/* Print first, then text word by word, wrapped at width columns (0: never);
 * the following lines start with cont.  ANSI colour sequences take no
 * column; a word longer than a line is broken, never dropped. */
void report_wrap(FILE *out, size_t width, const char *first, const char *cont, const char *text);

struct report_format {
	const char *name;
	int (*write)(const struct report_ctx *ctx, FILE *out);
};

extern const struct report_format report_formats[];
extern const size_t report_format_count;

/* The format called name, or NULL. */
const struct report_format *report_format_find(const char *name);

int report_text(const struct report_ctx *ctx, FILE *out);
int report_json(const struct report_ctx *ctx, FILE *out);
int report_prometheus(const struct report_ctx *ctx, FILE *out);

/* "ok", "warning", "critical", "unknown" for an exit status. */
const char *report_status_name(int status);

/* Shared by the text and JSON reports: the value a boot assignment sets, the
 * display name of an order. */
const char *report_order_name(enum sysctld_order o);

#endif
