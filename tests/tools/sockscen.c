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
 * It runs pinned to one CPU (see pin_cpu()).  Before writing the ready file
 * it reads /proc/net/tcp{,6} until the state counts are exactly the expected
 * ones and stay so for 300 ms, or fails; TIME_WAIT sockets that vanish
 * meanwhile are rebuilt, at most 3 rounds.  The ready file is written to
 * FILE.tmp and renamed, so a reader never sees half of it.  Then it waits for
 * SIGTERM/SIGINT (or --timeout), kills its child and exits 0.
 *
 * Exit codes: 0 done, 1 a step failed, 2 usage or not in a private netns. */
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
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#define PROG "sockscen"
#define MAX_COUNT 1000000L
#define IO_TIMEOUT_MS 10000	/* any single wait for the peer */
#define BUILD_LIMIT_S 60	/* the whole build, whatever the counts */
#define FILL_LIMIT_BYTES (64L << 20)

/* Listener port offsets. */
enum { P4_TW_OUT, P4_TW_OUT2, P4_TW_IN, P4_CW, P4_ESTAB, P4_FW1, P4_FW2, P4_N };
enum { P6_TW, P6_ESTAB, P6_N };

/* Kernel TCP state numbers (include/net/tcp_states.h). */
enum {
	ST_ESTABLISHED = 1, ST_SYN_SENT, ST_SYN_RECV, ST_FIN_WAIT1, ST_FIN_WAIT2,
	ST_TIME_WAIT, ST_CLOSE, ST_CLOSE_WAIT, ST_LAST_ACK, ST_LISTEN, ST_CLOSING,
	ST_MAX = 13
};

static const char *const state_names[ST_MAX + 1] = {
	[ST_ESTABLISHED] = "established", [ST_SYN_SENT] = "syn_sent",
	[ST_SYN_RECV] = "syn_recv", [ST_FIN_WAIT1] = "fin_wait1",
	[ST_FIN_WAIT2] = "fin_wait2", [ST_TIME_WAIT] = "time_wait",
	[ST_CLOSE] = "close", [ST_CLOSE_WAIT] = "close_wait",
	[ST_LAST_ACK] = "last_ack", [ST_LISTEN] = "listen",
	[ST_CLOSING] = "closing",
};

struct opts {
	long tw_out, tw_out2, tw_in, tw6;
	long close_wait, close_wait_unread;
	long estab, orphan_fw1, orphan_fw2;
	const char *holder_name;
	const char *ready;
	long timeout_s;
	long settle_s;
	long port4, port6;
	long chunk;
};

static volatile sig_atomic_t got_signal;
static pid_t holder_pid = -1;

__attribute__((format(printf, 1, 2)))
static int fail_errno(const char *fmt, ...)
{
	int e = errno ? errno : EIO;
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (e == EINTR && got_signal)
		fprintf(stderr, ": interrupted by signal %d\n", (int) got_signal);
	else
		fprintf(stderr, ": %s\n", strerror(e));
	return -e;
}

__attribute__((format(printf, 1, 2)))
static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EIO;
}

static void on_signal(int sig)
{
	got_signal = sig;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- safety: never on the host ---------------------------------------- */

/* The host netns is PID 1's.  Where PID 1's ns link is not readable (it may
 * hold capabilities we lack), kthreadd (PID 2) is used: kernel threads always
 * live in the initial network namespace. */
static int check_private_netns(void)
{
	struct stat self, ref;
	char comm[32] = "";
	const char *ref_path = "/proc/1/ns/net";
	FILE *f;

	if (stat("/proc/self/ns/net", &self) < 0)
		return fail_errno("cannot stat /proc/self/ns/net");
	if (stat(ref_path, &ref) < 0) {
		int e1 = errno;

		f = fopen("/proc/2/comm", "re");
		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = '\0';
			fclose(f);
		}
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, "kthreadd") != 0 || stat("/proc/2/ns/net", &ref) < 0) {
			errno = e1;
			return fail_errno("cannot tell whether this is the host network "
					  "namespace: /proc/1/ns/net");
		}
		ref_path = "/proc/2/ns/net";
	}
	if (self.st_ino == ref.st_ino && self.st_dev == ref.st_dev)
		return fail("refusing to run in the host network namespace (same as %s); "
			    "use: unshare --net --mount --propagation private ...", ref_path);
	return 0;
}

/* Loopback queues each packet on the sending CPU's backlog.  When the sender
 * migrates between CPUs under load, segments of one connection can arrive out
 * of order: a stale ACK reaching a TIME_WAIT socket is answered with an ACK,
 * the closed peer's listener answers that with a RST, and the RST kills the
 * TIME_WAIT (tcp_rfc1337=0), seen as OutRsts and PAWSTimewait.  One CPU for
 * us and the holder (inherited) keeps each connection's segments in order. */
