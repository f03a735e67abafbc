/* apply --watch, the canary: the figures that say whether a change helped
 * or hurt, measured over a window before the change and one after, and the
 * rule that decides whether the change is rolled back (README "apply
 * --watch").  Figures are gauges (the highest value seen in the window),
 * piles (the value in the window's last snapshot) and counter rates (per
 * minute between the window's first and last snapshot, with the first
 * values kept by engine/sample.c's sampler). */
#ifndef TCPTUNE_ADVISOR_CANARY_H
#define TCPTUNE_ADVISOR_CANARY_H

#include <stdbool.h>
#include <stddef.h>

#include "sample.h"
#include "snapshot.h"

#define CANARY_MAX 16

enum canary_change { CANARY_UNKNOWN, CANARY_SAME, CANARY_BETTER, CANARY_WORSE };

/* How a window's snapshots make one value of a figure. */
enum canary_kind {
	CANARY_PEAK,	/* a gauge: the highest value in the window */
	CANARY_PILE,	/* a gauge that drains slowly: the value in the last snapshot */
	CANARY_RATE,	/* a counter: per minute between the first and last snapshot */
};

/* One figure's definition (canary.c's table). */
struct canary_def {
	const char *fact;	/* a gauge fact, or tcpext.<Counter> for a rate */
	enum canary_kind kind;
	const char *unit;	/* after the number: "%", "/min", "" for a count */
	const char *what;	/* what a rise means, for the verdict */
};

/* Snapshots of one window, fed in order. */
struct canary_window {
	struct sampler sm;		/* the first snapshot's counters and time */
	double value[CANARY_MAX];	/* after canary_window_finish() */
	bool have[CANARY_MAX];
};

struct canary_figure {
	const struct canary_def *def;
	double before, after;
	bool have_before, have_after;
	enum canary_change change;
};

struct canary_result {
	struct canary_figure fig[CANARY_MAX];
	size_t n;
	bool worse, better;	/* some figure rose past its margin / fell past it */
	bool roll_back;		/* worse and nothing better (the rule) */
	char why[512];		/* the figures that decided, one phrase */
};

/* The figures, in order, and how many. */
extern const struct canary_def canary_defs[];
extern const size_t canary_count;

/* The rule as one sentence, for the history and the man page. */
extern const char canary_rule[];

void canary_window_init(struct canary_window *w);
void canary_window_release(struct canary_window *w);

/* Record snapshot s (taken with snapshot_take()) at time t, in seconds.
 * 0, -ENOMEM, or -E2BIG past SAMPLE_MAX snapshots. */
int canary_window_add(struct canary_window *w, const struct snapshot *s, double t);

/* Close the window; last is the last snapshot added.  Rates need two
 * snapshots at different times, otherwise they stay unknown; a pile is
 * unknown when last lacks its fact. */
void canary_window_finish(struct canary_window *w, const struct snapshot *last);

/* Compare two finished windows. */
void canary_compare(const struct canary_window *before, const struct canary_window *after,
		    struct canary_result *ret);

const char *canary_change_name(enum canary_change c);

/* The shortest watch, in seconds, over which the FIN_WAIT2 pile can show a
 * change of tcp_fin_timeout from old_t to new_t as better: orphans already
 * waiting keep their old timer (docs/KERNEL.md §23.4), so the pile shrinks
 * by the figure's margin only after the new lifetime plus that share of the
 * old one has passed.  0 when the change does not lower the lifetime, or
 * when old_t is above 60 s (then old orphans' second phase takes the new
 * value, and no fixed wait is claimed). */
long long canary_fin_timeout_settle(long long old_t, long long new_t);

#endif
