/* The only writer to stderr: "tcptune: <what failed>: <why>".  Lower layers
 * return negative errno values and never print; the program layer logs once. */
#ifndef TCPTUNE_ADVISOR_LOG_H
#define TCPTUNE_ADVISOR_LOG_H

#include <stdarg.h>

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

/* Verbose-only diagnostics, prefixed "tcptune: ". */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
