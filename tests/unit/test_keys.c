/* The key table: every key complete and consistent; lookups and value parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "keys.h"

static void test_every_key_complete(void **state)
{
	(void) state;
	assert_true(key_count >= 18);
	for (size_t i = 0; i < key_count; i++) {
		const struct key_def *k = &key_table[i];

		if (!k->name || strncmp(k->name, "net.", 4) != 0)
			fail_msg("key %zu has no net.* name", i);
		if (!k->explain || strlen(k->explain) < 60)
			fail_msg("%s: explanation missing or too short", k->name);
		if (!k->unit || !*k->unit)
			fail_msg("%s: no unit", k->name);
		if (k->kmin > k->kmax)
			fail_msg("%s: kernel range empty", k->name);
		if (k->amin > k->amax)
			fail_msg("%s: apply range empty", k->name);
		if (k->writable && (k->amin < k->kmin || k->amax > k->kmax))
			fail_msg("%s: apply range outside what the kernel accepts", k->name);
		if (k->writable && (k->amin != k->kmin || k->amax != k->kmax) && !k->arange_why)
			fail_msg("%s: apply range narrower than the kernel's without a reason", k->name);
		if (key_index(k->name) != (int) i)
			fail_msg("%s: duplicate name", k->name);
	}
}

static void test_spec_keys_present(void **state)
{
	static const char *const spec[] = {
		"net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl",
		"net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_tw_reuse_delay",
		"net.ipv4.tcp_tw_recycle", "net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_max_orphans",
		"net.ipv4.tcp_orphan_retries", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syncookies",
		"net.ipv4.tcp_timestamps", "net.ipv4.ip_local_port_range", "net.core.somaxconn",
		"net.netfilter.nf_conntrack_tcp_timeout_time_wait",
		"net.netfilter.nf_conntrack_tcp_timeout_close_wait",
		"net.netfilter.nf_conntrack_tcp_timeout_fin_wait",
	};

	(void) state;
	for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++)
		if (!key_lookup(spec[i]))
			fail_msg("%s missing from the key table", spec[i]);
	assert_false(key_lookup("net.ipv4.tcp_tw_recycle")->writable);
	assert_false(key_lookup("net.ipv4.tcp_max_orphans")->per_netns);
	assert_string_equal(key_lookup("net.ipv4.tcp_tw_recycle")->removed, "4.12");
	assert_string_equal(key_lookup("net.ipv4.tcp_tw_reuse_delay")->added, "6.14");
}

static void test_lookup_and_path(void **state)
{
	char path[128];

	(void) state;
	assert_ptr_equal(key_lookup("net/ipv4/tcp_fin_timeout"), key_lookup("net.ipv4.tcp_fin_timeout"));
	assert_null(key_lookup("net.ipv4.tcp_fin_timeout/../../../etc/passwd"));
	assert_null(key_lookup("net.ipv4.nope"));
	assert_null(key_lookup(""));
	assert_int_equal(key_proc_path(key_lookup("net.core.somaxconn"), path, sizeof(path)), 0);
	assert_string_equal(path, "net/core/somaxconn");
	assert_int_equal(key_proc_path(key_lookup("net.core.somaxconn"), path, 5), -ENAMETOOLONG);
}

static void test_parse_and_ranges(void **state)
{
	const struct key_def *fin = key_lookup("net.ipv4.tcp_fin_timeout");
	const struct key_def *range = key_lookup("net.ipv4.ip_local_port_range");
	const struct key_def *recycle = key_lookup("net.ipv4.tcp_tw_recycle");
	long long v[2];

	(void) state;
	assert_int_equal(key_parse_value(fin, " 30\n", v), 0);
	assert_int_equal(v[0], 30);
	assert_true(key_in_apply_range(fin, v));
	assert_int_equal(key_parse_value(fin, "-1", v), 0);
	assert_true(key_in_kernel_range(fin, v));	/* the kernel accepts it ... */
	assert_false(key_in_apply_range(fin, v));	/* ... tcptune does not */
	assert_int_equal(key_parse_value(fin, "30s", v), -EINVAL);
	assert_int_equal(key_parse_value(fin, "", v), -EINVAL);
	assert_int_equal(key_parse_value(range, "32768 60999", v), 0);
	assert_int_equal(v[0], 32768);
	assert_int_equal(v[1], 60999);
	assert_true(key_in_apply_range(range, v));
	assert_int_equal(key_parse_value(range, "1024", v), -EINVAL);
	assert_int_equal(key_parse_value(range, "1 2 3", v), -EINVAL);
	assert_int_equal(key_parse_value(range, "60999 32768", v), 0);
	assert_false(key_in_kernel_range(range, v));	/* low > high */
	v[0] = 0;
	assert_false(key_in_apply_range(recycle, v));	/* never writable */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key_complete),
		cmocka_unit_test(test_spec_keys_present),
		cmocka_unit_test(test_lookup_and_path),
		cmocka_unit_test(test_parse_and_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
