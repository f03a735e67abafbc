/* churn: a bounded loopback socket-churn generator, for the churn test
 * (tests/integration/check_churn.sh): `tcptune check` must count right while
 * connections are being opened and closed at a high rate.
 *
 * It refuses to run in the host's network namespace.  Start it inside
 * `unshare --net --mount --propagation private` with `ip link set lo up`.
 *
 * --workers W processes (forked, each pinned to one CPU, see pin_cpu() in
 * socklib.h) each listen on 127.0.0.1:PORT+k and [::1]:PORT+k and, at
 * --rate/W connections a second, connect to themselves and accept.  The
 * client binds a source port of its own pool of --pool ports, taken in turn
 * (even ports over IPv4, odd ones over IPv6 when ::1 exists), skipping the
 * ports whose last connection is still held or closed less than
 * tcp_tw_reuse_delay + 500 ms ago: reusing a port kills its TIME_WAIT socket
 * (tcp_tw_reuse, on for loopback in a new namespace, or the SYN that
 * recycles a TIME_WAIT on the server side), so TIME_WAIT appears and
 * disappears and stays bounded by the pool.  Every pair is held ESTABLISHED
 * for --hold-ms, then closed one of five ways, by connection number modulo 5:
 *   0  client closes first, then the server: TIME_WAIT on the client
 *   1  server closes first, then the client: TIME_WAIT on the listener port
 *   2  client aborts (SO_LINGER 0, RST), then the server closes: no TIME_WAIT
 *   3  client close()s; the server side is held CLOSE_WAIT for --half-ms
 *      (the client an orphaned FIN_WAIT2 minisocket), then closed: LAST_ACK,
 *      and the client goes TIME_WAIT
 *   4  client writes a byte and shutdown(SHUT_WR)s, keeping its fd: FIN_WAIT2
 *      (not orphaned) and CLOSE_WAIT with unread data for --half-ms, then the
 *      server closes (unread data: RST) and the client closes
 * So ESTABLISHED, SYN_SENT/SYN_RECV (briefly), FIN_WAIT1/2, CLOSE_WAIT,
 * LAST_ACK and TIME_WAIT all appear and disappear continuously.
 *
 * Bounds: it stops by itself --duration seconds after start (an alarm kills
 * what is left a few seconds later), opens at most --max-conns connections,
 * and holds at most a fixed number of sockets (the hold queues have a fixed
 * capacity, the oldest pair is closed early when one is full; TIME_WAIT is
 * bounded by the port pools): the ready file says how many.
 *
 * Counters (--counter FILE): one fixed-width line per worker, rewritten with
 * pwrite() around every socket call that can change a TCP state (connect,
 * close, shutdown):
 *     started done conns busy skipped started
 * `started` is counted before the call, `done` after it, so the calls that
 * overlapped a window [t0, t1] number at most started(t1) - done(t0) summed
 * over the workers.  `started` is written twice: a reader that sees the two
 * differ read a line being rewritten and reads again.  conns counts opened
 * connections, skipped the pool ports passed over as not reusable yet, busy
 * the connects the kernel refused all the same (EADDRNOTAVAIL, EADDRINUSE).
 *
 * The ready file (written to FILE.tmp, renamed) is written once every worker
 * has churned for --hold-ms + --half-ms (both hold queues in steady state)
 * and gone once through its pool (TIME_WAIT sockets are being reused).
 * On SIGTERM/SIGINT or at the deadline the workers close everything and the
 * parent prints a summary line (connections, seconds, rate) on stderr.
 *
 * Exit codes: 0 done, 1 a step failed, 2 usage or not in a private netns. */
#include <fcntl.h>
#include <getopt.h>
#include <netinet/tcp.h>
#include <sys/wait.h>

#define PROG "churn"
#define IO_TIMEOUT_MS 5000	/* any single wait for the peer */

#include "socklib.h"

#define MAX_WORKERS 8
#define MAX_HELD 20000L		/* per hold queue and worker */
#define LINE_LEN 84		/* 6 fields of 13 characters, blanks, newline */
#define BIND_TRIES 32		/* busy pool ports skipped per loop turn */
#define REUSE_MARGIN_MS 500	/* over tcp_tw_reuse_delay */

