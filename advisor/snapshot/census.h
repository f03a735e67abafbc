/* The socket census: counts and analyses built from a stream of socket
 * records, whatever their source (sock_diag or /proc/net/tcp{,6}).  Memory
 * grows with destinations, listening ports and CLOSE_WAIT sockets, never with
 * the total number of sockets. */
#ifndef TCPTUNE_ADVISOR_CENSUS_H
#define TCPTUNE_ADVISOR_CENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcpstates.h"

/* One socket, decoded.  Addresses in network byte order; IPv4 uses the first
 * four bytes of addr.  Ports in host order. */
struct sock_rec {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t state;		/* kernel state number (1..12) */
	uint8_t timer;		/* 0 none, 1 retransmit, 2 keepalive, 3 timewait, 4 probe */
	uint16_t lport, rport;
	uint8_t laddr[16], raddr[16];
	uint32_t rqueue, wqueue;
	uint32_t uid;
	uint64_t inode;		/* 0: no struct socket (timewait, request, orphan, unaccepted) */
	uint8_t retrans;	/* timer 1: retransmissions of the oldest unacknowledged segment */
};

/* An endpoint and how many sockets point at it. */
struct census_dest {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;		/* 0: aggregated by address only */
	uint32_t count;
};

/* A CLOSE_WAIT socket that still has a struct socket: attribution input. */
struct census_cw {
	uint64_t inode;
	struct census_dest peer;	/* port 0 when we are the server side */
	uint32_t rqueue;
	uint32_t uid;			/* the socket's owner (sock_diag idiag_uid, /proc/net/tcp uid) */
	int owner;			/* index into census.procs, -1 unknown */
};

/* CLOSE_WAIT sockets no process could be found for, by the socket's owner
 * uid: what is known without the privilege to read other users' fds. */
struct census_uid {
	uint32_t uid;
	uint32_t count;
};

struct census_proc {
	int pid;
	char comm[64];		/* escaped for display (str_escape) */
	uint32_t count;
	uint32_t unread;		/* rqueue > 1: data before the FIN unread */
	struct census_dest top_peers[3];
	size_t n_top_peers;
};

/* A listening socket: from sock_diag, queue is its accept queue now and
 * backlog the listen() backlog after the somaxconn clamp (docs/KERNEL.md
 * §9.1, §6.1); /proc/net/tcp gives no backlog (0). */
struct census_listener {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
	uint32_t queue, backlog;
	uint64_t inode;
};

struct census {
	uint64_t states[TCPS_MAX + 1];		/* by kernel state number, both families */
	uint64_t by_family[2][TCPS_MAX + 1];	/* [0] ipv4, [1] ipv6 */
	uint64_t total;
	uint64_t orphans;			/* inode 0 full sockets in FIN_WAIT1/2, CLOSING, LAST_ACK */
	uint64_t unaccepted;			/* inode 0 ESTABLISHED/CLOSE_WAIT: in an accept queue */
	uint64_t tw_minisocks;			/* timer 3: TIME_WAIT + FIN_WAIT2 substate */
	uint64_t tw_incoming, tw_outgoing;
	uint64_t cw_with_unread;		/* CLOSE_WAIT with rqueue > 1: data unread before the FIN */
	uint64_t stalled;			/* data unacknowledged, CENSUS_STALLED_RETRANS retransmissions */
	uint8_t stalled_max_retrans;		/* the most retransmissions among them */

	uint8_t listen_ports[65536 / 8];	/* bitmap of listening local ports */
	uint16_t port_low, port_high;		/* ip_local_port_range, for "outgoing" */

	/* Open-addressing table: TIME_WAIT and all-state counts per remote ip:port
	 * of outgoing sockets. */
	struct census_desttab *dests;

	struct census_cw *cw;			/* CLOSE_WAIT sockets with an inode */
	size_t n_cw, cap_cw;

	struct census_proc *procs;		/* filled by attribution (snap_procfd) */
	size_t n_procs;
	uint64_t cw_unattributed;
	struct census_uid *cw_uids;		/* unattributed ones by owner uid, most first */
	size_t n_cw_uids;
	bool attribution_done;

	struct census_listener *listeners;	/* every LISTEN socket */
	size_t n_listeners, cap_listeners;

	/* Called at the first CLOSE_WAIT socket with an inode, the first that
	 * will need its owner found, if set after census_init(): the caller
	 * may start preparing that meanwhile (snap_owners_ahead()). */
	void (*on_first_cw)(void *arg);
	void *on_first_cw_arg;
};

/* A connection whose oldest unacknowledged segment has been retransmitted
 * this often without any ACK: 5 backoffs from the 200 ms minimum RTO are
 * 6.2 s of silence (docs/KERNEL.md §14.6), which loss on a live path does
 * not produce. */
#define CENSUS_STALLED_RETRANS 5

/* Prepare an empty census; port range from ip_local_port_range (used to tell
 * outgoing sockets from incoming ones).  Returns 0 or -ENOMEM. */
int census_init(struct census *c, uint16_t port_low, uint16_t port_high);
void census_release(struct census *c);

/* Count one socket.  Returns 0 or -ENOMEM. */
int census_add(struct census *c, const struct sock_rec *r);

/* Was this host the server of a connection on local port `port`?  True
 * when the port listens now or lies outside ip_local_port_range
 * (docs/KERNEL.md §20.1).  Complete once every listener has been added. */
bool census_port_is_server(const struct census *c, uint16_t port);

/* Top n outgoing destinations by TIME_WAIT count (ties by address), written to
 * out[]; returns how many. */
size_t census_top_tw_dests(const struct census *c, struct census_dest *out, size_t n);

/* The destination with most outgoing sockets of any state (port headroom),
 * or false if there is none. */
bool census_max_dest_usage(const struct census *c, struct census_dest *ret);

/* Outgoing sockets on an ephemeral local port of the parity bind(0)
 * prefers, the other one than connect()'s (docs/KERNEL.md §19.6): ports
 * taken by bind() before connect(), one per socket.  Destinations whose
 * connect()-parity half of the range is used up are left out (connect()
 * moves to the other parity then).  *ret_top (may be NULL) gets the
 * destination with most of them, when there is one. */
uint64_t census_bind_parity(const struct census *c, struct census_dest *ret_top);

/* Format "10.0.0.5:5432" / "[::1]:8080" / "10.0.0.5" (port 0). */
int census_dest_format(const struct census_dest *d, char *buf, size_t len);

#endif
