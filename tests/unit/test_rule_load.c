/* Rule files: good ones load; each kind of bad one is refused with the
 * file, line and column of the fault. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "rule.h"

static const char good[] =
	"# comment\n"
	"- id: close-wait-leak\n"
	"  severity: warning\n"
	"  when: sockets.close_wait >= 50 and closewait.max_per_process >= 50\n"
	"  title: \"{closewait.top.comm} (pid {closewait.top.pid}) holds {closewait.max_per_process}\"\n"
	"  explain: >\n"
	"    The peer closed these connections.\n"
	"  fix: Close the socket when read() returns 0.\n"
	"- id: fin-short\n"
	"  severity: info\n"
	"  when: 'sysctl.net.ipv4.tcp_fin_timeout > 30'\n"
	"  title: fin\n"
	"  explain: x\n"
	"  fix: y\n"
	"  sysctl:\n"
	"    net.ipv4.tcp_fin_timeout: 30\n"
	"    net.ipv4.ip_local_port_range: \"10240 65535\"\n";

static void test_good(void **state)
{
	struct rule_set set = { 0 };
	struct diag d = { .line = 0 };
	const struct rule *r;

	(void) state;
	assert_int_equal(rule_set_load_buffer(&set, good, sizeof(good) - 1, "good.yaml", &d), 0);
	assert_int_equal(set.n, 2);
	r = rule_set_find(&set, "fin-short");
	assert_non_null(r);
	assert_int_equal(r->severity, SEV_INFO);
	assert_int_equal(r->n_sysctl, 2);
	assert_string_equal(r->sysctl[1].key, "net.ipv4.ip_local_port_range");
	assert_int_equal(r->line, 9);
	assert_string_equal(set.rules[0].explain, "The peer closed these connections.\n");
	rule_set_release(&set);
}

/* A rule over sysctl.* facts is judged in both worlds; the others carry the
 * world their YAML gives, now by default. */
static void test_worlds(void **state)
{
	static const char src[] =
		"- id: over-sysctl\n  severity: info\n  when: sysctl.net.ipv4.tcp_timestamps == 0\n"
		"  title: t\n  explain: e\n  fix: f\n"
		"- id: boot-files\n  severity: info\n  when: sysctld.drift > 0\n  world: boot\n"
		"  title: t\n  explain: e\n  fix: f\n"
		"- id: counters\n  severity: info\n  when: tcpext.ListenOverflows > 0\n"
		"  title: t\n  explain: e\n  fix: f\n";
	struct rule_set set = { 0 };
	struct diag d = { .line = 0 };

	(void) state;
	assert_int_equal(rule_set_load_buffer(&set, src, sizeof(src) - 1, "w.yaml", &d), 0);
	assert_true(rule_set_find(&set, "over-sysctl")->over_sysctl);
	assert_false(rule_set_find(&set, "boot-files")->over_sysctl);
	assert_int_equal(rule_set_find(&set, "boot-files")->world, WORLD_BOOT);
	assert_false(rule_set_find(&set, "counters")->over_sysctl);
	assert_int_equal(rule_set_find(&set, "counters")->world, WORLD_NOW);
	rule_set_release(&set);
}

static void test_bad(void **state)
{
	static const struct {
		const char *yaml;
		unsigned line, col;
		const char *msg;
	} cases[] = {
		{ "- id: a\n  severity: warning\n  when: sockets.closewait > 1\n  title: t\n  explain: e\n  fix: f\n",
		  3, 9, "unknown fact 'sockets.closewait'" },
		{ "- id: a\n  severity: warning\n  when: 'sockets.time_wait > > 1'\n  title: t\n  explain: e\n  fix: f\n",
		  3, 30, "expected a value" },
		{ "- id: a\n  severity: bad\n  when: sockets.time_wait > 1\n  title: t\n  explain: e\n  fix: f\n",
		  2, 13, "not info, warning or critical" },
		{ "- id: a\n  severity: info\n  when: sockets.time_wait > 1\n  title: t\n  explain: e\n  fix: f\n  colour: red\n",
		  7, 3, "unknown field 'colour'" },
		{ "- id: a\n  severity: info\n  when: sysctld.drift > 0\n  title: t\n  explain: e\n  fix: f\n  world: later\n",
		  7, 10, "world 'later' is not now or boot" },
		{ "- id: a\n  severity: info\n  when: sysctl.net.ipv4.tcp_timestamps == 0\n  title: t\n  explain: e\n  fix: f\n"
		  "  world: boot\n", 7, 10, "judged in both worlds" },
		{ "- id: a\n  severity: info\n  when: sockets.time_wait > 1\n  title: t\n  explain: e\n",
		  1, 3, "has no 'fix'" },
		{ "- id: a\n  severity: info\n  when: sockets.time_wait > 1\n  title: t\n  explain: e\n  fix: f\n"
		  "- id: a\n  severity: info\n  when: sockets.time_wait > 1\n  title: t\n  explain: e\n  fix: f\n",
		  7, 7, "duplicate rule id 'a' (first in t.yaml:1)" },
		{ "- id: a\n  severity: info\n  when: sockets.time_wait > 1\n  title: \"{sockets.nope}\"\n  explain: e\n  fix: f\n",
		  4, 12, "unknown fact 'sockets.nope'" },
		{ "- id: a\n  severity: info\n  when: sockets.time_wait > 1\n  title: t\n  explain: e\n  fix: f\n"
		  "  sysctl:\n    net.ipv4.tcp_tw_recycle: 0\n", 8, 5, "never set by tcptune" },
		{ "- id: a\n  severity: info\n  when: sockets.time_wait > 1\n  title: t\n  explain: e\n  fix: f\n"
		  "  sysctl:\n    net.ipv4.tcp_fin_timeout: 0\n", 8, 31, "outside 5..60" },
		{ "- id: a\n  severity: info\n  when: sockets.time_wait > 1\n  title: t\n  explain: e\n  fix: f\n"
		  "  sysctl:\n    net.ipv4/../../../etc/passwd: 1\n", 8, 5, "unknown sysctl" },
		{ "- id: Bad_Id\n  severity: info\n  when: sockets.time_wait > 1\n  title: t\n  explain: e\n  fix: f\n",
		  1, 7, "lower-case" },
		{ "id: a\n", 1, 1, "a rules file is a list" },
		{ "- just a string\n", 1, 3, "a rule must be a mapping" },
		{ "- id: a\n  when: [1]\n", 2, 9, "must be a single value" },
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rule_set set = { 0 };
		struct diag d = { .line = 0 };
		int r = rule_set_load_buffer(&set, cases[i].yaml, strlen(cases[i].yaml), "t.yaml", &d);

		if (r != -EINVAL)
			fail_msg("case %zu: loaded (r=%d)", i, r);
		if (strcmp(d.file, "t.yaml") || d.line != cases[i].line || d.col != cases[i].col ||
		    !strstr(d.msg, cases[i].msg))
			fail_msg("case %zu: got %s:%u:%u '%s', want %u:%u '%s'", i, d.file, d.line, d.col, d.msg,
				 cases[i].line, cases[i].col, cases[i].msg);
		rule_set_release(&set);
	}
}

static void test_builtin_rules_load(void **state)
{
	struct rule_set set = { 0 };
	struct diag d = { .line = 0 };
	struct datadir dd = { .n_dirs = 0, .builtin = true };

	(void) state;
	if (rule_set_load(&set, &dd, &d) < 0)
		fail_msg("built-in rules: %s:%u:%u: %s", d.file, d.line, d.col, d.msg);
	rule_set_release(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_worlds),
		cmocka_unit_test(test_builtin_rules_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
