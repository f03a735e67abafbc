/* The previous check's state file (snap_state.c): the parser and formatter,
 * the facts a previous check gives (under a --root tree, where the file is
 * read and never written), and the writer (mode 0600, never through a
 * symlink, only into a private directory). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "facts.h"
#include "keys.h"
#include "snap_state.h"
#include "snapshot.h"

#define BOOT "0f0e0d0c-0b0a-4908-8706-050403020100"

static const char good[] =
	STATE_MAGIC "\n"
	"boot_id " BOOT "\n"
	"netns_cookie 4096\n"
	"uptime_cs 86370025\n"
	"time 1764650000\n"
	"counter ListenOverflows 1800 1764600000\n"
	"counter TCPReqQFullDrop 0 1764000000\n";

static void test_parse_and_format(void **state)
{
	struct check_state st, back;
	char buf[STATE_MAX_BYTES];
	unsigned line = 0;
	int len;

	(void) state;
	assert_int_equal(check_state_parse(good, strlen(good), &st, &line), 0);
	assert_string_equal(st.boot_id, BOOT);
	assert_true(st.netns_cookie == 4096);
	assert_true(st.uptime_cs == 86370025);
	assert_true(st.time == 1764650000);
	assert_int_equal(st.n, 2);
	assert_non_null(check_state_find(&st, "ListenOverflows"));
	assert_true(check_state_find(&st, "ListenOverflows")->value == 1800);
	assert_true(check_state_find(&st, "TCPReqQFullDrop")->since == 1764000000);
	assert_null(check_state_find(&st, "TW"));

	len = check_state_format(&st, buf, sizeof(buf));
	assert_int_equal(len, (int) strlen(good));
	assert_memory_equal(buf, good, strlen(good));
	assert_int_equal(check_state_parse(buf, (size_t) len, &back, &line), 0);
	assert_memory_equal(&back, &st, sizeof(st));
	/* Too small a buffer is -ENOSPC, never a truncated file. */
	assert_int_equal(check_state_format(&st, buf, 40), -ENOSPC);
	assert_int_equal(check_state_format(&st, buf, strlen(good)), -ENOSPC);
}

static void test_parse_rejects(void **state)
{
	static const struct { const char *text; unsigned line; } cases[] = {
		{ "", 0 },
		{ "tcptune-check-state 2\n", 1 },
		{ STATE_MAGIC, 1 },						/* no newline */
		{ STATE_MAGIC "\nboot_id " BOOT "\n", 2 },			/* lines missing */
		{ STATE_MAGIC "\nboot_id " BOOT "\nboot_id " BOOT "\n", 3 },	/* repeated */
		{ STATE_MAGIC "\nboot_id 0F0E0D0C-0B0A-4908-8706-050403020100\n", 2 },
		{ STATE_MAGIC "\nboot_id 0f0e0d0c\n", 2 },
		{ STATE_MAGIC "\nuptime_cs -5\n", 2 },
		{ STATE_MAGIC "\nuptime_cs 12a\n", 2 },
		{ STATE_MAGIC "\ntime  5\n", 2 },				/* two spaces */
		{ STATE_MAGIC "\nhost example\n", 2 },				/* unknown line */
		{ STATE_MAGIC "\ncounter TW 1\n", 2 },
		{ STATE_MAGIC "\ncounter TW 1 2 3\n", 2 },
		{ STATE_MAGIC "\ncounter T-W 1 2\n", 2 },
		{ STATE_MAGIC "\ncounter TW 1 2\ncounter TW 1 2\n", 3 },	/* repeated */
		{ STATE_MAGIC "\ncounter TW 99999999999999999999 2\n", 2 },	/* beyond int64 */
	};
	struct check_state st;

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned line = 99;

		if (check_state_parse(cases[i].text, strlen(cases[i].text), &st, &line) != -EINVAL)
			fail_msg("case %zu parsed: %s", i, cases[i].text);
		if (line != cases[i].line)
			fail_msg("case %zu: line %u, want %u", i, line, cases[i].line);
	}
	/* A NUL inside a line. */
	{
		static const char nul[] = STATE_MAGIC "\ntime 5\0\n";
		unsigned line = 0;
		assert_int_equal(check_state_parse(nul, sizeof(nul) - 1, &st, &line), -EINVAL);
		assert_int_equal(line, 2);
	}
}

/* ---- the facts, under a --root tree ---------------------------------------- */

static char tree[64];

