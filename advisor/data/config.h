/* /etc/tcptune/tcptune.yaml: site settings.  `ignore:`, a list of rule ids
 * silenced on purpose (audited exceptions), and `idle_timeout:`, the shortest
 * idle timeout (seconds) of a NAT gateway, load balancer or firewall on this
 * host's paths, which tcptune cannot see. */
#ifndef TCPTUNE_ADVISOR_CONFIG_H
#define TCPTUNE_ADVISOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

#define CONFIG_PATH "/etc/tcptune/tcptune.yaml"

struct config {
	char **ignore;
	size_t n_ignore;
	long long idle_timeout;		/* seconds, 0 when not declared */
};

#define CONFIG_IDLE_TIMEOUT_MAX (7 * 24 * 3600)	/* longer is no idle timeout worth declaring */

/* Load path, read under root ("/", or --root DIR: then path names a file
 * inside that tree, never the live /etc).  A missing file is an empty
 * config unless required (the user named it with --config: then an error).
 * trust_check as for rules.  Returns 0 or a negative errno with d filled. */
int config_load(struct config *c, const char *root, const char *path, bool required, bool trust_check,
		struct diag *d);
void config_release(struct config *c);

/* Append id to the ignore list (for --ignore).  0 or -ENOMEM. */
int config_add_ignore(struct config *c, const char *id);

#endif
