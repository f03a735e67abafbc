/* sockscen: build a deterministic TCP socket population on loopback, for the
 * integration tests and the benchmark.
 *
 * It refuses to run in the host's network namespace.  Start it inside
 * `unshare --net --mount --propagation private` with `ip link set lo up`.
 *
 * What it builds (counts are options; listeners on 127.0.0.1:PORT4+k and
 * [::1]:PORT6+k):
 *   tw-out     client closes first: TIME_WAIT on the client, remote = PORT4+0
 *   tw-out2    the same towards PORT4+1 (a second, smaller destination)
 *   tw-in      server closes first: TIME_WAIT on the listener port PORT4+2
 *   tw6        like tw-out over ::1, remote = [::1]:PORT6+0
 *   close-wait a child renamed NAME (prctl) listens on PORT4+3, accepts and
 *              never reads nor closes; our clients shutdown(SHUT_WR) and keep
 *              their fds: child CLOSE_WAIT, ours FIN_WAIT2 (not orphaned);
 *              the first M clients send one byte first (unread data)
 *   estab      N pairs over IPv4 (PORT4+4) and N over IPv6 (PORT6+1)
 *   orphan-fw1 zero-window receiver on PORT4+5; client fills the pipe and
 *              close()s: orphan in FIN_WAIT1, receiver ESTABLISHED
 *   orphan-fw2 client close()s, the accepted socket (PORT4+6) stays open and
 *              unread: client is an orphan FIN_WAIT2 minisocket (lives
 *              tcp_fin_timeout), our server side CLOSE_WAIT
 * It runs pinned to one CPU (see pin_cpu() in socklib.h, which holds what it
 * shares with bench/sockgen.c).  Before writing the ready file it reads
 * /proc/net/tcp{,6} until the state counts are exactly the expected ones and
 * stay so for 300 ms, or fails; TIME_WAIT sockets that vanish meanwhile are
 * rebuilt, at most 3 rounds.  The ready file is written to
 * FILE.tmp and renamed, so a reader never sees half of it.  Then it waits for
 * SIGTERM/SIGINT (or --timeout), kills its child and exits 0.
 *
 * Exit codes: 0 done, 1 a step failed, 2 usage or not in a private netns. */
#include <fcntl.h>
#include <getopt.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#define PROG "sockscen"
#define MAX_COUNT 1000000L
#define IO_TIMEOUT_MS 10000	/* any single wait for the peer */
#define BUILD_LIMIT_S 60	/* the whole build, whatever the counts */
#define FILL_LIMIT_BYTES (64L << 20)

#include "socklib.h"

/* Listener port offsets. */
enum { P4_TW_OUT, P4_TW_OUT2, P4_TW_IN, P4_CW, P4_ESTAB, P4_FW1, P4_FW2, P4_N };
enum { P6_TW, P6_ESTAB, P6_N };

/* TIME_WAIT sockets by the scenario that made them. */
enum { TWK_OUT, TWK_OUT2, TWK_IN, TWK_6, TWK_N };
static const char *const twk_names[TWK_N] = { "tw-out", "tw-out2", "tw-in", "tw6" };

struct opts {
	long tw_out, tw_out2, tw_in, tw6;
	long close_wait, close_wait_unread;
	long estab, orphan_fw1, orphan_fw2;
	const char *holder_name, *ready;
	long timeout_s, settle_s;
	long port4, port6, chunk;
};

/* Where each TIME_WAIT scenario connects, to build (and rebuild) it. */
struct tw_src {
	int family, lfd;
	long port;
	bool client_first;
};

static pid_t holder_pid = -1;

/* ---- sockets ------------------------------------------------------------ */

/* Blocking connect to a loopback listener (bounded by SO_SNDTIMEO). */
static int connect_to(int family, long port, int sndbuf)
{
	struct timeval tv = { IO_TIMEOUT_MS / 1000, 0 };
	int fd, r = 0;

	fd = tcp_socket(family);
	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		r = fail_errno("setsockopt SO_SNDTIMEO");
	if (r == 0 && sndbuf > 0)
		r = set_int_opt(fd, SOL_SOCKET, SO_SNDBUF, sndbuf, "SO_SNDBUF");
	if (r < 0) {
		close(fd);
		return r;
	}
	return connect_fd(fd, family, port);
}

/* One connection to [family]:port and its accepted end (*c, *s). */
static int connect_pair(int family, int lfd, long port, int sndbuf, const char *what,
			int *c, int *s)
{
	*c = connect_to(family, port, sndbuf);
	if (*c < 0)
		return *c;
	*s = accept_one(lfd, 0, what);
	return *s < 0 ? *s : 0;
}

