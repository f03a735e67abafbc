/* `tcptune apply PROFILE`: the plan (cmd_plan_make(), shared with diff),
 * then the transaction (backup/txn.h).  cli_run() has checked privileges,
 * dropped all but CAP_NET_ADMIN and taken the store lock, with recovery,
 * before this runs (VERB_CHANGES); --dry-run only shows the plan.
 *
 * A key that would lose at boot to another file refuses the apply unless
 * --allow-boot-override (EXIT_BOOT_OVERRIDE); `apply default` removes the
 * managed file and sets the kernel's defaults at runtime (README "apply
 * default"); --watch DURATION measures the effect (engine/canary.h) and
 * rolls a change that made things worse back by itself. */
#include "cmd.h"

#include <errno.h>
#include <sys/stat.h>
#include <limits.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "canary.h"
#include "guard.h"
#include "jsonutil.h"
#include "keys.h"
#include "log.h"
#include "report.h"
#include "report_plan.h"
#include "strutil.h"
#include "txn.h"

enum { OPT_YES = 1, OPT_ALLOW_BOOT_OVERRIDE, OPT_WATCH };

const struct cli_opt cmd_apply_opts[] = {
	{ "dry-run", false, CLI_OPT_DRY_RUN, "print the plan, change nothing" },
	{ "yes",     false, OPT_YES,         "do not ask" },
	{ "allow-boot-override", false, OPT_ALLOW_BOOT_OVERRIDE, "apply although a key loses at boot to another file" },
	{ "watch",   true,  OPT_WATCH,       "measure the effect for ARG (30s, 5m), undo if worse" },
	{ "format",  true,  CLI_OPT_FORMAT,  "(json: {\"changed\", \"entry\", ...} for automation)" },
	{ "debug-print-capeff", false, CLI_OPT_CAPEFF, NULL },	/* tests: the capabilities kept */
	{ NULL, false, 0, NULL },
};

/* The profile whose apply means "back to the kernel's defaults". */
#define DEFAULT_PROFILE "default"
/* --watch: at least 10 s, so that a rate spans several snapshots; at most an
 * hour, the store lock is held all along.  The "before" window is 5 s (or
 * DURATION when shorter): the load is sampled just before the change. */
#define WATCH_MIN 10
#define WATCH_MAX 3600
#define WATCH_BEFORE 5
#define WATCH_STEP 1.0	/* seconds between snapshots; longer past SAMPLE_MAX of them */

struct apply_opts {
	bool yes, json, allow_override, dry_run;
	long long watch;	/* seconds, 0: no --watch */
};

/* "30", "30s", "5m", "1h" -> seconds. */
static int parse_duration(const char *v, long long *ret)
{
	char num[32];
	size_t len = strlen(v);
	long long mult = 1, n;

	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, v, len + 1);
	switch (num[len - 1]) {
	case 's': mult = 1; num[len - 1] = '\0'; break;
	case 'm': mult = 60; num[len - 1] = '\0'; break;
	case 'h': mult = 3600; num[len - 1] = '\0'; break;
	default: break;
	}
	if (parse_ll(num, 1, WATCH_MAX, &n) < 0 || n * mult < WATCH_MIN || n * mult > WATCH_MAX)
		return -ERANGE;
	*ret = n * mult;
	return 0;
}

/* ---- keys that lose at boot --------------------------------------------- */

static size_t count_losers(const struct plan *pl)
{
	size_t n = 0;

	for (size_t i = 0; i < pl->n; i++)
		n += !pl->rows[i].skip && (pl->rows[i].override[ORDER_SYSTEMD] || pl->rows[i].override[ORDER_PROCPS]);
	return n;
}

