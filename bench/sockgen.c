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
 * keeps a connection's segments in order only on one CPU; see sockscen's
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
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#define PROG "sockgen"
#define MAX_TW 2000000L
#define MAX_CW 18000L		/* our FIN_WAIT2 ends stay open: fds */
#define MAX_HOLDERS 5000L
#define MAX_JOBS 64
#define IO_TIMEOUT_MS 10000

enum {
	ST_ESTABLISHED = 1, ST_SYN_SENT, ST_SYN_RECV, ST_FIN_WAIT1, ST_FIN_WAIT2,
	ST_TIME_WAIT, ST_CLOSE, ST_CLOSE_WAIT, ST_LAST_ACK, ST_LISTEN, ST_CLOSING,
	ST_N
};
static const char *const state_names[ST_N] = {
	[ST_ESTABLISHED] = "established", [ST_SYN_SENT] = "syn_sent",
	[ST_SYN_RECV] = "syn_recv", [ST_FIN_WAIT1] = "fin_wait1",
	[ST_FIN_WAIT2] = "fin_wait2", [ST_TIME_WAIT] = "time_wait",
	[ST_CLOSE] = "close", [ST_CLOSE_WAIT] = "close_wait",
	[ST_LAST_ACK] = "last_ack", [ST_LISTEN] = "listen",
	[ST_CLOSING] = "closing",
};

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

static volatile sig_atomic_t got_signal;
static pid_t *holder_pids;
static long n_holders_started;

__attribute__((format(printf, 1, 2)))
static int fail(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (e)
		fprintf(stderr, ": %s", strerror(e));
	fputc('\n', stderr);
	return -1;
}

#define FAIL(...) (errno = 0, fail(__VA_ARGS__))

static void on_signal(int sig)
{
	got_signal = sig;
}

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The host netns is PID 1's (kthreadd's, PID 2, when PID 1's is unreadable:
 * kernel threads always live in the initial namespace). */
static int check_private_netns(void)
{
	struct stat self, ref;

	if (stat("/proc/self/ns/net", &self) < 0)
		return fail("cannot stat /proc/self/ns/net");
	if (stat("/proc/1/ns/net", &ref) < 0 && stat("/proc/2/ns/net", &ref) < 0)
		return fail("cannot tell whether this is the host network namespace");
	if (self.st_ino == ref.st_ino && self.st_dev == ref.st_dev)
		return FAIL("refusing to run in the host network namespace; use: "
			    "unshare --net --mount --propagation private ...");
	return 0;
}

static int pin_cpu(int nth)
{
	cpu_set_t set;
	int cpus[CPU_SETSIZE], n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return fail("sched_getaffinity");
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	if (n == 0)
		return FAIL("no CPU in the affinity mask");
	CPU_ZERO(&set);
	CPU_SET(cpus[nth % n], &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return fail("sched_setaffinity");
	return 0;
}

static long online_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
}

/* ---- sockets ------------------------------------------------------------ */

static socklen_t make_addr(int family, long port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *) ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t) port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t) port);
	sin6->sin6_addr = in6addr_loopback;
	return sizeof(*sin6);
}

static int listen_on(int family, long port, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(family, port, &ss);
	int fd, one = 1;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)) {
		fail("setsockopt");
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *) &ss, len) < 0 || listen(fd, backlog) < 0) {
		fail("bind/listen %s port %ld", family == AF_INET ? "127.0.0.1" : "[::1]", port);
		close(fd);
		return -1;
	}
	return fd;
}

/* Connect to loopback:port; from loopback:sport when sport > 0 (bound with
 * SO_REUSEADDR: the port may hold our TIME_WAIT towards other destinations). */
