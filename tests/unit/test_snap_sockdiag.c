/* sock_diag decoder: synthetic and recorded dumps, and every way a buffer can
 * be wrong.  Buffers are heap-allocated at their exact size so that ASan
 * catches any read past the end. */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "census.h"
#include "snap_sockdiag.h"
#include "tcpstates.h"

struct buf {
	uint8_t data[8192];
	size_t len;
};

static void put_sock(struct buf *b, int family, int state, int timer, uint16_t lport, uint16_t rport,
		     uint32_t inode, uint32_t rq)
{
	struct nlmsghdr *h = (struct nlmsghdr *) (b->data + b->len);
	struct inet_diag_msg *m = (struct inet_diag_msg *) (h + 1);
	size_t len = NLMSG_LENGTH(sizeof(*m));

	memset(h, 0, NLMSG_ALIGN(len));
	h->nlmsg_len = (uint32_t) len;
	h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	h->nlmsg_flags = NLM_F_MULTI;
	m->idiag_family = (uint8_t) family;
	m->idiag_state = (uint8_t) state;
	m->idiag_timer = (uint8_t) timer;
	m->id.idiag_sport = htons(lport);
	m->id.idiag_dport = htons(rport);
	m->id.idiag_src[0] = htonl(0x7f000001);
	m->id.idiag_dst[0] = htonl(0x0a000005);
	if (family == AF_INET6) {
		m->id.idiag_dst[0] = 0;
		m->id.idiag_dst[3] = htonl(1);	/* ::1 */
	}
	m->idiag_inode = inode;
	m->idiag_rqueue = rq;
	b->len += NLMSG_ALIGN(len);
}

static void put_done(struct buf *b)
{
	struct nlmsghdr *h = (struct nlmsghdr *) (b->data + b->len);

	memset(h, 0, NLMSG_LENGTH(sizeof(int)));
	h->nlmsg_len = NLMSG_LENGTH(sizeof(int));
	h->nlmsg_type = NLMSG_DONE;
	b->len += NLMSG_ALIGN(h->nlmsg_len);
}

static void put_error(struct buf *b, int err)
{
	struct nlmsghdr *h = (struct nlmsghdr *) (b->data + b->len);
	struct nlmsgerr *e = (struct nlmsgerr *) NLMSG_DATA(h);

	memset(h, 0, NLMSG_LENGTH(sizeof(*e)));
	h->nlmsg_len = NLMSG_LENGTH(sizeof(*e));
	h->nlmsg_type = NLMSG_ERROR;
	e->error = err;
	b->len += NLMSG_ALIGN(h->nlmsg_len);
}

/* Decode the first len bytes of b from an exact-size heap copy. */
static int decode(const struct buf *b, size_t len, int family, struct census *c, struct sockdiag_stats *st)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, b->data, len);
	r = sockdiag_decode(copy, len, family, c, st);
	free(copy);
	return r;
}

static void test_valid_dump(void **state)
{
	struct buf b = { .len = 0 };
	struct census c;
	struct sockdiag_stats st = { 0 };

	(void) state;
	assert_int_equal(census_init(&c, 32768, 60999), 0);
	put_sock(&b, AF_INET, TCPS_LISTEN, 0, 80, 0, 100, 0);
	put_sock(&b, AF_INET, TCPS_ESTABLISHED, 2, 80, 40000, 101, 0);
	put_sock(&b, AF_INET, TCPS_TIME_WAIT, 3, 80, 40001, 0, 0);		/* incoming */
	put_sock(&b, AF_INET, TCPS_TIME_WAIT, 3, 40002, 5432, 0, 0);		/* outgoing */
	put_sock(&b, AF_INET, TCPS_TIME_WAIT, 3, 40003, 5432, 0, 0);		/* outgoing */
	put_sock(&b, AF_INET, TCPS_FIN_WAIT2, 3, 40004, 5432, 0, 0);		/* minisock */
	put_sock(&b, AF_INET, TCPS_FIN_WAIT1, 4, 40005, 5432, 0, 0);		/* orphan */
	put_sock(&b, AF_INET, TCPS_CLOSE_WAIT, 0, 80, 40006, 102, 1);		/* server side */
	put_sock(&b, AF_INET, TCPS_CLOSE_WAIT, 0, 80, 40007, 0, 2);		/* unaccepted */
	put_sock(&b, AF_INET, TCPS_NEW_SYN_RECV, 1, 80, 40008, 0, 0);		/* request sock */
	put_done(&b);
	assert_int_equal(decode(&b, b.len, AF_INET, &c, &st), 1);
	assert_int_equal(st.messages, 10);
	assert_false(st.interrupted);
	assert_int_equal(c.total, 10);
	assert_int_equal(c.states[TCPS_LISTEN], 1);
	assert_int_equal(c.states[TCPS_TIME_WAIT], 3);
	assert_int_equal(c.states[TCPS_SYN_RECV], 1);
	assert_int_equal(c.states[TCPS_CLOSE_WAIT], 2);
	assert_int_equal(c.by_family[0][TCPS_TIME_WAIT], 3);
	assert_int_equal(c.by_family[1][TCPS_TIME_WAIT], 0);
	assert_int_equal(c.tw_incoming, 1);
	assert_int_equal(c.tw_outgoing, 2);
	assert_int_equal(c.tw_minisocks, 4);
	assert_int_equal(c.orphans, 1);
	assert_int_equal(c.unaccepted, 1);
	assert_int_equal(c.n_cw, 1);
	assert_int_equal(c.cw[0].inode, 102);
	assert_int_equal(c.cw_with_unread, 1);
	census_release(&c);
}

