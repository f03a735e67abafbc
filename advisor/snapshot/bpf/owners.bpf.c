/* The kernel side of the CLOSE_WAIT attribution through BPF (owners_bpf.c):
 * a task_file iterator that writes one record per open socket descriptor of
 * every process of our pid namespace, in ascending pid order, into the
 * iterator's seq_file.  User space keeps the records whose inode is a
 * CLOSE_WAIT socket of the census.  docs/KERNEL.md §18.5.
 *
 * Built with clang -target bpf into a light skeleton (bpftool gen skeleton
 * -L): the kernel resolves the field offsets below (CO-RE) when it verifies
 * the program, so neither the build nor tcptune reads the kernel's BTF.
 * Only the fields used are declared; preserve_access_index makes each
 * access a relocation against the running kernel's layout. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "owners_rec.h"

#define S_IFMT   00170000
#define S_IFSOCK 0140000

struct task_struct {
	int tgid;
	struct task_struct *group_leader;
	char comm[16];
} __attribute__((preserve_access_index));

struct inode {
	unsigned short i_mode;
	unsigned long i_ino;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
} __attribute__((preserve_access_index));

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));

/* kernel/bpf/task_iter.c: one call per (task, fd); task and file are NULL
 * once, at the end. */
struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
} __attribute__((preserve_access_index));

SEC("iter/task_file")
int owners(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct owners_rec r;
	struct inode *inode;

	if (!task || !file)
		return 0;
	inode = file->f_inode;
	if (!inode || (inode->i_mode & S_IFMT) != S_IFSOCK)
		return 0;
	r.inode = inode->i_ino;
	r.tgid = (__u32) task->tgid;
	r.fd = ctx->fd;
	/* /proc/PID/comm is the thread group leader's name. */
	if (bpf_probe_read_kernel(r.comm, sizeof(r.comm), task->group_leader->comm) < 0)
		r.comm[0] = '\0';
	r.comm[sizeof(r.comm) - 1] = '\0';
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

/* bpf_seq_write() and bpf_probe_read_kernel() are offered to GPL-compatible
 * programs only (kernel/trace/bpf_trace.c, .gpl_only): this file is
 * GPL-2.0 (debian/copyright). */
char LICENSE[] SEC("license") = "GPL";
