/* Container names from cgroup paths; see snap_cgroup.h.  Only the path is
 * read, never a container runtime's socket or state: tcptune runs no other
 * program and talks to no daemon. */
#include "snap_cgroup.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "readfile.h"
#include "strutil.h"

/* Length of the run of characters allowed in an id at s. */
static size_t id_len(const char *s, bool uid)
{
	size_t n = 0;

	while (s[n] && (isxdigit((unsigned char) s[n]) || (uid && (s[n] == '-' || s[n] == '_'))))
		n++;
	return n;
}

/* The text after prefix in one path component comp (comp_len bytes), when
 * it starts with prefix. */
static const char *after(const char *comp, size_t comp_len, const char *prefix)
{
	size_t pl = strlen(prefix);

	if (comp_len < pl || strncmp(comp, prefix, pl) != 0)
		return NULL;
	return comp + pl;
}

/* One cgroup path ("/system.slice/docker-<id>.scope"). */
static int parse_path(const char *path, size_t plen, char *buf, size_t len)
{
	char pod[64] = "", id[16] = "", kind[24] = "", name[128] = "";
	const char *c = path, *end = path + plen;

	while (c < end) {
		const char *slash = memchr(c, '/', (size_t) (end - c));
		size_t cl = slash ? (size_t) (slash - c) : (size_t) (end - c);
		const char *v;
		size_t n;

		if ((v = after(c, cl, "docker-")) || (v = after(c, cl, "cri-containerd-")) ||
		    (v = after(c, cl, "crio-")) || (v = after(c, cl, "libpod-"))) {
			n = id_len(v, false);
			if (n >= 12) {
				snprintf(id, sizeof(id), "%.12s", v);
				snprintf(kind, sizeof(kind), "%s", c[0] == 'd' ? "docker" : c[0] == 'l' ? "podman"
					 : "container");
			}
		} else if (cl >= 12 && id_len(c, false) == cl && (pod[0] || (c - path >= 8 && strncmp(c - 8, "/docker/", 8) == 0))) {
			/* cgroup v1: /docker/<id>, /kubepods/<qos>/pod<uid>/<id> */
			snprintf(id, sizeof(id), "%.12s", c);
			snprintf(kind, sizeof(kind), "%s", pod[0] ? "container" : "docker");
		} else if ((v = after(c, cl, "kubepods-")) && (v = strstr(v, "pod")) && v < c + cl) {
			/* systemd driver: kubepods-burstable-pod<uid with _>.slice */
			n = id_len(v + 3, true);
			snprintf(pod, sizeof(pod), "%.*s", (int) (n < 63 ? n : 63), v + 3);
		} else if ((v = after(c, cl, "pod")) && id_len(v, true) == cl - 3 && cl > 3) {
			/* cgroupfs driver: /kubepods/burstable/pod<uid> */
			snprintf(pod, sizeof(pod), "%.*s", (int) (cl - 3 < 63 ? cl - 3 : 63), v);
		} else if ((v = after(c, cl, "systemd-nspawn@"))) {
			const char *dot = memchr(v, '.', (size_t) (c + cl - v));
			size_t nl = dot ? (size_t) (dot - v) : (size_t) (c + cl - v);
			snprintf(name, sizeof(name), "%.*s", (int) (nl < 127 ? nl : 127), v);
		}
		c += cl + 1;
	}
	for (char *p = pod; *p; p++)
		if (*p == '_')
			*p = '-';
	if (pod[0])
		return str_printf(buf, len, "kubernetes pod %s%s%s", pod, id[0] ? " container " : "", id) < 0
			? -EOVERFLOW : 1;
	if (id[0])
		return str_printf(buf, len, "%s %s", kind, id) < 0 ? -EOVERFLOW : 1;
	if (name[0]) {
		char shown[256];
		return str_printf(buf, len, "systemd-nspawn %s", str_escape(name, shown, sizeof(shown))) < 0
			? -EOVERFLOW : 1;
	}
	return 0;
}

int cgroup_container_parse(const char *text, char *buf, size_t len)
{
	const char *line = text;

	if (len)
		buf[0] = '\0';
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t ll = nl ? (size_t) (nl - line) : strlen(line);
		const char *c1 = memchr(line, ':', ll);
		const char *c2 = c1 ? memchr(c1 + 1, ':', ll - (size_t) (c1 + 1 - line)) : NULL;

		/* "hierarchy-ID:controllers:path" (cgroups(7)). */
		if (c2) {
			int r = parse_path(c2 + 1, ll - (size_t) (c2 + 1 - line), buf, len);
			if (r != 0)
				return r;
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

int cgroup_container_of_pid(int pid, char *buf, size_t len)
{
	char path[64], *text = NULL;
	size_t n;
	int fd, r;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = read_fd_capped(fd, 64 * 1024, &text, &n);
	close(fd);
	if (r < 0)
		return r;
	r = cgroup_container_parse(text, buf, len);
	free(text);
	return r;
}
