/* The snapshot: one struct filled by independent readers (snap_*.c) and
 * consumed by rules and reports.  Readers gather: a source they cannot read
 * leaves its facts missing and adds a note saying what and why. */
#ifndef TCPTUNE_ADVISOR_SNAPSHOT_H
#define TCPTUNE_ADVISOR_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "census.h"
#include "facts.h"
#include "sysctld.h"

struct fact_val {
	bool present;
	int64_t i;
	char *s;		/* FT_STR, owned */
};

struct snap_note {
	char *source;		/* "sockets", "closewait", "sysctl", ... */
	char *text;		/* what could not be seen and why */
	bool bad_input;		/* malformed or unreadable input, not just absent: check exits 3 */
};

/* Runtime value of one tracked sysctl, by key table index. */
struct snap_sysctl {
	bool present;		/* false: the key does not exist here */
	long long v[2];		/* v[1] only for KEY_INT_PAIR */
	char raw[64];		/* as read, stripped */
	int err;		/* negative errno when present but unreadable */
};

/* A process holding sockets the snapshot asked about (snap_owners.c). */
struct sock_holder {
	int pid;
	char comm[64];		/* escaped for display (str_escape) */
};

struct snapshot {
	char *root;		/* "/" or the --root directory */
	int rootfd;		/* O_PATH|O_DIRECTORY fd of root */
	bool live;		/* root is "/": sockets come from netlink */

	char kernel_release[128];
	long kernel_version;	/* major*65536 + minor*256 + patch, -1 unknown */
	int kernel_hz;		/* CONFIG_HZ, 0 unknown (snap_kernel.c) */
	const char *kernel_hz_source;	/* "proc/config.gz", "boot/config" */

	struct fact_val *facts;	/* facts_count() entries */
	struct snap_sysctl *sysctl;	/* key_count entries */
	struct census census;
	bool census_ok;
	struct sysctld boot;
	bool boot_ok;

	const char *sockets_source;	/* "netlink", "proc" or NULL when unavailable */
	const char *netns;		/* --netns: the namespace audited (its path), else NULL */
	unsigned long netns_inum;	/* live: the audited namespace's inode ("net:[N]" of
					 * /proc/self/ns/net, proc_netns_inum()), 0 unknown */
	const struct snap_sysctl *host_keys;	/* --netns: host-wide keys read from the host */
	bool sockets_approximate;	/* NLM_F_DUMP_INTR seen */
	/* The holders of the census's CLOSE_WAIT and listening sockets from
	 * the BPF walk (snap_owners.c): owned_inodes sorted, owned_by[i] the
	 * index in holders of the process holding owned_inodes[i] (the lowest
	 * pid, when several do), -1 none; holders in the order of their
	 * first socket in the walk.  owners_walk 0 not made, 1 made, else the
	 * negative errno it failed with (-EOPNOTSUPP also for
	 * TCPTUNE_OWNERS=proc, snap_owners_env()). */
	uint64_t *owned_inodes;
	int *owned_by;
	size_t n_owned;
	struct sock_holder *holders;
	size_t n_holders;
	int owners_walk;
	/* snapshot_take(), whose readers walk for the owners, is running: the
	 * census may start that walk ahead (snap_owners_ahead()); not for the
	 * census alone (snapshot_take_sockets()). */
	bool owners_ahead;
	FILE *sockdiag_record;		/* debug: record raw dumps here (fixtures) */

	struct snap_note *notes;
	size_t n_notes;
};

/* What a snapshot looks at, as the command line gave it: the root directory
 * (--root, "/" live) and, with --netns, the namespace entered (its path) and
 * the host-wide keys read on the host before entering it (key_count
 * entries).  Passed to every snapshot; nothing is kept in globals. */
struct snap_target {
	const char *root;
	const char *netns;
	const struct snap_sysctl *host_keys;
};

/* Open t->root and allocate.  Returns 0, or a negative errno when the root
 * cannot be opened (the caller reports it and exits 3). */
int snapshot_init(struct snapshot *s, const struct snap_target *t);
void snapshot_release(struct snapshot *s);

/* Run every reader.  Returns 0 when the census and the sysctl reader worked,
 * a negative errno when the snapshot is unusable. */
int snapshot_take(struct snapshot *s);

/* Only kernel, sysctl and boot configuration (for explain and diff). */
int snapshot_take_config(struct snapshot *s);

/* Add the socket census to a configuration snapshot (the plan's port-range
 * preflight); after snapshot_take_config().  Returns 0 or a negative errno,
 * notes as the sockets reader makes them. */
int snapshot_take_sockets(struct snapshot *s);

/* path.idle_timeout: the shorter of declared (tcptune.yaml's idle_timeout,
 * 0 when not declared) and conntrack's established timeout, with its
 * source; missing when neither is known.  Returns 0 or -ENOMEM. */
int snapshot_set_path_idle(struct snapshot *s, long long declared);

void snap_set_int(struct snapshot *s, size_t id, int64_t v);
int snap_set_str(struct snapshot *s, size_t id, const char *v);
const struct fact_val *snap_get(const struct snapshot *s, size_t id);

/* Since when s's TcpExt counters count, as words after "since": "boot" in
 * the initial network namespace, "this network namespace was created" in
 * another one (the counters are per namespace, zeroed at its creation:
 * docs/KERNEL.md §16.1).  The initial namespace is the one where
 * net.ipv4.tcp_max_orphans exists (registered for it alone, §2.2); when no
 * net.ipv4 key could be read at all it is unknown, and both are said. */
const char *snap_counters_since(const struct snapshot *s);

/* The live system's processes (/proc, not --root): "nginx (pid 12)" for
 * the process holding listener l's socket, or "an unknown process"; s's
 * namespace's processes are looked at first. */
void snap_listener_owner(const struct snapshot *s, const struct census_listener *l, char *who, size_t len);

/* Add a note: what could not be seen and why.  Out of memory is ignored: a
 * lost note must not stop the snapshot. */
void snap_note(struct snapshot *s, const char *source, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Same, for input that is there but malformed or unreadable. */
void snap_bad_input(struct snapshot *s, const char *source, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* rel as the user knows it: "/proc/net/tcp", or "DIR/proc/net/tcp" under
 * --root.  Returns one of a few rotating static buffers. */
const char *snap_path(const struct snapshot *s, const char *rel);

#endif
