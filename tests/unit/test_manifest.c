/* Manifest JSON: encode/decode round trip, and every way a manifest on disk
 * can be wrong (types, sizes, duplicates, unknown members, keys outside the
 * table or not writable, values that do not parse), each with its reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "keys.h"
#include "manifest.h"

static const char good[] =
	"{\"schema\": 1, \"id\": \"0042\", \"action\": \"apply\", \"profile\": \"web\", \"user\": \"root\","
	" \"uid\": 0, \"time\": \"2024-05-01T12:00:00Z\", \"status\": \"applied\", \"keys\": ["
	"{\"key\": \"net.ipv4.tcp_fin_timeout\", \"old\": \"60\", \"new\": \"30\"},"
	"{\"key\": \"net.ipv4.ip_local_port_range\", \"old\": null, \"new\": \"1024 65535\"}],"
	" \"file\": {\"path\": \"/etc/sysctl.d/99-tcptune.conf\", \"existed\": true}}";

/* good with the first occurrence of from replaced by to. */
static char *variant(const char *from, const char *to)
{
	const char *at = strstr(good, from);
	size_t n = strlen(good) - strlen(from) + strlen(to) + 1;
	char *s = malloc(n);

	assert_non_null(at);
	assert_non_null(s);
	snprintf(s, n, "%.*s%s%s", (int) (at - good), good, to, at + strlen(from));
	return s;
}

static void test_good_decodes(void **state)
{
	struct txn_entry e;
	char why[256] = "";
	uid_t uid = 99;

	(void) state;
	assert_int_equal(manifest_decode(good, strlen(good), "0042", &e, &uid, why, sizeof(why)), 0);
	assert_int_equal(uid, 0);
	assert_string_equal(e.id, "0042");
	assert_string_equal(e.status, "applied");
	assert_string_equal(e.file_path, "/etc/sysctl.d/99-tcptune.conf");
	assert_true(e.file_existed);
	assert_int_equal(e.n_keys, 2);
	assert_int_equal(e.keys[0].key, key_index("net.ipv4.tcp_fin_timeout"));
	assert_true(e.keys[0].had_old);
	assert_string_equal(e.keys[0].old_value, "60");
	assert_false(e.keys[1].had_old);
	assert_string_equal(e.keys[1].new_value, "1024 65535");
	manifest_entry_release(&e);
	assert_null(e.keys);
	manifest_entry_release(NULL);
}

static void test_round_trip(void **state)
{
	struct txn_entry_key keys[2];
	struct txn_entry e, d;
	char why[256], *text = NULL;
	uid_t uid = 0;

	(void) state;
	memset(&e, 0, sizeof(e));
	memset(keys, 0, sizeof(keys));
	snprintf(e.id, sizeof(e.id), "0007");
	snprintf(e.action, sizeof(e.action), "rollback");
	snprintf(e.target, sizeof(e.target), "0003");
	snprintf(e.profile, sizeof(e.profile), "caf\xc3\xa9");
	snprintf(e.user, sizeof(e.user), "bob");
	snprintf(e.time, sizeof(e.time), "2024-05-01T12:00:00Z");
	snprintf(e.status, sizeof(e.status), "rolled-back");
	snprintf(e.error, sizeof(e.error), "cannot write \"x\": Invalid argument");
	snprintf(e.file_path, sizeof(e.file_path), "/etc/sysctl.d/99-tcptune.conf");
	keys[0].key = (size_t) key_index("net.core.somaxconn");
	keys[0].had_old = true;
	snprintf(keys[0].old_value, sizeof(keys[0].old_value), "4096");
	snprintf(keys[0].new_value, sizeof(keys[0].new_value), "8192");
	keys[1].key = (size_t) key_index("net.ipv4.tcp_tw_reuse");
	snprintf(keys[1].new_value, sizeof(keys[1].new_value), "1");
	e.keys = keys;
	e.n_keys = 2;

	assert_int_equal(manifest_encode(&e, 1000, &text), 0);
	assert_true(text[strlen(text) - 1] == '\n');
	assert_int_equal(manifest_decode(text, strlen(text), "0007", &d, &uid, why, sizeof(why)), 0);
	free(text);
	assert_int_equal(uid, 1000);
	assert_string_equal(d.action, "rollback");
	assert_string_equal(d.target, "0003");
	assert_string_equal(d.profile, "caf\xc3\xa9");
	assert_string_equal(d.error, e.error);
	assert_string_equal(d.status, "rolled-back");
	assert_false(d.file_existed);
	assert_int_equal(d.n_keys, 2);
	assert_memory_equal(d.keys, keys, sizeof(keys));
	manifest_entry_release(&d);

	/* Not encodable: no half-written manifest comes out. */
	snprintf(e.profile, sizeof(e.profile), "\xff\xfe");
	assert_int_equal(manifest_encode(&e, 0, &text), -EINVAL);
	snprintf(e.profile, sizeof(e.profile), "ok");
	keys[1].key = key_count;
	assert_int_equal(manifest_encode(&e, 0, &text), -EINVAL);
}

