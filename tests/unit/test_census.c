/* Census classification and analyses (docs/KERNEL.md §9.1). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "census.h"

static struct sock_rec rec(int family, int state, int timer, const char *raddr, uint16_t lport,
			   uint16_t rport, uint64_t inode)
{
	struct sock_rec r;

	memset(&r, 0, sizeof(r));
	r.family = (uint8_t) family;
	r.state = (uint8_t) state;
	r.timer = (uint8_t) timer;
	r.lport = lport;
	r.rport = rport;
	r.inode = inode;
	assert_int_equal(inet_pton(family, raddr, r.raddr), 1);
	return r;
}

static void add(struct census *c, struct sock_rec r)
{
	assert_int_equal(census_add(c, &r), 0);
}

static void test_classification(void **state)
{
	struct census c;

	(void) state;
	census_init(&c, 32768, 60999);
	add(&c, rec(AF_INET, TCPS_LISTEN, 0, "0.0.0.0", 80, 0, 1));
	add(&c, rec(AF_INET, TCPS_FIN_WAIT1, 4, "10.0.0.1", 80, 40000, 0));	/* orphan */
	add(&c, rec(AF_INET, TCPS_FIN_WAIT2, 2, "10.0.0.1", 80, 40001, 0));	/* orphan (fin_timeout > 60 phase) */
	add(&c, rec(AF_INET, TCPS_FIN_WAIT2, 3, "10.0.0.1", 80, 40002, 0));	/* minisock, not an orphan */
	add(&c, rec(AF_INET, TCPS_FIN_WAIT2, 0, "10.0.0.1", 40003, 443, 9));	/* shutdown(), fd held */
	add(&c, rec(AF_INET, TCPS_LAST_ACK, 1, "10.0.0.1", 80, 40004, 0));	/* orphan */
	add(&c, rec(AF_INET, TCPS_CLOSING, 1, "10.0.0.1", 80, 40005, 0));	/* orphan */
	add(&c, rec(AF_INET, TCPS_ESTABLISHED, 0, "10.0.0.1", 80, 40006, 0));	/* accept queue */
	add(&c, rec(AF_INET, TCPS_CLOSE_WAIT, 0, "10.0.0.1", 80, 40007, 0));	/* accept queue */
	add(&c, rec(AF_INET, TCPS_ESTABLISHED, 0, "10.0.0.1", 80, 40008, 12));
	add(&c, rec(AF_INET, TCPS_NEW_SYN_RECV, 1, "10.0.0.1", 80, 40009, 0));
	assert_int_equal(c.orphans, 4);
	assert_int_equal(c.unaccepted, 2);
	assert_int_equal(c.tw_minisocks, 1);
	assert_int_equal(c.states[TCPS_SYN_RECV], 1);
	assert_int_equal(c.states[TCPS_FIN_WAIT2], 3);
	assert_int_equal(c.total, 11);
	assert_int_equal(c.n_cw, 0);	/* the only CLOSE_WAIT has no inode */
	census_release(&c);
}

static void test_rejects_bad_records(void **state)
{
	struct census c;
	struct sock_rec r = rec(AF_INET, TCPS_ESTABLISHED, 0, "10.0.0.1", 1, 2, 3);

	(void) state;
	census_init(&c, 32768, 60999);
	r.state = 0;
	assert_int_equal(census_add(&c, &r), -EINVAL);
	r.state = 13;
	assert_int_equal(census_add(&c, &r), -EINVAL);
	r.state = TCPS_ESTABLISHED;
	r.family = AF_UNIX;
	assert_int_equal(census_add(&c, &r), -EINVAL);
	assert_int_equal(c.total, 0);
	census_release(&c);
}

