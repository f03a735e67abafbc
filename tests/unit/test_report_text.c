/* The text report's wrapping: prose fits the width, is never cut, and
 * colour sequences take no column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "report.h"

static char *wrapped(size_t width, const char *first, const char *cont, const char *text)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	report_wrap(f, width, first, cont, text);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_wrap_cases(void **state)
{
	static const struct { size_t width; const char *first, *cont, *text, *want; } cases[] = {
		{ 20, "", "", "one two three four five six", "one two three four\nfive six\n" },
		{ 12, "Fix: ", "     ", "close the socket now", "Fix: close\n     the\n     socket\n     now\n" },
		/* a word longer than a line is broken, not dropped */
		{ 10, "", "  ", "abcdefghijklmnop", "abcdefghij\n  klmnop\n" },
		{ 0, "", "", "never wrapped at all, however long the line is", "never wrapped at all, however long the line is\n" },
		/* colour takes no column: "\033[33mWARN\033[0m " is 5 wide */
		{ 12, "\033[33mWARN\033[0m ", "     ", "aaa bbb ccc", "\033[33mWARN\033[0m aaa bbb\n     ccc\n" },
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = wrapped(cases[i].width, cases[i].first, cases[i].cont, cases[i].text);

		assert_string_equal(got, cases[i].want);
		free(got);
	}
}

/* Every byte of the text is in the output, whatever the width. */
static void test_nothing_lost(void **state)
{
	const char *text = "net.netfilter.nf_conntrack_tcp_timeout_established is 432000 (five days), "
			   "far longer than any idle timeout of a NAT gateway on this path";

	(void) state;
	for (size_t width = 8; width <= 100; width++) {
		char *got = wrapped(width, "  ", "    ", text), *p;
		const char *q = text;

		for (char *l = got; *l; l += strcspn(l, "\n") + 1)
			assert_true(strcspn(l, "\n") <= width);
		free(got);
		got = wrapped(width, "", "", text);
		/* Joining the lines' words again gives the text. */
		for (p = got; *p && *q; p++) {
			if (*p == '\n' || *p == ' ')
				continue;
			while (*q == ' ')
				q++;
			assert_int_equal(*p, *q);
			q++;
		}
		assert_int_equal(*q, '\0');
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap_cases),
		cmocka_unit_test(test_nothing_lost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