static void test_more_expected_without_done(void **state)
{
	struct buf b = { .len = 0 };
	struct census c;
	struct sockdiag_stats st = { 0 };

	(void) state;
	census_init(&c, 32768, 60999);
	put_sock(&b, AF_INET6, TCPS_ESTABLISHED, 0, 443, 50000, 7, 0);
	assert_int_equal(decode(&b, b.len, AF_INET6, &c, &st), 0);
	assert_int_equal(c.by_family[1][TCPS_ESTABLISHED], 1);
	assert_int_equal(decode(&b, 0, AF_INET6, &c, &st), 0);	/* empty buffer: nothing, no error */
	census_release(&c);
}

static void test_truncated_everywhere(void **state)
{
	struct buf b = { .len = 0 };
	size_t whole;

	(void) state;
	put_sock(&b, AF_INET, TCPS_ESTABLISHED, 0, 1, 2, 3, 0);
	whole = b.len;
	put_sock(&b, AF_INET, TCPS_ESTABLISHED, 0, 1, 2, 3, 0);
	/* Every cut inside the second message must be reported, never read past. */
	for (size_t cut = whole + 1; cut < b.len; cut++) {
		struct census c;
		struct sockdiag_stats st = { 0 };

		census_init(&c, 32768, 60999);
		assert_int_equal(decode(&b, cut, AF_INET, &c, &st), -EBADMSG);
		census_release(&c);
	}
}

static void test_malformed(void **state)
{
	static const struct {
		const char *what;
		int field;		/* 0 len too big, 1 len too small, 2 payload short, 3 family, 4 state 0,
					   5 state 13, 6 unknown type, 7 error short, 8 len >= 2^31 */
	} cases[] = {
		{ "nlmsg_len beyond buffer", 0 }, { "nlmsg_len below header", 1 },
		{ "payload shorter than inet_diag_msg", 2 }, { "wrong family", 3 },
		{ "state 0", 4 }, { "state 13", 5 }, { "unknown type", 6 }, { "short NLMSG_ERROR", 7 },
		{ "nlmsg_len of 2^31 or more (negative as int)", 8 },
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = { .len = 0 };
		struct nlmsghdr *h = (struct nlmsghdr *) b.data;
		struct inet_diag_msg *m = NLMSG_DATA(h);
		struct census c;
		struct sockdiag_stats st = { 0 };
		int r;

		put_sock(&b, AF_INET, TCPS_ESTABLISHED, 0, 1, 2, 3, 0);
		switch (cases[i].field) {
		case 0: h->nlmsg_len = (uint32_t) b.len + 64; break;
		case 1: h->nlmsg_len = 8; break;
		case 2: h->nlmsg_len = NLMSG_LENGTH(8); b.len = NLMSG_ALIGN(h->nlmsg_len); break;
		case 3: m->idiag_family = AF_INET6; break;
		case 4: m->idiag_state = 0; break;
		case 5: m->idiag_state = 13; break;
		case 6: h->nlmsg_type = 99; break;
		case 7: h->nlmsg_type = NLMSG_ERROR; h->nlmsg_len = NLMSG_LENGTH(2); b.len = NLMSG_ALIGN(h->nlmsg_len); break;
		case 8: h->nlmsg_len = 0x80ff007c; break;
		}
		census_init(&c, 32768, 60999);
		r = decode(&b, b.len, AF_INET, &c, &st);
		if (r != -EBADMSG)
			fail_msg("%s: got %d", cases[i].what, r);
		assert_int_equal(c.total, 0);
		census_release(&c);
	}
}