/* `count` connections to src, closed so that TIME_WAIT lands on the client
 * (client_first) or on the server.  The side that closes second waits for
 * the first one's FIN, so there is never a simultaneous close (CLOSING) and
 * the second closer ends in LAST_ACK, which the loopback ACK clears. */
static int make_time_wait(const struct tw_src *src, long count, long chunk)
{
	int *cl = NULL, *sv = NULL;
	long done = 0, n, i;
	int r = 0;

	cl = calloc((size_t) chunk, sizeof(*cl));
	sv = calloc((size_t) chunk, sizeof(*sv));
	if (!cl || !sv) {
		errno = ENOMEM;
		r = fail_errno("time-wait buffers");
		goto out;
	}
	while (done < count) {
		n = count - done < chunk ? count - done : chunk;
		for (i = 0; i < n; i++)
			cl[i] = sv[i] = -1;
		for (i = 0; i < n && r >= 0; i++) {
			r = connect_to(src->family, src->port, 0);
			if (r >= 0)
				cl[i] = r;
		}
		for (i = 0; i < n && r >= 0; i++) {
			r = accept_one(src->lfd, 0, "time-wait accept");
			if (r >= 0)
				sv[i] = r;
		}
		if (r < 0)
			goto out;
		int *first = src->client_first ? cl : sv, *second = src->client_first ? sv : cl;

		for (i = 0; i < n && r >= 0; i++) {
			r = close_checked(first[i], "time-wait first close");
			first[i] = -1;
		}
		for (i = 0; i < n && r >= 0; i++) {
			r = wait_eof(second[i], "time-wait peer FIN");
			if (r >= 0)
				r = close_checked(second[i], "time-wait second close");
			second[i] = -1;
		}
		if (r < 0)
			goto out;
		done += n;
	}
out:
	if (r < 0) {
		for (i = 0; cl && sv && i < chunk; i++) {
			if (cl[i] >= 0)
				close(cl[i]);
			if (sv[i] >= 0)
				close(sv[i]);
		}
	}
	free(cl);
	free(sv);
	return r < 0 ? r : 0;
}

/* N connected pairs; both ends stay open for the life of the process. */
static int make_estab(int family, int lfd, long port, long count)
{
	int c, s, r = 0;

	for (long i = 0; i < count && r == 0; i++)
		r = connect_pair(family, lfd, port, 0, "established accept", &c, &s);
	return r;
}


/* Send until EAGAIN; returns bytes sent or <0. */
static long fill(int fd)
{
	static char buf[16384];
	long total = 0;

	for (;;) {
		ssize_t n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			total += n;
			if (total > FILL_LIMIT_BYTES)
				return fail("orphan-fw1: the receiver took %ld bytes "
					    "without closing its window", total);
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return fail_errno("send (orphan-fw1)");
		return total;
	}
}

/* Fill every client until the receivers' zero windows stop them all (no
 * progress for 200 ms), check each has unsent data, then close them: each
 * FIN queues behind data that cannot leave. */
static int make_orphan_fw1(int lfd, long port, long count)
{
	long start, last, n;
	int *cl, s, r = 0, unsent;

	cl = calloc((size_t) count, sizeof(*cl));
	if (!cl) {
		errno = ENOMEM;
		return fail_errno("orphan-fw1 buffers");
	}
	for (long i = 0; i < count && r >= 0; i++) {
		/* The accepted end s stays open, unread. */
		r = connect_pair(AF_INET, lfd, port, 16384, "orphan-fw1 accept", &cl[i], &s);
		if (r >= 0)
			r = (int) fill(cl[i]);
	}
	start = last = now_ms();
	while (r >= 0 && now_ms() - last < 200) {
		sleep_ms(20);
		for (long i = 0; i < count && r >= 0; i++) {
			n = fill(cl[i]);
			if (n < 0)
				r = (int) n;
			else if (n > 0)
				last = now_ms();
		}
		if (r >= 0 && now_ms() - start > IO_TIMEOUT_MS)
			r = fail("orphan-fw1: the send buffers never stayed full");
		if (r >= 0 && got_signal) {
			errno = EINTR;
			r = fail_errno("orphan-fw1");
		}
	}
	for (long i = 0; i < count && r >= 0; i++) {
		if (ioctl(cl[i], SIOCOUTQNSD, &unsent) < 0)
			r = fail_errno("ioctl SIOCOUTQNSD");
		else if (unsent <= 0)
			r = fail("orphan-fw1: no unsent data left; the FIN would not wait");
	}
	for (long i = 0; i < count && r >= 0; i++)
		r = close_checked(cl[i], "orphan-fw1 client");
	free(cl);
	return r < 0 ? r : 0;
}

