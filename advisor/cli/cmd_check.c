/* `tcptune check`: rules and configuration, one or more snapshots, findings,
 * report.  Exit codes (monitoring-plugin convention): 2 when a critical
 * finding is not ignored; 3 when the check itself is incomplete (bad input,
 * unreadable snapshot, a rule that could not be evaluated); 1 for a warning;
 * 0 otherwise.  Critical wins over incomplete only when the snapshot itself
 * was sound. */
#include "cmd.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "config.h"
#include "datadir.h"
#include "fsutil.h"
#include "log.h"
#include "netns_scan.h"
#include "profile.h"
#include "recommend.h"
#include "report.h"
#include "rule.h"
#include "sample.h"
#include "snap_state.h"
#include "snapshot.h"
#include "strutil.h"

enum { OPT_OUTPUT = 1, OPT_IGNORE, OPT_SAMPLES, OPT_INTERVAL, OPT_CONFIG, OPT_RECORD, OPT_NO_STATE,
       OPT_ALL_NETNS, OPT_WIDE };

const struct cli_opt cmd_check_opts[] = {
	{ "format",   true, CLI_OPT_FORMAT, "" },
	{ "output",   true, OPT_OUTPUT,   "write the report to FILE atomically (node_exporter textfile)" },
	{ "ignore",   true, OPT_IGNORE,   "silence rule ID (repeatable); listed as ignored in JSON" },
	{ "samples",  true, OPT_SAMPLES,  "take N snapshots (2..100) and add rates and growth" },
	{ "interval", true, OPT_INTERVAL, "seconds between samples (default 1)" },
	{ "config",   true, OPT_CONFIG,   "site settings file (default " CONFIG_PATH ")" },
	{ "no-state", false, OPT_NO_STATE, "compare with the previous check but do not record this one" },
	{ "all-netns", false, OPT_ALL_NETNS, "also every other network namespace of the host (needs CAP_SYS_ADMIN)" },
	{ "wide",     false, OPT_WIDE,    "text: one line per item, never wrapped (for grep)" },
	{ "debug-record-sockdiag", true, OPT_RECORD, NULL },	/* writes unit-test fixtures */
	{ "debug-print-capeff", false, CLI_OPT_CAPEFF, NULL },	/* tests: the capabilities kept */
	{ NULL, false, 0, NULL },
};

struct check_opts {
	const struct report_format *fmt;
	const char *output, *config, *record;
	long long samples, interval;
	bool print_capeff, no_state, all_netns, wide, interval_given, config_given;
};

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* --output's directory must exist: found out before a long sampling run,
 * not at the end.  Logs and returns true when it does not. */
static bool output_dir_missing(const char *output)
{
	char *copy = strdup(output);
	struct stat st;
	bool missing = false;

	if (!copy)
		return false;	/* the write itself will say */
	if (stat(dirname(copy), &st) < 0) {
		log_err(-errno, "--output '%s': cannot use its directory", output);
		missing = true;
	} else if (!S_ISDIR(st.st_mode)) {
		log_errx(0, "--output '%s': its directory is not a directory", output);
		missing = true;
	}
	free(copy);
	return missing;
}

