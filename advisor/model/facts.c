/* The fact registry; see facts.h.  Derived names are built once from the key,
 * state and TcpExt tables so that no fact name is written twice. */
#include "facts.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "tcpstates.h"

/* TcpExt counters worth a fact (names as in /proc/net/netstat; meaning in
 *   docs/KERNEL.md §9.4).  Counters absent on the running kernel stay missing. */
const char *const tcpext_names[] = {
	"TW", "TWRecycled", "TWKilled", "TCPTimeWaitOverflow",
	"TCPAbortOnMemory", "TCPAbortOnTimeout", "TCPAbortOnClose", "TCPAbortOnData",
	"PAWSActive", "PAWSEstab", "PAWSTimewait",
	"ListenOverflows", "ListenDrops",
	"TCPReqQFullDoCookies", "TCPReqQFullDrop", "SyncookiesSent",
	"TCPKeepAlive", "TCPACKSkippedTimeWait",
	"TCPAbortOnLinger",
};
const size_t tcpext_count = sizeof(tcpext_names) / sizeof(tcpext_names[0]);

/* Columns of /proc/net/stat/nf_conntrack worth a fact (docs/KERNEL.md
 * §19.1): packets dropped for want of an entry, entries evicted from a
 * full table, entries that could not be inserted, packets conntrack found
 * invalid.  Their names in the check state file get a "ct_" prefix, which
 * no TcpExt counter has. */
const char *const ctstat_names[] = { "drop", "early_drop", "insert_failed", "invalid" };
const size_t ctstat_count = sizeof(ctstat_names) / sizeof(ctstat_names[0]);
static char ctstat_state_names[sizeof(ctstat_names) / sizeof(ctstat_names[0])][24];

