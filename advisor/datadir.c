/* The data search path; see datadir.h. */
#include "datadir.h"

#include <unistd.h>

#ifndef TCPTUNE_DATADIR
#define TCPTUNE_DATADIR "/usr/local/share/tcptune"
#endif

void datadir_init(struct datadir *dd, const char *data_opt)
{
	dd->n_dirs = 0;
	if (data_opt)
		dd->dirs[dd->n_dirs++] = data_opt;
	dd->dirs[dd->n_dirs++] = "/etc/tcptune";
	dd->dirs[dd->n_dirs++] = TCPTUNE_DATADIR;
	dd->builtin = true;
	/* Root reads files others could have planted: refuse them (SPEC §9). */
	dd->trust_check = geteuid() == 0;
}
