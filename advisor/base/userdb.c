/* user_name(): NSS in the normal build, /etc/passwd in the static one. */
#include "userdb.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "strutil.h"

#ifdef TCPTUNE_STATIC
/* glibc links getpwuid() statically only with a warning: at run time it
 * would dlopen the NSS modules of the glibc it was built with, which an
 * empty root or another distribution does not have.  fgetpwent_r() only
 * parses a passwd file, no NSS: the static binary knows the local users. */
static int lookup(uid_t uid, struct passwd *pw, char *tmp, size_t len, struct passwd **res)
{
	FILE *f = fopen("/etc/passwd", "re");
	int r;

	*res = NULL;
	if (!f)
		return errno == ENOENT ? 0 : errno;
	while ((r = fgetpwent_r(f, pw, tmp, len, res)) == 0 && *res && (*res)->pw_uid != uid)
		;
	fclose(f);
	if (r == ENOENT) {	/* end of file: no such uid */
		*res = NULL;
		return 0;
	}
	return r;
}
#else
static int lookup(uid_t uid, struct passwd *pw, char *tmp, size_t len, struct passwd **res)
{
	return getpwuid_r(uid, pw, tmp, len, res);
}
#endif

int user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];
	int r = lookup(uid, &pw, tmp, sizeof(tmp), &res);

	if (r > 0)
		return -r;
	if (r != 0 || !res || !res->pw_name)
		return -ENOENT;
	return str_printf(buf, len, "%s", res->pw_name);
}