static int connect_from(int family, long sport, long port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return fail("socket");
	/* Every client reuses: a later explicit bind() to its port must not
	 * conflict with it (inet_csk_bind_conflict()). */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
		fail("setsockopt SO_REUSEADDR");
		close(fd);
		return -1;
	}
	if (sport > 0) {
		len = make_addr(family, sport, &ss);
		if (bind(fd, (struct sockaddr *) &ss, len) < 0) {
			fail("bind to source port %ld", sport);
			close(fd);
			return -1;
		}
	}
	len = make_addr(family, port, &ss);
	while (connect(fd, (struct sockaddr *) &ss, len) < 0) {
		if (errno == EINTR && !got_signal)
			continue;
		fail("connect to %s port %ld", family == AF_INET ? "127.0.0.1" : "[::1]", port);
		close(fd);
		return -1;
	}
	return fd;
}

static int connect_to(int family, long port)
{
	return connect_from(family, 0, port);
}

static int wait_fd(int fd, short events, const char *what)
{
	struct pollfd p = { .fd = fd, .events = events };
	long deadline = mono_ms() + IO_TIMEOUT_MS;

	for (;;) {
		long left = deadline - mono_ms();
		int n;

		if (left <= 0)
			return FAIL("%s: no progress in %d ms", what, IO_TIMEOUT_MS);
		n = poll(&p, 1, (int) left);
		if (n > 0)
			return 0;
		if (n < 0 && (errno != EINTR || got_signal))
			return fail("poll (%s)", what);
	}
}

static int accept_one(int lfd, const char *what)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd >= 0)
			return fd;
		if (errno != EAGAIN && errno != EINTR)
			return fail("accept (%s)", what);
		if (wait_fd(lfd, POLLIN, what) < 0)
			return -1;
	}
}

/* The first closer's FIN has normally been processed before close() returned
 * (loopback delivers in softirq on this CPU); wait for it otherwise, so the
 * second close never races into a simultaneous close (CLOSING). */
static int wait_eof(int fd)
{
	char c;

	for (int tries = 0; tries < 3; tries++) {
		ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

		if (n == 0)
			return 0;
		if (n > 0)
			return FAIL("unexpected data instead of end of stream");
		if (errno != EAGAIN && errno != EINTR)
			return fail("recv");
		if (wait_fd(fd, POLLIN, "peer FIN") < 0)
			return -1;
	}
	return FAIL("no end of stream");
}

/* ---- TIME_WAIT workers -------------------------------------------------- */

static int build_tw(const struct task *t)
{
	bool client_first = t->kind != K_IN;

	for (long i = 0; i < t->count; i++) {
		int c, s, first, second;

		if (got_signal)
			return FAIL("stopped by signal %d", (int) got_signal);
		c = connect_from(t->family, t->sport_low + i, t->port);
		if (c < 0)
			return -1;
		s = accept_one(t->lfd, "time-wait accept");
		if (s < 0)
			return -1;
		first = client_first ? c : s;
		second = client_first ? s : c;
		if (close(first) < 0)
			return fail("close");
		if (wait_eof(second) < 0)
			return -1;
		if (close(second) < 0)
			return fail("close");
	}
	return 0;
}

static void worker_main(int job, const struct task *tasks, size_t n_tasks, int max_lfd,
			long limit_s)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
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
	long deadline = mono_ms() + o->build_limit_s * 1000 + 2000;
	int r = 0;

	fflush(NULL);
	for (long j = 0; j < o->jobs; j++) {
		pids[j] = fork();
		if (pids[j] < 0) {
			r = fail("fork");
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
			if (mono_ms() > deadline || got_signal == SIGTERM || got_signal == SIGINT) {
				kill(pids[j], SIGKILL);
				waitpid(pids[j], &status, 0);
				break;
			}
			struct timespec ts = { 0, 5 * 1000000L };
			nanosleep(&ts, NULL);
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			FAIL("TIME_WAIT worker %ld failed (status 0x%x)", j, status);
			r = -1;
		}
	}
	return r;
}

/* ---- CLOSE_WAIT holders --------------------------------------------------- */

