/* TcpExt counters from /proc/net/netstat: a header line of names and a line
 * of values, both starting "TcpExt:" (net/ipv4/proc.c netstat_seq_show()).
 * Counters this kernel lacks stay missing. */
#include "snap_readers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs.h"

#define NETSTAT_MAX (256 * 1024)

static const char *next_line(const char *p)
{
	const char *e = strchr(p, '\n');

	return e ? e + 1 : p + strlen(p);
}

static size_t token(const char **p, const char *stop, const char **ret)
{
	const char *s = *p;

	while (s < stop && *s == ' ')
		s++;
	*ret = s;
	while (s < stop && *s != ' ' && *s != '\n')
		s++;
	*p = s;
	return (size_t) (s - *ret);
}

int netstat_counter(const char *text, const char *section, const char *name, unsigned long long *ret)
{
	size_t slen = strlen(section), nlen = strlen(name);
	const char *h = text;

	for (; *h; h = next_line(h)) {
		const char *v, *hstop, *vstop, *hp, *vp;
		bool found = false;
		unsigned long long val = 0;

		if (strncmp(h, section, slen) != 0 || h[slen] != ':')
			continue;
		v = next_line(h);
		if (strncmp(v, section, slen) != 0 || v[slen] != ':')
			return -EBADMSG;
		hstop = v;
		vstop = next_line(v);
		hp = h + slen + 1;
		vp = v + slen + 1;
		for (;;) {
			const char *ht, *vt;
			size_t hl = token(&hp, hstop, &ht), vl = token(&vp, vstop, &vt);

			if (hl == 0 && vl == 0)
				break;
			if (hl == 0 || vl == 0)
				return -EBADMSG;	/* names and values do not pair up */
			if (!found && hl == nlen && memcmp(ht, name, nlen) == 0) {
				val = 0;
				for (size_t i = 0; i < vl; i++) {
					unsigned long long d = (unsigned long long) (vt[i] - '0');

					if (vt[i] < '0' || vt[i] > '9' || val > (~0ULL - d) / 10)
						return -EBADMSG;
					val = val * 10 + d;
				}
				found = true;
			}
		}
		if (!found)
			return -ENOENT;
		*ret = val;
		return 0;
	}
	return -ENOENT;
}

int snap_netstat_read(struct snapshot *s)
{
	char *text = NULL;
	int r;

	r = rootfs_read_file(s->rootfd, "proc/net/netstat", NETSTAT_MAX, &text, NULL);
	if (r < 0) {
		if (r == -ENOENT)
			snap_note(s, "tcpext", "%s: %s", snap_path(s, "proc/net/netstat"), rootfs_strerror(r));
		else
			snap_bad_input(s, "tcpext", "cannot read %s: %s", snap_path(s, "proc/net/netstat"), rootfs_strerror(r));
		return 0;
	}
	for (size_t i = 0; i < tcpext_count; i++) {
		unsigned long long v;

		r = netstat_counter(text, "TcpExt", tcpext_names[i], &v);
		if (r == -EBADMSG) {
			snap_bad_input(s, "tcpext", "%s: malformed TcpExt lines", snap_path(s, "proc/net/netstat"));
			break;
		}
		if (r == 0)
			snap_set_int(s, fact_id_tcpext(i), v > INT64_MAX ? INT64_MAX : (int64_t) v);
	}
	free(text);
	return 0;
}