struct opts {
	const char *ready, *counter;
	long duration_s, workers, rate, hold_ms, half_ms;
	long port, pool_base, pool, max_conns;
};

/* A held pair: client and server fds (-1: closed), when it was queued and how
 * it will be closed. */
struct pair {
	int c, s;
	long t, slot;
	int how;
};

/* A FIFO of pairs with a fixed capacity. */
struct queue {
	struct pair *v;
	long cap, head, len;
};

struct worker {
	int k, counter_fd, lfd4, lfd6;
	bool ipv6;
	long port, pool_first, pool_next, reuse_ms;
	long *free_at;		/* per pool port: when it may be reused */
	bool wrapped;		/* every pool port was tried once */
	long started, done, conns, busy, skipped;
	struct queue est, half;
	const struct opts *o;
};

/* ---- counters ------------------------------------------------------------ */

static int put_line(struct worker *w)
{
	char line[LINE_LEN + 1];
	int n;

	n = snprintf(line, sizeof(line), "%13ld %13ld %13ld %13ld %13ld %13ld\n",
		     w->started, w->done, w->conns, w->busy, w->skipped, w->started);
	if (n != LINE_LEN)
		return fail("counter line of %d bytes", n);
	if (pwrite(w->counter_fd, line, LINE_LEN, (off_t) w->k * LINE_LEN) != LINE_LEN)
		return fail_errno("pwrite counter line %d", w->k);
	return 0;
}

static int ev_start(struct worker *w)
{
	w->started++;
	return put_line(w);
}

static int ev_done(struct worker *w)
{
	w->done++;
	return put_line(w);
}

/* close() counted as a state-changing call; fd < 0 is a no-op. */
static int close_ev(struct worker *w, int *fd, const char *what)
{
	int r, r2;

	if (*fd < 0)
		return 0;
	r = ev_start(w);
	r2 = close_checked(*fd, what);
	*fd = -1;
	if (r == 0)
		r = r2;
	r2 = ev_done(w);
	return r < 0 ? r : r2;
}

/* ---- queues -------------------------------------------------------------- */

static int queue_init(struct queue *q, long cap)
{
	q->v = calloc((size_t) cap, sizeof(*q->v));
	q->cap = cap;
	q->head = q->len = 0;
	if (!q->v) {
		errno = ENOMEM;
		return fail_errno("hold queue of %ld", cap);
	}
	return 0;
}

static void queue_push(struct queue *q, struct pair p)
{
	q->v[(q->head + q->len) % q->cap] = p;
	q->len++;
}

static struct pair queue_pop(struct queue *q)
{
	struct pair p = q->v[q->head];

	q->head = (q->head + 1) % q->cap;
	q->len--;
	return p;
}

/* ---- closing --------------------------------------------------------------- */

/* A pair's sockets are all closed: its port may be reused once a TIME_WAIT
 * it left is old enough for tcp_tw_reuse. */
static void release_slot(struct worker *w, const struct pair *p)
{
	w->free_at[p->slot] = now_ms() + w->reuse_ms;
}

/* The second stage of ways 3 and 4: close the CLOSE_WAIT side, then the client. */
static int close_half(struct worker *w, struct pair *p)
{
	int r = close_ev(w, &p->s, "close-wait side");

	if (r == 0)
		r = close_ev(w, &p->c, "fin-wait-2 side");
	release_slot(w, p);
	return r;
}

/* First stage: a pair leaves ESTABLISHED, one of the five ways. */
static int close_est(struct worker *w, struct pair *p)
{
	static const struct linger abort_now = { 1, 0 };
	int r = 0;

	switch (p->how) {
	case 0:
		r = close_ev(w, &p->c, "client");
		if (r == 0)
			r = close_ev(w, &p->s, "server");
		release_slot(w, p);
		return r;
	case 1:
		r = close_ev(w, &p->s, "server");
		if (r == 0)
			r = close_ev(w, &p->c, "client");
		release_slot(w, p);
		return r;
	case 2:
		if (setsockopt(p->c, SOL_SOCKET, SO_LINGER, &abort_now, sizeof(abort_now)) < 0)
			return fail_errno("setsockopt SO_LINGER");
		r = close_ev(w, &p->c, "aborted client");
		if (r == 0)
			r = close_ev(w, &p->s, "server of an aborted client");
		release_slot(w, p);
		return r;
	case 3:
		r = close_ev(w, &p->c, "half-closing client");
		break;
	default:
		if (send(p->c, "x", 1, MSG_NOSIGNAL) != 1)
			return fail_errno("write to the server before shutdown");
		if ((r = ev_start(w)) < 0)
			return r;
		if (shutdown(p->c, SHUT_WR) < 0)
			return fail_errno("shutdown(SHUT_WR)");
		r = ev_done(w);
		break;
	}
	if (r < 0)
		return r;
	if (w->half.len == w->half.cap) {
		struct pair old = queue_pop(&w->half);

		if ((r = close_half(w, &old)) < 0)
			return r;
	}
	p->t = now_ms();
	queue_push(&w->half, *p);
	return 0;
}

