/* procfloor: what the kernel charges for CLOSE_WAIT attribution, with none
 * of tcptune's own work, for bench/run to time next to `check` (issue 18).
 *
 *   procfloor owners  one sock_diag dump of the CLOSE_WAIT sockets (AF_INET,
 *                     then AF_INET6; inode numbers only), then every
 *                     process of /proc on two threads: open /proc/PID/fd,
 *                     stat it for the number of fds (Linux 6.2 and later;
 *                     else list it), readlinkat() fd 0, 1, 2, ... until
 *                     that many were seen, and match "socket:[N]" against
 *                     the inodes; stop when every socket is found.  No
 *                     uid or namespace test, no comm, no report.  Prints
 *                     "pid count" per holder (unsorted), exit 1 on failure.
 *                     About the least an attribution through /proc does
 *                     (it also reads the host's processes, which tcptune's
 *                     first pass skips for a readlink() each).
 *   procfloor btf     read /sys/kernel/btf/vmlinux whole into memory: what
 *                     libbpf's ordinary loader (1.1, Debian 12) reads
 *                     before it can load a BPF program that needs the
 *                     kernel's BTF, such as a task-file iterator.  A light
 *                     skeleton does not read it (docs/KERNEL.md §18.4): this
 *                     is that loader's cost, not a bound on BPF.  Prints
 *                     "bytes N".
 *
 * docs/KERNEL.md §18.3 has the kernel side of the fd lookups. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "diaglib.h"

#define CLOSE_WAIT 8
#define BLOCK 16

static uint64_t *inodes;
static size_t n_inodes, cap_inodes;
static _Atomic int *holder;	/* per inode: the pid that holds it, 0 none */
static atomic_size_t missing, next_pid;
static int *pids;
static size_t n_pids;
static int procfd;

static char buf[65536] __attribute__((aligned(8)));

static void add_inode(const struct inet_diag_msg *m, void *arg)
{
	int *err = arg;

	if (n_inodes == cap_inodes) {
		size_t cap = cap_inodes ? 2 * cap_inodes : 4096;
		uint64_t *v = realloc(inodes, cap * sizeof(*v));

		if (!v) {
			*err = -ENOMEM;
			return;
		}
		inodes = v;
		cap_inodes = cap;
	}
	inodes[n_inodes++] = m->idiag_inode;
}

static int dump(int nl, int family)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = (uint8_t) family, .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = 1u << CLOSE_WAIT },
	};
	int err = 0, intr = 0, r;

	r = diag_dump(nl, &msg, sizeof(msg), buf, sizeof(buf), add_inode, &err, &intr);
	return r < 0 ? r : err;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *) a, y = *(const int *) b;

	return x < y ? -1 : x > y;
}

static void match(const char *link, int pid)
{
	uint64_t ino = 0;
	const char *p = link + 8;
	const uint64_t *hit;

	if (strncmp(link, "socket:[", 8) != 0)
		return;
	for (; *p >= '0' && *p <= '9'; p++)
		ino = ino * 10 + (uint64_t) (*p - '0');
	hit = bsearch(&ino, inodes, n_inodes, sizeof(*inodes), cmp_u64);
	if (hit) {
		int none = 0;

		if (atomic_compare_exchange_strong(&holder[hit - inodes], &none, pid))
			atomic_fetch_sub(&missing, 1);
	}
}