static json_t *losers_json(const struct plan *pl)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < pl->n; i++)
		for (int o = 0; o < ORDER__COUNT; o++) {
			const struct sysctld_assign *w = pl->rows[i].override[o];

			if (pl->rows[i].skip || !w)
				continue;
			json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:o, s:I}", "key",
							     key_table[pl->rows[i].key].name, "order",
							     o == ORDER_SYSTEMD ? "systemd-sysctl" : "sysctl --system",
							     "value", json_string_safe(w->value), "file",
							     json_string_safe(w->file), "line", (json_int_t) w->line));
		}
	return arr;
}

/* One line per key: "key: VALUE from FILE:LINE (systemd-sysctl)". */
static void losers_text(const struct plan *pl, FILE *out)
{
	char b1[80], b2[300];

	for (size_t i = 0; i < pl->n; i++)
		for (int o = 0; o < ORDER__COUNT; o++) {
			const struct sysctld_assign *w = pl->rows[i].override[o];

			const struct sysctld_assign *ws = pl->rows[i].override[ORDER_SYSTEMD];
			bool both = o == ORDER_SYSTEMD && pl->rows[i].override[ORDER_PROCPS] &&
				    strcmp(pl->rows[i].override[ORDER_PROCPS]->file, w ? w->file : "") == 0 &&
				    pl->rows[i].override[ORDER_PROCPS]->line == (w ? w->line : 0);

			if (pl->rows[i].skip || !w)
				continue;
			if (o == ORDER_PROCPS && ws && strcmp(ws->file, w->file) == 0 && ws->line == w->line)
				continue;	/* said once, for both programs */
			fprintf(out, "  %s: %s from %s:%u (%s)\n", key_table[pl->rows[i].key].name,
				str_escape(w->value, b1, sizeof(b1)), str_escape(w->file, b2, sizeof(b2)), w->line,
				both ? "systemd-sysctl and sysctl --system"
				: o == ORDER_SYSTEMD ? "systemd-sysctl" : "sysctl --system");
		}
}

/* ---- apply default ------------------------------------------------------- */

static bool is_default(const struct plan *pl)
{
	return strcmp(pl->profile, DEFAULT_PROFILE) == 0;
}

/* Keys the plan applies: the profile's value for each key this kernel has. */
static struct txn_key *plan_keys(const struct plan *pl, size_t *ret_n)
{
	struct txn_key *keys = calloc(pl->n ? pl->n : 1, sizeof(*keys));
	size_t n = 0;

	if (!keys)
		return NULL;
	for (size_t i = 0; i < pl->n; i++)
		if (!pl->rows[i].skip) {
			keys[n].key = pl->rows[i].key;
			snprintf(keys[n].new_value, sizeof(keys[n].new_value), "%s", pl->rows[i].target);
			n++;
		}
	*ret_n = n;
	return keys;
}

/* apply default's plan: key, now, after, the skipped keys, the managed
 * file removed, and what boot then sets from other files. */
/* Is there a managed file (or anything by its name, a symlink included:
 * the transaction refuses to follow one, and says so)? */
static bool managed_file_exists(void)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", guard_paths.sysctl_dir, guard_paths.managed_name);
	return lstat(path, &st) == 0;
}