static void test_bad_manifests(void **state)
{
	static const struct {
		const char *from, *to, *why;
	} cases[] = {
		{ "\"schema\": 1,", "\"schema\": 1, \"schema\": 1,", "duplicate object key" },
		{ "\"old\": \"60\",", "\"old\": \"60\", \"old\": \"61\",", "duplicate object key" },
		{ "\"schema\": 1,", "\"schema\": 1, \"extra\": 1,", "unknown member \"extra\"" },
		{ "\"schema\": 1", "\"schema\": 2", "\"schema\" is not 1" },
		{ "\"schema\": 1", "\"schema\": \"1\"", "\"schema\" is not 1" },
		{ "\"0042\"", "\"0043\"", "\"id\" '0043' does not name this entry" },
		{ "\"apply\"", "\"destroy\"", "unknown action 'destroy'" },
		{ "\"applied\"", "\"done\"", "unknown status 'done'" },
		{ "\"applied\"", "\"corrupt\"", "unknown status 'corrupt'" },
		{ "\"web\"", "\"0123456789012345678901234567890123456789012345678901234567890123\"",
		  "\"profile\" too long (64 bytes, at most 63)" },
		{ "\"web\"", "7", "\"profile\" is not a string" },
		{ "\"profile\": \"web\",", "", "\"profile\" missing" },
		{ "\"apply\",", "\"apply\", \"target\": \"0001\",", "\"target\" '0001' does not fit action 'apply'" },
		{ "\"apply\"", "\"rollback\"", "\"target\" '' does not fit action 'rollback'" },
		{ "\"uid\": 0", "\"uid\": -1", "\"uid\" is not a user id" },
		{ "\"uid\": 0", "\"uid\": \"0\"", "\"uid\" is not a user id" },
		{ "\"uid\": 0", "\"uid\": 4294967295", "\"uid\" is not a user id" },
		{ "[{\"key\": \"net.ipv4.tcp_fin_timeout\", \"old\": \"60\", \"new\": \"30\"},"
		  "{\"key\": \"net.ipv4.ip_local_port_range\", \"old\": null, \"new\": \"1024 65535\"}]",
		  "{}", "\"keys\" is not an array" },
		{ "{\"key\": \"net.ipv4.tcp_fin_timeout\", \"old\": \"60\", \"new\": \"30\"}", "3",
		  "keys[0] is not an object" },
		{ "net.ipv4.tcp_fin_timeout", "kernel.core_pattern", "'kernel.core_pattern' is not a writable key" },
		{ "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_tw_recycle", "'net.ipv4.tcp_tw_recycle' is not a writable key" },
		{ "net.ipv4.tcp_fin_timeout", "net/ipv4/tcp_fin_timeout", "'net/ipv4/tcp_fin_timeout' is not a writable key" },
		{ "net.ipv4.tcp_fin_timeout", "../../../etc/passwd", "is not a writable key" },
		{ "net.ipv4.ip_local_port_range", "net.ipv4.tcp_fin_timeout", "'net.ipv4.tcp_fin_timeout' listed twice" },
		{ "\"old\": \"60\", ", "", "keys[0].\"old\" missing" },
		{ "\"new\": \"30\"", "\"new\": null", "keys[0].\"new\" is not a string" },
		{ "\"new\": \"30\"", "\"new\": 30", "keys[0].\"new\" is not a string" },
		{ "\"new\": \"30\"", "\"new\": \"30; reboot\"", "'30; reboot' is not a value of net.ipv4.tcp_fin_timeout" },
		{ "\"new\": \"1024 65535\"", "\"new\": \"1024\"", "is not a value of net.ipv4.ip_local_port_range" },
		{ "\"new\": \"30\"", "\"new\": \"30\", \"why\": 1", "keys[0].unknown member \"why\"" },
		{ "\"file\": {", "\"file\": 1, \"x\": {", "unknown member \"x\"" },
		{ ", \"file\": {\"path\": \"/etc/sysctl.d/99-tcptune.conf\", \"existed\": true}", "", "\"file\" missing" },
		{ "\"existed\": true", "\"existed\": \"yes\"", "file.\"existed\" is not true or false" },
		{ "\"existed\": true", "\"existed\": true, \"owner\": 0", "file.unknown member \"owner\"" },
		{ "\"existed\": true", "\"existed\": true, \"mode\": 70000", "file.\"mode\" is not a permission mode" },
		{ "\"root\"", "\"ro\\u0000ot\"", "NUL" },
		{ "\"root\"", "\"ro", "line 1" },
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = variant(cases[i].from, cases[i].to), why[256] = "";
		struct txn_entry e;
		uid_t uid = 42;
		int r;

		memset(&e, 0, sizeof(e));
		r = manifest_decode(text, strlen(text), "0042", &e, &uid, why, sizeof(why));
		print_message("%zu: %s\n", i, why);
		if (r != -EBADMSG)
			fail_msg("case %zu decoded (%d): %s", i, r, text);
		if (!strstr(why, cases[i].why))
			fail_msg("case %zu: '%s' does not say '%s'", i, why, cases[i].why);
		assert_int_equal(uid, 42);	/* ret_* untouched on failure */
		assert_null(e.keys);
		free(text);
	}
}