static void scan(int pid)
{
	char rel[32], name[24], link[64];
	struct stat st;
	int fd;

	snprintf(rel, sizeof(rel), "%d/fd", pid);
	fd = openat(procfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return;
	}
	if (st.st_size > 0) {
		/* 6.2+: st_size counts the fds; look them up by number.  The
		 * count can include numbers reserved but not yet installed:
		 * give up after as many holes as tcptune allows (32 + N/4,
		 * docs/KERNEL.md §18.3).  tcptune would list the rest; this
		 * floor does not, and a missed owner fails bench/run's check. */
		long holes = 0, max_holes = 32 + (long) st.st_size / 4;

		for (long k = 0, seen = 0; seen < st.st_size && holes <= max_holes; k++) {
			ssize_t n;

			snprintf(name, sizeof(name), "%ld", k);
			n = readlinkat(fd, name, link, sizeof(link) - 1);
			if (n < 0) {
				if (errno == ENOENT)
					holes++;
				else
					seen++;	/* there, but not ours to read */
				continue;
			}
			seen++;
			link[n] = '\0';
			match(link, pid);
		}
	} else if (st.st_size == 0) {
		int dfd = dup(fd);
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		struct dirent *e;

		while (d && (e = readdir(d))) {
			ssize_t n = e->d_name[0] == '.' ? -1 : readlinkat(fd, e->d_name, link, sizeof(link) - 1);

			if (n > 0) {
				link[n] = '\0';
				match(link, pid);
			}
		}
		if (d)
			closedir(d);
	}
	close(fd);
}

static void *worker(void *arg)
{
	(void) arg;
	while (atomic_load(&missing) > 0) {
		size_t k0 = atomic_fetch_add(&next_pid, BLOCK);

		if (k0 >= n_pids)
			break;
		for (size_t k = k0; k < k0 + BLOCK && k < n_pids && atomic_load(&missing) > 0; k++)
			scan(pids[k]);
	}
	return NULL;
}

static int owners(void)
{
	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG), r;
	DIR *d;
	struct dirent *e;
	pthread_t th;
	size_t cap = 0;

	if (nl < 0)
		return -errno;
	r = dump(nl, AF_INET);
	if (r == 0)
		r = dump(nl, AF_INET6);
	close(nl);
	if (r < 0)
		return r;
	qsort(inodes, n_inodes, sizeof(*inodes), cmp_u64);
	holder = calloc(n_inodes ? n_inodes : 1, sizeof(*holder));
	if (!holder)
		return -ENOMEM;
	atomic_store(&missing, n_inodes);
	procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = procfd >= 0 ? fdopendir(dup(procfd)) : NULL;
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		int pid = atoi(e->d_name);

		if (pid <= 0)
			continue;
		if (n_pids == cap) {
			int *v = realloc(pids, (cap ? 2 * cap : 1024) * sizeof(*v));

			if (!v)
				return -ENOMEM;
			pids = v;
			cap = cap ? 2 * cap : 1024;
		}
		pids[n_pids++] = pid;
	}
	closedir(d);
	r = pthread_create(&th, NULL, worker, NULL);
	worker(NULL);
	if (r == 0)
		pthread_join(th, NULL);
	/* "pid count", one line per holder: sort the holders, count runs */
	{
		int *by = malloc((n_inodes ? n_inodes : 1) * sizeof(*by));
		size_t n = 0;

		if (!by)
			return -ENOMEM;
		for (size_t i = 0; i < n_inodes; i++)
			if (atomic_load(&holder[i]) > 0)
				by[n++] = atomic_load(&holder[i]);
		qsort(by, n, sizeof(*by), cmp_int);
		for (size_t i = 0, j; i < n; i = j) {
			for (j = i; j < n && by[j] == by[i]; j++)
				;
			printf("%d %zu\n", by[i], j - i);
		}
		free(by);
	}
	return 0;
}

static int btf(void)
{
	int fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *all;
	size_t got = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	all = malloc((size_t) st.st_size + 1);
	if (!all)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, all + got, (size_t) st.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0 || (got += (size_t) n) > (size_t) st.st_size)
			break;
	}
	close(fd);
	printf("bytes %zu\n", got);
	free(all);
	return 0;
}

int main(int argc, char **argv)
{
	int r;

	if (argc != 2 || (strcmp(argv[1], "owners") != 0 && strcmp(argv[1], "btf") != 0)) {
		fprintf(stderr, "usage: procfloor owners|btf\n");
		return 2;
	}
	r = strcmp(argv[1], "owners") == 0 ? owners() : btf();
	if (r < 0) {
		fprintf(stderr, "procfloor %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	return 0;
}