/* Client close()s; the accepted socket stays open and unread. */
static int make_orphan_fw2(int lfd, long port, long count)
{
	int c, s, r = 0;

	for (long i = 0; i < count && r == 0; i++) {
		r = connect_pair(AF_INET, lfd, port, 0, "orphan-fw2 accept", &c, &s);
		if (r == 0)
			r = close_checked(c, "orphan-fw2 client");
	}
	return r;
}

/* ---- the CLOSE_WAIT holder child --------------------------------------- */

static int write_byte(int fd, char c)
{
	ssize_t n;

	do
		n = write(fd, &c, 1);
	while (n < 0 && errno == EINTR && !got_signal);
	return n == 1 ? 0 : -1;
}

/* Runs in the child; never returns. */
static void holder_main(const struct opts *o, pid_t parent, int status_fd)
{
	int lfd;

	if (become_holder(parent, o->holder_name, (unsigned) o->timeout_s + 5) < 0)
		_exit(1);
	lfd = listen_on(AF_INET, o->port4 + P4_CW,
			o->close_wait > 4096 ? 4096 : (int) o->close_wait + 1, 0);
	if (lfd < 0 || write_byte(status_fd, 'L') < 0)
		_exit(1);
	for (long i = 0; i < o->close_wait; i++)
		if (accept_one(lfd, 0, "close-wait holder accept") < 0)
			_exit(1);
	if (write_byte(status_fd, 'A') < 0)
		_exit(1);
	for (;;)
		pause();
}

static int wait_status(int fd, char want, const char *what)
{
	char c = 0;
	int r = read_one(fd, &c, what);

	if (r < 0)
		return r;
	if (r == 0 || c != want)
		return fail("close-wait holder failed (%s)", what);
	return 0;
}

/* Fork the holder before any other socket exists, so it inherits none. */
static int start_holder(const struct opts *o, int *ret_status_fd)
{
	pid_t parent = getpid();
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return fail_errno("pipe2");
	holder_pid = fork();
	if (holder_pid < 0)
		return fail_errno("fork");
	if (holder_pid == 0) {
		close(p[0]);
		holder_main(o, parent, p[1]);
	}
	close(p[1]);
	*ret_status_fd = p[0];
	return 0;
}

static int make_close_wait(const struct opts *o, int status_fd)
{
	long port = o->port4 + P4_CW;
	int *cl;
	int r = 0;

	r = wait_status(status_fd, 'L', "holder listening");
	if (r < 0)
		return r;
	cl = calloc((size_t) o->close_wait, sizeof(*cl));
	if (!cl) {
		errno = ENOMEM;
		return fail_errno("close-wait buffers");
	}
	for (long i = 0; i < o->close_wait && r >= 0; i++) {
		r = connect_to(AF_INET, port, 0);
		cl[i] = r;
	}
	if (r >= 0)
		r = wait_status(status_fd, 'A', "holder accepted all");
	for (long i = 0; i < o->close_wait && r >= 0; i++) {
		if (i < o->close_wait_unread && send(cl[i], "x", 1, MSG_NOSIGNAL) != 1)
			r = fail_errno("send (close-wait unread byte)");
		else if (shutdown(cl[i], SHUT_WR) < 0)
			r = fail_errno("shutdown (close-wait client)");
	}
	/* The client fds stay open on purpose (non-orphaned FIN_WAIT2). */
	free(cl);
	return r < 0 ? r : 0;
}


/* ---- verification via /proc/net/tcp{,6} -------------------------------- */

struct census {
	long states[ST_MAX + 1];	/* both families */
	long states6[ST_MAX + 1];
	long tw[TWK_N];
};

/* How each scenario's TIME_WAIT looks in /proc/net/tcp{,6}: the kernel prints
 * each __be32 of the address as a host integer, then the port in hex. */
struct tw_keys {
	char rem[TWK_N][48];	/* remote address (TWK_OUT, TWK_OUT2, TWK_6) */
	char loc_in[48];	/* local address of incoming TIME_WAIT */
};

/* 127.0.0.1:port as /proc/net/tcp prints it. */
static void key4(char *buf, size_t size, long port)
{
	struct in_addr lo4 = { htonl(INADDR_LOOPBACK) };

	snprintf(buf, size, "%08X:%04X", (unsigned) lo4.s_addr, (unsigned) port);
}