static int parse_opts(const struct cli_args *a, struct check_opts *o, struct config *cfg)
{
	o->fmt = report_format_find(a->format);	/* cli_run() checked it */
	o->print_capeff = a->print_capeff;
	o->config = CONFIG_PATH;
	o->samples = 1;
	o->interval = 1;
	for (size_t i = 0; i < a->n_opts; i++) {
		const char *v = a->opts[i].value;

		switch (a->opts[i].id) {
		case OPT_OUTPUT:
			o->output = v;
			break;
		case OPT_IGNORE:
			if (config_add_ignore(cfg, v) < 0)
				return log_err(-ENOMEM, "--ignore");
			break;
		case OPT_SAMPLES:
			if (parse_ll(v, 1, SAMPLE_MAX, &o->samples) < 0)
				return log_errx(-EINVAL, "invalid --samples '%s': a number from 2 to %d", v, SAMPLE_MAX);
			/* A rate needs two snapshots; one is what check does anyway. */
			if (o->samples == 1)
				return log_errx(-EINVAL, "--samples 1 measures no rate: give 2 or more, or leave "
						"--samples out for a single snapshot");
			break;
		case OPT_INTERVAL:
			if (parse_ll(v, 0, 3600, &o->interval) < 0)
				return log_errx(-EINVAL, "invalid --interval '%s': whole seconds from 0 to 3600", v);
			o->interval_given = true;
			break;
		case OPT_CONFIG:
			o->config = v;
			o->config_given = true;
			break;
		case OPT_RECORD:
			o->record = v;
			break;
		case OPT_NO_STATE:
			o->no_state = true;
			break;
		case OPT_ALL_NETNS:
			o->all_netns = true;
			break;
		case OPT_WIDE:
			o->wide = true;
			break;
		}
	}
	if (o->all_netns && (a->g->netns_arg || strcmp(a->g->target.root, "/") != 0))
		return log_errx(-EINVAL, "--all-netns reads every live namespace; it does not go with --netns or --root");
	if (o->output && output_dir_missing(o->output))
		return -ENOENT;
	if (o->interval_given && o->samples < 2)
		return log_errx(-EINVAL, "--interval is the time between samples: it needs --samples N (2 or more)");
	return 0;
}

/* Take the snapshots; *last holds the final one.  Returns the last
 * snapshot_take() result, or a negative errno when none could be taken. */
static int take_snapshots(const struct cli_args *a, const struct check_opts *o, struct snapshot *last,
			  FILE *record, struct sampler *sm)
{
	int r = 0;

	for (long long i = 0; i < o->samples; i++) {
		struct snapshot s;

		/* Sampling takes a while: show progress on a terminal. */
		if (o->samples > 1)
			log_progress(i + 1 == o->samples, "sample %lld of %lld", i + 1, o->samples);

		if (i > 0) {
			struct timespec ts = { .tv_sec = (time_t) o->interval };
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
			snapshot_release(last);
		}
		r = snapshot_init(&s, &a->g->target);
		if (r < 0) {
			log_err(r, "cannot open root directory '%s'", a->g->target.root);
			break;
		}
		s.sockdiag_record = i == 0 ? record : NULL;
		r = snapshot_take(&s);
		s.sockdiag_record = NULL;
		*last = s;
		if (r == -ENOMEM)
			break;
		/* One snapshot has no rates: skip the per-process bookkeeping. */
		if (o->samples == 1) {
			snap_set_int(last, F_SAMPLES, 1);
			continue;
		}
		if (sampler_add(sm, last, clock_s(CLOCK_MONOTONIC)) < 0) {
			r = log_err(-ENOMEM, "sampling");
			break;
		}
	}
	if (sm->n > 0)
		sampler_finish(sm, last);
	return r;
}

static void warn_unknown_ignores(const struct config *cfg, const struct rule_set *rules)
{
	for (size_t i = 0; i < cfg->n_ignore; i++)
		if (!rule_set_find(rules, cfg->ignore[i]))
			log_errx(0, "ignoring unknown rule id '%s' (a typo, or a rule that no longer exists?)",
				 cfg->ignore[i]);
}

static int write_report(const struct check_opts *o, const struct report_ctx *ctx)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	int r;

	if (!o->output) {
		r = o->fmt->write(ctx, stdout);
		return r < 0 ? log_err(r, "cannot write the report") : 0;
	}
	/* Render fully first: the file is replaced whole or not at all. */
	mem = open_memstream(&buf, &len);
	if (!mem)
		return log_err(-errno, "cannot write the report");
	r = o->fmt->write(ctx, mem);
	if (fclose(mem) != 0 && r == 0)
		r = -EIO;
	if (r == 0) {
		r = atomic_write_path(o->output, buf, len, 0644);
		if (r < 0)
			log_err(r, "cannot write '%s'", o->output);
	} else
		log_err(r, "cannot render the report");
	free(buf);
	return r;
}

