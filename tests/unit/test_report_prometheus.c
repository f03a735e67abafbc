/* The Prometheus report: exact lines for a hand-built snapshot, rule set and
 * findings, then the shape of the whole output (every sample line valid, HELP
 * and TYPE first, no family twice), label escaping, and write errors. */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "facts.h"
#include "keys.h"
#include "report.h"
#include "rule.h"
#include "snapshot.h"
#include "tcpstates.h"

struct env {
	struct snapshot s;
	struct rule rules[4];
	struct finding found[3];
	struct rule_error errors[1];
	struct rule_set set;
	struct findings findings;
	struct report_ctx ctx;
};

static size_t fact(const char *name)
{
	int id = fact_lookup(name);

	assert_true(id >= 0);
	return (size_t) id;
}

static struct snap_sysctl *sysctl(struct snapshot *s, const char *key)
{
	int i = key_index(key);

	assert_true(i >= 0);
	return &s->sysctl[i];
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct snapshot *s;

	if (!e || snapshot_init(&e->s, &(struct snap_target){ .root = FIXTURES }) < 0) {
		free(e);
		return -1;
	}
	s = &e->s;
	snprintf(s->kernel_release, sizeof(s->kernel_release), "6.1.0-13-amd64");
	s->sockets_source = "netlink";

	s->census_ok = true;
	s->census.by_family[0][TCPS_LISTEN] = 3;
	s->census.by_family[1][TCPS_LISTEN] = 2;
	s->census.by_family[0][TCPS_ESTABLISHED] = 40;
	s->census.by_family[1][TCPS_TIME_WAIT] = 7;
	s->census.by_family[0][TCPS_TIME_WAIT] = 2400;

	snap_set_int(s, F_SOCKETS_ORPHANS, 5);
	snap_set_int(s, F_SOCKETS_UNACCEPTED, 0);
	snap_set_int(s, F_TW_INCOMING, 200);
	snap_set_int(s, F_TW_OUTGOING, 2207);
	snap_set_int(s, F_TW_MAX_PER_DEST, 1500);
	snap_set_str(s, F_TW_TOP_REMOTE, "10.0.0.5:5432");
	snap_set_int(s, F_PORTS_RANGE_SIZE, 28232);
	snap_set_int(s, F_PORTS_MAX_DEST_USAGE, 7058);
	snap_set_int(s, F_CW_UNATTRIBUTED, 3);
	snap_set_int(s, F_CW_MAX_PER_PROCESS, 300);
	snap_set_int(s, F_CW_TOP_PID, 424242);
	snap_set_str(s, F_CW_TOP_COMM, "cwholder");

	sysctl(s, "net.ipv4.tcp_fin_timeout")->present = true;
	sysctl(s, "net.ipv4.tcp_fin_timeout")->v[0] = 30;
	sysctl(s, "net.ipv4.ip_local_port_range")->present = true;
	sysctl(s, "net.ipv4.ip_local_port_range")->v[0] = 32768;
	sysctl(s, "net.ipv4.ip_local_port_range")->v[1] = 60999;
	sysctl(s, "net.ipv4.tcp_max_tw_buckets")->present = true;	/* unreadable: no sample */
	sysctl(s, "net.ipv4.tcp_max_tw_buckets")->err = -EACCES;

	snap_set_int(s, fact("tcpext.TCPTimeWaitOverflow"), 12);
	snap_set_int(s, fact("tcpext.ListenDrops"), 0);
	snap_set_int(s, F_SOCKSTAT_MEM_PAGES, 5);
	snap_set_int(s, F_SOCKSTAT_INUSE6, 2);

