/* log.c: the only writer of stderr.  Every line starts "tcptune: ", ends in
 * one newline, and carries no byte that is not printable ASCII. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

/* Run fn with stderr sent to a temp file; return what it wrote. */
static char *capture(void (*fn)(void))
{
	static char out[8192];
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	fn();
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return out;
}

static void hostile(void)
{
	log_errx(0, "unknown setting '%s'", "a\033[2J\nb\xff");
}

static void with_errno(void)
{
	assert_int_equal(log_err(-ENOENT, "cannot read %s", "/x"), -ENOENT);
}

static void test_control_bytes_escaped(void **state)
{
	(void) state;
	assert_string_equal(capture(hostile), "tcptune: unknown setting 'a\\x1b[2J\\x0ab\\xff'\n");
}

static void test_errno_text(void **state)
{
	(void) state;
	assert_string_equal(capture(with_errno), "tcptune: cannot read /x: No such file or directory\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_bytes_escaped),
		cmocka_unit_test(test_errno_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
