/* sockgen: a large TCP socket population on loopback, for bench/run.
 *
 * tests/tools/sockscen builds a small, exact mix for the integration tests
 * (one destination per kind, one CLOSE_WAIT holder, /proc/net/tcp checks).
 * The benchmark needs what it cannot do: 500,000 TIME_WAIT (more than the
 * ~64k ports of one destination, so spread over many listener ports, built by
 * several pinned workers within the 60 s TIME_WAIT lifetime) and CLOSE_WAIT
 * spread over thousands of holder processes.
 *
 * It refuses to run in the host's network namespace: start it inside
 * `unshare --net --mount --propagation private` with `ip link set lo up`
 * (bench/run does, and raises tcp_max_tw_buckets and widens
 * ip_local_port_range there, never on the host).
 *
 * What it builds (ports from --port BASE upwards, all listeners opened first
 * and kept until exit):
 *   --tw-out N   client closes first: TIME_WAIT on the client, remote
 *                127.0.0.1:PORT, spread over ceil(N / --per-dest) ports
 *   --tw-in N    server closes first: TIME_WAIT on the listening port
 *   --tw6 N      like --tw-out over [::1]
 *   --cw N --holders P
 *                P processes (comm --holder-name) each connect N/P times to
 *                one listener and never read nor close.  We accept and
 *                close: the holders' sockets go to CLOSE_WAIT, ours become
 *                orphaned FIN_WAIT2 minisockets, which we then end with
 *                SOCK_DESTROY (no packet is sent), as on a server whose
 *                peers are other hosts.  --cw-peer keep instead keeps our
 *                side open after shutdown(SHUT_WR): N FIN_WAIT2 with fds
 *                in this process, scanned by every /proc/PID/fd reader.
 *   --estab N    N established pairs (half over IPv4, half over IPv6)
 *   --listen N   N more idle listeners
 * TIME_WAIT is built last by --jobs workers, each pinned to one CPU (loopback
 * keeps a connection's segments in order only on one CPU; see socklib.h's
 * pin_cpu()) and owning its own listener ports.  Each TIME_WAIT client binds
 * its source port itself (SO_REUSEADDR), destination d's k-th connection from
 * port --sport-low + k, so no 4-tuple is ever used twice.  Left to connect(),
 * the port choice (__inet_hash_connect()) skips up to 16 ports at random per
 * connection and wraps round the range after some 7,000 connections to one
 * destination; with tcp_tw_reuse=2 (the default, loopback only) it then
 * silently reuses our own TIME_WAIT sockets older than a second, and the
 * count never reaches N.  At most --per-dest (50000) per destination: its
 * source ports --sport-low.. must stay below 65536.  Listener ports (--port)
 * must lie below --sport-low.
 *
 * When done it counts the sockets by state over NETLINK_SOCK_DIAG until they
 * are exactly the expected ones (at most --settle seconds), writes the ready
 * file (key=value, written to FILE.tmp and renamed), FILE.holders ("pid
 * count") and FILE.dests ("addr:port kind count"), then waits for SIGTERM/
 * SIGINT or --timeout, kills its holders and exits.
 *
 * Exit codes: 0 done, 1 a step failed, 2 usage or host network namespace. */
#include <fcntl.h>
#include <getopt.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>
#include <sys/wait.h>

#define PROG "sockgen"
#define MAX_TW 2000000L
#define MAX_CW 18000L		/* our FIN_WAIT2 ends stay open: fds */
#define MAX_HOLDERS 5000L
#define MAX_JOBS 64
#define IO_TIMEOUT_MS 10000

#include "socklib.h"	/* tests/tools/socklib.h: bench/run passes -I tests/tools */

enum kind { K_OUT, K_IN, K_6 };
static const char *const kind_names[] = { "tw-out", "tw-in", "tw6" };

struct task {			/* one destination's TIME_WAIT */
	enum kind kind;
	int family, lfd;
	long port, count;
	long sport_low;		/* source ports sport_low .. sport_low+count-1 */
	int job;
};

struct opts {
	long tw_out, tw_in, tw6, per_dest, sport_low, jobs;
	long cw, holders, estab, listen;
	bool cw_keep_peer;
	long port, timeout_s, settle_s, build_limit_s;
	const char *holder_name, *ready;
};