static int pin_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return fail_errno("sched_getaffinity");
	if (cpu < 0 || !CPU_ISSET(cpu, &set))
		for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set); cpu++)
			;
	if (cpu >= CPU_SETSIZE)
		return fail("no CPU in the affinity mask");
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return fail_errno("sched_setaffinity to CPU %d", cpu);
	return 0;
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

static const char *fam_name(int family)
{
	return family == AF_INET ? "127.0.0.1" : "::1";
}

static int set_int_opt(int fd, int level, int name, int val, const char *what)
{
	if (setsockopt(fd, level, name, &val, sizeof(val)) < 0)
		return fail_errno("setsockopt %s", what);
	return 0;
}

/* Listening socket on loopback; rcvbuf > 0 is inherited by accepted sockets. */
static int listen_on(int family, long port, int backlog, int rcvbuf)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(family, port, &ss);
	int fd, r;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail_errno("socket");
	r = set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	if (r == 0 && family == AF_INET6)
		r = set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
	if (r == 0 && rcvbuf > 0)
		r = set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf, "SO_RCVBUF");
	if (r < 0)
		goto err;
	if (bind(fd, (struct sockaddr *) &ss, len) < 0) {
		r = fail_errno("bind %s port %ld", fam_name(family), port);
		goto err;
	}
	if (listen(fd, backlog) < 0) {
		r = fail_errno("listen %s port %ld", fam_name(family), port);
		goto err;
	}
	return fd;
err:
	close(fd);
	return r;
}

/* Blocking connect to a loopback listener (bounded by SO_SNDTIMEO). */
static int connect_to(int family, long port, int sndbuf)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(family, port, &ss);
	struct timeval tv = { IO_TIMEOUT_MS / 1000, 0 };
	int fd, r;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail_errno("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		r = fail_errno("setsockopt SO_SNDTIMEO");
		goto err;
	}
	if (sndbuf > 0) {
		r = set_int_opt(fd, SOL_SOCKET, SO_SNDBUF, sndbuf, "SO_SNDBUF");
		if (r < 0)
			goto err;
	}
	if (connect(fd, (struct sockaddr *) &ss, len) < 0) {
		r = fail_errno("connect %s port %ld", fam_name(family), port);
		goto err;
	}
	return fd;
err:
	close(fd);
	return r;
}

/* Wait until fd has `events`; 0 ready, <0 error or timeout. */
static int wait_fd(int fd, short events, int ms, const char *what)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	n = poll(&p, 1, ms);
	if (n < 0)
		return fail_errno("poll (%s)", what);
	if (n == 0) {
		errno = ETIMEDOUT;
		return fail_errno("%s", what);
	}
	return 0;
}

static int accept_one(int lfd, const char *what)
{
	int fd, r;

	r = wait_fd(lfd, POLLIN, IO_TIMEOUT_MS, what);
	if (r < 0)
		return r;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return fail_errno("accept (%s)", what);
	return fd;
}

/* Wait for the peer's FIN: read must return 0 with no data before it. */
static int wait_eof(int fd, const char *what)
{
	char c;
	ssize_t n;
	int r;

	r = wait_fd(fd, POLLIN, IO_TIMEOUT_MS, what);
	if (r < 0)
		return r;
	n = read(fd, &c, 1);
	if (n < 0)
		return fail_errno("read (%s)", what);
	if (n > 0)
		return fail("%s: unexpected data instead of end of stream", what);
	return 0;
}

static int close_checked(int fd, const char *what)
{
	if (close(fd) < 0)
		return fail_errno("close (%s)", what);
	return 0;
}

/* `count` connections to [family]:port, closed so that TIME_WAIT lands on the
 * client (client_first) or on the server.  The side that closes second waits
 * for the first one's FIN, so there is never a simultaneous close (CLOSING)
 * and the second closer ends in LAST_ACK, which the loopback ACK clears. */
