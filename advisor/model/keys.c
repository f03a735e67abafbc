/* The key table (see keys.h).  Kernel ranges are those measured by writing
 * boundary values (docs/KERNEL.md §1.2, §2.1); apply ranges are tcptune's own,
 * each with its reason.  Jiffies-based keys accept |v| <= INT_MAX/HZ; the
 * table holds the bound of the largest HZ any architecture offers (1200,
 * arch/alpha/Kconfig), true on every kernel, and key_kernel_bounds() the
 * bound of a known HZ. */
#include "keys.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

#define JIFFIES_MAX (INT_MAX / (long long) KEY_HZ_MAX)

const struct key_def key_table[] = {
	{
		.name = "net.ipv4.tcp_fin_timeout", .type = KEY_INT, .unit = "s",
		.kmin = -JIFFIES_MAX, .kmax = JIFFIES_MAX, .jiffies = true, .amin = 5, .amax = 60,
		.arange_why = "0 and negative values are accepted by the kernel but meaningless; "
			"above 60 s an orphan lives 2*T-120 s, not T (tcp_input.c, tcp_timer.c)",
		.per_netns = true, .per_netns_since = "4.6", .writable = true,
		.explain = "How long an orphaned socket (the program already called close()) may stay in "
			"FIN_WAIT2 waiting for the peer's FIN. It does NOT change TIME_WAIT, which is always "
			"60 s (TCP_TIMEWAIT_LEN, include/net/tcp.h). Up to 60 s the orphan becomes a timewait "
			"minisocket in substate FIN_WAIT2 for that long; above 60 s it first spends T-60 s as a "
			"full socket and then T-60 s as a minisocket, 2*T-120 s in total. A FIN_WAIT2 socket "
			"whose program still holds the descriptor never times out.",
	},
	{
		.name = "net.ipv4.tcp_keepalive_time", .type = KEY_INT, .unit = "s",
		.kmin = -JIFFIES_MAX, .kmax = JIFFIES_MAX, .jiffies = true, .amin = 10, .amax = 32767,
		.arange_why = "the kernel accepts 0 and negatives; 32767 is the setsockopt(TCP_KEEPIDLE) limit",
		.per_netns = true, .per_netns_since = "4.5", .writable = true,
		.explain = "Idle time before the first keepalive probe, for sockets that enabled SO_KEEPALIVE "
			"and did not set TCP_KEEPIDLE themselves; other sockets are not affected at all. "
			"Lowering it keeps idle connections alive through NAT and firewall state tables and "
			"detects dead peers sooner. It does not fix CLOSE_WAIT: that socket waits for its own "
			"program to call close().",
	},
	{
		.name = "net.ipv4.tcp_keepalive_intvl", .type = KEY_INT, .unit = "s",
		.kmin = -JIFFIES_MAX, .kmax = JIFFIES_MAX, .jiffies = true, .amin = 1, .amax = 32767,
		.arange_why = "the kernel accepts 0 and negatives; 32767 is the setsockopt(TCP_KEEPINTVL) limit",
		.per_netns = true, .per_netns_since = "4.5", .writable = true,
		.explain = "Seconds between unanswered keepalive probes, for sockets with SO_KEEPALIVE and no "
			"TCP_KEEPINTVL of their own.",
	},
	{
		.name = "net.ipv4.tcp_keepalive_probes", .type = KEY_INT, .unit = "count",
		.kmin = 0, .kmax = 255, .amin = 1, .amax = 127,
		.arange_why = "0 would drop a connection at the first probe; 127 is the setsockopt(TCP_KEEPCNT) limit",
		.per_netns = true, .per_netns_since = "4.5", .writable = true, .kunsigned = true,
		.explain = "Unanswered keepalive probes before the connection is reset, for sockets with "
			"SO_KEEPALIVE and no TCP_KEEPCNT of their own. A dead peer is detected after "
			"keepalive_time + probes * keepalive_intvl seconds.",
	},
	{
		.name = "net.ipv4.tcp_tw_reuse", .type = KEY_INT, .unit = "enum",
		.kmin = 0, .kmax = 2, .amin = 0, .amax = 2, .arange_why = NULL,
		.per_netns = true, .per_netns_since = "4.11", .writable = true, .kunsigned = true,
		.kmax_since = "4.18", .kmax_before = 1,
		.explain = "Lets an outgoing connect() take over a 4-tuple still held by a TIME_WAIT socket, "
			"when that socket carries TCP timestamps and is older than tcp_tw_reuse_delay. 0 = "
			"never, 1 = always, 2 = loopback only (the default since 4.18). It only helps the "
			"client side: TIME_WAIT sockets of incoming connections (a server that closes first) "
			"are never reused by it (tcp_twsk_unique(), net/ipv4/tcp_ipv4.c). Successful reuse "
			"counts TcpExt TWRecycled.",
	},
	{
		.name = "net.ipv4.tcp_tw_reuse_delay", .type = KEY_INT, .unit = "ms",
		.kmin = 1, .kmax = 60000, .amin = 1000, .amax = 60000,
		.arange_why = "below 1000 ms a peer with a 1 Hz timestamp clock (allowed by RFC 7323) "
			"can have its new segments rejected by PAWS",
		.per_netns = true, .added = "6.14", .writable = true, .kunsigned = true,
		.explain = "Minimum age in milliseconds of a TIME_WAIT socket, counted from the moment it "
			"entered TIME_WAIT, before tcp_tw_reuse may hand its 4-tuple to a new outgoing "
			"connection (added in 6.14). Before 6.14 there was no setting: reuse was allowed "
			"from the second after the last peer timestamp the socket recorded, anywhere "
			"between 0 and 1 s later.",
	},
	{
		.name = "net.ipv4.tcp_tw_recycle", .type = KEY_INT, .unit = "enum",
		.kmin = 0, .kmax = 1, .amin = 0, .amax = 0,
		.arange_why = "it broke clients behind NAT",
		.per_netns = false, .removed = "4.12", .writable = false, .own_rule = "tw-recycle-enabled",
		.explain = "Removed in Linux 4.12 (commit 4396e46187ca); a line setting it in sysctl.d sets "
			"nothing there. On older kernels it shortened TIME_WAIT to 3.5*RTO and dropped SYNs "
			"from an address whose TCP timestamp was older than the last one seen from it, or "
			"that carried no timestamp at all, which silently broke clients behind NAT (many "
			"hosts, unrelated timestamp clocks, one address). tcptune never sets it; use tcp_tw_reuse for outgoing "
			"connections instead.",
	},
	{
		.name = "net.ipv4.tcp_max_tw_buckets", .type = KEY_INT, .unit = "count",
		.kmin = INT_MIN, .kmax = INT_MAX, .amin = 16384, .amax = 16777216,
		.arange_why = "lower values destroy TIME_WAIT protection silently (0 = none at all); "
			"the kernel documentation says not to lower it",
		.per_netns = true, .per_netns_since = "4.11", .writable = true,
		.explain = "Maximum number of timewait minisockets (TIME_WAIT plus orphaned FIN_WAIT2) in "
			"this network namespace. When it is reached a closing socket skips TIME_WAIT and is "
			"destroyed at once; the kernel prints nothing and only TcpExt TCPTimeWaitOverflow "
			"rises. It is a guard against denial of service, not a tuning knob: lowering it does "
			"not make TIME_WAIT shorter, it removes its protection. The default is half the "
			"established hash size.",
	},
	{
		.name = "net.ipv4.tcp_max_orphans", .type = KEY_INT, .unit = "count",
		.kmin = INT_MIN, .kmax = INT_MAX, .amin = 4096, .amax = 16777216,
		.arange_why = "very low values reset closing connections under normal load",
		.per_netns = false, .writable = true,
		.explain = "Host-wide maximum of orphaned full sockets (closed by their program, still in "
			"FIN_WAIT1, LAST_ACK, CLOSING or an early FIN_WAIT2). Above it the kernel resets them "
			"and logs \"too many orphaned sockets\" (TcpExt TCPAbortOnMemory). It is global: "
			"absent inside a container's network namespace, and sockstat's orphan count covers "
			"all namespaces. Each orphan keeps its unacknowledged send queue, up to its send "
			"buffer (autotuned up to tcp_wmem[2], 4 MiB by default): an orphan stuck against a "
			"closed window can pin megabytes.",
	},
	{
		.name = "net.ipv4.tcp_orphan_retries", .type = KEY_INT, .unit = "count",
		.kmin = 0, .kmax = 255, .amin = 0, .amax = 15,
		.arange_why = "more than 15 retries keeps dead orphans for many minutes",
		.per_netns = true, .writable = true, .kunsigned = true,
		.explain = "How long an orphaned socket (its program closed it) keeps retransmitting before "
			"it is killed, given as a retransmission count that the kernel turns into a time "
			"budget: N allows (2^(N+1)-1) x 200 ms, so 8 is about 102 s and 3 about 3 s. The "
			"default 0 means 8 while the retransmission timeout is below 120 s, and 0 once it "
			"has reached 120 s; it is not \"no retries\" (tcp_orphan_retries(), "
			"tcp_model_timeout(), net/ipv4/tcp_timer.c).",
	},
	{
		.name = "net.ipv4.tcp_retries2", .type = KEY_INT, .unit = "count",
		.kmin = 0, .kmax = 255, .amin = 8, .amax = 255,
		.arange_why = "below 8 an established connection is reset after less than the 100 s of "
			"retransmission RFC 1122 asks for (7 is about 51 s, 2 about 1.4 s): one short outage "
			"or route change kills it",
		.per_netns = true, .writable = true, .kunsigned = true,
		.explain = "How long an established connection keeps retransmitting unacknowledged data "
			"before it is reset, given as a count that the kernel turns into a time budget from "
			"the 200 ms minimum RTO: N up to 9 allows (2^(N+1)-1) x 200 ms, each further one "
			"120 s (tcp_model_timeout(), net/ipv4/tcp_timer.c). The default 15 is about 924 s; "
			"8 is about 102 s. While data is unacknowledged keepalive sends nothing, so this, "
			"not keepalive, decides when a connection to a vanished peer fails.",
	},
	{
		.name = "net.ipv4.tcp_sack", .type = KEY_INT, .unit = "enum",
		.kmin = 0, .kmax = 255, .amin = 1, .amax = 1,
		.arange_why = "0 turns off selective acknowledgements (RFC 2018): after a loss the sender "
			"learns of one missing segment per round trip and recovery on lossy or long paths "
			"slows down badly",
		.per_netns = true, .writable = true, .kunsigned = true,
		.explain = "Selective acknowledgements (RFC 2018), offered on new connections (default 1). "
			"With them the receiver tells the sender exactly which segments arrived, so several "
			"losses in one window are repaired in one round trip. Turning them off was advice "
			"against the 2019 SACK denial-of-service bugs, long fixed in every maintained kernel.",
	},
	{
		.name = "net.ipv4.tcp_max_syn_backlog", .type = KEY_INT, .unit = "count",
		.kmin = INT_MIN, .kmax = INT_MAX, .amin = 128, .amax = INT_MAX,
		.arange_why = "the kernel accepts negatives; below 128 is smaller than its own floor "
			"(large values only cost memory when SYNs actually queue: not harmful)",
		.per_netns = true, .per_netns_since = "4.11", .writable = true,
		.explain = "Not the SYN queue size: that is each listener's min(listen() backlog, "
			"somaxconn). This only matters with tcp_syncookies=0, where SYNs from unknown peers "
			"are dropped once less than a quarter of it is free (tcp_conn_request(), "
			"net/ipv4/tcp_input.c).",
	},
	{
		.name = "net.ipv4.tcp_syncookies", .type = KEY_INT, .unit = "enum",
		.kmin = 0, .kmax = 255, .amin = 1, .amax = 2,
		.arange_why = "0 drops SYNs when a listener's queue is full; only 0, 1 and 2 mean anything",
		.per_netns = true, .writable = true, .kunsigned = true,
		.explain = "1 = send SYN cookies when a listener's SYN queue overflows (default), 2 = always, "
			"0 = never (drop). A fallback for floods, not throughput tuning; regular \"Possible "
			"SYN flooding\" messages under legitimate load mean the listen backlog is too small.",
	},
	{
		.name = "net.ipv4.tcp_timestamps", .type = KEY_INT, .unit = "enum",
		.kmin = 0, .kmax = 255, .amin = 1, .amax = 2,
		.arange_why = "0 disables PAWS protection, RTT measurement and makes tcp_tw_reuse ineffective",
		.per_netns = true, .writable = true, .kunsigned = true, .own_rule = "timestamps-disabled",
		.explain = "TCP timestamps (RFC 7323). 1 = on with a random offset per connection (default), "
			"2 = on without offsets, 0 = off. Turning them off disables PAWS and makes "
			"tcp_tw_reuse do nothing, since reuse requires a timestamp on the TIME_WAIT socket. "
			"Timestamps only broke NAT together with tcp_tw_recycle, which is gone since 4.12.",
	},
	{
		.name = "net.ipv4.ip_local_port_range", .type = KEY_INT_PAIR, .unit = "port",
		.kmin = 1, .kmax = 65535, .amin = 1024, .amax = 65535,
		.arange_why = "below 1024 collides with privileged services; low must not exceed high",
		.per_netns = true, .writable = true, .kdefault = "32768 60999",
		.explain = "Ephemeral ports for outgoing connections, \"low high\". Each remote ip:port "
			"can be reached from at most this many local ports at once (TIME_WAIT sockets "
			"included); when they run out connect() fails with EADDRNOTAVAIL. The kernel also "
			"requires low >= ip_unprivileged_port_start and prefers low and high of different "
			"parity.",
	},
	{
		.name = "net.ipv4.ip_unprivileged_port_start", .type = KEY_INT, .unit = "port",
		.kmin = 0, .kmax = 65535, .amin = 0, .amax = 65535, .arange_why = NULL,
		.per_netns = true, .added = "4.11", .writable = false, .kdefault = "1024",
		.explain = "First port an unprivileged process may bind. Read because the kernel refuses an "
			"ip_local_port_range whose low end is below it.",
	},
	{
		.name = "net.core.somaxconn", .type = KEY_INT, .unit = "count",
		.kmin = 0, .kmax = INT_MAX, .amin = 128, .amax = INT_MAX,
		.arange_why = "0 makes every listen() backlog 0, and below 128 cuts every backlog under "
			"the pre-5.4 default; a large value only lets programs ask for long queues "
			"(docs/KERNEL.md §16.3)",
		.per_netns = true, .writable = true,
		.explain = "Upper limit for the backlog a program passes to listen(); the accept queue and "
			"SYN queue of that listener are min(backlog, somaxconn). Applied at listen() time: a "
			"larger value helps only programs that ask for a larger backlog and listen again. "
			"Default 4096 since 5.4 (128 before).",
	},
	{
		.name = "net.netfilter.nf_conntrack_tcp_timeout_established", .type = KEY_INT, .unit = "s",
		.kmin = -JIFFIES_MAX, .kmax = JIFFIES_MAX, .jiffies = true, .amin = 0, .amax = 0,
		.arange_why = "read only: the idle timeout of tracked connections, compared with keepalive",
		.per_netns = true, .module = "nf_conntrack", .writable = false,
		.explain = "How long a connection-tracking entry of an established TCP connection lives "
			"without any packet (default 432000 s, 5 days; docs/KERNEL.md §8.1). When it expires, "
			"a stateful firewall on this host drops the connection's next packet as INVALID and a "
			"NAT forgets the mapping. Keepalive probes keep the entry alive only if "
			"tcp_keepalive_time is shorter. Exists only when nf_conntrack is loaded.",
	},
	{
		.name = "net.netfilter.nf_conntrack_tcp_timeout_time_wait", .type = KEY_INT, .unit = "s",
		.kmin = -JIFFIES_MAX, .kmax = JIFFIES_MAX, .jiffies = true, .amin = 10, .amax = 600,
		.arange_why = "the kernel accepts 0 and negatives",
		.per_netns = true, .module = "nf_conntrack", .writable = true, .own_rule = "conntrack-timeouts",
		.explain = "How long a connection-tracking entry stays in TIME_WAIT on this host as a "
			"firewall or NAT box (default 120 s, deliberately longer than TCP's 60 s). It does "
			"not touch the host's own sockets. Exists only when nf_conntrack is loaded.",
	},
	{
		.name = "net.netfilter.nf_conntrack_tcp_timeout_close_wait", .type = KEY_INT, .unit = "s",
		.kmin = -JIFFIES_MAX, .kmax = JIFFIES_MAX, .jiffies = true, .amin = 10, .amax = 3600,
		.arange_why = "the kernel accepts 0 and negatives",
		.per_netns = true, .module = "nf_conntrack", .writable = true, .own_rule = "conntrack-timeouts",
		.explain = "How long a conntrack entry stays in CLOSE_WAIT (default 60 s): conntrack's state "
			"after one side's FIN was acknowledged, i.e. a half-closed connection. TCP itself never "
			"times out CLOSE_WAIT, so a half-closed connection idle for longer loses its NAT mapping "
			"and firewall state, and later packets of it are treated as invalid.",
	},
	{
		.name = "net.netfilter.nf_conntrack_tcp_timeout_fin_wait", .type = KEY_INT, .unit = "s",
		.kmin = -JIFFIES_MAX, .kmax = JIFFIES_MAX, .jiffies = true, .amin = 10, .amax = 600,
		.arange_why = "the kernel accepts 0 and negatives",
		.per_netns = true, .module = "nf_conntrack", .writable = true, .own_rule = "conntrack-timeouts",
		.explain = "How long a conntrack entry stays in FIN_WAIT (default 120 s): conntrack's state "
			"from a FIN until it is acknowledged (net/netfilter/nf_conntrack_proto_tcp.c: \"FIN_WAIT: "
			"FIN packet seen\"); the half-closed phase after that is conntrack's CLOSE_WAIT. It does "
			"not touch the host's own sockets.",
	},
	/* ---- issue #16: ports kept out of the ephemeral range ---- */
	{
		.name = "net.ipv4.ip_local_reserved_ports", .type = KEY_PORT_LIST, .unit = "port",
		.kmin = LLONG_MIN, .kmax = LLONG_MAX, .amin = LLONG_MIN, .amax = LLONG_MAX,
		.arange_why = "any set of ports 0 to 65535; tcptune only ever adds to it",
		.per_netns = true, .writable = true,
		.explain = "Ports that connect() and bind() to port 0 never pick from ip_local_port_range "
			"(docs/KERNEL.md §20.2): a service listening inside the ephemeral range keeps its port "
			"free for its next start. An explicit bind() to a reserved port still works. Written "
			"as \"8080,9000-9100\"; a write replaces the whole set, so tcptune writes the union of "
			"what is reserved already and what it adds, never less. A new namespace starts empty.",
	},
};
const size_t key_count = sizeof(key_table) / sizeof(key_table[0]);