static pid_t *holder_pids;
static long n_holders_started;

static long long epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long online_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
}

/* ---- sockets ------------------------------------------------------------ */

/* Connect to loopback:port; from loopback:sport when sport > 0 (bound with
 * SO_REUSEADDR: the port may hold our TIME_WAIT towards other destinations). */
static int connect_from(int family, long sport, long port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = tcp_socket(family), r;

	if (fd < 0)
		return fd;
	/* Every client reuses: a later explicit bind() to its port must not
	 * conflict with it (inet_csk_bind_conflict()). */
	r = set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	if (r == 0 && sport > 0) {
		len = make_addr(family, sport, &ss);
		if (bind(fd, (struct sockaddr *) &ss, len) < 0)
			r = fail_errno("bind to source port %ld", sport);
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	return connect_fd(fd, family, port);
}

static int connect_to(int family, long port)
{
	return connect_from(family, 0, port);
}

/* ---- TIME_WAIT workers -------------------------------------------------- */

static int build_tw(const struct task *t)
{
	bool client_first = t->kind != K_IN;

	for (long i = 0; i < t->count; i++) {
		int c, s, first, second;

		if (got_signal)
			return fail("stopped by signal %d", (int) got_signal);
		c = connect_from(t->family, t->sport_low + i, t->port);
		if (c < 0)
			return -1;
		s = accept_one(t->lfd, SOCK_NONBLOCK, "time-wait accept");
		if (s < 0)
			return -1;
		first = client_first ? c : s;
		second = client_first ? s : c;
		if (close(first) < 0)
			return fail_errno("close");
		if (wait_eof(second, "peer FIN") < 0)
			return -1;
		if (close(second) < 0)
			return fail_errno("close");
	}
	return 0;
}

static void worker_main(int job, const struct task *tasks, size_t n_tasks, int max_lfd,
			long limit_s)
{
	set_signals(on_signal, SIGTERM, SIGINT, SIGALRM, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm((unsigned) limit_s);
	/* Keep only the listeners (opened first, so the lowest fds). */
	close_range((unsigned) max_lfd + 1, ~0U, 0);
	if (pin_cpu(job) < 0)
		_exit(1);
	for (size_t i = 0; i < n_tasks; i++)
		if (tasks[i].job == job && build_tw(&tasks[i]) < 0) {
			fprintf(stderr, PROG ": worker %d: %s to port %ld failed\n", job,
				kind_names[tasks[i].kind], tasks[i].port);
			_exit(1);
		}
	_exit(0);
}

static int run_workers(const struct opts *o, const struct task *tasks, size_t n_tasks, int max_lfd)
{
	pid_t pids[MAX_JOBS];
	long deadline = now_ms() + o->build_limit_s * 1000 + 2000;
	int r = 0;

	fflush(NULL);
	for (long j = 0; j < o->jobs; j++) {
		pids[j] = fork();
		if (pids[j] < 0) {
			r = fail_errno("fork");
			for (long k = 0; k < j; k++)
				kill(pids[k], SIGKILL);
			for (long k = 0; k < j; k++)
				waitpid(pids[k], NULL, 0);
			return r;
		}
		if (pids[j] == 0)
			worker_main((int) j, tasks, n_tasks, max_lfd, o->build_limit_s);
	}
	for (long j = 0; j < o->jobs; j++) {
		int status;

		for (;;) {
			pid_t w = waitpid(pids[j], &status, WNOHANG);

			if (w == pids[j])
				break;
			if (w < 0 && errno != EINTR) {
				status = -1;
				break;
			}
			if (now_ms() > deadline || got_signal == SIGTERM || got_signal == SIGINT) {
				kill(pids[j], SIGKILL);
				waitpid(pids[j], &status, 0);
				break;
			}
			sleep_ms(5);
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fail("TIME_WAIT worker %ld failed (status 0x%x)", j, status);
			r = -1;
		}
	}
	return r;
}

/* ---- CLOSE_WAIT holders --------------------------------------------------- */

static int wait_state(int fd, int state)
{
	long deadline = now_ms() + IO_TIMEOUT_MS;

	for (;;) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
			return fail_errno("getsockopt TCP_INFO");
		if (ti.tcpi_state == state)
			return 0;
		if (now_ms() > deadline)
			return fail("socket in TCP state %d, not %d, after %d ms", ti.tcpi_state, state,
				    IO_TIMEOUT_MS);
		sleep_ms(1);
	}
}

/* Runs in the child; never returns.  fd `status` is the write end of the
 * parent's status pipe. */
static void holder_main(const struct opts *o, long count, long port, pid_t parent, int status)
{
	if (become_holder(parent, o->holder_name, (unsigned) o->timeout_s + 10) < 0)
		_exit(1);
	/* Nothing of the parent's: only our own sockets appear in our fd table
	 * (the status pipe, fd 3, is closed once we are done).  UNSHARE gives us
	 * a table sized for fds 0..3: a fork keeps the parent's table size (ours
	 * holds thousands of accepted sockets by now), and every reader of
	 * /proc/PID/fd walks all of its slots (fget_task_next()). */
	if (dup2(status, 3) < 0)
		_exit(1);
	if (close_range(4, ~0U, CLOSE_RANGE_UNSHARE) < 0)
		_exit(1);
	for (long i = 0; i < count; i++)
		if (connect_to(AF_INET, port) < 0)
			_exit(1);
	if (write(3, "c", 1) != 1)
		_exit(1);
	close(3);
	for (;;)
		pause();
}

/* Holders one at a time: each connects `per` times and says so on the status
 * pipe (so none is still inside connect(), owning its socket, when our FIN
 * comes); then we shut our accepted ends down.  The listener backlog never
 * holds more than one holder's connections. */
static int make_close_wait(const struct opts *o, int lfd, long port)
{
	pid_t parent = getpid();
	int *acc, p[2], r = 0;
	long n_acc = 0;

	holder_pids = calloc((size_t) o->holders, sizeof(*holder_pids));
	acc = calloc((size_t) o->cw, sizeof(*acc));
	if (!holder_pids || !acc) {
		free(acc);
		return fail_errno("holders");
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(acc);
		return fail_errno("pipe2");
	}
	fflush(NULL);
	for (long h = 0; h < o->holders && r == 0; h++) {
		long per = o->cw / o->holders + (h < o->cw % o->holders), first = n_acc;
		pid_t pid = fork();
		char c;

		if (pid < 0) {
			r = fail_errno("fork (holder %ld)", h);
			break;
		}
		if (pid == 0)
			holder_main(o, per, port, parent, p[1]);
		holder_pids[n_holders_started++] = pid;
		for (long i = 0; i < per && r == 0; i++)
			if ((acc[n_acc++] = accept_one(lfd, SOCK_NONBLOCK, "close-wait accept")) < 0)
				r = -1;
		if (r == 0 && read_one(p[0], &c, "holder connected") != 1)
			r = fail("close-wait holder %ld (pid %ld) failed", h, (long) pid);
		for (long i = first; i < n_acc && r == 0; i++)
			if (shutdown(acc[i], SHUT_WR) < 0)
				r = fail_errno("shutdown");
	}
	/* keep: our side stays open in FIN_WAIT2, not an orphan.  Otherwise
	 * close each once it is in FIN_WAIT2 (the holders ACK our FIN late: a
	 * CLOSE_WAIT socket is in delayed-ACK "pingpong" mode).  A close() from
	 * FIN_WAIT1 can race with that ACK (deferred to our socket's backlog
	 * while close() holds it) and leave a full orphan whose timer resets the
	 * connection after tcp_fin_timeout; from FIN_WAIT2, tcp_close() always
	 * turns it into a minisocket. */
	for (long i = 0; i < n_acc && r == 0 && !o->cw_keep_peer; i++) {
		r = wait_state(acc[i], TCP_FIN_WAIT2);
		if (r == 0 && close(acc[i]) < 0)
			r = fail_errno("close");
	}
	close(p[0]);
	close(p[1]);
	free(acc);
	return r;
}

static void stop_holders(void)
{
	for (long h = 0; h < n_holders_started; h++)
		if (holder_pids[h] > 0)
			kill(holder_pids[h], SIGKILL);
	for (long h = 0; h < n_holders_started; h++)
		if (holder_pids[h] > 0)
			waitpid(holder_pids[h], NULL, 0);
	n_holders_started = 0;
}

/* ---- counting ------------------------------------------------------------ */

struct census {
	long st[ST_N], st6[ST_N];
};

struct diag_req {
	struct nlmsghdr nlh;
	struct inet_diag_req_v2 req;
};

static int diag_socket(void)
{
	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	return nl < 0 ? fail_errno("socket NETLINK_SOCK_DIAG") : nl;
}

/* Dump the TCP sockets of `family` in `states` (a bit mask) over nl, calling
 * fn for each; fn < 0 stops the dump.  0 done, or <0. */
static int diag_dump(int nl, int family, uint32_t states,
		     int (*fn)(const struct inet_diag_msg *m, void *arg), void *arg)
{
	struct diag_req msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.req = { .sdiag_family = (uint8_t) family, .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = states },
	};
	static char buf[65536] __attribute__((aligned(8)));
	struct sockaddr_nl nladdr = { .nl_family = AF_NETLINK };

	if (sendto(nl, &msg, sizeof(msg), 0, (struct sockaddr *) &nladdr, sizeof(nladdr)) < 0)
		return fail_errno("sock_diag request");
	for (;;) {
		ssize_t n = recv(nl, buf, sizeof(buf), 0);
		int len = (int) n, r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail_errno("sock_diag recv");
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return fail("sock_diag error");
			r = fn(NLMSG_DATA(h), arg);
			if (r < 0)
				return r;
		}
	}
}

