/* Fact registry: one name per fact, derived names from their tables. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "facts.h"
#include "keys.h"
#include "tcpstates.h"

static void test_counts_and_uniqueness(void **state)
{
	(void) state;
	assert_int_equal(facts_count(), F__STATIC_COUNT + key_count + 2 * tcp_state_count + 4 * tcpext_count
			 + 4 * ctstat_count);
	for (size_t i = 0; i < facts_count(); i++) {
		const struct fact_def *d = fact_def(i);

		assert_non_null(d->name);
		if (fact_lookup(d->name) != (int) i)
			fail_msg("fact '%s' is not unique", d->name);
	}
	assert_null(fact_def(facts_count()));
	assert_int_equal(fact_lookup("sockets.closewait"), -ENOENT);
}

static void test_derived_names(void **state)
{
	(void) state;
	assert_int_equal(fact_lookup("sysctl.net.ipv4.tcp_fin_timeout"),
			 (int) fact_id_sysctl((size_t) key_index("net.ipv4.tcp_fin_timeout")));
	assert_int_equal(fact_lookup("sockets.time_wait"), (int) fact_id_state(TCPS_TIME_WAIT));
	assert_int_equal(fact_lookup("sockets.syn_recv"), (int) fact_id_state(TCPS_NEW_SYN_RECV));
	assert_int_equal(fact_lookup("tcpext.TCPTimeWaitOverflow"), (int) fact_id_tcpext(3));
	assert_int_equal(fact_lookup("rate.tcpext.TCPTimeWaitOverflow"), (int) fact_id_rate_tcpext(3));
	assert_int_equal(fact_lookup("rate.sockets.close_wait"), (int) fact_id_rate_state(TCPS_CLOSE_WAIT));
	assert_int_equal(fact_lookup("delta.tcpext.TCPTimeWaitOverflow"), (int) fact_id_delta_tcpext(3));
	assert_int_equal(fact_lookup("evidence.tcpext.TCPTimeWaitOverflow"), (int) fact_id_evidence_tcpext(3));
	assert_int_equal(fact_def(fact_id_evidence_tcpext(3))->type, FT_STR);
	assert_int_equal(fact_def(fact_id_delta_tcpext(3))->type, FT_INT);
	assert_int_equal(fact_def(fact_id_sysctl((size_t) key_index("net.ipv4.ip_local_port_range")))->type, FT_STR);
	assert_int_equal(fact_def((size_t) fact_lookup("sockstat.orphan"))->scope, SCOPE_HOST);
	assert_int_equal(fact_def((size_t) fact_lookup("sockstat.tw"))->scope, SCOPE_NETNS);
	assert_int_equal(fact_def((size_t) fact_lookup("sysctl.net.ipv4.tcp_max_orphans"))->scope, SCOPE_HOST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_and_uniqueness),
		cmocka_unit_test(test_derived_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
