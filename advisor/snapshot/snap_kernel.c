/* Kernel release and version, always from proc/sys/kernel/osrelease under
 * the root so that --root and live runs share one path (docs/ARCHITECTURE.md §3). */
#include "snap_readers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rootfs.h"
#include "strutil.h"

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
	return 0;
}
