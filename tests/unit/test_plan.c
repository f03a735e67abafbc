/* The plan's note on a raised net.core.somaxconn (engine/plan.h,
 * docs/KERNEL.md §22): the listeners whose backlog equals somaxconn now are
 * named, in the plan and in its text and JSON; listeners below it, a plan
 * that does not raise it, and sockets read without backlogs are not. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "census.h"
#include "keys.h"
#include "plan.h"
#include "report_plan.h"
#include "snapshot.h"
#include "tcpstates.h"

#define NOT_LOOKED_UP "process not looked up (--root)"

struct env {
	struct snapshot s;
	struct plan pl;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e || snapshot_init(&e->s, &(struct snap_target){ .root = FIXTURES }) < 0) {
		free(e);
		return -1;
	}
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	plan_release(&e->pl);
	snapshot_release(&e->s);
	free(e);
	return 0;
}

static void set_somaxconn(struct snapshot *s, long long v)
{
	int k = key_index("net.core.somaxconn");

	assert_true(k >= 0);
	s->sysctl[k].present = true;
	s->sysctl[k].v[0] = v;
	snprintf(s->sysctl[k].raw, sizeof(s->sysctl[k].raw), "%lld", v);
}

/* A census of listeners, as sock_diag gives them (source "netlink"). */
static void census_start(struct snapshot *s, const char *source)
{
	assert_int_equal(census_init(&s->census, 32768, 60999), 0);
	s->census_ok = true;
	s->sockets_source = source;
}

static void listener(struct snapshot *s, int family, const char *addr, uint16_t port, uint32_t backlog)
{
	struct sock_rec r;

	memset(&r, 0, sizeof(r));
	r.family = (uint8_t) family;
	r.state = TCPS_LISTEN;
	r.lport = port;
	r.wqueue = backlog;
	r.inode = 1000u + port;
	assert_int_equal(inet_pton(family, addr, r.laddr), 1);
	assert_int_equal(census_add(&s->census, &r), 0);
}

/* Build the plan of one profile value of somaxconn (none: value NULL). */
static void build(struct env *e, const char *value)
{
	int k = key_index("net.core.somaxconn");
	struct plan_input in = { (size_t) k, value, "test" };

	assert_int_equal(plan_build(&e->pl, &e->s, "test", &in, value ? 1 : 0), 0);
}

