/* diagcount: the floor of bench/run.  One NETLINK_SOCK_DIAG dump of TCP
 * sockets per family (AF_INET, then AF_INET6), every state ss shows, counted
 * by state and nothing else: no attributes asked for, no per-socket work but
 * one increment, no library.  Prints "state count" for the 11 states (request
 * sockets, NEW_SYN_RECV, count as syn_recv as in ss), then "total N".
 * A dump that the kernel marks NLM_F_DUMP_INTR (tables changed meanwhile) is
 * reported on stderr and makes the exit code 3; other failures exit 1. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "diaglib.h"

static const char *const names[] = {
	NULL, "established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2", "time_wait",
	"close", "close_wait", "last_ack", "listen", "closing",
};
#define NSTATES 12	/* 1..11 above; 12 (NEW_SYN_RECV) folds into syn_recv */

/* The kernel fills at most ~32 KiB per dump skb; 64 KiB always holds one. */
static char buf[65536] __attribute__((aligned(8)));

static void count_state(const struct inet_diag_msg *m, void *arg)
{
	((uint64_t *) arg)[m->idiag_state & 15]++;
}

static int dump(int nl, int family, uint64_t *count, int *intr)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = (uint32_t) family },
		/* ss's "all": states 0..12, i.e. everything but BOUND_INACTIVE */
		.req = { .sdiag_family = (uint8_t) family, .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = (1u << 13) - 1 },
	};

	return diag_dump(nl, &msg, sizeof(msg), buf, sizeof(buf), count_state, count, intr);
}

int main(void)
{
	uint64_t count[16] = { 0 }, total = 0;
	int nl, r, intr = 0;

	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0) {
		perror("diagcount: socket(NETLINK_SOCK_DIAG)");
		return 1;
	}
	r = dump(nl, AF_INET, count, &intr);
	if (r == 0)
		r = dump(nl, AF_INET6, count, &intr);
	if (r < 0) {
		fprintf(stderr, "diagcount: dump failed: %s\n", strerror(-r));
		return 1;
	}
	count[3] += count[NSTATES];
	for (int s = 1; s < NSTATES; s++) {
		printf("%s %llu\n", names[s], (unsigned long long) count[s]);
		total += count[s];
	}
	printf("total %llu\n", (unsigned long long) total);
	if (intr)
		fprintf(stderr, "diagcount: NLM_F_DUMP_INTR: the tables changed during the dump\n");
	return intr ? 3 : 0;
}
