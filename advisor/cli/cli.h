/* The command line: the verb table (the only list of commands), global
 * options, option helpers, exit codes. */
#ifndef TCPTUNE_ADVISOR_CLI_H
#define TCPTUNE_ADVISOR_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "snapshot.h"

/* Exit codes; for `check` they follow the monitoring-plugin convention. */
enum exit_code {
	EXIT_OK = 0,
	EXIT_WARNING = 1,
	EXIT_CRITICAL = 2,
	EXIT_UNKNOWN = 3,	/* could not check: bad usage, unreadable input */
	EXIT_FAILED = 1,	/* apply, rollback, history: refused or failed (the message says in what state) */
	EXIT_BOOT_OVERRIDE = 4,	/* apply: refused, a key would lose at boot to another file
				 * (--allow-boot-override accepts); nothing changed */
	EXIT_ROLLED_BACK = 5,	/* apply --watch: the change made things worse and was rolled back */
};

/* Option ids that verbs list in their own tables and cli_run() handles,
 * once for all verbs: the value of --format is checked against the verb's
 * formats; --dry-run makes a changing verb read-only; the hidden
 * --debug-print-capeff asks the verb to log the capabilities it kept. */
enum {
	CLI_OPT_FORMAT = 900,
	CLI_OPT_DRY_RUN,
	CLI_OPT_CAPEFF,
};

/* A verb's own option. */
struct cli_opt {
	const char *name;	/* long name without "--" */
	bool has_arg;
	int id;
	const char *help;	/* NULL: hidden */
};

/* Global options, parsed before the verb runs. */
struct cli_globals {
	struct snap_target target;	/* --root (default "/") and --netns, for every snapshot */
	const char *netns_arg;	/* --netns NAME|PATH as given */
	const char *data;	/* --data */
	const char *color;	/* --color */
	bool use_color;		/* decided from --color, NO_COLOR and the terminal */
	int verbosity;		/* -q 0, default 1, -v 2 */
};

/* What a handler gets: the verb's own options in order (not the CLI_OPT_*
 * ones), positionals, and what cli_run() decided for it. */
struct cli_args {
	const struct cli_globals *g;
	struct { int id; const char *value; } opts[32];
	size_t n_opts;
	const char *pos[8];
	size_t n_pos;
	const char *format;	/* --format, checked; the verb's first format by default */
	bool dry_run;		/* --dry-run */
	bool print_capeff;	/* --debug-print-capeff */
	int lockfd;		/* VERB_CHANGES: the store lock, held (recovery done); else -1 */
};

/* What a verb is, checked once by cli_run() before its handler runs. */
enum verb_flags {
	VERB_NETNS_OK = 1 << 0,	/* may run with --netns */
	VERB_OWN_CAPS = 1 << 1,	/* drops capabilities itself; otherwise a read-only
				 * verb keeps only caps_keep_reading() */
	VERB_CHANGES = 1 << 2,	/* changes the live system (unless --dry-run): refuses
				 * --root, needs CAP_NET_ADMIN and keeps only it, runs
				 * holding the store lock after recovery */
};

struct verb {
	const char *name;
	int (*handler)(const struct cli_args *a);
	size_t min_args, max_args;
	const struct cli_opt *opts;	/* terminated by a NULL name */
	const char *args_help;
	const char *help;		/* NULL: not in --help (list) */
	const char *formats;		/* "text|json": --format values, the first the default */
	unsigned flags;			/* enum verb_flags */
};

/* Parse argv and run the verb.  Returns the process exit code. */
int cli_run(int argc, char **argv);

/* The login name of the real uid, for the history ("?" when unknown). */
const char *cli_login_name(void);

/* Edit distance between a and b (Levenshtein), for "did you mean"; a
 * large number when either is longer than 63 characters. */
size_t cli_distance(const char *a, const char *b);

/* Is --format the given one? */
bool cli_format_is(const struct cli_args *a, const char *name);

#endif
