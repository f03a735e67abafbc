/* Safe file writing for everything tcptune writes: the managed sysctl.d file,
 * store entries, `check --output`.  Temp file beside the target (O_EXCL,
 * 0600), write, fchmod, fsync, rename, fsync the directory; never follows a
 * symlink at the target's directory or name.  Errors are negative errnos. */
#ifndef TCPTUNE_BACKUP_FSUTIL_H
#define TCPTUNE_BACKUP_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Write all of buf, retrying short writes and EINTR.  0 or -errno. */
int write_all(int fd, const void *buf, size_t len);

/* Open a directory with O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC.  fd or -errno. */
int open_dir_nofollow(const char *path);

/* Replace dirfd/name with buf, or leave the old file exactly as it was (and
 * no temporary file behind).  name must be a plain file name. */
int atomic_write(int dirfd, const char *name, const void *buf, size_t len, mode_t mode);

/* Remove the temporary files a crash inside atomic_write(dirfd, name, ...)
 * can leave (".NAME.tmp-*", never anything else).  Returns how many were
 * removed, or -errno. */
int atomic_write_cleanup(int dirfd, const char *name);

/* atomic_write() for a path: its directory is opened with open_dir_nofollow. */
int atomic_write_path(const char *path, const void *buf, size_t len, mode_t mode);

#endif