static void default_text(const struct cmd_plan *p, bool file_exists, FILE *out)
{
	const struct plan *pl = &p->plan;
	int rk = key_index("net.ipv4.ip_local_reserved_ports");
	struct txn_entry_key *rows = calloc(pl->n ? pl->n : 1, sizeof(*rows));
	char title[128], fline[300], b1[80], b2[300];
	size_t n = 0;

	if (!rows)
		return;
	for (size_t i = 0; i < pl->n; i++) {
		const struct plan_row *r = &pl->rows[i];

		if (r->skip)
			continue;
		rows[n].key = r->key;
		rows[n].had_old = r->present;
		snprintf(rows[n].old_value, sizeof(rows[n].old_value), "%s", r->runtime);
		snprintf(rows[n].new_value, sizeof(rows[n].new_value), "%s", r->target);
		n++;
	}
	snprintf(title, sizeof(title), "Profile %s: the kernel's defaults now, no tcptune file at boot", pl->profile);
	snprintf(fline, sizeof(fline), "Managed file %s: %s", TXN_DEFAULT_MANAGED_FILE,
		 file_exists ? "will be removed" : "absent already");
	report_change_list_text(title, rows, n, fline, out);
	free(rows);
	for (size_t i = 0; i < pl->n; i++)
		if (pl->rows[i].skip)
			fprintf(out, "Skipped %s: %s\n", key_table[pl->rows[i].key].name, pl->rows[i].skip);
	/* Reserved ports are the services' own business: never emptied here. */
	if (rk >= 0 && p->s.sysctl[rk].present && p->s.sysctl[rk].raw[0]) {
		char line[300];

		snprintf(line, sizeof(line), "Left alone: net.ipv4.ip_local_reserved_ports = %s (the kernel's "
			 "default is empty; services may rely on these ports; `tcptune rollback` undoes a "
			 "reservation an apply of tcptune made)", p->s.sysctl[rk].raw);
		report_wrap(out, 80, "", "  ", line);
	}
	/* What boot sets without tcptune's file: the other files' lines. */
	for (size_t i = 0; i < pl->n; i++) {
		const struct sysctld_assign *bt = pl->rows[i].boot[ORDER_SYSTEMD];

		if (bt && strcmp(bt->file, TXN_DEFAULT_MANAGED_FILE) != 0)
			fprintf(out, "At boot %s is still set to %s by %s:%u\n", key_table[pl->rows[i].key].name,
				str_escape(bt->value, b1, sizeof(b1)), str_escape(bt->file, b2, sizeof(b2)), bt->line);
	}
}

/* ---- --watch ------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	double d = t - now_s();
	struct timespec ts;

	if (d <= 0)
		return;
	ts.tv_sec = (time_t) d;
	ts.tv_nsec = (long) ((d - (double) ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Snapshots for secs seconds, one every WATCH_STEP (fewer past SAMPLE_MAX,
 * or when one takes longer), into w.  -errno when none could be taken. */
static int sample_window(const struct cli_args *a, double secs, struct canary_window *w)
{
	struct snapshot s, last;
	bool have_last = false;
	double step = WATCH_STEP, start = now_s();
	int r = 0;

	if (secs / step > SAMPLE_MAX - 1)
		step = secs / (SAMPLE_MAX - 1);
	for (size_t k = 0; k < SAMPLE_MAX; k++) {
		double t = start + (double) k * step;

		/* The window is secs long even when a snapshot takes longer than
		 * a step (a loaded or sanitizer build): at least two snapshots. */
		if ((double) k * step > secs + 1e-6 || (k >= 2 && now_s() - start >= secs))
			break;
		sleep_until(t);
		r = snapshot_init(&s, &a->g->target);
		if (r < 0)
			break;
		r = snapshot_take(&s);
		if (r == 0)
			r = canary_window_add(w, &s, now_s());
		if (r < 0) {
			snapshot_release(&s);
			break;
		}
		if (have_last)
			snapshot_release(&last);
		last = s;
		have_last = true;
	}
	if (!have_last)
		return r < 0 ? r : -EIO;
	if (r < 0)	/* the figures hold for what was measured: said, not hidden */
		log_info("note: a snapshot failed (%s) after %.0f s of the %.0f s window; its figures cover that part",
			 strerror(-r), now_s() - start, secs);
	canary_window_finish(w, &last);
	snapshot_release(&last);
	return 0;
}

static json_t *num_or_null(bool have, double v)
{
	return have ? json_real(round(v * 10) / 10) : json_null();
}

/* The effect as recorded in the entry (effect.json) and printed by
 * --format json: README "apply --watch". */