static int wait_state(int fd, int state)
{
	long deadline = mono_ms() + IO_TIMEOUT_MS;

	for (;;) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
			return fail("getsockopt TCP_INFO");
		if (ti.tcpi_state == state)
			return 0;
		if (mono_ms() > deadline)
			return FAIL("socket in TCP state %d, not %d, after %d ms", ti.tcpi_state, state,
				    IO_TIMEOUT_MS);
		struct timespec ts = { 0, 1000000L };
		nanosleep(&ts, NULL);
	}
}

/* Runs in the child; never returns.  fd `status` is the write end of the
 * parent's status pipe. */
static void holder_main(const struct opts *o, long count, long port, pid_t parent, int status)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	/* Nothing of the parent's: only our own sockets appear in our fd table
	 * (the status pipe, fd 3, is closed once we are done).  UNSHARE gives us
	 * a table sized for fds 0..3: a fork keeps the parent's table size (ours
	 * holds thousands of accepted sockets by now), and every reader of
	 * /proc/PID/fd walks all of its slots (fget_task_next()). */
	if (dup2(status, 3) < 0)
		_exit(1);
	if (close_range(4, ~0U, CLOSE_RANGE_UNSHARE) < 0)
		_exit(1);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	alarm((unsigned) o->timeout_s + 10);
	if (prctl(PR_SET_NAME, o->holder_name) < 0)
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
		return fail("holders");
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(acc);
		return fail("pipe2");
	}
	fflush(NULL);
	for (long h = 0; h < o->holders && r == 0; h++) {
		long per = o->cw / o->holders + (h < o->cw % o->holders), first = n_acc;
		pid_t pid = fork();
		char c;

		if (pid < 0) {
			r = fail("fork (holder %ld)", h);
			break;
		}
		if (pid == 0)
			holder_main(o, per, port, parent, p[1]);
		holder_pids[n_holders_started++] = pid;
		for (long i = 0; i < per && r == 0; i++)
			if ((acc[n_acc++] = accept_one(lfd, "close-wait accept")) < 0)
				r = -1;
		if (r == 0 && (wait_fd(p[0], POLLIN, "holder connected") < 0 || read(p[0], &c, 1) != 1))
			r = FAIL("close-wait holder %ld (pid %ld) failed", h, (long) pid);
		for (long i = first; i < n_acc && r == 0; i++)
			if (shutdown(acc[i], SHUT_WR) < 0)
				r = fail("shutdown");
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
			r = fail("close");
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

static int diag_count_family(int nl, int family, struct census *c)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.req = { .sdiag_family = (uint8_t) family, .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = ~0U },
	};
	static char buf[65536] __attribute__((aligned(8)));
	struct sockaddr_nl nladdr = { .nl_family = AF_NETLINK };

	if (sendto(nl, &msg, sizeof(msg), 0, (struct sockaddr *) &nladdr, sizeof(nladdr)) < 0)
		return fail("sock_diag request");
	for (;;) {
		ssize_t n = recv(nl, buf, sizeof(buf), 0);
		int len = (int) n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail("sock_diag recv");
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return FAIL("sock_diag error");
			const struct inet_diag_msg *m = NLMSG_DATA(h);
			int s = m->idiag_state == 12 ? ST_SYN_RECV : m->idiag_state;

			if (s > 0 && s < ST_N) {
				c->st[s]++;
				if (family == AF_INET6)
					c->st6[s]++;
			}
		}
	}
}

static int diag_count(struct census *c)
{
	int nl, r;

	memset(c, 0, sizeof(*c));
	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return fail("socket NETLINK_SOCK_DIAG");
	r = diag_count_family(nl, AF_INET, c);
	if (r == 0)
		r = diag_count_family(nl, AF_INET6, c);
	close(nl);
	return r;
}

/* End our orphaned FIN_WAIT2 minisockets on local port `port` with
 * SOCK_DESTROY (tcp_abort() on a timewait socket just unhashes it; nothing
 * is sent, the holders' CLOSE_WAIT stays).  Returns how many, or -1. */