static void test_too_many_or_too_big(void **state)
{
	size_t cap = MANIFEST_MAX + 64, used;
	char *big = malloc(cap), why[256];
	struct txn_entry e;
	uid_t uid;

	(void) state;
	assert_non_null(big);
	/* More keys than the table: refused before they are looked at. */
	used = (size_t) snprintf(big, cap, "%s", good);
	used -= strlen("], \"file\": {\"path\": \"/etc/sysctl.d/99-tcptune.conf\", \"existed\": true}}");
	for (size_t i = 0; i < key_count; i++)
		used += (size_t) snprintf(big + used, cap - used, ", {}");
	snprintf(big + used, cap - used, "], \"file\": {\"path\": \"/x\", \"existed\": true}}");
	assert_int_equal(manifest_decode(big, strlen(big), "0042", &e, &uid, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "the key table only"));

	assert_int_equal(manifest_decode("[1, 2]", 6, "0042", &e, &uid, why, sizeof(why)), -EBADMSG);
	assert_string_equal(why, "not a JSON object");
	assert_int_equal(manifest_decode("", 0, "0042", &e, &uid, why, sizeof(why)), -EBADMSG);

	memset(big, ' ', cap);
	assert_int_equal(manifest_decode(big, MANIFEST_MAX + 1, "0042", &e, &uid, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "larger than"));
	free(big);
}

static void test_id_valid(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{ "0001", true }, { "1", true }, { "12345678", true }, { "123456789", false }, { "", false },
		{ "-1", false }, { "12a", false }, { "../1", false }, { " 1", false },
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (manifest_id_valid(cases[i].s) != cases[i].ok)
			fail_msg("'%s'", cases[i].s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_decodes),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_manifests),
		cmocka_unit_test(test_too_many_or_too_big),
		cmocka_unit_test(test_id_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
