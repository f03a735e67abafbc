/* The backup store's directories and files (see store.h).  All writes go
 * through atomic_write(); all reads refuse symlinks and non-regular files and
 * are capped, since a store is only as trustworthy as its permissions, which
 * store_open() checks. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "readfile.h"
#include "manifest.h"

#define ID_MAX 99999999UL	/* 8 digits, manifest_id_valid() */
#define CREATE_ATTEMPTS 8

/* Make path (0700) and its entry in the parent durable. */
static int make_store_dir(const char *path)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (!slash)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == path)
		snprintf(parent, sizeof(parent), "/");
	else if ((size_t) (slash - path) < sizeof(parent))
		snprintf(parent, sizeof(parent), "%.*s", (int) (slash - path), path);
	else
		return -ENAMETOOLONG;
	fd = open_dir_nofollow(parent);
	if (fd < 0)
		return fd;
	if (fsync(fd) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	close(fd);
	return 0;
}

int store_open(const char *path, bool create)
{
	struct stat st;
	int fd, r;

	if (!path || path[0] == '\0')
		return -EINVAL;
	fd = open_dir_nofollow(path);
	if (fd == -ENOENT && create) {
		r = make_store_dir(path);
		if (r < 0)
			return r;
		fd = open_dir_nofollow(path);
	}
	if (fd < 0)
		return fd;
	/* Whoever can write the store can make recovery write a sysctl.d file
	 * as root: refuse a store anyone else could have written. */
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *) a, y = *(const unsigned long *) b;

	return x < y ? -1 : x > y;
}

/* A directory stream over a duplicate of dirfd (which stays open; closedir()
 * the stream), rewound to the start: the duplicate shares the offset of
 * earlier listings.  NULL with errno set on failure, like opendir(). */
static DIR *dir_stream(int dirfd)
{
	DIR *d;
	int fd, e;

	fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d) {
		e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	rewinddir(d);
	return d;
}

int store_list(int storefd, unsigned long **ret_ids, size_t *ret_n)
{
	unsigned long *ids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = dir_stream(storefd);
	if (!d)
		return -errno;
	errno = 0;
	while ((de = readdir(d))) {
		char canon[16];
		unsigned long id;

		if (!manifest_id_valid(de->d_name))
			continue;
		/* Only names we would have made ("0042", never "42" or "00042"),
		 * so one number always means one directory. */
		id = strtoul(de->d_name, NULL, 10);	/* at most 8 digits: fits */
		store_id_format(id, canon);
		if (strcmp(canon, de->d_name) != 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			unsigned long *t = realloc(ids, ncap * sizeof(*ids));

			if (!t) {
				r = -ENOMEM;
				goto out;
			}
			ids = t;
			cap = ncap;
		}
		ids[n++] = id;
		errno = 0;
	}
	if (errno != 0) {
		r = -errno;
		goto out;
	}
	if (n)
		qsort(ids, n, sizeof(*ids), cmp_ulong);
	*ret_ids = ids;
	*ret_n = n;
	ids = NULL;
out:
	free(ids);
	closedir(d);
	return r;
}

void store_id_format(unsigned long id, char buf[16])
{
	snprintf(buf, 16, "%04lu", id);
}

