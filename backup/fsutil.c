/* Safe file writing: write_all(), the no-follow directory open and the
 * atomic replace every file tcptune writes goes through (STYLE §4).  Prints
 * nothing; callers report.  Locking and what gets written are txn.c's and
 * store.c's business. */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEMP_TAG ".tmp-"
#define TEMP_SUFFIX_LEN 16	/* hex digits: 64 random bits */
#define TEMP_ATTEMPTS 16	/* EEXIST with 64 random bits means someone is guessing */
#define GETRANDOM_ATTEMPTS 3

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* write() returns 0 only for len 0; never spin on it. */
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

int open_dir_nofollow(const char *path)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	/* With O_DIRECTORY the kernel checks "is a directory" before it checks
	 * "is a symlink" and says ENOTDIR for a symlink (seen on 6.18); ELOOP
	 * names the real reason. */
	if (errno == ENOTDIR && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return -ELOOP;
	return -errno;
}

static bool plain_name(const char *name)
{
	return name[0] != '\0' && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && !strchr(name, '/');
}

static int random_hex(char *buf, size_t n_hex)
{
	unsigned char raw[TEMP_SUFFIX_LEN / 2];
	ssize_t n = -1;

	if (n_hex > 2 * sizeof(raw))
		return -EINVAL;
	for (int i = 0; i < GETRANDOM_ATTEMPTS && n < 0; i++) {
		n = getrandom(raw, n_hex / 2, 0);
		if (n < 0 && errno != EINTR)
			return -errno;
	}
	if (n < 0)
		return -EINTR;
	if (n != (ssize_t) (n_hex / 2))
		return -EIO;	/* cannot happen for <= 256 bytes once the pool is up */
	for (size_t i = 0; i < n_hex / 2; i++) {
		buf[2 * i] = "0123456789abcdef"[raw[i] >> 4];
		buf[2 * i + 1] = "0123456789abcdef"[raw[i] & 15];
	}
	buf[n_hex] = '\0';
	return 0;
}

/* Create ".NAME.tmp-" plus 16 random hex digits in dirfd, mode 0600, never an existing
 * file or a symlink.  Returns the fd (the name in tmp) or -errno. */
static int open_temp_beside(int dirfd, const char *name, char *tmp, size_t tmp_len)
{
	char suffix[TEMP_SUFFIX_LEN + 1];
	int n, r;

	for (int i = 0; i < TEMP_ATTEMPTS; i++) {
		int fd;

		r = random_hex(suffix, TEMP_SUFFIX_LEN);
		if (r < 0)
			return r;
		n = snprintf(tmp, tmp_len, ".%s" TEMP_TAG "%s", name, suffix);
		if (n < 0 || (size_t) n >= tmp_len)
			return -ENAMETOOLONG;
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* The target may be missing, a file or a symlink (replaced, never followed);
 * a directory cannot be replaced by a file.  renameat() would refuse it too,
 * but only after the whole write. */
static int check_target(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	return S_ISDIR(st.st_mode) ? -EISDIR : 0;
}

int atomic_write(int dirfd, const char *name, const void *buf, size_t len, mode_t mode)
{
	char tmp[NAME_MAX + 1];
	bool renamed = false;
	int fd, r;

	if (!plain_name(name))
		return -EINVAL;
	r = check_target(dirfd, name);
	if (r < 0)
		return r;
	fd = open_temp_beside(dirfd, name, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	r = write_all(fd, buf, len);
	if (r == 0 && (fchmod(fd, mode & 07777) < 0 || fsync(fd) < 0))
		r = -errno;
	if (close(fd) < 0 && r == 0)	/* never retry close(): the fd is gone either way */
		r = -errno;
	if (r < 0)
		goto out;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		r = -errno;
		goto out;
	}
	renamed = true;
	/* Make the rename itself durable.  If this fails the new file is already
	 * in place; the caller still gets the error, since a crash now could
	 * bring back the old one. */
	if (fsync(dirfd) < 0)
		r = -errno;
out:
	if (!renamed)
		(void) unlinkat(dirfd, tmp, 0);
	return r;
}

int atomic_write_path(const char *path, const void *buf, size_t len, mode_t mode)
{
	char dir[PATH_MAX];
	const char *slash, *name;
	size_t dlen;
	int dirfd, r;

	slash = strrchr(path, '/');
	if (!slash) {
		name = path;
		dlen = 0;
	} else {
		name = slash + 1;
		dlen = slash == path ? 1 : (size_t) (slash - path);	/* "/name": the root */
	}
	if (name[0] == '\0')
		return slash ? -EISDIR : -EINVAL;	/* "dir/" names a directory, "" nothing */
	if (!plain_name(name))
		return -EINVAL;
	if (dlen == 0) {
		dir[0] = '.';
		dir[1] = '\0';
	} else {
		if (dlen >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, dlen);
		dir[dlen] = '\0';
	}

	dirfd = open_dir_nofollow(dir);
	if (dirfd < 0)
		return dirfd;
	r = atomic_write(dirfd, name, buf, len, mode);
	close(dirfd);
	return r;
}

int atomic_write_cleanup(int dirfd, const char *name)
{
	char prefix[NAME_MAX + 1];
	struct dirent *e;
	DIR *d;
	int fd, removed = 0, r = 0;

	if (snprintf(prefix, sizeof(prefix), ".%s" TEMP_TAG, name) >= (int) sizeof(prefix))
		return -ENAMETOOLONG;
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		/* Only regular files we made; a directory there is not ours. */
		if (unlinkat(dirfd, e->d_name, 0) == 0)
			removed++;
		else if (r == 0)
			r = -errno;
	}
	closedir(d);
	if (removed && fsync(dirfd) < 0 && r == 0)
		r = -errno;
	return r < 0 ? r : removed;
}