static long destroy_fin_wait2(long port)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.req = { .sdiag_family = AF_INET, .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = 1u << ST_FIN_WAIT2 },
	};
	static char buf[65536] __attribute__((aligned(8)));
	struct sockaddr_nl nladdr = { .nl_family = AF_NETLINK };
	struct inet_diag_sockid *ids = NULL;
	size_t n = 0, cap = 0;
	long done = -1;
	bool end = false;
	int nl;

	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return fail("socket NETLINK_SOCK_DIAG");
	if (sendto(nl, &msg, sizeof(msg), 0, (struct sockaddr *) &nladdr, sizeof(nladdr)) < 0) {
		fail("sock_diag request");
		goto out;
	}
	while (!end) {
		ssize_t got = recv(nl, buf, sizeof(buf), 0);
		int len = (int) got;

		if (got < 0) {
			if (errno == EINTR)
				continue;
			fail("sock_diag recv");
			goto out;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			const struct inet_diag_msg *m = NLMSG_DATA(h);

			if (h->nlmsg_type == NLMSG_DONE) {
				end = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				FAIL("sock_diag error");
				goto out;
			}
			/* Minisockets only (timer 3): ending a full socket would
			 * send a RST and take the holder's CLOSE_WAIT with it. */
			if (ntohs(m->id.idiag_sport) != port || m->idiag_timer != 3)
				continue;
			if (n == cap) {
				struct inet_diag_sockid *ni;

				cap = cap ? cap * 2 : 1024;
				ni = realloc(ids, cap * sizeof(*ids));
				if (!ni) {
					fail("destroy list");
					goto out;
				}
				ids = ni;
			}
			ids[n++] = m->id;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct nlmsghdr *h = (struct nlmsghdr *) buf;

		msg.nlh.nlmsg_type = SOCK_DESTROY;
		msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		msg.nlh.nlmsg_seq = (uint32_t) i + 2;
		msg.req.idiag_states = ~0U;
		msg.req.id = ids[i];
		if (sendto(nl, &msg, sizeof(msg), 0, (struct sockaddr *) &nladdr, sizeof(nladdr)) < 0 ||
		    recv(nl, buf, sizeof(buf), 0) < (ssize_t) NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
			fail("SOCK_DESTROY");
			goto out;
		}
		if (h->nlmsg_type == NLMSG_ERROR && ((struct nlmsgerr *) NLMSG_DATA(h))->error != 0) {
			errno = -((struct nlmsgerr *) NLMSG_DATA(h))->error;
			fail("SOCK_DESTROY of our FIN_WAIT2 minisocket");
			goto out;
		}
	}
	done = (long) n;
out:
	free(ids);
	close(nl);
	return done;
}

/* ---- ready file ----------------------------------------------------------- */

