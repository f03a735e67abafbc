/* The previous check: a small state file that `check` writes after its
 * report, per boot (kernel boot_id) and per network namespace, holding the
 * time and the counters it saw (TcpExt, and conntrack's statistics as
 * ct_<column>).  The next check of the same boot and namespace turns it
 * into evidence that a counter rose recently (delta.tcpext.*,
 * delta.ctstat.*, delta.seconds), and phrases each counter's evidence for
 * the findings (evidence.tcpext.*, evidence.ctstat.*): a rate while
 * sampling, the increase since the previous check, or the total since boot
 * as history.  Where the file lives and why it is trusted: README
 * "Evidence: rates, the previous check, history". */
#ifndef TCPTUNE_ADVISOR_SNAP_STATE_H
#define TCPTUNE_ADVISOR_SNAP_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

#define STATE_MAGIC "tcptune-check-state 1"
#define STATE_MAX_COUNTERS 64	/* more than tcpext_names has, for later versions */
/* The file is a few hundred bytes; anything larger is not ours. */
#define STATE_MAX_BYTES 8192
/* A previous check older than this is not "recent": an increase over more
 * than a day is history, not evidence that something happens now. */
#define STATE_MAX_AGE_S (24 * 3600)
/* State files of other namespaces (containers long gone) not touched for a
 * week are removed when a check writes its own, so the directory stays small. */
#define STATE_PRUNE_AGE_S (7 * 24 * 3600)

struct state_counter {
	char name[48];
	uint64_t value;
	int64_t since;		/* wall clock (s since the epoch) of the first check that saw this value */
};

struct check_state {
	char boot_id[40];	/* /proc/sys/kernel/random/boot_id */
	uint64_t netns_cookie;	/* SO_NETNS_COOKIE, 0 when unknown */
	int64_t uptime_cs;	/* /proc/uptime at the check, centiseconds */
	int64_t time;		/* wall clock at the check, s since the epoch */
	struct state_counter c[STATE_MAX_COUNTERS];
	size_t n;
};

/* Parse a state file's text.  Returns 0, or -EINVAL (not a state file,
 * unknown or repeated line, bad number) with *ret_line naming the line. */
int check_state_parse(const char *buf, size_t len, struct check_state *ret, unsigned *ret_line);

/* Format st into buf (cap bytes incl. NUL).  Returns the length, or
 * -ENOSPC when it does not fit. */
int check_state_format(const struct check_state *st, char *buf, size_t cap);

/* The counter called name in st, or NULL. */
const struct state_counter *check_state_find(const struct check_state *st, const char *name);

/* Where this check's state lives and whether it may be written: the
 * directory (README "Evidence"), the file name within it. */
struct state_place {
	char dir[PATH_MAX];
	char name[64];
	bool in_root;		/* --root: read inside DIR, never written */
	bool known;		/* false: no place (no HOME), no state at all */
};

/* After the snapshots (and sampling) of check: read the previous check of
 * this boot and namespace, set uptime.seconds, delta.seconds,
 * delta.tcpext.* and evidence.tcpext.* in s, and fill *ret_cur with this
 * check's state for snap_state_save().  A missing file is the first check;
 * a corrupt, foreign or too old one is ignored with a note.  Returns 0, or
 * -ENOMEM. */
int snap_state_load(struct snapshot *s, struct state_place *place, struct check_state *ret_cur);

/* Write cur atomically (mode 0600, never through a symlink) where place
 * says.  Returns 0 (also when place says not to write), or a negative
 * errno the caller reports as a note-level warning. */
int snap_state_save(const struct state_place *place, const struct check_state *cur);

#endif