static const struct fact_def static_defs[F__STATIC_COUNT] = {
	[F_KERNEL_VERSION]        = { "kernel.version", FT_INT, SCOPE_KERNEL, "major*65536+minor*256+patch" },
	[F_KERNEL_RELEASE]        = { "kernel.release", FT_STR, SCOPE_KERNEL, "release string" },
	[F_KERNEL_HZ]             = { "kernel.hz", FT_INT, SCOPE_KERNEL,
		"CONFIG_HZ, from proc/config.gz or boot/config-RELEASE; missing when neither tells" },
	[F_SOCKETS_TOTAL]         = { "sockets.total", FT_INT, SCOPE_NETNS, "TCP sockets of all states" },
	[F_SOCKETS_ORPHANS]       = { "sockets.orphans", FT_INT, SCOPE_NETNS,
		"orphaned full sockets (no owner; FIN_WAIT1/FIN_WAIT2/CLOSING/LAST_ACK), what tcp_max_orphans limits" },
	[F_SOCKETS_UNACCEPTED]    = { "sockets.unaccepted", FT_INT, SCOPE_NETNS,
		"connections waiting in a listener's accept queue" },
	[F_SOCKETS_TW_MINISOCKS]  = { "sockets.tw_minisocks", FT_INT, SCOPE_NETNS,
		"timewait minisockets (TIME_WAIT + orphaned FIN_WAIT2), what tcp_max_tw_buckets limits" },
	[F_SOCKSTAT_INUSE]        = { "sockstat.inuse", FT_INT, SCOPE_NETNS, "IPv4 full TCP sockets in the tables" },
	[F_SOCKSTAT_INUSE6]       = { "sockstat.inuse6", FT_INT, SCOPE_NETNS, "IPv6 full TCP sockets in the tables" },
	[F_SOCKSTAT_ORPHAN]       = { "sockstat.orphan", FT_INT, SCOPE_HOST, "orphaned TCP sockets, all namespaces" },
	[F_SOCKSTAT_TW]           = { "sockstat.tw", FT_INT, SCOPE_NETNS,
		"timewait minisockets incl. orphaned FIN_WAIT2" },
	[F_SOCKSTAT_ALLOC]        = { "sockstat.alloc", FT_INT, SCOPE_HOST, "allocated TCP sockets, all namespaces" },
	[F_SOCKSTAT_MEM_PAGES]    = { "sockstat.mem_pages", FT_INT, SCOPE_HOST, "TCP memory in pages (compare tcp_mem)" },
	[F_TW_INCOMING]           = { "timewait.incoming", FT_INT, SCOPE_NETNS,
		"TIME_WAIT on a server port: listening, or outside ip_local_port_range (this host closed first as a server)" },
	[F_TW_OUTGOING]           = { "timewait.outgoing", FT_INT, SCOPE_NETNS,
		"TIME_WAIT of outgoing connections (this host closed first as a client)" },
	[F_TW_MAX_PER_DEST]       = { "timewait.max_per_dest", FT_INT, SCOPE_NETNS,
		"outgoing TIME_WAIT to the busiest remote ip:port" },
	[F_TW_TOP_REMOTE]         = { "timewait.top.remote", FT_STR, SCOPE_NETNS, "that remote ip:port" },
	[F_PORTS_LOW]             = { "ports.low", FT_INT, SCOPE_NETNS, "ip_local_port_range low" },
	[F_PORTS_HIGH]            = { "ports.high", FT_INT, SCOPE_NETNS, "ip_local_port_range high" },
	[F_PORTS_RANGE_SIZE]      = { "ports.range_size", FT_INT, SCOPE_NETNS, "ephemeral ports available" },
	[F_PORTS_MAX_DEST_USAGE]  = { "ports.max_dest_usage", FT_INT, SCOPE_NETNS,
		"outgoing sockets of any state to the busiest remote ip:port" },
	[F_PORTS_MAX_DEST_USAGE_PCT] = { "ports.max_dest_usage_pct", FT_INT, SCOPE_NETNS,
		"that count as % of the ephemeral range" },
	[F_PORTS_TOP_REMOTE]      = { "ports.top.remote", FT_STR, SCOPE_NETNS, "that remote ip:port" },
	[F_CW_MAX_PER_PROCESS]    = { "closewait.max_per_process", FT_INT, SCOPE_NETNS,
		"CLOSE_WAIT sockets held by the worst process" },
	[F_CW_PROCESSES]          = { "closewait.processes", FT_INT, SCOPE_NETNS, "processes holding CLOSE_WAIT sockets" },
	[F_CW_WITH_UNREAD]        = { "closewait.with_unread", FT_INT, SCOPE_NETNS,
		"CLOSE_WAIT sockets with unread data before the peer's FIN" },
	[F_CW_UNATTRIBUTED]       = { "closewait.unattributed", FT_INT, SCOPE_NETNS,
		"CLOSE_WAIT sockets whose process could not be found" },
	[F_CW_TOP_PID]            = { "closewait.top.pid", FT_INT, SCOPE_NETNS, "pid of the worst process" },
	[F_CW_TOP_COMM]           = { "closewait.top.comm", FT_STR, SCOPE_NETNS, "its name" },
	[F_CW_TOP_HOLDER]         = { "closewait.top.holder", FT_STR, SCOPE_NETNS,
		"the biggest CLOSE_WAIT holder: a process, or the owner uid of sockets no visible process holds" },
	[F_CW_TOP_COUNT]          = { "closewait.top.count", FT_INT, SCOPE_NETNS, "how many it holds" },
	[F_CW_OTHERS]             = { "closewait.others", FT_STR, SCOPE_NETNS,
		"the next two holders with their counts, as a phrase for titles (\"; then ...\")" },
	[F_CW_UNATTRIBUTED_MAX_PER_UID] = { "closewait.unattributed_max_per_uid", FT_INT, SCOPE_NETNS,
		"most unattributed CLOSE_WAIT sockets owned by one uid" },
	[F_CW_UNATTRIBUTED_TOP_UID] = { "closewait.unattributed_top_uid", FT_INT, SCOPE_NETNS, "that uid" },
	[F_CW_GROWTH_PID]         = { "closewait.growth.pid", FT_INT, SCOPE_NETNS,
		"while sampling: the process whose CLOSE_WAIT count rose in every interval, fastest first" },
	[F_CW_GROWTH_COMM]        = { "closewait.growth.comm", FT_STR, SCOPE_NETNS, "its name" },
	[F_CW_GROWTH_COUNT]       = { "closewait.growth.count", FT_INT, SCOPE_NETNS, "its CLOSE_WAIT count at the end" },
	[F_CW_GROWTH_PER_MIN]     = { "closewait.growth.per_min", FT_INT, SCOPE_NETNS,
		"its CLOSE_WAIT growth per minute (rounded up)" },
	[F_CW_GROWTH_NOTE]        = { "closewait.growth.note", FT_STR, SCOPE_NETNS,
		"for titles: \"; growing by N per minute\" (or naming the growing process when it is not the top "
		"holder); missing without growth" },
	[F_NAT_IP_FORWARD]        = { "nat.ip_forward", FT_INT, SCOPE_NETNS, "net.ipv4.ip_forward" },
	[F_NAT_CONNTRACK_LOADED]  = { "nat.conntrack_loaded", FT_INT, SCOPE_HOST, "connection tracking available" },
	[F_NAT_NAT_LOADED]        = { "nat.nat_loaded", FT_INT, SCOPE_HOST, "NAT available (nf_nat)" },
	[F_NAT_IP6_FORWARD]       = { "nat.ip6_forward", FT_INT, SCOPE_NETNS, "net.ipv6.conf.all.forwarding" },
	[F_NAT_UPLINKS]           = { "nat.uplinks", FT_INT, SCOPE_NETNS,
		"network interfaces backed by a device (physical or virtual NICs), not bridges, veths or tunnels" },
	[F_NAT_CONTAINER_BRIDGES] = { "nat.container_bridges", FT_INT, SCOPE_NETNS,
		"bridges of local containers or VMs (docker0, br-*, cni0, cbr0, podman*, virbr*, lxcbr*, incusbr*, lxdbr*)" },
	[F_NAT_GATEWAY]           = { "nat.gateway", FT_INT, SCOPE_NETNS,
		"forwards and tracks connections between networks: forwarding (IPv4 or IPv6) and conntrack, "
		"and not only for local containers (no container bridge, or two uplinks or more)" },
	[F_NAT_CONNTRACK_COUNT]   = { "nat.conntrack_count", FT_INT, SCOPE_NETNS, "conntrack entries" },
	[F_NAT_CONNTRACK_MAX]     = { "nat.conntrack_max", FT_INT, SCOPE_HOST, "conntrack table size" },
	[F_PATH_IDLE_TIMEOUT]     = { "path.idle_timeout", FT_INT, SCOPE_FILES,
		"shortest known idle timeout on this host's paths, seconds: conntrack's established "
		"timeout or idle_timeout in tcptune.yaml; missing when neither is known" },
	[F_PATH_IDLE_SOURCE]      = { "path.idle_timeout_source", FT_STR, SCOPE_FILES,
		"where path.idle_timeout comes from" },
	[F_SYSCTLD_STALE]         = { "sysctld.stale", FT_INT, SCOPE_FILES,
		"assignments in sysctl.d/sysctl.conf to keys this kernel lacks" },
	[F_SYSCTLD_DRIFT]         = { "sysctld.drift", FT_INT, SCOPE_FILES,
		"tracked keys whose runtime value differs from what boot sets" },
	[F_SYSCTLD_ORDER_CONFLICTS] = { "sysctld.order_conflicts", FT_INT, SCOPE_FILES,
		"tracked keys that systemd-sysctl and sysctl --system set differently" },
	[F_SYSCTLD_REAPPLIERS]    = { "sysctld.reappliers", FT_INT, SCOPE_FILES,
		"programs that rewrite sysctls after boot" },
	[F_SYSCTLD_MANAGED_OVERRIDDEN] = { "sysctld.managed_overridden", FT_INT, SCOPE_FILES,
		"keys set in tcptune's file (/etc/sysctl.d/99-tcptune.conf) that another file wins at boot" },
	[F_HARMFUL_NOW]           = { "harmful.now", FT_INT, SCOPE_NETNS,
		"writable keys whose runtime value is outside the range tcptune applies (the key table's reason)" },
	[F_HARMFUL_NOW_LIST]      = { "harmful.now_list", FT_STR, SCOPE_NETNS, "those keys with their values" },
	[F_HARMFUL_BOOT]          = { "harmful.boot", FT_INT, SCOPE_FILES,
		"boot lines (either program's order) that set a writable key outside that range" },
	[F_HARMFUL_BOOT_LIST]     = { "harmful.boot_list", FT_STR, SCOPE_FILES, "those keys, values and file:line" },
	[F_HARMFUL_WHY]           = { "harmful.why", FT_STR, SCOPE_NETNS, "the first such key's reason" },
	[F_SYSCTLD_DRIFT_KEYS]    = { "sysctld.drift_keys", FT_STR, SCOPE_FILES,
		"the drifting keys: \"key now -> boot (file:line)\", comma-separated" },
	[F_SYSCTLD_DRIFT_UNSAFE]  = { "sysctld.drift_unsafe", FT_STR, SCOPE_FILES,
		"a sentence naming the boot lines `sysctl --system` must not apply as they are (harmful or "
		"refused values); missing when there are none" },
	[F_SYSCTLD_REJECTED]      = { "sysctld.rejected", FT_INT, SCOPE_FILES,
		"lines of sysctl.d/sysctl.conf whose value the kernel refuses for a tracked key at boot" },
	[F_SYSCTLD_REJECTED_FIRST] = { "sysctld.rejected_first", FT_STR, SCOPE_FILES,
		"the first of them: \"file:line: key = value (why)\"" },
	[F_TXN_PENDING]           = { "txn.pending", FT_INT, SCOPE_FILES,
		"unfinished apply/rollback transactions in the backup store" },
	[F_TXN_PENDING_ID]        = { "txn.pending_id", FT_STR, SCOPE_FILES, "the oldest unfinished transaction" },
	[F_TXN_LAST_ID]           = { "txn.last_id", FT_STR, SCOPE_FILES,
		"the newest transaction that changed sysctls (any status but unchanged and corrupt)" },
	[F_TXN_LAST_WHAT]         = { "txn.last_what", FT_STR, SCOPE_FILES, "what it did: \"apply web-server\", \"rollback 0001\"" },
	[F_TXN_LAST_TIME]         = { "txn.last_time", FT_INT, SCOPE_FILES, "when, in seconds since the epoch (UTC)" },
	[F_SAMPLES]               = { "sample.count", FT_INT, SCOPE_KERNEL, "snapshots taken (check --samples)" },
	[F_SAMPLE_SECONDS]        = { "sample.seconds", FT_INT, SCOPE_KERNEL, "time between first and last snapshot" },
	[F_UPTIME_SECONDS]        = { "uptime.seconds", FT_INT, SCOPE_KERNEL,
		"seconds since boot (/proc/uptime): how long the initial network namespace's counters have "
		"been counting" },
	[F_COUNTERS_SINCE]        = { "counters.since", FT_STR, SCOPE_NETNS,
		"since when the TcpExt counters count: \"boot\" in the initial network namespace, \"this "
		"network namespace was created\" in another (docs/KERNEL.md §16.1)" },
	[F_DELTA_SECONDS]         = { "delta.seconds", FT_INT, SCOPE_KERNEL,
		"seconds since the previous check of this boot and network namespace (README \"Evidence\"); "
		"missing without one" },
	[F_LISTEN_FULLEST_PCT]    = { "listen.fullest.pct", FT_INT, SCOPE_NETNS,
		"the fullest listener's accept queue as % of its backlog (sock_diag only)" },
	[F_LISTEN_FULLEST_QUEUE]  = { "listen.fullest.queue", FT_INT, SCOPE_NETNS,
		"connections waiting in its accept queue" },
	[F_LISTEN_FULLEST_BACKLOG] = { "listen.fullest.backlog", FT_INT, SCOPE_NETNS,
		"its backlog (listen() argument clamped to somaxconn)" },
	[F_LISTEN_FULLEST_PORT]   = { "listen.fullest.port", FT_STR, SCOPE_NETNS, "its local address:port" },
	[F_LISTEN_FULLEST_PROCESS] = { "listen.fullest.process", FT_STR, SCOPE_NETNS,
		"the process holding it (\"nginx (pid 812)\"), \"an unknown process\" when not seen" },
	[F_LISTEN_SMALL_COUNT]    = { "listen.small.count", FT_INT, SCOPE_NETNS,
		"listeners whose backlog is at most 1/8 of somaxconn and under 512 (sock_diag only)" },
	[F_LISTEN_SMALL_BACKLOG]  = { "listen.small.backlog", FT_INT, SCOPE_NETNS,
		"of those, the one with most connections waiting: its backlog" },
	[F_LISTEN_SMALL_QUEUE]    = { "listen.small.queue", FT_INT, SCOPE_NETNS, "connections waiting in its accept queue" },
	[F_LISTEN_SMALL_PORT]     = { "listen.small.port", FT_STR, SCOPE_NETNS, "its local address:port" },
	[F_LISTEN_SMALL_PROCESS]  = { "listen.small.process", FT_STR, SCOPE_NETNS, "the process holding it" },
	[F_SOCKETS_STALLED]       = { "sockets.stalled", FT_INT, SCOPE_NETNS,
		"connections with unacknowledged data whose oldest segment was retransmitted 5 times or more "
		"without an ACK: a peer or path that went silent" },
	[F_SOCKETS_STALLED_MAX_RETRANS] = { "sockets.stalled_max_retrans", FT_INT, SCOPE_NETNS,
		"the most retransmissions among them" },
	[F_PORTS_BIND_HELD]       = { "ports.bind_held", FT_INT, SCOPE_NETNS,
		"outgoing sockets on an ephemeral port of the parity bind(0) picks: a port per socket taken "
		"by bind() before connect() (docs/KERNEL.md §19.6)" },
	[F_PORTS_BIND_HELD_PCT]   = { "ports.bind_held_pct", FT_INT, SCOPE_NETNS,
		"that count as % of the ephemeral range" },
	[F_PORTS_BIND_TOP_REMOTE] = { "ports.bind_top.remote", FT_STR, SCOPE_NETNS,
		"the remote ip:port most of them connect to" },
};

