/* Entering another network namespace; see netns.h.  After setns(2) the
 * process's /proc/self/net (hence /proc/net), new netlink sockets and
 * /proc/sys/net lookups all belong to the target namespace. */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "snap_readers.h"
#include "strutil.h"

void netns_read_host_keys(struct snap_sysctl *host)
{
	struct snapshot s;

	memset(host, 0, key_count * sizeof(*host));
	if (snapshot_init(&s, "/") < 0)
		return;
	snap_kernel_read(&s);
	snap_sysctl_read(&s);
	for (size_t i = 0; i < key_count; i++)
		if (!key_table[i].per_netns)
			host[i] = s.sysctl[i];
	snapshot_release(&s);
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
