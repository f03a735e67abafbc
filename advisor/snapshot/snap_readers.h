/* The snapshot's readers, one per source (snap_<source>.c).  Each fills its
 * facts in the snapshot and notes what it could not see; none fails the
 * snapshot on its own except where snapshot.c says so. */
#ifndef TCPTUNE_ADVISOR_SNAP_READERS_H
#define TCPTUNE_ADVISOR_SNAP_READERS_H

#include "snapshot.h"

/* "6.18.44-fc" -> 6*65536 + 18*256 + 44 (patch clamped to 255 like the
 * kernel's KERNEL_VERSION()).  Returns 0 or -EINVAL. */
int kernel_version_parse(const char *release, long *ret);

int snap_kernel_read(struct snapshot *s);	/* proc/sys/kernel/osrelease */
int snap_sysctl_read(struct snapshot *s);	/* proc/sys/<every key in the table> */
int snap_sockets_read(struct snapshot *s);	/* sock_diag, else proc/net/tcp{,6} */
int snap_sockstat_read(struct snapshot *s);	/* proc/net/sockstat{,6} */
int snap_netstat_read(struct snapshot *s);	/* proc/net/netstat TcpExt */
int snap_nat_read(struct snapshot *s);		/* ip_forward, conntrack, nf_nat */
int snap_conntrack_read(struct snapshot *s);	/* proc/net/stat/nf_conntrack */
int snap_procfd_read(struct snapshot *s);	/* CLOSE_WAIT owners: the BPF walk, else proc/PID/fd */
int snap_listen_read(struct snapshot *s);	/* listen queues per listener, from the census */
int snap_boot_read(struct snapshot *s);		/* sysctl.d resolution */
int snap_txn_read(struct snapshot *s);		/* unfinished transactions in the store */
int snap_harmful_read(struct snapshot *s);	/* values outside the apply range, now and at boot */

/* Socket owners through the BPF walk (snap_owners.c).  snap_owners_walk()
 * finds, once per snapshot, the process holding each CLOSE_WAIT and each
 * listening socket of the census: 0 when s->holders and s->owned_by hold
 * them, or a negative errno when the walk cannot be made here (not live,
 * TCPTUNE_OWNERS=proc, no privilege, an older kernel: the reason is logged
 * with -v) and the callers read /proc.  snap_owner_of(): the index in
 * s->holders of inode's holder, -1 when no process held it or no walk was
 * made. */
int snap_owners_walk(struct snapshot *s);
int snap_owner_of(const struct snapshot *s, uint64_t inode);
/* TCPTUNE_OWNERS: "proc" turns the walk off for this snapshot; unset or
 * "auto" leaves it on; anything else is noted as bad input and taken as
 * "auto".  Read by every snapshot, so that a mistyped value is reported
 * even when there is nothing to attribute. */
void snap_owners_env(struct snapshot *s);
/* The census's hook at its first CLOSE_WAIT socket (arg: the snapshot):
 * where the walk will be made (snapshot_take() on a live system), start it
 * on another thread while the dump goes on (owners_bpf_ahead()), a walk of
 * every socket descriptor, when the host has at most
 * SNAP_OWNERS_WALK_AHEAD open files (the first field of
 * /proc/sys/fs/file-nr, so at most that many socket descriptors: its
 * table then takes 4 MiB at most).  snap_owners_walk() takes what it made;
 * with more files, or none counted, it walks after the census.
 * snap_owners_drop() waits for and drops what no walk took. */
#define SNAP_OWNERS_WALK_AHEAD 65536
void snap_owners_ahead(void *snapshot);
void snap_owners_drop(void);

/* Parsers exposed for unit tests. */
/* "TCP: inuse 7 orphan 1 tw 2 alloc 11 mem 3": value of field `name` on the
 * line starting with `prefix`.  Returns 0, -ENOENT (no such field) or -EINVAL. */
int sockstat_field(const char *text, const char *prefix, const char *name, long long *ret);
/* Value of counter `name` in the "TcpExt:" header/value line pair of
 * /proc/net/netstat text.  Returns 0, -ENOENT, or -EBADMSG when the pair is
 * malformed (different field counts, non-numeric values). */
int netstat_counter(const char *text, const char *section, const char *name, unsigned long long *ret);
/* /proc/net/stat/nf_conntrack text: the columns named in ctstat_names
 * summed over the CPU lines into ret_sum[i], ret_have[i] telling whether the
 * header has that column (both ctstat_count long, at most
 * CTSTAT_MAX_NAMES).  Returns 0, or -EBADMSG with "line:col: why" in err. */
#define CTSTAT_MAX_NAMES 16
int ctstat_parse(const char *text, uint64_t ret_sum[], bool ret_have[], char *err, size_t errlen);

#endif
