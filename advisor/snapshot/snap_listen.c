/* Listen queues per listener (docs/KERNEL.md §9.1, §6.1, §6.2): from the
 * census's LISTEN sockets, the listener whose accept queue is fullest
 * against its backlog, and the busiest listener whose backlog the program
 * asked far below somaxconn; each with its port and the process holding it
 * (its socket inode in /proc/PID/fd, as ss -p finds it; docs/KERNEL.md
 * §9.5).  Only sock_diag gives the backlog: from /proc/net/tcp nothing is
 * judged. */
#include "snap_readers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "strutil.h"

/* The most processes' fd tables read to name two listeners: a bound on the
 * time spent, not on correctness (the fact then says "an unknown process"). */
#define MAX_PIDS_SCANNED 100000

static int pid_holding(uint64_t inode, char *comm, size_t len)
{
	char want[48];
	DIR *proc;
	struct dirent *de;
	int found = 0, scanned = 0;

	if (!inode)
		return 0;
	snprintf(want, sizeof(want), "socket:[%llu]", (unsigned long long) inode);
	proc = opendir("/proc");
	if (!proc)
		return 0;
	while (!found && (de = readdir(proc)) && scanned++ < MAX_PIDS_SCANNED) {
		char path[64], link[64];
		long long pid;
		DIR *fds;
		struct dirent *fe;

		if (parse_ll(de->d_name, 1, 0x7fffffff, &pid) < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%lld/fd", pid);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((fe = readdir(fds))) {
			ssize_t n;

			if (fe->d_name[0] == '.')
				continue;
			n = readlinkat(dirfd(fds), fe->d_name, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (strcmp(link, want) == 0) {
				found = (int) pid;
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	if (found) {
		char cpath[64], raw[64] = "";
		int fd;

		snprintf(cpath, sizeof(cpath), "/proc/%d/comm", found);
		fd = open(cpath, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, raw, sizeof(raw) - 1);
			raw[n > 0 ? n : 0] = '\0';
			close(fd);
		}
		/* A program names itself: never trust the bytes. */
		str_escape(str_strip(raw), comm, len);
	}
	return found;
}

void snap_listener_owner(const struct census_listener *l, char *who, size_t len)
{
	char comm[64];
	int pid = pid_holding(l->inode, comm, sizeof(comm));

	if (pid > 0)
		snprintf(who, len, "%s (pid %d)", comm, pid);
	else
		snprintf(who, len, "an unknown process");
}

int snap_comm_running(const char *name)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	int found = 0, scanned = 0;

	if (!proc)
		return 0;
	while (!found && (de = readdir(proc)) && scanned++ < MAX_PIDS_SCANNED) {
		char path[64], raw[64] = "";
		long long pid;
		ssize_t n;
		int fd;

		if (parse_ll(de->d_name, 1, 0x7fffffff, &pid) < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%lld/comm", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, raw, sizeof(raw) - 1);
		close(fd);
		raw[n > 0 ? n : 0] = '\0';
		if (strcmp(str_strip(raw), name) == 0)
			found = (int) pid;
	}
	closedir(proc);
	return found;
}

static int set_where(struct snapshot *s, const struct census_listener *l, size_t port_fact, size_t proc_fact)
{
	struct census_dest d = { .family = l->family, .port = l->port };
	char buf[96], comm[64], who[128];
	int pid, r;

	memcpy(d.addr, l->addr, sizeof(d.addr));
	if (census_dest_format(&d, buf, sizeof(buf)) < 0)
		snprintf(buf, sizeof(buf), "port %u", l->port);
	r = snap_set_str(s, port_fact, buf);
	if (r < 0)
		return r;
	pid = pid_holding(l->inode, comm, sizeof(comm));
	if (pid > 0)
		snprintf(who, sizeof(who), "%s (pid %d)", comm, pid);
	else
		snprintf(who, sizeof(who), "an unknown process");
	return snap_set_str(s, proc_fact, who);
}

/* Is this backlog far below somaxconn?  1/8: a program that passes 128 (the
 * old SOMAXCONN many still hard-code) or less under today's default 4096 is
 * 1/32; 1/8 leaves room for a deliberate choice of a few hundred.  Under 512:
 * a backlog of 512 or more is a deliberate size whatever somaxconn says. */
static bool small_backlog(uint32_t backlog, long long somaxconn)
{
	return backlog < 512 && (long long) backlog * 8 <= somaxconn;
}

int snap_listen_read(struct snapshot *s)
{
	const struct census *c = &s->census;
	const struct census_listener *fullest = NULL, *small = NULL;
	long long somaxconn = -1;
	uint64_t best_pct = 0;
	int64_t n_small = 0;
	int k = key_index("net.core.somaxconn"), r;

	if (!s->census_ok || !s->sockets_source || strcmp(s->sockets_source, "netlink") != 0)
		return 0;
	if (k >= 0 && s->sysctl[k].present && !s->sysctl[k].err)
		somaxconn = s->sysctl[k].v[0];
	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct census_listener *l = &c->listeners[i];
		uint64_t pct;

		if (l->backlog == 0)
			continue;	/* listen(fd, 0): one connection queues; no ratio */
		pct = (uint64_t) l->queue * 100 / l->backlog;
		if (!fullest || pct > best_pct || (pct == best_pct && l->queue > fullest->queue)) {
			fullest = l;
			best_pct = pct;
		}
		if (somaxconn > 0 && small_backlog(l->backlog, somaxconn)) {
			n_small++;
			if (!small || l->queue > small->queue || (l->queue == small->queue && l->backlog < small->backlog))
				small = l;
		}
	}
	if (fullest) {
		snap_set_int(s, F_LISTEN_FULLEST_PCT, (int64_t) best_pct);
		snap_set_int(s, F_LISTEN_FULLEST_QUEUE, fullest->queue);
		snap_set_int(s, F_LISTEN_FULLEST_BACKLOG, fullest->backlog);
		r = set_where(s, fullest, F_LISTEN_FULLEST_PORT, F_LISTEN_FULLEST_PROCESS);
		if (r < 0)
			return r;
	}
	if (somaxconn > 0)
		snap_set_int(s, F_LISTEN_SMALL_COUNT, n_small);
	if (small) {
		snap_set_int(s, F_LISTEN_SMALL_BACKLOG, small->backlog);
		snap_set_int(s, F_LISTEN_SMALL_QUEUE, small->queue);
		r = set_where(s, small, F_LISTEN_SMALL_PORT, F_LISTEN_SMALL_PROCESS);
		if (r < 0)
			return r;
	}
	return 0;
}
