/* `check --format prometheus`: the text exposition format (0.0.4) for
 * node_exporter's textfile collector.  Every family is named tcptune_*, has
 * HELP and TYPE before its first sample and appears once; labels are bounded
 * (states, keys, counters, rule ids), never pids, process names or addresses,
 * which belong in the JSON report.  Writing the file atomically is the
 * caller's business (--output, atomic_write_path()). */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "keys.h"
#include "report_netns.h"
#include "tcpstates.h"

#ifndef TCPTUNE_VERSION
#define TCPTUNE_VERSION "unknown"
#endif

/* The family being written; its HELP and TYPE go out with its first sample,
 * so a family with nothing to show leaves no trace. */
struct prom {
	FILE *out;
	const char *name, *type, *help;
	bool head_done;
};

static void family(struct prom *p, const char *name, const char *type, const char *help)
{
	p->name = name;
	p->type = type;
	p->help = help;
	p->head_done = false;
}

/* A label value in the exposition format: backslash, double quote and
 * newline escaped as the format says.  Other control and non-ASCII bytes
 * (a kernel release under a hostile --root) become a literal "\xNN", as
 * str_escape() shows them: node_exporter rejects a file that is not UTF-8. */
static void label_value(FILE *out, const char *v)
{
	for (const unsigned char *c = (const unsigned char *) v; *c; c++) {
		if (*c == '\\')
			fputs("\\\\", out);
		else if (*c == '"')
			fputs("\\\"", out);
		else if (*c == '\n')
			fputs("\\n", out);
		else if (*c < 0x20 || *c >= 0x7f)
			fprintf(out, "\\\\x%02x", *c);
		else
			fputc(*c, out);
	}
}

/* "name{k="v",...} " with labels as a NULL-terminated list of name, value. */
static void sample_start(struct prom *p, const char *const *labels)
{
	if (!p->head_done) {
		fprintf(p->out, "# HELP %s %s\n# TYPE %s %s\n", p->name, p->help, p->name, p->type);
		p->head_done = true;
	}
	fputs(p->name, p->out);
	for (size_t i = 0; labels && labels[i]; i += 2) {
		fprintf(p->out, "%s%s=\"", i == 0 ? "{" : ",", labels[i]);
		label_value(p->out, labels[i + 1] ? labels[i + 1] : "");
		fputc('"', p->out);
	}
	fputs(labels && labels[0] ? "} " : " ", p->out);
}

static void sample_i64(struct prom *p, const char *const *labels, int64_t v)
{
	sample_start(p, labels);
	fprintf(p->out, "%" PRId64 "\n", v);
}

static void sample_u64(struct prom *p, const char *const *labels, uint64_t v)
{
	sample_start(p, labels);
	fprintf(p->out, "%" PRIu64 "\n", v);
}

static void sample_double(struct prom *p, const char *const *labels, double v)
{
	sample_start(p, labels);
	fprintf(p->out, "%.6f\n", v);
}

/* One sample from an integer fact, when the fact is present. */
static void sample_fact(struct prom *p, const struct snapshot *s, const char *const *labels, size_t id)
{
	const struct fact_val *v = snap_get(s, id);

	if (v && v->present && fact_def(id)->type == FT_INT)
		sample_i64(p, labels, v->i);
}

static void fact_gauge(struct prom *p, const struct snapshot *s, const char *name, const char *help, size_t id)
{
	family(p, name, "gauge", help);
	sample_fact(p, s, NULL, id);
}

static void check_families(struct prom *p, const struct report_ctx *ctx)
{
	const struct snapshot *s = ctx->s;

	family(p, "tcptune_info", "gauge", "tcptune version, kernel release and where sockets were read from");
	sample_i64(p, (const char *const[]) {
		"version", TCPTUNE_VERSION,
		"kernel", s->kernel_release[0] ? s->kernel_release : "unknown",
		"sockets_source", s->sockets_source ? s->sockets_source : "none", NULL }, 1);

	family(p, "tcptune_check_status", "gauge", "check result: 0 ok, 1 warning, 2 critical, 3 unknown");
	sample_i64(p, NULL, ctx->status);
	family(p, "tcptune_check_timestamp_seconds", "gauge", "Unix time the check started");
	sample_double(p, NULL, ctx->started);
	family(p, "tcptune_check_duration_seconds", "gauge", "how long the check took");
	sample_double(p, NULL, ctx->duration);
}

