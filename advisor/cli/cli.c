/* Verb table, global options and usage text.  Global options may appear
 * before or after the verb; a verb's own options only after it. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps.h"
#include "cmd.h"
#include "guard.h"
#include "keys.h"
#include "log.h"
#include "netns.h"
#include "snapshot.h"
#include "txn.h"
#include "userdb.h"

enum { G_HELP = 1000, G_VERSION, G_ROOT, G_DATA, G_COLOR, G_QUIET, G_VERBOSE, G_NETNS };

static const struct cli_opt global_opts[] = {
	{ "help",    false, G_HELP,    "show this help" },
	{ "version", false, G_VERSION, "print the version" },
	{ "root",    true,  G_ROOT,    "read every file under DIR instead of / (offline audit)" },
	{ "data",    true,  G_DATA,    "look for rules/ and profiles/ in DIR first" },
	{ "netns",   true,  G_NETNS,   "audit network namespace NAME (ip netns) or PATH (/proc/PID/ns/net)" },
	{ "color",   true,  G_COLOR,   "auto|always|never (NO_COLOR is honoured)" },
	{ "quiet",   false, G_QUIET,   "only errors" },
	{ "verbose", false, G_VERBOSE, "explain what is read" },
	{ NULL, false, 0, NULL },
};

#define NETNS VERB_NETNS_OK
#define TJ "text|json"
static const struct verb verbs[] = {
	/* name     handler     min max options           args        help                                formats   flags */
	{ "check",   cmd_check,   0, 0, cmd_check_opts,   "",         "audit sysctls, sockets and boot configuration",
	  "text|json|prometheus", NETNS | VERB_OWN_CAPS },
	{ "explain", cmd_explain, 1, 1, cmd_explain_opts, "KEY|RULE", "what a sysctl or a rule means, with current values",
	  NULL, NETNS },
	{ "profiles", cmd_profiles, 0, 0, cmd_profiles_opts, "",      "list the profiles", NULL, 0 },
	{ "show",    cmd_show,    1, 1, cmd_show_opts,    "PROFILE",  "a profile fully resolved, with reasons", NULL, 0 },
	{ "recommend", cmd_recommend, 0, 0, cmd_recommend_opts, "",   "the profile that fits this machine, and why", TJ, NETNS },
	{ "diff",    cmd_diff,    1, 1, cmd_diff_opts,    "PROFILE",  "what applying a profile would change, now and at boot",
	  TJ, NETNS },
	{ "apply",   cmd_apply,   1, 1, cmd_apply_opts,   "PROFILE",  "apply a profile now and at boot, as one transaction",
	  TJ, VERB_CHANGES },
	{ "rollback", cmd_rollback, 0, 1, cmd_rollback_opts, "[ID]",  "undo the last (or the given) applied transaction",
	  TJ, VERB_CHANGES },
	{ "history", cmd_history, 0, 2, cmd_history_opts, "[show ID]", "the transactions in the backup store, with their effect", TJ, 0 },
	{ "watch",   cmd_watch,   0, 0, cmd_watch_opts,   "",         "a live full-screen view: states, rates, CLOSE_WAIT holders, findings",
	  NULL, NETNS },
	{ "rules",   cmd_rules,   0, 0, cmd_rules_opts,   "",         "every rule id, its severity and what it reports", NULL, 0 },
	{ "keys",    cmd_keys,    0, 0, cmd_keys_opts,    "",         "every tracked sysctl, with a one-line summary", NULL, 0 },
	/* For shell completion; not in --help. */
	{ "list",    cmd_list,    1, 1, cmd_list_opts,    "WHAT",     NULL, NULL, 0 },
};
#undef NETNS
#undef TJ
static const size_t n_verbs = sizeof(verbs) / sizeof(verbs[0]);

void cli_print_verbs(void)
{
	for (size_t i = 0; i < n_verbs; i++)
		if (verbs[i].help)
			printf("%s\n", verbs[i].name);
}

