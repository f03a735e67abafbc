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

/* Read all of rel into a NUL-terminated malloc'd buffer (proc files report
 * size 0, so read to EOF).  Files larger than max bytes give -EFBIG; a NUL
 * byte inside gives -EINVAL.  On success *ret_buf is owned by the caller. */
int rootfs_read_file(int rootfd, const char *rel, size_t max, char **ret_buf, size_t *ret_len);

/* Read a small file into buf (cap bytes incl. NUL).  -EFBIG if it does not fit. */
int rootfs_read_small(int rootfd, const char *rel, char *buf, size_t cap);

/* Does rel exist (without following a final symlink)? */
bool rootfs_exists(int rootfd, const char *rel);

#endif