static json_t *effect_json(const struct canary_result *res, long long watch, const char *verdict, const char *why,
			   const char *rollback_entry)
{
	json_t *figs = json_array();

	for (size_t i = 0; res && i < res->n; i++) {
		const struct canary_figure *f = &res->fig[i];

		json_array_append_new(figs, json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}", "fact", f->def->fact, "unit",
						      f->def->unit, "means", f->def->what, "before",
						      num_or_null(f->have_before, f->before), "after",
						      num_or_null(f->have_after, f->after), "change",
						      canary_change_name(f->change)));
	}
	return json_pack("{s:i, s:I, s:I, s:s, s:s, s:s, s:o, s:o}", "schema", 1, "watch_seconds", (json_int_t) watch,
			 "before_seconds", (json_int_t) (watch < WATCH_BEFORE ? watch : WATCH_BEFORE), "verdict",
			 verdict, "why", why, "rule", canary_rule, "rollback_entry",
			 rollback_entry ? json_string(rollback_entry) : json_null(), "figures", figs);
}

static void save_effect(const char *id, json_t *effect)
{
	char *text = json_dumps(effect, JSON_INDENT(2));
	int r = text ? txn_effect_save(&guard_paths, id, text) : -ENOMEM;

	if (r < 0)
		log_err(r, "cannot record the effect in entry %s", id);
	free(text);
}

/* After the change: sample, compare with before, roll back when worse.
 * Returns the exit code; *ret_effect the effect (JSON). */
static int watch_after(const struct cli_args *a, const struct apply_opts *o, const char *profile, const char *id,
		       const struct canary_window *before, json_t **ret_effect)
{
	struct canary_window after;
	struct canary_result res;
	struct txn_error err;
	char new_id[16] = "", why[800];
	const char *verdict = NULL;
	int r, code = EXIT_OK;

	/* A crash from here on leaves this in the entry: history says the
	 * watch was cut off, and the change stays until rolled back. */
	json_t *eff = effect_json(NULL, o->watch, "watching", "the watch did not finish (interrupted)", NULL);
	save_effect(id, eff);
	json_decref(eff);
	if (!o->json)
		printf("Watching for %lld s, compared with %d s before the change ...\n", o->watch,
		       (int) (o->watch < WATCH_BEFORE ? o->watch : WATCH_BEFORE));
	fflush(stdout);
	canary_window_init(&after);
	r = sample_window(a, (double) o->watch, &after);
	if (r < 0) {
		canary_window_release(&after);
		eff = effect_json(NULL, o->watch, "unknown", "no snapshot could be taken after the change", NULL);
		save_effect(id, eff);
		*ret_effect = eff;
		log_err(r, "apply %s --watch: cannot take a snapshot; the change stays (entry %s)", profile, id);
		return EXIT_FAILED;
	}
	canary_compare(before, &after, &res);
	canary_window_release(&after);
	if (!res.roll_back) {
		eff = effect_json(&res, o->watch, "kept", res.why, NULL);
		verdict = res.why;
	} else {
		r = txn_rollback(&guard_paths, id, false, cli_login_name(), getuid(), new_id, &err);
		if (r < 0) {
			snprintf(why, sizeof(why), "%s; the automatic rollback failed: %s", res.why, err.what);
			eff = effect_json(&res, o->watch, "rollback-failed", why, NULL);
			log_errx(0, "apply %s --watch: %s (undo by hand: tcptune rollback %s)", profile, why, id);
			code = EXIT_FAILED;
		} else {
			snprintf(why, sizeof(why), "rolled back by --watch (entry %s): %s", new_id, res.why);
			eff = effect_json(&res, o->watch, "rolled-back", why, new_id);
			verdict = why;
			code = EXIT_ROLLED_BACK;
		}
	}
	if (!o->json) {
		printf("\nEffect of %s (%s) over %lld s:\n", id, profile, o->watch);
		report_effect_figures(eff, stdout);
		if (verdict)
			printf("Verdict: %s\n", verdict);
	}
	save_effect(id, eff);
	*ret_effect = eff;
	return code;
}