#define MAX_DERIVED 256
static struct fact_def all_defs[F__STATIC_COUNT + MAX_DERIVED];
static char derived_names[MAX_DERIVED][96];
static size_t n_defs;
static size_t base_sysctl, base_state, base_rate_state;
/* A counter family's four kinds of fact, each one per counter in a row:
 * the value, its rate while sampling, its increase since the previous
 * check, and the evidence text saying which of these is recent. */
enum { KIND_VALUE, KIND_RATE, KIND_DELTA, KIND_EVIDENCE, KIND__COUNT };
static size_t base_tcpext_ids[KIND__COUNT], base_ctstat_ids[KIND__COUNT];

static void add_derived(const char *prefix, const char *name, enum fact_type t, enum fact_scope sc,
			const char *help)
{
	size_t d = n_defs - F__STATIC_COUNT;

	/* The tables are fixed at build time; the test suite checks they fit. */
	if (d >= MAX_DERIVED)
		return;
	snprintf(derived_names[d], sizeof(derived_names[d]), "%s%s", prefix, name);
	all_defs[n_defs++] = (struct fact_def) { derived_names[d], t, sc, help };
}

/* The four kinds of fact of one counter family ("tcpext", "ctstat"). */
static void add_counters(const char *family, const char *const *names, size_t n, const char *value_help,
			 const char *evidence_help, size_t base[KIND__COUNT])
{
	static const char *const kind_prefix[KIND__COUNT] = { "", "rate.", "delta.", "evidence." };
	const char *helps[KIND__COUNT] = {
		[KIND_VALUE] = value_help,
		/* Rates exist only with check --samples N >= 2; otherwise missing. */
		[KIND_RATE] = "increase per second while sampling, rounded up (any increase is at least 1)",
		/* The previous check of this boot and namespace (snap_state.c); missing without one. */
		[KIND_DELTA] = "increase since the previous check of this boot and network namespace",
		[KIND_EVIDENCE] = evidence_help,
	};
	char prefix[32];

	for (int k = 0; k < KIND__COUNT; k++) {
		base[k] = n_defs;
		snprintf(prefix, sizeof(prefix), "%s%s.", kind_prefix[k], family);
		for (size_t i = 0; i < n; i++)
			add_derived(prefix, names[i], k == KIND_EVIDENCE ? FT_STR : FT_INT, SCOPE_NETNS, helps[k]);
	}
}

