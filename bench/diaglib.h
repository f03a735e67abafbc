/* diaglib.h: the sock_diag dump loop the bench tools share (diagcount,
 * diagpar, procfloor).  Header only: bench/run builds each tool from its one
 * .c file.  Nothing is allocated; each socket's message goes to a callback,
 * which the compiler inlines where a tool passes a function of its own. */
#ifndef BENCH_DIAGLIB_H
#define BENCH_DIAGLIB_H

#include <errno.h>
#include <stddef.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <sys/socket.h>

/* Send the dump request REQ (LEN bytes, a whole netlink message) on the
 * NETLINK_SOCK_DIAG socket NL and hand every socket's message to EACH,
 * receiving into BUF (the kernel fills at most ~32 KiB per recv(): 64 KiB
 * always holds one).  *intr is set when the kernel marks a message
 * NLM_F_DUMP_INTR (the tables changed meanwhile).  0 at NLMSG_DONE, else a
 * negative errno (-EBADMSG for a malformed reply). */
static int diag_dump(int nl, const void *req, size_t len, char *buf, size_t buflen,
		     void (*each)(const struct inet_diag_msg *m, void *arg), void *arg, int *intr)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	if (sendto(nl, req, len, 0, (struct sockaddr *) &kernel, sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(nl, buf, buflen, 0);
		int left = (int) n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (const struct nlmsghdr *h = (const void *) buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				*intr = 1;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error ? e->error : -EBADMSG;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				return -EBADMSG;
			each(NLMSG_DATA(h), arg);
		}
		if (left != 0)
			return -EBADMSG;
	}
}

#endif