static int make_time_wait(int family, int lfd, long port, long count, long chunk,
			  bool client_first)
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
			r = connect_to(family, port, 0);
			if (r >= 0)
				cl[i] = r;
		}
		for (i = 0; i < n && r >= 0; i++) {
			r = accept_one(lfd, "time-wait accept");
			if (r >= 0)
				sv[i] = r;
		}
		if (r < 0)
			goto out;
		int *first = client_first ? cl : sv, *second = client_first ? sv : cl;

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
	for (long i = 0; i < count; i++) {
		int c = connect_to(family, port, 0);

		if (c < 0)
			return c;
		c = accept_one(lfd, "established accept");
		if (c < 0)
			return c;
	}
	return 0;
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
	int *cl, r = 0, unsent;

	cl = calloc((size_t) count, sizeof(*cl));
	if (!cl) {
		errno = ENOMEM;
		return fail_errno("orphan-fw1 buffers");
	}
	for (long i = 0; i < count && r >= 0; i++) {
		cl[i] = r = connect_to(AF_INET, port, 16384);
		if (r >= 0)
			r = accept_one(lfd, "orphan-fw1 accept");	/* stays open, unread */
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
		if (close(cl[i]) < 0)
			r = fail_errno("close (orphan-fw1 client)");
	free(cl);
	return r < 0 ? r : 0;
}

/* Client close()s; the accepted socket stays open and unread. */
static int make_orphan_fw2(int lfd, long port, long count)
{
	for (long i = 0; i < count; i++) {
		int c, s;

		c = connect_to(AF_INET, port, 0);
		if (c < 0)
			return c;
		s = accept_one(lfd, "orphan-fw2 accept");
		if (s < 0)
			return s;
		if (close(c) < 0)
			return fail_errno("close (orphan-fw2 client)");
	}
	return 0;
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
	struct sigaction sa = { .sa_handler = SIG_DFL };
	int lfd;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	alarm((unsigned) o->timeout_s + 5);
	if (prctl(PR_SET_NAME, o->holder_name) < 0) {
		fail_errno("prctl PR_SET_NAME '%s'", o->holder_name);
		_exit(1);
	}
	lfd = listen_on(AF_INET, o->port4 + P4_CW,
			o->close_wait > 4096 ? 4096 : (int) o->close_wait + 1, 0);
	if (lfd < 0 || write_byte(status_fd, 'L') < 0)
		_exit(1);
	for (long i = 0; i < o->close_wait; i++)
		if (accept_one(lfd, "close-wait holder accept") < 0)
			_exit(1);
	if (write_byte(status_fd, 'A') < 0)
		_exit(1);
	for (;;)
		pause();
}

