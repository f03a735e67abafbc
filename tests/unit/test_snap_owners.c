/* The socket owners through the BPF walk (snap_owners.c) and their use by
 * the CLOSE_WAIT attribution (snap_procfd.c), over a fake walk: the linker
 * wraps owners_bpf_find() (LDWRAP_test_snap_owners), which does with the
 * socket descriptors a case lists what the kernel program does, in the
 * order it meets them (ascending pid, but a thread with a table of its own
 * at its thread id).  The snapshot's
 * root is a scratch directory with an empty proc/, so the /proc fallback
 * finds no process at all. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "facts.h"
#include "owners_bpf.h"
#include "snap_readers.h"
#include "snapshot.h"
#include "strutil.h"
#include "tcpstates.h"

struct rec {
	uint64_t inode;
	int pid;
	const char *comm;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

static const struct rec *recs;
static size_t n_recs;
static int walk_fails;		/* after the records: this error, 0 none */
static unsigned walks;

/* What the kernel program does, over recs[]: a run of records of one pid
 * is one task's visit; a socket asked about goes to the first visit that
 * has it, and fn hears of each visit that took one. */
int __wrap_owners_bpf_find(const uint64_t *inodes, size_t n, uint32_t *ret_pid, owners_fn fn, void *arg,
			   uint64_t *ret_sockets, char *why, size_t len);
int __wrap_owners_bpf_find(const uint64_t *inodes, size_t n, uint32_t *ret_pid, owners_fn fn, void *arg,
			   uint64_t *ret_sockets, char *why, size_t len)
{
	walks++;
	for (size_t i = 1; i < n; i++)
		assert_true(inodes[i - 1] < inodes[i]);	/* sorted, unique */
	for (size_t i = 0; i < n_recs;) {
		size_t j = i;
		bool took = false;

		for (; j < n_recs && recs[j].pid == recs[i].pid; j++) {
			const uint64_t *hit = bsearch(&recs[j].inode, inodes, n, sizeof(*inodes), cmp_u64);

			if (hit && !ret_pid[hit - inodes]) {
				ret_pid[hit - inodes] = (uint32_t) recs[j].pid;
				took = true;
			}
		}
		if (took) {
			int r = fn(arg, recs[i].pid, recs[i].comm);

			if (r < 0)
				return r;
		}
		i = j;
	}
	*ret_sockets = n_recs;
	if (walk_fails) {
		snprintf(why, len, "fake failure");
		return walk_fails;
	}
	return 0;
}

/* What the census's hook asked to start ahead (LDWRAP_test_snap_owners
 * wraps owners_bpf_ahead() too: nothing is loaded). */
static unsigned aheads;
static size_t ahead_n;

int __wrap_owners_bpf_ahead(size_t n);
int __wrap_owners_bpf_ahead(size_t n)
{
	aheads++;
	ahead_n = n;
	return 0;
}

static char root[64];
static struct snapshot s;

/* A census of CLOSE_WAIT sockets cw[] and listeners li[] (inodes). */
static void census_make(const uint64_t *cw, size_t n_cw, const uint64_t *li, size_t n_li)
{
	struct census *c = &s.census;

	c->cw = calloc(n_cw ? n_cw : 1, sizeof(*c->cw));
	c->listeners = calloc(n_li ? n_li : 1, sizeof(*c->listeners));
	assert_non_null(c->cw);
	assert_non_null(c->listeners);
	for (size_t i = 0; i < n_cw; i++) {
		c->cw[i].inode = cw[i];
		c->cw[i].owner = -1;
		c->cw[i].uid = 1000;
	}
	for (size_t i = 0; i < n_li; i++)
		c->listeners[i].inode = li[i];
	c->n_cw = n_cw;
	c->n_listeners = n_li;
	c->states[TCPS_CLOSE_WAIT] = n_cw;
}

