/* Write one sysctl and read it back.  The name is checked against the key
 * table (known and writable) before any path is built from it (docs/SECURITY.md). */
#ifndef TCPTUNE_BACKUP_SYSCTL_WRITE_H
#define TCPTUNE_BACKUP_SYSCTL_WRITE_H

#include <stdbool.h>
#include <stddef.h>

/* Read key (key table index) under proc_sys into buf (normalized: blanks
 * collapsed to one space, no newline).  -ENOENT when the kernel lacks it. */
int sysctl_read(const char *proc_sys, size_t key, char *buf, size_t len);

/* Write value with one write(2) at offset 0 (kernel.sysctl_writes_strict),
 * O_WRONLY|O_NOFOLLOW, then read back.  Returns 0, the kernel's error
 * (-EINVAL rejected, -EACCES/-EPERM, -EROFS, -ENOENT), or -ERANGE when the
 * read-back value differs (the kernel clamped it); *ret_readback holds it. */
int sysctl_write(const char *proc_sys, size_t key, const char *value, char *ret_readback, size_t len);

/* Compare two values of key as the kernel means them ("1024\t65535" equals
 * "1024 65535"); the same text is always equal, parsable or not. */
bool sysctl_value_equal(size_t key, const char *a, const char *b);

#endif
