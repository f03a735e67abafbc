/* Evaluating rules: findings, interpolation, evidence, ignore, rule errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "facts.h"
#include "rule.h"
#include "snapshot.h"

static const char rules_yaml[] =
	"- id: big-tw\n  severity: warning\n  when: sockets.time_wait > 100\n"
	"  title: \"{sockets.time_wait} TIME_WAIT\"\n  explain: e\n  fix: f\n"
	"- id: crit\n  severity: critical\n  when: sockets.close_wait > 0\n  title: t\n  explain: e\n  fix: f\n"
	"- id: quiet\n  severity: critical\n  when: sockets.listen > 1000\n  title: t\n  explain: e\n  fix: f\n"
	"- id: divides\n  severity: info\n  when: sockets.time_wait / sockets.listen > 1\n  title: t\n  explain: e\n  fix: f\n"
	"- id: who\n  severity: info\n  when: sockets.close_wait > 0\n"
	"  title: \"{closewait.growth.comm|closewait.top.comm} pid {closewait.top.pid}, {tcpext.PAWSTimewait}\"\n"
	"  explain: e\n  fix: f\n";

static struct snapshot s;
static struct rule_set set;

static int setup(void **state)
{
	struct diag d;

	(void) state;
	if (snapshot_init(&s, &(struct snap_target){ .root = FIXTURES }) < 0)
		return -1;
	snap_set_int(&s, (size_t) fact_lookup("sockets.time_wait"), 500);
	snap_set_int(&s, (size_t) fact_lookup("sockets.close_wait"), 7);
	snap_set_int(&s, (size_t) fact_lookup("sockets.listen"), 0);
	snap_set_str(&s, (size_t) fact_lookup("closewait.top.comm"), "java");
	snap_set_int(&s, (size_t) fact_lookup("closewait.top.pid"), 4242);
	memset(&set, 0, sizeof(set));
	return rule_set_load_buffer(&set, rules_yaml, sizeof(rules_yaml) - 1, "t.yaml", &d);
}

static int teardown(void **state)
{
	(void) state;
	rule_set_release(&set);
	snapshot_release(&s);
	return 0;
}

static const struct finding *find(const struct findings *f, const char *id)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].rule->id, id) == 0)
			return &f->v[i];
	return NULL;
}

static void test_findings(void **state)
{
	struct findings f;
	const struct finding *x;

	(void) state;
	assert_int_equal(rules_evaluate(&set, &s, NULL, 0, &f), 0);
	assert_int_equal(f.n, 3);
	x = find(&f, "big-tw");
	assert_non_null(x);
	assert_string_equal(x->title, "500 TIME_WAIT");
	assert_int_equal(x->n_evidence, 1);
	assert_string_equal(x->evidence[0].fact, "sockets.time_wait");
	assert_string_equal(x->evidence[0].value, "500");
	assert_null(find(&f, "quiet"));
	assert_string_equal(find(&f, "who")->title, "java pid 4242, ?");
	/* the division by zero is a rule error, not a crash and not a finding */
	assert_null(find(&f, "divides"));
	assert_int_equal(f.n_errors, 1);
	assert_string_equal(f.errors[0].rule->id, "divides");
	assert_non_null(strstr(f.errors[0].msg, "division by zero"));
	assert_int_equal(findings_worst(&f), SEV_CRITICAL);
	findings_release(&f);
}

static void test_ignore(void **state)
{
	char *ignore[] = { "crit" };
	struct findings f;

	(void) state;
	assert_int_equal(rules_evaluate(&set, &s, ignore, 1, &f), 0);
	assert_true(find(&f, "crit")->ignored);		/* still listed, marked */
	assert_false(find(&f, "big-tw")->ignored);
	assert_int_equal(findings_worst(&f), SEV_WARNING);
	findings_release(&f);
}

static void test_fallback_interpolation(void **state)
{
	char *t;

	(void) state;
	snap_set_str(&s, (size_t) fact_lookup("closewait.growth.comm"), "leaker");
	t = rule_interpolate("{closewait.growth.comm|closewait.top.comm}/{nope}/{", &s);
	assert_string_equal(t, "leaker/?/{");
	free(t);
	/* an empty last choice: nothing when the fact is missing */
	t = rule_interpolate("x{tcpext.PAWSTimewait|}y{closewait.top.pid|}", &s);
	assert_string_equal(t, "xy4242");
	free(t);
}

/* Titles and evidence are whole, however long the fact: text wraps them,
 * JSON takes any length (issue #17: they were cut at 120 and 64). */
static void test_long_values_whole(void **state)
{
	char longname[301], want[320], *t;
	size_t id = (size_t) fact_lookup("closewait.top.comm");

	(void) state;
	memset(longname, 'a', 300);
	longname[300] = '\0';
	longname[299] = '\n';	/* escaped, so 3 more bytes */
	snap_set_str(&s, id, longname);
	t = rule_interpolate("<{closewait.top.comm}>", &s);
	snprintf(want, sizeof(want), "<%.*s\\x0a>", 299, longname);
	assert_string_equal(t, want);
	free(t);
	snap_set_str(&s, id, "java");
}

/* No snapshot: each placeholder by name, so that `rules` and `explain`
 * never print {...}. */
static void test_placeholders_named(void **state)
{
	char *t;

	(void) state;
	t = rule_interpolate("{a.b} held by {c|d}{e|}; {", NULL);
	assert_string_equal(t, "<a.b> held by <c or d><e, if any>; {");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_findings),
		cmocka_unit_test(test_ignore),
		cmocka_unit_test(test_fallback_interpolation),
		cmocka_unit_test(test_long_values_whole),
		cmocka_unit_test(test_placeholders_named),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
