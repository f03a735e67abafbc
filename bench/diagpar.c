/* diagpar: two ways to beat diagcount's floor, for bench/run to time next to
 * it.  `tcptune check` dumps the first way since issue 18 (docs/KERNEL.md
 * §18.1); split is not used (see BENCHMARKS.md).
 *
 *   diagpar unspec    one dump for both families: the legacy TCPDIAG_GETSOCK
 *                     request (struct inet_diag_req) makes the kernel dump
 *                     with sdiag_family AF_UNSPEC (inet_diag_dump_compat()),
 *                     so inet_diag_dump_icsk() walks the established hash
 *                     once instead of once per family
 *   diagpar split     the same request twice, in two threads on two
 *                     netlink sockets, with a bytecode filter on the source
 *                     port: below the middle of ip_local_port_range, and the
 *                     rest.  Each walk still visits every socket but fills
 *                     and copies only its half.
 *
 * Output as diagcount's: "state count" for the 11 states, then "total N";
 * exit 3 when a dump was marked NLM_F_DUMP_INTR, 1 on failure. */
#include <errno.h>
#include <pthread.h>
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
#define NSTATES 12

struct job {
	int lo, hi;		/* source port range; lo < 0: no filter */
	uint64_t count[16];
	int intr, err;
};

static void count_state(const struct inet_diag_msg *m, void *arg)
{
	((uint64_t *) arg)[m->idiag_state & 15]++;
}

static void dump(struct job *j)
{
	static __thread char buf[65536] __attribute__((aligned(8)));
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req req;
		struct nlattr nla;
		struct inet_diag_bc_op op[4];
	} __attribute__((packed)) msg;
	size_t len = sizeof(msg.nlh) + sizeof(msg.req);
	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	if (nl < 0) {
		j->err = -errno;
		return;
	}
	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_type = TCPDIAG_GETSOCK;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.req.idiag_family = AF_INET;	/* not used: the compat dump is AF_UNSPEC */
	msg.req.idiag_states = (1u << 13) - 1;
	if (j->lo >= 0) {
		/* sport >= lo && sport <= hi (inet_diag_bc_run(): a jump to
		 * len + 4 rejects) */
		msg.op[0] = (struct inet_diag_bc_op) { INET_DIAG_BC_S_GE, 8, 20 };
		msg.op[1] = (struct inet_diag_bc_op) { 0, 0, (unsigned short) j->lo };
		msg.op[2] = (struct inet_diag_bc_op) { INET_DIAG_BC_S_LE, 8, 12 };
		msg.op[3] = (struct inet_diag_bc_op) { 0, 0, (unsigned short) j->hi };
		msg.nla.nla_type = INET_DIAG_REQ_BYTECODE;
		msg.nla.nla_len = sizeof(msg.nla) + sizeof(msg.op);
		len += msg.nla.nla_len;
	}
	msg.nlh.nlmsg_len = (uint32_t) len;
	j->err = diag_dump(nl, &msg, len, buf, sizeof(buf), count_state, j->count, &j->intr);
	close(nl);
}

static void *run(void *arg)
{
	dump(arg);
	return NULL;
}

static int middle_of_port_range(void)
{
	unsigned lo = 32768, hi = 60999;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

	if (f) {
		if (fscanf(f, "%u %u", &lo, &hi) != 2 || lo > hi || hi > 65535) {
			lo = 32768;
			hi = 60999;
		}
		fclose(f);
	}
	return (int) ((lo + hi + 1) / 2);
}

int main(int argc, char **argv)
{
	struct job j[2] = { { .lo = -1 }, { .lo = -1 } };
	uint64_t count[16] = { 0 }, total = 0;
	int n = 1, intr = 0;

	if (argc != 2 || (strcmp(argv[1], "unspec") != 0 && strcmp(argv[1], "split") != 0)) {
		fprintf(stderr, "usage: diagpar unspec|split\n");
		return 1;
	}
	if (strcmp(argv[1], "split") == 0) {
		pthread_t t;
		int mid = middle_of_port_range();

		j[0] = (struct job) { .lo = 0, .hi = mid - 1 };
		j[1] = (struct job) { .lo = mid, .hi = 65535 };
		n = 2;
		if (pthread_create(&t, NULL, run, &j[1]) != 0) {
			fprintf(stderr, "diagpar: pthread_create failed\n");
			return 1;
		}
		dump(&j[0]);
		pthread_join(t, NULL);
	} else {
		dump(&j[0]);
	}
	for (int k = 0; k < n; k++) {
		if (j[k].err) {
			fprintf(stderr, "diagpar: dump failed: %s\n", strerror(-j[k].err));
			return 1;
		}
		intr |= j[k].intr;
		for (int s = 0; s < 16; s++)
			count[s] += j[k].count[s];
	}
	count[3] += count[NSTATES];
	for (int s = 1; s < NSTATES; s++) {
		printf("%s %llu\n", names[s], (unsigned long long) count[s]);
		total += count[s];
	}
	printf("total %llu\n", (unsigned long long) total);
	if (intr)
		fprintf(stderr, "diagpar: NLM_F_DUMP_INTR: the tables changed during the dump\n");
	return intr ? 3 : 0;
}
