/* Entering another network namespace; see netns.h.  After setns(2) the
 * process's /proc/self/net (hence /proc/net), new netlink sockets and
 * /proc/sys/net lookups all belong to the target namespace. */
#include "netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "snap_readers.h"
#include "strutil.h"

struct snap_sysctl *netns_read_host_keys(void)
{
	const struct snap_target host_root = { .root = "/" };
	struct snap_sysctl *host = calloc(key_count, sizeof(*host));
	struct snapshot s;

	if (!host)
		return NULL;
	if (snapshot_init(&s, &host_root) < 0)
		return host;
	snap_kernel_read(&s);
	snap_sysctl_read(&s);
	for (size_t i = 0; i < key_count; i++)
		if (!key_table[i].per_netns)
			host[i] = s.sysctl[i];
	snapshot_release(&s);
	return host;
}

int netns_enter(const char *spec, char *ret_path, size_t len)
{
	int fd, r;

	if (!*spec)
		return -EINVAL;
	if (strchr(spec, '/'))
		r = str_printf(ret_path, len, "%s", spec);
	else if (strcmp(spec, ".") == 0 || strcmp(spec, "..") == 0)
		return -EINVAL;
	else
		r = str_printf(ret_path, len, "/run/netns/%s", spec);
	if (r < 0)
		return r;
	/* O_NONBLOCK: a FIFO given as PATH must not hang us; setns() refuses
	 * anything that is not a network namespace with EINVAL. */
	fd = open(ret_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/* The nsfs file of a namespace: "/proc/PID/ns/net" stats (following the
 * magic link) to the namespace's own inode on the nsfs device, and a
 * /run/netns/NAME bind mount of it stats to the same pair. */
static int ns_stat(const char *path, uint64_t *dev, uint64_t *ino)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	*dev = (uint64_t) st.st_dev;
	*ino = (uint64_t) st.st_ino;
	return 0;
}

static struct netns_entry *find_or_add(struct netns_list *l, size_t *cap, uint64_t dev, uint64_t ino,
				       bool *added)
{
	struct netns_entry *nv;

	*added = false;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].dev == dev && l->v[i].ino == ino)
			return &l->v[i];
	if (l->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return NULL;
		l->v = nv;
		*cap = nc;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	l->v[l->n].dev = dev;
	l->v[l->n].ino = ino;
	*added = true;
	return &l->v[l->n++];
}

static int by_current_then_ino(const void *a, const void *b)
{
	const struct netns_entry *x = a, *y = b;

	if (x->current != y->current)
		return x->current ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int list_proc(struct netns_list *l, size_t *cap)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[64];
		long long pid;
		uint64_t dev = 0, ino = 0;
		struct netns_entry *e;
		bool added;
		int r;

		if (parse_ll(de->d_name, 1, 0x7fffffff, &pid) < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%lld/ns/net", pid);
		r = ns_stat(path, &dev, &ino);
		if (r < 0) {
			/* ENOENT: gone since readdir; EACCES: no ptrace
			 * rights over it (docs/KERNEL.md §14.1). */
			if (r == -EACCES || r == -EPERM)
				l->unreadable++;
			continue;
		}
		e = find_or_add(l, cap, dev, ino, &added);
		if (!e) {
			closedir(d);
			return -ENOMEM;
		}
		if (added || (e->pid == 0 || pid < e->pid)) {
			e->pid = (int) pid;
			if (!e->name[0])
				snprintf(e->path, sizeof(e->path), "%s", path);
		}
		e->n_pids++;
	}
	closedir(d);
	return 0;
}

static int list_run_netns(struct netns_list *l, size_t *cap)
{
	DIR *d = opendir("/run/netns");
	struct dirent *de;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char path[288];
		uint64_t dev = 0, ino = 0;
		struct netns_entry *e;
		bool added;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(e->name))
			continue;
		if (str_printf(path, sizeof(path), "/run/netns/%s", de->d_name) < 0 ||
		    ns_stat(path, &dev, &ino) < 0)
			continue;
		/* Only nsfs files: ip netns leaves an empty file behind when
		 * the bind mount failed, and others may put anything here. */
		{
			struct stat self;
			if (stat("/proc/self/ns/net", &self) < 0 || (uint64_t) self.st_dev != dev)
				continue;
		}
		e = find_or_add(l, cap, dev, ino, &added);
		if (!e) {
			closedir(d);
			return -ENOMEM;
		}
		/* Two names for one namespace: the first in directory order
		 * names it; it is still listed once. */
		if (!e->name[0]) {
			snprintf(e->name, sizeof(e->name), "%s", de->d_name);
			snprintf(e->path, sizeof(e->path), "%s", path);
		}
	}
	closedir(d);
	return 0;
}

int netns_list_all(struct netns_list *ret)
{
	struct netns_list l = { 0 };
	size_t cap = 0;
	uint64_t dev = 0, ino = 0;
	struct netns_entry *e;
	bool added;
	int r;

	r = ns_stat("/proc/self/ns/net", &dev, &ino);
	if (r < 0)
		return r;
	e = find_or_add(&l, &cap, dev, ino, &added);
	if (!e)
		return -ENOMEM;
	e->current = true;
	snprintf(e->path, sizeof(e->path), "/proc/self/ns/net");
	r = list_run_netns(&l, &cap);
	if (r == -ENOMEM)
		goto fail;
	r = list_proc(&l, &cap);
	if (r == -ENOMEM)
		goto fail;
	qsort(l.v, l.n, sizeof(*l.v), by_current_then_ino);
	*ret = l;
	return 0;
fail:
	free(l.v);
	return r;
}

void netns_list_release(struct netns_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int netns_open_current(void)
{
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int netns_return(int fd)
{
	return setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
}

int netns_enter_entry(const struct netns_entry *e)
{
	struct stat st;
	int fd, r;

	fd = open(e->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if ((uint64_t) st.st_dev != e->dev || (uint64_t) st.st_ino != e->ino)
		r = -ESTALE;
	else
		r = setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
	close(fd);
	return r;
}