static int count_one(const struct inet_diag_msg *m, void *arg)
{
	struct census *c = arg;
	int s = m->idiag_state == 12 ? ST_SYN_RECV : m->idiag_state;

	if (s > 0 && s < ST_N) {
		c->st[s]++;
		if (m->idiag_family == AF_INET6)
			c->st6[s]++;
	}
	return 0;
}

static int diag_count(struct census *c)
{
	int nl, r;

	memset(c, 0, sizeof(*c));
	nl = diag_socket();
	if (nl < 0)
		return nl;
	r = diag_dump(nl, AF_INET, ~0U, count_one, c);
	if (r == 0)
		r = diag_dump(nl, AF_INET6, ~0U, count_one, c);
	close(nl);
	return r;
}

struct fw2_list {
	long port;
	struct inet_diag_sockid *ids;
	size_t n, cap;
};

static int collect_fw2(const struct inet_diag_msg *m, void *arg)
{
	struct fw2_list *l = arg;

	/* Minisockets only (timer 3): ending a full socket would send a RST
	 * and take the holder's CLOSE_WAIT with it. */
	if (ntohs(m->id.idiag_sport) != l->port || m->idiag_timer != 3)
		return 0;
	if (l->n == l->cap) {
		struct inet_diag_sockid *ni;

		l->cap = l->cap ? l->cap * 2 : 1024;
		ni = realloc(l->ids, l->cap * sizeof(*l->ids));
		if (!ni)
			return fail_errno("destroy list");
		l->ids = ni;
	}
	l->ids[l->n++] = m->id;
	return 0;
}

