/* The capped read: all of an open file into memory, never more than a limit,
 * for every reader of files others may write (sysctl.d files, /proc, rules,
 * profiles, the store's manifests).  One loop, so the limit, EINTR and the
 * file that grows while it is read are handled once. */
#ifndef TCPTUNE_ADVISOR_READFILE_H
#define TCPTUNE_ADVISOR_READFILE_H

#include <stddef.h>

/* Read fd to end of file into a new NUL-terminated buffer (the caller frees
 * it) of *ret_len bytes, ret_len may be NULL.  -EFBIG as soon as more than
 * max bytes arrive (st_size is not trusted: /proc reports 0 and a file may
 * grow after fstat); -ENOMEM; a read error as a negative errno.  The buffer
 * may hold NUL bytes: callers that want text check for them. */
int read_fd_capped(int fd, size_t max, char **ret_buf, size_t *ret_len);

#endif
