/* /etc/tcptune/tcptune.yaml: site settings.  Today only `ignore:`, a list of
 * rule ids silenced on purpose (audited exceptions). */
#ifndef TCPTUNE_ADVISOR_CONFIG_H
#define TCPTUNE_ADVISOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

#define CONFIG_PATH "/etc/tcptune/tcptune.yaml"

struct config {
	char **ignore;
	size_t n_ignore;
};

/* Load path; a missing file is an empty config.  trust_check as for rules.
 * Returns 0 or a negative errno with d filled. */
int config_load(struct config *c, const char *path, bool trust_check, struct diag *d);
void config_release(struct config *c);

/* Append id to the ignore list (for --ignore).  0 or -ENOMEM. */
int config_add_ignore(struct config *c, const char *id);

#endif
