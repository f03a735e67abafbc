/* check --all-netns output; see report_netns.h.  What the admin reads
 * first is what is wrong: which namespaces have findings or CLOSE_WAIT, and
 * which ones do not carry the host's tuning. */
#include "report_netns.h"

#include <inttypes.h>
#include <string.h>

#include "jsonutil.h"
#include "keys.h"
#include "strutil.h"
#include "tcpstates.h"

/* Namespaces shown in full in the text report; JSON lists every one. */
#define TEXT_WORST 10

/* Kubernetes' safe sysctls among tcptune's keys: a pod may set them in
 * securityContext.sysctls without the kubelet allowing them
 * (kubernetes/kubernetes pkg/kubelet/sysctl/safe_sysctls.go; README
 * "Every network namespace"). */
static const struct {
	const char *key, *since;
} k8s_safe[] = {
	{ "net.ipv4.ip_local_port_range", NULL },
	{ "net.ipv4.tcp_syncookies", NULL },
	{ "net.ipv4.ip_unprivileged_port_start", NULL },
	{ "net.ipv4.tcp_keepalive_time", "1.29" },
	{ "net.ipv4.tcp_fin_timeout", "1.29" },
	{ "net.ipv4.tcp_keepalive_intvl", "1.29" },
	{ "net.ipv4.tcp_keepalive_probes", "1.29" },
};

static const char *k8s_safe_since(const char *key)
{
	for (size_t i = 0; i < sizeof(k8s_safe) / sizeof(k8s_safe[0]); i++)
		if (strcmp(k8s_safe[i].key, key) == 0)
			return k8s_safe[i].since ? k8s_safe[i].since : "any";
	return NULL;
}

static const char *esc(const char *text)
{
	static char bufs[4][512];
	static unsigned next;

	return str_escape(text, bufs[next++ % 4], sizeof(bufs[0]));
}

static const char *short_key(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot ? dot + 1 : name;
}

/* "netns web (inode 4026532890)" / "netns of pid 812 (inode ...)" */
static void ns_label(const struct netns_result *r, char *buf, size_t len)
{
	if (r->e.current)
		snprintf(buf, len, "this namespace (inode %" PRIu64 ")", r->e.ino);
	else if (r->e.name[0])
		snprintf(buf, len, "netns %s (inode %" PRIu64 ")", esc(r->e.name), r->e.ino);
	else if (r->e.pid)
		snprintf(buf, len, "netns of pid %d (inode %" PRIu64 ")", r->e.pid, r->e.ino);
	else
		snprintf(buf, len, "netns inode %" PRIu64, r->e.ino);
}

static void value_text(size_t k, const long long v[2], char *buf, size_t len)
{
	if (key_format_value(&key_table[k], v, buf, len) < 0)
		snprintf(buf, len, "?");
}

static void states_line(const struct netns_result *r, FILE *out)
{
	size_t col;

	if (!r->census_ok) {
		fprintf(out, "    sockets: not seen\n");
		return;
	}
	col = (size_t) fprintf(out, "    sockets: %" PRIu64, r->total);
	for (size_t i = 0; i < tcp_state_count; i++) {
		uint64_t n = r->states[tcp_state_names[i].state];
		char one[48];
		int w;

		if (!n)
			continue;
		w = snprintf(one, sizeof(one), ", %s %" PRIu64, tcp_state_names[i].ss, n);
		if (col + (size_t) w > 78) {
			fprintf(out, ",\n      %s", one + 2);
			col = 6 + (size_t) w - 2;
		} else {
			fputs(one, out);
			col += (size_t) w;
		}
	}
	fputc('\n', out);
}

