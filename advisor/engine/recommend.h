/* Which profile fits this machine: the profiles whose `match` holds on the
 * snapshot; the most specific (its condition reads the most facts) wins,
 * ties by name.  When none matches, "default". */
#ifndef TCPTUNE_ADVISOR_RECOMMEND_H
#define TCPTUNE_ADVISOR_RECOMMEND_H

#include "profile.h"
#include "snapshot.h"

struct recommendation {
	const struct profile *profile;	/* NULL when not even "default" exists */
	char reason[768];
	char error[256];		/* a match that could not be evaluated, if any */
};

/* Returns 0 or -ENOMEM. */
int recommend(const struct profile_set *set, const struct snapshot *s, struct recommendation *ret);

#endif
