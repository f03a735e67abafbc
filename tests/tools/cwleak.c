/* cwleak: a process that leaks CLOSE_WAIT sockets at a steady rate, for the
 * sampling test.  A child named --name accepts connections on 127.0.0.1 and
 * never closes them; the parent connects and closes one every 1/--rate
 * seconds, so the child's CLOSE_WAIT count grows steadily.  Runs only inside
 * a private network namespace and stops by itself after --duration seconds. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void) sig;
	stop = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "cwleak: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long arg(int argc, char **argv, const char *name, long def, long min, long max)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0) {
			char *end;
			long v = strtol(argv[i + 1], &end, 10);
			if (*end || v < min || v > max) {
				fprintf(stderr, "cwleak: %s must be %ld..%ld\n", name, min, max);
				exit(2);
			}
			return v;
		}
	return def;
}

static const char *sarg(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return def;
}

int main(int argc, char **argv)
{
	long rate = arg(argc, argv, "--rate", 20, 1, 1000);
	long duration = arg(argc, argv, "--duration", 60, 1, 300);
	long port = arg(argc, argv, "--port", 18500, 1024, 65535);
	const char *name = sarg(argc, argv, "--name", "leaker");
	const char *ready = sarg(argc, argv, "--ready", NULL);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
	struct stat self, init;
	int lfd, one = 1;
	pid_t child;

	/* PID 1's namespace link may be unreadable even to root (a PID 1 with
	 * capabilities we lack); kthreadd, PID 2, is always in the host netns. */
	if (stat("/proc/self/ns/net", &self) < 0 ||
	    (stat("/proc/1/ns/net", &init) < 0 && stat("/proc/2/ns/net", &init) < 0))
		die("cannot compare network namespaces");
	if (self.st_ino == init.st_ino) {
		fprintf(stderr, "cwleak: refusing to run in the host's network namespace\n");
		return 2;
	}
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0)
		die("listen");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		/* The leaker: accept forever, never close, bounded by duration. */
		time_t end = time(NULL) + duration + 5;
		prctl(PR_SET_NAME, name);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm((unsigned) (duration + 5));
		while (time(NULL) < end) {
			int c = accept(lfd, NULL, NULL);
			if (c < 0 && errno != EINTR)
				_exit(1);
		}
		_exit(0);
	}
	close(lfd);
	signal(SIGTERM, on_term);
	if (ready) {
		FILE *f = fopen(ready, "w");
		if (!f)
			die("ready file");
		fprintf(f, "leaker_pid=%d\nleaker_comm=%s\nrate=%ld\n", (int) child, name, rate);
		fclose(f);
	}
	for (long i = 0; !stop && i < rate * duration; i++) {
		struct timespec ts = { 0, 1000000000L / rate };
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (c < 0 || connect(c, (struct sockaddr *) &sa, sizeof(sa)) < 0)
			die("connect");
		close(c);	/* the child never closes its side: CLOSE_WAIT */
		nanosleep(&ts, NULL);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 0;
}
