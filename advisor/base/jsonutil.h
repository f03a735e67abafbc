/* jansson helpers shared by every JSON writer. */
#ifndef TCPTUNE_ADVISOR_JSONUTIL_H
#define TCPTUNE_ADVISOR_JSONUTIL_H

#include <jansson.h>

/* A JSON string for text from files and other processes, which need not be
 * UTF-8 (jansson refuses that): shown escaped rather than dropped.  New
 * reference, NULL on ENOMEM. */
json_t *json_string_safe(const char *text);

#endif
