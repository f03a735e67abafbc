/* jansson helpers; see jsonutil.h. */
#include "jsonutil.h"

#include <errno.h>
#include <stdlib.h>

#include "strutil.h"

json_t *json_string_safe(const char *text)
{
	char buf[1024];
	json_t *j = json_string(text);

	return j ? j : json_string(str_escape(text, buf, sizeof(buf)));
}

int json_write(const json_t *o, FILE *f)
{
	char *text;
	int r = 0;

	if (!o)
		return -ENOMEM;
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text)
		return -ENOMEM;
	if (fputs(text, f) == EOF || fputc('\n', f) == EOF)
		r = -EIO;
	free(text);
	return r;
}

int json_print(json_t *o, FILE *f)
{
	int r = json_write(o, f);

	json_decref(o);
	return r;
}