/* An option's help; --format's names the verb's formats first. */
static const char *opt_help(const struct verb *v, const struct cli_opt *o)
{
	static char buf[256];

	if (o->id != CLI_OPT_FORMAT || !v->formats)
		return o->help;
	snprintf(buf, sizeof(buf), "%s%s%s", v->formats, *o->help ? " " : "", o->help);
	return buf;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: tcptune [options] <command> [command options]\n\n"
		"TCP tuning advisor: audits TCP sysctls, socket states and boot configuration.\n\ncommands:\n");
	for (size_t i = 0; i < n_verbs; i++) {
		char head[64];

		if (!verbs[i].help)
			continue;
		snprintf(head, sizeof(head), "%s %s", verbs[i].name, verbs[i].args_help);
		fprintf(f, "  %-22s %s\n", head, verbs[i].help);
		for (const struct cli_opt *o = verbs[i].opts; o && o->name; o++)
			if (o->help)
				fprintf(f, "      --%-16s %s\n", o->name, opt_help(&verbs[i], o));
	}
	fprintf(f, "\noptions:\n");
	for (const struct cli_opt *o = global_opts; o->name; o++)
		fprintf(f, "  --%-8s%-12s %s\n", o->name, o->has_arg ? " ARG" : "", o->help);
	fprintf(f, "  -h, -q, -v are short for --help, --quiet, --verbose\n"
		"\ncheck exits 0 ok, 1 warning, 2 critical, 3 could not check.\n");
}

/* `tcptune VERB --help`: that verb's arguments and options. */
static void verb_usage(const struct verb *v, FILE *f)
{
	fprintf(f, "usage: tcptune [options] %s%s%s\n\n%s\n", v->name, v->args_help[0] ? " " : "", v->args_help,
		v->help ? v->help : "");
	if (v->opts && v->opts[0].name) {
		fprintf(f, "\n%s options:\n", v->name);
		for (const struct cli_opt *o = v->opts; o->name; o++)
			if (o->help)
				fprintf(f, "  --%-16s%-6s %s\n", o->name, o->has_arg ? " ARG" : "", opt_help(v, o));
	}
	fprintf(f, "\nGlobal options (tcptune --help): --root DIR, --data DIR, --color WHEN, -q, -v\n");
}

size_t cli_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(cur));
	}
	return prev[lb];
}

