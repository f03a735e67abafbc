/* jansson helpers; see jsonutil.h. */
#include "jsonutil.h"

#include "strutil.h"

json_t *json_string_safe(const char *text)
{
	char buf[1024];
	json_t *j = json_string(text);

	return j ? j : json_string(str_escape(text, buf, sizeof(buf)));
}