static void test_timewait_direction_and_dests(void **state)
{
	struct census c;
	struct census_dest top[3], use;
	char buf[64];

	(void) state;
	census_init(&c, 32768, 60999);
	add(&c, rec(AF_INET, TCPS_LISTEN, 0, "0.0.0.0", 8080, 0, 1));
	for (uint16_t i = 0; i < 5; i++)
		add(&c, rec(AF_INET, TCPS_TIME_WAIT, 3, "192.0.2.7", 8080, (uint16_t) (50000 + i), 0));
	for (uint16_t i = 0; i < 7; i++)
		add(&c, rec(AF_INET, TCPS_TIME_WAIT, 3, "10.0.0.5", (uint16_t) (40000 + i), 5432, 0));
	for (uint16_t i = 0; i < 3; i++)
		add(&c, rec(AF_INET6, TCPS_TIME_WAIT, 3, "2001:db8::1", (uint16_t) (41000 + i), 443, 0));
	for (uint16_t i = 0; i < 4; i++)
		add(&c, rec(AF_INET, TCPS_ESTABLISHED, 0, "10.0.0.5", (uint16_t) (42000 + i), 5432, 100 + i));
	/* explicitly bound outside the ephemeral range: not port headroom */
	add(&c, rec(AF_INET, TCPS_ESTABLISHED, 0, "10.0.0.5", 1000, 5432, 200));

	assert_int_equal(c.tw_incoming, 5);
	assert_int_equal(c.tw_outgoing, 10);
	assert_int_equal(census_top_tw_dests(&c, top, 3), 2);
	/* None asked, none given (this read best[-1] once: found by lint) */
	assert_int_equal(census_top_tw_dests(&c, top, 0), 0);
	census_dest_format(&top[0], buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.5:5432");
	assert_int_equal(top[0].count, 7);
	census_dest_format(&top[1], buf, sizeof(buf));
	assert_string_equal(buf, "[2001:db8::1]:443");
	assert_int_equal(top[1].count, 3);
	assert_true(census_max_dest_usage(&c, &use));
	assert_int_equal(use.count, 11);	/* 7 TIME_WAIT + 4 ESTABLISHED from ephemeral ports */
	census_release(&c);
}

static void test_many_destinations(void **state)
{
	struct census c;
	struct census_dest top[2];

	(void) state;
	census_init(&c, 1024, 65535);
	/* 5000 distinct destinations force several table growths */
	for (uint32_t i = 0; i < 5000; i++) {
		struct sock_rec r = rec(AF_INET, TCPS_TIME_WAIT, 3, "10.0.0.1", 30000, (uint16_t) (1 + i % 60000), 0);
		uint32_t a = htonl(0x0a000000 + i);
		memcpy(r.raddr, &a, 4);
		add(&c, r);
		if (i == 4321) {
			add(&c, r);
			add(&c, r);
		}
	}
	assert_int_equal(census_top_tw_dests(&c, top, 2), 2);
	assert_int_equal(top[0].count, 3);
	assert_int_equal(top[1].count, 1);
	census_release(&c);
}

static void test_close_wait_peers(void **state)
{
	struct census c;

	(void) state;
	census_init(&c, 32768, 60999);
	add(&c, rec(AF_INET, TCPS_LISTEN, 0, "0.0.0.0", 80, 0, 1));
	add(&c, rec(AF_INET, TCPS_CLOSE_WAIT, 0, "10.0.0.9", 80, 51000, 10));	/* server side */
	add(&c, rec(AF_INET, TCPS_CLOSE_WAIT, 0, "10.0.0.5", 40000, 5432, 11));	/* client side */
	assert_int_equal(c.n_cw, 2);
	assert_int_equal(c.cw[0].peer.port, 0);
	assert_int_equal(c.cw[1].peer.port, 5432);
	census_release(&c);
}

static void count_call(void *arg)
{
	(*(int *) arg)++;
}

/* The hook that lets the owners' BPF program load during the dump
 * (snap_owners_ahead()): once, at the first CLOSE_WAIT socket that has an
 * inode, not for one waiting in an accept queue (inode 0), nor again. */
static void test_first_close_wait_hook(void **state)
{
	struct census c;
	int calls = 0;

	(void) state;
	census_init(&c, 32768, 60999);
	c.on_first_cw = count_call;
	c.on_first_cw_arg = &calls;
	add(&c, rec(AF_INET, TCPS_LISTEN, 0, "0.0.0.0", 80, 0, 1));
	add(&c, rec(AF_INET, TCPS_ESTABLISHED, 0, "10.0.0.1", 80, 40000, 5));
	add(&c, rec(AF_INET, TCPS_CLOSE_WAIT, 0, "10.0.0.1", 80, 40001, 0));
	assert_int_equal(calls, 0);
	add(&c, rec(AF_INET, TCPS_CLOSE_WAIT, 0, "10.0.0.2", 80, 40002, 12));
	assert_int_equal(calls, 1);
	add(&c, rec(AF_INET, TCPS_CLOSE_WAIT, 0, "10.0.0.3", 80, 40003, 13));
	assert_int_equal(calls, 1);
	assert_int_equal(c.n_cw, 2);
	census_release(&c);
	/* census_init() clears it: a dump started again sets it again. */
	census_init(&c, 32768, 60999);
	assert_null(c.on_first_cw);
	census_release(&c);
}

/* Ports at an odd offset from the range's low end came from bind()
 * (docs/KERNEL.md §19.6), except towards a destination that used up the
 * even half, where connect() spills over. */
static void test_bind_parity(void **state)
{
	struct census c;
	struct census_dest top;
	char buf[64];

	(void) state;
	census_init(&c, 40000, 40009);		/* 10 ports: half is 5 */
	add(&c, rec(AF_INET, TCPS_ESTABLISHED, 0, "10.0.0.7", 40001, 443, 1));
	add(&c, rec(AF_INET, TCPS_ESTABLISHED, 0, "10.0.0.7", 40003, 443, 2));
	add(&c, rec(AF_INET, TCPS_TIME_WAIT, 3, "10.0.0.8", 40005, 80, 0));
	add(&c, rec(AF_INET, TCPS_ESTABLISHED, 0, "10.0.0.7", 40002, 443, 3));	/* connect()'s parity */
	add(&c, rec(AF_INET, TCPS_ESTABLISHED, 0, "10.0.0.8", 39999, 80, 4));	/* outside the range */
	/* 10.0.0.9:22 has all 5 even ports: its odd one is connect()'s spill-over. */
	for (uint16_t p = 40000; p <= 40008; p += 2)
		add(&c, rec(AF_INET, TCPS_ESTABLISHED, 0, "10.0.0.9", p, 22, 10 + p));
	add(&c, rec(AF_INET, TCPS_ESTABLISHED, 0, "10.0.0.9", 40009, 22, 5));
	assert_int_equal(census_bind_parity(&c, &top), 3);
	assert_int_equal(census_dest_format(&top, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "10.0.0.7:443");
	assert_int_equal(top.count, 2);
	census_release(&c);

	/* Parity is the offset from the range's low end, not the port's:
	 * with 40001-40010, bind()'s odd offsets are even port numbers
	 * (inet_csk_find_open_port(): offset |= 1 from the low end). */
	census_init(&c, 40001, 40010);
	add(&c, rec(AF_INET, TCPS_ESTABLISHED, 0, "10.0.0.7", 40002, 443, 1));
	add(&c, rec(AF_INET, TCPS_ESTABLISHED, 0, "10.0.0.7", 40004, 443, 2));
	add(&c, rec(AF_INET, TCPS_ESTABLISHED, 0, "10.0.0.7", 40003, 443, 3));	/* connect()'s parity */
	assert_int_equal(census_bind_parity(&c, &top), 2);
	census_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classification),
		cmocka_unit_test(test_rejects_bad_records),
		cmocka_unit_test(test_timewait_direction_and_dests),
		cmocka_unit_test(test_many_destinations),
		cmocka_unit_test(test_close_wait_peers),
		cmocka_unit_test(test_first_close_wait_hook),
		cmocka_unit_test(test_bind_parity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