static const struct verb *find_verb(const char *name)
{
	const struct verb *best = NULL;
	size_t best_d = 3;

	for (size_t i = 0; i < n_verbs; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	for (size_t i = 0; i < n_verbs; i++) {
		size_t d = cli_distance(name, verbs[i].name);
		if (d < best_d) {
			best_d = d;
			best = &verbs[i];
		}
	}
	if (best)
		log_errx(0, "unknown command '%s', did you mean '%s'?", name, best->name);
	else
		log_errx(0, "unknown command '%s' (see tcptune --help)", name);
	return NULL;
}

static const struct cli_opt *match_opt(const struct cli_opt *table, const char *name, size_t len)
{
	for (const struct cli_opt *o = table; o && o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

/* The visible option nearest to name[0..len) (at most 2 edits): the global
 * ones and the verb's, or every verb's before the verb is known. */
static const char *nearest_opt(const struct verb *v, const char *name, size_t len)
{
	const char *best = NULL;
	size_t best_d = 3;
	char typed[64];

	if (len >= sizeof(typed))
		return NULL;
	snprintf(typed, sizeof(typed), "%.*s", (int) len, name);
	for (size_t i = 0; i <= n_verbs; i++) {
		const struct cli_opt *table = i == n_verbs ? global_opts : verbs[i].opts;

		if (i < n_verbs && v && v != &verbs[i])
			continue;
		for (const struct cli_opt *o = table; o && o->name; o++) {
			size_t d = o->help ? cli_distance(typed, o->name) : 99;

			if (d < best_d) {
				best_d = d;
				best = o->name;
			}
		}
	}
	return best;
}

/* --format: one of the verb's formats; the first by default. */
static int check_format(const struct verb *v, struct cli_args *a)
{
	const char *f = v->formats;
	size_t len;

	if (!f) {
		a->format = "text";
		return 0;
	}
	if (!a->format) {
		static char first[32];

		snprintf(first, sizeof(first), "%.*s", (int) strcspn(f, "|"), f);
		a->format = first;
		return 0;
	}
	len = strlen(a->format);
	for (const char *p = f; *p; p += strcspn(p, "|"), p += *p == '|')
		if (strcspn(p, "|") == len && strncmp(p, a->format, len) == 0)
			return 0;
	return log_errx(-EINVAL, "unknown format '%s' for %s: use %s", a->format, v->name, f);
}

int cli_run(int argc, char **argv)
{
	struct cli_globals g = { .target.root = "/", .verbosity = 1 };
	struct cli_args a = { .g = &g, .lockfd = -1 };
	struct snap_sysctl *host_keys = NULL;
	const struct verb *v = NULL;
	const char *no_color;
	bool help = false, only_pos = false;
	int code;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *value = NULL, *eq;
		const struct cli_opt *o;
		size_t len;

		if (only_pos || arg[0] != '-' || arg[1] == '\0') {
			if (!v) {
				v = find_verb(arg);
				if (!v)
					return EXIT_UNKNOWN;
			} else if (a.n_pos < sizeof(a.pos) / sizeof(a.pos[0]))
				a.pos[a.n_pos++] = arg;
			else
				return log_errx(EXIT_UNKNOWN, "too many arguments"), EXIT_UNKNOWN;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (arg[1] != '-') {
			/* short options: -h -q -v, not bundled */
			static const char *const shorts[] = { "h", "help", "q", "quiet", "v", "verbose" };
			name = NULL;
			for (size_t k = 0; k < 6; k += 2)
				if (strcmp(arg + 1, shorts[k]) == 0)
					name = shorts[k + 1];
			if (!name)
				return log_errx(EXIT_UNKNOWN, "unknown option '%s'", arg), EXIT_UNKNOWN;
			len = strlen(name);
		} else {
			name = arg + 2;
			eq = strchr(name, '=');
			len = eq ? (size_t) (eq - name) : strlen(name);
			if (eq)
				value = eq + 1;
		}
		o = match_opt(global_opts, name, len);
		if (!o && v)
			o = match_opt(v->opts, name, len);
		if (!o) {
			const char *near = nearest_opt(v, name, len);

			if (near && (strlen(near) != len || strncmp(near, name, len) != 0))
				return log_errx(EXIT_UNKNOWN, "unknown option '%s', did you mean '--%s'?%s", arg, near,
						v || match_opt(global_opts, near, strlen(near)) ? ""
						: " (command options go after the command)"), EXIT_UNKNOWN;
			return log_errx(EXIT_UNKNOWN, "unknown option '%s'%s", arg,
					v ? "" : " (command options go after the command)"), EXIT_UNKNOWN;
		}
		if (o->has_arg && !value) {
			if (i + 1 >= argc)
				return log_errx(EXIT_UNKNOWN, "option '--%s' needs a value", o->name), EXIT_UNKNOWN;
			value = argv[++i];
		} else if (!o->has_arg && value)
			return log_errx(EXIT_UNKNOWN, "option '--%s' takes no value", o->name), EXIT_UNKNOWN;

		switch (o->id) {
		case G_HELP:    help = true; break;
		case G_VERSION: printf("tcptune %s\n", TCPTUNE_VERSION); return EXIT_OK;
		case G_ROOT:    g.target.root = value; break;
		case G_DATA:    g.data = value; break;
		case G_NETNS:   g.netns_arg = value; break;
		case G_COLOR:
			/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): --color has_arg, so value is set */
			if (strcmp(value, "auto") != 0 && strcmp(value, "always") != 0 && strcmp(value, "never") != 0)
				return log_errx(EXIT_UNKNOWN, "invalid --color '%s': use auto, always or never",
						value), EXIT_UNKNOWN;
			g.color = value;
			break;
		case G_QUIET:   g.verbosity = 0; break;
		case G_VERBOSE: g.verbosity = 2; break;
		case CLI_OPT_FORMAT: a.format = value; break;
		case CLI_OPT_DRY_RUN: a.dry_run = true; break;
		case CLI_OPT_CAPEFF: a.print_capeff = true; break;
		default:
			if (a.n_opts == sizeof(a.opts) / sizeof(a.opts[0]))
				return log_errx(EXIT_UNKNOWN, "too many options"), EXIT_UNKNOWN;
			a.opts[a.n_opts].id = o->id;
			a.opts[a.n_opts].value = value;
			a.n_opts++;
		}
	}
	log_set_level((enum log_level) g.verbosity);
	/* https://no-color.org: NO_COLOR set and non-empty turns colour off
	 * unless asked for explicitly. */
	if (g.color && strcmp(g.color, "always") == 0)
		g.use_color = true;
	else if (!g.color || strcmp(g.color, "auto") == 0) {
		no_color = getenv("NO_COLOR");
		g.use_color = isatty(STDOUT_FILENO) && !(no_color && *no_color);
	}
	if (g.netns_arg && v && !(v->flags & VERB_NETNS_OK))
		return log_errx(EXIT_UNKNOWN, "'%s' works on this network namespace only; run it inside the other one "
				"(e.g. ip netns exec NAME tcptune %s)", v->name, v->name), EXIT_UNKNOWN;
	if (g.netns_arg && strcmp(g.target.root, "/") != 0)
		return log_errx(EXIT_UNKNOWN, "--netns and --root do not go together: --root audits files, "
				"--netns a live namespace"), EXIT_UNKNOWN;
	/* A --root that is not there is an error for every verb, never "/". */
	/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): "/" or --root's value, which has_arg sets */
	if (strcmp(g.target.root, "/") != 0) {
		struct stat st;

		if (stat(g.target.root, &st) < 0)
			return log_err(-errno, "--root '%s'", g.target.root), EXIT_UNKNOWN;
		if (!S_ISDIR(st.st_mode))
			return log_errx(EXIT_UNKNOWN, "--root '%s' is not a directory", g.target.root), EXIT_UNKNOWN;
	}
	if (help && v) {
		verb_usage(v, stdout);
		return EXIT_OK;
	}
	if (help || !v) {
		usage(help ? stdout : stderr);
		return help ? EXIT_OK : EXIT_UNKNOWN;
	}
	if (a.n_pos < v->min_args || a.n_pos > v->max_args)
		return log_errx(EXIT_UNKNOWN, "'%s' takes %s%s", v->name,
				v->max_args ? "the argument " : "no arguments", v->args_help), EXIT_UNKNOWN;
	if (check_format(v, &a) < 0)
		return EXIT_UNKNOWN;
	if (g.netns_arg) {
		static char path[4096];
		int r;

		/* Host-wide keys are absent inside a child namespace: read them here. */
		host_keys = netns_read_host_keys();
		if (!host_keys)
			return log_err(-ENOMEM, "cannot read the host's keys"), EXIT_UNKNOWN;
		r = netns_enter(g.netns_arg, path, sizeof(path));
		if (r < 0) {
			free(host_keys);
			return log_err(r, "cannot enter network namespace '%s'%s", g.netns_arg,
				       r == -EPERM ? " (needs CAP_SYS_ADMIN)"
				       : r == -EINVAL ? " (not a network namespace)" : ""), EXIT_UNKNOWN;
		}
		g.target.netns = path;
		g.target.host_keys = host_keys;
	}
	if ((v->flags & VERB_CHANGES) && !a.dry_run) {
		if (strcmp(g.target.root, "/") != 0)
			code = log_errx(EXIT_UNKNOWN, "%s changes the live system; --root is only for audits and diff",
					v->name);
		else if (guard_privileges(v->name) < 0 || guard_drop_privileges(v->name, a.print_capeff) < 0 ||
			 guard_lock(v->name, &a.lockfd) < 0)
			code = EXIT_FAILED;
		else
			code = v->handler(&a);
		if (a.lockfd >= 0)
			txn_unlock(a.lockfd);
	} else {
		if (!(v->flags & VERB_OWN_CAPS))
			caps_keep_reading();
		code = v->handler(&a);
	}
	free(host_keys);
	return code;
}

const char *cli_login_name(void)
{
	static char name[256];

	return user_name(getuid(), name, sizeof(name)) == 0 ? name : "?";
}

bool cli_format_is(const struct cli_args *a, const char *name)
{
	return strcmp(a->format, name) == 0;
}