static void one_ns(const struct netns_result *r, FILE *out)
{
	char label[400];

	ns_label(r, label, sizeof(label));
	fprintf(out, "  %s", label);
	if (r->e.n_pids)
		fprintf(out, ", %u process%s", r->e.n_pids, r->e.n_pids == 1 ? "" : "es");
	fputc('\n', out);
	if (r->container[0])
		fprintf(out, "    container: %s\n", esc(r->container));
	if (r->err < 0) {
		fprintf(out, "    could not be read: %s\n", strerror(-r->err));
		return;
	}
	for (size_t i = 0; i < r->n_findings; i++)
		fprintf(out, "    %s %s: %s\n", severity_name(r->findings[i].rule->severity), r->findings[i].rule->id,
			esc(r->findings[i].title));
	if (r->cw_pid)
		fprintf(out, "    CLOSE_WAIT: %u held by %s (pid %d)%s%s\n", r->cw_count, esc(r->cw_comm), r->cw_pid,
			r->cw_container[0] ? " in " : "", r->cw_container[0] ? esc(r->cw_container) : "");
	else if (r->close_wait)
		fprintf(out, "    CLOSE_WAIT: %" PRIu64 ", no holding process seen\n", r->close_wait);
	states_line(r, out);
	if (r->n_untuned) {
		size_t col = (size_t) fprintf(out, "    at kernel defaults:");

		for (size_t i = 0; i < r->n_untuned; i++) {
			char here[64], one[128];
			int w;

			value_text(r->untuned[i].key, r->untuned[i].value, here, sizeof(here));
			w = snprintf(one, sizeof(one), " %s %s%s", short_key(key_table[r->untuned[i].key].name), here,
				     i + 1 < r->n_untuned ? "," : "");
			if (col + (size_t) w > 78) {
				fprintf(out, "\n     ");
				col = 5;
			}
			fputs(one, out);
			col += (size_t) w;
		}
		fputc('\n', out);
	}
}

static bool noteworthy(const struct netns_result *r)
{
	return r->worst >= 0 || r->close_wait || r->n_untuned || r->err < 0;
}

static void untuned_advice(const struct netns_scan *sc, FILE *out)
{
	const struct netns_untuned *first[64] = { NULL };
	char docker[512] = "    docker run";
	size_t dl = strlen(docker);

	for (size_t i = 0; i < sc->n; i++)
		for (size_t j = 0; j < sc->v[i].n_untuned; j++)
			if (sc->v[i].untuned[j].key < 64 && !first[sc->v[i].untuned[j].key])
				first[sc->v[i].untuned[j].key] = &sc->v[i].untuned[j];
	fprintf(out, "\n  %zu namespace%s hold%s the kernel's defaults for keys this host's boot\n"
		"  configuration tunes: a new network namespace starts from the kernel's\n"
		"  defaults, never from the host's sysctl.d (docs/KERNEL.md §2.2).\n"
		"  The host's boot sets:\n",
		sc->n_untuned, sc->n_untuned == 1 ? "" : "s", sc->n_untuned == 1 ? "s" : "");
	for (size_t k = 0; k < 64 && k < key_count; k++) {
		const char *since;
		char boot[64];

		if (!first[k])
			continue;
		value_text(k, first[k]->boot, boot, sizeof(boot));
		fprintf(out, "    %s = %s  (%s:%u)\n", key_table[k].name, boot, esc(first[k]->file), first[k]->line);
		since = k8s_safe_since(key_table[k].name);
		if (!since)
			fprintf(out, "      Kubernetes: unsafe, the kubelet must allow it (--allowed-unsafe-sysctls)\n");
		else if (strcmp(since, "any") == 0)
			fprintf(out, "      Kubernetes: a safe sysctl, any pod may set it\n");
		else
			fprintf(out, "      Kubernetes: a safe sysctl since Kubernetes %s\n", since);
		if (dl < sizeof(docker))
			dl += (size_t) snprintf(docker + dl, sizeof(docker) - dl, "%s--sysctl %s=%s%s",
						dl > 20 ? " \\\n      " : " ", key_table[k].name,
						strchr(boot, ' ') ? "'" : "", boot);
		if (strchr(boot, ' ') && dl < sizeof(docker))
			dl += (size_t) snprintf(docker + dl, sizeof(docker) - dl, "'");
	}
	fprintf(out, "  Set them per container, at its start (values as the host's boot sets them):\n"
		"%s ...\n"
		"    Kubernetes: the pod's spec.securityContext.sysctls, e.g.\n"
		"      sysctls: [{name: net.ipv4.tcp_fin_timeout, value: \"30\"}]\n", docker);
}