static void facts_build(void)
{
	if (n_defs)
		return;
	memcpy(all_defs, static_defs, sizeof(static_defs));
	n_defs = F__STATIC_COUNT;
	base_sysctl = n_defs;
	for (size_t i = 0; i < key_count; i++)
		add_derived("sysctl.", key_table[i].name,
			    key_table[i].type == KEY_INT ? FT_INT : FT_STR,
			    key_table[i].per_netns ? SCOPE_NETNS : SCOPE_HOST, key_table[i].unit);
	base_state = n_defs;
	for (size_t i = 0; i < tcp_state_count; i++)
		add_derived("sockets.", tcp_state_names[i].fact, FT_INT, SCOPE_NETNS, tcp_state_names[i].ss);
	add_counters("tcpext", tcpext_names, tcpext_count, "TcpExt counter, /proc/net/netstat",
		     "how recent the counter's increase is: a rate while sampling, the increase since the "
		     "previous check, or its total as history", base_tcpext_ids);
	for (size_t i = 0; i < ctstat_count; i++)
		snprintf(ctstat_state_names[i], sizeof(ctstat_state_names[i]), "ct_%s", ctstat_names[i]);
	add_counters("ctstat", ctstat_names, ctstat_count,
		     "conntrack statistic of this namespace, /proc/net/stat/nf_conntrack summed over CPUs",
		     "how recent the statistic's increase is: a rate while sampling, the increase since the "
		     "previous check, or its total as history", base_ctstat_ids);
	base_rate_state = n_defs;
	for (size_t i = 0; i < tcp_state_count; i++)
		add_derived("rate.sockets.", tcp_state_names[i].fact, FT_INT, SCOPE_NETNS,
			    "change per second while sampling, rounded away from zero");
}