static int write_files(const struct opts *o, const struct census *got, const struct task *tasks,
		       size_t n_tasks, long listeners, long long tw_start, long long tw_end,
		       long build_ms, long tw_ms)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	long total = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s.holders", o->ready);
	f = fopen(path, "we");
	if (!f)
		return fail("cannot create %s", path);
	for (long h = 0; h < n_holders_started; h++)
		fprintf(f, "%ld %ld\n", (long) holder_pids[h], o->cw / o->holders + (h < o->cw % o->holders));
	if (fclose(f) != 0)
		return fail("cannot write %s", path);

	snprintf(path, sizeof(path), "%s.dests", o->ready);
	f = fopen(path, "we");
	if (!f)
		return fail("cannot create %s", path);
	for (size_t i = 0; i < n_tasks; i++)
		fprintf(f, "%s%ld%s %s %ld\n", tasks[i].family == AF_INET ? "127.0.0.1:" : "[::1]:",
			tasks[i].port, "", kind_names[tasks[i].kind], tasks[i].count);
	if (fclose(f) != 0)
		return fail("cannot write %s", path);

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", o->ready) >= (int) sizeof(tmp))
		return FAIL("ready file name too long");
	f = fopen(tmp, "we");
	if (!f)
		return fail("cannot create %s", tmp);
	fprintf(f, "pid=%ld\n", (long) getpid());
	fprintf(f, "holders=%ld\n", n_holders_started);
	fprintf(f, "holder_comm=%s\n", o->cw > 0 ? o->holder_name : "");
	fprintf(f, "tw_out=%ld\ntw_in=%ld\ntw6=%ld\n", o->tw_out, o->tw_in, o->tw6);
	fprintf(f, "tw_outgoing=%ld\ntw_incoming=%ld\n", o->tw_out + o->tw6, o->tw_in);
	fprintf(f, "tw_destinations=%zu\n", n_tasks);
	fprintf(f, "cw=%ld\ncw_peer=%s\nestab_pairs=%ld\nlisteners=%ld\n", o->cw,
		o->cw_keep_peer ? "keep" : "destroy", o->estab, listeners);
	for (int s = 1; s < ST_N; s++) {
		fprintf(f, "expect_%s=%ld\n", state_names[s], got->st[s]);
		total += got->st[s];
	}
	for (int s = 1; s < ST_N; s++)
		fprintf(f, "expect_ipv6_%s=%ld\n", state_names[s], got->st6[s]);
	fprintf(f, "expect_total=%ld\n", total);
	fprintf(f, "tw_start_epoch_ms=%lld\ntw_end_epoch_ms=%lld\n", tw_start, tw_end);
	fprintf(f, "tw_build_ms=%ld\nbuild_ms=%ld\njobs=%ld\n", tw_ms, build_ms, o->jobs);
	if (fflush(f) != 0 || ferror(f)) {
		fclose(f);
		return fail("cannot write %s", tmp);
	}
	if (fclose(f) != 0)
		return fail("cannot write %s", tmp);
	if (rename(tmp, o->ready) < 0)
		return fail("cannot rename %s", tmp);
	return 0;
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

static int parse_num(const char *name, const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, PROG ": --%s: '%s' is not a number in %ld..%ld\n", name, s, min, max);
		return -1;
	}
	*ret = v;
	return 0;
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
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!o->ready) {
		fprintf(stderr, PROG ": --ready FILE is required\n");
		return -1;
	}
	if (!o->holder_name[0] || strlen(o->holder_name) > 15) {
		fprintf(stderr, PROG ": --holder-name must be 1..15 bytes\n");
		return -1;
	}
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

static int raise_nofile(const struct opts *o, long listeners)
{
	rlim_t need = (rlim_t) (o->cw + 2 * o->estab + listeners + 64);
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return fail("getrlimit");
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		return FAIL("need %llu descriptors, hard limit is %llu: lower --cw/--estab",
			    (unsigned long long) need, (unsigned long long) rl.rlim_max);
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return fail("setrlimit RLIMIT_NOFILE");
	return 0;
}

