/* check --netns NAME|PATH: audit another network namespace (a container's).
 * Per-namespace sysctls and sockets are read from inside it; host-wide keys
 * (tcp_max_orphans, absent inside a child namespace) are read from the host
 * first and reported as host values. */
#ifndef TCPTUNE_ADVISOR_NETNS_H
#define TCPTUNE_ADVISOR_NETNS_H

#include <stddef.h>

#include "snapshot.h"

/* The host-wide keys (key_table[].per_netns == false) of the current
 * namespace, in a new array of key_count entries (the others not present),
 * or NULL when out of memory.  The caller frees it. */
struct snap_sysctl *netns_read_host_keys(void);

/* Enter the namespace: NAME means /run/netns/NAME (ip netns add), anything
 * with a '/' is a path such as /proc/PID/ns/net.  Returns 0 or a negative
 * errno (-EPERM: needs CAP_SYS_ADMIN). */
int netns_enter(const char *spec, char *ret_path, size_t len);

#endif
