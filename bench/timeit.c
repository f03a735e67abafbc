/* timeit: run one command or a pipeline, report its wall time and peak RSS.
 *
 *   timeit [-o OUT] [-e ERR] [-t SECS] CMD ARGS... [ '|' CMD ARGS... ]...
 *
 * Stages separated by a lone "|" argument are connected by pipes, as a shell
 * would (without starting a shell).  Standard input is /dev/null, the last
 * stage's standard output goes to OUT (default /dev/null), standard error to
 * ERR (default ours).  Prints one line on standard output:
 *
 *   WALL_US MAXRSS_KB USER_US SYS_US STATUS[,STATUS...]
 *
 * WALL_US from just before the first fork to when the last stage has been
 * reaped (CLOCK_MONOTONIC; includes exec and dynamic loading, as a user would
 * see it).  MAXRSS_KB is the largest ru_maxrss of the stages (wait4(); the
 * figure /usr/bin/time -f %M prints).  USER/SYS are summed over the stages.
 * STATUS is each stage's exit code, or 128+signal.  After -t SECS (default
 * 300) every stage is killed and timeit exits 124; otherwise 0 (whatever the
 * stages' codes), 1 if it could not run them. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#define MAX_STAGES 8

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void) sig;
	timed_out = 1;
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long tv_us(struct timeval tv)
{
	return (long long) tv.tv_sec * 1000000 + tv.tv_usec;
}

static int usage(void)
{
	fprintf(stderr, "usage: timeit [-o OUT] [-e ERR] [-t SECS] CMD ARGS... [ '|' CMD ARGS... ]...\n");
	return 1;
}

int main(int argc, char **argv)
{
	const char *out = "/dev/null", *err = NULL;
	char **stage[MAX_STAGES];
	pid_t pid[MAX_STAGES];
	int status[MAX_STAGES], n = 0, opt, outfd, errfd = -1, infd;
	long timeout = 300, maxrss = 0;
	long long t0, t1, user = 0, sys = 0;
	struct sigaction sa = { .sa_handler = on_alarm };

	while ((opt = getopt(argc, argv, "+o:e:t:")) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'e': err = optarg; break;
		case 't': timeout = strtol(optarg, NULL, 10); break;
		default: return usage();
		}
	}
	if (optind >= argc || timeout <= 0)
		return usage();
	stage[n++] = &argv[optind];
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "|") != 0)
			continue;
		argv[i] = NULL;
		if (i + 1 >= argc || n == MAX_STAGES)
			return usage();
		stage[n++] = &argv[i + 1];
	}
	outfd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (outfd < 0) {
		fprintf(stderr, "timeit: %s: %s\n", out, strerror(errno));
		return 1;
	}
	if (err) {
		errfd = open(err, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (errfd < 0) {
			fprintf(stderr, "timeit: %s: %s\n", err, strerror(errno));
			return 1;
		}
	}
	infd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (infd < 0)
		return 1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: wait4 returns EINTR */
	fflush(NULL);

	t0 = now_us();
	alarm((unsigned) timeout);
	for (int i = 0; i < n; i++) {
		int p[2] = { -1, -1 };

		if (i < n - 1 && pipe2(p, O_CLOEXEC) < 0) {
			perror("timeit: pipe2");
			return 1;
		}
		pid[i] = fork();
		if (pid[i] < 0) {
			perror("timeit: fork");
			for (int k = 0; k < i; k++)
				kill(pid[k], SIGKILL);
			return 1;
		}
		if (pid[i] == 0) {
			if (dup2(infd, 0) < 0 || dup2(i < n - 1 ? p[1] : outfd, 1) < 0 ||
			    (errfd >= 0 && dup2(errfd, 2) < 0))
				_exit(126);
			signal(SIGALRM, SIG_DFL);
			execvp(stage[i][0], stage[i]);
			fprintf(stderr, "timeit: %s: %s\n", stage[i][0], strerror(errno));
			_exit(127);
		}
		close(infd);
		if (i < n - 1) {
			close(p[1]);
			infd = p[0];
		}
	}
	for (int i = 0; i < n; i++) {
		struct rusage ru;
		int st;

		for (;;) {
			pid_t w = wait4(pid[i], &st, 0, &ru);

			if (w == pid[i])
				break;
			if (w < 0 && errno == EINTR && timed_out) {
				for (int k = i; k < n; k++)
					kill(pid[k], SIGKILL);	/* our own children only */
				continue;
			}
			if (w < 0 && errno != EINTR) {
				perror("timeit: wait4");
				return 1;
			}
		}
		status[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (ru.ru_maxrss > maxrss)
			maxrss = ru.ru_maxrss;
		user += tv_us(ru.ru_utime);
		sys += tv_us(ru.ru_stime);
	}
	t1 = now_us();
	alarm(0);
	printf("%lld %ld %lld %lld ", t1 - t0, maxrss, user, sys);
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", status[i]);
	putchar('\n');
	return timed_out ? 124 : 0;
}
