/* The key table: the single source of truth for every sysctl tcptune reads or
 * writes.  Pure data plus lookups; backup/ may include this header.
 * Facts behind each row: docs/KERNEL.md §2.1 (ranges §1.2, scope §2.2,
 * history §2.4), each with the kernel source that shows it. */
#ifndef TCPTUNE_ADVISOR_KEYS_H
#define TCPTUNE_ADVISOR_KEYS_H

#include <stdbool.h>
#include <stddef.h>

enum key_type {
	KEY_INT,		/* one integer */
	KEY_INT_PAIR,		/* two integers, "low high" (ip_local_port_range) */
	KEY_PORT_LIST,		/* a set of ports, "8080,9000-9100" (ip_local_reserved_ports);
				 * v[0] identifies the set, v[1] counts its ports (keys.c) */
};

/* The longest port list tcptune carries, in its canonical text: what fits
 * the 64-byte value fields of the snapshot and the store. */
#define KEY_PORT_LIST_MAX 62

struct key_def {
	const char *name;	/* dotted, e.g. "net.ipv4.tcp_fin_timeout" */
	enum key_type type;
	const char *unit;	/* "s", "ms", "count", "enum", "port" */
	long long kmin, kmax;	/* what the kernel accepts on write (EINVAL outside) */
	long long amin, amax;	/* what tcptune will apply */
	const char *arange_why;	/* why the apply range is narrower */
	bool per_netns;		/* false: host-wide, absent in child netns */
	const char *added;	/* first kernel release with the key, NULL if older than we care */
	const char *per_netns_since;	/* release that gave each network namespace its own copy;
					 * before it the key exists only on the host (docs/KERNEL.md §2.4) */
	const char *removed;	/* release that removed it, NULL if present */
	const char *module;	/* module that provides it, NULL if core */
	bool writable;		/* may tcptune ever write it */
	const char *own_rule;	/* the rule that judges its harmful runtime values, where one
				 * does; otherwise a value outside the apply range is
				 * harmful-value's (harmful-boot-value's for boot, always) */
	bool kunsigned;		/* proc_dou8vec_minmax or proc_douintvec_minmax: a '-' is refused */
	bool jiffies;		/* proc_dointvec_jiffies: the kernel accepts |v| <= INT_MAX/HZ;
				 * kmin/kmax hold the bound at HZ=1000 (docs/KERNEL.md §1.2) */
	const char *kdefault;	/* what a new namespace starts with, where a write's result
				 * depends on it (a vector written in part, a cross-key check);
				 * NULL for the others (docs/KERNEL.md §1.4) */
	const char *kmax_since;	/* release that raised kmax to its value here, NULL if never;
				 * before it the kernel refused values above kmax_before
				 * (docs/KERNEL.md §16.3) */
	long long kmax_before;
	const char *explain;	/* one paragraph */
};

extern const struct key_def key_table[];
extern const size_t key_count;

/* Index of the key called name, or -ENOENT.  Accepts '/' separators. */
int key_index(const char *name);
const struct key_def *key_lookup(const char *name);

/* Write "net/ipv4/tcp_fin_timeout" for k into buf.  Returns 0 or -ENAMETOOLONG.
 * Only names from the table ever become paths (docs/SECURITY.md). */
int key_proc_path(const struct key_def *k, char *buf, size_t len);

/* Parse "60" (KEY_INT) or "32768 60999" (KEY_INT_PAIR) as the kernel would
 * accept it: decimal, surrounding blanks ignored.  Fills v[0] (and v[1]).
 * Returns 0 or -EINVAL. */
int key_parse_value(const struct key_def *k, const char *s, long long v[2]);

/* "4.12" -> 4*65536 + 12*256 (the kernel.version encoding), -1 if malformed. */
long key_release_code(const char *release);

/* Why k can be absent from /proc/sys here, from the table alone: "removed in
 * Linux 4.12", "added in Linux 6.14" (kernel older), "host-wide key: absent in
 * a container's network namespace", "host-wide before Linux 4.6: ..." (a key
 * that became per-namespace later), "needs module nf_conntrack"; NULL when the
 * table gives no reason.  kernel_version as kernel.version, -1 unknown. */
const char *key_absence_reason(const struct key_def *k, long kernel_version, char *buf, size_t len);

/* Is v within the kernel range / the apply range?  For pairs both elements
 * are checked and low <= high is required. */
/* A parsed value in the kernel's own text form, as /proc/sys prints it
 * ("30", "1024 65535"), without a newline.  Returns the length or
 * -EOVERFLOW.  The one form in which values are compared and written. */