/* End our orphaned FIN_WAIT2 minisockets on local port `port` with
 * SOCK_DESTROY (tcp_abort() on a timewait socket just unhashes it; nothing
 * is sent, the holders' CLOSE_WAIT stays).  Returns how many, or <0. */
static long destroy_fin_wait2(long port)
{
	struct diag_req msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DESTROY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK },
		.req = { .sdiag_family = AF_INET, .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = ~0U },
	};
	static char buf[65536] __attribute__((aligned(8)));
	struct sockaddr_nl nladdr = { .nl_family = AF_NETLINK };
	struct nlmsghdr *h = (struct nlmsghdr *) buf;
	struct fw2_list l = { .port = port };
	long done = -1;
	int nl = diag_socket();

	if (nl < 0)
		return nl;
	if (diag_dump(nl, AF_INET, 1u << ST_FIN_WAIT2, collect_fw2, &l) < 0)
		goto out;
	for (size_t i = 0; i < l.n; i++) {
		msg.nlh.nlmsg_seq = (uint32_t) i + 2;
		msg.req.id = l.ids[i];
		if (sendto(nl, &msg, sizeof(msg), 0, (struct sockaddr *) &nladdr, sizeof(nladdr)) < 0 ||
		    recv(nl, buf, sizeof(buf), 0) < (ssize_t) NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
			fail_errno("SOCK_DESTROY");
			goto out;
		}
		if (h->nlmsg_type == NLMSG_ERROR && ((struct nlmsgerr *) NLMSG_DATA(h))->error != 0) {
			errno = -((struct nlmsgerr *) NLMSG_DATA(h))->error;
			fail_errno("SOCK_DESTROY of our FIN_WAIT2 minisocket");
			goto out;
		}
	}
	done = (long) l.n;
