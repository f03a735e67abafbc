/* The kernel side of the socket owners through BPF (owners_bpf.c): a task
 * iterator that, for every process of our pid namespace in ascending pid
 * order, looks at each open socket descriptor and, when its inode is one of
 * the sockets asked about (the hash table `slots`), records the process as
 * its holder in its slot unless a lower pid took it already.  The
 * iterator's seq_file gets one record per process that took a socket (its
 * pid and name), so its output stays small whatever one process holds (the
 * seq_file refuses a task whose output passes its 32 KiB buffer).  With
 * insert_all (a walk made during the census, before its sockets are
 * known), every socket met is added to the table with its holder, and
 * the loader looks the census's sockets up afterwards.
 * docs/KERNEL.md §18.5.
 *
 * Each process's descriptor table is read through its bitmap of open
 * descriptors (fdtable->open_fds), and only the set bits are looked at.
 * The kernel's own task_file iterator and /proc/PID/fd listing test every
 * slot up to the table's size instead (fget_task_next()), which is most of
 * their cost where processes have big tables and few descriptors open.
 * The reads are bpf_probe_read_kernel() under the RCU read lock the
 * iterator runs in, without the task lock: a descriptor opened or closed
 * during the walk may be missed or seen, as with any snapshot.
 *
 * Built with clang -target bpf into a light skeleton (bpftool gen skeleton
 * -L): the kernel resolves the field offsets below (CO-RE) when it verifies
 * the program, so neither the build nor tcptune reads the kernel's BTF.
 * Only the fields used are declared; preserve_access_index makes each
 * access a relocation against the running kernel's layout. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "owners_rec.h"

#define S_IFMT   00170000
#define S_IFSOCK 0140000

/* The sockets asked about, as an open-addressing hash table the loader
 * fills (OWNERS_SLOT() of the inode, then the next slots; inode 0 marks a
 * free slot: sockfs never numbers an inode 0, fs/inode.c get_next_ino()),
 * or that the program fills as it walks (insert_all), each slot with the
 * pid of the socket's holder (0: none yet).
 * Sized by the loader before the load (max_entries, a power of two at
 * least twice the sockets) and shared with it by mmap(). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct owners_slot);
} slots SEC(".maps");

__u32 slot_mask;	/* set by the loader: slots' size - 1 */
/* Set by the loader for a walk of every socket (owners_bpf_ahead()): a
 * socket not in the table is added to it, with its holder, up to max_fill
 * sockets (half the slots, so that every run still ends at a free slot);
 * past that, overflow is set and no more are added. */
__u32 insert_all;
__u32 max_fill;
__u32 filled;		/* out: sockets added */
__u32 overflow;		/* out: a socket could not be added */
__u64 sockets;		/* out: socket descriptors seen */

struct files_struct;

struct task_struct {
	int pid;
	int tgid;
	struct task_struct *group_leader;
	struct files_struct *files;
	char comm[16];
} __attribute__((preserve_access_index));

struct inode {
	unsigned short i_mode;
	unsigned long i_ino;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
} __attribute__((preserve_access_index));

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
	unsigned long *open_fds;
} __attribute__((preserve_access_index));

struct files_struct {
	struct fdtable *fdt;
} __attribute__((preserve_access_index));

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));

/* kernel/bpf/task_iter.c: one call per task, task NULL once at the end. */
struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
} __attribute__((preserve_access_index));

/* One process's walk, shared with the bpf_loop() callbacks. */
struct walk {
	unsigned long *open_fds;
	struct file **fd;
	__u64 bits;		/* the word's bits not looked at yet */
	__u32 word;
	__u32 tgid;
	__u32 took;		/* it took a socket */
};

/* A lookup in slots: the slot of key, or of the free slot that ends its
 * run (then not found). */
struct probe {
	__u64 key;
	__u32 slot;
	__u32 found;
};

/* One step of a lookup: 1 when it ends (found, or a free slot). */
static __always_inline long probe_one(struct probe *p)
{
	struct owners_slot *v = bpf_map_lookup_elem(&slots, &p->slot);

	if (!v)
		return 1;
	if (v->inode == 0) {
		/* The end of its run: added here, when every socket is. */
		if (insert_all) {
			if (filled < max_fill) {
				v->inode = p->key;
				filled++;
				p->found = 1;
			} else
				overflow = 1;
		}
		return 1;
	}
	if (v->inode == p->key) {
		p->found = 1;
		return 1;
	}
	p->slot = (p->slot + 1) & slot_mask;
	return 0;
}

static long probe_step(__u32 i, void *arg)
{
	(void) i;
	return probe_one(arg);
}