static void socket_families(struct prom *p, const struct snapshot *s)
{
	static const char *const families[2] = { "ipv4", "ipv6" };
	const struct fact_val *usage = snap_get(s, F_PORTS_MAX_DEST_USAGE), *range = snap_get(s, F_PORTS_RANGE_SIZE);

	family(p, "tcptune_sockets", "gauge", "TCP sockets in this network namespace by state and address family");
	if (s->census_ok)
		for (size_t f = 0; f < 2; f++)
			for (size_t i = 0; i < tcp_state_count; i++)
				sample_u64(p, (const char *const[]) {
					"state", tcp_state_names[i].fact, "family", families[f], NULL },
					s->census.by_family[f][tcp_state_names[i].state]);

	fact_gauge(p, s, "tcptune_sockets_orphans",
		   "orphaned full sockets (FIN_WAIT1, FIN_WAIT2, CLOSING, LAST_ACK), what tcp_max_orphans limits",
		   F_SOCKETS_ORPHANS);
	fact_gauge(p, s, "tcptune_sockets_unaccepted", "connections waiting in a listener's accept queue",
		   F_SOCKETS_UNACCEPTED);

	family(p, "tcptune_timewait", "gauge",
	       "TIME_WAIT sockets: incoming (on a server port) or outgoing (this host was the client)");
	sample_fact(p, s, (const char *const[]) { "direction", "incoming", NULL }, F_TW_INCOMING);
	sample_fact(p, s, (const char *const[]) { "direction", "outgoing", NULL }, F_TW_OUTGOING);
	fact_gauge(p, s, "tcptune_timewait_max_per_destination",
		   "outgoing TIME_WAIT sockets to the busiest remote ip:port", F_TW_MAX_PER_DEST);

	/* As a ratio of the ephemeral range, 1 meaning no port left for that
	 * destination; above 1 is possible with several local addresses. */
	family(p, "tcptune_ports_max_destination_usage_ratio", "gauge",
	       "outgoing sockets to the busiest remote ip:port as a fraction of ip_local_port_range");
	if (usage && usage->present && range && range->present && range->i > 0)
		sample_double(p, NULL, (double) usage->i / (double) range->i);

	fact_gauge(p, s, "tcptune_closewait_unattributed", "CLOSE_WAIT sockets whose process could not be found",
		   F_CW_UNATTRIBUTED);
	fact_gauge(p, s, "tcptune_closewait_max_per_process", "CLOSE_WAIT sockets held by the worst process",
		   F_CW_MAX_PER_PROCESS);
}

static void sysctl_family(struct prom *p, const struct snapshot *s)
{
	family(p, "tcptune_sysctl", "gauge", "runtime value of each tracked sysctl this kernel has");
	for (size_t i = 0; i < key_count; i++) {
		const struct snap_sysctl *v = &s->sysctl[i];

		if (!v->present || v->err)
			continue;
		if (key_table[i].type == KEY_INT)
			sample_i64(p, (const char *const[]) { "key", key_table[i].name, NULL }, v->v[0]);
	}
	/* Pairs get their own family, so tcptune_sysctl has one label set. */
	family(p, "tcptune_sysctl_range", "gauge", "runtime bounds of each tracked range sysctl");
	for (size_t i = 0; i < key_count; i++) {
		const struct snap_sysctl *v = &s->sysctl[i];

		if (!v->present || v->err || key_table[i].type != KEY_INT_PAIR)
			continue;
		sample_i64(p, (const char *const[]) { "key", key_table[i].name, "bound", "low", NULL }, v->v[0]);
		sample_i64(p, (const char *const[]) { "key", key_table[i].name, "bound", "high", NULL }, v->v[1]);
	}
}

