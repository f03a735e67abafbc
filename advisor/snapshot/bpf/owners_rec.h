/* One record of the owners iterator (bpf/owners.bpf.c), as it writes it and
 * owners_bpf.c reads it: the same header on both sides, fixed-size fields,
 * no padding (32 bytes). */
#ifndef TCPTUNE_OWNERS_REC_H
#define TCPTUNE_OWNERS_REC_H

#include <linux/types.h>

struct owners_rec {
	__u64 inode;		/* the socket's inode number (sock_diag's idiag_inode) */
	__u32 tgid;		/* the process, in the initial pid namespace */
	__u32 fd;
	char comm[16];		/* its thread group leader's name, NUL-terminated */
};

#endif