void report_netns_text(const struct netns_scan *sc, FILE *out)
{
	size_t with_findings = 0, with_cw = 0, shown = 0, quiet = 0;

	if (!sc)
		return;
	for (size_t i = 0; i < sc->n; i++) {
		with_findings += sc->v[i].worst >= 0;
		with_cw += sc->v[i].close_wait > 0;
	}
	fprintf(out, "Network namespaces: %zu; %zu with findings, %zu with CLOSE_WAIT, %zu untuned\n", sc->n,
		with_findings, with_cw, sc->n_untuned);
	if (sc->n_failed)
		fprintf(out, "  %zu could not be read (see below)\n", sc->n_failed);
	if (sc->unreadable)
		fprintf(out, "  %u processes' namespaces could not be seen (needs CAP_SYS_PTRACE)\n", sc->unreadable);
	fprintf(out, "  worst first:\n");
	for (size_t i = 0; i < sc->n; i++) {
		const struct netns_result *r = &sc->v[i];

		if (!noteworthy(r) && !r->e.current) {
			quiet++;
			continue;
		}
		if (shown++ >= TEXT_WORST && !r->e.current)
			continue;
		one_ns(r, out);
	}
	if (shown > TEXT_WORST)
		fprintf(out, "  ... %zu more with something to report (--format json lists every one)\n",
			shown - TEXT_WORST);
	if (quiet)
		fprintf(out, "  %zu more with nothing to report\n", quiet);
	if (sc->n_untuned) {
		size_t col = 2, listed = 0;

		untuned_advice(sc, out);
		fprintf(out, "  untuned:");
		col = 10;
		for (size_t i = 0; i < sc->n; i++) {
			char one[300];
			const struct netns_result *r = &sc->v[i];
			int w;

			if (!r->n_untuned)
				continue;
			if (r->e.name[0])
				w = snprintf(one, sizeof(one), " %s", esc(r->e.name));
			else
				w = snprintf(one, sizeof(one), " pid:%d", r->e.pid);
			if (col + (size_t) w > 78) {
				fprintf(out, "\n   ");
				col = 3;
			}
			fputs(one, out);
			col += (size_t) w;
			listed++;
		}
		fputc('\n', out);
	}
	fprintf(out, "\n");
}

static json_t *states_obj(const struct netns_result *r)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < tcp_state_count; i++)
		json_object_set_new(o, tcp_state_names[i].fact, json_integer((json_int_t) r->states[tcp_state_names[i].state]));
	return o;
}

static json_t *keys_obj(const struct netns_result *r)
{
	json_t *o = json_object();

	for (size_t k = 0; o && k < key_count; k++) {
		char v[64];

		if (!key_table[k].per_netns || !r->keys || !r->keys[k].present || r->keys[k].err)
			continue;
		value_text(k, r->keys[k].v, v, sizeof(v));
		json_object_set_new(o, key_table[k].name, key_table[k].type != KEY_INT ? json_string(v)
				    : json_integer(r->keys[k].v[0]));
	}
	return o;
}

static json_t *one_json(const struct netns_result *r)
{
	json_t *untuned = json_array(), *findings = json_array(), *cw;

	for (size_t i = 0; i < r->n_untuned; i++) {
		char here[64], boot[64];
		const struct netns_untuned *u = &r->untuned[i];

		value_text(u->key, u->value, here, sizeof(here));
		value_text(u->key, u->boot, boot, sizeof(boot));
		json_array_append_new(untuned, json_pack("{s:s, s:s, s:s, s:o, s:I, s:o}", "key", key_table[u->key].name,
							 "value", here, "host_boot", boot, "file",
							 json_string_safe(u->file), "line", (json_int_t) u->line,
							 "kubernetes_safe", k8s_safe_since(key_table[u->key].name)
							 ? json_true() : json_false()));
	}
	for (size_t i = 0; i < r->n_findings; i++)
		json_array_append_new(findings, json_pack("{s:s, s:s, s:o}", "id", r->findings[i].rule->id, "severity",
							  severity_name(r->findings[i].rule->severity), "title",
							  json_string_safe(r->findings[i].title)));
	cw = r->cw_pid ? json_pack("{s:i, s:o, s:I, s:o}", "pid", r->cw_pid, "comm", json_string_safe(r->cw_comm),
				   "count", (json_int_t) r->cw_count, "container",
				   r->cw_container[0] ? json_string_safe(r->cw_container) : json_null())
		: json_null();
	return json_pack("{s:I, s:I, s:o, s:o, s:i, s:I, s:o, s:b, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:s}",
			 "inode", (json_int_t) r->e.ino, "dev", (json_int_t) r->e.dev,
			 "name", r->e.name[0] ? json_string_safe(r->e.name) : json_null(),
			 "path", json_string_safe(r->e.path), "pid", r->e.pid, "processes", (json_int_t) r->e.n_pids,
			 "container", r->container[0] ? json_string_safe(r->container) : json_null(),
			 "current", r->e.current,
			 "error", r->err < 0 ? json_string(strerror(-r->err)) : json_null(),
			 "states", r->census_ok ? states_obj(r) : json_null(),
			 "sysctl", keys_obj(r),
			 "close_wait", (json_int_t) r->close_wait, "close_wait_holder", cw,
			 "untuned", untuned, "findings", findings,
			 "worst", r->worst >= 0 ? severity_name((enum severity) r->worst) : "ok");
}

