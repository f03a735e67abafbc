/* Verb handlers (cmd_<verb>.c) and their option tables. */
#ifndef TCPTUNE_ADVISOR_CMD_H
#define TCPTUNE_ADVISOR_CMD_H

#include "cli.h"

int cmd_check(const struct cli_args *a);
extern const struct cli_opt cmd_check_opts[];

int cmd_explain(const struct cli_args *a);
extern const struct cli_opt cmd_explain_opts[];

#endif
