/* Socket census fallback: /proc/net/tcp and /proc/net/tcp6, used when
 * NETLINK_SOCK_DIAG is refused and under --root.  Format: docs/KERNEL.md §9.2
 * (tcp4_seq_show(), net/ipv4/tcp_ipv4.c). */
#ifndef TCPTUNE_ADVISOR_SNAP_PROCTCP_H
#define TCPTUNE_ADVISOR_SNAP_PROCTCP_H

#include "census.h"

/* Parse one socket line of a tcp (family AF_INET) or tcp6 (AF_INET6) file.
 * Returns 0 or -EINVAL for anything malformed. */
int proctcp_parse_line(const char *line, int family, struct sock_rec *ret);

/* Add every socket of rel (e.g. "proc/net/tcp") under rootfd to c.  The
 * header line is checked.  On a malformed line returns -EBADMSG and sets
 * *ret_line to its number (1-based); other errors are negative errnos from
 * open/read. */
int proctcp_read(int rootfd, const char *rel, int family, struct census *c, unsigned *ret_line);

#endif
