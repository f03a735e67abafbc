/* What the owners program (bpf/owners.bpf.c) and its loader (owners_bpf.c)
 * share: one record per process that took a socket, as the program writes
 * it and the loader reads it (fixed-size fields, no padding: 24 bytes), and
 * where an inode's run of slots starts in the hash table of the sockets
 * asked about (Fibonacci hashing: the product's high half, masked). */
#ifndef TCPTUNE_OWNERS_REC_H
#define TCPTUNE_OWNERS_REC_H

#include <linux/types.h>

struct owners_rec {
	__u32 tgid;		/* the process, in the initial pid namespace */
	__u32 pad;
	char comm[16];		/* its thread group leader's name, NUL-terminated */
};

#define OWNERS_SLOT(inode, mask) ((__u32) (((__u64) (inode) * 0x9E3779B97F4A7C15ULL) >> 32) & (mask))

#endif
