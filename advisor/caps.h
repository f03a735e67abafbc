/* Capability checks with libcap (never from the uid alone). */
#ifndef TCPTUNE_ADVISOR_CAPS_H
#define TCPTUNE_ADVISOR_CAPS_H

#include <stdbool.h>
#include <sys/capability.h>

/* Is cap in this process's effective set? */
bool caps_have(cap_value_t cap);

#endif