/* A lower tcp_fin_timeout shows in the FIN_WAIT2 figure only once the
 * orphans that were waiting have run out their old timers: say so when the
 * watch is shorter (the verdict will then rest on the other figures). */
static void watch_too_short(const struct plan *pl, long long watch)
{
	int k = key_index("net.ipv4.tcp_fin_timeout");

	for (size_t i = 0; k >= 0 && i < pl->n; i++) {
		const struct plan_row *row = &pl->rows[i];
		long long settle;

		if (row->key != (size_t) k || !row->change || !row->present || row->skip)
			continue;
		settle = canary_fin_timeout_settle(strtoll(row->runtime, NULL, 10), strtoll(row->target, NULL, 10));
		fflush(stdout);		/* after the plan, not before it */
		if (settle > watch)
			log_info("note: tcp_fin_timeout %s -> %s: orphans already in FIN_WAIT2 keep their %s s timer, "
				 "so the FIN_WAIT2 pile can show the change only after about %lld s; this watch lasts "
				 "%lld s", row->runtime, row->target, row->runtime, settle, watch);
	}
}

/* ---- a watch cut off by a crash ------------------------------------------- */

/* Is entry id's effect "watching"?  Only a watch that never finished
 * leaves that verdict. */
static bool watch_cut_off(const char *id)
{
	char *text = NULL;
	json_t *o;
	bool r;

	if (txn_effect_load(&guard_paths, id, &text) < 0)
		return false;
	o = json_loads(text, 0, NULL);
	free(text);
	r = o && json_is_string(json_object_get(o, "verdict")) &&
	    strcmp(json_string_value(json_object_get(o, "verdict")), "watching") == 0;
	json_decref(o);
	return r;
}

int cmd_resolve_watch(char last_target[16], char last_entry[16])
{
	struct txn_entry *v = NULL;
	struct txn_error err;
	char new_id[16] = "", why[600];
	size_t n = 0;
	int r, resolved = 0;

	/* The watcher held the lock to the end; we hold it now, so it died. */
	if (txn_history(&guard_paths, &v, &n) < 0)
		return 0;	/* the verb reports an unreadable store itself */
	for (size_t i = n; i-- > 0;) {
		json_t *eff;

		if (strcmp(v[i].action, "apply") != 0 || strcmp(v[i].status, "applied") != 0 || !watch_cut_off(v[i].id))
			continue;
		/* Like a pending entry after a crash: back to the state before it. */
		r = txn_rollback(&guard_paths, v[i].id, false, cli_login_name(), getuid(), new_id, &err);
		if (r < 0) {
			log_errx(0, "entry %s (%s) was being watched when tcptune stopped; cannot undo it: %s "
				 "(tcptune rollback %s)", v[i].id, v[i].profile, err.what, v[i].id);
			continue;
		}
		snprintf(why, sizeof(why), "the watch was cut off before its verdict (tcptune stopped); undone "
			 "like an unfinished transaction by rollback entry %s", new_id);
		eff = effect_json(NULL, 0, "interrupted", why, new_id);
		save_effect(v[i].id, eff);
		json_decref(eff);
		log_info("recovered: entry %s (%s): %s", v[i].id, v[i].profile, why);
		if (last_target)
			snprintf(last_target, 16, "%s", v[i].id);
		if (last_entry)
			snprintf(last_entry, 16, "%s", new_id);
		resolved++;
	}
	txn_entries_free(v, n);
	return resolved;
}

/* ---- the apply ----------------------------------------------------------- */