static void make_tw_keys(const struct opts *o, struct tw_keys *k)
{
	uint32_t w[4];

	memset(k, 0, sizeof(*k));
	key4(k->rem[TWK_OUT], sizeof(k->rem[0]), o->port4 + P4_TW_OUT);
	key4(k->rem[TWK_OUT2], sizeof(k->rem[0]), o->port4 + P4_TW_OUT2);
	key4(k->loc_in, sizeof(k->loc_in), o->port4 + P4_TW_IN);
	memcpy(w, &in6addr_loopback, sizeof(w));
	snprintf(k->rem[TWK_6], sizeof(k->rem[0]), "%08X%08X%08X%08X:%04X",
		 (unsigned) w[0], (unsigned) w[1], (unsigned) w[2], (unsigned) w[3],
		 (unsigned) (o->port6 + P6_TW));
}

static int read_proc_tcp(const char *path, bool v6, const struct tw_keys *k,
			 struct census *c)
{
	char line[512], loc[64], rem[64];
	unsigned st;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return fail_errno("cannot open %s", path);
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return fail("%s: empty", path);
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*u: %63s %63s %x", loc, rem, &st) != 3 || st > ST_MAX) {
			fclose(f);
			return fail("%s: cannot parse line '%s'", path, line);
		}
		c->states[st]++;
		if (v6)
			c->states6[st]++;
		if (st != ST_TIME_WAIT)
			continue;
		if (v6 && strcmp(rem, k->rem[TWK_6]) == 0)
			c->tw[TWK_6]++;
		else if (!v6 && strcmp(rem, k->rem[TWK_OUT]) == 0)
			c->tw[TWK_OUT]++;
		else if (!v6 && strcmp(rem, k->rem[TWK_OUT2]) == 0)
			c->tw[TWK_OUT2]++;
		else if (!v6 && strcmp(loc, k->loc_in) == 0)
			c->tw[TWK_IN]++;
	}
	fclose(f);
	return 0;
}

static void expected_census(const struct opts *o, long listeners, struct census *e)
{
	memset(e, 0, sizeof(*e));
	e->states[ST_TIME_WAIT] = o->tw_out + o->tw_out2 + o->tw_in + o->tw6;
	e->states[ST_ESTABLISHED] = 4 * o->estab + o->orphan_fw1;
	e->states[ST_CLOSE_WAIT] = o->close_wait + o->orphan_fw2;
	e->states[ST_FIN_WAIT2] = o->close_wait + o->orphan_fw2;
	e->states[ST_FIN_WAIT1] = o->orphan_fw1;
	e->states[ST_LISTEN] = listeners;
	e->states6[ST_TIME_WAIT] = o->tw6;
	e->states6[ST_ESTABLISHED] = 2 * o->estab;
	e->states6[ST_LISTEN] = (o->tw6 > 0) + (o->estab > 0);
	e->tw[TWK_OUT] = o->tw_out;
	e->tw[TWK_OUT2] = o->tw_out2;
	e->tw[TWK_IN] = o->tw_in;
	e->tw[TWK_6] = o->tw6;
}

/* Every non-zero Tcp and TcpExt counter of this netns, for diagnosis. */
static void dump_tcp_counters(void)
{
	static const char *const files[] = { "/proc/net/snmp", "/proc/net/netstat" };
	char hdr[8192], val[8192], *hs, *vs, *h, *v;

	fprintf(stderr, "  non-zero counters:");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f = fopen(files[i], "re");

		if (!f)
			continue;
		while (fgets(hdr, sizeof(hdr), f) && fgets(val, sizeof(val), f)) {
			if (strncmp(hdr, "Tcp:", 4) != 0 && strncmp(hdr, "TcpExt:", 7) != 0)
				continue;
			h = strtok_r(hdr, " \n", &hs);
			v = strtok_r(val, " \n", &vs);
			while ((h = strtok_r(NULL, " \n", &hs)) && (v = strtok_r(NULL, " \n", &vs)))
				if (strcmp(v, "0") != 0)
					fprintf(stderr, " %s=%s", h, v);
		}
		fclose(f);
	}
	fputc('\n', stderr);
}

static void report_mismatch(const struct opts *o, const struct census *got,
			    const struct census *want)
{
	fprintf(stderr, PROG ": socket population did not settle within %ld s:\n", o->settle_s);
	for (int st = 1; st <= ST_MAX; st++)
		if (got->states[st] != want->states[st] || got->states6[st] != want->states6[st])
			fprintf(stderr, "  state %d (%s): got %ld (ipv6 %ld), want %ld (ipv6 %ld)\n",
				st, state_names[st] ? state_names[st] : "?", got->states[st],
				got->states6[st], want->states[st], want->states6[st]);
	for (int k = 0; k < TWK_N; k++)
		if (got->tw[k] != want->tw[k])
			fprintf(stderr, "  TIME_WAIT of %s: got %ld, want %ld\n",
				twk_names[k], got->tw[k], want->tw[k]);
	dump_tcp_counters();
}

