/* socklib.h: what the two loopback socket-population generators share,
 * tests/tools/sockscen.c (the integration tests' exact mix) and bench/sockgen.c
 * (the benchmark's large one).
 *
 * Header only: every function is `static inline` (no warning when a program
 * leaves one unused), so each program is still one
 * translation unit.  Define PROG (the name for messages) and IO_TIMEOUT_MS
 * (any single wait for the peer) before including it, once.  The Makefile
 * builds tests/tools/sockscen.c alone (the header is found next to it);
 * bench/run builds bench/sockgen.c with -I tests/tools.
 *
 *   errors   fail_errno() prints "PROG: what: strerror(errno)" and returns
 *            -errno (EIO when errno is 0); fail() prints "PROG: what" and
 *            returns -EIO.  Both return < 0, for `return fail(...)`.
 *   signals  got_signal, on_signal(), set_signals(), block_signals()
 *   time     now_ms() (monotonic), sleep_ms()
 *   safety   check_private_netns() (refuse the host netns), pin_cpu()
 *   sockets  make_addr(), fam_name(), tcp_socket(), set_int_opt(), listen_on(),
 *            connect_fd(), wait_fd(), accept_one(), read_one(), wait_eof(),
 *            close_checked(), become_holder() (a CLOSE_WAIT holder child)
 *   states   ST_* (include/net/tcp_states.h), state_names[], write_expect()
 *   files    ready_open() / ready_commit(): FILE.tmp, renamed to FILE, so a
 *            reader never sees half of it; close_file()
 *   options  parse_num(), check_common_opts(), raise_nofile()
 */
#ifndef SOCKLIB_H
#define SOCKLIB_H

#include <errno.h>
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
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#if !defined(PROG) || !defined(IO_TIMEOUT_MS)
#error "define PROG and IO_TIMEOUT_MS before including socklib.h"
#endif

/* Kernel TCP state numbers (include/net/tcp_states.h); ST_N ends the named
 * ones, 12 (NEW_SYN_RECV) and 13 (BOUND_INACTIVE) have no name here. */
enum {
	ST_ESTABLISHED = 1, ST_SYN_SENT, ST_SYN_RECV, ST_FIN_WAIT1, ST_FIN_WAIT2,
	ST_TIME_WAIT, ST_CLOSE, ST_CLOSE_WAIT, ST_LAST_ACK, ST_LISTEN, ST_CLOSING,
	ST_N, ST_MAX = 13
};

static const char *const state_names[ST_MAX + 1] = {
	[ST_ESTABLISHED] = "established", [ST_SYN_SENT] = "syn_sent",
	[ST_SYN_RECV] = "syn_recv", [ST_FIN_WAIT1] = "fin_wait1",
	[ST_FIN_WAIT2] = "fin_wait2", [ST_TIME_WAIT] = "time_wait",
	[ST_CLOSE] = "close", [ST_CLOSE_WAIT] = "close_wait",
	[ST_LAST_ACK] = "last_ack", [ST_LISTEN] = "listen",
	[ST_CLOSING] = "closing",
};

static volatile sig_atomic_t got_signal;

/* ---- errors ------------------------------------------------------------- */

__attribute__((format(printf, 1, 2)))
static inline int fail_errno(const char *fmt, ...)
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
static inline int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EIO;
}

/* ---- signals and time --------------------------------------------------- */

static inline void on_signal(int sig)
{
	got_signal = sig;
}

/* Set fn (a handler, SIG_DFL or SIG_IGN; no SA_RESTART) for each signal of
 * the 0-terminated list. */
static inline int set_signals(void (*fn)(int), ...)
{
	struct sigaction sa = { .sa_handler = fn };
	va_list ap;
	int sig, r = 0;

	sigemptyset(&sa.sa_mask);
	va_start(ap, fn);
	while (r == 0 && (sig = va_arg(ap, int)) != 0)
		if (sigaction(sig, &sa, NULL) < 0)
			r = fail_errno("sigaction %d", sig);
	va_end(ap);
	return r;
}

/* Block the signals of the 0-terminated list (for a sigsuspend(old) loop). */
static inline int block_signals(sigset_t *old, ...)
{
	sigset_t block;
	va_list ap;
	int sig;

	sigemptyset(&block);
	va_start(ap, old);
	while ((sig = va_arg(ap, int)) != 0)
		sigaddset(&block, sig);
	va_end(ap);
	if (sigprocmask(SIG_BLOCK, &block, old) < 0)
		return fail_errno("sigprocmask");
	return 0;
}

