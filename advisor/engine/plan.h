/* What applying a profile would do on this machine: per key the runtime
 * value, what boot sets now (both orders), the profile's value and reason,
 * whether anything changes, why a key is skipped, and what would still win
 * over tcptune's file at boot.  Shared by diff, apply --dry-run and apply. */
#ifndef TCPTUNE_ADVISOR_PLAN_H
#define TCPTUNE_ADVISOR_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "keys.h"
#include "snapshot.h"

struct plan_input {
	size_t key;		/* key table index */
	const char *value;	/* validated profile value */
	const char *why;
};

struct plan_row {
	size_t key;
	bool present;				/* the running kernel (this netns) has the key */
	char runtime[64];			/* current value, normalized */
	char target[64];			/* the profile's value, normalized */
	const char *why;
	bool change;				/* runtime differs from target */
	const char *skip;			/* why it is not applied here, NULL when applied */
	char skipbuf[128];
	const struct sysctld_assign *boot[ORDER__COUNT];	/* what boot sets now */
	const struct sysctld_assign *override[ORDER__COUNT];	/* what would beat tcptune's file at boot */
	bool correction;			/* not the profile's: a harmful value corrected (issue #16) */
	bool reserve;				/* not the profile's: ports reserved for the new range */
	char whybuf[512];			/* why, for a row the plan adds itself */
};

/* A listener inside the new ephemeral range (plan.ports). */
struct plan_port_hazard {
	unsigned port;
	char who[96];		/* "nginx (pid 12)", "an unknown process" */
	bool reserved;		/* in ip_local_reserved_ports already */
	bool newly;		/* outside the current range, inside the new one */
};

/* The preflight of a plan that changes ip_local_port_range (issue #16,
 * docs/KERNEL.md §20): what this host has inside the new range. */
struct plan_ports {
	bool range_changes;
	long long low, high;			/* the new range */
	bool listeners_known;			/* the sockets were read */
	struct plan_port_hazard *hazards;	/* TCP listeners inside the new range, by port */
	size_t n_hazards;
	char reserved_inside[KEY_PORT_LIST_MAX + 8];	/* reserved already, inside the new range */
	bool kubelet;				/* a kubelet runs: NodePorts 30000-32767 */
	char note[256];				/* why no reservation is planned, when one was needed */
};

/* A listener whose backlog equals somaxconn now (plan.somaxconn). */
struct plan_clamped {
	char where[64];		/* "127.0.0.1:8080", "[::]:443" */
	char who[96];		/* "nginx (pid 12)", "an unknown process" */
	unsigned backlog;
};

/* The most clamped listeners a plan names; the rest are counted. */
#define PLAN_CLAMPED_MAX 16

/* A plan that raises net.core.somaxconn (docs/KERNEL.md §22): a listener
 * keeps the backlog listen() gave it until it calls listen() again, so the
 * listeners whose backlog equals somaxconn now (probably cut to it) need
 * their program restarted to get a longer queue. */
struct plan_somaxconn {
	bool raises;
	long long from, to;			/* somaxconn now, the plan's value */
	bool listeners_known;			/* backlogs read (sock_diag) */
	struct plan_clamped clamped[PLAN_CLAMPED_MAX];	/* by census order */
	size_t n_clamped;
	size_t n_more;				/* clamped listeners beyond PLAN_CLAMPED_MAX */
};

struct plan {
	char profile[64];
	struct plan_row *rows;
	size_t n;
	size_t n_change, n_skip;
	size_t n_corrections;			/* rows added for harmful values */
	struct plan_ports ports;
	struct plan_somaxconn somaxconn;
	char *file_content;			/* the managed file's new content */
	bool file_unchanged;			/* the managed file already holds exactly that */
};

/* Build the plan from a snapshot taken with snapshot_take_config() (runtime
 * and boot) and the profile's settings.  Whatever the profile, every
 * writable key it leaves alone whose runtime value is harmful
 * (key_value_harmful(): outside the apply range, the judge of the
 * harmful-value finding) is corrected too, to the nearest value of its apply
 * range, with the finding's reason (row.correction).  When the profile
 * changes ip_local_port_range, the plan names the TCP listeners (with their
 * process, on the live system) and the reserved ports inside the new range,
 * a running kubelet's NodePort range, and reserves the listeners' ports in
 * the same transaction: one row for ip_local_reserved_ports, first (it is
 * written, and read at boot, before the range), whose value is the union of
 * what is reserved now and what it adds (row.reserve).  The sockets come
 * from s's census when s->census_ok.  When the plan raises
 * net.core.somaxconn, plan.somaxconn names the listeners whose backlog
 * equals somaxconn now (with their process, on the live system).  Returns 0
 * or -ENOMEM. */
int plan_build(struct plan *pl, const struct snapshot *s, const char *profile, const struct plan_input *in,
	       size_t n);
void plan_release(struct plan *pl);

#endif