/* True if the only difference is TIME_WAIT sockets missing from some scenarios. */
static bool only_tw_missing(const struct census *got, const struct census *want)
{
	long miss = 0;

	for (int k = 0; k < TWK_N; k++) {
		if (got->tw[k] > want->tw[k])
			return false;
		miss += want->tw[k] - got->tw[k];
	}
	for (int st = 0; st <= ST_MAX; st++) {
		long d = st == ST_TIME_WAIT ? miss : 0;
		long d6 = st == ST_TIME_WAIT ? want->tw[TWK_6] - got->tw[TWK_6] : 0;

		if (want->states[st] - got->states[st] != d ||
		    want->states6[st] - got->states6[st] != d6)
			return false;
	}
	return miss > 0;
}

static int read_census(const struct tw_keys *keys, struct census *c)
{
	int r;

	memset(c, 0, sizeof(*c));
	r = read_proc_tcp("/proc/net/tcp", false, keys, c);
	if (r == 0)
		r = read_proc_tcp("/proc/net/tcp6", true, keys, c);
	return r;
}

/* Poll the kernel's view until it matches and stays so for 300 ms, for at
 * most settle_s seconds.  TIME_WAIT sockets that vanish (seen rarely under
 * load, with no TWRecycled/TWKilled count) are rebuilt, at most 3 times. */
static int settle(const struct opts *o, const struct tw_src *src,
		  const struct census *want, struct census *ret_got, long *ret_rebuilt)
{
	long deadline = now_ms() + o->settle_s * 1000;
	long since = -1, short_since = -1, rebuilt = 0;
	int rounds = 0, r;
	struct tw_keys keys;
	struct census got;

	make_tw_keys(o, &keys);
	for (;;) {
		r = read_census(&keys, &got);
		if (r < 0)
			return r;
		if (memcmp(&got, want, sizeof(got)) == 0) {
			short_since = -1;
			if (since < 0)
				since = now_ms();
			else if (now_ms() - since >= 300)
				break;
		} else {
			since = -1;
			if (!only_tw_missing(&got, want))
				short_since = -1;
			else if (short_since < 0)
				short_since = now_ms();
		}
		if (short_since >= 0 && now_ms() - short_since >= 1000 && rounds < 3) {
			rounds++;
			short_since = -1;
			for (int k = 0; k < TWK_N && r == 0; k++) {
				long miss = want->tw[k] - got.tw[k];

				if (miss <= 0)
					continue;
				fprintf(stderr, PROG ": %ld TIME_WAIT of %s vanished; rebuilding them\n",
					miss, twk_names[k]);
				dump_tcp_counters();
				rebuilt += miss;
				r = make_time_wait(&src[k], miss, o->chunk);
			}
			if (r < 0)
				return r;
			continue;
		}
		if (got_signal)
			return -EINTR;
		if (now_ms() > deadline) {
			report_mismatch(o, &got, want);
			return -ETIMEDOUT;
		}
		sleep_ms(20);
	}
	*ret_got = got;
	*ret_rebuilt = rebuilt;
	return 0;
}

/* ---- ready file ---------------------------------------------------------- */

static int write_ready(const struct opts *o, const struct census *got, long listeners,
		       const char *listen_ports, long build_ms, long rebuilt)
{
	char tmp[PATH_MAX];
	long total;
	FILE *f = ready_open(o->ready, tmp);

	if (!f)
		return -EIO;
	fprintf(f, "pid=%ld\n", (long) getpid());
	fprintf(f, "holder_pid=%ld\n", (long) holder_pid);
	fprintf(f, "holder_comm=%s\n", o->close_wait > 0 ? o->holder_name : "");
	fprintf(f, "tw_top_remote=127.0.0.1:%ld\n", o->port4 + P4_TW_OUT);
	fprintf(f, "tw_top_count=%ld\n", o->tw_out);
	fprintf(f, "tw_out2_remote=127.0.0.1:%ld\n", o->port4 + P4_TW_OUT2);
	fprintf(f, "tw_out2_count=%ld\n", o->tw_out2);
	fprintf(f, "tw_in_port=%ld\n", o->port4 + P4_TW_IN);
	fprintf(f, "tw_in_count=%ld\n", o->tw_in);
	fprintf(f, "tw6_remote=[::1]:%ld\n", o->port6 + P6_TW);
	fprintf(f, "tw6_count=%ld\n", o->tw6);
	fprintf(f, "close_wait_port=%ld\n", o->port4 + P4_CW);
	fprintf(f, "close_wait_count=%ld\n", o->close_wait);
	fprintf(f, "close_wait_unread=%ld\n", o->close_wait_unread);
	fprintf(f, "estab_pairs=%ld\n", o->estab);
	fprintf(f, "orphan_fw1=%ld\n", o->orphan_fw1);
	fprintf(f, "orphan_fw2=%ld\n", o->orphan_fw2);
	fprintf(f, "listeners=%ld\n", listeners);
	fprintf(f, "listen_ports=%s\n", listen_ports);
	total = write_expect(f, "", got->states);
	fprintf(f, "expect_ipv6_time_wait=%ld\n", got->states6[ST_TIME_WAIT]);
	fprintf(f, "expect_total=%ld\n", total);
	fprintf(f, "build_ms=%ld\n", build_ms);
	fprintf(f, "tw_rebuilt=%ld\n", rebuilt);
	return ready_commit(f, tmp, o->ready);
}

