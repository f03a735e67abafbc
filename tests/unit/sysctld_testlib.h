/* sysctld_testlib.h: what the unit tests of snap_sysctld.c and
 * snap_reappliers.c share.  Header only, every function static (and marked
 * unused, so no warning where a test needs only some): the Makefile builds
 * each tests/unit/test_*.c alone into its own binary and compiles no other .c
 * file of this directory.  Include it after <cmocka.h> (and the headers
 * cmocka needs) and "sysctld.h".  (The Makefile's unit-test rule does not
 * list this header as a prerequisite: after editing it, remove the
 * build/unit/test_snap_* binaries.)
 *
 *   check_warnings()  d's warnings are exactly the wanted ones, in order */
#ifndef TCPTUNE_TESTS_SYSCTLD_TESTLIB_H
#define TCPTUNE_TESTS_SYSCTLD_TESTLIB_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Fail unless d holds exactly n warnings, each equal to want[i] as
 * "file:line: text"; a wanted text ending in '*' is a prefix.  On a wrong
 * count every warning is printed first. */
__attribute__((unused))
static void check_warnings(const struct sysctld *d, const char *const *want, size_t n)
{
	char got[4096];

	for (size_t i = 0; i < d->n_warnings && i < n; i++) {
		size_t len = strlen(want[i]);
		bool prefix = len > 0 && want[i][len - 1] == '*';

		snprintf(got, sizeof(got), "%s:%u: %s", d->warnings[i].file, d->warnings[i].line,
			 d->warnings[i].text);
		if (prefix ? strncmp(got, want[i], len - 1) != 0 : strcmp(got, want[i]) != 0)
			fail_msg("warning %zu: '%s', want '%s'", i, got, want[i]);
	}
	if (d->n_warnings != n) {
		for (size_t i = 0; i < d->n_warnings; i++)
			print_message("  %s:%u: %s\n", d->warnings[i].file, d->warnings[i].line,
				      d->warnings[i].text);
		fail_msg("%zu warnings, want %zu", d->n_warnings, n);
	}
}

#endif
