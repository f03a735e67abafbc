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
	size_t len = 0, cap = 0;
	int fd, r = 0;

	fd = rootfs_open_regular(rootfd, rel);
	if (fd < 0)
		return fd;
	for (;;) {
		ssize_t n;

		if (cap - len < 4096 + 1) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nbuf;

			if (ncap > max + 4096 + 1)
				ncap = max + 4096 + 1;
			if (ncap <= cap) {
				r = -EFBIG;
				goto out;
			}
			nbuf = realloc(buf, ncap);
			if (!nbuf) {
				r = -ENOMEM;
				goto out;
			}
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t) n;
		if (len > max) {
			r = -EFBIG;
			goto out;
		}
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf) {
			r = -ENOMEM;
			goto out;
		}
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len)) {
		r = -EINVAL;
		goto out;
	}
	*ret_buf = buf;
	buf = NULL;
	if (ret_len)
		*ret_len = len;
out:
	free(buf);
	close(fd);
	return r;
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