/* ---- options ------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
"usage: " PROG " --ready FILE [options]   (only inside a private network namespace)\n"
"  --tw-out N             outgoing TIME_WAIT to 127.0.0.1:PORT4 (1500)\n"
"  --tw-out2 N            outgoing TIME_WAIT to 127.0.0.1:PORT4+1 (600)\n"
"  --tw-in N              incoming TIME_WAIT on listener 127.0.0.1:PORT4+2 (200)\n"
"  --tw6 N                outgoing TIME_WAIT to [::1]:PORT6 (100)\n"
"  --close-wait N         CLOSE_WAIT held by a child on PORT4+3 (300)\n"
"  --close-wait-unread M  of those, with one unread byte (100)\n"
"  --holder-name NAME     the child's comm, at most 15 bytes (cwholder)\n"
"  --estab N              established pairs, N over IPv4 and N over IPv6 (10)\n"
"  --orphan-fw1 N         orphaned FIN_WAIT1 behind a zero window (2)\n"
"  --orphan-fw2 N         orphaned FIN_WAIT2, lives tcp_fin_timeout (3)\n"
"  --port4 P --port6 P    first listener port on 127.0.0.1 / ::1 (18001 / 18101)\n"
"  --chunk N              TIME_WAIT connections built per batch (512)\n"
"  --settle SECS          how long to wait for exact counts (10)\n"
"  --timeout SECS         exit by itself after SECS (120)\n"
"Writes FILE (key=value) when the population is exact, then waits for SIGTERM.\n"
"Each destination's count must stay well below ip_local_port_range.\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "tw-out", required_argument, NULL, 'a' },
		{ "tw-out2", required_argument, NULL, 'b' },
		{ "tw-in", required_argument, NULL, 'c' },
		{ "tw6", required_argument, NULL, 'd' },
		{ "close-wait", required_argument, NULL, 'e' },
		{ "close-wait-unread", required_argument, NULL, 'f' },
		{ "holder-name", required_argument, NULL, 'g' },
		{ "estab", required_argument, NULL, 'h' },
		{ "orphan-fw1", required_argument, NULL, 'i' },
		{ "orphan-fw2", required_argument, NULL, 'j' },
		{ "ready", required_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 'l' },
		{ "settle", required_argument, NULL, 'm' },
		{ "port4", required_argument, NULL, 'n' },
		{ "port6", required_argument, NULL, 'o' },
		{ "chunk", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	int c, idx, r = 0;

	*o = (struct opts) {
		.tw_out = 1500, .tw_out2 = 600, .tw_in = 200, .tw6 = 100,
		.close_wait = 300, .close_wait_unread = 100, .holder_name = "cwholder",
		.estab = 10, .orphan_fw1 = 2, .orphan_fw2 = 3,
		.timeout_s = 120, .settle_s = 10, .port4 = 18001, .port6 = 18101,
		.chunk = 512,
	};
	while ((c = getopt_long(argc, argv, "", lo, &idx)) != -1) {
		const char *n = c == '?' || c == 'H' ? "" : lo[idx].name;

		switch (c) {
		case 'a': r = parse_num(n, optarg, 0, MAX_COUNT, &o->tw_out); break;
		case 'b': r = parse_num(n, optarg, 0, MAX_COUNT, &o->tw_out2); break;
		case 'c': r = parse_num(n, optarg, 0, MAX_COUNT, &o->tw_in); break;
		case 'd': r = parse_num(n, optarg, 0, MAX_COUNT, &o->tw6); break;
		case 'e': r = parse_num(n, optarg, 0, MAX_COUNT, &o->close_wait); break;
		case 'f': r = parse_num(n, optarg, 0, MAX_COUNT, &o->close_wait_unread); break;
		case 'g': o->holder_name = optarg; break;
		case 'h': r = parse_num(n, optarg, 0, MAX_COUNT, &o->estab); break;
		case 'i': r = parse_num(n, optarg, 0, MAX_COUNT, &o->orphan_fw1); break;
		case 'j': r = parse_num(n, optarg, 0, MAX_COUNT, &o->orphan_fw2); break;
		case 'k': o->ready = optarg; break;
		case 'l': r = parse_num(n, optarg, 1, 86400, &o->timeout_s); break;
		case 'm': r = parse_num(n, optarg, 1, 600, &o->settle_s); break;
		case 'n': r = parse_num(n, optarg, 1024, 65535 - P4_N, &o->port4); break;
		case 'o': r = parse_num(n, optarg, 1024, 65535 - P6_N, &o->port6); break;
		case 'p': r = parse_num(n, optarg, 1, 4096, &o->chunk); break;
		case 'H': usage(stdout); return 1;
		default: usage(stderr); return -EINVAL;
		}
		if (r < 0)
			return r;
	}
	r = check_common_opts(argc, argv, o->ready, o->holder_name);
	if (r == 0 && o->close_wait_unread > o->close_wait) {
		fprintf(stderr, PROG ": --close-wait-unread %ld exceeds --close-wait %ld\n",
			o->close_wait_unread, o->close_wait);
		r = -EINVAL;
	}
	return r;
}

/* ---- main ---------------------------------------------------------------- */