/* Close the pairs held longer than their queue's time, or everything. */
static int expire(struct worker *w, bool all)
{
	long now = now_ms();
	int r;

	while (w->est.len > 0 && (all || now - w->est.v[w->est.head].t >= w->o->hold_ms)) {
		struct pair p = queue_pop(&w->est);

		if ((r = close_est(w, &p)) < 0)
			return r;
	}
	while (w->half.len > 0 && (all || now - w->half.v[w->half.head].t >= w->o->half_ms)) {
		struct pair p = queue_pop(&w->half);

		if ((r = close_half(w, &p)) < 0)
			return r;
	}
	return 0;
}

/* ---- opening --------------------------------------------------------------- */

static long peer_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *) &ss, &len) < 0)
		return -1;
	return ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *) &ss)->sin_port)
				       : ntohs(((struct sockaddr_in6 *) &ss)->sin6_port);
}

/* The next pool port that may be used now (its slot in *slot), or -1 when
 * the next BIND_TRIES are all held or too recently closed. */
static long next_slot(struct worker *w, long *slot)
{
	long now = now_ms();

	for (int i = 0; i < BIND_TRIES; i++) {
		long k = w->pool_next;

		w->pool_next = (w->pool_next + 1) % w->o->pool;
		if (w->pool_next == 0)
			w->wrapped = true;
		if (w->free_at[k] <= now) {
			*slot = k;
			return w->pool_first + k;
		}
		w->skipped++;
	}
	return -1;
}

/* A client socket bound to the port of slot, or -1 when the kernel says the
 * port is in use (counted busy; the slot is retried later), < -1 on error. */
