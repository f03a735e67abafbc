/* sock_diag census; see snap_sockdiag.h.  Protocol: docs/KERNEL.md §9.1
 * and §18 (include/uapi/linux/inet_diag.h, net/ipv4/inet_diag.c).  Counts
 * are streamed into the census: nothing is allocated per socket. */
#include "snap_sockdiag.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "tcpstates.h"

/* Every state ss -a shows: 1..11 (TCP_ESTABLISHED..TCP_CLOSING).  Asking for
 * SYN_RECV also yields request sockets (the kernel ORs in TCPF_NEW_SYN_RECV);
 * BOUND_INACTIVE (13) is left out, as ss does. */
#define DIAG_STATES (((1u << (TCPS_CLOSING + 1)) - 1) & ~1u)

/* The kernel fills at most ~32 KiB per dump skb (netlink_dump() caps
 * max_recvmsg_len at SKB_WITH_OVERHEAD(32768)); a bigger buffer buys nothing. */
#define RECV_BUF_SIZE (64 * 1024)

static int decode_msg(const struct nlmsghdr *nlh, int family, struct census *c)
{
	const struct inet_diag_msg *m;
	struct sock_rec r;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return -EBADMSG;
	m = mnl_nlmsg_get_payload(nlh);
	/* AF_UNSPEC: the one dump for both families (§18.1) */
	if (family == AF_UNSPEC ? m->idiag_family != AF_INET && m->idiag_family != AF_INET6
				: m->idiag_family != family)
		return -EBADMSG;
	if (!tcp_state_by_number(m->idiag_state))
		return -EBADMSG;
	family = m->idiag_family;
	memset(&r, 0, sizeof(r));
	r.family = m->idiag_family;
	r.state = m->idiag_state;
	r.timer = m->idiag_timer;
	r.lport = ntohs(m->id.idiag_sport);
	r.rport = ntohs(m->id.idiag_dport);
	memcpy(r.laddr, m->id.idiag_src, family == AF_INET ? 4 : 16);
	memcpy(r.raddr, m->id.idiag_dst, family == AF_INET ? 4 : 16);
	r.rqueue = m->idiag_rqueue;
	r.wqueue = m->idiag_wqueue;
	r.uid = m->idiag_uid;
	r.inode = m->idiag_inode;
	r.retrans = m->idiag_retrans;
	return census_add(c, &r);
}

int sockdiag_decode(const void *buf, size_t len, int family, struct census *c,
		    struct sockdiag_stats *st)
{
	const struct nlmsghdr *nlh = buf;
	int remaining = len > INT32_MAX ? -1 : (int) len;

	if (remaining < 0)
		return -EBADMSG;
	while (mnl_nlmsg_ok(nlh, remaining)) {
		int r;

		/* mnl_nlmsg_ok() compares (int) nlmsg_len, so a length of 2^31
		 * or more passes it as negative: check it ourselves (found by
		 * tests/fuzz/fuzz_sockdiag.c). */
		if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > (uint32_t) remaining)
			return -EBADMSG;
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			st->interrupted = true;
		switch (nlh->nlmsg_type) {
		case NLMSG_DONE:
			return 1;
		case NLMSG_ERROR: {
			const struct nlmsgerr *e;

			if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
				return -EBADMSG;
			e = mnl_nlmsg_get_payload(nlh);
			/* error 0 is an ACK, which a dump never sends alone */
			return e->error < 0 && e->error > -4096 ? e->error : -EBADMSG;
		}
		case NLMSG_NOOP:
			break;
		case TCPDIAG_GETSOCK:	/* the one dump's replies echo its type (§18.1) */
			if (family != AF_UNSPEC)
				return -EBADMSG;
			/* fall through */
		case SOCK_DIAG_BY_FAMILY:
			r = decode_msg(nlh, family, c);
			if (r < 0)
				return r;
			st->messages++;
			break;
		default:
			return -EBADMSG;
		}
		nlh = mnl_nlmsg_next(nlh, &remaining);
	}
	/* Bytes left that do not form a whole message: truncated. */
	return remaining == 0 ? 0 : -EBADMSG;
}

/* mnl_socket_recvfrom(), and the sender's address checked: only the
 * kernel (nl_pid 0) answers a dump.  Another process may send to our portid
 * only with CAP_NET_ADMIN over this netns (netlink_sendmsg() ->
 * netlink_allowed(), net/netlink/af_netlink.c), e.g. a container's root when
 * we audit its netns; its messages are refused, not counted. */
