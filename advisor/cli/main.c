/* tcptune: global set-up, the verb, and a checked stdout. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "log.h"

int main(int argc, char **argv)
{
	int code;

	umask(022);
	code = cli_run(argc, argv);
	/* A full disk under `check > file` is an error, not a truncated report. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_err(-errno, "cannot write the report to standard output");
		return EXIT_UNKNOWN;
	}
	return code;
}