out:
	free(l.ids);
	close(nl);
	return done;
}

/* ---- ready file ----------------------------------------------------------- */

static int write_files(const struct opts *o, const struct census *got, const struct task *tasks,
		       size_t n_tasks, long listeners, long long tw_start, long long tw_end,
		       long build_ms, long tw_ms)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	long total;
	FILE *f;

	snprintf(path, sizeof(path), "%s.holders", o->ready);
	f = fopen(path, "we");
	if (!f)
		return fail_errno("cannot create '%s'", path);
	for (long h = 0; h < n_holders_started; h++)
		fprintf(f, "%ld %ld\n", (long) holder_pids[h], o->cw / o->holders + (h < o->cw % o->holders));
	if (close_file(f, path) < 0)
		return -EIO;

	snprintf(path, sizeof(path), "%s.dests", o->ready);
	f = fopen(path, "we");
	if (!f)
		return fail_errno("cannot create '%s'", path);
	for (size_t i = 0; i < n_tasks; i++)
		fprintf(f, "%s%ld%s %s %ld\n", tasks[i].family == AF_INET ? "127.0.0.1:" : "[::1]:",
			tasks[i].port, "", kind_names[tasks[i].kind], tasks[i].count);
	if (close_file(f, path) < 0)
		return -EIO;

	f = ready_open(o->ready, tmp);
	if (!f)
		return -EIO;
	fprintf(f, "pid=%ld\n", (long) getpid());
	fprintf(f, "holders=%ld\n", n_holders_started);
	fprintf(f, "holder_comm=%s\n", o->cw > 0 ? o->holder_name : "");
	fprintf(f, "tw_out=%ld\ntw_in=%ld\ntw6=%ld\n", o->tw_out, o->tw_in, o->tw6);
	fprintf(f, "tw_outgoing=%ld\ntw_incoming=%ld\n", o->tw_out + o->tw6, o->tw_in);
	fprintf(f, "tw_destinations=%zu\n", n_tasks);
	fprintf(f, "cw=%ld\ncw_peer=%s\nestab_pairs=%ld\nlisteners=%ld\n", o->cw,
		o->cw_keep_peer ? "keep" : "destroy", o->estab, listeners);
	total = write_expect(f, "", got->st);
	write_expect(f, "ipv6_", got->st6);
	fprintf(f, "expect_total=%ld\n", total);
	fprintf(f, "tw_start_epoch_ms=%lld\ntw_end_epoch_ms=%lld\n", tw_start, tw_end);
	fprintf(f, "tw_build_ms=%ld\nbuild_ms=%ld\njobs=%ld\n", tw_ms, build_ms, o->jobs);
	return ready_commit(f, tmp, o->ready);
}