static void put(const char *rel, const char *text)
{
	char path[256], cmd[320];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int setup_tree(void **state)
{
	(void) state;
	snprintf(tree, sizeof(tree), "/tmp/tcptune-state-test.XXXXXX");
	if (!mkdtemp(tree))
		return -1;
	put("proc/sys/kernel/random/boot_id", BOOT "\n");
	put("proc/uptime", "864000.25 1700000.00\n");	/* 10 days */
	return 0;
}

static int teardown_tree(void **state)
{
	char cmd[128];

	(void) state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tree);
	return system(cmd) == 0 ? 0 : -1;
}

static size_t counter_idx(const char *name)
{
	for (size_t i = 0; i < tcpext_count; i++)
		if (!strcmp(tcpext_names[i], name))
			return i;
	fail_msg("no counter %s", name);
	return 0;
}

/* A snapshot of the tree with ListenOverflows = lo and TCPReqQFullDrop = 0,
 * after an `apply web-server` made at time change (seconds since the epoch;
 * 0: none), loaded with the state file. */
static void load_changed(struct snapshot *s, int64_t lo, int64_t change, struct state_place *place,
			 struct check_state *cur)
{
	struct snap_target t = { .root = tree };

	assert_int_equal(snapshot_init(s, &t), 0);
	assert_false(s->live);
	/* The initial network namespace: tcp_max_orphans exists (docs/KERNEL.md §2.2). */
	s->sysctl[key_index("net.ipv4.tcp_max_orphans")].present = true;
	snap_set_int(s, fact_id_tcpext(counter_idx("ListenOverflows")), lo);
	snap_set_int(s, fact_id_tcpext(counter_idx("TCPReqQFullDrop")), 0);
	if (change) {
		snap_set_int(s, F_TXN_LAST_TIME, change);
		assert_int_equal(snap_set_str(s, F_TXN_LAST_WHAT, "apply web-server"), 0);
	}
	assert_int_equal(snap_state_load(s, place, cur), 0);
}

static void load(struct snapshot *s, int64_t lo, struct state_place *place, struct check_state *cur)
{
	load_changed(s, lo, 0, place, cur);
}

static const char *evidence(const struct snapshot *s, const char *name)
{
	const struct fact_val *f = snap_get(s, fact_id_evidence_tcpext(counter_idx(name)));
	return f->present ? f->s : "(missing)";
}

static const struct fact_val *delta(const struct snapshot *s, const char *name)
{
	return snap_get(s, fact_id_delta_tcpext(counter_idx(name)));
}

static bool noted(const struct snapshot *s, const char *text)
{
	for (size_t i = 0; i < s->n_notes; i++)
		if (!strcmp(s->notes[i].source, "evidence") && strstr(s->notes[i].text, text))
			return true;
	return false;
}

/* Since when the counters count: boot in the initial namespace, the
 * namespace's creation in another (no tcp_max_orphans, other net.ipv4 keys
 * there), both said when no net.ipv4 key was read. */
static void test_counters_since(void **state)
{
	struct snapshot s;
	struct snap_target t = { .root = tree };
	int orphans = key_index("net.ipv4.tcp_max_orphans"), fin = key_index("net.ipv4.tcp_fin_timeout");

	(void) state;
	assert_true(orphans >= 0 && fin >= 0);
	assert_int_equal(snapshot_init(&s, &t), 0);
	assert_string_equal(snap_counters_since(&s), "boot, or the network namespace's creation");
	s.sysctl[fin].present = true;
	assert_string_equal(snap_counters_since(&s), "this network namespace was created");
	s.sysctl[orphans].present = true;
	assert_string_equal(snap_counters_since(&s), "boot");
	snapshot_release(&s);
}

static void test_no_previous(void **state)
{
	struct snapshot s;
	struct state_place place;
	struct check_state cur;

	(void) state;
	load(&s, 1840, &place, &cur);	/* runs before any test writes root.state */
	assert_true(place.in_root);
	assert_int_equal(snap_get(&s, F_UPTIME_SECONDS)->i, 864000);
	assert_false(snap_get(&s, F_DELTA_SECONDS)->present);
	assert_false(delta(&s, "ListenOverflows")->present);
	assert_string_equal(evidence(&s, "ListenOverflows"), "1840 since boot (up 10 days), no earlier check to compare");
	assert_string_equal(evidence(&s, "TCPReqQFullDrop"), "0 since boot");
	assert_string_equal(evidence(&s, "TW"), "(missing)");	/* not read: no evidence either */
	assert_int_equal(s.n_notes, 0);
	/* This check's state: this boot, the counters read, first seen now. */
	assert_string_equal(cur.boot_id, BOOT);
	assert_true(cur.uptime_cs == 86400025);
	assert_int_equal(cur.n, 2);
	assert_true(check_state_find(&cur, "ListenOverflows")->value == 1840);
	assert_true(check_state_find(&cur, "ListenOverflows")->since == cur.time);
	/* Under --root nothing is written. */
	assert_int_equal(snap_state_save(&place, &cur), 0);
	{
		char path[256];
		snprintf(path, sizeof(path), "%s/var/lib/tcptune/check/root.state", tree);
		assert_int_equal(access(path, F_OK), -1);
	}
	snapshot_release(&s);
}