static int bound_client(struct worker *w, int family, long slot, long port)
{
	struct timeval tv = { IO_TIMEOUT_MS / 1000, 0 };
	struct sockaddr_storage ss;
	socklen_t len = make_addr(family, port, &ss);
	int fd, r;

	fd = tcp_socket(family);
	if (fd < 0)
		return fd < -1 ? fd : -EIO;
	r = set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	if (r == 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		r = fail_errno("setsockopt SO_SNDTIMEO");
	if (r == 0 && bind(fd, (struct sockaddr *) &ss, len) < 0) {
		if (errno == EADDRINUSE) {
			w->busy++;
			w->free_at[slot] = now_ms() + w->reuse_ms;
			close(fd);	/* never connected: it had no TCP state to see */
			return -1;
		}
		r = fail_errno("bind %s port %ld", fam_name(family), port);
	}
	if (r < 0) {
		close(fd);
		return r < -1 ? r : -EIO;
	}
	return fd;
}

/* Open one connection from the pool and queue it ESTABLISHED.  Returns 1
 * opened, 0 no pool port usable right now, < 0 on error. */
static int open_one(struct worker *w)
{
	struct pair p = { -1, -1, 0, 0, (int) (w->conns % 5) };
	struct sockaddr_storage ss;
	int family, lfd, r, rc, e;
	long port, got;
	socklen_t len;

	port = next_slot(w, &p.slot);
	if (port < 0)
		return 0;
	family = (w->ipv6 && (p.slot & 1)) ? AF_INET6 : AF_INET;
	lfd = family == AF_INET ? w->lfd4 : w->lfd6;
	len = make_addr(family, w->port, &ss);
	p.c = bound_client(w, family, p.slot, port);
	if (p.c == -1)
		return 0;
	if (p.c < 0)
		return p.c;
	if ((r = ev_start(w)) < 0) {
		close(p.c);
		return r;
	}
	rc = connect(p.c, (struct sockaddr *) &ss, len);
	e = errno;
	if ((r = ev_done(w)) < 0) {
		close(p.c);
		return r;
	}
	if (rc < 0) {
		if (e == EADDRNOTAVAIL) {
			/* The 4-tuple's TIME_WAIT is younger than tcp_tw_reuse
			 * allows after all: retry that port later. */
			w->busy++;
			w->free_at[p.slot] = now_ms() + w->reuse_ms;
			r = close_ev(w, &p.c, "client of a busy port");
			return r < 0 ? r : 0;
		}
		errno = e;
		r = fail_errno("connect from %s port %ld to port %ld", fam_name(family), port, w->port);
		close_ev(w, &p.c, "client that failed to connect");
		return r;
	}
	w->free_at[p.slot] = LONG_MAX;	/* held */
	p.s = accept_one(lfd, 0, "accept");
	if (p.s < 0) {
		close_ev(w, &p.c, "client not accepted");
		return p.s;
	}
	got = peer_port(p.s);
	if (got != port) {
		r = fail("accepted a connection from port %ld, expected %ld", got, port);
		close_ev(w, &p.s, "server");
		close_ev(w, &p.c, "client");
		return r;
	}
	w->conns++;
	if ((r = put_line(w)) < 0)
		return r;
	if (w->est.len == w->est.cap) {
		struct pair old = queue_pop(&w->est);

		if ((r = close_est(w, &old)) < 0)
			return r;
	}
	p.t = now_ms();
	queue_push(&w->est, p);
	return 1;
}

/* ---- workers ----------------------------------------------------------------- */

static long share(long total, const struct opts *o, int k)
{
	return total / o->workers + (k < total % o->workers ? 1 : 0);
}

/* Hold queue capacity: twice what the rate fills in the hold time. */
static long hold_cap(long rate, long ms)
{
	long cap = rate * ms / 1000 * 2 + 16;

	return cap < MAX_HELD ? cap : MAX_HELD;
}

/* SIGTERM or SIGINT, blocked in the workers (so that no socket call is ever
 * interrupted), is waiting: time to stop. */
static bool stop_pending(void)
{
	sigset_t set;

	if (got_signal)
		return true;
	if (sigpending(&set) < 0)
		return true;
	return sigismember(&set, SIGTERM) == 1 || sigismember(&set, SIGINT) == 1;
}

/* The churn loop: open at the rate, close what has been held long enough. */
static int churn_loop(struct worker *w, int ready_fd, long deadline)
{
	const struct opts *o = w->o;
	long rate = share(o->rate, o, w->k), max = share(o->max_conns, o, w->k);
	long base = now_ms(), credited = 0, warm_at = base + o->hold_ms + o->half_ms;
	long burst = rate / 10 + 1;
	bool warm = false;
	int r = 0;

	while (!stop_pending() && r == 0) {
		long now = now_ms(), allowed;
		int tries = 0;

		if (now >= deadline || w->conns >= max)
			break;
		if ((r = expire(w, false)) < 0)
			break;
		if (!warm && now >= warm_at && w->wrapped) {
			warm = true;
			if (write(ready_fd, "r", 1) != 1) {
				r = fail_errno("write to the ready pipe");
				break;
			}
		}
		/* Credits since base; after a stall (a loaded machine) at most
		 * 1/10 s of them are caught up, so there is never a burst. */
		allowed = (now - base) * rate / 1000 - credited;
		if (allowed > burst) {
			credited += allowed - burst;
			allowed = burst;
		}
		while (r == 0 && allowed > 0 && w->conns < max && tries < 4) {
			r = open_one(w);
			if (r == 0)
				tries++;
			else if (r > 0) {
				r = 0;
				allowed--;
				credited++;
			}
		}
		if (r == 0 && (allowed <= 0 || tries >= 4))
			sleep_ms(1);
	}
	if (r < 0)
		return r;
	return expire(w, true);
}

/* Open the listeners on PORT+k (IPv6: when ::1 is there). */
static int worker_listen(struct worker *w)
{
	w->lfd4 = listen_on(AF_INET, w->port, 128, 0);
	if (w->lfd4 < 0)
		return w->lfd4;
	if (!w->ipv6)
		return 0;
	w->lfd6 = listen_on(AF_INET6, w->port, 128, 0);
	return w->lfd6 < 0 ? w->lfd6 : 0;
}

static int worker_main(struct worker *w, pid_t parent, int ready_fd, long deadline)
{
	const struct opts *o = w->o;
	long rate = share(o->rate, o, w->k);
	sigset_t old;
	int r;

	if (set_signals(SIG_DFL, SIGALRM, SIGCHLD, 0) < 0 ||
	    block_signals(&old, SIGTERM, SIGINT, 0) < 0)
		return -EIO;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		return fail("worker %d: parent gone", w->k);
	alarm((unsigned) o->duration_s + 5);
	if ((r = pin_cpu(w->k)) < 0 || (r = worker_listen(w)) < 0)
		return r;
	w->free_at = calloc((size_t) o->pool, sizeof(*w->free_at));
	if (!w->free_at) {
		errno = ENOMEM;
		return fail_errno("port pool of %ld", o->pool);
	}
	if ((r = queue_init(&w->est, hold_cap(rate, o->hold_ms))) < 0 ||
	    (r = queue_init(&w->half, hold_cap(rate * 2 / 5 + 1, o->half_ms))) < 0)
		return r;
	if ((r = put_line(w)) < 0)
		return r;
	r = churn_loop(w, ready_fd, deadline);
	if (r == 0)
		r = put_line(w);
	return r;
}

/* ---- the parent ---------------------------------------------------------------- */

/* Whether ::1 is there to bind to (IPv6 may be disabled). */
static bool have_ipv6(void)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(AF_INET6, 0, &ss);
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *) &ss, len) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* tcp_tw_reuse_delay in ms (Linux 6.13; 1 s, fixed, before it). */
static long tw_reuse_delay_ms(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_tw_reuse_delay", "re");
	long v = 1000;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1 || v < 1 || v > 600000)
			v = 1000;
		fclose(f);
	}
	return v;
}

