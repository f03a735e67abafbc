/* `tcptune check`: snapshot, report.  Exit 0 ok, 3 when the snapshot failed
 * (findings and their exit codes 1/2 come with the rule engine, #3). */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "report.h"
#include "snapshot.h"
#include "strutil.h"

enum { OPT_FORMAT = 1, OPT_RECORD };

const struct cli_opt cmd_check_opts[] = {
	{ "format", true, OPT_FORMAT, "text|json" },
	{ "debug-record-sockdiag", true, OPT_RECORD, NULL },	/* writes unit-test fixtures */
	{ NULL, false, 0, NULL },
};

int cmd_check(const struct cli_args *a)
{
	const struct report_format *fmt = report_format_find("text");
	const char *record = NULL;
	struct snapshot s;
	int r, code = EXIT_OK;

	for (size_t i = 0; i < a->n_opts; i++) {
		if (a->opts[i].id == OPT_FORMAT) {
			fmt = report_format_find(a->opts[i].value);
			if (!fmt)
				return log_errx(EXIT_UNKNOWN, "unknown format '%s': use text or json", a->opts[i].value);
		} else if (a->opts[i].id == OPT_RECORD)
			record = a->opts[i].value;
	}
	r = snapshot_init(&s, a->g->root);
	if (r < 0)
		return log_err(r, "cannot open root directory '%s'", a->g->root), EXIT_UNKNOWN;
	if (record) {
		s.sockdiag_record = fopen(record, "wxe");
		if (!s.sockdiag_record) {
			log_err(-errno, "cannot create '%s'", record);
			code = EXIT_UNKNOWN;
			goto out;
		}
	}
	r = snapshot_take(&s);
	/* Bad input is an error, one line each; the report still shows what was seen. */
	for (size_t i = 0; i < s.n_notes; i++)
		if (s.notes[i].bad_input) {
			char shown[1024];
			log_errx(0, "%s", str_escape(s.notes[i].text, shown, sizeof(shown)));
			code = EXIT_UNKNOWN;
		}
	if (r < 0 && code == EXIT_OK) {
		const char *why = strerror(-r);
		for (size_t i = s.n_notes; i-- > 0;)
			if (!strcmp(s.notes[i].source, "sockets") || !strcmp(s.notes[i].source, "sysctl"))
				why = s.notes[i].text;
		log_errx(0, "incomplete snapshot of '%s': %s", a->g->root, why);
		code = EXIT_UNKNOWN;
	}
	r = fmt->write(&s, stdout);
	if (r < 0) {
		log_err(r, "cannot write the report");
		code = EXIT_UNKNOWN;
	}
out:
	if (s.sockdiag_record && fclose(s.sockdiag_record) != 0 && code == EXIT_OK) {
		log_err(-errno, "cannot write '%s'", record);
		code = EXIT_UNKNOWN;
	}
	s.sockdiag_record = NULL;
	snapshot_release(&s);
	return code;
}
