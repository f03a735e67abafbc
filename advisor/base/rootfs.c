/* File access under the audited root; see rootfs.h. */
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "readfile.h"

/* fd of "/" is treated as the live system: plain openat. */
static bool is_live_root(int rootfd)
{
	struct stat a, b;

	if (fstat(rootfd, &a) < 0 || stat("/", &b) < 0)
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int rootfs_open(const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int rootfs_openat_in(int dirfd, const char *rel, int flags, bool confine)
{
	int fd;

	while (*rel == '/')
		rel++;
	if (confine) {
		struct open_how how = {
			.flags = (unsigned long long) (flags | O_CLOEXEC),
			.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
		};
		fd = (int) syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
		if (fd >= 0 || errno != ENOSYS)
			return fd < 0 ? -errno : fd;
	}
	fd = openat(dirfd, rel, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int rootfs_openat(int rootfd, const char *rel, int flags)
{
	return rootfs_openat_in(rootfd, rel, flags, !is_live_root(rootfd));
}

int rootfs_open_regular(int rootfd, const char *rel)
{
	struct stat st;
	/* O_NONBLOCK: opening a FIFO planted in a --root tree must not wait
	 * for a writer; it is refused below like any other non-file. */
	int fd = rootfs_openat(rootfd, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -ROOTFS_ENOTREG;
	}
	return fd;
}

const char *rootfs_strerror(int r)
{
	return r == -ROOTFS_ENOTREG ? "not a regular file" : strerror(-r);
}

int rootfs_read_file(int rootfd, const char *rel, size_t max, char **ret_buf, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	int fd, r;

	fd = rootfs_open_regular(rootfd, rel);
	if (fd < 0)
		return fd;
	r = read_fd_capped(fd, max, &buf, &len);
	close(fd);
	if (r < 0)
		return r;
	if (memchr(buf, '\0', len)) {
		free(buf);
		return -EINVAL;
	}
	*ret_buf = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int rootfs_read_small(int rootfd, const char *rel, char *buf, size_t cap)
{
	char *data;
	size_t len;
	int r;

	r = rootfs_read_file(rootfd, rel, cap - 1, &data, &len);
	if (r < 0)
		return r;
	/* len is set on success.  The analyzer (LLVM 14) does not know that
	 * errno > 0 after a failed read(), so it lets `r = -errno` be 0. */
	memcpy(buf, data, len + 1);	/* NOLINT(clang-analyzer-core.UndefinedBinaryOperatorResult) */
	free(data);
	return 0;
}

bool rootfs_exists(int rootfd, const char *rel)
{
	/* O_PATH | O_NOFOLLOW opens a final symlink itself; the components
	 * before it resolve inside the root like every other path. */
	int fd = rootfs_openat(rootfd, rel, O_PATH | O_NOFOLLOW);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}
