/* NAT signals (docs/KERNEL.md §8.4, §8.2): forwarding, conntrack presence and fill,
 * and whether nf_nat is there.  Built-in nf_nat has no /sys/module entry and
 * /proc/modules is absent on kernels without modules, so "no evidence" is
 * reported as unknown, not as 0, unless the kernel is modular. */
#include "snap_readers.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs.h"
#include "strutil.h"

static int read_int(struct snapshot *s, const char *rel, long long *ret)
{
	char buf[64];
	int r = rootfs_read_small(s->rootfd, rel, buf, sizeof(buf));

	if (r < 0)
		return r;
	return parse_ll_trim(buf, LLONG_MIN, LLONG_MAX, ret);
}

/* Does a line of rel start with word followed by a blank or end of line? */
static bool file_has_word(struct snapshot *s, const char *rel, const char *word, int *ret_err)
{
	char *text = NULL;
	size_t wl = strlen(word);
	bool found = false;
	int r;

	r = rootfs_read_file(s->rootfd, rel, 4 * 1024 * 1024, &text, NULL);
	*ret_err = r;
	if (r < 0)
		return false;
	for (const char *p = text; *p; ) {
		const char *e = strchr(p, '\n');
		if (strncmp(p, word, wl) == 0 && (p[wl] == ' ' || p[wl] == '\n' || p[wl] == '\0'))
			found = true;
		p = e ? e + 1 : p + strlen(p);
	}
	free(text);
	return found;
}

static void nat_loaded(struct snapshot *s)
{
	char rel[256];
	int err;

	if (rootfs_exists(s->rootfd, "sys/module/nf_nat") ||
	    file_has_word(s, "proc/modules", "nf_nat", &err) ||
	    file_has_word(s, "proc/net/ip_tables_names", "nat", &err)) {
		snap_set_int(s, F_NAT_NAT_LOADED, 1);
		return;
	}
	if (s->kernel_release[0] &&
	    str_printf(rel, sizeof(rel), "lib/modules/%s/modules.builtin", s->kernel_release) == 0) {
		char *text = NULL;
		if (rootfs_read_file(s->rootfd, rel, 4 * 1024 * 1024, &text, NULL) == 0) {
			bool builtin = strstr(text, "/nf_nat.ko\n") != NULL;
			free(text);
			snap_set_int(s, F_NAT_NAT_LOADED, builtin);
			return;
		}
	}
	if (rootfs_exists(s->rootfd, "proc/modules")) {
		snap_set_int(s, F_NAT_NAT_LOADED, 0);
		return;
	}
	snap_note(s, "nat", "cannot tell whether nf_nat is built in: no proc/modules and no modules.builtin");
}

int snap_nat_read(struct snapshot *s)
{
	long long v;
	bool ct;

	if (read_int(s, "proc/sys/net/ipv4/ip_forward", &v) == 0)
		snap_set_int(s, F_NAT_IP_FORWARD, v);
	else
		snap_note(s, "nat", "cannot read %s", snap_path(s, "proc/sys/net/ipv4/ip_forward"));
	ct = rootfs_exists(s->rootfd, "proc/sys/net/netfilter/nf_conntrack_max") ||
	     rootfs_exists(s->rootfd, "sys/module/nf_conntrack");
	snap_set_int(s, F_NAT_CONNTRACK_LOADED, ct);
	if (read_int(s, "proc/sys/net/netfilter/nf_conntrack_count", &v) == 0)
		snap_set_int(s, F_NAT_CONNTRACK_COUNT, v);
	if (read_int(s, "proc/sys/net/netfilter/nf_conntrack_max", &v) == 0)
		snap_set_int(s, F_NAT_CONNTRACK_MAX, v);
	nat_loaded(s);
	return 0;
}
