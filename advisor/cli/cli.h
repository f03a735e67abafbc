/* The command line: the verb table (the only list of commands), global
 * options, option helpers, exit codes. */
#ifndef TCPTUNE_ADVISOR_CLI_H
#define TCPTUNE_ADVISOR_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* Exit codes; for `check` they follow the monitoring-plugin convention. */
enum exit_code {
	EXIT_OK = 0,
	EXIT_WARNING = 1,
	EXIT_CRITICAL = 2,
	EXIT_UNKNOWN = 3,	/* could not check: bad usage, unreadable input */
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
	const char *root;	/* --root, default "/" */
	const char *data;	/* --data */
	const char *color;	/* --color */
	const char *netns;	/* --netns NAME|PATH */
	bool use_color;		/* decided from --color, NO_COLOR and the terminal */
	int verbosity;		/* -q 0, default 1, -v 2 */
};

/* What a handler gets: the verb's parsed options in order, and positionals. */
struct cli_args {
	const struct cli_globals *g;
	struct { int id; const char *value; } opts[32];
	size_t n_opts;
	const char *pos[8];
	size_t n_pos;
};

struct verb {
	const char *name;
	int (*handler)(const struct cli_args *a);
	size_t min_args, max_args;
	const struct cli_opt *opts;	/* terminated by a NULL name */
	const char *args_help;
	const char *help;
	bool netns_ok;			/* may run with --netns */
	bool own_caps;			/* drops capabilities itself; otherwise
					 * cli_run() keeps only caps_keep_reading() */
};

/* Parse argv and run the verb.  Returns the process exit code. */
int cli_run(int argc, char **argv);

#endif
