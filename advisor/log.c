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

static void vlog(int r, const char *fmt, va_list ap)
{
	fputs("tcptune: ", stderr);
	vfprintf(stderr, fmt, ap);
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