int key_index(const char *name)
{
	char norm[128];
	size_t n = strlen(name);

	if (n == 0 || n >= sizeof(norm))
		return -ENOENT;
	for (size_t i = 0; i <= n; i++)
		norm[i] = (char) (name[i] == '/' ? '.' : name[i]);
	for (size_t i = 0; i < key_count; i++)
		if (strcmp(key_table[i].name, norm) == 0)
			return (int) i;
	return -ENOENT;
}

const struct key_def *key_lookup(const char *name)
{
	int i = key_index(name);

	return i < 0 ? NULL : &key_table[i];
}

int key_proc_path(const struct key_def *k, char *buf, size_t len)
{
	size_t n = strlen(k->name);

	if (n + 1 > len)
		return -ENAMETOOLONG;
	for (size_t i = 0; i <= n; i++)
		buf[i] = (char) (k->name[i] == '.' ? '/' : k->name[i]);
	return 0;
}

/* Port sets travel through the code as v[2] like every value: v[0] is a
 * hash of the canonical text, v[1] the number of ports, and the text of
 * every set parsed is kept here so that key_format_value() can give it
 * back.  The table grows with the distinct sets of one run (runtime, boot
 * lines, profiles, plan: a handful, bounded by the input read) and lives
 * until exit; a run never loses a set's text, however many it parses. */
