/* check --all-netns: every network namespace of the host, entered in turn,
 * each with its census, its per-namespace keys, the keys the host's boot
 * configuration tunes but the namespace leaves at the kernel's default, its
 * CLOSE_WAIT holder with the container it runs in, and its findings.  The
 * loop and the per-namespace summary live here; finding the namespaces and
 * entering them in snapshot/netns.c; printing in report/report_netns.c. */
#ifndef TCPTUNE_ADVISOR_NETNS_SCAN_H
#define TCPTUNE_ADVISOR_NETNS_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netns.h"
#include "rule.h"
#include "snapshot.h"
#include "tcpstates.h"

/* A per-namespace key the host's boot configuration sets but this
 * namespace holds at the value every new namespace starts with. */
struct netns_untuned {
	size_t key;			/* key table index */
	long long value[2];		/* here: the kernel's default */
	long long boot[2];		/* what boot sets on the host */
	const char *file;		/* where (points into the host snapshot's boot) */
	unsigned line;
};

struct netns_finding {
	const struct rule *rule;
	char *title;			/* interpolated in this namespace */
};

struct netns_result {
	struct netns_entry e;
	char container[160];		/* from the cgroup of e.pid, "" unknown */
	int err;			/* <0: could not be entered or read (errno) */
	bool census_ok;
	uint64_t states[TCPS_MAX + 1];
	uint64_t total;
	struct snap_sysctl *keys;	/* key_count entries; per-namespace keys only */
	struct netns_untuned *untuned;
	size_t n_untuned;
	struct netns_finding *findings;	/* per-namespace findings, not ignored ones */
	size_t n_findings;
	int worst;			/* worst severity, -1 none */
	/* The biggest CLOSE_WAIT holder, when there is one. */
	uint64_t close_wait;
	int cw_pid;			/* 0: none attributed */
	char cw_comm[64];
	uint32_t cw_count;
	char cw_container[160];
};

struct netns_scan {
	struct netns_result *v;		/* worst first: severity, CLOSE_WAIT, untuned, sockets */
	size_t n;
	size_t n_untuned;		/* namespaces with at least one untuned key */
	size_t n_failed;		/* namespaces that could not be read */
	uint32_t unreadable;		/* processes whose namespace could not be seen */
	double seconds;			/* time the scan took */
};

/* Scan every namespace.  The host (current) namespace is summarised from
 * host and host_findings, already taken; the others are entered with setns()
 * (CAP_SYS_ADMIN), snapshotted and evaluated, and left again.  host's boot
 * configuration decides what "tuned" means.  Returns 0 or a negative errno
 * (-ENOMEM; or the error of coming back to the current namespace, after
 * which nothing else may run). */
int netns_scan_run(struct netns_scan *ret, const struct rule_set *rules, const struct snapshot *host,
		   const struct findings *host_findings, char *const *ignore, size_t n_ignore);
void netns_scan_release(struct netns_scan *sc);

/* Is this rule judged per namespace: does its condition read a fact of the
 * namespace (SCOPE_NETNS) and no fact of the configuration files, which
 * describe the host's boot, not a container's? */
bool netns_rule_applies(const struct rule *r);

#endif