static int run_apply(const struct cli_args *a, const struct cmd_plan *p, const struct apply_opts *o)
{
	const struct plan *pl = &p->plan;
	struct txn_error err = { .restored = false };
	struct canary_window before;
	struct txn_key *keys;
	struct txn_request req;
	json_t *effect = NULL;
	char id[16] = "", question[160];
	bool changed = false, dflt = is_default(pl), file_exists = managed_file_exists();
	size_t n = 0, losers = dflt ? 0 : count_losers(pl);
	int r, code = EXIT_OK;

	if (!o->json) {
		if (dflt)
			default_text(p, file_exists, stdout);
		else
			report_plan_text(pl, &p->s, stdout);
	}
	if (losers && !o->allow_override) {
		if (o->json)
			json_print(json_pack("{s:b, s:s, s:s, s:o}", "changed", 0, "status", "refused", "reason",
					     "loses-at-boot", "loses_at_boot", losers_json(pl)), stdout);
		else {
			printf("\nRefused: %zu key%s of %s would lose at boot to another file:\n", losers,
			       losers == 1 ? "" : "s", pl->profile);
			losers_text(pl, stdout);
			printf("Nothing changed.  Remove those lines, or apply with --allow-boot-override\n"
			       "to accept that boot sets these keys to the other file's values.\n");
		}
		log_errx(0, "apply %s refused: %zu key%s would lose at boot to another file; nothing changed "
			 "(--allow-boot-override accepts)", pl->profile, losers, losers == 1 ? "" : "s");
		return EXIT_BOOT_OVERRIDE;
	}
	keys = plan_keys(pl, &n);
	if (!keys)
		return log_err(-ENOMEM, "apply"), EXIT_FAILED;
	snprintf(question, sizeof(question), "Apply profile %s (%zu change%s now%s)?", pl->profile, pl->n_change,
		 pl->n_change == 1 ? "" : "s", dflt && file_exists ? ", managed file removed" : "");
	if ((pl->n_change || (dflt ? file_exists : !pl->file_unchanged)) && guard_confirm("apply", question, o->yes) < 0) {
		free(keys);
		return EXIT_FAILED;
	}
	canary_window_init(&before);
	if (o->watch)
		watch_too_short(pl, o->watch);
	if (o->watch) {
		double secs = (double) (o->watch < WATCH_BEFORE ? o->watch : WATCH_BEFORE);

		if (!o->json)
			printf("Measuring %.0f s before the change ...\n", secs);
		fflush(stdout);
		r = sample_window(a, secs, &before);
		if (r < 0) {
			free(keys);
			canary_window_release(&before);
			log_err(r, "apply %s --watch: cannot take a snapshot; nothing changed", pl->profile);
			return EXIT_FAILED;
		}
	}
	req = (struct txn_request) { .action = "apply", .profile = pl->profile, .keys = keys, .n_keys = n,
				     .file_content = dflt ? NULL : pl->file_content, .user = cli_login_name(),
				     .uid = getuid() };
	r = txn_apply(&guard_paths, &req, &changed, id, &err);
	free(keys);
	if (r < 0) {
		char state[512];

		canary_window_release(&before);
		guard_state_after_failure(&err, state, sizeof(state));
		log_errx(0, "apply %s failed: %s; %s", pl->profile, err.what, state);
		if (o->json)
			json_print(json_pack("{s:b, s:s, s:s, s:s, s:b, s:s}", "changed", 0, "entry", err.id,
					     "status", "failed", "error", err.what, "restored", err.restored,
					     "entry_status", err.status), stdout);
		return EXIT_FAILED;
	}
	if (err.note[0])
		log_info("note: %s", err.note);
	if (!o->json) {
		if (changed)
			printf("\nApplied %s: %zu key%s now, %s/%s %s (entry %s; undo with tcptune rollback)\n",
			       pl->profile, pl->n_change, pl->n_change == 1 ? "" : "s", guard_paths.sysctl_dir,
			       guard_paths.managed_name, dflt ? (file_exists ? "removed" : "absent") : "written", id);
		else
			printf("\nNo changes: %s is already applied (entry %s)\n", pl->profile, id);
		if (losers) {
			printf("At boot, %zu key%s will lose to another file (accepted with --allow-boot-override):\n",
			       losers, losers == 1 ? "" : "s");
			losers_text(pl, stdout);
		}
	}
	if (o->watch && changed)
		code = watch_after(a, o, pl->profile, id, &before, &effect);
	else if (o->watch && !o->json)
		printf("Nothing changed, so there is nothing to watch.\n");
	canary_window_release(&before);
	if (o->json) {
		json_t *j = report_plan_json(pl);

		json_object_set_new(j, "changed", json_boolean(changed));
		json_object_set_new(j, "entry", json_string(id));
		json_object_set_new(j, "status", json_string(code == EXIT_ROLLED_BACK ? "rolled-back"
							     : changed ? "applied" : "unchanged"));
		json_object_set_new(j, "dry_run", json_false());
		json_object_set_new(j, "loses_at_boot", losers_json(pl));
		if (dflt)
			json_object_set_new(j, "file", json_pack("{s:s, s:s}", "path", TXN_DEFAULT_MANAGED_FILE, "after",
								 "removed"));
		json_object_set_new(j, "effect", effect ? json_incref(effect) : json_null());
		json_print(j, stdout);
	}
	json_decref(effect);
	return code;
}

