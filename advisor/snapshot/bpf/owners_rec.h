/* What the owners program (bpf/owners.bpf.c) and its loader (owners_bpf.c)
 * share: the slots of the table of sockets; one record per process that
 * took a socket, as the program writes it and the loader reads it
 * (fixed-size fields, no padding: 24 bytes); and
 * where an inode's run of slots starts in the hash table of the sockets
 * asked about (Fibonacci hashing: the product's high half, masked). */
#ifndef TCPTUNE_OWNERS_REC_H
#define TCPTUNE_OWNERS_REC_H

#include <linux/types.h>

/* A slot of the hash table of the sockets asked about: the inode (0: a
 * free slot), filled by the loader, and the pid of its holder (0: none
 * yet), written by the program.  Side by side, a found socket's holder is
 * in the cache line its lookup just read. */
struct owners_slot {
	__u64 inode;
	__u64 holder;
};

struct owners_rec {
	__u32 tgid;		/* the process, in the initial pid namespace */
	__u32 pad;
	char comm[16];		/* its thread group leader's name, NUL-terminated */
};

#define OWNERS_SLOT(inode, mask) ((__u32) (((__u64) (inode) * 0x9E3779B97F4A7C15ULL) >> 32) & (mask))

#endif
