/* Reading files under the audited root ("/" or --root DIR).  Paths are
 * relative ("proc/sys/net/ipv4/tcp_fin_timeout").  Under --root, absolute
 * symlinks resolve inside DIR (openat2 RESOLVE_IN_ROOT), so a copied tree
 * never leads back to the live host. */
#ifndef TCPTUNE_ADVISOR_ROOTFS_H
#define TCPTUNE_ADVISOR_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>

/* Open root as a directory.  Returns an fd or a negative errno. */
int rootfs_open(const char *root);

/* open(2) rel under rootfd with flags (O_CLOEXEC added).  Returns fd or -errno. */
int rootfs_openat(int rootfd, const char *rel, int flags);

/* The same under any directory dirfd; with confine, absolute symlinks and
 * ".." resolve inside dirfd (openat2 RESOLVE_IN_ROOT; plain openat on
 * kernels before 5.6, which lack openat2). */
int rootfs_openat_in(int dirfd, const char *rel, int flags, bool confine);

/* Open rel for reading, refusing anything but a regular file (-EISDIR for a
 * directory, -ROOTFS_ENOTREG for a FIFO, socket or device, without blocking
 * on a FIFO).  Returns fd or -errno. */
int rootfs_open_regular(int rootfd, const char *rel);

/* The errno rootfs_open_regular() gives a FIFO, socket or device: one no
 * open or read of a file returns, so rootfs_strerror() can name it. */
#define ROOTFS_ENOTREG EBADFD

/* strerror(-r), with "not a regular file" for -ROOTFS_ENOTREG. */
const char *rootfs_strerror(int r);

/* Read all of regular file rel into a NUL-terminated malloc'd buffer (proc
 * files report size 0, so read to EOF).  Files larger than max bytes give -EFBIG; a NUL
 * byte inside gives -EINVAL.  On success *ret_buf is owned by the caller. */
int rootfs_read_file(int rootfd, const char *rel, size_t max, char **ret_buf, size_t *ret_len);

/* Read a small file into buf (cap bytes incl. NUL).  -EFBIG if it does not fit. */
int rootfs_read_small(int rootfd, const char *rel, char *buf, size_t cap);

/* Does rel exist (without following a final symlink)? */
bool rootfs_exists(int rootfd, const char *rel);

#endif