/* ---- main -------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct opts o;
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART */
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
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	alarm((unsigned) o.timeout_s);
	t0 = mono_ms();

	/* Destinations: ceil(count / per_dest) ports per kind, counts balanced. */
	{
		const long counts[] = { [K_OUT] = o.tw_out, [K_IN] = o.tw_in, [K_6] = o.tw6 };

		cap_tasks = 3;
		for (int k = 0; k < 3; k++)
			cap_tasks += (size_t) ((counts[k] + o.per_dest - 1) / o.per_dest);
		tasks = calloc(cap_tasks, sizeof(*tasks));
		if (!tasks)
			return fail("tasks"), 1;
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
		tasks[i].lfd = listen_on(tasks[i].family, tasks[i].port, 1024);
		r = tasks[i].lfd < 0 ? -1 : 0;
		listeners++;
		if (tasks[i].lfd > max_lfd)
			max_lfd = tasks[i].lfd;
	}
	if (r == 0 && o.cw > 0) {
		r = (cw_lfd = listen_on(AF_INET, port, 4096)) < 0 ? -1 : 0;
		listeners++;
	}
	port++;
	if (r == 0 && o.estab > 0) {
		r = (est_lfd4 = listen_on(AF_INET, port, 4096)) < 0 ? -1 : 0;
		listeners++;
		if (r == 0 && o.estab / 2 > 0) {
			r = (est_lfd6 = listen_on(AF_INET6, port + 1, 4096)) < 0 ? -1 : 0;
			listeners++;
		}
	}
	port += 2;
	for (long i = 0; i < o.listen && r == 0; i++) {
		r = listen_on(i % 2 ? AF_INET6 : AF_INET, port + i, 16) < 0 ? -1 : 0;
		listeners++;
	}
	if (r == 0 && port + o.listen > o.sport_low)
		r = FAIL("listener ports %ld..%ld reach --sport-low %ld", o.port, port + o.listen,
			 o.sport_low);
	if (r == 0)
		r = raise_nofile(&o, listeners);

	/* Long-lived states first, TIME_WAIT (60 s) last. */
	if (r == 0 && o.cw > 0)
		r = make_close_wait(&o, cw_lfd, port - 3);
	/* A holder still inside connect() owns its socket: our FIN waits in its
	 * backlog, and our side stays in FIN_WAIT1 a moment longer. */
	if (r == 0 && o.cw > 0 && !o.cw_keep_peer) {
		long total = 0, deadline = mono_ms() + IO_TIMEOUT_MS;

		while (r == 0 && total < o.cw) {
			long n = destroy_fin_wait2(port - 3);

			if (n < 0)
				r = -1;
			else if ((total += n) < o.cw && mono_ms() > deadline)
				r = FAIL("ended %ld of our %ld FIN_WAIT2 minisockets", total, o.cw);
			else if (total < o.cw) {
				struct timespec ts = { 0, 10 * 1000000L };
				nanosleep(&ts, NULL);
			}
		}
	}
	for (long i = 0; i < o.estab && r == 0; i++) {
		bool v6 = i >= o.estab - o.estab / 2;
		int c = connect_to(v6 ? AF_INET6 : AF_INET, v6 ? port - 1 : port - 2);

		r = c < 0 ? -1 : 0;
		if (r == 0)
			r = accept_one(v6 ? est_lfd6 : est_lfd4, "established accept") < 0 ? -1 : 0;
	}
	if (r == 0 && n_tasks > 0) {
		long t1 = mono_ms();

		tw_start = epoch_ms();
		r = run_workers(&o, tasks, n_tasks, max_lfd);
		tw_end = epoch_ms();
		tw_ms = mono_ms() - t1;
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
		long deadline = mono_ms() + o.settle_s * 1000;

		for (;;) {
			r = diag_count(&got);
			if (r < 0 || memcmp(&got, &want, sizeof(got)) == 0)
				break;
			if (mono_ms() > deadline || got_signal) {
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
			struct timespec ts = { 0, 50 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	if (r == 0)
		r = write_files(&o, &got, tasks, n_tasks, listeners, tw_start, tw_end, mono_ms() - t0,
				tw_ms);
	if (r == 0) {
		fprintf(stderr, PROG ": ready in %ld ms (TIME_WAIT: %ld in %ld ms, %ld jobs, %zu "
			"destinations); %ld CLOSE_WAIT in %ld holders\n", mono_ms() - t0,
			want.st[ST_TIME_WAIT], tw_ms, o.jobs, n_tasks, o.cw, n_holders_started);
		sigset_t block, old;

		sigemptyset(&block);
		sigaddset(&block, SIGTERM);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGALRM);
		sigprocmask(SIG_BLOCK, &block, &old);
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