struct interned_set {
	long long id, count;
	char text[KEY_PORT_LIST_MAX + 1];
};
static struct interned_set *interned;
static size_t n_interned, cap_interned;

static const struct interned_set *interned_find(long long id, long long count)
{
	for (size_t i = 0; i < n_interned; i++)
		if (interned[i].id == id && interned[i].count == count)
			return &interned[i];
	return NULL;
}

static long long text_id(const char *t)
{
	unsigned long long h = 1469598103934665603ULL;

	for (; *t; t++)
		h = (h ^ (unsigned char) *t) * 1099511628211ULL;
	return (long long) (h >> 2);	/* non-negative */
}

static int ports_value(const char *s, long long v[2])
{
	unsigned char bm[65536 / 8];
	char text[KEY_PORT_LIST_MAX + 1], why[96];
	long long count = 0;
	size_t i;

	if (key_ports_parse(s, bm, why, sizeof(why)) < 0 || key_ports_format(bm, text, sizeof(text)) < 0)
		return -EINVAL;
	for (i = 0; i < sizeof(bm); i++)
		count += __builtin_popcount(bm[i]);
	v[0] = text_id(text);
	v[1] = count;
	{
		const struct interned_set *f = interned_find(v[0], count);

		if (f)	/* the same hash and count for another text: 2^-61, refused rather than confused */
			return strcmp(f->text, text) == 0 ? 0 : -EINVAL;
	}
	if (n_interned == cap_interned) {
		size_t cap = cap_interned ? cap_interned * 2 : 16;
		struct interned_set *t = realloc(interned, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		interned = t;
		cap_interned = cap;
	}
	interned[n_interned].id = v[0];
	interned[n_interned].count = count;
	memcpy(interned[n_interned].text, text, sizeof(text));
	n_interned++;
	return 0;
}

int key_ports_format(const unsigned char bm[65536 / 8], char *buf, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return -EOVERFLOW;
	buf[0] = '\0';
	for (unsigned a = 0; a < 65536; a++) {
		unsigned b = a;
		int n;

		if (!key_ports_has(bm, a))
			continue;
		while (b + 1 < 65536 && key_ports_has(bm, b + 1))
			b++;
		n = a == b ? snprintf(buf + o, len - o, "%s%u", o ? "," : "", a)
			   : snprintf(buf + o, len - o, "%s%u-%u", o ? "," : "", a, b);
		if (n < 0 || (size_t) n >= len - o)
			return -EOVERFLOW;
		o += (size_t) n;
		a = b;
	}
	return (int) o;
}

const char *key_value_shown(const char *text)
{
	return text[0] ? text : "(empty)";
}

int key_format_value(const struct key_def *k, const long long v[2], char *buf, size_t len)
{
	int n;

	if (k->type == KEY_PORT_LIST) {
		const struct interned_set *f = interned_find(v[0], v[1]);

		if (!f)
			return -EINVAL;	/* not a set parsed by this run */
		n = snprintf(buf, len, "%s", f->text);
		return n < 0 || (size_t) n >= len ? -EOVERFLOW : n;
	}
	if (k->type == KEY_INT_PAIR)
		n = snprintf(buf, len, "%lld %lld", v[0], v[1]);
	else
		n = snprintf(buf, len, "%lld", v[0]);
	if (n < 0 || (size_t) n >= len)
		return -EOVERFLOW;
	return n;
}

int key_parse_value(const struct key_def *k, const char *s, long long v[2])
{
	char a[32], b[32];
	int n;

	if (k->type == KEY_PORT_LIST)
		return ports_value(s, v);
	if (k->type == KEY_INT) {
		long long x;
		int r = parse_ll_trim(s, LLONG_MIN, LLONG_MAX, &x);
		if (r < 0)
			return r;
		v[0] = x;
		v[1] = 0;
		return 0;
	}
	/* "low high": two decimals separated by blanks, nothing else. */
	{
		char extra;
		n = sscanf(s, " %31s %31s %c", a, b, &extra);
	}
	if (n != 2)
		return -EINVAL;
	if (parse_ll(a, LLONG_MIN, LLONG_MAX, &v[0]) < 0 || parse_ll(b, LLONG_MIN, LLONG_MAX, &v[1]) < 0)
		return -EINVAL;
	return 0;
}

long key_release_code(const char *release)
{
	long long major, minor;
	char a[8], b[8];

	if (!release || sscanf(release, "%7[0-9].%7[0-9]", a, b) != 2 ||
	    parse_ll(a, 0, 255, &major) < 0 || parse_ll(b, 0, 255, &minor) < 0)
		return -1;
	return (long) (major * 65536 + minor * 256);
}

const char *key_absence_reason(const struct key_def *k, long kernel_version, char *buf, size_t len)
{
	if (k->removed && (kernel_version < 0 || kernel_version >= key_release_code(k->removed)))
		snprintf(buf, len, "removed in Linux %s", k->removed);
	else if (k->added && kernel_version >= 0 && kernel_version < key_release_code(k->added))
		snprintf(buf, len, "added in Linux %s, this kernel is older", k->added);
	else if (!k->per_netns)
		snprintf(buf, len, "host-wide key: absent in a container's network namespace");
	else if (k->per_netns_since && kernel_version >= 0 && kernel_version < key_release_code(k->per_netns_since))
		snprintf(buf, len, "host-wide before Linux %s: absent in a container's network namespace on this "
			 "kernel", k->per_netns_since);
	else if (k->module)
		snprintf(buf, len, "needs module %s", k->module);
	else
		return NULL;
	return buf;
}

static bool in_range(long long lo, long long hi, const struct key_def *k, const long long v[2])
{
	if (k->type == KEY_PORT_LIST)
		return true;	/* any set the parser accepted */
	if (v[0] < lo || v[0] > hi)
		return false;
	if (k->type == KEY_INT_PAIR && (v[1] < lo || v[1] > hi || v[0] > v[1]))
		return false;
	return true;
}

bool key_in_kernel_range(const struct key_def *k, const long long v[2])
{
	return in_range(k->kmin, k->kmax, k, v);
}

bool key_in_kernel_range_at(const struct key_def *k, const long long v[2], long kernel_version, char *why,
			    size_t why_len)
{
	bool older = k->kmax_since && kernel_version >= 0 && kernel_version < key_release_code(k->kmax_since);

	if (!older || in_range(k->kmin, k->kmax_before, k, v))
		return key_in_kernel_range(k, v);
	snprintf(why, why_len, "%lld needs Linux %s; this kernel accepts %lld to %lld", v[0], k->kmax_since, k->kmin,
		 k->kmax_before);
	return false;
}

bool key_in_apply_range(const struct key_def *k, const long long v[2])
{
	return k->writable && in_range(k->amin, k->amax, k, v);
}

bool key_value_harmful(const struct key_def *k, const long long v[2])
{
	return (k->writable || k->own_rule) && !in_range(k->amin, k->amax, k, v);
}

/* The kernel's TMPBUFLEN (kernel/sysctl.c): proc_get_long() looks at 21
 * characters of one number at most. */
#define KTMPBUFLEN 22

/* strtoul_lenient(p, &end, 0, ...) of kernel/sysctl.c: base 0 as
 * _parse_integer_fixup_radix() decides it ("0x" followed by a hex digit is
 * hex, another leading 0 octal), digits of that base only, overflow of an
 * unsigned long is an error.  Returns the digits consumed (0: none) or -1. */
static int kernel_strtoul(const char *p, const char **end, unsigned long long *ret)
{
	const char *s = p;
	unsigned base = 10;
	unsigned long long v = 0;
	int n = 0;

	if (s[0] == '0') {
		if ((s[1] == 'x' || s[1] == 'X') && isxdigit((unsigned char) s[2])) {
			base = 16;
			s += 2;
		} else {
			base = 8;
		}
	}
	for (;; s++, n++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned) (*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned) (*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned) (*s - 'A' + 10);
		else
			break;
		if (d >= base)
			break;
		if (v > (ULLONG_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	*end = s;
	*ret = v;
	return n;
}

/* proc_get_long() with the separators of proc_wspace_sep: one number at
 * *p, of *left bytes remaining.  Returns 0 or -EINVAL with why. */
static int kernel_get_long(const char **p, size_t *left, unsigned long long *ret, bool *neg,
			   char *why, size_t why_len)
{
	char tmp[KTMPBUFLEN];
	const char *t = tmp, *end;
	size_t len = *left < KTMPBUFLEN - 1 ? *left : KTMPBUFLEN - 1;

	memcpy(tmp, *p, len);
	tmp[len] = '\0';
	*neg = false;
	if (*t == '-' && *left > 1) {
		*neg = true;
		t++;
	}
	if (!isdigit((unsigned char) *t)) {
		snprintf(why, why_len, *t == '+' ? "'+' is refused: only '-' is a sign" :
			 "'%.16s' does not start with a digit", t);
		return -EINVAL;
	}
	if (kernel_strtoul(t, &end, ret) < 0) {
		snprintf(why, why_len, "the number overflows");
		return -EINVAL;
	}
	len = (size_t) (end - tmp);
	if (len == KTMPBUFLEN - 1) {
		snprintf(why, why_len, "a number of %d characters or more is refused", KTMPBUFLEN - 1);
		return -EINVAL;
	}
	if (len < *left && *end != ' ' && *end != '\t' && *end != '\n') {
		snprintf(why, why_len, "'%c' right after the number (only blank, tab or newline may follow)",
			 isprint((unsigned char) *end) ? *end : '?');
		return -EINVAL;
	}
	*p += len;
	*left -= len;
	return 0;
}

void key_kernel_bounds(const struct key_def *k, int hz, long long *lo, long long *hi)
{
	if (!k->jiffies) {
		*lo = k->kmin;
		*hi = k->kmax;
		return;
	}
	/* do_proc_dointvec_jiffies_conv(): |v| > INT_MAX / HZ is EINVAL. */
	*hi = INT_MAX / (hz > 0 ? hz : KEY_HZ_MIN);
	*lo = -*hi;
}

/* The converter of k's handler on element i: int conversion, u8/uint
 * sign check, then the handler's range (key_kernel_bounds()).  Sets
 * *hz_depends when hz is unknown and only some kernels take v. */
static int kernel_conv(const struct key_def *k, unsigned long long lv, bool neg, int hz, long long *ret,
		       bool *hz_depends, char *why, size_t why_len)
{
	long long v, lo, hi;

	if (neg && k->kunsigned) {
		snprintf(why, why_len, "a negative value for an unsigned key");
		return -EINVAL;
	}
	if (k->kunsigned ? lv > UINT_MAX : neg ? lv > (unsigned long long) INT_MAX + 1 : lv > INT_MAX) {
		snprintf(why, why_len, "outside the range of an int");
		return -EINVAL;
	}
	v = neg ? -(long long) lv : (long long) lv;
	key_kernel_bounds(k, hz, &lo, &hi);
	if (v < lo || v > hi) {
		if (k->jiffies && hz > 0)
			snprintf(why, why_len, "%lld is outside the kernel's range %lld to %lld (INT_MAX/HZ "
				 "seconds, HZ=%d)", v, lo, hi, hz);
		else
			snprintf(why, why_len, "%lld is outside the kernel's range %lld to %lld", v, lo, hi);
		return -EINVAL;
	}
	if (k->jiffies && hz <= 0 && (v > k->kmax || v < k->kmin) && !*hz_depends) {
		*hz_depends = true;
		long long mag = v < 0 ? -v : v;	/* > kmax >= 0 here */

		snprintf(why, why_len, "%lld is taken only where CONFIG_HZ is at most %lld (INT_MAX/HZ seconds); "
			 "this kernel's HZ is unknown", v, mag > 0 ? (long long) INT_MAX / mag : (long long) INT_MAX);
	}
	*ret = v;
	return 0;
}

static size_t kernel_skip_spaces(const char **p, size_t left)
{
	size_t n = 0;

	while (n < left && isspace((unsigned char) (*p)[n]))
		n++;
	*p += n;
	return n;
}

int key_kernel_write(const struct key_def *k, const char *text, const long long cur[2], int hz,
		     long long ret[2], char *why, size_t why_len)
{
	bool hz_depends = false;
	char buf[4096];
	const char *p = buf;
	size_t left, n_elem = k->type == KEY_INT_PAIR ? 2 : 1, parsed = 0;
	long long v[2] = { cur[0], cur[1] };
	int r;

	if (k->type == KEY_PORT_LIST) {
		/* The whole set is replaced (§20.2); the newline is a separator. */
		unsigned char bm[65536 / 8];
		char t[KEY_PORT_LIST_MAX + 1];

		r = key_ports_parse(text, bm, why, why_len);
		if (r < 0)
			return r;
		if (key_ports_format(bm, t, sizeof(t)) < 0) {
			/* The kernel takes it (a page of text: §20.2); tcptune cannot say what it sets. */
			snprintf(why, why_len, "taken by the kernel, but longer than the %d characters tcptune "
				 "carries: its boot value is not modelled", KEY_PORT_LIST_MAX);
			return -EOVERFLOW;
		}
		return ports_value(t, ret);
	}
	/* Both programs write the value and a newline in one write(2) at
	 * offset 0; text past what the handler consumes is ignored (§1.1, §1.3). */
	r = snprintf(buf, sizeof(buf), "%s\n", text);
	if (r < 0)
		return -EINVAL;
	left = (size_t) r < sizeof(buf) ? (size_t) r : sizeof(buf) - 1;
	for (size_t i = 0; i < n_elem; i++) {
		unsigned long long lv;
		bool neg;

		left -= kernel_skip_spaces(&p, left);
		if (left == 0)
			break;
		r = kernel_get_long(&p, &left, &lv, &neg, why, why_len);
		if (r == 0)
			r = kernel_conv(k, lv, neg, hz, &v[i], &hz_depends, why, why_len);
		if (r < 0)
			return r;
		parsed++;
	}
	if (parsed == 0) {
		snprintf(why, why_len, "no value");
		return -EINVAL;
	}
	if (k->type == KEY_INT_PAIR && v[0] > v[1]) {
		snprintf(why, why_len, "low end %lld above high end %lld", v[0], v[1]);
		return -EINVAL;
	}
	ret[0] = v[0];
	ret[1] = k->type == KEY_INT_PAIR ? v[1] : 0;
	return hz_depends ? KEY_WRITE_HZ_DEPENDS : 0;
}

int key_kernel_cross_check(size_t k, const long long v[2], const long long state[][2],
			   char *why, size_t why_len)
{
	int range = key_index("net.ipv4.ip_local_port_range");
	int unpriv = key_index("net.ipv4.ip_unprivileged_port_start");

	if (range < 0 || unpriv < 0)
		return 0;
	/* ipv4_local_port_range(): low below ip_unprivileged_port_start;
	 * ipv4_privileged_ports(): the reverse. */
	if (k == (size_t) range && v[0] < state[unpriv][0]) {
		snprintf(why, why_len, "low end %lld is below ip_unprivileged_port_start (%lld at that point)",
			 v[0], state[unpriv][0]);
		return -EINVAL;
	}
	if (k == (size_t) unpriv && v[0] > state[range][0]) {
		snprintf(why, why_len, "%lld is above the low end of ip_local_port_range (%lld at that point)",
			 v[0], state[range][0]);
		return -EINVAL;
	}
	return 0;
}

int key_ports_parse(const char *text, unsigned char bm[65536 / 8], char *why, size_t why_len)
{
	const char *p = text;

	memset(bm, 0, 65536 / 8);
	while (*p == '\n')
		p++;
	while (*p) {
		unsigned long long a, b;
		const char *end;

		if (*p == '-' || kernel_strtoul(p, &end, &a) <= 0) {
			snprintf(why, why_len, "'%.16s' is not a port number", p);
			return -EINVAL;
		}
		if (end - p >= KTMPBUFLEN - 1)	/* proc_get_long(), as for every number (§1.1) */
			goto too_long;
		if (a > 65535) {
			snprintf(why, why_len, "port %llu above 65535", a);
			return -EINVAL;
		}
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			if (*p == '-' || kernel_strtoul(p, &end, &b) <= 0) {
				snprintf(why, why_len, "'%.16s' after '-' is not a port number", p);
				return -EINVAL;
			}
			if (end - p >= KTMPBUFLEN - 1)
				goto too_long;
			if (b > 65535 || b < a) {
				snprintf(why, why_len, "range %llu-%llu: the end must be %llu to 65535", a, b, a);
				return -EINVAL;
			}
			p = end;
		}
		if (*p && *p != ',' && *p != '\n') {
			snprintf(why, why_len, "'%c' after %llu: items are separated by ','", *p, b);
			return -EINVAL;
		}
		for (unsigned long long x = a; x <= b; x++)
			key_ports_add(bm, (unsigned) x);
		if (*p)
			p++;
		while (*p == '\n')
			p++;
	}
	return 0;
too_long:
	snprintf(why, why_len, "a number of %d characters or more is refused", KTMPBUFLEN - 1);
	return -EINVAL;
}