json_t *report_netns_json(const struct netns_scan *sc)
{
	json_t *arr;

	if (!sc)
		return json_null();
	arr = json_array();
	for (size_t i = 0; arr && i < sc->n; i++)
		json_array_append_new(arr, one_json(&sc->v[i]));
	return json_pack("{s:I, s:I, s:I, s:I, s:f, s:o}", "count", (json_int_t) sc->n, "untuned",
			 (json_int_t) sc->n_untuned, "failed", (json_int_t) sc->n_failed, "unreadable_processes",
			 (json_int_t) sc->unreadable, "seconds", sc->seconds, "list", arr);
}

static void head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void report_netns_prometheus(const struct netns_scan *sc, FILE *out)
{
	uint64_t states[TCPS_MAX + 1] = { 0 }, worst_cw = 0;
	size_t with[3] = { 0 };

	if (!sc)
		return;
	head(out, "tcptune_netns", "gauge", "Network namespaces seen by check --all-netns.");
	fprintf(out, "tcptune_netns %zu\n", sc->n);
	head(out, "tcptune_netns_untuned", "gauge",
	     "Namespaces holding kernel defaults for keys the host's boot configuration tunes.");
	fprintf(out, "tcptune_netns_untuned %zu\n", sc->n_untuned);
	head(out, "tcptune_netns_failed", "gauge", "Namespaces that could not be entered or read.");
	fprintf(out, "tcptune_netns_failed %zu\n", sc->n_failed);
	for (size_t i = 0; i < sc->n; i++) {
		for (int s = 0; s <= TCPS_MAX; s++)
			states[s] += sc->v[i].states[s];
		if (sc->v[i].close_wait > worst_cw)
			worst_cw = sc->v[i].close_wait;
		if (sc->v[i].worst >= 0 && sc->v[i].worst < 3)
			with[sc->v[i].worst]++;
	}
	head(out, "tcptune_netns_sockets", "gauge", "TCP sockets by state, summed over every namespace.");
	for (size_t i = 0; i < tcp_state_count; i++)
		fprintf(out, "tcptune_netns_sockets{state=\"%s\"} %" PRIu64 "\n", tcp_state_names[i].fact,
			states[tcp_state_names[i].state]);
	head(out, "tcptune_netns_close_wait_max", "gauge", "CLOSE_WAIT sockets in the namespace that has most.");
	fprintf(out, "tcptune_netns_close_wait_max %" PRIu64 "\n", worst_cw);
	head(out, "tcptune_netns_worst", "gauge", "Namespaces by their worst finding's severity.");
	for (int s = 0; s < 3; s++)
		fprintf(out, "tcptune_netns_worst{severity=\"%s\"} %zu\n", severity_name((enum severity) s), with[s]);
	{
		/* Per rule: in how many namespaces it fired (bounded by the rules). */
		bool head_done = false;
		for (size_t i = 0; i < sc->n; i++)
			for (size_t j = 0; j < sc->v[i].n_findings; j++) {
				const struct rule *ru = sc->v[i].findings[j].rule;
				size_t count = 0;
				bool first = true;

				for (size_t a = 0; a < sc->n && first; a++)
					for (size_t b = 0; b < sc->v[a].n_findings; b++) {
						if (sc->v[a].findings[b].rule != ru)
							continue;
						if (a < i || (a == i && b < j))
							first = false;
						count++;
					}
				if (!first)
					continue;
				if (!head_done) {
					head(out, "tcptune_netns_finding", "gauge",
					     "Namespaces in which the rule fired.");
					head_done = true;
				}
				fprintf(out, "tcptune_netns_finding{rule=\"%s\",severity=\"%s\"} %zu\n", ru->id,
					severity_name(ru->severity), count);
			}
	}
}
