/* Listen queues per listener (docs/KERNEL.md §9.1, §6.1, §6.2): from the
 * census's LISTEN sockets, the listener whose accept queue is fullest
 * against its backlog, and the busiest listener whose backlog the program
 * asked far below somaxconn; each with its port and the process holding it
 * (its socket inode in /proc/PID/fd, as ss -p finds it; docs/KERNEL.md
 * §9.5).  Only sock_diag gives the backlog: from /proc/net/tcp nothing is
 * judged. */
#include "snap_readers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "procwalk.h"
#include "strutil.h"

/* The most processes' fd tables read to name two listeners: a bound on the
 * time spent, not on correctness (the fact then says "an unknown process"). */
#define MAX_PIDS_SCANNED 100000

/* The listeners to name: at most two (the fullest, the smallest backlog),
 * often the same socket. */
struct wanted {
	const struct census_listener *l;
	int pid;
	char comm[64];
	char link[48];		/* "socket:[INODE]", as readlink shows it */
};

static void read_comm(int pid, char *comm, size_t len)
{
	char cpath[64], raw[64] = "";
	int fd;

	snprintf(cpath, sizeof(cpath), "/proc/%d/comm", pid);
	fd = open(cpath, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, raw, sizeof(raw) - 1);
		raw[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	/* A program names itself: never trust the bytes. */
	str_escape(str_strip(raw), comm, len);
}

/* find_holders_pass()'s state for one process's fd table. */
struct lookup {
	struct wanted *w;
	size_t n, left;
	int pid;
};

static int on_link(void *arg, const char *link)
{
	struct lookup *k = arg;

	if (strncmp(link, "socket:[", 8) != 0)
		return 0;
	for (size_t i = 0; i < k->n; i++) {
		if (k->w[i].pid || !k->w[i].l->inode)
			continue;
		if (strcmp(link, k->w[i].link) == 0) {
			k->w[i].pid = k->pid;
			k->left--;
		}
	}
	return k->left == 0;
}

/* One pass over /proc: with ns, only the processes whose network namespace
 * is (same_ns) or is not (!same_ns) ns.  Each fd table is read by
 * fdtable_scan() (docs/KERNEL.md §18.3), which stops once every listener is
 * found. */
static void find_holders_pass(struct wanted *w, size_t n, size_t *left_p, const unsigned long *ns, bool same_ns)
{
	struct lookup k = { .w = w, .n = n, .left = *left_p };
	struct dirwalk *pw = NULL, *fw = NULL;
	const char *name;
	int proc, scanned = 0;

	if (!k.left)
		return;
	proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (proc < 0)
		return;
	pw = malloc(sizeof(*pw));
	fw = malloc(sizeof(*fw));
	if (!pw || !fw)
		goto out;
	dirwalk_init(pw, proc, false);
	while (k.left > 0 && scanned < MAX_PIDS_SCANNED && dirwalk_next(pw, &name) > 0) {
		struct stat st;
		char rel[32];
		int pid = proc_name_number(name), fds;

		if (pid <= 0)
			continue;
		scanned++;
		if (ns) {
			unsigned long inum;
			/* unreadable: taken in the first pass */
			bool same = proc_netns_inum(proc, pid, &inum) < 0 || inum == *ns;

			if (same != same_ns)
				continue;
		}
		snprintf(rel, sizeof(rel), "%d/fd", pid);
		fds = openat(proc, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fds < 0)
			continue;
		if (fstat(fds, &st) < 0)
			st.st_size = 0;
		k.pid = pid;
		{
			bool denied = false;	/* an unknown holder either way */

			fdtable_scan(fds, st.st_size, fw, on_link, &k, &denied);
		}
		close(fds);
	}
out:
	free(pw);
	free(fw);
	close(proc);
	*left_p = k.left;
}

/* Find the processes holding the wanted listeners' inodes: from the BPF
 * walk if one was made, else in one pass over /proc that stops once every
 * one is found. */
static void find_holders(const struct snapshot *s, struct wanted *w, size_t n)
{
	/* the audited namespace, as snapshot_init() read it */
	unsigned long ns = s->netns_inum;
	bool ns_known = s->live && ns != 0;
	sigset_t all, old;
	size_t left = 0;

	/* The BPF walk, when the CLOSE_WAIT owners made one, holds the
	 * listeners' holders too (snap_owners.c): no /proc scan. */
	if (s->owners_walk > 0) {
		for (size_t i = 0; i < n; i++) {
			int h = w[i].l->inode ? snap_owner_of(s, w[i].l->inode) : -1;

			if (h >= 0) {
				w[i].pid = s->holders[h].pid;
				snprintf(w[i].comm, sizeof(w[i].comm), "%s", s->holders[h].comm);
			}
		}
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (w[i].l->inode) {
			snprintf(w[i].link, sizeof(w[i].link), "socket:[%llu]", (unsigned long long) w[i].l->inode);
			left++;
		}
	/* fdtable_scan() takes a short listing for the whole: signals blocked
	 * while it reads (docs/KERNEL.md §18.2), delivered right after. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	/* First the processes of the audited network namespace, where a
	 * listener's holder nearly always is; the others only if one is not
	 * found (as snap_procfd.c; docs/KERNEL.md §18.2). */
	find_holders_pass(w, n, &left, ns_known ? &ns : NULL, true);
	if (left > 0 && ns_known)
		find_holders_pass(w, n, &left, &ns, false);
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (size_t i = 0; i < n; i++)
		if (w[i].pid)
			read_comm(w[i].pid, w[i].comm, sizeof(w[i].comm));
}

/* "nginx (pid 12)", or "an unknown process". */
static void holder_name(const struct wanted *w, char *who, size_t len)
{
	if (w->pid > 0)
		snprintf(who, len, "%s (pid %d)", w->comm, w->pid);
	else
		snprintf(who, len, "an unknown process");
}

void snap_listener_owner(const struct snapshot *s, const struct census_listener *l, char *who, size_t len)
{
	struct wanted w = { .l = l };

	find_holders(s, &w, 1);
	holder_name(&w, who, len);
}

static int set_where(struct snapshot *s, const struct wanted *w, size_t port_fact, size_t proc_fact)
{
	struct census_dest d = { .family = w->l->family, .port = w->l->port };
	char buf[96], who[128];
	int r;

	memcpy(d.addr, w->l->addr, sizeof(d.addr));
	if (census_dest_format(&d, buf, sizeof(buf)) < 0)
		snprintf(buf, sizeof(buf), "port %u", w->l->port);
	r = snap_set_str(s, port_fact, buf);
	if (r < 0)
		return r;
	holder_name(w, who, sizeof(who));
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
	struct wanted w[2];
	size_t n_w;
	int k = key_index("net.core.somaxconn"), r;

	if (!s->census_ok || !s->sockets_source || strcmp(s->sockets_source, "netlink") != 0)
		return 0;
	memset(w, 0, sizeof(w));
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
	/* w[0] the fullest, w[1] the smallest backlog; one lookup when they
	 * are the same socket. */
	n_w = 0;
	if (fullest)
		w[n_w++].l = fullest;
	if (small && small != fullest)
		w[n_w++].l = small;
	find_holders(s, w, n_w);
	if (fullest) {
		snap_set_int(s, F_LISTEN_FULLEST_PCT, (int64_t) best_pct);
		snap_set_int(s, F_LISTEN_FULLEST_QUEUE, fullest->queue);
		snap_set_int(s, F_LISTEN_FULLEST_BACKLOG, fullest->backlog);
		r = set_where(s, &w[0], F_LISTEN_FULLEST_PORT, F_LISTEN_FULLEST_PROCESS);
		if (r < 0)
			return r;
	}
	if (somaxconn > 0)
		snap_set_int(s, F_LISTEN_SMALL_COUNT, n_small);
	if (small) {
		snap_set_int(s, F_LISTEN_SMALL_BACKLOG, small->backlog);
		snap_set_int(s, F_LISTEN_SMALL_QUEUE, small->queue);
		r = set_where(s, small == fullest ? &w[0] : &w[n_w - 1], F_LISTEN_SMALL_PORT, F_LISTEN_SMALL_PROCESS);
		if (r < 0)
			return r;
	}
	return 0;
}
