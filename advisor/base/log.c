/* stderr output for the whole program: errors once, debug with -v. */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static enum log_level level = LOG_NORMAL;

void log_set_level(enum log_level l)
{
	level = l;
}

enum log_level log_get_level(void)
{
	return level;
}

/* Messages quote what others wrote (file names, YAML text, values); most
 * callers escape it already (str_escape()), and this is the net under all
 * of them: every byte that is not printable ASCII leaves as "\xNN", so no
 * message can move the cursor, retitle the window or split into two lines. */
static void put_safe(const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		if (*p >= 0x20 && *p < 0x7f)
			fputc(*p, stderr);
		else
			fprintf(stderr, "\\x%02x", *p);
}

static void vlog(int r, const char *fmt, va_list ap)
{
	char msg[4096];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fputs("tcptune: ", stderr);
	put_safe(msg);
	if (r < 0)
		fprintf(stderr, ": %s", strerror(-r));
	fputc('\n', stderr);
}

int log_err(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(r, fmt, ap);
	va_end(ap);
	return r;
}

int log_errx(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(0, fmt, ap);
	va_end(ap);
	return r;
}

int log_diag(int r, const struct diag *d)
{
	if (d->line)
		return log_errx(r, "%s:%u:%u: %s", d->file, d->line, d->col, d->msg);
	return log_errx(r, "%s: %s", d->file, d->msg);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	if (level < LOG_NORMAL)
		return;
	va_start(ap, fmt);
	vlog(0, fmt, ap);
	va_end(ap);
}

void log_progress(bool done, const char *fmt, ...)
{
	va_list ap;

	if (level < LOG_NORMAL || !isatty(STDERR_FILENO))
		return;
	fputs("\rtcptune: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (done)
		fputc('\n', stderr);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (level < LOG_VERBOSE)
		return;
	va_start(ap, fmt);
	vlog(0, fmt, ap);
	va_end(ap);
}
