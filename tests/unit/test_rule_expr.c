/* The `when` language: precedence, operators, missing facts, functions,
 * evaluation errors, and parse errors with their line and column. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "facts.h"
#include "rule_expr.h"

static struct expr_value values[512];

static const struct expr_value *lookup(void *ctx, size_t id)
{
	(void) ctx;
	return id < 512 ? &values[id] : NULL;
}

static void set_int(const char *name, int64_t v)
{
	int id = fact_lookup(name);

	assert_true(id >= 0);
	values[id] = (struct expr_value) { .present = true, .i = v };
}

static void set_str(const char *name, const char *v)
{
	int id = fact_lookup(name);

	assert_true(id >= 0);
	values[id] = (struct expr_value) { .present = true, .s = v };
}

static int setup(void **state)
{
	(void) state;
	memset(values, 0, sizeof(values));
	assert_true(facts_count() < 512);
	set_int("sockets.time_wait", 1200);
	set_int("sockets.close_wait", 60);
	set_int("closewait.max_per_process", 55);
	set_int("sysctl.net.ipv4.tcp_max_tw_buckets", 131072);
	set_int("kernel.version", 6 * 65536 + 18 * 256 + 44);
	set_int("sockets.listen", 0);
	set_str("closewait.top.comm", "java");
	/* tcpext.PAWSTimewait stays missing */
	return 0;
}

/* Parse and evaluate; fail the test on a parse error. */
static int run(const char *src)
{
	struct rule_expr *e = NULL;
	struct diag d = { .line = 0 };
	char err[128];
	int r;

	r = rule_expr_parse(src, 1, 1, &e, &d);
	if (r < 0)
		fail_msg("'%s' did not parse: %u:%u: %s", src, d.line, d.col, d.msg);
	r = rule_expr_eval(e, lookup, NULL, err, sizeof(err));
	rule_expr_free(e);
	return r;
}

static void test_precedence_and_operators(void **state)
{
	static const struct { const char *src; int want; } cases[] = {
		{ "1 + 2 * 3 == 7", 1 },
		{ "(1 + 2) * 3 == 9", 1 },
		{ "7 % 4 - 1 == 2", 1 },
		{ "10 / 3 == 3", 1 },
		{ "-7 / 2 == -3", 1 },		/* truncation toward zero, like C */
		{ "-(2 - 5) == 3", 1 },
		{ "2 - 3 - 4 == -5", 1 },	/* left associative */
		{ "2 < 3", 1 }, { "3 <= 3", 1 }, { "3 > 3", 0 }, { "3 >= 4", 0 }, { "3 != 4", 1 },
		{ "1 == 1 or 1 == 2 and 1 == 2", 1 },	/* and binds tighter than or */
		{ "(1 == 1 or 1 == 2) and 1 == 2", 0 },
		{ "not 1 == 2", 1 },
		{ "not not 1 == 1", 1 },
		{ "sockets.time_wait * 100 / sysctl.net.ipv4.tcp_max_tw_buckets < 1", 1 },
		{ "sockets.close_wait >= 50 and closewait.max_per_process >= 50", 1 },
		{ "closewait.top.comm == \"java\"", 1 },
		{ "closewait.top.comm != 'java'", 0 },
		{ "\"a\\\"b\" == 'a\"b'", 1 },
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = run(cases[i].src);
		if (got != cases[i].want)
			fail_msg("'%s': got %d, want %d", cases[i].src, got, cases[i].want);
	}
}

static void test_missing_facts(void **state)
{
	static const struct { const char *src; int want; } cases[] = {
		{ "tcpext.PAWSTimewait > 0", 0 },
		{ "tcpext.PAWSTimewait <= 0", 0 },	/* missing is not zero */
		{ "tcpext.PAWSTimewait == tcpext.PAWSTimewait", 0 },
		{ "tcpext.PAWSTimewait + 1 > 0", 0 },
		{ "not tcpext.PAWSTimewait > 0", 1 },
		{ "exists(tcpext.PAWSTimewait)", 0 },
		{ "exists(sockets.time_wait)", 1 },
		{ "not exists(tcpext.PAWSTimewait) and sockets.time_wait > 0", 1 },
		{ "tcpext.PAWSTimewait / 0 > 1", 0 },	/* missing, so no division happens */
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = run(cases[i].src);
		if (got != cases[i].want)
			fail_msg("'%s': got %d, want %d", cases[i].src, got, cases[i].want);
	}
}

static void test_kernel_at_least(void **state)
{
	(void) state;
	assert_int_equal(run("kernel_at_least(\"4.12\")"), 1);
	assert_int_equal(run("kernel_at_least(\"6.18.44\")"), 1);
	assert_int_equal(run("kernel_at_least(\"6.18.45\")"), 0);
	assert_int_equal(run("kernel_at_least(\"7.0\")"), 0);
	assert_int_equal(run("kernel_at_least(\"6.18.044\")"), 1);
	assert_int_equal(run("kernel_at_least(\"255.255.255\")"), 0);
	values[fact_lookup("kernel.version")].present = false;
	assert_int_equal(run("kernel_at_least(\"2.6\")"), 0);	/* unknown kernel */
	assert_int_equal(run("not kernel_at_least(\"2.6\")"), 1);
}

