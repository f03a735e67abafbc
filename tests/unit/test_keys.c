/* The key table: every key complete and consistent; lookups and value parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* ip_local_reserved_ports (KEY_PORT_LIST): what the 6.18 kernel itself read
 * back after each write in a fresh network namespace (issue #16). */
static void test_port_list(void **state)
{
	static const struct { const char *in, *kernel; } cases[] = {
		{ "8080,9000-9100", "8080,9000-9100" },
		{ "0x10,010", "8,16" },		/* hex and octal, as proc_get_long reads them */
		{ "1-3,2-5", "1-5" },
		{ "8080,", "8080" },
		{ "", "" },			/* "\n" written: the set is emptied */
		{ "\n", "" },
		{ "00000000000000000017", "15" },	/* 20 characters, octal: taken (seen in a namespace) */
	};
	/* the last: 21 characters, refused by proc_get_long() (seen in a namespace) */
	static const char *const refused[] = { "8080, 9000", "70000", "5-3", "-1", "a", "000000000000000000017" };
	const struct key_def *k = key_lookup("net.ipv4.ip_local_reserved_ports");
	long long v[2], cur[2] = { 0, 0 };
	char buf[KEY_PORT_LIST_MAX + 1], why[128];

	(void) state;
	assert_non_null(k);
	assert_int_equal(k->type, KEY_PORT_LIST);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(key_parse_value(k, cases[i].in, v), 0);
		assert_true(key_format_value(k, v, buf, sizeof(buf)) >= 0);
		assert_string_equal(buf, cases[i].kernel);
		assert_int_equal(key_kernel_write(k, cases[i].in, cur, 0, v, why, sizeof(why)), 0);
		assert_true(key_format_value(k, v, buf, sizeof(buf)) >= 0);
		assert_string_equal(buf, cases[i].kernel);
		assert_true(key_in_apply_range(k, v));
		assert_false(key_value_harmful(k, v));
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(key_parse_value(k, refused[i], v), -EINVAL);
		assert_int_equal(key_kernel_write(k, refused[i], cur, 0, v, why, sizeof(why)), -EINVAL);
		assert_true(why[0] != '\0');
	}
	/* Equal sets compare equal whatever the text. */
	{
		long long a[2], b[2];

		assert_int_equal(key_parse_value(k, "2-5,1", a), 0);
		assert_int_equal(key_parse_value(k, "1-5", b), 0);
		assert_true(a[0] == b[0] && a[1] == b[1] && a[1] == 5);
	}
	/* However many distinct sets a run parses, each one's text comes back
	 * (the table of texts once held 64 and then lost the oldest). */
	{
		static long long sets[300][2];
		char want[16];

		for (int i = 0; i < 300; i++) {
			snprintf(want, sizeof(want), "%d", 20000 + i);
			assert_int_equal(key_parse_value(k, want, sets[i]), 0);
		}
		for (int i = 0; i < 300; i++) {
			snprintf(want, sizeof(want), "%d", 20000 + i);
			assert_true(key_format_value(k, sets[i], buf, sizeof(buf)) >= 0);
			assert_string_equal(buf, want);
		}
	}
	/* A set the kernel takes but whose text is longer than tcptune carries
	 * is not "refused": -EOVERFLOW, and the reason says it is taken. */
	{
		char many[128];
		size_t o = 0;

		for (int p = 1000; p <= 13000; p += 1000)
			o += (size_t) snprintf(many + o, sizeof(many) - o, "%s%d", o ? "," : "", p);
		assert_true(o > KEY_PORT_LIST_MAX);
		assert_int_equal(key_kernel_write(k, many, cur, 0, v, why, sizeof(why)), -EOVERFLOW);
		assert_non_null(strstr(why, "taken by the kernel"));
	}
	/* An empty set is shown as such, never as a blank. */
	assert_int_equal(key_parse_value(k, "", v), 0);
	assert_true(key_format_value(k, v, buf, sizeof(buf)) >= 0);
	assert_string_equal(key_value_shown(buf), "(empty)");
	assert_string_equal(key_value_shown("15000"), "15000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key_complete),
		cmocka_unit_test(test_spec_keys_present),
		cmocka_unit_test(test_lookup_and_path),
		cmocka_unit_test(test_parse_and_ranges),
		cmocka_unit_test(test_port_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