int cmd_check(const struct cli_args *a)
{
	struct check_opts o = { 0 };
	struct config cfg = { 0 };
	struct rule_set rules = { 0 };
	struct findings findings = { 0 };
	struct profile_set profiles = { 0 };
	struct recommendation rec;
	struct netns_scan scan = { 0 };
	struct snapshot s = { .rootfd = -1 };
	struct state_place place = { .known = false };
	struct check_state *state = NULL;
	struct sampler sm;
	struct datadir dd;
	struct diag d = { .line = 0 };
	FILE *record = NULL;
	bool incomplete = false, have_rules = false, have_findings = false, have_snapshot = false;
	bool have_profiles = false, have_scan = false;
	double started = clock_s(CLOCK_REALTIME), t0 = clock_s(CLOCK_MONOTONIC);
	int r, code = EXIT_OK;

	sampler_init(&sm);
	if (parse_opts(a, &o, &cfg) < 0) {
		code = EXIT_UNKNOWN;
		goto out;
	}
	/* check only reads.  Of root's privileges it keeps what attributing
	 * other users' sockets needs: through /proc (docs/KERNEL.md §9.5) or
	 * through the BPF iterator (loading a tracing program, §18.5); and for
	 * --output the right to write into a directory root does not own (a
	 * textfile directory owned by prometheus). */
	{
		/* --all-netns: setns() needs CAP_SYS_ADMIN (docs/KERNEL.md §14.1). */
		cap_value_t keep[6] = { CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_BPF, CAP_PERFMON };
		size_t n_keep = 4;
		int r2;

		if (o.output)
			keep[n_keep++] = CAP_DAC_OVERRIDE;
		if (o.all_netns)
			keep[n_keep++] = CAP_SYS_ADMIN;
		r2 = caps_keep_only(keep, n_keep);
		char hex[32];

		if (r2 < 0)
			log_errx(0, "warning: cannot drop capabilities: %s; going on with them", strerror(-r2));
		if (o.print_capeff && caps_effective_hex(hex, sizeof(hex)) == 0)
			log_info("CapEff %s", hex);
	}
	datadir_init(&dd, a->g->data);
	r = rule_set_load(&rules, &dd, &d);
	if (r < 0) {
		log_diag(0, &d);
		code = EXIT_UNKNOWN;
		goto out;
	}
	have_rules = true;
	r = config_load(&cfg, a->g->target.root, o.config, o.config_given, dd.trust_check, &d);
	if (r < 0) {
		log_diag(0, &d);
		code = EXIT_UNKNOWN;
		goto out;
	}
	warn_unknown_ignores(&cfg, &rules);
	r = profile_set_load(&profiles, &dd, &d);
	if (r < 0) {
		log_diag(0, &d);
		code = EXIT_UNKNOWN;
		goto out;
	}
	have_profiles = true;
	if (o.record) {
		record = fopen(o.record, "wxe");
		if (!record) {
			log_err(-errno, "cannot create '%s'", o.record);
			code = EXIT_UNKNOWN;
			goto out;
		}
	}

	r = take_snapshots(a, &o, &s, record, &sm);
	have_snapshot = s.facts != NULL;
	if (!have_snapshot) {
		code = EXIT_UNKNOWN;
		goto out;
	}
	/* Bad input is an error, one line each; the report still shows what was seen. */
	for (size_t i = 0; i < s.n_notes; i++)
		if (s.notes[i].bad_input) {
			char shown[1024];
			log_errx(0, "%s", str_escape(s.notes[i].text, shown, sizeof(shown)));
			incomplete = true;
		}
	if (r < 0 && !incomplete) {
		const char *why = strerror(-r);
		for (size_t i = s.n_notes; i-- > 0;)
			if (!strcmp(s.notes[i].source, "sockets") || !strcmp(s.notes[i].source, "sysctl"))
				why = s.notes[i].text;
		log_errx(0, "incomplete snapshot of '%s': %s", a->g->target.root, why);
		incomplete = true;
	}

	/* Evidence that counters rose recently: the previous check of this
	 * boot and namespace (README "Evidence"). */
	state = calloc(1, sizeof(*state));
	if (!state || snap_state_load(&s, &place, state) < 0) {
		log_err(-ENOMEM, "check");
		code = EXIT_UNKNOWN;
		goto out;
	}
	if (snapshot_set_path_idle(&s, cfg.idle_timeout) < 0) {
		log_err(-ENOMEM, "check");
		code = EXIT_UNKNOWN;
		goto out;
	}
	r = rules_evaluate(&rules, &s, cfg.ignore, cfg.n_ignore, &findings);
	if (r < 0) {
		log_err(r, "cannot evaluate the rules");
		code = EXIT_UNKNOWN;
		goto out;
	}
	have_findings = true;
	for (size_t i = 0; i < findings.n_errors; i++)
		log_errx(0, "rule '%s' (%s:%u): %s", findings.errors[i].rule->id, findings.errors[i].rule->file,
			 findings.errors[i].rule->line, findings.errors[i].msg);
	switch (findings_worst(&findings)) {
	case SEV_CRITICAL: code = incomplete ? EXIT_UNKNOWN : EXIT_CRITICAL; break;
	case SEV_WARNING:  code = EXIT_WARNING; break;
	default:           code = EXIT_OK; break;
	}
	if (o.all_netns) {
		int worst = findings_worst(&findings);

		r = netns_scan_run(&scan, &rules, &s, &findings, cfg.ignore, cfg.n_ignore);
		if (r < 0) {
			log_err(r, "cannot scan the network namespaces");
			code = EXIT_UNKNOWN;
			goto out;
		}
		have_scan = true;
		/* The exit code follows the worst finding in any namespace. */
		for (size_t i = 0; i < scan.n; i++)
			if (scan.v[i].worst > worst)
				worst = scan.v[i].worst;
		if (worst == SEV_CRITICAL && code < EXIT_CRITICAL)
			code = incomplete ? EXIT_UNKNOWN : EXIT_CRITICAL;
		else if (worst == SEV_WARNING && code == EXIT_OK)
			code = EXIT_WARNING;
	}
	if (code != EXIT_CRITICAL && (incomplete || findings.n_errors))
		code = EXIT_UNKNOWN;

	if (recommend(&profiles, &s, &rec) < 0) {
		code = EXIT_UNKNOWN;
		goto out;
	}
	if (rec.error[0])
		log_errx(0, "%s", rec.error);
	{
		struct report_ctx ctx = {
			.s = &s, .rules = &rules, .findings = &findings, .rec = &rec, .started = started,
			.duration = clock_s(CLOCK_MONOTONIC) - t0, .status = code,
			.color = a->g->use_color && !o.output, .netns = have_scan ? &scan : NULL,
			.width = o.wide ? 0 : o.output ? 80 : report_text_width(stdout),
			.verbosity = a->g->verbosity, .sampler = sm.n >= 2 ? &sm : NULL,
		};
		double w0 = clock_s(CLOCK_MONOTONIC);

		if (write_report(&o, &ctx) < 0)
			code = EXIT_UNKNOWN;
		log_debug("wrote the %s report in %.1f ms (%.1f ms since the start)", o.fmt->name,
			  (clock_s(CLOCK_MONOTONIC) - w0) * 1e3, (clock_s(CLOCK_MONOTONIC) - t0) * 1e3);
	}
	/* After the report: a check that failed to report still saw the counters. */
	if (!o.no_state) {
		r = snap_state_save(&place, state);
		if (r < 0)
			log_errx(0, "note: cannot save this check in '%s/%s': %s (the next check cannot tell "
				 "recent increases; --no-state skips saving)", place.dir, place.name, strerror(-r));
	}
out:
	free(state);
	if (record && fclose(record) != 0 && code != EXIT_UNKNOWN) {
		log_err(-errno, "cannot write '%s'", o.record);
		code = EXIT_UNKNOWN;
	}
	if (have_scan)
		netns_scan_release(&scan);
	if (have_findings)
		findings_release(&findings);
	if (have_snapshot)
		snapshot_release(&s);
	if (have_rules)
		rule_set_release(&rules);
	if (have_profiles)
		profile_set_release(&profiles);
	config_release(&cfg);
	sampler_release(&sm);
	return code;
}