	e->rules[0] = (struct rule) { .id = (char *) "tw-per-destination", .severity = SEV_WARNING };
	e->rules[1] = (struct rule) { .id = (char *) "orphans-near-limit", .severity = SEV_CRITICAL };
	e->rules[2] = (struct rule) { .id = (char *) "close-wait-leak", .severity = SEV_WARNING };
	e->rules[3] = (struct rule) { .id = (char *) "port-range-small", .severity = SEV_INFO };
	e->set = (struct rule_set) { .rules = e->rules, .n = 4 };
	e->found[0] = (struct finding) { .rule = &e->rules[0] };
	e->found[1] = (struct finding) { .rule = &e->rules[1], .ignored = true };
	e->found[2] = (struct finding) { .rule = &e->rules[3] };
	e->errors[0] = (struct rule_error) { .rule = &e->rules[2], .msg = (char *) "division by zero" };
	e->findings = (struct findings) { .v = e->found, .n = 3, .errors = e->errors, .n_errors = 1 };

	e->ctx = (struct report_ctx) {
		.s = s, .rules = &e->set, .findings = &e->findings,
		.started = 1700000000.25, .duration = 0.012345, .status = 1,
	};
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	snapshot_release(&e->s);
	free(e);
	return 0;
}

/* The report as a malloc'd string. */
static char *render(const struct report_ctx *ctx)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(report_prometheus(ctx, f), 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static bool has_line(const char *buf, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = buf; (p = strstr(p, line)); p++)
		if ((p == buf || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

#define assert_line(buf, line) \
	do { \
		if (!has_line((buf), (line))) \
			fail_msg("missing line: %s\n--- output:\n%s", (line), (buf)); \
	} while (0)

static size_t count_prefix(const char *buf, const char *prefix)
{
	size_t n = 0, pl = strlen(prefix);

	for (const char *p = buf; *p; p = strchr(p, '\n') + 1) {
		if (strncmp(p, prefix, pl) == 0)
			n++;
		if (!strchr(p, '\n'))
			break;
	}
	return n;
}

/* Every sample matches the format, every family has HELP then TYPE before
 * its first sample and its samples are contiguous, no family twice. */
static void assert_well_formed(const char *buf)
{
	static const char sample_re[] =
		"^tcptune_[a-z_]+([{][a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*[}])? -?[0-9.e+-]+$";
	char *copy = strdup(buf), *next;
	char *seen[64];
	size_t n_seen = 0;
	char help_for[128] = "", family[128] = "";
	size_t n_samples = 0;
	regex_t re;

	assert_non_null(copy);
	assert_int_equal(regcomp(&re, sample_re, REG_EXTENDED | REG_NOSUB), 0);
	assert_true(buf[0] != '\0' && buf[strlen(buf) - 1] == '\n');
	for (char *line = copy; *line; line = next) {
		char name[128], type[32];

		next = strchr(line, '\n');
		assert_non_null(next);
		*next++ = '\0';

		if (strncmp(line, "# HELP ", 7) == 0) {
			assert_int_equal(sscanf(line, "# HELP %127s", name), 1);
			for (size_t i = 0; i < n_seen; i++)
				if (strcmp(seen[i], name) == 0)
					fail_msg("family %s appears twice", name);
			assert_true(strlen(line) > 7 + strlen(name) + 1);	/* some help text */
			snprintf(help_for, sizeof(help_for), "%s", name);
			family[0] = '\0';
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_int_equal(sscanf(line, "# TYPE %127s %31s", name, type), 2);
			if (strcmp(name, help_for) != 0)
				fail_msg("TYPE %s without HELP just before", name);
			assert_true(strcmp(type, "gauge") == 0 || strcmp(type, "counter") == 0);
			assert_true(n_seen < sizeof(seen) / sizeof(seen[0]));
			seen[n_seen++] = strdup(name);
			snprintf(family, sizeof(family), "%s", name);
			help_for[0] = '\0';
		} else {
			size_t nl = strcspn(line, "{ ");

			if (regexec(&re, line, 0, NULL, 0) != 0)
				fail_msg("malformed sample line: '%s'", line);
			if (family[0] == '\0' || strlen(family) != nl || strncmp(line, family, nl) != 0)
				fail_msg("sample '%s' not under its own HELP and TYPE (current family '%s')", line, family);
			n_samples++;
		}
	}
	assert_true(n_samples > 0);
	for (size_t i = 0; i < n_seen; i++)
		free(seen[i]);
	regfree(&re);
	free(copy);
}

static void test_lines(void **state)
{
	struct env *e = *state;
	char *out = render(&e->ctx);

	assert_line(out, "# HELP tcptune_check_status check result: 0 ok, 1 warning, 2 critical, 3 unknown");
	assert_line(out, "# TYPE tcptune_check_status gauge");
	assert_line(out, "tcptune_check_status 1");
	assert_line(out, "tcptune_check_timestamp_seconds 1700000000.250000");
	assert_line(out, "tcptune_check_duration_seconds 0.012345");
	assert_line(out, "tcptune_info{version=\"" TCPTUNE_VERSION "\",kernel=\"6.1.0-13-amd64\","
		    "sockets_source=\"netlink\"} 1");

	/* All 11 states of both families, zeros included. */
	assert_line(out, "# TYPE tcptune_sockets gauge");
	assert_int_equal(count_prefix(out, "tcptune_sockets{"), 2 * tcp_state_count);
	assert_line(out, "tcptune_sockets{state=\"listen\",family=\"ipv4\"} 3");
	assert_line(out, "tcptune_sockets{state=\"listen\",family=\"ipv6\"} 2");
	assert_line(out, "tcptune_sockets{state=\"established\",family=\"ipv4\"} 40");
	assert_line(out, "tcptune_sockets{state=\"established\",family=\"ipv6\"} 0");
	assert_line(out, "tcptune_sockets{state=\"time_wait\",family=\"ipv4\"} 2400");
	assert_line(out, "tcptune_sockets{state=\"time_wait\",family=\"ipv6\"} 7");
	assert_line(out, "tcptune_sockets{state=\"closing\",family=\"ipv6\"} 0");

	assert_line(out, "tcptune_sockets_orphans 5");
	assert_line(out, "tcptune_sockets_unaccepted 0");
	assert_line(out, "tcptune_timewait{direction=\"incoming\"} 200");
	assert_line(out, "tcptune_timewait{direction=\"outgoing\"} 2207");
	assert_line(out, "tcptune_timewait_max_per_destination 1500");
	assert_line(out, "tcptune_ports_max_destination_usage_ratio 0.250000");
	assert_line(out, "tcptune_closewait_unattributed 3");
	assert_line(out, "tcptune_closewait_max_per_process 300");

	assert_line(out, "# TYPE tcptune_sysctl gauge");
	assert_line(out, "tcptune_sysctl{key=\"net.ipv4.tcp_fin_timeout\"} 30");
	assert_line(out, "tcptune_sysctl_range{key=\"net.ipv4.ip_local_port_range\",bound=\"low\"} 32768");
	assert_line(out, "tcptune_sysctl_range{key=\"net.ipv4.ip_local_port_range\",bound=\"high\"} 60999");
	assert_int_equal(count_prefix(out, "tcptune_sysctl{"), 1);	/* absent and unreadable keys: none */

	assert_line(out, "# TYPE tcptune_tcpext_total counter");
	assert_line(out, "tcptune_tcpext_total{counter=\"TCPTimeWaitOverflow\"} 12");
	assert_line(out, "tcptune_tcpext_total{counter=\"ListenDrops\"} 0");
	assert_int_equal(count_prefix(out, "tcptune_tcpext_total{"), 2);
	assert_line(out, "tcptune_sockstat{field=\"mem_pages\"} 5");
	assert_line(out, "tcptune_sockstat{field=\"inuse6\"} 2");
	assert_int_equal(count_prefix(out, "tcptune_sockstat{"), 2);

	/* One series per rule, 0 when it did not fire or is ignored. */
	assert_line(out, "tcptune_finding{id=\"tw-per-destination\",severity=\"warning\"} 1");
	assert_line(out, "tcptune_finding{id=\"orphans-near-limit\",severity=\"critical\"} 0");
	assert_line(out, "tcptune_finding{id=\"close-wait-leak\",severity=\"warning\"} 0");
	assert_line(out, "tcptune_finding{id=\"port-range-small\",severity=\"info\"} 1");
	assert_int_equal(count_prefix(out, "tcptune_finding{"), 4);
	assert_line(out, "tcptune_findings{severity=\"info\"} 1");
	assert_line(out, "tcptune_findings{severity=\"warning\"} 1");
	assert_line(out, "tcptune_findings{severity=\"critical\"} 0");
	assert_line(out, "tcptune_rule_errors 1");

	/* Bounded labels only: no pid, process name or address. */
	assert_null(strstr(out, "424242"));
	assert_null(strstr(out, "cwholder"));
	assert_null(strstr(out, "10.0.0.5"));

	assert_well_formed(out);
	free(out);
}

/* Without rules, census or facts the report is smaller, never malformed. */
static void test_nothing_known(void **state)
{
	struct env *e = *state;
	struct snapshot empty;
	struct report_ctx ctx = { .s = &empty, .status = 3 };
	char *out;

	(void) e;
	assert_int_equal(snapshot_init(&empty, &(struct snap_target){ .root = FIXTURES }), 0);
	out = render(&ctx);
	assert_line(out, "tcptune_check_status 3");
	assert_line(out, "tcptune_info{version=\"" TCPTUNE_VERSION "\",kernel=\"unknown\",sockets_source=\"none\"} 1");
	assert_null(strstr(out, "tcptune_sockets"));
	assert_null(strstr(out, "tcptune_finding"));
	assert_null(strstr(out, "tcptune_rule_errors"));
	assert_null(strstr(out, "tcptune_ports_max_destination_usage_ratio"));
	assert_well_formed(out);
	free(out);
	snapshot_release(&empty);

	/* Rules loaded, nothing fired: every rule at 0, every severity at 0. */
	e->findings.n = 0;
	e->findings.n_errors = 0;
	e->s.census_ok = false;
	out = render(&e->ctx);
	assert_int_equal(count_prefix(out, "tcptune_finding{"), 4);
	assert_line(out, "tcptune_finding{id=\"tw-per-destination\",severity=\"warning\"} 0");
	assert_line(out, "tcptune_findings{severity=\"critical\"} 0");
	assert_line(out, "tcptune_rule_errors 0");
	assert_null(strstr(out, "tcptune_sockets{"));
	assert_well_formed(out);
	free(out);
}

static void test_label_escaping(void **state)
{
	struct env *e = *state;
	char *out;

	snprintf(e->s.kernel_release, sizeof(e->s.kernel_release), "6.1\"evil\\\nx\033y");
	e->rules[2].id = (char *) "a\"b\\c\nd";
	out = render(&e->ctx);
	/* ", \ and newline as the format says; other control bytes as a literal \xNN. */
	assert_non_null(strstr(out, "kernel=\"6.1\\\"evil\\\\\\nx\\\\x1by\","));
	assert_line(out, "tcptune_finding{id=\"a\\\"b\\\\c\\nd\",severity=\"warning\"} 0");
	/* Still one line per sample. */
	assert_int_equal(count_prefix(out, "tcptune_finding{"), 4);
	assert_int_equal(count_prefix(out, "tcptune_info{"), 1);
	free(out);
}

static void test_write_error(void **state)
{
	struct env *e = *state;
	FILE *f = fopen("/dev/full", "we");

	if (!f)
		skip();
	assert_int_equal(report_prometheus(&e->ctx, f), -EIO);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_known, setup, teardown),
		cmocka_unit_test_setup_teardown(test_label_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_error, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