static char *text(struct env *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(report_plan_text(&e->pl, &e->s, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* The text with its lines joined, for prose that wraps anywhere. */
static char *flat(const char *t)
{
	char *f = strdup(t);

	assert_non_null(f);
	for (char *p = f; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return f;
}

static char *json(struct env *e)
{
	json_t *j = report_plan_json(&e->pl);
	char *out;

	assert_non_null(j);
	out = json_dumps(json_object_get(j, "somaxconn"), JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	assert_non_null(out);
	return out;
}

/* somaxconn 16 -> 4096: the two listeners at 16 are named, the one that
 * asked for 8 and the one that got 128 under an earlier somaxconn are not. */
static void test_clamped_named(void **state)
{
	struct env *e = *state;
	char *t, *j;

	set_somaxconn(&e->s, 16);
	census_start(&e->s, "netlink");
	listener(&e->s, AF_INET, "127.0.0.1", 8080, 16);
	listener(&e->s, AF_INET, "0.0.0.0", 22, 8);
	listener(&e->s, AF_INET6, "::1", 8080, 16);
	listener(&e->s, AF_INET, "10.0.0.1", 9000, 128);
	build(e, "4096");

	assert_true(e->pl.somaxconn.raises);
	assert_int_equal(e->pl.somaxconn.from, 16);
	assert_int_equal(e->pl.somaxconn.to, 4096);
	assert_true(e->pl.somaxconn.listeners_known);
	assert_int_equal(e->pl.somaxconn.n_clamped, 2);
	assert_int_equal(e->pl.somaxconn.n_more, 0);
	assert_string_equal(e->pl.somaxconn.clamped[0].where, "127.0.0.1:8080");
	assert_string_equal(e->pl.somaxconn.clamped[1].where, "[::1]:8080");
	assert_int_equal(e->pl.somaxconn.clamped[1].backlog, 16);
	assert_string_equal(e->pl.somaxconn.clamped[0].who, NOT_LOOKED_UP);	/* not live */

	t = text(e);
	assert_non_null(strstr(t, "\nnet.core.somaxconn 16 -> 4096: a listening socket keeps the backlog it got"));
	assert_non_null(strstr(t, "\n  127.0.0.1:8080  backlog 16  " NOT_LOOKED_UP "\n"));
	assert_non_null(strstr(t, "\n  [::1]:8080  backlog 16  " NOT_LOOKED_UP "\n"));
	assert_null(strstr(t, ":22 "));
	assert_null(strstr(t, "10.0.0.1"));
	assert_non_null(strstr(t, "\nRestart them after the change"));
	assert_null(strstr(t, "ss -ltnp"));	/* every process known (or not looked up) */
	for (char *l = t; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] ? 1 : 0))
		assert_true(strcspn(l, "\n") <= 80);
	free(t);

	j = json(e);
	assert_string_equal(j, "{\"from\":16,\"to\":4096,\"clamped_listeners\":["
			    "{\"listener\":\"127.0.0.1:8080\",\"backlog\":16,\"process\":\"" NOT_LOOKED_UP "\"},"
			    "{\"listener\":\"[::1]:8080\",\"backlog\":16,\"process\":\"" NOT_LOOKED_UP "\"}],"
			    "\"clamped_not_listed\":0}");
	free(j);
}

/* One listener: the sentence is singular. */
static void test_one_listener(void **state)
{
	struct env *e = *state;
	char *t, *f;

	set_somaxconn(&e->s, 64);
	census_start(&e->s, "netlink");
	listener(&e->s, AF_INET, "0.0.0.0", 80, 64);
	build(e, "4096");
	t = text(e);
	f = flat(t);
	assert_non_null(strstr(f, "This listener listens with backlog 64, equal to somaxconn now, so it was"));
	assert_non_null(strstr(t, "\nRestart it after the change"));
	free(f);
	free(t);
}

/* Kept or lowered: no note, in text or JSON. */
static void test_not_raised(void **state)
{
	static const long long now[] = { 4096, 8192 };
	struct env *e = *state;

	census_start(&e->s, "netlink");
	listener(&e->s, AF_INET, "0.0.0.0", 80, 4096);
	listener(&e->s, AF_INET, "0.0.0.0", 81, 8192);
	for (size_t i = 0; i < sizeof(now) / sizeof(now[0]); i++) {
		char *t, *j;

		set_somaxconn(&e->s, now[i]);
		build(e, "4096");
		assert_false(e->pl.somaxconn.raises);
		assert_int_equal(e->pl.somaxconn.n_clamped, 0);
		t = text(e);
		assert_null(strstr(t, "keeps the backlog"));
		free(t);
		j = json(e);
		assert_string_equal(j, "null");
		free(j);
		plan_release(&e->pl);
	}
}

/* Raised, but no listener at somaxconn: nothing printed, an empty list in
 * JSON. */
static void test_none_clamped(void **state)
{
	struct env *e = *state;
	char *t, *j;

	set_somaxconn(&e->s, 1024);
	census_start(&e->s, "netlink");
	listener(&e->s, AF_INET, "0.0.0.0", 80, 511);
	build(e, "4096");
	assert_true(e->pl.somaxconn.raises);
	t = text(e);
	assert_null(strstr(t, "keeps the backlog"));
	free(t);
	j = json(e);
	assert_string_equal(j, "{\"from\":1024,\"to\":4096,\"clamped_listeners\":[],\"clamped_not_listed\":0}");
	free(j);
}

/* From /proc/net/tcp the backlogs are unknown (0): none is named, and the
 * text says they cannot be read. */
static void test_backlogs_unknown(void **state)
{
	struct env *e = *state;
	char *t, *f, *j;

	set_somaxconn(&e->s, 16);
	census_start(&e->s, "proc");
	listener(&e->s, AF_INET, "0.0.0.0", 80, 0);
	build(e, "4096");
	assert_true(e->pl.somaxconn.raises);
	assert_false(e->pl.somaxconn.listeners_known);
	assert_int_equal(e->pl.somaxconn.n_clamped, 0);
	t = text(e);
	f = flat(t);
	assert_non_null(strstr(f, "The backlogs cannot be read here (no sock_diag)"));
	assert_null(strstr(f, "0.0.0.0:80"));
	free(f);
	free(t);
	j = json(e);
	assert_string_equal(j, "{\"from\":16,\"to\":4096,\"clamped_listeners\":null,\"clamped_not_listed\":0}");
	free(j);
}

/* On the live system a listener whose holder is not found (here: an inode
 * no process holds) is "an unknown process", and the text says what names
 * it. */
static void test_unknown_owner(void **state)
{
	struct env *e = *state;
	char *t, *f;

	e->s.live = true;
	set_somaxconn(&e->s, 16);
	census_start(&e->s, "netlink");
	listener(&e->s, AF_INET, "127.0.0.1", 8080, 16);
	build(e, "4096");
	assert_string_equal(e->pl.somaxconn.clamped[0].who, "an unknown process");
	t = text(e);
	f = flat(t);
	assert_non_null(strstr(t, "\n  127.0.0.1:8080  backlog 16  an unknown process\n"));
	assert_non_null(strstr(f, "`ss -ltnp` names the process that holds a listener."));
	free(f);
	free(t);
}

/* More than PLAN_CLAMPED_MAX: the rest are counted. */
static void test_more(void **state)
{
	struct env *e = *state;
	char *t;

	set_somaxconn(&e->s, 16);
	census_start(&e->s, "netlink");
	for (uint16_t p = 0; p < PLAN_CLAMPED_MAX + 3; p++)
		listener(&e->s, AF_INET, "127.0.0.1", (uint16_t) (8000 + p), 16);
	build(e, "4096");
	assert_int_equal(e->pl.somaxconn.n_clamped, PLAN_CLAMPED_MAX);
	assert_int_equal(e->pl.somaxconn.n_more, 3);
	t = text(e);
	assert_non_null(strstr(t, "\n  and 3 more\n"));
	free(t);
}

/* A profile that leaves somaxconn alone still raises a harmful 16 (the
 * correction to 128): the note names the listeners with that target. */
static void test_correction_raises(void **state)
{
	struct env *e = *state;

	set_somaxconn(&e->s, 16);
	census_start(&e->s, "netlink");
	listener(&e->s, AF_INET, "127.0.0.1", 8080, 16);
	build(e, NULL);
	assert_true(e->pl.somaxconn.raises);
	assert_int_equal(e->pl.somaxconn.to, 128);
	assert_int_equal(e->pl.somaxconn.n_clamped, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clamped_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_listener, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_raised, setup, teardown),
		cmocka_unit_test_setup_teardown(test_none_clamped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlogs_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_more, setup, teardown),
		cmocka_unit_test_setup_teardown(test_correction_raises, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