static inline long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- safety: never on the host ---------------------------------------- */

/* The host netns is PID 1's.  Where PID 1's ns link is not readable (it may
 * hold capabilities we lack), kthreadd (PID 2) is used: kernel threads always
 * live in the initial network namespace. */
static inline int check_private_netns(void)
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
 * TIME_WAIT (tcp_rfc1337=0), seen as OutRsts and PAWSTimewait.  One CPU per
 * builder (inherited by its children) keeps each connection's segments in
 * order.  Pins to the nth CPU of the affinity mask (modulo their number), or
 * with nth < 0 to the CPU we run on (the first allowed one if that is not). */
static inline int pin_cpu(int nth)
{
	cpu_set_t set;
	int cpu = nth < 0 ? sched_getcpu() : -1, n;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return fail_errno("sched_getaffinity");
	n = CPU_COUNT(&set);
	if (n == 0)
		return fail("no CPU in the affinity mask");
	if (nth < 0 && (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &set)))
		nth = 0;
	if (nth >= 0) {
		nth %= n;
		for (cpu = 0; !CPU_ISSET(cpu, &set) || nth-- > 0; cpu++)
			;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return fail_errno("sched_setaffinity to CPU %d", cpu);
	return 0;
}

/* ---- sockets ------------------------------------------------------------ */

static inline socklen_t make_addr(int family, long port, struct sockaddr_storage *ss)
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

static inline const char *fam_name(int family)
{
	return family == AF_INET ? "127.0.0.1" : "::1";
}

static inline int tcp_socket(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd < 0 ? fail_errno("socket") : fd;
}

static inline int set_int_opt(int fd, int level, int name, int val, const char *what)
{
	if (setsockopt(fd, level, name, &val, sizeof(val)) < 0)
		return fail_errno("setsockopt %s", what);
	return 0;
}

/* Listening socket on loopback; rcvbuf > 0 is inherited by accepted sockets. */
static inline int listen_on(int family, long port, int backlog, int rcvbuf)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(family, port, &ss);
	int fd, r;

	fd = tcp_socket(family);
	if (fd < 0)
		return fd;
	r = set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	if (r == 0 && family == AF_INET6)
		r = set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
	if (r == 0 && rcvbuf > 0)
		r = set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf, "SO_RCVBUF");
	if (r == 0 && bind(fd, (struct sockaddr *) &ss, len) < 0)
		r = fail_errno("bind %s port %ld", fam_name(family), port);
	if (r == 0 && listen(fd, backlog) < 0)
		r = fail_errno("listen %s port %ld", fam_name(family), port);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* Connect fd (set up by the caller) to loopback:port, again if a signal that
 * does not stop us interrupts it.  Returns fd, or <0 with fd closed. */
static inline int connect_fd(int fd, int family, long port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(family, port, &ss);
	int r;

	while (connect(fd, (struct sockaddr *) &ss, len) < 0) {
		if (errno == EINTR && !got_signal)
			continue;
		r = fail_errno("connect %s port %ld", fam_name(family), port);
		close(fd);
		return r;
	}
	return fd;
}

/* Wait at most ms until fd has `events`; 0 ready, <0 error or timeout. */
static inline int wait_fd(int fd, short events, int ms, const char *what)
{
	struct pollfd p = { .fd = fd, .events = events };
	long deadline = now_ms() + ms;

	for (;;) {
		long left = deadline - now_ms();
		int n;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return fail_errno("%s (%d ms)", what, ms);
		}
		n = poll(&p, 1, (int) left);
		if (n > 0)
			return 0;
		if (n < 0 && (errno != EINTR || got_signal))
			return fail_errno("poll (%s)", what);
	}
}

/* Accept one connection; flags (SOCK_NONBLOCK) go to the accepted socket. */
static inline int accept_one(int lfd, int flags, const char *what)
{
	for (;;) {
		int fd, r = wait_fd(lfd, POLLIN, IO_TIMEOUT_MS, what);

		if (r < 0)
			return r;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | flags);
		if (fd >= 0)
			return fd;
		if (errno != EAGAIN && (errno != EINTR || got_signal))
			return fail_errno("accept (%s)", what);
	}
}

/* Wait for fd to be readable and read a byte: 1 read, 0 end of stream, <0 error. */
static inline int read_one(int fd, char *c, const char *what)
{
	ssize_t n;
	int r;

	r = wait_fd(fd, POLLIN, IO_TIMEOUT_MS, what);
	if (r < 0)
		return r;
	n = read(fd, c, 1);
	if (n < 0)
		return fail_errno("read (%s)", what);
	return (int) n;
}

