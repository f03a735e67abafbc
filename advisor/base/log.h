/* The only writer to stderr: "tcptune: <what failed>: <why>".  Lower layers
 * return negative errno values and never print; the program layer logs once. */
#ifndef TCPTUNE_ADVISOR_LOG_H
#define TCPTUNE_ADVISOR_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "diag.h"

enum log_level { LOG_QUIET = 0, LOG_NORMAL = 1, LOG_VERBOSE = 2 };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Print "tcptune: <fmt>: <strerror(-r)>" (or without the reason when r == 0)
 * and return r, so callers can `return log_err(r, ...)`. */
int log_err(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "tcptune: <fmt>" for messages that carry their own reason (parse errors). */
int log_errx(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print a parse error as "tcptune: file:line:col: msg" ("file: msg" when the
 * position is unknown) and return r. */
int log_diag(int r, const struct diag *d);

/* "tcptune: <fmt>" for information the user should see (not with -q). */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A progress line on a terminal: rewritten in place, ended by done.  Does
 * nothing when stderr is not a terminal or with -q. */
void log_progress(bool done, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Verbose-only diagnostics, prefixed "tcptune: ". */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
