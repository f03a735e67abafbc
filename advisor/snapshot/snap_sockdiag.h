/* Socket census over NETLINK_SOCK_DIAG (inet_diag, TCP, AF_INET then
 * AF_INET6, every state, no extensions).  Talking to the socket and decoding
 * a buffer of messages are separate, so tests feed recorded bytes. */
#ifndef TCPTUNE_ADVISOR_SNAP_SOCKDIAG_H
#define TCPTUNE_ADVISOR_SNAP_SOCKDIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "census.h"

struct sockdiag_stats {
	bool interrupted;	/* NLM_F_DUMP_INTR: the tables changed during the dump */
	size_t messages;	/* sockets decoded */
	size_t buffers;		/* recv() calls */
};

/* Decode one received buffer of a dump of `family`, adding each socket to c.
 * Every header and payload length is checked before it is read.
 * Returns 1 when NLMSG_DONE was seen, 0 when more is expected, -EBADMSG for a
 * truncated or malformed message, the kernel's error for NLMSG_ERROR, or
 * -ENOMEM. */
int sockdiag_decode(const void *buf, size_t len, int family, struct census *c,
		    struct sockdiag_stats *st);

/* Dump both families into c.  record, if not NULL, receives every buffer as
 * a 4-byte native-endian length followed by the bytes (fixture format).
 * Returns 0 or a negative errno; -EPROTONOSUPPORT / -EACCES / -EPERM mean
 * "use the /proc fallback". */
int sockdiag_dump(struct census *c, struct sockdiag_stats *st, FILE *record);

#endif