static int wait_status(int fd, char want, const char *what)
{
	char c = 0;
	ssize_t n;
	int r;

	r = wait_fd(fd, POLLIN, IO_TIMEOUT_MS, what);
	if (r < 0)
		return r;
	n = read(fd, &c, 1);
	if (n < 0)
		return fail_errno("read status pipe (%s)", what);
	if (n == 0 || c != want)
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

/* TIME_WAIT sockets by the scenario that made them. */
enum { TWK_OUT, TWK_OUT2, TWK_IN, TWK_6, TWK_N };
static const char *const twk_names[TWK_N] = { "tw-out", "tw-out2", "tw-in", "tw6" };

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

static void make_tw_keys(const struct opts *o, struct tw_keys *k)
{
	struct in_addr lo4 = { htonl(INADDR_LOOPBACK) };
	uint32_t w[4];

	memset(k, 0, sizeof(*k));
	snprintf(k->rem[TWK_OUT], sizeof(k->rem[0]), "%08X:%04X",
		 (unsigned) lo4.s_addr, (unsigned) (o->port4 + P4_TW_OUT));
	snprintf(k->rem[TWK_OUT2], sizeof(k->rem[0]), "%08X:%04X",
		 (unsigned) lo4.s_addr, (unsigned) (o->port4 + P4_TW_OUT2));
	snprintf(k->loc_in, sizeof(k->loc_in), "%08X:%04X",
		 (unsigned) lo4.s_addr, (unsigned) (o->port4 + P4_TW_IN));
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

/* Where each TIME_WAIT scenario connects, to rebuild lost ones. */
struct tw_src {
	int family, lfd;
	long port;
	bool client_first;
};

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
				r = make_time_wait(src[k].family, src[k].lfd, src[k].port, miss,
						   o->chunk, src[k].client_first);
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
	long total = 0;
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", o->ready) >= (int) sizeof(tmp))
		return fail("ready file name too long");
	f = fopen(tmp, "we");
	if (!f)
		return fail_errno("cannot create '%s'", tmp);
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
	for (int st = 1; st <= ST_CLOSING; st++) {
		fprintf(f, "expect_%s=%ld\n", state_names[st], got->states[st]);
		total += got->states[st];
	}
	fprintf(f, "expect_ipv6_time_wait=%ld\n", got->states6[ST_TIME_WAIT]);
	fprintf(f, "expect_total=%ld\n", total);
	fprintf(f, "build_ms=%ld\n", build_ms);
	fprintf(f, "tw_rebuilt=%ld\n", rebuilt);
	if (fflush(f) != 0 || ferror(f)) {
		int r = fail_errno("cannot write '%s'", tmp);

		fclose(f);
		return r;
	}
	if (fclose(f) != 0)
		return fail_errno("cannot write '%s'", tmp);
	if (rename(tmp, o->ready) < 0)
		return fail_errno("cannot rename '%s' to '%s'", tmp, o->ready);
	return 0;
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

static int parse_count(const char *name, const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, PROG ": --%s: '%s' is not a number in %ld..%ld\n",
			name, s, min, max);
		return -EINVAL;
	}
	*ret = v;
	return 0;
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
		case 'a': r = parse_count(n, optarg, 0, MAX_COUNT, &o->tw_out); break;
		case 'b': r = parse_count(n, optarg, 0, MAX_COUNT, &o->tw_out2); break;
		case 'c': r = parse_count(n, optarg, 0, MAX_COUNT, &o->tw_in); break;
		case 'd': r = parse_count(n, optarg, 0, MAX_COUNT, &o->tw6); break;
		case 'e': r = parse_count(n, optarg, 0, MAX_COUNT, &o->close_wait); break;
		case 'f': r = parse_count(n, optarg, 0, MAX_COUNT, &o->close_wait_unread); break;
		case 'g': o->holder_name = optarg; break;
		case 'h': r = parse_count(n, optarg, 0, MAX_COUNT, &o->estab); break;
		case 'i': r = parse_count(n, optarg, 0, MAX_COUNT, &o->orphan_fw1); break;
		case 'j': r = parse_count(n, optarg, 0, MAX_COUNT, &o->orphan_fw2); break;
		case 'k': o->ready = optarg; break;
		case 'l': r = parse_count(n, optarg, 1, 86400, &o->timeout_s); break;
		case 'm': r = parse_count(n, optarg, 1, 600, &o->settle_s); break;
		case 'n': r = parse_count(n, optarg, 1024, 65535 - P4_N, &o->port4); break;
		case 'o': r = parse_count(n, optarg, 1024, 65535 - P6_N, &o->port6); break;
		case 'p': r = parse_count(n, optarg, 1, 4096, &o->chunk); break;
		case 'H': usage(stdout); return 1;
		default: usage(stderr); return -EINVAL;
		}
		if (r < 0)
			return r;
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->ready) {
		fprintf(stderr, PROG ": --ready FILE is required\n");
		return -EINVAL;
	}
	if (o->close_wait_unread > o->close_wait) {
		fprintf(stderr, PROG ": --close-wait-unread %ld exceeds --close-wait %ld\n",
			o->close_wait_unread, o->close_wait);
		return -EINVAL;
	}
	if (!o->holder_name[0] || strlen(o->holder_name) > 15 || strchr(o->holder_name, '\n')) {
		fprintf(stderr, PROG ": --holder-name must be 1..15 bytes without newline\n");
		return -EINVAL;
	}
	return 0;
}