static void test_evaluation_errors(void **state)
{
	static const struct { const char *src; int err; } cases[] = {
		{ "sockets.time_wait / sockets.listen > 1", -EDOM },
		{ "sockets.time_wait % 0 == 1", -EDOM },
		{ "9223372036854775807 + 1 > 0", -ERANGE },
		{ "9223372036854775807 * 2 > 0", -ERANGE },
		{ "-9223372036854775807 - 2 < 0", -ERANGE },
		/* the error of an operand of 'not', not a negated garbage value */
		{ "not (sockets.time_wait / sockets.listen > 1)", -EDOM },
		{ "1 == 1 and not (sockets.time_wait % 0 == 1)", -EDOM },
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rule_expr *e;
		struct diag d = { .line = 0 };
		char err[128];

		assert_int_equal(rule_expr_parse(cases[i].src, 1, 1, &e, &d), 0);
		assert_int_equal(rule_expr_eval(e, lookup, NULL, err, sizeof(err)), cases[i].err);
		assert_true(strstr(err, "column") != NULL);
		rule_expr_free(e);
	}
	/* a guard makes the same division safe */
	assert_int_equal(run("sockets.listen > 0 and sockets.time_wait / sockets.listen > 1"), 0);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *src;
		unsigned line, col;
		const char *msg;
	} cases[] = {
		{ "sockets.closewait > 1", 5, 10, "unknown fact 'sockets.closewait'" },
		{ "1 +", 5, 13, "unexpected end" },
		{ "(1 == 1", 5, 17, "expected ')'" },
		{ "1 = 1", 5, 12, "compare with '=='" },
		{ "1 == 1 && 2 == 2", 5, 17, "use 'and'" },
		{ "sockets.time_wait", 5, 10, "a condition is needed" },
		{ "sockets.time_wait + closewait.top.comm > 1", 5, 30, "needs a number on both sides" },
		{ "closewait.top.comm > 1", 5, 10, "needs a number on both sides" },
		{ "1 < 2 < 3", 5, 16, "do not chain" },
		{ "exists(1)", 5, 17, "expected a fact name" },
		{ "kernel_at_least(\"4.x\")", 5, 26, "bad kernel version" },
		{ "kernel_at_least(4)", 5, 26, "version string" },
		/* each part 0-255: no overflow in the conversion (was sscanf %lld) */
		{ "kernel_at_least(\"99999999999999999999.1\")", 5, 26, "bad kernel version" },
		{ "kernel_at_least(\"4.256\")", 5, 26, "bad kernel version" },
		{ "kernel_at_least(\"4\")", 5, 26, "bad kernel version" },
		{ "kernel_at_least(\"4.12.\")", 5, 26, "bad kernel version" },
		{ "kernel_at_least(\"4..12\")", 5, 26, "bad kernel version" },
		{ "kernel_at_least(\"4.12.3.1\")", 5, 26, "bad kernel version" },
		{ "kernel_at_least(\"-4.12\")", 5, 26, "bad kernel version" },
		{ "kernel_at_least(\"\")", 5, 26, "bad kernel version" },
		{ "\"abc", 5, 10, "unterminated string" },
		{ "1 == 1 2", 5, 17, "after the expression" },
		{ "99999999999999999999 > 1", 5, 10, "too large" },
		{ "not 5", 5, 14, "'not' needs a condition" },
		{ "(1 == 1) == (2 == 2)", 5, 19, "not conditions" },
		{ "1 == 1 and\n  foo.bar > 1", 6, 3, "unknown fact 'foo.bar'" },
		{ "", 5, 10, "unexpected end" },
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rule_expr *e = NULL;
		struct diag d = { .line = 0 };
		int r = rule_expr_parse(cases[i].src, 5, 10, &e, &d);

		if (r != -EINVAL)
			fail_msg("'%s' parsed (r=%d)", cases[i].src, r);
		if (d.line != cases[i].line || d.col != cases[i].col || !strstr(d.msg, cases[i].msg))
			fail_msg("'%s': got %u:%u '%s', want %u:%u '%s'", cases[i].src, d.line, d.col, d.msg,
				 cases[i].line, cases[i].col, cases[i].msg);
		assert_null(e);
	}
}

static void test_depth_limit(void **state)
{
	char src[400];
	struct rule_expr *e = NULL;
	struct diag d = { .line = 0 };
	size_t n = 0;

	(void) state;
	for (int i = 0; i < 150; i++)
		src[n++] = '(';
	src[n] = '\0';
	assert_int_equal(rule_expr_parse(src, 1, 1, &e, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "nested too deeply"));
	n = 0;
	for (int i = 0; i < 80; i++) {
		memcpy(src + n, "not ", 4);
		n += 4;
	}
	memcpy(src + n, "1 == 1", 7);
	assert_int_equal(rule_expr_parse(src, 1, 1, &e, &d), -EINVAL);
}

static void test_facts_listed(void **state)
{
	struct rule_expr *e;
	struct diag d;
	size_t ids[4];

	(void) state;
	assert_int_equal(rule_expr_parse("sockets.time_wait > 1 and (sockets.time_wait < 5 or "
					 "exists(tcpext.TW)) and kernel_at_least(\"5.0\")", 1, 1, &e, &d), 0);
	assert_int_equal(rule_expr_facts(e, ids, 4), 3);
	assert_int_equal(ids[0], (size_t) fact_lookup("sockets.time_wait"));
	assert_int_equal(ids[1], (size_t) fact_lookup("tcpext.TW"));
	assert_int_equal(ids[2], (size_t) fact_lookup("kernel.version"));
	rule_expr_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_precedence_and_operators, setup),
		cmocka_unit_test_setup(test_missing_facts, setup),
		cmocka_unit_test_setup(test_kernel_at_least, setup),
		cmocka_unit_test_setup(test_evaluation_errors, setup),
		cmocka_unit_test_setup(test_parse_errors, setup),
		cmocka_unit_test_setup(test_depth_limit, setup),
		cmocka_unit_test_setup(test_facts_listed, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