static void test_kernel_error_and_intr(void **state)
{
	struct buf b = { .len = 0 };
	struct census c;
	struct sockdiag_stats st = { 0 };

	(void) state;
	census_init(&c, 32768, 60999);
	put_error(&b, -EPERM);
	assert_int_equal(decode(&b, b.len, AF_INET, &c, &st), -EPERM);

	b.len = 0;
	put_error(&b, 0);	/* an ACK in a dump is not an answer */
	assert_int_equal(decode(&b, b.len, AF_INET, &c, &st), -EBADMSG);

	b.len = 0;
	put_sock(&b, AF_INET, TCPS_ESTABLISHED, 0, 1, 2, 3, 0);
	((struct nlmsghdr *) b.data)->nlmsg_flags |= NLM_F_DUMP_INTR;
	put_done(&b);
	assert_int_equal(decode(&b, b.len, AF_INET, &c, &st), 1);
	assert_true(st.interrupted);
	census_release(&c);
}

/* The one dump for both families (TCPDIAG_GETSOCK, docs/KERNEL.md §18.1):
 * replies carry that type and either family; decoded with AF_UNSPEC only. */
static void test_unspec_dump(void **state)
{
	struct buf b = { .len = 0 };
	struct census c;
	struct sockdiag_stats st = { 0 };
	size_t first;

	(void) state;
	assert_int_equal(census_init(&c, 32768, 60999), 0);
	put_sock(&b, AF_INET, TCPS_LISTEN, 0, 80, 0, 100, 0);
	first = b.len;
	put_sock(&b, AF_INET6, TCPS_TIME_WAIT, 3, 40002, 5432, 0, 0);
	put_sock(&b, AF_INET, TCPS_TIME_WAIT, 3, 40003, 5432, 0, 0);
	for (size_t off = 0; off < b.len; off += NLMSG_ALIGN(((struct nlmsghdr *) (b.data + off))->nlmsg_len))
		((struct nlmsghdr *) (b.data + off))->nlmsg_type = TCPDIAG_GETSOCK;
	put_done(&b);
	assert_int_equal(decode(&b, b.len, AF_UNSPEC, &c, &st), 1);
	assert_int_equal(st.messages, 3);
	assert_int_equal(c.states[TCPS_TIME_WAIT], 2);
	assert_int_equal(c.states[TCPS_LISTEN], 1);
	census_release(&c);

	/* That type answers only the one dump; a family outside the two is refused. */
	assert_int_equal(census_init(&c, 32768, 60999), 0);
	assert_int_equal(decode(&b, b.len, AF_INET, &c, &st), -EBADMSG);
	census_release(&c);
	assert_int_equal(census_init(&c, 32768, 60999), 0);
	((struct inet_diag_msg *) NLMSG_DATA((struct nlmsghdr *) (b.data + first)))->idiag_family = AF_UNIX;
	assert_int_equal(decode(&b, b.len, AF_UNSPEC, &c, &st), -EBADMSG);
	census_release(&c);
}

/* A dump recorded from a live namespace scenario by
 * `tcptune check --debug-record-sockdiag FILE`: 4-byte length + bytes per
 * recv(), AF_INET dump then AF_INET6 dump.  The expected counts were taken
 * with `ss -tan` at the same moment (scenario.expect: "state count" lines). */
static void test_recorded_dump(void **state)
{
	FILE *f = fopen(FIXTURES "/sockdiag/scenario.bin", "rb");
	FILE *e = fopen(FIXTURES "/sockdiag/scenario.expect", "r");
	struct census c;
	struct sockdiag_stats st = { 0 };
	int family = AF_INET, dones = 0;
	uint32_t len;
	char name[32];
	unsigned long long want;

	(void) state;
	assert_non_null(f);
	assert_non_null(e);
	census_init(&c, 32768, 60999);
	while (fread(&len, sizeof(len), 1, f) == 1) {
		uint8_t *data = malloc(len);
		int r;

		assert_non_null(data);
		assert_int_equal(fread(data, 1, len, f), len);
		r = sockdiag_decode(data, len, family, &c, &st);
		free(data);
		assert_true(r >= 0);
		if (r == 1) {
			dones++;
			family = AF_INET6;
		}
	}
	assert_int_equal(dones, 2);
	while (fscanf(e, "%31s %llu", name, &want) == 2) {
		unsigned long long got = 0;
		bool known = false;

		for (size_t i = 0; i < tcp_state_count; i++)
			if (strcmp(tcp_state_names[i].fact, name) == 0) {
				got = c.states[tcp_state_names[i].state];
				known = true;
			}
		if (strcmp(name, "total") == 0) {
			got = c.total;
			known = true;
		}
		if (!known)
			fail_msg("unknown expectation '%s'", name);
		if (got != want)
			fail_msg("%s: decoded %llu, ss saw %llu", name, got, want);
	}
	fclose(f);
	fclose(e);
	census_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_dump),
		cmocka_unit_test(test_more_expected_without_done),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_kernel_error_and_intr),
		cmocka_unit_test(test_recorded_dump),
		cmocka_unit_test(test_unspec_dump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
