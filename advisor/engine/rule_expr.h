/* The `when` language of rules and profile `match` (docs/ARCHITECTURE.md §2): integers and
 * strings, facts by dotted name, + - * / %, comparisons, and/or/not,
 * parentheses, exists(fact), kernel_at_least("4.12").  Parsing checks fact
 * names against the fact registry and types statically, so an unknown fact
 * or a type error is a load error with line and column, never a silently
 * false rule.  A missing fact makes any comparison that uses it false;
 * division by zero and overflow are evaluation errors. */
#ifndef TCPTUNE_ADVISOR_RULE_EXPR_H
#define TCPTUNE_ADVISOR_RULE_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

struct rule_expr;

/* The values the evaluator sees: one per fact id (facts.h). */
struct expr_value {
	bool present;
	int64_t i;
	const char *s;
};

/* Look up fact id; must return NULL-safe data for every id < facts_count(). */
typedef const struct expr_value *(*expr_lookup_fn)(void *ctx, size_t fact_id);

/* Parse src.  line/col give where src starts in its file, so that errors
 * point into the YAML (d->file is left as the caller set it).  Returns 0,
 * -EINVAL (syntax, unknown fact, type error; d filled) or -ENOMEM. */
int rule_expr_parse(const char *src, unsigned line, unsigned col, struct rule_expr **ret, struct diag *d);

struct rule_expr *rule_expr_free(struct rule_expr *e);

/* Evaluate a condition.  Returns 1 (true), 0 (false), or a negative errno
 * (-EDOM division by zero, -ERANGE overflow) with a message in err. */
int rule_expr_eval(const struct rule_expr *e, expr_lookup_fn lookup, void *ctx, char *err, size_t errlen);

/* The distinct fact ids the expression reads, in first-use order, into
 * ids[max]; returns how many there are (may exceed max). */
size_t rule_expr_facts(const struct rule_expr *e, size_t *ids, size_t max);

#endif
