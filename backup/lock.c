/* The store lock (see lock.h).  flock() rather than a lock file created with
 * O_EXCL: the kernel drops an flock() with its last descriptor, so a killed
 * tcptune never leaves the store locked, and the pid inside is advisory text
 * for the message "held by pid N", never used to decide anything. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PID_TEXT_MAX 24

pid_t lock_read_pid(int fd)
{
	char buf[PID_TEXT_MAX];
	ssize_t n;
	char *end;
	long v;

	do
		n = pread(fd, buf, sizeof(buf) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') || v <= 0 || v > INT_MAX)
		return 0;
	return (pid_t) v;
}

static int write_pid(int fd)
{
	char buf[PID_TEXT_MAX];
	ssize_t n;
	int len;

	len = snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());
	if (len < 0 || (size_t) len >= sizeof(buf))
		return -EOVERFLOW;
	if (ftruncate(fd, 0) < 0)
		return -errno;
	do
		n = pwrite(fd, buf, (size_t) len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == len ? 0 : -EIO;
}

int lock_take(int storefd, pid_t *ret_pid)
{
	struct stat st;
	int fd, r;

	fd = openat(storefd, LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto fail;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		r = -errno;
		if (r == -EWOULDBLOCK) {
			/* The holder writes its pid right after flock(): we may
			 * see an empty file, which says 0, "unknown". */
			*ret_pid = lock_read_pid(fd);
			r = -EBUSY;
		}
		goto fail;
	}
	r = write_pid(fd);
	if (r < 0)
		goto fail;	/* close() below drops the lock again */
	return fd;
fail:
	close(fd);
	return r;
}

void lock_release(int fd)
{
	if (fd < 0)
		return;
	/* Best effort: a stale pid in an unlocked file misleads nobody, since
	 * only flock() decides.  (An if, not a (void) cast: glibc's
	 * _FORTIFY_SOURCE, which Debian's build flags set, marks ftruncate
	 * warn_unused_result and a cast does not silence that.) */
	if (ftruncate(fd, 0) != 0) {
		/* nothing to do: see above */
	}
	close(fd);
}

bool lock_is_held(int storefd)
{
	char line[256];
	struct stat st;
	bool held = false;
	FILE *f;

	if (fstatat(storefd, LOCK_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return false;
	f = fopen("/proc/locks", "re");
	if (!f)
		return false;
	/* "1: FLOCK  ADVISORY  WRITE 1234 00:2a:12345 0 EOF"; a waiter's line
	 * starts "1: -> FLOCK" and does not match. */
	while (!held && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		unsigned long long ino;
		char type[16];

		/* NOLINTNEXTLINE(cert-err34-c): the kernel's own format; a line that does not give all four fields is skipped */
		if (sscanf(line, "%*d: %15s %*s %*s %*d %x:%x:%llu", type, &maj, &min, &ino) == 4 &&
		    strcmp(type, "FLOCK") == 0 && ino == (unsigned long long) st.st_ino && makedev(maj, min) == st.st_dev)
			held = true;
	}
	fclose(f);
	return held;
}