static int setup(void **state)
{
	char proc[80];

	(void) state;
	snprintf(root, sizeof(root), "/tmp/tcptune-owners.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(proc, sizeof(proc), "%s/proc", root);
	if (mkdir(proc, 0755) < 0)
		return -1;
	if (snapshot_init(&s, &(struct snap_target){ .root = root }) < 0)
		return -1;
	/* The owners are looked for on live systems only: this one plays one. */
	s.live = true;
	s.census_ok = true;
	recs = NULL;
	n_recs = 0;
	walk_fails = 0;
	walks = 0;
	aheads = 0;
	unsetenv("TCPTUNE_OWNERS");
	return 0;
}

static int teardown(void **state)
{
	char proc[80];

	(void) state;
	snapshot_release(&s);
	snprintf(proc, sizeof(proc), "%s/proc", root);
	rmdir(proc);
	rmdir(root);
	unsetenv("TCPTUNE_OWNERS");
	return 0;
}

static int pid_of(uint64_t inode)
{
	int h = snap_owner_of(&s, inode);

	return h < 0 ? -1 : s.holders[h].pid;
}

/* The lowest pid holding a socket gets it; sockets not asked about are
 * dropped; a thread with its own table (pid 7's, after pid 9) counts for
 * its process, which keeps one holder entry; names are escaped. */
static void test_lowest_pid_wins(void **state)
{
	static const uint64_t cw[] = { 30, 10, 20 }, li[] = { 40 };
	static const struct rec r[] = {
		{ 99, 5, "other" }, { 20, 5, "nginx" },
		{ 10, 7, "java" }, { 20, 7, "java" },
		{ 40, 9, "bad\nname" },
		{ 30, 7, "java" }, { 10, 8, "late" },
	};
	char want[64];

	(void) state;
	census_make(cw, 3, li, 1);
	recs = r;
	n_recs = sizeof(r) / sizeof(r[0]);
	assert_int_equal(snap_owners_walk(&s), 0);
	assert_int_equal(pid_of(10), 7);
	assert_int_equal(pid_of(20), 5);
	assert_int_equal(pid_of(30), 7);
	assert_int_equal(pid_of(40), 9);
	assert_int_equal(pid_of(99), -1);
	assert_int_equal(s.n_holders, 3);
	assert_int_equal(s.holders[0].pid, 5);
	assert_int_equal(s.holders[1].pid, 7);
	assert_int_equal(s.holders[2].pid, 9);
	assert_string_equal(s.holders[2].comm, str_escape("bad\nname", want, sizeof(want)));
	assert_null(strchr(s.holders[2].comm, '\n'));
	/* Made once per snapshot. */
	assert_int_equal(snap_owners_walk(&s), 0);
	assert_int_equal(walks, 1);
}

/* The CLOSE_WAIT attribution from the walk: owners, counts, and the one
 * socket no process held. */
static void test_procfd_from_walk(void **state)
{
	static const uint64_t cw[] = { 10, 20, 30, 50 };
	static const struct rec r[] = {
		{ 20, 5, "nginx" }, { 10, 7, "java" }, { 30, 7, "java" },
	};
	const struct census *c = &s.census;

	(void) state;
	census_make(cw, 4, NULL, 0);
	recs = r;
	n_recs = sizeof(r) / sizeof(r[0]);
	assert_int_equal(snap_procfd_read(&s), 0);
	assert_int_equal(walks, 1);
	assert_int_equal(c->n_procs, 2);
	/* biggest first */
	assert_int_equal(c->procs[0].pid, 7);
	assert_int_equal(c->procs[0].count, 2);
	assert_string_equal(c->procs[0].comm, "java");
	assert_int_equal(c->procs[1].pid, 5);
	assert_int_equal(c->procs[1].count, 1);
	assert_int_equal(snap_get(&s, F_CW_PROCESSES)->i, 2);
	assert_int_equal(snap_get(&s, F_CW_UNATTRIBUTED)->i, 1);
	assert_int_equal(snap_get(&s, F_CW_TOP_PID)->i, 7);
	for (size_t i = 0; i < c->n_cw; i++)
		if (c->cw[i].inode == 50)
			assert_int_equal(c->cw[i].owner, -1);
		else
			assert_int_equal(c->procs[c->cw[i].owner].pid, c->cw[i].inode == 20 ? 5 : 7);
	/* The note says no process held it, not that /proc was unreadable. */
	assert_int_equal(s.n_notes, 1);
	assert_non_null(strstr(s.notes[0].text, "1 CLOSE_WAIT sockets not attributed to a process: no process held them"));
}

/* A walk that fails midway leaves nothing behind, is not made again, and
 * the attribution reads /proc (here empty: nothing attributed). */
static void test_failed_walk_forgotten(void **state)
{
	static const uint64_t cw[] = { 10, 20 };
	static const struct rec r[] = { { 10, 7, "java" } };

	(void) state;
	census_make(cw, 2, NULL, 0);
	recs = r;
	n_recs = 1;
	walk_fails = -EAGAIN;
	assert_int_equal(snap_owners_walk(&s), -EAGAIN);
	assert_int_equal(snap_owner_of(&s, 10), -1);
	assert_null(s.holders);
	assert_int_equal(s.n_owned, 0);
	assert_int_equal(snap_owners_walk(&s), -EAGAIN);
	assert_int_equal(walks, 1);
	assert_int_equal(snap_procfd_read(&s), 0);
	assert_int_equal(walks, 1);
	assert_int_equal(s.census.n_procs, 0);
	assert_int_equal(snap_get(&s, F_CW_UNATTRIBUTED)->i, 2);
}

/* TCPTUNE_OWNERS=proc: no walk, /proc read (here empty: nothing found). */
static void test_env_proc(void **state)
{
	static const uint64_t cw[] = { 10 };
	static const struct rec r[] = { { 10, 7, "java" } };

	(void) state;
	census_make(cw, 1, NULL, 0);
	recs = r;
	n_recs = 1;
	setenv("TCPTUNE_OWNERS", "proc", 1);
	assert_int_equal(snap_procfd_read(&s), 0);
	assert_int_equal(walks, 0);
	assert_int_equal(snap_get(&s, F_CW_UNATTRIBUTED)->i, 1);
	assert_true(snap_owners_walk(&s) < 0);
	assert_int_equal(walks, 0);
}

/* An unknown value: bad input, noted once, and the walk made as with
 * "auto". */
static void test_env_bad(void **state)
{
	static const uint64_t cw[] = { 10 };
	static const struct rec r[] = { { 10, 7, "java" } };

	(void) state;
	census_make(cw, 1, NULL, 0);
	recs = r;
	n_recs = 1;
	setenv("TCPTUNE_OWNERS", "ebpf", 1);
	assert_int_equal(snap_procfd_read(&s), 0);
	assert_int_equal(walks, 1);
	assert_int_equal(s.census.n_procs, 1);
	assert_int_equal(s.census.procs[0].pid, 7);
	assert_int_equal(s.n_notes, 1);
	assert_true(s.notes[0].bad_input);
	assert_non_null(strstr(s.notes[0].text, "TCPTUNE_OWNERS=ebpf: expected auto or proc"));
}

/* ... and reported when there is no CLOSE_WAIT socket to attribute. */
static void test_env_bad_quiet(void **state)
{
	(void) state;
	census_make(NULL, 0, NULL, 0);
	setenv("TCPTUNE_OWNERS", "Proc", 1);
	assert_int_equal(snap_procfd_read(&s), 0);
	assert_int_equal(walks, 0);
	assert_int_equal(s.n_notes, 1);
	assert_true(s.notes[0].bad_input);
	assert_non_null(strstr(s.notes[0].text, "TCPTUNE_OWNERS=Proc"));
}

/* Not a live system (--root): never a walk. */
static void put_file(const char *rel, const char *text)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void remove_file(const char *rel)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	(void) unlink(path);
}

