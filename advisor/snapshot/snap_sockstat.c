/* /proc/net/sockstat{,6}.  Scopes differ per field (docs/KERNEL.md §9.3,
 * net/ipv4/proc.c sockstat_seq_show()): inuse and tw are per network
 * namespace, orphan, alloc and mem count every namespace on the host. */
#include "snap_readers.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs.h"
#include "strutil.h"

#define SOCKSTAT_MAX (64 * 1024)

int sockstat_field(const char *text, const char *prefix, const char *name, long long *ret)
{
	size_t plen = strlen(prefix), nlen = strlen(name);
	const char *line = text;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t) (end - line) : strlen(line);

		if (len > plen && strncmp(line, prefix, plen) == 0 && line[plen] == ' ') {
			/* "name value" pairs after the prefix */
			const char *p = line + plen;
			const char *stop = line + len;

			while (p < stop) {
				char tok[32], val[32];
				size_t tl = 0, vl = 0;

				while (p < stop && *p == ' ')
					p++;
				while (p < stop && *p != ' ' && tl < sizeof(tok) - 1)
					tok[tl++] = *p++;
				tok[tl] = '\0';
				while (p < stop && *p == ' ')
					p++;
				while (p < stop && *p != ' ' && vl < sizeof(val) - 1)
					val[vl++] = *p++;
				val[vl] = '\0';
				if (tl == 0)
					break;
				if (tl == nlen && memcmp(tok, name, nlen) == 0)
					return parse_ll(val, 0, LLONG_MAX, ret) < 0 ? -EINVAL : 0;
			}
			return -ENOENT;
		}
		line = end ? end + 1 : NULL;
	}
	return -ENOENT;
}

static void set_field(struct snapshot *s, const char *file, const char *text, const char *prefix,
		      const char *name, size_t fact)
{
	long long v;
	int r = sockstat_field(text, prefix, name, &v);

	if (r == 0)
		snap_set_int(s, fact, v);
	else if (r == -EINVAL)
		snap_bad_input(s, "sockstat", "%s: bad value for '%s %s'", snap_path(s, file), prefix, name);
	else
		snap_bad_input(s, "sockstat", "%s: no '%s %s' field", snap_path(s, file), prefix, name);
}

int snap_sockstat_read(struct snapshot *s)
{
	char *text = NULL;
	int r;

	r = rootfs_read_file(s->rootfd, "proc/net/sockstat", SOCKSTAT_MAX, &text, NULL);
	if (r < 0) {
		if (r == -ENOENT)
			snap_note(s, "sockstat", "%s: %s", snap_path(s, "proc/net/sockstat"), rootfs_strerror(r));
		else
			snap_bad_input(s, "sockstat", "cannot read %s: %s", snap_path(s, "proc/net/sockstat"),
				       rootfs_strerror(r));
	} else {
		set_field(s, "proc/net/sockstat", text, "TCP:", "inuse", F_SOCKSTAT_INUSE);
		set_field(s, "proc/net/sockstat", text, "TCP:", "orphan", F_SOCKSTAT_ORPHAN);
		set_field(s, "proc/net/sockstat", text, "TCP:", "tw", F_SOCKSTAT_TW);
		set_field(s, "proc/net/sockstat", text, "TCP:", "alloc", F_SOCKSTAT_ALLOC);
		set_field(s, "proc/net/sockstat", text, "TCP:", "mem", F_SOCKSTAT_MEM_PAGES);
		free(text);
		text = NULL;
	}
	r = rootfs_read_file(s->rootfd, "proc/net/sockstat6", SOCKSTAT_MAX, &text, NULL);
	if (r == 0)
		set_field(s, "proc/net/sockstat6", text, "TCP6:", "inuse", F_SOCKSTAT_INUSE6);
	else if (r != -ENOENT)
		snap_bad_input(s, "sockstat", "cannot read %s: %s", snap_path(s, "proc/net/sockstat6"), rootfs_strerror(r));
	free(text);
	return 0;
}