/* The workers' counter lines, summed (re-read a line caught mid-rewrite):
 * v[0] started, v[1] done, v[2] conns, v[3] busy, v[4] skipped. */
static int read_counters(int fd, long workers, long v[5])
{
	memset(v, 0, 5 * sizeof(*v));
	for (long k = 0; k < workers; k++) {
		char line[LINE_LEN + 1];
		long f[6];
		int tries = 0;

		do {
			if (pread(fd, line, LINE_LEN, (off_t) k * LINE_LEN) != LINE_LEN)
				return fail_errno("pread counter line %ld", k);
			line[LINE_LEN] = '\0';
		} while ((sscanf(line, "%ld %ld %ld %ld %ld %ld", &f[0], &f[1], &f[2], &f[3], &f[4],
				 &f[5]) != 6 || f[0] != f[5]) && ++tries < 100);
		if (tries >= 100)
			return fail("counter line %ld unreadable", k);
		for (int i = 0; i < 5; i++)
			v[i] += f[i];
	}
	return 0;
}

static int write_ready(const struct opts *o, bool ipv6, const pid_t *pids, long max_sockets)
{
	char tmp[PATH_MAX];
	FILE *f = ready_open(o->ready, tmp);

	if (!f)
		return -EIO;
	fprintf(f, "pid=%d\nworkers=%ld\nworker_pids=", (int) getpid(), o->workers);
	for (long k = 0; k < o->workers; k++)
		fprintf(f, "%s%d", k ? "," : "", (int) pids[k]);
	fprintf(f, "\nlisten_ports=%ld-%ld\nipv6=%d\npool_ports=%ld-%ld\nrate_target=%ld\n"
		"hold_ms=%ld\nhalf_ms=%ld\nduration_s=%ld\nmax_conns=%ld\nmax_sockets=%ld\n"
		"counter=%s\n",
		o->port, o->port + o->workers - 1, ipv6 ? 1 : 0, o->pool_base,
		o->pool_base + o->workers * o->pool - 1, o->rate, o->hold_ms, o->half_ms,
		o->duration_s, o->max_conns, max_sockets, o->counter);
	return ready_commit(f, tmp, o->ready);
}

/* Wait until every worker has written to the ready pipe; fails when one
 * exits first or after the warm-up time (the hold times, or twice the time
 * to go through the pool at the rate) plus IO_TIMEOUT_MS. */
