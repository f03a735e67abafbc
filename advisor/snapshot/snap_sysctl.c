/* Runtime values of every key in the key table, from proc/sys.  A key the
 * kernel lacks is missing, never 0. */
#include "snap_readers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "rootfs.h"
#include "strutil.h"

int snap_sysctl_read(struct snapshot *s)
{
	size_t readable = 0;

	for (size_t i = 0; i < key_count; i++) {
		const struct key_def *k = &key_table[i];
		struct snap_sysctl *v = &s->sysctl[i];
		char path[160] = "proc/sys/", buf[128];
		char *val;
		int r;

		/* Auditing another namespace: host-wide keys come from the host. */
		if (s->host_keys && !k->per_netns) {
			*v = s->host_keys[i];
			if (v->present) {
				readable++;
				if (k->type == KEY_INT)
					snap_set_int(s, fact_id_sysctl(i), v->v[0]);
			}
			continue;
		}
		if (key_proc_path(k, path + 9, sizeof(path) - 9) < 0)
			continue;
		r = rootfs_read_small(s->rootfd, path, buf, sizeof(buf));
		if (r == -ENOENT || r == -ENOTDIR)
			continue;	/* missing on this kernel or in this netns */
		if (r < 0) {
			v->err = r;
			snap_bad_input(s, "sysctl", "cannot read %s: %s", snap_path(s, path), rootfs_strerror(r));
			continue;
		}
		val = str_strip(buf);
		/* proc separates the pair with a tab; key_parse_value takes blanks. */
		for (char *t = val; *t; t++)
			if (*t == '\t')
				*t = ' ';
		if (k->type == KEY_PORT_LIST && strlen(val) > KEY_PORT_LIST_MAX) {
			/* Valid for the kernel, longer than tcptune carries. */
			v->err = -EOVERFLOW;
			snap_note(s, "sysctl", "%s: %zu characters, more than the %d tcptune handles; left alone",
				  snap_path(s, path), strlen(val), KEY_PORT_LIST_MAX);
			continue;
		}
		if (key_parse_value(k, val, v->v) < 0) {
			char shown[48];
			snap_bad_input(s, "sysctl", "%s: unexpected value '%s'", snap_path(s, path),
				       str_escape(val, shown, sizeof(shown)));
			continue;
		}
		v->present = true;
		snprintf(v->raw, sizeof(v->raw), "%s", val);
		readable++;
		if (k->type == KEY_INT)
			snap_set_int(s, fact_id_sysctl(i), v->v[0]);
		else if (k->type == KEY_PORT_LIST)
			snap_set_str(s, fact_id_sysctl(i), v->raw);
		else {
			char pair[64];
			snprintf(pair, sizeof(pair), "%lld %lld", v->v[0], v->v[1]);
			snap_set_str(s, fact_id_sysctl(i), pair);
		}
	}
	return readable > 0 ? 0 : -ENOENT;
}