static void kernel_counter_families(struct prom *p, const struct snapshot *s)
{
	static const size_t sockstat[] = {
		F_SOCKSTAT_ORPHAN, F_SOCKSTAT_TW, F_SOCKSTAT_INUSE, F_SOCKSTAT_INUSE6,
		F_SOCKSTAT_ALLOC, F_SOCKSTAT_MEM_PAGES,
	};

	family(p, "tcptune_tcpext_total", "counter", "TcpExt counters from /proc/net/netstat, since boot");
	for (size_t i = 0; i < tcpext_count; i++)
		sample_fact(p, s, (const char *const[]) { "counter", tcpext_names[i], NULL }, fact_id_tcpext(i));

	family(p, "tcptune_conntrack_stat_total", "counter",
	       "conntrack statistics of the namespace from /proc/net/stat/nf_conntrack, summed over CPUs");
	for (size_t i = 0; i < ctstat_count; i++)
		sample_fact(p, s, (const char *const[]) { "stat", ctstat_names[i], NULL },
			    fact_id_counter(tcpext_count + i));

	/* The field label is the fact name without "sockstat.": one name each. */
	family(p, "tcptune_sockstat", "gauge", "TCP fields of /proc/net/sockstat{,6}");
	for (size_t i = 0; i < sizeof(sockstat) / sizeof(sockstat[0]); i++)
		sample_fact(p, s, (const char *const[]) {
			"field", fact_def(sockstat[i])->name + strlen("sockstat."), NULL }, sockstat[i]);
}

/* The finding for rule r that is not ignored, if r fired. */
static bool rule_fired(const struct findings *f, const struct rule *r)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct rule *fr = f->v[i].rule;

		if (!f->v[i].ignored && fr && (fr == r || (fr->id && r->id && strcmp(fr->id, r->id) == 0)))
			return true;
	}
	return false;
}

/* One series per loaded rule, 0 when it did not fire, so that an alert on
 * tcptune_finding == 1 resolves when the condition goes away. */
static void finding_families(struct prom *p, const struct report_ctx *ctx)
{
	const struct rule_set *set = ctx->rules;
	const struct findings *f = ctx->findings;
	uint64_t by_sev[SEV_CRITICAL + 1] = { 0 };

	if (!set || !f)
		return;
	family(p, "tcptune_finding", "gauge", "1 when the rule fired and is not ignored, 0 otherwise");
	for (size_t i = 0; i < set->n; i++) {
		const struct rule *r = &set->rules[i];

		sample_i64(p, (const char *const[]) {
			"id", r->id ? r->id : "", "severity", severity_name(r->severity), NULL }, rule_fired(f, r));
	}

	for (size_t i = 0; i < f->n; i++)
		if (!f->v[i].ignored && f->v[i].rule && (unsigned) f->v[i].rule->severity <= SEV_CRITICAL)
			by_sev[f->v[i].rule->severity]++;
	family(p, "tcptune_findings", "gauge", "findings that are not ignored, by severity");
	for (int sev = SEV_INFO; sev <= SEV_CRITICAL; sev++)
		sample_u64(p, (const char *const[]) { "severity", severity_name((enum severity) sev), NULL },
			   by_sev[sev]);

	family(p, "tcptune_rule_errors", "gauge", "rules that could not be evaluated");
	sample_u64(p, NULL, f->n_errors);
}

int report_prometheus(const struct report_ctx *ctx, FILE *out)
{
	struct prom p = { .out = out };

	check_families(&p, ctx);
	socket_families(&p, ctx->s);
	sysctl_family(&p, ctx->s);
	kernel_counter_families(&p, ctx->s);
	finding_families(&p, ctx);
	report_netns_prometheus(ctx->netns, out);
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}
