/* check --netns NAME|PATH: audit another network namespace (a container's).
 * Per-namespace sysctls and sockets are read from inside it; host-wide keys
 * (tcp_max_orphans, absent inside a child namespace) are read from the host
 * first and reported as host values. */
#ifndef TCPTUNE_ADVISOR_NETNS_H
#define TCPTUNE_ADVISOR_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

/* The host-wide keys (key_table[].per_netns == false) of the current
 * namespace, in a new array of key_count entries (the others not present),
 * or NULL when out of memory.  The caller frees it. */
struct snap_sysctl *netns_read_host_keys(void);

/* Enter the namespace: NAME means /run/netns/NAME (ip netns add), anything
 * with a '/' is a path such as /proc/PID/ns/net.  Returns 0 or a negative
 * errno (-EPERM: needs CAP_SYS_ADMIN). */
int netns_enter(const char *spec, char *ret_path, size_t len);

/* One network namespace of the host, found by check --all-netns: by the
 * device and inode of its nsfs file (what /proc/PID/ns/net and a
 * /run/netns bind mount both stat to; docs/KERNEL.md §14.1). */
struct netns_entry {
	uint64_t dev, ino;
	char name[256];		/* ip netns name (/run/netns/NAME), "" when none */
	char path[288];		/* what to open: /run/netns/NAME, else /proc/PID/ns/net */
	int pid;		/* the lowest pid in it, 0 when no process is */
	uint32_t n_pids;	/* processes (thread group leaders) in it */
	bool current;		/* the namespace tcptune runs in */
};

struct netns_list {
	struct netns_entry *v;
	size_t n;
	uint32_t unreadable;	/* /proc/PID/ns/net links we could not stat (no CAP_SYS_PTRACE) */
};

/* Every network namespace reachable from /proc/PID/ns/net (every process)
 * and /run/netns/ (ip netns), each once by (dev, ino); the current one
 * first, then by inode.  Returns 0 or -ENOMEM; a list the caller releases. */
int netns_list_all(struct netns_list *ret);
void netns_list_release(struct netns_list *l);

/* Enter e: open its path, check it is still the same namespace (a pid can
 * be reused between listing and entering), setns().  Returns 0, -ESTALE
 * when the path now names another namespace, or a negative errno. */
int netns_enter_entry(const struct netns_entry *e);

/* Open the current network namespace (to come back with netns_return()).
 * Returns an fd or a negative errno. */
int netns_open_current(void);
int netns_return(int fd);

#endif