int key_format_value(const struct key_def *k, const long long v[2], char *buf, size_t len);

/* A value's kernel text as shown to a person: "(empty)" for the empty text
 * (a port list with no port, as ip_local_reserved_ports reads when nothing
 * is reserved), else the text itself. */
const char *key_value_shown(const char *text);

/* What the kernel does when text (as a program writes it, without the
 * newline it adds) is written to k: the parsing of proc_dointvec and its
 * family (docs/KERNEL.md §1.1) and the ranges of k's handler (§1.2, key
 * table; for jiffies keys the bound of CONFIG_HZ hz, 0 unknown).  Elements
 * the text does not reach keep their value in cur.  Returns 0 with the new
 * value in ret, KEY_WRITE_HZ_DEPENDS with the value in ret and the
 * condition in why, -EINVAL with the reason in why ("'+' is refused:
 * only '-' is a sign"), or -EOVERFLOW for a port set the kernel takes but
 * whose text is longer than tcptune carries (KEY_PORT_LIST_MAX). */
int key_kernel_write(const struct key_def *k, const char *text, const long long cur[2], int hz,
		     long long ret[2], char *why, size_t why_len);

/* key_kernel_write()'s result for a jiffies key written where CONFIG_HZ is
 * unknown with a value above the HZ=1000 bound: accepted on kernels whose
 * HZ is at most INT_MAX/|v|, refused on the others; why says which. */
#define KEY_WRITE_HZ_DEPENDS 1

/* The smallest CONFIG_HZ any architecture offers (arch/mips/Kconfig: 24;
 * docs/KERNEL.md §1.2). */
#define KEY_HZ_MIN 24
/* The largest: arch/alpha/Kconfig's HZ_1200 (and HZ_1024 on alpha and
 * mips), so INT_MAX/1200 is taken by every kernel (docs/KERNEL.md §1.2). */
#define KEY_HZ_MAX 1200

/* The range the kernel accepts for k where CONFIG_HZ is hz (0: unknown).
 * A jiffies key: +-INT_MAX/hz, or with hz unknown +-INT_MAX/KEY_HZ_MIN, the
 * widest any kernel has, so that a refusal is predicted only where every
 * kernel refuses.  Other keys: kmin..kmax. */
void key_kernel_bounds(const struct key_def *k, int hz, long long *lo, long long *hi);

/* The checks a write of v to key index k makes against other keys at write
 * time (ip_local_port_range against ip_unprivileged_port_start and back,
 * docs/KERNEL.md §1.4); state holds every key's current value by key table
 * index.  Returns 0, or -EINVAL with the reason in why. */
int key_kernel_cross_check(size_t k, const long long v[2], const long long state[][2],
			   char *why, size_t why_len);

bool key_in_kernel_range(const struct key_def *k, const long long v[2]);

/* Port sets (KEY_PORT_LIST), as a bitmap of 65536 bits.  Parse text as
 * proc_do_large_bitmap() does on a write at offset 0 (docs/KERNEL.md §20.2):
 * "N" or "N-M" items separated by ',' or '\n', numbers as the kernel reads
 * them (decimal, 0x hex, 0 octal), nothing else; the result replaces the
 * set.  Returns 0 or -EINVAL with the reason in why. */
int key_ports_parse(const char *text, unsigned char bm[65536 / 8], char *why, size_t why_len);
/* The kernel's own text of a set ("8080,9000-9100", "" when empty).
 * Returns the length or -EOVERFLOW. */
int key_ports_format(const unsigned char bm[65536 / 8], char *buf, size_t len);
static inline bool key_ports_has(const unsigned char bm[65536 / 8], unsigned port)
{
	return port < 65536 && (bm[port / 8] >> (port % 8) & 1);
}
static inline void key_ports_add(unsigned char bm[65536 / 8], unsigned port)
{
	if (port < 65536)
		bm[port / 8] |= (unsigned char) (1u << (port % 8));
}

/* The same on the kernel of version kernel_version (kernel.version, -1
 * unknown: this table's range): ranges that changed with a release are
 * applied.  When v is refused, writes the reason into why ("2 needs Linux
 * 4.18; this kernel accepts 0 to 1"). */
bool key_in_kernel_range_at(const struct key_def *k, const long long v[2], long kernel_version, char *why,
			    size_t why_len);

/* Is v a value tcptune calls harmful: outside the apply range of a key
 * tcptune writes, or of a read-only key a rule of its own judges
 * (tcp_tw_recycle: any value but 0)? */
bool key_value_harmful(const struct key_def *k, const long long v[2]);
bool key_in_apply_range(const struct key_def *k, const long long v[2]);

#endif
