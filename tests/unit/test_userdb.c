/* user_name(): the NSS build (linked) and the static build's /etc/passwd
 * reader (this file compiles advisor/base/userdb.c again with TCPTUNE_STATIC)
 * must name every local user the way glibc's getpwent() does. */
#include <errno.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "userdb.h"

int user_name_static(uid_t uid, char *buf, size_t len);
#define TCPTUNE_STATIC
#define user_name user_name_static
#include "../../advisor/base/userdb.c"
#undef user_name

/* The first uid of 0..65535 that getpwuid() does not know. */
static uid_t unknown_uid(void)
{
	uid_t u = 60000;

	while (getpwuid(u))
		u++;
	return u;
}

static void test_known_users(void **state)
{
	struct passwd *pw;
	char a[256], b[256];
	int n = 0;

	(void) state;
	setpwent();
	while ((pw = getpwent()) && n < 200) {
		/* A duplicate uid: both readers stop at the first line. */
		if (getpwuid(pw->pw_uid) != NULL && strcmp(getpwuid(pw->pw_uid)->pw_name, pw->pw_name) != 0)
			continue;
		assert_int_equal(user_name(pw->pw_uid, a, sizeof(a)), 0);
		assert_string_equal(a, pw->pw_name);
		assert_int_equal(user_name_static(pw->pw_uid, b, sizeof(b)), 0);
		assert_string_equal(b, pw->pw_name);
		n++;
	}
	endpwent();
	assert_true(n > 0);	/* root at least */
	assert_int_equal(user_name_static(0, a, sizeof(a)), 0);
	assert_string_equal(a, "root");
}

static void test_unknown_and_short(void **state)
{
	char b[4];
	uid_t u = unknown_uid();

	(void) state;
	assert_int_equal(user_name(u, b, sizeof(b)), -ENOENT);
	assert_int_equal(user_name_static(u, b, sizeof(b)), -ENOENT);
	assert_int_equal(user_name(0, b, 4), -ENAMETOOLONG);	/* "root" needs 5 */
	assert_int_equal(user_name_static(0, b, 4), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_users),
		cmocka_unit_test(test_unknown_and_short),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
