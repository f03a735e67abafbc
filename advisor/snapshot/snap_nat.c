/* NAT signals (docs/KERNEL.md §8.4, §8.2): forwarding, conntrack presence and fill,
 * and whether nf_nat is there.  Built-in nf_nat has no /sys/module entry and
 * /proc/modules is absent on kernels without modules, so "no evidence" is
 * reported as unknown, not as 0, unless the kernel is modular. */
#include "snap_readers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* A bridge that local containers or VMs hang off, by the names their
 * managers give them: Docker (docker0, br-<id>), CNI (cni0, cbr0), podman,
 * libvirt, LXC/LXD/Incus. */
static bool container_bridge_name(const char *n)
{
	static const char *const prefixes[] = { "docker", "br-", "cni", "cbr", "podman", "virbr", "lxcbr", "lxdbr",
						"incusbr" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(n, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* Interfaces of this namespace (sys/class/net): uplinks, those backed by a
 * device (a NIC, physical or virtio), and container bridges.  Dockerd turns
 * ip_forward on and loads conntrack for its containers alone, so forwarding
 * makes a gateway only where no container bridge explains it, or where two
 * uplinks or more do route between networks. */
static void interfaces(struct snapshot *s)
{
	int64_t uplinks = 0, bridges = 0;
	struct dirent *e;
	DIR *d;
	int fd;

	fd = rootfs_openat(s->rootfd, "sys/class/net", O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		snap_note(s, "nat", "cannot list %s: %s; forwarding alone decides nat.gateway",
			  snap_path(s, "sys/class/net"), strerror(-fd));
		return;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((e = readdir(d))) {
		char rel[320];

		if (e->d_name[0] == '.' || strcmp(e->d_name, "lo") == 0)
			continue;
		if (str_printf(rel, sizeof(rel), "sys/class/net/%s/device", e->d_name) == 0 && rootfs_exists(s->rootfd, rel))
			uplinks++;
		else if (container_bridge_name(e->d_name))
			bridges++;
	}
	closedir(d);
	snap_set_int(s, F_NAT_UPLINKS, uplinks);
	snap_set_int(s, F_NAT_CONTAINER_BRIDGES, bridges);
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
	if (read_int(s, "proc/sys/net/ipv6/conf/all/forwarding", &v) == 0)
		snap_set_int(s, F_NAT_IP6_FORWARD, v);
	nat_loaded(s);
	interfaces(s);
	{
		const struct fact_val *f4 = snap_get(s, F_NAT_IP_FORWARD), *f6 = snap_get(s, F_NAT_IP6_FORWARD);
		const struct fact_val *up = snap_get(s, F_NAT_UPLINKS), *br = snap_get(s, F_NAT_CONTAINER_BRIDGES);
		bool fwd = (f4->present && f4->i) || (f6->present && f6->i);
		bool only_containers = br->present && br->i > 0 && !(up->present && up->i >= 2);

		snap_set_int(s, F_NAT_GATEWAY, fwd && ct && !only_containers);
	}
	return 0;
}
