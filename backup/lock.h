/* The store lock: one transaction at a time (docs/ARCHITECTURE.md §4).  An flock()
 * on <store>/lock, released by the kernel when the holder exits however it
 * exits, so a crash never leaves a stale lock; the file holds the holder's pid
 * only to say who it is. */
#ifndef TCPTUNE_BACKUP_LOCK_H
#define TCPTUNE_BACKUP_LOCK_H

#include <stdbool.h>
#include <sys/types.h>

#define LOCK_NAME "lock"

/* Take the lock in the open store directory storefd and write our pid into
 * it.  Returns the lock fd (keep it open while the transaction runs), -EBUSY
 * with *ret_pid set to the holder's pid (0 if it has not written it yet or it
 * cannot be read) when another open of the lock file holds it, or -errno. */
int lock_take(int storefd, pid_t *ret_pid);

/* Clear our pid and release the lock; fd < 0 is a no-op. */
void lock_release(int fd);

/* Is the lock in the store at storefd held now (a transaction is running)?
 * Read from /proc/locks, which lists every flock() with the device and inode
 * it holds: nobody's lock is taken, so a running apply is never disturbed.
 * False when it cannot tell. */
bool lock_is_held(int storefd);

/* The pid in the lock file fd, 0 when empty or not a pid. */
pid_t lock_read_pid(int fd);

#endif
