/* Entering another network namespace; see netns.h.  After setns(2) the
 * process's /proc/self/net (hence /proc/net), new netlink sockets and
 * /proc/sys/net lookups all belong to the target namespace. */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