static ssize_t recv_from_kernel(struct mnl_socket *nl, void *buf, size_t len)
{
	struct sockaddr_nl addr;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_name = &addr, .msg_namelen = sizeof(addr), .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(mnl_socket_get_fd(nl), &msg, 0);

	if (n < 0)
		return -1;
	if (msg.msg_flags & MSG_TRUNC) {
		errno = ENOSPC;
		return -1;
	}
	if (msg.msg_namelen != sizeof(addr) || addr.nl_pid != 0) {
		errno = EBADMSG;
		return -1;
	}
	return n;
}

/* The request: family AF_UNSPEC is the legacy TCPDIAG_GETSOCK request
 * (struct inet_diag_req), which the kernel dumps with sdiag_family
 * AF_UNSPEC: one walk of the TCP hash tables for IPv4 and IPv6 together
 * (inet_diag_dump_compat(); docs/KERNEL.md §18.1).  AF_INET or AF_INET6 is
 * SOCK_DIAG_BY_FAMILY with struct inet_diag_req_v2, one walk per family.
 * No extension is asked for (idiag_ext 0): the census reads only the
 * fixed struct inet_diag_msg. */
static int dump_family(struct mnl_socket *nl, int family, struct census *c,
		       struct sockdiag_stats *st, FILE *record, void *buf)
{
	struct {
		struct nlmsghdr nlh;
		union {
			struct inet_diag_req_v2 v2;
			struct inet_diag_req v1;
		} req;
	} msg;
	unsigned int seq;
	unsigned int portid = mnl_socket_get_portid(nl);

	/* An unpredictable sequence number: nothing but the reply matches it. */
	if (getrandom(&seq, sizeof(seq), GRND_NONBLOCK) != (ssize_t) sizeof(seq))
		seq = (unsigned int) time(NULL) ^ (unsigned int) family;
	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.nlh.nlmsg_seq = seq;
	if (family == AF_UNSPEC) {
		msg.nlh.nlmsg_len = (uint32_t) (sizeof(msg.nlh) + sizeof(msg.req.v1));
		msg.nlh.nlmsg_type = TCPDIAG_GETSOCK;
		msg.req.v1.idiag_family = AF_INET;	/* not read by the dump */
		msg.req.v1.idiag_states = DIAG_STATES;
	} else {
		msg.nlh.nlmsg_len = (uint32_t) (sizeof(msg.nlh) + sizeof(msg.req.v2));
		msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
		msg.req.v2.sdiag_family = (uint8_t) family;
		msg.req.v2.sdiag_protocol = IPPROTO_TCP;
		msg.req.v2.idiag_states = DIAG_STATES;
	}

	if (mnl_socket_sendto(nl, &msg, msg.nlh.nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv_from_kernel(nl, buf, RECV_BUF_SIZE);
		const struct nlmsghdr *h = buf;
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		st->buffers++;
		if (record) {
			uint32_t l = (uint32_t) n;
			if (fwrite(&l, sizeof(l), 1, record) != 1 || fwrite(buf, 1, (size_t) n, record) != (size_t) n)
				return -EIO;
		}
		/* Replies to someone else's request cannot arrive on our own
		 * portid, but a stale sequence would mean a confused stream. */
		if ((size_t) n >= sizeof(*h) && (h->nlmsg_seq != seq || h->nlmsg_pid != portid))
			return -EBADMSG;
		r = sockdiag_decode(buf, (size_t) n, family, c, st);
		if (r != 0)
			return r < 0 ? r : 0;
	}
}

int sockdiag_dump(struct census *c, struct sockdiag_stats *st, FILE *record)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct mnl_socket *nl;
	static char buf[RECV_BUF_SIZE] __attribute__((aligned(8)));
	int r = 0;

	nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto out;
	}
	/* One dump for both families; a kernel without the legacy request
	 * (inet_diag not loadable: EOPNOTSUPP, or one that refuses it:
	 * EINVAL) answers before any socket, and then one dump per family. */
	r = dump_family(nl, AF_UNSPEC, c, st, record, buf);
	if (r == 0 || st->messages > 0 || (r != -EOPNOTSUPP && r != -EINVAL))
		goto out;
	log_debug("sock_diag: TCPDIAG_GETSOCK refused (%s); one dump per family", strerror(-r));
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		r = dump_family(nl, families[i], c, st, record, buf);
		/* A kernel without IPv6 answers the AF_INET6 dump with ENOENT. */
		if (r == -ENOENT && families[i] == AF_INET6)
			r = 0;
		if (r < 0)
			goto out;
	}
out:
	mnl_socket_close(nl);
	return r;
}
