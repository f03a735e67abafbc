/* The snapshot: storage for facts and notes, and the order readers run in. */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keys.h"
#include "log.h"
#include "procwalk.h"
#include "rootfs.h"
#include "snap_readers.h"

int snapshot_init(struct snapshot *s, const struct snap_target *t)
{
	const char *root = t->root ? t->root : "/";
	struct stat a, b;
	int fd;

	memset(s, 0, sizeof(*s));
	s->rootfd = -1;
	s->kernel_version = -1;
	fd = rootfs_open(root);
	if (fd < 0)
		return fd;
	s->rootfd = fd;
	s->live = fstat(fd, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	s->netns = t->netns;
	s->host_keys = t->host_keys;
	s->root = strdup(root);
	s->facts = calloc(facts_count(), sizeof(*s->facts));
	s->sysctl = calloc(key_count, sizeof(*s->sysctl));
	if (!s->root || !s->facts || !s->sysctl) {
		snapshot_release(s);
		return -ENOMEM;
	}
	if (s->live) {
		/* The namespace audited is ours now (--netns entered it first):
		 * read once, for the state file's name, the report and the
		 * owners' first pass. */
		int proc = rootfs_openat(fd, "proc", O_RDONLY | O_DIRECTORY);

		if (proc >= 0) {
			if (proc_netns_inum(proc, 0, &s->netns_inum) < 0)
				s->netns_inum = 0;
			close(proc);
		}
	}
	return 0;
}

void snapshot_release(struct snapshot *s)
{
	if (s->facts)
		for (size_t i = 0; i < facts_count(); i++)
			free(s->facts[i].s);
	free(s->facts);
	free(s->sysctl);
	for (size_t i = 0; i < s->n_notes; i++) {
		free(s->notes[i].source);
		free(s->notes[i].text);
	}
	free(s->notes);
	census_release(&s->census);
	snap_owners_drop();
	free(s->owned_inodes);
	free(s->owned_by);
	free(s->holders);
	sysctld_release(&s->boot);
	if (s->rootfd >= 0)
		close(s->rootfd);
	free(s->root);
	memset(s, 0, sizeof(*s));
	s->rootfd = -1;
}

/* The readers in the order they run: later ones use earlier facts (the
 * census needs ip_local_port_range, attribution needs the census). */
static const struct {
	const char *name;
	int (*read)(struct snapshot *s);
} readers[] = {
	{ "kernel",   snap_kernel_read },
	{ "sysctl",   snap_sysctl_read },
	{ "sockets",  snap_sockets_read },
	{ "sockstat", snap_sockstat_read },
	{ "tcpext",   snap_netstat_read },
	{ "nat",      snap_nat_read },
	{ "conntrack", snap_conntrack_read },
	{ "procfd",   snap_procfd_read },
	{ "listen",   snap_listen_read },
	{ "boot",     snap_boot_read },
	{ "txn",      snap_txn_read },
	{ "harmful",  snap_harmful_read },
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

int snapshot_take(struct snapshot *s)
{
	int r_sysctl = 0;

	s->owners_ahead = true;
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
		double t0 = now_ms();
		int r = readers[i].read(s);

		log_debug("read %s under %s in %.1f ms%s", readers[i].name, s->root, now_ms() - t0,
			  r < 0 ? " (failed)" : "");
		if (r == -ENOMEM) {
			s->owners_ahead = false;
			return r;
		}
		if (readers[i].read == snap_sysctl_read)
			r_sysctl = r;
	}
	s->owners_ahead = false;
	if (r_sysctl < 0)
		snap_note(s, "sysctl", "no TCP sysctl could be read under %s", snap_path(s, "proc/sys"));
	if (snap_set_str(s, F_COUNTERS_SINCE, snap_counters_since(s)) < 0)
		return -ENOMEM;
	if (!s->census_ok)
		return -EIO;
	return r_sysctl < 0 ? r_sysctl : 0;
}

int snapshot_take_sockets(struct snapshot *s)
{
	return snap_sockets_read(s);
}

int snapshot_take_config(struct snapshot *s)
{
	int r;

	snap_kernel_read(s);
	snap_sysctl_read(s);
	r = snap_boot_read(s);
	if (r != -ENOMEM)
		r = snap_harmful_read(s);
	return r == -ENOMEM ? r : 0;
}

int snapshot_set_path_idle(struct snapshot *s, long long declared)
{
	int k = key_index("net.netfilter.nf_conntrack_tcp_timeout_established");
	long long best = declared > 0 ? declared : 0;
	const char *source = best ? "idle_timeout in tcptune.yaml" : NULL;

	if (k >= 0 && s->sysctl[k].present && s->sysctl[k].v[0] > 0 && (!best || s->sysctl[k].v[0] < best)) {
		best = s->sysctl[k].v[0];
		source = "net.netfilter.nf_conntrack_tcp_timeout_established";
	}
	if (!source)
		return 0;
	snap_set_int(s, F_PATH_IDLE_TIMEOUT, best);
	return snap_set_str(s, F_PATH_IDLE_SOURCE, source);
}

void snap_set_int(struct snapshot *s, size_t id, int64_t v)
{
	if (id >= facts_count())
		return;
	s->facts[id].present = true;
	s->facts[id].i = v;
}

int snap_set_str(struct snapshot *s, size_t id, const char *v)
{
	char *d;

	if (id >= facts_count())
		return -EINVAL;
	d = strdup(v);
	if (!d)
		return -ENOMEM;
	free(s->facts[id].s);
	s->facts[id].s = d;
	s->facts[id].present = true;
	return 0;
}

const char *snap_counters_since(const struct snapshot *s)
{
	int orphans = key_index("net.ipv4.tcp_max_orphans"), fin = key_index("net.ipv4.tcp_fin_timeout");

	if (orphans >= 0 && s->sysctl[orphans].present)
		return "boot";
	if (fin >= 0 && s->sysctl[fin].present)
		return "this network namespace was created";
	return "boot, or the network namespace's creation";
}

const struct fact_val *snap_get(const struct snapshot *s, size_t id)
{
	return id < facts_count() ? &s->facts[id] : NULL;
}

static void vnote(struct snapshot *s, bool bad, const char *source, const char *fmt, va_list ap)
{
	struct snap_note *n;
	char *text = NULL, *src;

	if (vasprintf(&text, fmt, ap) < 0)
		return;
	src = strdup(source);
	n = realloc(s->notes, (s->n_notes + 1) * sizeof(*n));
	if (!src || !n) {
		free(text);
		free(src);
		if (n)
			s->notes = n;
		return;
	}
	s->notes = n;
	s->notes[s->n_notes].source = src;
	s->notes[s->n_notes].text = text;
	s->notes[s->n_notes].bad_input = bad;
	s->n_notes++;
}

void snap_note(struct snapshot *s, const char *source, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(s, false, source, fmt, ap);
	va_end(ap);
}

void snap_bad_input(struct snapshot *s, const char *source, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(s, true, source, fmt, ap);
	va_end(ap);
}

const char *snap_path(const struct snapshot *s, const char *rel)
{
	static char bufs[4][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 4];
	size_t rl = s->root ? strlen(s->root) : 0;
	bool slash = rl > 0 && s->root[rl - 1] == '/';

	snprintf(b, PATH_MAX, "%s%s%s", s->root ? s->root : "", slash ? "" : "/", rel);
	return b;
}