/* Enough descriptors for what stays open plus one TIME_WAIT batch. */
static int raise_nofile(const struct opts *o)
{
	rlim_t need = (rlim_t) (4 * o->estab + 2 * o->close_wait + 2 * o->orphan_fw1 +
				o->orphan_fw2 + 2 * o->chunk + 64);
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return fail_errno("getrlimit RLIMIT_NOFILE");
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		rl.rlim_max = need;	/* needs CAP_SYS_RESOURCE */
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return fail_errno("cannot raise RLIMIT_NOFILE to %llu", (unsigned long long) need);
	return 0;
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

int main(int argc, char **argv)
{
	struct opts o;
	struct census want, got;
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART */
	sigset_t block, old;
	int lfd4[P4_N], lfd6[P6_N], status_fd = -1;
	char listen_ports[256] = "";
	long listeners = 0, t0, build_ms, rebuilt = 0;
	int r;

	r = parse_opts(argc, argv, &o);
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (check_private_netns() < 0)
		return 2;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGALRM, &sa, NULL) < 0 || sigaction(SIGCHLD, &sa, NULL) < 0) {
		fail_errno("sigaction");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	alarm((unsigned) (o.timeout_s < BUILD_LIMIT_S ? o.timeout_s : BUILD_LIMIT_S));
	t0 = now_ms();

	r = raise_nofile(&o);
	if (r == 0)
		r = pin_cpu();
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

	for (int k = 0; k < P4_N; k++) {
		lfd4[k] = -1;
		if (k == P4_CW && o.close_wait > 0) {
			listeners++;
			snprintf(listen_ports + strlen(listen_ports),
				 sizeof(listen_ports) - strlen(listen_ports), "%s127.0.0.1:%ld",
				 listen_ports[0] ? "," : "", o.port4 + k);
			continue;
		}
		if (counts4[k] == 0)
			continue;
		lfd4[k] = listen_on(AF_INET, o.port4 + k, backlog, k == P4_FW1 ? 4096 : 0);
		if (lfd4[k] < 0) {
			r = lfd4[k];
			goto out;
		}
		listeners++;
		snprintf(listen_ports + strlen(listen_ports),
			 sizeof(listen_ports) - strlen(listen_ports), "%s127.0.0.1:%ld",
			 listen_ports[0] ? "," : "", o.port4 + k);
	}
	for (int k = 0; k < P6_N; k++) {
		lfd6[k] = -1;
		if (counts6[k] == 0)
			continue;
		lfd6[k] = listen_on(AF_INET6, o.port6 + k, backlog, 0);
		if (lfd6[k] < 0) {
			r = lfd6[k];
			goto out;
		}
		listeners++;
		snprintf(listen_ports + strlen(listen_ports),
			 sizeof(listen_ports) - strlen(listen_ports), "%s[::1]:%ld",
			 listen_ports[0] ? "," : "", o.port6 + k);
	}

	/* Long-lived states first, the 60 s ones (TIME_WAIT, orphan FIN_WAIT2) last. */
	if (o.close_wait > 0)
		r = make_close_wait(&o, status_fd);
	if (r == 0 && o.estab > 0)
		r = make_estab(AF_INET, lfd4[P4_ESTAB], o.port4 + P4_ESTAB, o.estab);
	if (r == 0 && o.estab > 0)
		r = make_estab(AF_INET6, lfd6[P6_ESTAB], o.port6 + P6_ESTAB, o.estab);
	if (r == 0 && o.orphan_fw1 > 0)
		r = make_orphan_fw1(lfd4[P4_FW1], o.port4 + P4_FW1, o.orphan_fw1);
	if (r == 0 && o.tw_out > 0)
		r = make_time_wait(AF_INET, lfd4[P4_TW_OUT], o.port4 + P4_TW_OUT,
				   o.tw_out, o.chunk, true);
	if (r == 0 && o.tw_out2 > 0)
		r = make_time_wait(AF_INET, lfd4[P4_TW_OUT2], o.port4 + P4_TW_OUT2,
				   o.tw_out2, o.chunk, true);
	if (r == 0 && o.tw_in > 0)
		r = make_time_wait(AF_INET, lfd4[P4_TW_IN], o.port4 + P4_TW_IN,
				   o.tw_in, o.chunk, false);
	if (r == 0 && o.tw6 > 0)
		r = make_time_wait(AF_INET6, lfd6[P6_TW], o.port6 + P6_TW,
				   o.tw6, o.chunk, true);
	if (r == 0 && o.orphan_fw2 > 0)
		r = make_orphan_fw2(lfd4[P4_FW2], o.port4 + P4_FW2, o.orphan_fw2);
	if (r < 0)
		goto out;

	expected_census(&o, listeners, &want);
	const struct tw_src src[TWK_N] = {
		[TWK_OUT] = { AF_INET, lfd4[P4_TW_OUT], o.port4 + P4_TW_OUT, true },
		[TWK_OUT2] = { AF_INET, lfd4[P4_TW_OUT2], o.port4 + P4_TW_OUT2, true },
		[TWK_IN] = { AF_INET, lfd4[P4_TW_IN], o.port4 + P4_TW_IN, false },
		[TWK_6] = { AF_INET6, lfd6[P6_TW], o.port6 + P6_TW, true },
	};
	r = settle(&o, src, &want, &got, &rebuilt);
	if (r < 0)
		goto out;
	build_ms = now_ms() - t0;
	r = write_ready(&o, &got, listeners, listen_ports, build_ms, rebuilt);
	if (r < 0)
		goto out;
	fprintf(stderr, PROG ": ready in %ld ms: %ld TIME_WAIT (%ld to 127.0.0.1:%ld), "
		"%ld CLOSE_WAIT, holder pid %ld\n", build_ms, got.states[ST_TIME_WAIT],
		got.tw[TWK_OUT], o.port4 + P4_TW_OUT, got.states[ST_CLOSE_WAIT], (long) holder_pid);

	/* Wait for SIGTERM/SIGINT or the timeout; a dead holder is an error. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGALRM);
	sigaddset(&block, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &block, &old) < 0) {
		r = fail_errno("sigprocmask");
		goto out;
	}
	alarm(0);
	{
		long left = o.timeout_s - (now_ms() - t0) / 1000;

		alarm((unsigned) (left > 1 ? left : 1));
	}
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