int store_entry_create(int storefd, char ret_id[16])
{
	unsigned long *ids = NULL, next;
	size_t n = 0;
	char id[16];
	int r;

	r = store_list(storefd, &ids, &n);
	if (r < 0)
		return r;
	next = n ? ids[n - 1] + 1 : 1;
	free(ids);
	for (int i = 0; i < CREATE_ATTEMPTS; i++, next++) {
		if (next > ID_MAX)
			return -EOVERFLOW;
		store_id_format(next, id);
		if (mkdirat(storefd, id, 0700) == 0) {
			r = store_entry_open(storefd, id);
			if (r >= 0)
				memcpy(ret_id, id, sizeof(id));
			return r;
		}
		/* Somebody made one under our feet: the lock should prevent it. */
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int store_entry_open(int storefd, const char *id)
{
	int fd;

	if (!manifest_id_valid(id))
		return -EINVAL;
	fd = openat(storefd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int empty_dir(int dirfd)
{
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = dir_stream(dirfd);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* Without AT_REMOVEDIR a subdirectory fails (EISDIR) and stays. */
		if (unlinkat(dirfd, de->d_name, 0) < 0 && errno != ENOENT) {
			r = -errno;
			break;
		}
	}
	closedir(d);
	return r;
}

int store_entry_remove(int storefd, const char *id)
{
	int fd, r;

	fd = store_entry_open(storefd, id);
	if (fd == -ENOTDIR) {
		/* A file squatting on an id: not an entry, but in the way. */
		if (unlinkat(storefd, id, 0) < 0)
			return -errno;
	} else if (fd < 0) {
		return fd;
	} else {
		r = empty_dir(fd);
		close(fd);
		if (r < 0)
			return r;
		if (unlinkat(storefd, id, AT_REMOVEDIR) < 0)
			return -errno;
	}
	return fsync(storefd) < 0 ? -errno : 0;
}

int store_read_at(int dirfd, const char *name, size_t max, char **ret_buf, size_t *ret_len)
{
	struct stat st;
	size_t got = 0;
	char *buf = NULL;
	int fd, r = 0;

	/* O_NONBLOCK: a FIFO planted at the name must not hang us before the
	 * S_ISREG check. */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	if (st.st_size < 0 || (size_t) st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	r = read_fd_capped(fd, max, &buf, &got);
	if (r < 0)
		goto out;
	*ret_buf = buf;
	*ret_len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

int store_write(int dirfd, const char *name, const void *buf, size_t len)
{
	return atomic_write(dirfd, name, buf, len, 0600);
}

int store_load(int storefd, const char *id, struct txn_entry *ret, uid_t *ret_uid, char *why, size_t why_len)
{
	char *text = NULL;
	size_t len = 0;
	int fd, r;

	fd = store_entry_open(storefd, id);
	if (fd < 0) {
		snprintf(why, why_len, "cannot open the entry: %s", strerror(-fd));
		return fd == -ENOTDIR || fd == -ELOOP ? -EBADMSG : fd;
	}
	r = store_read_at(fd, STORE_MANIFEST, MANIFEST_MAX, &text, &len);
	close(fd);
	if (r == -ENOENT) {
		/* The manifest is written last: recording was cut off before
		 * anything changed. */
		snprintf(why, why_len, STORE_MANIFEST " missing (recording was cut off before any change)");
		return -EBADMSG;
	}
	if (r < 0) {
		snprintf(why, why_len, "cannot read " STORE_MANIFEST ": %s", strerror(-r));
		return r == -EFBIG || r == -ELOOP || r == -EINVAL || r == -EISDIR ? -EBADMSG : r;
	}
	r = manifest_decode(text, len, id, ret, ret_uid, why, why_len);
	free(text);
	return r;
}

int store_save(int storefd, const struct txn_entry *e, uid_t uid)
{
	char *text = NULL;
	int fd, r;

	r = manifest_encode(e, uid, &text);
	if (r < 0)
		return r;
	fd = store_entry_open(storefd, e->id);
	if (fd < 0) {
		free(text);
		return fd;
	}
	r = store_write(fd, STORE_MANIFEST, text, strlen(text));
	close(fd);
	free(text);
	return r;
}

int store_set_status(int storefd, const char *id, const char *status, const char *error)
{
	struct txn_entry e;
	char why[256];
	uid_t uid;
	int r;

	if (!manifest_status_valid(status))
		return -EINVAL;
	r = store_load(storefd, id, &e, &uid, why, sizeof(why));
	if (r < 0)
		return r;
	if (error && strlen(error) >= sizeof(e.error)) {
		r = -EINVAL;
		goto out;
	}
	memcpy(e.status, status, strlen(status) + 1);
	if (error)
		memcpy(e.error, error, strlen(error) + 1);
	r = store_save(storefd, &e, uid);
out:
	manifest_entry_release(&e);
	return r;
}

int store_clean(int storefd)
{
	static const char *const files[] = { STORE_MANIFEST, STORE_PRIOR_CONF, STORE_PRIOR_FILE, STORE_PLANNED_CONF };
	unsigned long *ids = NULL;
	size_t n = 0;
	int r;

	r = store_list(storefd, &ids, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		char id[16];
		int fd;

		store_id_format(ids[i], id);
		fd = store_entry_open(storefd, id);
		if (fd < 0)
			continue;
		if (faccessat(fd, STORE_MANIFEST, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
			close(fd);
			r = store_entry_remove(storefd, id);
			continue;
		}
		for (size_t f = 0; f < sizeof(files) / sizeof(files[0]) && r >= 0; f++)
			r = atomic_write_cleanup(fd, files[f]);
		if (r > 0)
			r = 0;
		close(fd);
	}
	free(ids);
	return r;
}