/* --dry-run: the plan, the refusal apply would make, and plainly that
 * nothing changed. */
static int dry_run(const struct cmd_plan *p, const struct apply_opts *o)
{
	const struct plan *pl = &p->plan;
	bool dflt = is_default(pl), file_exists = managed_file_exists();
	size_t losers = dflt ? 0 : count_losers(pl);

	if (o->json) {
		json_t *j = report_plan_json(pl);

		json_object_set_new(j, "changed", json_false());
		json_object_set_new(j, "dry_run", json_true());
		json_object_set_new(j, "loses_at_boot", losers_json(pl));
		json_object_set_new(j, "would_refuse", json_boolean(losers && !o->allow_override));
		if (dflt)
			json_object_set_new(j, "file", json_pack("{s:s, s:s}", "path", TXN_DEFAULT_MANAGED_FILE, "after",
								 file_exists ? "removed" : "absent"));
		return json_print(j, stdout) < 0 ? EXIT_FAILED : EXIT_OK;
	}
	if (dflt)
		default_text(p, file_exists, stdout);
	else
		report_plan_text(pl, &p->s, stdout);
	if (losers) {
		printf("\napply would %s: %zu key%s would lose at boot to another file:\n",
		       o->allow_override ? "go ahead (--allow-boot-override)" : "refuse", losers, losers == 1 ? "" : "s");
		losers_text(pl, stdout);
	}
	if (o->watch)
		watch_too_short(pl, o->watch);
	printf("\nDry run: nothing changed (no runtime value, no file, no history entry).\n");
	return EXIT_OK;
}

int cmd_apply(const struct cli_args *a)
{
	struct apply_opts o = { .json = cli_format_is(a, "json"), .dry_run = a->dry_run };
	struct cmd_plan p;
	int code;

	for (size_t i = 0; i < a->n_opts; i++) {
		if (a->opts[i].id == OPT_YES)
			o.yes = true;
		else if (a->opts[i].id == OPT_ALLOW_BOOT_OVERRIDE)
			o.allow_override = true;
		else if (a->opts[i].id == OPT_WATCH && parse_duration(a->opts[i].value, &o.watch) < 0)
			return log_errx(EXIT_UNKNOWN, "invalid --watch '%s': a duration from %d s to %d h, e.g. 30s, 5m",
					a->opts[i].value, WATCH_MIN, WATCH_MAX / 3600);
	}
	if (!o.dry_run)
		cmd_resolve_watch(NULL, NULL);
	/* Plan only now: recovery may just have changed the runtime values. */
	if (cmd_plan_make(a, a->pos[0], &p) < 0)
		code = EXIT_UNKNOWN;
	else if (o.dry_run)
		code = dry_run(&p, &o);
	else
		code = run_apply(a, &p, &o);
	cmd_plan_release(&p);
	return code;
}
