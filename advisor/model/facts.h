/* Fact names: the one list of everything rules, JSON and reports can see.
 * Static facts are an enum with a table; sysctl.<key>, sockets.<state> and
 * tcpext.<Counter> facts are derived from the key table, the state table and
 * the TcpExt counter table, so each name has exactly one source. */
#ifndef TCPTUNE_ADVISOR_FACTS_H
#define TCPTUNE_ADVISOR_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fact_type { FT_INT, FT_STR };

enum fact_scope {
	SCOPE_NETNS,		/* this network namespace */
	SCOPE_HOST,		/* the whole host, all namespaces */
	SCOPE_FILES,		/* configuration files */
	SCOPE_KERNEL,		/* the running kernel */
};

enum {
	F_KERNEL_VERSION,
	F_KERNEL_RELEASE,
	F_KERNEL_HZ,
	F_SOCKETS_TOTAL,
	F_SOCKETS_ORPHANS,
	F_SOCKETS_UNACCEPTED,
	F_SOCKETS_TW_MINISOCKS,
	F_SOCKSTAT_INUSE,
	F_SOCKSTAT_INUSE6,
	F_SOCKSTAT_ORPHAN,
	F_SOCKSTAT_TW,
	F_SOCKSTAT_ALLOC,
	F_SOCKSTAT_MEM_PAGES,
	F_TW_INCOMING,
	F_TW_OUTGOING,
	F_TW_MAX_PER_DEST,
	F_TW_TOP_REMOTE,
	F_PORTS_LOW,
	F_PORTS_HIGH,
	F_PORTS_RANGE_SIZE,
	F_PORTS_MAX_DEST_USAGE,
	F_PORTS_MAX_DEST_USAGE_PCT,
	F_PORTS_TOP_REMOTE,
	F_CW_MAX_PER_PROCESS,
	F_CW_PROCESSES,
	F_CW_WITH_UNREAD,
	F_CW_UNATTRIBUTED,
	F_CW_TOP_PID,
	F_CW_TOP_COMM,
	F_CW_TOP_HOLDER,
	F_CW_TOP_COUNT,
	F_CW_OTHERS,
	F_CW_UNATTRIBUTED_MAX_PER_UID,
	F_CW_UNATTRIBUTED_TOP_UID,
	F_CW_GROWTH_PID,
	F_CW_GROWTH_COMM,
	F_CW_GROWTH_COUNT,
	F_CW_GROWTH_PER_MIN,
	F_CW_GROWTH_NOTE,
	F_NAT_IP_FORWARD,
	F_NAT_CONNTRACK_LOADED,
	F_NAT_NAT_LOADED,
	F_NAT_IP6_FORWARD,
	F_NAT_UPLINKS,
	F_NAT_CONTAINER_BRIDGES,
	F_NAT_GATEWAY,
	F_NAT_CONNTRACK_COUNT,
	F_NAT_CONNTRACK_MAX,
	F_SYSCTLD_STALE,
	F_SYSCTLD_DRIFT,
	F_SYSCTLD_ORDER_CONFLICTS,
	F_SYSCTLD_REAPPLIERS,
	F_SYSCTLD_MANAGED_OVERRIDDEN,
	F_HARMFUL_NOW,
	F_HARMFUL_NOW_LIST,
	F_HARMFUL_BOOT,
	F_HARMFUL_BOOT_LIST,
	F_HARMFUL_WHY,
	F_SYSCTLD_DRIFT_KEYS,
	F_SYSCTLD_DRIFT_UNSAFE,
	F_SYSCTLD_REJECTED,
	F_SYSCTLD_REJECTED_FIRST,
	F_TXN_PENDING,
	F_TXN_PENDING_ID,
	F_TXN_LAST_ID,
	F_TXN_LAST_WHAT,
	F_TXN_LAST_TIME,
	F_PATH_IDLE_TIMEOUT,
	F_PATH_IDLE_SOURCE,
	F_SAMPLES,
	F_SAMPLE_SECONDS,
	F_UPTIME_SECONDS,
	F_COUNTERS_SINCE,
	F_DELTA_SECONDS,
	F_LISTEN_FULLEST_PCT,
	F_LISTEN_FULLEST_QUEUE,
	F_LISTEN_FULLEST_BACKLOG,
	F_LISTEN_FULLEST_PORT,
	F_LISTEN_FULLEST_PROCESS,
	F_LISTEN_SMALL_COUNT,
	F_LISTEN_SMALL_BACKLOG,
	F_LISTEN_SMALL_QUEUE,
	F_LISTEN_SMALL_PORT,
	F_LISTEN_SMALL_PROCESS,
	F_SOCKETS_STALLED,
	F_SOCKETS_STALLED_MAX_RETRANS,
	F_PORTS_BIND_HELD,
	F_PORTS_BIND_HELD_PCT,
	F_PORTS_BIND_TOP_REMOTE,
	F__STATIC_COUNT
};

struct fact_def {
	const char *name;
	enum fact_type type;
	enum fact_scope scope;
	const char *help;	/* short, for explain and the report */
};

/* TcpExt counters read from /proc/net/netstat, by their kernel names. */
extern const char *const tcpext_names[];
extern const size_t tcpext_count;

/* Connection-tracking statistics of this namespace read from
 * /proc/net/stat/nf_conntrack (one row per CPU, summed), by their column
 * names (docs/KERNEL.md §19.1). */
extern const char *const ctstat_names[];
extern const size_t ctstat_count;

/* The counters judged by their increase (rates while sampling, the
 * previous check, evidence phrases): the TcpExt ones first (idx <
 * tcpext_count, same index), then the conntrack statistics. */
size_t counter_count(void);
const char *counter_state_name(size_t idx);	/* its name in the check state file */
size_t fact_id_counter(size_t idx);		/* tcpext.<Counter> or ctstat.<column> */
size_t fact_id_rate_counter(size_t idx);	/* rate.<that> */
size_t fact_id_delta_counter(size_t idx);	/* delta.<that> */
size_t fact_id_evidence_counter(size_t idx);	/* evidence.<that> */

/* Number of facts, static and derived. */
size_t facts_count(void);

/* Definition of fact id (0 <= id < facts_count()). */
const struct fact_def *fact_def(size_t id);

/* Id of the fact called name, or -ENOENT. */
int fact_lookup(const char *name);

/* Ids of the derived facts. */
size_t fact_id_sysctl(size_t key_idx);	/* sysctl.<key name> */
size_t fact_id_state(int tcp_state);	/* sockets.<state fact name>, kernel state number */
size_t fact_id_tcpext(size_t idx);	/* tcpext.<Counter> */
size_t fact_id_rate_tcpext(size_t idx);	/* rate.tcpext.<Counter>: per second while sampling */
size_t fact_id_rate_state(int tcp_state);	/* rate.sockets.<state>: change per second while sampling */
size_t fact_id_delta_tcpext(size_t idx);	/* delta.tcpext.<Counter>: increase since the previous check */
size_t fact_id_evidence_tcpext(size_t idx);	/* evidence.tcpext.<Counter>: how recent, as a phrase */

const char *fact_scope_name(enum fact_scope s);

#endif