/* Wait for the peer's FIN: end of stream with no data before it.  The first
 * closer's FIN has normally been processed before its close() returned
 * (loopback delivers in softirq on this CPU), so look before waiting. */
static inline int wait_eof(int fd, const char *what)
{
	char c;

	for (int tries = 0; tries < 3; tries++) {
		ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
		int r;

		if (n == 0)
			return 0;
		if (n > 0)
			return fail("%s: unexpected data instead of end of stream", what);
		if (errno != EAGAIN && (errno != EINTR || got_signal))
			return fail_errno("recv (%s)", what);
		r = wait_fd(fd, POLLIN, IO_TIMEOUT_MS, what);
		if (r < 0)
			return r;
	}
	return fail("%s: no end of stream", what);
}

static inline int close_checked(int fd, const char *what)
{
	if (close(fd) < 0)
		return fail_errno("close (%s)", what);
	return 0;
}

/* In a freshly forked holder child: default signals, die with the parent
 * (gone already: fail), exit by itself after alarm_s, comm `name`. */
static inline int become_holder(pid_t parent, const char *name, unsigned alarm_s)
{
	if (set_signals(SIG_DFL, SIGTERM, SIGINT, SIGALRM, SIGCHLD, 0) < 0)
		return -EIO;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		return fail("close-wait holder: parent gone");
	alarm(alarm_s);
	if (prctl(PR_SET_NAME, name) < 0)
		return fail_errno("prctl PR_SET_NAME '%s'", name);
	return 0;
}

/* ---- files ---------------------------------------------------------------- */

/* "expect_PREFIXSTATE=N" for every named state; returns their sum. */
static inline long write_expect(FILE *f, const char *prefix, const long *st)
{
	long total = 0;

	for (int s = 1; s < ST_N; s++) {
		fprintf(f, "expect_%s%s=%ld\n", prefix, state_names[s], st[s]);
		total += st[s];
	}
	return total;
}

static inline int close_file(FILE *f, const char *path)
{
	if (fflush(f) != 0 || ferror(f)) {
		int r = fail_errno("cannot write '%s'", path);

		fclose(f);
		return r;
	}
	if (fclose(f) != 0)
		return fail_errno("cannot write '%s'", path);
	return 0;
}

/* Open ready.tmp (its name into tmp[PATH_MAX]) for writing; NULL on error. */
static inline FILE *ready_open(const char *ready, char *tmp)
{
	FILE *f;

	if (snprintf(tmp, PATH_MAX, "%s.tmp", ready) >= PATH_MAX) {
		fail("ready file name too long");
		return NULL;
	}
	f = fopen(tmp, "we");
	if (!f)
		fail_errno("cannot create '%s'", tmp);
	return f;
}

/* Close ready.tmp and rename it to ready. */
static inline int ready_commit(FILE *f, const char *tmp, const char *ready)
{
	int r = close_file(f, tmp);

	if (r == 0 && rename(tmp, ready) < 0)
		r = fail_errno("cannot rename '%s' to '%s'", tmp, ready);
	return r;
}

/* ---- options and limits ------------------------------------------------- */

static inline int parse_num(const char *name, const char *s, long min, long max, long *ret)
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

/* After getopt_long(): no operands, --ready given, a valid --holder-name. */
static inline int check_common_opts(int argc, char **argv, const char *ready, const char *holder_name)
{
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!ready) {
		fprintf(stderr, PROG ": --ready FILE is required\n");
		return -EINVAL;
	}
	if (!holder_name[0] || strlen(holder_name) > 15 || strchr(holder_name, '\n')) {
		fprintf(stderr, PROG ": --holder-name must be 1..15 bytes without newline\n");
		return -EINVAL;
	}
	return 0;
}

/* At least `need` descriptors.  Above the hard limit: raise it too (needs
 * CAP_SYS_RESOURCE) when hint is NULL, else fail, naming the hint. */
static inline int raise_nofile(rlim_t need, const char *hint)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return fail_errno("getrlimit RLIMIT_NOFILE");
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		if (hint)
			return fail("need %llu descriptors, hard limit is %llu: %s",
				    (unsigned long long) need, (unsigned long long) rl.rlim_max, hint);
		rl.rlim_max = need;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return fail_errno("cannot raise RLIMIT_NOFILE to %llu", (unsigned long long) need);
	return 0;
}

#endif /* SOCKLIB_H */