/* ---- options --------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
"usage: " PROG " --ready FILE [options]   (only inside a private network namespace)\n"
"  --tw-out N        outgoing TIME_WAIT to 127.0.0.1 listener ports (0)\n"
"  --tw-in N         incoming TIME_WAIT on 127.0.0.1 listener ports (0)\n"
"  --tw6 N           outgoing TIME_WAIT to [::1] listener ports (0)\n"
"  --per-dest N      TIME_WAIT per destination port, at most (50000)\n"
"  --sport-low P     first source port of TIME_WAIT clients (10000)\n"
"  --jobs N          parallel TIME_WAIT builders, one per CPU (online CPUs)\n"
"  --cw N            CLOSE_WAIT sockets, spread over the holders (0)\n"
"  --holders P       CLOSE_WAIT holder processes (1)\n"
"  --holder-name S   the holders' comm, 1..15 bytes (cwhold)\n"
"  --cw-peer MODE    destroy: our side of the CLOSE_WAIT connections is ended\n"
"                    (SOCK_DESTROY); keep: kept open in FIN_WAIT2 (destroy)\n"
"  --estab N         established pairs, half over IPv4, half over IPv6 (0)\n"
"  --listen N        extra idle listeners (0)\n"
"  --port P          first listener port, below --sport-low (2000)\n"
"  --settle SECS     how long to wait for exact counts (5)\n"
"  --build-limit S   give up building after S seconds (50)\n"
"  --timeout SECS    exit by itself after SECS (300)\n"
"The caller raises tcp_max_tw_buckets inside the namespace (and widens\n"
"ip_local_port_range to cover --sport-low..65535 for the ports to count as\n"
"ephemeral).\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "tw-out", required_argument, NULL, 'a' },
		{ "tw-in", required_argument, NULL, 'b' },
		{ "tw6", required_argument, NULL, 'c' },
		{ "per-dest", required_argument, NULL, 'd' },
		{ "sport-low", required_argument, NULL, 'P' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "cw", required_argument, NULL, 'e' },
		{ "holders", required_argument, NULL, 'f' },
		{ "holder-name", required_argument, NULL, 'g' },
		{ "cw-peer", required_argument, NULL, 'k' },
		{ "estab", required_argument, NULL, 'h' },
		{ "listen", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "settle", required_argument, NULL, 's' },
		{ "build-limit", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 't' },
		{ "ready", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	int c, idx, r = 0;

	*o = (struct opts) {
		.per_dest = 50000, .sport_low = 10000, .jobs = online_cpus(), .holders = 1, .holder_name = "cwhold",
		.port = 2000, .settle_s = 5, .build_limit_s = 50, .timeout_s = 300,
	};
	if (o->jobs > MAX_JOBS)
		o->jobs = MAX_JOBS;
	while ((c = getopt_long(argc, argv, "", lo, &idx)) != -1) {
		const char *n = c == '?' || c == 'H' ? "" : lo[idx].name;

		switch (c) {
		case 'a': r = parse_num(n, optarg, 0, MAX_TW, &o->tw_out); break;
		case 'b': r = parse_num(n, optarg, 0, MAX_TW, &o->tw_in); break;
		case 'c': r = parse_num(n, optarg, 0, MAX_TW, &o->tw6); break;
		case 'd': r = parse_num(n, optarg, 1, 64000, &o->per_dest); break;
		case 'P': r = parse_num(n, optarg, 1024, 65535, &o->sport_low); break;
		case 'j': r = parse_num(n, optarg, 1, MAX_JOBS, &o->jobs); break;
		case 'e': r = parse_num(n, optarg, 0, MAX_CW, &o->cw); break;
		case 'f': r = parse_num(n, optarg, 1, MAX_HOLDERS, &o->holders); break;
		case 'g': o->holder_name = optarg; break;
		case 'k':
			if (strcmp(optarg, "keep") != 0 && strcmp(optarg, "destroy") != 0) {
				fprintf(stderr, PROG ": --cw-peer: keep or destroy\n");
				return -1;
			}
			o->cw_keep_peer = strcmp(optarg, "keep") == 0;
			break;
		case 'h': r = parse_num(n, optarg, 0, 4000, &o->estab); break;
		case 'i': r = parse_num(n, optarg, 0, 1000, &o->listen); break;
		case 'p': r = parse_num(n, optarg, 1024, 60000, &o->port); break;
		case 's': r = parse_num(n, optarg, 1, 600, &o->settle_s); break;
		case 'l': r = parse_num(n, optarg, 1, 600, &o->build_limit_s); break;
		case 't': r = parse_num(n, optarg, 1, 3600, &o->timeout_s); break;
		case 'r': o->ready = optarg; break;
		case 'H': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
		if (r < 0)
			return -1;
	}
	if (check_common_opts(argc, argv, o->ready, o->holder_name) < 0)
		return -1;
	if (o->sport_low + o->per_dest - 1 > 65535) {
		fprintf(stderr, PROG ": --sport-low %ld + --per-dest %ld exceeds port 65535\n",
			o->sport_low, o->per_dest);
		return -1;
	}
	if (o->cw > 0 && o->holders > o->cw) {
		fprintf(stderr, PROG ": --holders %ld exceeds --cw %ld\n", o->holders, o->cw);
		return -1;
	}
	return 0;
}

/* ---- main -------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct opts o;
	struct task *tasks = NULL;
	size_t n_tasks = 0, cap_tasks;
	long listeners = 0, port, t0, tw_ms = 0, load[MAX_JOBS] = { 0 };
	long long tw_start = 0, tw_end = 0;
	int cw_lfd = -1, est_lfd4 = -1, est_lfd6 = -1, max_lfd = 2, r = 0;
	struct census want, got;

	r = parse_opts(argc, argv, &o);
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (check_private_netns() < 0)
		return 2;
	set_signals(on_signal, SIGTERM, SIGINT, SIGALRM, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	alarm((unsigned) o.timeout_s);
	t0 = now_ms();

	/* Destinations: ceil(count / per_dest) ports per kind, counts balanced. */
	{
		const long counts[] = { [K_OUT] = o.tw_out, [K_IN] = o.tw_in, [K_6] = o.tw6 };

		cap_tasks = 3;
		for (int k = 0; k < 3; k++)
			cap_tasks += (size_t) ((counts[k] + o.per_dest - 1) / o.per_dest);
		tasks = calloc(cap_tasks, sizeof(*tasks));
		if (!tasks)
			return fail_errno("tasks"), 1;
		port = o.port;
		for (int k = 0; k < 3; k++) {
			long nd = (counts[k] + o.per_dest - 1) / o.per_dest;

			for (long d = 0; d < nd; d++) {
				struct task *t = &tasks[n_tasks++];

				t->kind = (enum kind) k;
				t->family = k == K_6 ? AF_INET6 : AF_INET;
				t->port = port++;
				t->count = counts[k] / nd + (d < counts[k] % nd);
				t->sport_low = o.sport_low;
			}
		}
	}
	/* Longest first onto the least loaded worker. */
	for (size_t i = 0; i < n_tasks; i++) {
		long best = 0;

		for (long j = 1; j < o.jobs; j++)
			if (load[j] < load[best])
				best = j;
		tasks[i].job = (int) best;
		load[best] += tasks[i].count;
	}

	/* All listeners first: lowest fds, kept by us until exit. */
	for (size_t i = 0; i < n_tasks && r == 0; i++) {
		tasks[i].lfd = listen_on(tasks[i].family, tasks[i].port, 1024, 0);
		r = tasks[i].lfd < 0 ? -1 : 0;
		listeners++;
		if (tasks[i].lfd > max_lfd)
			max_lfd = tasks[i].lfd;
	}
	if (r == 0 && o.cw > 0) {
		r = (cw_lfd = listen_on(AF_INET, port, 4096, 0)) < 0 ? -1 : 0;
		listeners++;
	}
	port++;
	if (r == 0 && o.estab > 0) {
		r = (est_lfd4 = listen_on(AF_INET, port, 4096, 0)) < 0 ? -1 : 0;
		listeners++;
		if (r == 0 && o.estab / 2 > 0) {
			r = (est_lfd6 = listen_on(AF_INET6, port + 1, 4096, 0)) < 0 ? -1 : 0;
			listeners++;
		}
	}
	port += 2;
	for (long i = 0; i < o.listen && r == 0; i++) {
		r = listen_on(i % 2 ? AF_INET6 : AF_INET, port + i, 16, 0) < 0 ? -1 : 0;
		listeners++;
	}
	if (r == 0 && port + o.listen > o.sport_low)
		r = fail("listener ports %ld..%ld reach --sport-low %ld", o.port, port + o.listen,
			 o.sport_low);
	if (r == 0)
		r = raise_nofile((rlim_t) (o.cw + 2 * o.estab + listeners + 64),
				 "lower --cw/--estab");

	/* Long-lived states first, TIME_WAIT (60 s) last. */
	if (r == 0 && o.cw > 0)
		r = make_close_wait(&o, cw_lfd, port - 3);
	/* A holder still inside connect() owns its socket: our FIN waits in its
	 * backlog, and our side stays in FIN_WAIT1 a moment longer. */
	if (r == 0 && o.cw > 0 && !o.cw_keep_peer) {
		long total = 0, deadline = now_ms() + IO_TIMEOUT_MS;

		while (r == 0 && total < o.cw) {
			long n = destroy_fin_wait2(port - 3);

			if (n < 0)
				r = -1;
			else if ((total += n) < o.cw && now_ms() > deadline)
				r = fail("ended %ld of our %ld FIN_WAIT2 minisockets", total, o.cw);
			else if (total < o.cw) {
				sleep_ms(10);
			}
		}
	}
	for (long i = 0; i < o.estab && r == 0; i++) {
		bool v6 = i >= o.estab - o.estab / 2;
		int c = connect_to(v6 ? AF_INET6 : AF_INET, v6 ? port - 1 : port - 2);

		r = c < 0 ? -1 : 0;
		if (r == 0)
			r = accept_one(v6 ? est_lfd6 : est_lfd4, SOCK_NONBLOCK, "established accept") < 0 ? -1 : 0;
	}
	if (r == 0 && n_tasks > 0) {
		long t1 = now_ms();

		tw_start = epoch_ms();
		r = run_workers(&o, tasks, n_tasks, max_lfd);
		tw_end = epoch_ms();
		tw_ms = now_ms() - t1;
	}

	/* Settle: exact expected counts, read back over sock_diag. */
	memset(&want, 0, sizeof(want));
	want.st[ST_TIME_WAIT] = o.tw_out + o.tw_in + o.tw6;
	want.st6[ST_TIME_WAIT] = o.tw6;
	want.st[ST_CLOSE_WAIT] = o.cw;
	want.st[ST_FIN_WAIT2] = o.cw_keep_peer ? o.cw : 0;
	want.st[ST_ESTABLISHED] = 2 * o.estab;
	want.st6[ST_ESTABLISHED] = 2 * (o.estab / 2);
	want.st[ST_LISTEN] = listeners;
	for (size_t i = 0; i < n_tasks; i++)
		want.st6[ST_LISTEN] += tasks[i].family == AF_INET6;
	want.st6[ST_LISTEN] += (est_lfd6 >= 0) + o.listen / 2;
	if (r == 0) {
		long deadline = now_ms() + o.settle_s * 1000;

		for (;;) {
			r = diag_count(&got);
			if (r < 0 || memcmp(&got, &want, sizeof(got)) == 0)
				break;
			if (now_ms() > deadline || got_signal) {
				fprintf(stderr, PROG ": the population did not settle within %ld s:\n",
					o.settle_s);
				for (int s = 1; s < ST_N; s++)
					if (got.st[s] != want.st[s] || got.st6[s] != want.st6[s])
						fprintf(stderr, "  %s: got %ld (ipv6 %ld), want %ld (ipv6 %ld)\n",
							state_names[s], got.st[s], got.st6[s], want.st[s],
							want.st6[s]);
				r = -1;
				break;
			}
			sleep_ms(50);
		}
	}
	if (r == 0)
		r = write_files(&o, &got, tasks, n_tasks, listeners, tw_start, tw_end, now_ms() - t0,
				tw_ms);
	if (r == 0) {
		fprintf(stderr, PROG ": ready in %ld ms (TIME_WAIT: %ld in %ld ms, %ld jobs, %zu "
			"destinations); %ld CLOSE_WAIT in %ld holders\n", now_ms() - t0,
			want.st[ST_TIME_WAIT], tw_ms, o.jobs, n_tasks, o.cw, n_holders_started);
		sigset_t old;

		block_signals(&old, SIGTERM, SIGINT, SIGALRM, 0);
		while (!got_signal)
			sigsuspend(&old);
		if (got_signal == SIGALRM)
			fprintf(stderr, PROG ": --timeout %ld s reached, exiting\n", o.timeout_s);
	}
	stop_holders();
	free(holder_pids);
	free(tasks);
	return r < 0 ? 1 : 0;
}
