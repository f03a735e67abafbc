/* `tcptune recommend`: the profile that fits this machine, how sure that is,
 * and the facts that decided it (engine/recommend.h).  With --samples N it
 * takes N snapshots, --interval seconds apart, adds their rates
 * (engine/sample.c) and proposes a profile only if its condition held in
 * every one. */
#include "cmd.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "facts.h"
#include "jsonutil.h"
#include "log.h"
#include "profile.h"
#include "recommend.h"
#include "report.h"
#include "sample.h"
#include "snapshot.h"
#include "strutil.h"

enum { OPT_SAMPLES = 1, OPT_INTERVAL };

const struct cli_opt cmd_recommend_opts[] = {
	{ "format", true, CLI_OPT_FORMAT, "" },
	{ "samples", true, OPT_SAMPLES, "take N snapshots (2..100); a profile must fit every one" },
	{ "interval", true, OPT_INTERVAL, "seconds between samples (default 1)" },
	{ NULL, false, 0, NULL },
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int parse_opts(const struct cli_args *a, long long *samples, long long *interval)
{
	bool interval_given = false;

	*samples = 1;
	*interval = 1;
	for (size_t i = 0; i < a->n_opts; i++) {
		const char *v = a->opts[i].value;

		if (a->opts[i].id == OPT_SAMPLES && (parse_ll(v, 2, SAMPLE_MAX, samples) < 0))
			return log_errx(-EINVAL, "invalid --samples '%s': a number from 2 to %d", v, SAMPLE_MAX);
		if (a->opts[i].id == OPT_INTERVAL) {
			if (parse_ll(v, 0, 3600, interval) < 0)
				return log_errx(-EINVAL, "invalid --interval '%s': whole seconds from 0 to 3600", v);
			interval_given = true;
		}
	}
	if (interval_given && *samples < 2)
		return log_errx(-EINVAL, "--interval is the time between samples: it needs --samples N (2 or more)");
	return 0;
}

/* Take the samples; s holds the last one (initialised even on failure). */
static int take(const struct cli_args *a, long long samples, long long interval, const struct profile_set *set,
		struct snapshot *s, struct sampler *sm, struct recommend_tally *tally)
{
	int r;

	for (long long i = 0; i < samples; i++) {
		if (samples > 1)
			log_progress(i + 1 == samples, "sample %lld of %lld", i + 1, samples);
		if (i > 0) {
			struct timespec ts = { .tv_sec = (time_t) interval };

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
			snapshot_release(s);
		}
		r = snapshot_init(s, &a->g->target);
		if (r < 0)
			return log_err(r, "cannot open root directory '%s'", a->g->target.root);
		r = snapshot_take(s);
		if (r < 0 && !s->census_ok)
			return log_errx(r, "recommend needs the socket census, which failed");
		if (samples == 1)
			break;
		if (sampler_add(sm, s, now_s()) < 0)
			return log_err(-ENOMEM, "sampling");
		recommend_tally_add(tally, set, s);
	}
	if (sm->n > 0)
		sampler_finish(sm, s);
	return 0;
}

static void print_text(const struct recommendation *rec)
{
	size_t width = report_text_width(stdout);
	const char *name = rec->profile ? rec->profile->name : "(none)";
	char line[1024];

	printf("Recommended profile: %s (confidence: %s)\n", name, recommend_confidence_name(rec->confidence));
	report_wrap(stdout, width, "", "", rec->reason);
	snprintf(line, sizeof(line), "Confidence %s: %s.", recommend_confidence_name(rec->confidence),
		 rec->confidence_why);
	report_wrap(stdout, width, "", "  ", line);
	snprintf(line, sizeof(line), "Evidence: %s", rec->basis);
	report_wrap(stdout, width, "", "  ", line);
	if (rec->profile)
		printf("\nSee what it would change: tcptune diff %s\n", name);
}

int cmd_recommend(const struct cli_args *a)
{
	struct profile_set set;
	struct recommendation rec;
	struct recommend_tally tally = { 0 };
	struct sampler sm;
	struct snapshot s = { 0 };
	long long samples, interval;
	bool have_snapshot = false;
	int code = EXIT_OK;

	if (parse_opts(a, &samples, &interval) < 0)
		return EXIT_UNKNOWN;
	if (cmd_load_profiles(a, &set) < 0)
		return EXIT_UNKNOWN;
	sampler_init(&sm);
	if (recommend_tally_init(&tally, &set) < 0) {
		log_err(-ENOMEM, "recommend");
		code = EXIT_UNKNOWN;
		goto out;
	}
	have_snapshot = true;
	if (take(a, samples, interval, &set, &s, &sm, &tally) < 0) {
		code = EXIT_UNKNOWN;
		goto out;
	}
	recommend_samples(&set, &s, &tally, &rec);
	if (rec.error[0])
		log_errx(0, "%s", rec.error);
	if (cli_format_is(a, "json")) {
		/* Texts made from the profiles' YAML may be cut mid-character:
		 * json_string_safe() escapes what is not UTF-8, as check does. */
		if (json_print(json_pack("{s:o, s:o, s:s, s:o, s:o, s:I}", "profile",
					 rec.profile ? json_string_safe(rec.profile->name) : json_null(), "reason",
					 json_string_safe(rec.reason), "confidence",
					 recommend_confidence_name(rec.confidence), "confidence_reason",
					 json_string_safe(rec.confidence_why), "evidence", json_string_safe(rec.basis),
					 "samples", (json_int_t) rec.samples), stdout) < 0) {
			log_err(-EIO, "recommend --format json");
			code = EXIT_UNKNOWN;
		}
	} else
		print_text(&rec);
out:
	if (have_snapshot)
		snapshot_release(&s);
	recommend_tally_release(&tally);
	sampler_release(&sm);
	profile_set_release(&set);
	return code;
}