static __always_inline void one_fd(struct walk *w, __u32 fd)
{
	struct file *f = NULL;
	struct inode *inode;
	struct owners_slot *v;
	struct probe p;

	if (bpf_probe_read_kernel(&f, sizeof(f), &w->fd[fd]) < 0 || !f)
		return;
	inode = BPF_CORE_READ(f, f_inode);
	if (!inode || (BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFSOCK)
		return;
	sockets++;
	p.key = BPF_CORE_READ(inode, i_ino);
	p.slot = OWNERS_SLOT(p.key, slot_mask);
	p.found = 0;
	/* Most runs end at their first slot: that one without the calls of a
	 * bpf_loop() (a second one inline too made the program 2,750
	 * instructions to verify instead of 1,830, and its load 1.3 ms
	 * longer).  The table is at most half full: a run ends within its
	 * size. */
	if (!probe_one(&p))
		bpf_loop(slot_mask + 1, probe_step, &p, 0);
	if (!p.found)
		return;
	v = bpf_map_lookup_elem(&slots, &p.slot);
	/* The walk goes in ascending pid order, on one CPU at a time: the
	 * first to take a socket is its lowest-pid holder. */
	if (v && v->holder == 0) {
		v->holder = w->tgid;
		w->took = 1;
	}
}

/* The index of the lowest set bit of x (not 0), in six steps: the BPF
 * instruction set has no count-trailing-zeros. */
static __always_inline __u32 lowest_bit(__u64 x)
{
	__u32 n = 0;

	if (!(x & 0xffffffffULL)) {
		n += 32;
		x >>= 32;
	}
	if (!(x & 0xffffULL)) {
		n += 16;
		x >>= 16;
	}
	if (!(x & 0xffULL)) {
		n += 8;
		x >>= 8;
	}
	if (!(x & 0xfULL)) {
		n += 4;
		x >>= 4;
	}
	if (!(x & 0x3ULL)) {
		n += 2;
		x >>= 2;
	}
	if (!(x & 0x1ULL))
		n += 1;
	return n;
}

/* bpf_loop() callbacks: the verifier checks each body once, where a loop
 * over 64 bits written out would be checked for every bit. */
static long one_bit(__u32 i, void *arg)
{
	struct walk *w = arg;
	__u64 bits = w->bits;

	(void) i;
	if (!bits)
		return 1;
	w->bits = bits & (bits - 1);
	one_fd(w, w->word * 64 + lowest_bit(bits));
	return 0;
}

static long one_word(__u32 i, void *arg)
{
	struct walk *w = arg;
	unsigned long bits = 0;

	if (bpf_probe_read_kernel(&bits, sizeof(bits), &w->open_fds[i]) < 0)
		return 1;
	if (bits) {
		w->bits = bits;
		w->word = i;
		bpf_loop(64, one_bit, w, 0);
	}
	return 0;
}

SEC("iter/task")
int owners(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task, *leader;
	struct files_struct *files;
	struct fdtable *fdt;
	struct owners_rec rec;
	struct walk w;
	int tgid;

	if (!task)
		return 0;
	/* Each read below is a helper call: none is made twice, and the
	 * group leader is read only for a thread or a record. */
	files = BPF_CORE_READ(task, files);
	if (!files)
		return 0;	/* a kernel thread, or exiting */
	tgid = BPF_CORE_READ(task, tgid);
	/* A thread that shares its process's table: the process has it.  (A
	 * thread with a table of its own, clone() without CLONE_FILES, is
	 * walked; the task_file iterator does the same.) */
	if (BPF_CORE_READ(task, pid) != tgid) {
		leader = BPF_CORE_READ(task, group_leader);
		if (BPF_CORE_READ(leader, files) == files)
			return 0;
	}
	fdt = BPF_CORE_READ(files, fdt);
	if (!fdt)
		return 0;
	w.open_fds = BPF_CORE_READ(fdt, open_fds);
	w.fd = BPF_CORE_READ(fdt, fd);
	w.bits = 0;
	w.word = 0;
	w.tgid = (__u32) tgid;
	w.took = 0;
	bpf_loop((BPF_CORE_READ(fdt, max_fds) + 63) / 64, one_word, &w, 0);
	if (!w.took)
		return 0;
	__builtin_memset(&rec, 0, sizeof(rec));
	rec.tgid = w.tgid;
	/* /proc/PID/comm is the thread group leader's name. */
	leader = BPF_CORE_READ(task, group_leader);
	bpf_core_read(rec.comm, sizeof(rec.comm), &leader->comm);
	rec.comm[sizeof(rec.comm) - 1] = '\0';
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

/* bpf_seq_write() and bpf_probe_read_kernel() are offered to GPL-compatible
 * programs only (kernel/trace/bpf_trace.c, .gpl_only): this file is
 * GPL-2.0 (debian/copyright). */
char LICENSE[] SEC("license") = "GPL";
