/* Which profile fits this machine, and how sure that is (issue #16).
 *
 * The profiles whose `match` holds on the snapshot are candidates; the most
 * specific (its condition reads the most facts) wins, ties by name.  When
 * none matches, "default".  With several samples (recommend --samples N), a
 * profile is proposed only if its match held in every sample: one that held
 * in some only is a burst, and the answer stays "default".
 *
 * The confidence says how much evidence stood behind the answer:
 *   high    a profile's match held in every one of N >= 2 samples; or none
 *           held in any of them, with enough connections to judge
 *   medium  one snapshot: a match held, or none held with enough connections
 *   low     none held and too few connections to judge (RECOMMEND_MIN_CONNS),
 *           or a match held in some samples only
 * and `basis` lists the facts that decided it. */
#ifndef TCPTUNE_ADVISOR_RECOMMEND_H
#define TCPTUNE_ADVISOR_RECOMMEND_H

#include "profile.h"
#include "snapshot.h"

/* Fewer connections (sockets of any state but LISTEN) than this is thin
 * evidence: every TIME_WAIT threshold of the shipped profiles starts at 100,
 * and an idle machine (sshd, apt's few dozen connections to its mirrors)
 * stays below it, so its default says nothing about the load it serves. */
#define RECOMMEND_MIN_CONNS 100

enum recommend_confidence { CONFIDENCE_LOW, CONFIDENCE_MEDIUM, CONFIDENCE_HIGH };

/* How often each profile's match held over the samples (recommend --samples). */
struct recommend_tally {
	size_t n;		/* samples seen */
	size_t *held;		/* per profile of the set, in its order */
	size_t n_profiles;
};

struct recommendation {
	const struct profile *profile;	/* NULL when not even "default" exists */
	char reason[768];
	char error[256];		/* a match that could not be evaluated, if any */
	enum recommend_confidence confidence;
	char confidence_why[512];	/* one sentence: why this confidence */
	char basis[512];		/* the facts that decided it, "name=value, ..." */
	size_t samples;			/* snapshots behind it (1 without --samples) */
};

/* Returns 0 or -ENOMEM. */
int recommend_tally_init(struct recommend_tally *t, const struct profile_set *set);
void recommend_tally_release(struct recommend_tally *t);
/* Count which matches hold on s (one sample). */
void recommend_tally_add(struct recommend_tally *t, const struct profile_set *set, const struct snapshot *s);

/* Recommend from s (the last snapshot) and, when tally is not NULL and has
 * two samples or more, from how often each match held.  Returns 0. */
int recommend_samples(const struct profile_set *set, const struct snapshot *s, const struct recommend_tally *tally,
		      struct recommendation *ret);

/* One snapshot: recommend_samples(set, s, NULL, ret). */
int recommend(const struct profile_set *set, const struct snapshot *s, struct recommendation *ret);

const char *recommend_confidence_name(enum recommend_confidence c);

#endif