static void stop_holder(void)
{
	int status;

	if (holder_pid <= 0)
		return;
	if (waitpid(holder_pid, &status, WNOHANG) == holder_pid) {
		fprintf(stderr, PROG ": the close-wait holder (pid %ld) had exited, status 0x%x\n",
			(long) holder_pid, status);
		holder_pid = -1;
		return;
	}
	kill(holder_pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		pid_t w = waitpid(holder_pid, &status, WNOHANG);

		if (w == holder_pid || (w < 0 && errno == ECHILD)) {
			holder_pid = -1;
			return;
		}
		sleep_ms(10);
	}
	kill(holder_pid, SIGKILL);
	waitpid(holder_pid, &status, 0);
	holder_pid = -1;
}

/* The listeners, for the ready file. */
struct listeners {
	long n;
	char ports[256];	/* "127.0.0.1:P,[::1]:P,..." */
};

static void note_listener(struct listeners *l, int family, long port)
{
	size_t len = strlen(l->ports);

	snprintf(l->ports + len, sizeof(l->ports) - len, "%s%s%s%s:%ld", len ? "," : "",
		 family == AF_INET ? "" : "[", fam_name(family), family == AF_INET ? "" : "]",
		 port);
	l->n++;
}

/* Open and note the listener of a scenario with count > 0 (else *lfd = -1). */
static int open_listener(struct listeners *l, int family, long port, long count, int backlog,
			 int rcvbuf, int *lfd)
{
	*lfd = -1;
	if (count == 0)
		return 0;
	*lfd = listen_on(family, port, backlog, rcvbuf);
	if (*lfd < 0)
		return *lfd;
	note_listener(l, family, port);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct census want, got;
	struct listeners lst = { 0, "" };
	sigset_t old;
	int lfd4[P4_N], lfd6[P6_N], status_fd = -1;
	long t0, build_ms, left, rebuilt = 0;
	int r;

	r = parse_opts(argc, argv, &o);
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (check_private_netns() < 0)
		return 2;

	if (set_signals(on_signal, SIGTERM, SIGINT, SIGALRM, SIGCHLD, 0) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	alarm((unsigned) (o.timeout_s < BUILD_LIMIT_S ? o.timeout_s : BUILD_LIMIT_S));
	t0 = now_ms();

	/* Enough descriptors for what stays open plus one TIME_WAIT batch. */
	r = raise_nofile((rlim_t) (4 * o.estab + 2 * o.close_wait + 2 * o.orphan_fw1 +
				   o.orphan_fw2 + 2 * o.chunk + 64), NULL);
	if (r == 0)
		r = pin_cpu(-1);
	if (r == 0 && o.close_wait > 0)
		r = start_holder(&o, &status_fd);
	if (r < 0)
		goto out;

	/* Listeners first (no socket of ours may exist before the fork). */
	long counts4[P4_N] = {
		[P4_TW_OUT] = o.tw_out, [P4_TW_OUT2] = o.tw_out2, [P4_TW_IN] = o.tw_in,
		[P4_CW] = 0, [P4_ESTAB] = o.estab, [P4_FW1] = o.orphan_fw1,
		[P4_FW2] = o.orphan_fw2,
	};
	long counts6[P6_N] = { [P6_TW] = o.tw6, [P6_ESTAB] = o.estab };
	int backlog = (int) (o.chunk > o.estab ? o.chunk : (o.estab > 4096 ? 4096 : o.estab)) + 1;

	for (int k = 0; k < P4_N && r == 0; k++) {
		if (k == P4_CW && o.close_wait > 0)
			note_listener(&lst, AF_INET, o.port4 + k);	/* the holder's */
		r = open_listener(&lst, AF_INET, o.port4 + k, counts4[k], backlog,
				  k == P4_FW1 ? 4096 : 0, &lfd4[k]);
	}
	for (int k = 0; k < P6_N && r == 0; k++)
		r = open_listener(&lst, AF_INET6, o.port6 + k, counts6[k], backlog, 0, &lfd6[k]);
	if (r < 0)
		goto out;

	/* Long-lived states first, the 60 s ones (TIME_WAIT, orphan FIN_WAIT2) last. */
	const struct tw_src src[TWK_N] = {
		[TWK_OUT] = { AF_INET, lfd4[P4_TW_OUT], o.port4 + P4_TW_OUT, true },
		[TWK_OUT2] = { AF_INET, lfd4[P4_TW_OUT2], o.port4 + P4_TW_OUT2, true },
		[TWK_IN] = { AF_INET, lfd4[P4_TW_IN], o.port4 + P4_TW_IN, false },
		[TWK_6] = { AF_INET6, lfd6[P6_TW], o.port6 + P6_TW, true },
	};

	expected_census(&o, lst.n, &want);
	if (o.close_wait > 0)
		r = make_close_wait(&o, status_fd);
	if (r == 0 && o.estab > 0)
		r = make_estab(AF_INET, lfd4[P4_ESTAB], o.port4 + P4_ESTAB, o.estab);
	if (r == 0 && o.estab > 0)
		r = make_estab(AF_INET6, lfd6[P6_ESTAB], o.port6 + P6_ESTAB, o.estab);
	if (r == 0 && o.orphan_fw1 > 0)
		r = make_orphan_fw1(lfd4[P4_FW1], o.port4 + P4_FW1, o.orphan_fw1);
	for (int k = 0; k < TWK_N && r == 0; k++)
		if (want.tw[k] > 0)
			r = make_time_wait(&src[k], want.tw[k], o.chunk);
	if (r == 0 && o.orphan_fw2 > 0)
		r = make_orphan_fw2(lfd4[P4_FW2], o.port4 + P4_FW2, o.orphan_fw2);
	if (r < 0)
		goto out;

	r = settle(&o, src, &want, &got, &rebuilt);
	if (r < 0)
		goto out;
	build_ms = now_ms() - t0;
	r = write_ready(&o, &got, lst.n, lst.ports, build_ms, rebuilt);
	if (r < 0)
		goto out;
	fprintf(stderr, PROG ": ready in %ld ms: %ld TIME_WAIT (%ld to 127.0.0.1:%ld), "
		"%ld CLOSE_WAIT, holder pid %ld\n", build_ms, got.states[ST_TIME_WAIT],
		got.tw[TWK_OUT], o.port4 + P4_TW_OUT, got.states[ST_CLOSE_WAIT], (long) holder_pid);

	/* Wait for SIGTERM/SIGINT or the timeout; a dead holder is an error. */
	r = block_signals(&old, SIGTERM, SIGINT, SIGALRM, SIGCHLD, 0);
	if (r < 0)
		goto out;
	left = o.timeout_s - (now_ms() - t0) / 1000;
	alarm((unsigned) (left > 1 ? left : 1));	/* replaces the build limit */
	for (;;) {
		if (got_signal == SIGCHLD) {
			int status;

			got_signal = 0;
			if (holder_pid > 0 && waitpid(holder_pid, &status, WNOHANG) == holder_pid) {
				r = fail("the close-wait holder (pid %ld) exited, status 0x%x",
					 (long) holder_pid, status);
				holder_pid = -1;
				goto out;
			}
			continue;
		}
		if (got_signal == SIGALRM) {
			fprintf(stderr, PROG ": --timeout %ld s reached, exiting\n", o.timeout_s);
			break;
		}
		if (got_signal)
			break;
		sigsuspend(&old);
	}
	r = 0;
out:
	stop_holder();
	if (r < 0 && got_signal && got_signal != SIGCHLD)
		fprintf(stderr, PROG ": stopped by signal %d (%s) before ready\n", (int) got_signal,
			got_signal == SIGALRM ? "build time limit or --timeout" : "asked to stop");
	return r < 0 ? 1 : 0;
}
