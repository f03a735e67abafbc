/* Connection-tracking statistics of this namespace from
 * /proc/net/stat/nf_conntrack (docs/KERNEL.md §19.1): a header line of
 * column names, then one line per possible CPU of 8-digit hex numbers
 * (ct_cpu_seq_show()).  Columns are found by name, since their set changed
 * between releases; the ones in ctstat_names are summed over the CPUs.  No
 * file means no conntrack here: the facts stay missing. */
#include "snap_readers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs.h"

/* 4096 possible CPUs of 17 columns of 9 bytes: far above any real file. */
#define CTSTAT_MAX (1024 * 1024)
#define CTSTAT_MAX_COLS 64

static size_t line_len(const char *p)
{
	const char *e = strchr(p, '\n');

	return e ? (size_t) (e - p) : strlen(p);
}

/* Next blank-separated word of the line [*p, stop): its start in *ret,
 * its length returned (0 at the end of the line). */
static size_t word(const char **p, const char *stop, const char **ret)
{
	const char *s = *p;

	while (s < stop && *s == ' ')
		s++;
	*ret = s;
	while (s < stop && *s != ' ')
		s++;
	*p = s;
	return (size_t) (s - *ret);
}

int ctstat_parse(const char *text, uint64_t ret_sum[], bool ret_have[], char *err, size_t errlen)
{
	int col_of[CTSTAT_MAX_COLS];	/* header column -> ctstat index, or -1 */
	size_t ncols = 0, hl = line_len(text);
	const char *p = text, *w, *line;
	unsigned lineno = 1;

	if (ctstat_count > CTSTAT_MAX_NAMES) {
		snprintf(err, errlen, "0:0: ctstat_names longer than CTSTAT_MAX_NAMES");
		return -EINVAL;
	}
	for (size_t i = 0; i < ctstat_count; i++) {
		ret_sum[i] = 0;
		ret_have[i] = false;
	}
	for (size_t n; (n = word(&p, text + hl, &w)) > 0; ncols++) {
		if (ncols == CTSTAT_MAX_COLS) {
			snprintf(err, errlen, "1:%zu: more than %d columns", (size_t) (w - text) + 1,
				 CTSTAT_MAX_COLS);
			return -EBADMSG;
		}
		col_of[ncols] = -1;
		for (size_t i = 0; i < ctstat_count; i++)
			if (strlen(ctstat_names[i]) == n && memcmp(w, ctstat_names[i], n) == 0) {
				col_of[ncols] = (int) i;
				ret_have[i] = true;
			}
	}
	if (ncols == 0 || text[0] < 'a' || text[0] > 'z') {
		snprintf(err, errlen, "1:1: no header line of column names");
		return -EBADMSG;
	}
	for (line = text + hl + (text[hl] == '\n'); *line; line += line_len(line) + (line[line_len(line)] == '\n')) {
		const char *stop = line + line_len(line);
		size_t col = 0, n;

		lineno++;
		p = line;
		for (; (n = word(&p, stop, &w)) > 0; col++) {
			uint64_t v = 0;

			if (col == ncols) {
				snprintf(err, errlen, "%u:%zu: more values than the header's %zu columns", lineno,
					 (size_t) (w - line) + 1, ncols);
				return -EBADMSG;
			}
			/* %08x of an unsigned int: at most 8 hex digits. */
			if (n > 8) {
				snprintf(err, errlen, "%u:%zu: '%.*s' is not a 32-bit hex number", lineno,
					 (size_t) (w - line) + 1, (int) n, w);
				return -EBADMSG;
			}
			for (size_t k = 0; k < n; k++) {
				char c = w[k];
				unsigned d = c >= '0' && c <= '9' ? (unsigned) (c - '0') :
					     c >= 'a' && c <= 'f' ? (unsigned) (c - 'a' + 10) : 16;

				if (d == 16) {
					snprintf(err, errlen, "%u:%zu: '%.*s' is not a hex number", lineno,
						 (size_t) (w - line) + 1 + k, (int) n, w);
					return -EBADMSG;
				}
				v = v * 16 + d;
			}
			if (col_of[col] >= 0)
				ret_sum[col_of[col]] += v;
		}
		if (col != 0 && col != ncols) {
			snprintf(err, errlen, "%u:%zu: %zu values, the header has %zu columns", lineno,
				 (size_t) (stop - line) + 1, col, ncols);
			return -EBADMSG;
		}
	}
	return 0;
}

int snap_conntrack_read(struct snapshot *s)
{
	const char *rel = "proc/net/stat/nf_conntrack";
	uint64_t sum[CTSTAT_MAX_NAMES];
	bool have[CTSTAT_MAX_NAMES];
	char *text = NULL, err[160];
	int r;

	r = rootfs_read_file(s->rootfd, rel, CTSTAT_MAX, &text, NULL);
	if (r == -ENOENT)
		return 0;	/* no conntrack in this kernel or tree */
	if (r < 0) {
		snap_bad_input(s, "conntrack", "cannot read %s: %s", snap_path(s, rel), rootfs_strerror(r));
		return 0;
	}
	r = ctstat_parse(text, sum, have, err, sizeof(err));
	free(text);
	if (r < 0) {
		snap_bad_input(s, "conntrack", "%s:%s", snap_path(s, rel), err);
		return 0;
	}
	/* A column this kernel does not print stays missing. */
	for (size_t i = 0; i < ctstat_count; i++)
		if (have[i])
			snap_set_int(s, fact_id_counter(tcpext_count + i), (int64_t) sum[i]);
	return 0;
}