static void test_previous_check(void **state)
{
	struct snapshot s;
	struct state_place place;
	struct check_state cur;

	(void) state;
	/* 300 s before, 40 fewer overflows: a recent increase. */
	put("var/lib/tcptune/check/root.state", good);
	load(&s, 1840, &place, &cur);
	assert_int_equal(snap_get(&s, F_DELTA_SECONDS)->i, 300);
	assert_int_equal(delta(&s, "ListenOverflows")->i, 40);
	assert_int_equal(delta(&s, "TCPReqQFullDrop")->i, 0);
	assert_string_equal(evidence(&s, "ListenOverflows"), "+40 since the previous check 5 min ago");
	assert_true(check_state_find(&cur, "ListenOverflows")->since == cur.time);	/* changed: seen now */
	assert_true(check_state_find(&cur, "TCPReqQFullDrop")->since == 1764000000);	/* unchanged: kept */
	snapshot_release(&s);

	/* The same count as before: history, with the first sighting kept. */
	load(&s, 1800, &place, &cur);
	assert_int_equal(delta(&s, "ListenOverflows")->i, 0);
	assert_non_null(strstr(evidence(&s, "ListenOverflows"), "1800 since boot (up 10 days), no increase since "));
	assert_true(check_state_find(&cur, "ListenOverflows")->since == 1764600000);
	snapshot_release(&s);

	/* A tcptune change between the two checks: the increase may predate it. */
	put("var/lib/tcptune/check/root.state", good);
	load_changed(&s, 1840, (int64_t) time(NULL) - 60, &place, &cur);	/* within the 300 s */
	assert_int_equal(delta(&s, "ListenOverflows")->i, 40);
	assert_non_null(strstr(evidence(&s, "ListenOverflows"),
			       "+40 since the previous check 5 min ago, some of it perhaps before tcptune's apply web-server at "));
	snapshot_release(&s);

	/* A change older than the interval (10 days here) is not in between. */
	put("var/lib/tcptune/check/root.state", good);
	load_changed(&s, 1840, (int64_t) time(NULL) - 864000, &place, &cur);
	assert_string_equal(evidence(&s, "ListenOverflows"), "+40 since the previous check 5 min ago");
	snapshot_release(&s);
}

/* Conntrack's statistics restart when nf_conntrack is loaded again: one that
 * went down gets no delta, the previous check still counts for the others,
 * and the evidence never says "since boot" for them. */
static void test_ctstat_restart(void **state)
{
	static const char prev[] =
		STATE_MAGIC "\n"
		"boot_id " BOOT "\n"
		"netns_cookie 4096\n"
		"uptime_cs 86370025\n"
		"time 1764650000\n"
		"counter ListenOverflows 1800 1764600000\n"
		"counter TCPReqQFullDrop 0 1764000000\n"
		"counter ct_invalid 500 1764600000\n";
	size_t inv = tcpext_count + 3;	/* ctstat_names[3] is "invalid" */
	struct snapshot s;
	struct state_place place;
	struct check_state cur;
	struct snap_target t = { .root = tree };

	(void) state;
	assert_string_equal(ctstat_names[3], "invalid");
	put("var/lib/tcptune/check/root.state", prev);
	assert_int_equal(snapshot_init(&s, &t), 0);
	s.sysctl[key_index("net.ipv4.tcp_max_orphans")].present = true;
	snap_set_int(&s, fact_id_tcpext(counter_idx("ListenOverflows")), 1840);
	snap_set_int(&s, fact_id_tcpext(counter_idx("TCPReqQFullDrop")), 0);
	snap_set_int(&s, fact_id_counter(inv), 12);
	assert_int_equal(snap_state_load(&s, &place, &cur), 0);
	assert_int_equal(delta(&s, "ListenOverflows")->i, 40);	/* the previous check was used */
	assert_false(snap_get(&s, fact_id_delta_counter(inv))->present);
	assert_string_equal(snap_get(&s, fact_id_evidence_counter(inv))->s,
			    "12 since nf_conntrack started in this network namespace, restarted since the previous check");
	snapshot_release(&s);
}

