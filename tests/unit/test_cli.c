/* Command-line parsing: every usage error exits 3 before anything is read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "cli.h"

static int run(int argc, const char *const *argv)
{
	return cli_run(argc, (char **) argv);
}

#define RUN(...) run(sizeof((const char *[]) { __VA_ARGS__ }) / sizeof(const char *), \
		     (const char *[]) { __VA_ARGS__ })

static void test_usage_errors(void **state)
{
	(void) state;
	assert_int_equal(RUN("tcptune"), EXIT_UNKNOWN);
	assert_int_equal(RUN("tcptune", "chek"), EXIT_UNKNOWN);
	assert_int_equal(RUN("tcptune", "--frobnicate"), EXIT_UNKNOWN);
	assert_int_equal(RUN("tcptune", "-x", "check"), EXIT_UNKNOWN);
	assert_int_equal(RUN("tcptune", "check", "--format", "xml"), EXIT_UNKNOWN);
	assert_int_equal(RUN("tcptune", "check", "--format"), EXIT_UNKNOWN);
	assert_int_equal(RUN("tcptune", "check", "--format=", "json"), EXIT_UNKNOWN);
	assert_int_equal(RUN("tcptune", "check", "extra"), EXIT_UNKNOWN);
	assert_int_equal(RUN("tcptune", "check", "--help=yes"), EXIT_UNKNOWN);
	assert_int_equal(RUN("tcptune", "explain"), EXIT_UNKNOWN);
	assert_int_equal(RUN("tcptune", "explain", "net.ipv4.nope"), EXIT_UNKNOWN);
	assert_int_equal(RUN("tcptune", "--color", "pink", "check"), EXIT_UNKNOWN);
	assert_int_equal(RUN("tcptune", "--root", "/nonexistent/tcptune", "check"), EXIT_UNKNOWN);
	assert_int_equal(RUN("tcptune", "--format", "json", "check"), EXIT_UNKNOWN);	/* verb option before the verb */
	assert_int_equal(RUN("tcptune", "--netns", "x", "apply", "web-server"), EXIT_UNKNOWN);	/* live namespace only */
	assert_int_equal(RUN("tcptune", "--netns", "x", "--root", "/tmp", "check"), EXIT_UNKNOWN);
	assert_int_equal(RUN("tcptune", "--netns", "/nonexistent/ns", "check"), EXIT_UNKNOWN);
}

static void test_help_and_version(void **state)
{
	(void) state;
	assert_int_equal(RUN("tcptune", "--help"), EXIT_OK);
	assert_int_equal(RUN("tcptune", "check", "-h"), EXIT_OK);
	assert_int_equal(RUN("tcptune", "--version"), EXIT_OK);
}

static void test_explain_runs(void **state)
{
	(void) state;
	/* short and slash forms, on a fixture root so the host is not involved */
	assert_int_equal(RUN("tcptune", "--root", FIXTURES "/sysctld/debian", "explain", "tcp_fin_timeout"), EXIT_OK);
	assert_int_equal(RUN("tcptune", "explain", "net/ipv4/tcp_tw_recycle", "--root", FIXTURES "/sysctld/debian"),
			 EXIT_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_explain_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
