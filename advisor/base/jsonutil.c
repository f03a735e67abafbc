/* jansson helpers; see jsonutil.h. */
#include "jsonutil.h"

#include <errno.h>

#include "strutil.h"

json_t *json_string_safe(const char *text)
{
	char buf[1024];
	json_t *j = json_string(text);

	return j ? j : json_string(str_escape(text, buf, sizeof(buf)));
}

int json_print(json_t *o, FILE *f)
{
	int r;

	if (!o)
		return -ENOMEM;
	r = json_dumpf(o, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (r < 0 || fputc('\n', f) == EOF)
		return -EIO;
	return 0;
}
