/* Rules: loading rules/NAME.yaml into a rule set (rule_load.c) and evaluating
 * them against a snapshot into findings (rule_eval.c).  YAML shape: docs/ARCHITECTURE.md §2. */
#ifndef TCPTUNE_ADVISOR_RULE_H
#define TCPTUNE_ADVISOR_RULE_H

#include <stdbool.h>
#include <stddef.h>

#include "datadir.h"
#include "diag.h"
#include "rule_expr.h"
#include "snapshot.h"

enum severity { SEV_INFO, SEV_WARNING, SEV_CRITICAL };

struct rule_sysctl {
	char *key;		/* a key of the key table */
	char *value;		/* as written; validated against the key's apply range */
};

struct rule {
	char *id;
	enum severity severity;
	char *when_src;
	struct rule_expr *when;
	char *title;		/* may hold {fact} or {fact|fallback} */
	char *explain;
	char *fix;
	struct rule_sysctl *sysctl;
	size_t n_sysctl;
	char *file;		/* where it was loaded from, for messages */
	unsigned line;
};

struct rule_set {
	struct rule *rules;
	size_t n;
};

/* Load every rules/NAME.yaml along the data search path (first directory that
 * has a file name wins, like sysctl.d).  Rule ids must be unique across
 * files.  Returns 0 or a negative errno with d naming file:line:column. */
int rule_set_load(struct rule_set *set, const struct datadir *dd, struct diag *d);

/* Load one file's rules into set (tests, fuzzing). */
int rule_set_load_buffer(struct rule_set *set, const char *buf, size_t len, const char *display, struct diag *d);

void rule_set_release(struct rule_set *set);

const struct rule *rule_set_find(const struct rule_set *set, const char *id);

const char *severity_name(enum severity s);

struct finding_evidence {
	const char *fact;	/* fact name */
	char *value;		/* "1234", "cwholder" (escaped), "missing"; malloc'd, whole */
};

struct finding {
	const struct rule *rule;
	char *title;			/* interpolated */
	bool ignored;			/* --ignore or tcptune.yaml */
	struct finding_evidence evidence[8];
	size_t n_evidence;
};

struct rule_error {
	const struct rule *rule;
	char *msg;			/* "division by zero" ... */
};

struct findings {
	struct finding *v;		/* rules that fired, in rule order */
	size_t n;
	struct rule_error *errors;
	size_t n_errors;
};

/* Evaluate every rule.  ignore lists rule ids silenced on purpose.  Returns
 * 0 or -ENOMEM. */
int rules_evaluate(const struct rule_set *set, const struct snapshot *s, char *const *ignore, size_t n_ignore,
		   struct findings *ret);
void findings_release(struct findings *f);

/* Worst severity among findings that are not ignored, or -1 for none. */
int findings_worst(const struct findings *f);

/* Interpolate {fact} / {fact|fallback} in text against s.  Returns a malloc'd
 * string or NULL on ENOMEM.  Missing facts show as "?".  With s NULL (no
 * snapshot) each placeholder is named: "{a|b}" becomes "<a or b>", "{a|}"
 * "<a, if any>". */
char *rule_interpolate(const char *text, const struct snapshot *s);

/* Check every {fact} in text names a known fact: 0 or -EINVAL with d (column
 * of the bad name relative to text start, added to col). */
int rule_check_interpolation(const char *text, unsigned line, unsigned col, struct diag *d);

#endif
