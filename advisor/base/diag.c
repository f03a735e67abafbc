/* struct diag helpers. */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>

#undef diag_set		/* the analyzer's model in diag.h */

int diag_set(struct diag *d, int r, const char *file, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return r;
	if (file)
		snprintf(d->file, sizeof(d->file), "%s", file);
	d->line = line;
	d->col = col;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	return r;
}