size_t facts_count(void)
{
	facts_build();
	return n_defs;
}

const struct fact_def *fact_def(size_t id)
{
	facts_build();
	return id < n_defs ? &all_defs[id] : NULL;
}

int fact_lookup(const char *name)
{
	facts_build();
	for (size_t i = 0; i < n_defs; i++)
		if (strcmp(all_defs[i].name, name) == 0)
			return (int) i;
	return -ENOENT;
}

size_t fact_id_sysctl(size_t key_idx)
{
	facts_build();
	return base_sysctl + key_idx;
}

size_t fact_id_state(int tcp_state)
{
	const struct tcp_state_name *s = tcp_state_by_number(tcp_state);

	facts_build();
	return base_state + (size_t) (s ? s - tcp_state_names : 0);
}

size_t fact_id_tcpext(size_t idx)
{
	facts_build();
	return base_tcpext_ids[KIND_VALUE] + idx;
}

size_t fact_id_rate_tcpext(size_t idx)
{
	facts_build();
	return base_tcpext_ids[KIND_RATE] + idx;
}

size_t fact_id_rate_state(int tcp_state)
{
	const struct tcp_state_name *s = tcp_state_by_number(tcp_state);

	facts_build();
	return base_rate_state + (size_t) (s ? s - tcp_state_names : 0);
}

