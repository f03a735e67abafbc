/* jansson helpers shared by every JSON writer. */
#ifndef TCPTUNE_ADVISOR_JSONUTIL_H
#define TCPTUNE_ADVISOR_JSONUTIL_H

#include <jansson.h>
#include <stdio.h>

/* A JSON string for text from files and other processes, which need not be
 * UTF-8 (jansson refuses that): shown escaped rather than dropped.  New
 * reference, NULL on ENOMEM. */
json_t *json_string_safe(const char *text);

/* Print o to f as every JSON output of tcptune is printed: indented by
 * two, keys in insertion order, a final newline; then drop the reference.
 * NULL o (out of memory) prints nothing.  Returns 0 or -EIO. */
int json_print(json_t *o, FILE *f);

/* Write o to f as json_print() does, without taking it: rendered in memory
 * and written at once (jansson's json_dumpf() writes token by token).
 * 0, -ENOMEM or -EIO. */
int json_write(const json_t *o, FILE *f);

#endif
