/* Kernel release and version, always from proc/sys/kernel/osrelease under
 * the root so that --root and live runs share one path (docs/ARCHITECTURE.md §3). */
#include "snap_readers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "keys.h"
#include "rootfs.h"
#include "strutil.h"

/* Kernel configurations: the text ones are ~250 KiB; past these caps the
 * file is not a kernel configuration. */
#define KCONFIG_TEXT_MAX (4u << 20)
#define KCONFIG_GZ_MAX (16u << 20)

/* One line of a kernel configuration: 1 and CONFIG_HZ in *hz for a valid
 * "CONFIG_HZ=N", -EINVAL for a CONFIG_HZ line with a value no architecture
 * offers (Kconfig's choices run from 24 to 1200), 0 for any other line. */
static int kconfig_hz_line(const char *line, int *hz)
{
	long long v;

	if (strncmp(line, "CONFIG_HZ=", 10) != 0)
		return 0;
	if (parse_ll_trim(line + 10, KEY_HZ_MIN, 10000, &v) < 0)
		return -EINVAL;
	*hz = (int) v;
	return 1;
}

/* CONFIG_HZ from the gzip'd configuration the kernel exports
 * (CONFIG_IKCONFIG_PROC).  Returns 1, 0 (no CONFIG_HZ line), -EINVAL or
 * a read error. */
static int kconfig_gz_hz(int fd, int *hz)
{
	char line[256];
	gzFile gz = gzdopen(fd, "rb");
	bool line_start = true;
	size_t total = 0;
	int r = 0;

	if (!gz) {
		close(fd);
		return -ENOMEM;
	}
	while (r == 0 && gzgets(gz, line, sizeof(line))) {
		size_t n = strlen(line);

		total += n;
		if (total > KCONFIG_GZ_MAX) {
			r = -EFBIG;
			break;
		}
		/* A line longer than the buffer comes in pieces; only a
		 * piece that starts a line is a line. */
		if (line_start)
			r = kconfig_hz_line(line, hz);
		line_start = n > 0 && line[n - 1] == '\n';
	}
	if (r == 0 && !gzeof(gz))
		r = -EIO;
	gzclose(gz);
	return r;
}

/* CONFIG_HZ from a text configuration, as in /boot/config-RELEASE. */
static int kconfig_text_hz(int rootfd, const char *rel, int *hz)
{
	char *buf, *save = NULL;
	size_t len;
	int r = rootfs_read_file(rootfd, rel, KCONFIG_TEXT_MAX, &buf, &len);

	if (r < 0)
		return r;
	r = 0;
	for (char *l = strtok_r(buf, "\n", &save); l && r == 0; l = strtok_r(NULL, "\n", &save))
		r = kconfig_hz_line(l, hz);
	free(buf);
	return r;
}

/* The kernel's CONFIG_HZ (the range of jiffies keys, docs/KERNEL.md §1.2):
 * from proc/config.gz, the running kernel's own configuration, else from
 * boot/config-RELEASE; 0 when neither tells.  Under --root both are read
 * inside the tree. */
static void snap_kernel_hz(struct snapshot *s)
{
	char rel[160];
	int fd, r;

	fd = rootfs_open_regular(s->rootfd, "proc/config.gz");
	if (fd >= 0) {
		r = kconfig_gz_hz(fd, &s->kernel_hz);
		if (r == 1) {
			s->kernel_hz_source = "proc/config.gz";
			return;
		}
		if (r < 0)
			snap_note(s, "kernel", "%s: %s", snap_path(s, "proc/config.gz"),
				  r == -EINVAL ? "CONFIG_HZ is not a valid HZ" : rootfs_strerror(r));
	}
	if (!s->kernel_release[0] || (size_t) snprintf(rel, sizeof(rel), "boot/config-%s", s->kernel_release) >=
	    sizeof(rel))
		return;
	r = kconfig_text_hz(s->rootfd, rel, &s->kernel_hz);
	if (r == 1) {
		s->kernel_hz_source = "boot/config";
		return;
	}
	if (r < 0 && r != -ENOENT)
		snap_note(s, "kernel", "%s: %s", snap_path(s, rel),
			  r == -EINVAL ? "CONFIG_HZ is not a valid HZ" : rootfs_strerror(r));
	s->kernel_hz = 0;
}

int kernel_version_parse(const char *release, long *ret)
{
	long part[3] = { 0, 0, 0 };
	const char *p = release;
	int parts = 0;

	for (int i = 0; i < 3; i++) {
		long v = 0;
		int digits = 0;

		while (*p >= '0' && *p <= '9' && digits < 9) {
			v = v * 10 + (*p - '0');
			p++;
			digits++;
		}
		if (digits == 0) {
			if (i < 2)
				return -EINVAL;	/* need at least major.minor */
			break;
		}
		part[i] = v;
		parts++;
		if (*p != '.')
			break;
		p++;
	}
	if (parts < 2 || part[0] > 255 || part[1] > 255)
		return -EINVAL;
	if (part[2] > 255)
		part[2] = 255;
	*ret = part[0] * 65536 + part[1] * 256 + part[2];
	return 0;
}

int snap_kernel_read(struct snapshot *s)
{
	char buf[128];
	char *rel;
	int r;

	r = rootfs_read_small(s->rootfd, "proc/sys/kernel/osrelease", buf, sizeof(buf));
	if (r < 0) {
		if (r == -ENOENT)
			snap_note(s, "kernel", "%s: %s", snap_path(s, "proc/sys/kernel/osrelease"), rootfs_strerror(r));
		else
			snap_bad_input(s, "kernel", "cannot read %s: %s", snap_path(s, "proc/sys/kernel/osrelease"),
				       rootfs_strerror(r));
		return 0;
	}
	rel = str_strip(buf);
	if (kernel_version_parse(rel, &s->kernel_version) < 0) {
		char shown[48];
		snap_bad_input(s, "kernel", "%s: unexpected release '%s'", snap_path(s, "proc/sys/kernel/osrelease"),
			       str_escape(rel, shown, sizeof(shown)));
		s->kernel_version = -1;
		return 0;
	}
	snprintf(s->kernel_release, sizeof(s->kernel_release), "%s", rel);
	snap_set_int(s, F_KERNEL_VERSION, s->kernel_version);
	snap_set_str(s, F_KERNEL_RELEASE, rel);
	snap_kernel_hz(s);
	if (s->kernel_hz > 0)
		snap_set_int(s, F_KERNEL_HZ, s->kernel_hz);
	return 0;
}