static void test_previous_ignored(void **state)
{
	static const struct { const char *from, *to, *note; } cases[] = {
		{ "boot_id 0f", "boot_id 1f", "it is from an earlier boot" },
		{ "uptime_cs 86370025", "uptime_cs 86400026", "its uptime is later than now" },
		{ "uptime_cs 86370025", "uptime_cs 1", "it is more than a day old" },
		{ "ListenOverflows 1800", "ListenOverflows 1900", "its counters are higher than now" },
		{ "time 1764650000", "time x", "malformed at line 5" },
	};
	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[sizeof(good) + 16], *p;
		struct snapshot s;
		struct state_place place;
		struct check_state cur;

		snprintf(text, sizeof(text), "%s", good);
		p = strstr(text, cases[i].from);
		assert_non_null(p);
		memcpy(p, cases[i].to, strlen(cases[i].to));
		if (strlen(cases[i].to) < strlen(cases[i].from))
			memmove(p + strlen(cases[i].to), p + strlen(cases[i].from), strlen(p + strlen(cases[i].from)) + 1);
		put("var/lib/tcptune/check/root.state", text);
		load(&s, 1840, &place, &cur);
		if (!noted(&s, cases[i].note))
			fail_msg("case %zu: no note '%s' (%zu notes: %s)", i, cases[i].note, s.n_notes,
				 s.n_notes ? s.notes[0].text : "");
		assert_false(snap_get(&s, F_DELTA_SECONDS)->present);
		assert_false(delta(&s, "ListenOverflows")->present);
		assert_string_equal(evidence(&s, "ListenOverflows"), "1840 since boot (up 10 days), no earlier check to compare");
		snapshot_release(&s);
	}
}

static void test_rate_wins(void **state)
{
	struct snapshot s;
	struct state_place place;
	struct check_state cur;
	struct snap_target t = { .root = tree };

	(void) state;
	put("var/lib/tcptune/check/root.state", good);
	assert_int_equal(snapshot_init(&s, &t), 0);
	snap_set_int(&s, fact_id_tcpext(counter_idx("ListenOverflows")), 1840);
	snap_set_int(&s, fact_id_rate_tcpext(counter_idx("ListenOverflows")), 3);
	snap_set_int(&s, F_SAMPLES, 5);
	snap_set_int(&s, F_SAMPLE_SECONDS, 4);
	assert_int_equal(snap_state_load(&s, &place, &cur), 0);
	assert_string_equal(evidence(&s, "ListenOverflows"), "3/s, rate from 5 samples over 4 s");
	snapshot_release(&s);
}

/* ---- the writer ------------------------------------------------------------ */

static void test_save(void **state)
{
	struct state_place place = { .known = true };
	struct check_state st, back;
	char path[PATH_MAX + 80], buf[STATE_MAX_BYTES];
	unsigned line;
	struct stat sb;
	FILE *f;
	size_t n;

	(void) state;
	assert_int_equal(check_state_parse(good, strlen(good), &st, &line), 0);
	snprintf(place.dir, sizeof(place.dir), "%s/home/.local/state/tcptune", tree);
	snprintf(place.name, sizeof(place.name), "netns-1.state");
	/* Parents are created 0700; a symlink at the name is replaced, never followed. */
	put("target", "not ours\n");
	assert_int_equal(snap_state_save(&place, &st), 0);
	snprintf(path, sizeof(path), "%s/%s", place.dir, place.name);
	assert_int_equal(unlink(path), 0);
	{
		char target[256];
		snprintf(target, sizeof(target), "%s/target", tree);
		assert_int_equal(symlink(target, path), 0);
	}
	assert_int_equal(snap_state_save(&place, &st), 0);
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(stat(place.dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(check_state_parse(buf, n, &back, &line), 0);
	assert_memory_equal(&back, &st, sizeof(st));
	snprintf(path, sizeof(path), "%s/target", tree);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_string_equal(buf, "not ours\n");
	/* A directory others may write is refused. */
	assert_int_equal(chmod(place.dir, 0777), 0);
	assert_int_equal(snap_state_save(&place, &st), -EPERM);
	assert_int_equal(chmod(place.dir, 0700), 0);
	/* No place known: nothing to do. */
	place.known = false;
	assert_int_equal(snap_state_save(&place, &st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_format),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_counters_since),
		cmocka_unit_test(test_no_previous),
		cmocka_unit_test(test_previous_check),
		cmocka_unit_test(test_ctstat_restart),
		cmocka_unit_test(test_previous_ignored),
		cmocka_unit_test(test_rate_wins),
		cmocka_unit_test(test_save),
	};

	return cmocka_run_group_tests(tests, setup_tree, teardown_tree);
}
