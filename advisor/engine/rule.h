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

/* The two worlds a finding can be about (docs/ARCHITECTURE.md §7): now (the
 * running values in /proc/sys) and after the next boot (the values the
 * sysctl.d files and /etc/sysctl.conf set).  Bits: a finding may be both. */
enum world { WORLD_NOW = 1, WORLD_BOOT = 2 };

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
	bool over_sysctl;	/* `when` reads sysctl.* facts: judged now and at boot */
	unsigned world;		/* the others: the world their facts describe ("world:" in
				 * the YAML, WORLD_NOW by default) */
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
	char *title;			/* interpolated, in the first world it holds in */
	bool ignored;			/* --ignore or tcptune.yaml */
	struct finding_evidence evidence[8];	/* the facts `when` read, in the title's world */
	size_t n_evidence;
	unsigned world;			/* WORLD_NOW and/or WORLD_BOOT */
	/* Boot world only: which program's order makes it hold (systemd-sysctl,
	 * procps `sysctl --system`), and the file:line of each line that sets
	 * a key `when` reads ("/etc/sysctl.d/10-net.conf:3, ..."); the procps
	 * list only where its lines differ from systemd's. */
	bool boot_systemd, boot_procps;
	char boot_source[256];
	char boot_source_procps[256];
	/* Both worlds with different values: the boot world's evidence. */
	struct finding_evidence boot_evidence[8];
	size_t n_boot_evidence;
};

/* "now", "boot" or "now+boot". */
const char *finding_world_name(const struct finding *f);

/* One line for a person: "Now and after the next reboot (set by
 * /etc/sysctl.d/10-net.conf:3)." into buf; empty for a finding about now
 * from a rule that does not read sysctl values (counters, sockets), which
 * has no other world.  Returns buf. */
const char *finding_world_text(const struct finding *f, char *buf, size_t len);

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