/* The census's hook starts the walk ahead only inside snapshot_take()
 * (owners_ahead), on a live system, with TCPTUNE_OWNERS unset or auto,
 * when proc/sys/fs/file-nr counts at most SNAP_OWNERS_WALK_AHEAD open
 * files, with a table that has room for every one of them. */
static void test_ahead_when(void **state)
{
	char dir[120];

	(void) state;
	snprintf(dir, sizeof(dir), "%s/proc/sys", root);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/proc/sys/fs", root);
	assert_int_equal(mkdir(dir, 0755), 0);
	put_file("proc/sys/fs/file-nr", "4000\t0\t9223372036854775807\n");

	s.owners_ahead = false;
	snap_owners_ahead(&s);
	assert_int_equal(aheads, 0);	/* snapshot_take_sockets(): the census alone */

	s.owners_ahead = true;
	setenv("TCPTUNE_OWNERS", "proc", 1);
	snap_owners_ahead(&s);
	assert_int_equal(aheads, 0);
	setenv("TCPTUNE_OWNERS", "auto", 1);

	snap_owners_ahead(&s);
	assert_int_equal(aheads, 1);
	assert_true(ahead_n >= 4000);

	put_file("proc/sys/fs/file-nr", "65536\t0\t9223372036854775807\n");
	snap_owners_ahead(&s);
	assert_int_equal(aheads, 2);
	assert_true(ahead_n >= 65536);

	/* Too many files, a count that is not one, no count: no walk ahead. */
	put_file("proc/sys/fs/file-nr", "65537\t0\t9223372036854775807\n");
	snap_owners_ahead(&s);
	put_file("proc/sys/fs/file-nr", "lots\t0\t1\n");
	snap_owners_ahead(&s);
	remove_file("proc/sys/fs/file-nr");
	snap_owners_ahead(&s);
	assert_int_equal(aheads, 2);

	/* A walk made, or failed, already, or a system not live: none. */
	put_file("proc/sys/fs/file-nr", "4000\t0\t9223372036854775807\n");
	s.owners_walk = 1;
	snap_owners_ahead(&s);
	s.owners_walk = 0;
	s.live = false;
	snap_owners_ahead(&s);
	assert_int_equal(aheads, 2);

	remove_file("proc/sys/fs/file-nr");
	snprintf(dir, sizeof(dir), "%s/proc/sys/fs", root);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/proc/sys", root);
	rmdir(dir);
}

static void test_not_live(void **state)
{
	static const uint64_t cw[] = { 10 };

	(void) state;
	census_make(cw, 1, NULL, 0);
	s.live = false;
	assert_true(snap_owners_walk(&s) < 0);
	assert_int_equal(walks, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lowest_pid_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_procfd_from_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_walk_forgotten, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_proc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_bad_quiet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ahead_when, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