size_t fact_id_delta_tcpext(size_t idx)
{
	facts_build();
	return base_tcpext_ids[KIND_DELTA] + idx;
}

size_t fact_id_evidence_tcpext(size_t idx)
{
	facts_build();
	return base_tcpext_ids[KIND_EVIDENCE] + idx;
}

size_t counter_count(void)
{
	return tcpext_count + ctstat_count;
}

const char *counter_state_name(size_t idx)
{
	facts_build();
	if (idx < tcpext_count)
		return tcpext_names[idx];
	return idx - tcpext_count < ctstat_count ? ctstat_state_names[idx - tcpext_count] : "";
}

/* idx in one of the two tables: the tcpext base, or the ctstat one. */
static size_t counter_id(size_t idx, size_t tcpext_base, size_t ctstat_base)
{
	facts_build();
	return idx < tcpext_count ? tcpext_base + idx : ctstat_base + (idx - tcpext_count);
}

size_t fact_id_counter(size_t idx)
{
	return counter_id(idx, base_tcpext_ids[KIND_VALUE], base_ctstat_ids[KIND_VALUE]);
}

size_t fact_id_rate_counter(size_t idx)
{
	return counter_id(idx, base_tcpext_ids[KIND_RATE], base_ctstat_ids[KIND_RATE]);
}

size_t fact_id_delta_counter(size_t idx)
{
	return counter_id(idx, base_tcpext_ids[KIND_DELTA], base_ctstat_ids[KIND_DELTA]);
}

size_t fact_id_evidence_counter(size_t idx)
{
	return counter_id(idx, base_tcpext_ids[KIND_EVIDENCE], base_ctstat_ids[KIND_EVIDENCE]);
}

const char *fact_scope_name(enum fact_scope s)
{
	switch (s) {
	case SCOPE_NETNS:  return "netns";
	case SCOPE_HOST:   return "host";
	case SCOPE_FILES:  return "files";
	case SCOPE_KERNEL: return "kernel";
	}
	return "?";
}
