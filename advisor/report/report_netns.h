/* check --all-netns in each output format: the text section (a summary,
 * the worst namespaces first, the untuned ones, how to tune a container),
 * the JSON "namespaces" member, and Prometheus families with bounded labels
 * (states, rule ids, severities; never an inode, a name or a pid). */
#ifndef TCPTUNE_ADVISOR_REPORT_NETNS_H
#define TCPTUNE_ADVISOR_REPORT_NETNS_H

#include <jansson.h>
#include <stdio.h>

#include "netns_scan.h"

/* Nothing is written when sc is NULL (no --all-netns). */
void report_netns_text(const struct netns_scan *sc, FILE *out);
json_t *report_netns_json(const struct netns_scan *sc);	/* json null when sc is NULL */
void report_netns_prometheus(const struct netns_scan *sc, FILE *out);

#endif