static int wait_warm(int rfd, const struct opts *o)
{
	long rate_w = o->rate / o->workers > 0 ? o->rate / o->workers : 1;
	long wrap_ms = 2 * o->pool * 1000 / rate_w;
	long limit = (o->hold_ms + o->half_ms > wrap_ms ? o->hold_ms + o->half_ms : wrap_ms) +
		     IO_TIMEOUT_MS;
	long deadline = now_ms() + limit, got = 0;

	while (got < o->workers) {
		struct pollfd p = { .fd = rfd, .events = POLLIN };
		long left = deadline - now_ms();
		char buf[MAX_WORKERS];
		ssize_t n;

		if (got_signal)
			return fail("interrupted by signal %d while warming up", (int) got_signal);
		if (left <= 0)
			return fail("the workers did not warm up in %ld ms", limit);
		/* 100 ms at most, so that a signal just before poll() is seen soon. */
		n = poll(&p, 1, left < 100 ? (int) left : 100);
		if (n < 0 && errno != EINTR)
			return fail_errno("poll the ready pipe");
		if (n <= 0)
			continue;
		n = read(rfd, buf, sizeof(buf));
		if (n == 0)
			return fail("a worker exited while warming up");
		if (n < 0 && errno != EINTR)
			return fail_errno("read the ready pipe");
		if (n > 0)
			got += n;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: " PROG " --ready FILE --counter FILE [--duration SECS] [--workers N]\n"
		"             [--rate CONN_PER_S] [--hold-ms MS] [--half-ms MS] [--port N]\n"
		"             [--pool-base N] [--pool N] [--max-conns N]\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "ready", required_argument, NULL, 'r' },
		{ "counter", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "workers", required_argument, NULL, 'w' },
		{ "rate", required_argument, NULL, 'R' },
		{ "hold-ms", required_argument, NULL, 'H' },
		{ "half-ms", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "pool-base", required_argument, NULL, 'b' },
		{ "pool", required_argument, NULL, 'P' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 }
	};
	int c, r = 0;

	while (r == 0 && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r': o->ready = optarg; break;
		case 'c': o->counter = optarg; break;
		case 'd': r = parse_num("duration", optarg, 1, 300, &o->duration_s); break;
		case 'w': r = parse_num("workers", optarg, 1, MAX_WORKERS, &o->workers); break;
		case 'R': r = parse_num("rate", optarg, 1, 50000, &o->rate); break;
		case 'H': r = parse_num("hold-ms", optarg, 0, 10000, &o->hold_ms); break;
		case 'h': r = parse_num("half-ms", optarg, 0, 10000, &o->half_ms); break;
		case 'p': r = parse_num("port", optarg, 1024, 65535, &o->port); break;
		case 'b': r = parse_num("pool-base", optarg, 1024, 65535, &o->pool_base); break;
		case 'P': r = parse_num("pool", optarg, 16, 16000, &o->pool); break;
		case 'm': r = parse_num("max-conns", optarg, 1, 10000000, &o->max_conns); break;
		default: r = -EINVAL; break;
		}
	}
	if (r < 0)
		return r;
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->ready || !o->counter) {
		fprintf(stderr, PROG ": --ready FILE and --counter FILE are required\n");
		return -EINVAL;
	}
	if (o->port + o->workers - 1 > 65535 || o->pool_base + o->workers * o->pool - 1 > 65535) {
		fprintf(stderr, PROG ": listener or pool ports beyond 65535\n");
		return -EINVAL;
	}
	if (o->port + o->workers > o->pool_base && o->port < o->pool_base + o->workers * o->pool) {
		fprintf(stderr, PROG ": the listener ports overlap the pool ports\n");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.duration_s = 60, .workers = 2, .rate = 2000, .hold_ms = 1000,
		.half_ms = 1000, .port = 15000, .pool_base = 20000, .pool = 5000,
		.max_conns = 10000000,
	};
	struct worker w[MAX_WORKERS];
	pid_t pids[MAX_WORKERS];
	long deadline, t0, max_sockets = 0, max_fds = 64, cnt[5], alive = 0, reuse_ms;
	int pfd[2], cfd, r, st, failed = 0;
	bool ipv6, stopping = false;

	if (parse_opts(argc, argv, &o) < 0) {
		usage();
		return 2;
	}
	if (check_private_netns() < 0)
		return 2;
	if (set_signals(on_signal, SIGTERM, SIGINT, 0) < 0 || set_signals(SIG_DFL, SIGALRM, 0) < 0)
		return 1;
	/* The hard bound: whatever happens, SIGALRM ends us (and the workers,
	 * by PR_SET_PDEATHSIG) a little after the deadline. */
	alarm((unsigned) o.duration_s + 10);
	ipv6 = have_ipv6();
	reuse_ms = tw_reuse_delay_ms() + REUSE_MARGIN_MS;
	for (long k = 0; k < o.workers; k++) {
		long rate = share(o.rate, &o, (int) k);
		long fds = 2 * hold_cap(rate, o.hold_ms) + 2 * hold_cap(rate * 2 / 5 + 1, o.half_ms) +
			   (ipv6 ? 2 : 1);

		/* Held pairs and listeners have descriptors (per worker
		 * process); TIME_WAIT (at most one per pool port, family and
		 * side) has none. */
		if (fds + 64 > max_fds)
			max_fds = fds + 64;
		max_sockets += fds + 2 * o.pool;
	}
	if ((r = raise_nofile((rlim_t) max_fds, "lower --rate or the hold times")) < 0)
		return 1;
	cfd = open(o.counter, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (cfd < 0) {
		fail_errno("cannot create '%s'", o.counter);
		return 1;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		fail_errno("pipe");
		return 1;
	}
	t0 = now_ms();
	deadline = t0 + o.duration_s * 1000;
	for (long k = 0; k < o.workers; k++) {
		w[k] = (struct worker) {
			.k = (int) k, .counter_fd = cfd, .lfd4 = -1, .lfd6 = -1, .ipv6 = ipv6,
			.port = o.port + k, .pool_first = o.pool_base + k * o.pool,
			.reuse_ms = reuse_ms, .o = &o,
		};
		if ((r = put_line(&w[k])) < 0)
			return 1;
	}
	for (long k = 0; k < MAX_WORKERS; k++)
		pids[k] = -1;
	for (long k = 0; k < o.workers; k++) {
		pid_t parent = getpid();

		fflush(stderr);
		pids[k] = fork();
		if (pids[k] < 0) {
			fail_errno("fork");
			failed = 1;
			break;
		}
		if (pids[k] == 0) {
			close(pfd[0]);
			r = worker_main(&w[k], parent, pfd[1], deadline);
			_exit(r < 0 ? 1 : 0);
		}
		alive++;
	}
	close(pfd[1]);
	if (!failed && wait_warm(pfd[0], &o) < 0)
		failed = 1;
	if (!failed && write_ready(&o, ipv6, pids, max_sockets) < 0)
		failed = 1;
	close(pfd[0]);
	/* Wait for the workers: they stop at the deadline, or on our signal
	 * (polled every 10 ms: a signal just before a blocking wait is not
	 * missed). */
	while (alive > 0) {
		pid_t pid;

		if ((got_signal || failed) && !stopping) {
			stopping = true;
			for (long k = 0; k < o.workers; k++)
				if (pids[k] > 0)
					kill(pids[k], SIGTERM);
		}
		pid = waitpid(-1, &st, WNOHANG);
		if (pid == 0 || (pid < 0 && errno == EINTR)) {
			sleep_ms(10);
			continue;
		}
		if (pid < 0) {
			fail_errno("waitpid");
			return 1;
		}
		for (long k = 0; k < o.workers; k++)
			if (pids[k] == pid) {
				pids[k] = -1;
				alive--;
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
					fail("worker %ld ended with status 0x%x", k, st);
					failed = 1;
				}
			}
	}
	if (read_counters(cfd, o.workers, cnt) < 0)
		return 1;
	{
		long ms = now_ms() - t0;

		fprintf(stderr, PROG ": %ld connections in %.1f s (%ld/s), %ld state-changing calls, "
			"%ld pool ports passed over, %ld refused as busy, %ld workers, ipv6 %s%s\n",
			cnt[2], ms / 1000.0, ms > 0 ? cnt[2] * 1000 / ms : 0, cnt[0], cnt[4], cnt[3],
			o.workers, ipv6 ? "yes" : "no", failed ? "; FAILED" : "");
	}
	close(cfd);
	return failed ? 1 : 0;
}
