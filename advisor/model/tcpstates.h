/* The one table of TCP state names: kernel number (include/net/tcp_states.h,
 * also the hex "st" column of /proc/net/tcp), the fact name used by rules and
 * JSON, and the name `ss` prints. */
#ifndef TCPTUNE_ADVISOR_TCPSTATES_H
#define TCPTUNE_ADVISOR_TCPSTATES_H

#include <stddef.h>

enum {
	TCPS_ESTABLISHED = 1,
	TCPS_SYN_SENT,
	TCPS_SYN_RECV,
	TCPS_FIN_WAIT1,
	TCPS_FIN_WAIT2,
	TCPS_TIME_WAIT,
	TCPS_CLOSE,
	TCPS_CLOSE_WAIT,
	TCPS_LAST_ACK,
	TCPS_LISTEN,
	TCPS_CLOSING,
	TCPS_NEW_SYN_RECV,	/* kernel-internal; diag reports request socks as SYN_RECV */
	TCPS_MAX = TCPS_NEW_SYN_RECV
};

struct tcp_state_name {
	int state;		/* kernel number */
	const char *fact;	/* "time_wait": sockets.time_wait, JSON states.time_wait */
	const char *ss;		/* "TIME-WAIT" as iproute2 ss prints it */
};

/* In report order (the kernel's numbering, which is also TCP's life cycle). */
extern const struct tcp_state_name tcp_state_names[];
extern const size_t tcp_state_count;

/* Entry for kernel state number s, or NULL if s is not a reportable state. */
const struct tcp_state_name *tcp_state_by_number(int s);

#endif
