/* `check` as text for a terminal: census in TCP state order, tracked
 * sysctls with runtime and boot values, TIME_WAIT and CLOSE_WAIT analyses,
 * boot configuration, and what could not be seen. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "keys.h"
#include "strutil.h"
#include "tcpstates.h"

#define TOP_DESTS 5

/* Text from files (paths, values) is escaped so that no byte of it can
 * drive the terminal; a few rotating buffers allow several per printf. */
static const char *esc(const char *text)
{
	static char bufs[4][512];
	static unsigned next;

	return str_escape(text, bufs[next++ % 4], sizeof(bufs[0]));
}

static void fact_line(const struct snapshot *s, FILE *out, const char *label, size_t id)
{
	const struct fact_val *v = snap_get(s, id);

	if (!v->present)
		fprintf(out, "  %-34s %12s  (%s)\n", label, "unknown", fact_scope_name(fact_def(id)->scope));
	else
		fprintf(out, "  %-34s %12" PRId64 "  (%s)\n", label, v->i, fact_scope_name(fact_def(id)->scope));
}

static void census_section(const struct snapshot *s, FILE *out)
{
	const struct census *c = &s->census;
	const struct fact_val *tw_max = snap_get(s, fact_id_sysctl((size_t) key_index("net.ipv4.tcp_max_tw_buckets")));

	fprintf(out, "TCP sockets in this network namespace (from %s%s)\n",
		s->sockets_source ? s->sockets_source : "nowhere",
		s->sockets_approximate ? ", approximate: tables changed during the dump" : "");
	if (!s->census_ok) {
		fprintf(out, "  not available\n\n");
		return;
	}
	fprintf(out, "  %-12s %10s %10s %10s\n", "state", "total", "ipv4", "ipv6");
	for (size_t i = 0; i < tcp_state_count; i++) {
		int st = tcp_state_names[i].state;
		fprintf(out, "  %-12s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n", tcp_state_names[i].ss,
			c->states[st], c->by_family[0][st], c->by_family[1][st]);
	}
	fprintf(out, "  %-12s %10" PRIu64 "\n", "total", c->total);
	fprintf(out, "  of which: %" PRIu64 " orphaned (closed by their program, counted against "
		"tcp_max_orphans), %" PRIu64 " waiting in accept queues,\n"
		"  %" PRIu64 " timewait minisockets (TIME_WAIT + orphaned FIN_WAIT2)", c->orphans, c->unaccepted,
		c->tw_minisocks);
	if (tw_max && tw_max->present)
		fprintf(out, " of tcp_max_tw_buckets %" PRId64, tw_max->i);
	fprintf(out, "\n\n");

	fprintf(out, "Kernel counters (/proc/net/sockstat; scope in brackets)\n");
	fact_line(s, out, "TCP inuse (IPv4 full sockets)", F_SOCKSTAT_INUSE);
	fact_line(s, out, "TCP6 inuse (IPv6 full sockets)", F_SOCKSTAT_INUSE6);
	fact_line(s, out, "tw (incl. orphaned FIN_WAIT2)", F_SOCKSTAT_TW);
	fact_line(s, out, "orphan (all namespaces)", F_SOCKSTAT_ORPHAN);
	fact_line(s, out, "alloc (all namespaces)", F_SOCKSTAT_ALLOC);
	fact_line(s, out, "mem pages (all namespaces)", F_SOCKSTAT_MEM_PAGES);
	fprintf(out, "\n");
}

static void timewait_section(const struct snapshot *s, FILE *out)
{
	const struct census *c = &s->census;
	struct census_dest top[TOP_DESTS], use;
	char buf[80];
	size_t n;

	if (!s->census_ok)
		return;
	fprintf(out, "TIME_WAIT (always 60 s; no sysctl shortens it)\n");
	fprintf(out, "  incoming, on a listening port (this host closed first as a server): %" PRIu64 "\n",
		c->tw_incoming);
	fprintf(out, "  outgoing (this host closed first as a client):                    %" PRIu64 "\n",
		c->tw_outgoing);
	n = census_top_tw_dests(c, top, TOP_DESTS);
	for (size_t i = 0; i < n; i++) {
		census_dest_format(&top[i], buf, sizeof(buf));
		fprintf(out, "  %s %-40s %8u\n", i == 0 ? "top destinations:" : "                 ", buf,
			top[i].count);
	}
	if (census_max_dest_usage(c, &use)) {
		long range = (long) c->port_high - c->port_low + 1;
		census_dest_format(&use, buf, sizeof(buf));
		fprintf(out, "  ephemeral ports %u-%u (%ld): %s uses %u of them (%ld%%)\n", c->port_low,
			c->port_high, range, buf, use.count, range > 0 ? (long) use.count * 100 / range : 0);
	}
	fprintf(out, "\n");
}

static void closewait_section(const struct snapshot *s, FILE *out)
{
	const struct census *c = &s->census;
	char buf[80];

	if (!s->census_ok || c->states[TCPS_CLOSE_WAIT] == 0)
		return;
	fprintf(out, "CLOSE_WAIT (the peer closed; the program has not called close())\n");
	fprintf(out, "  %8s  %-16s %8s %8s  %s\n", "pid", "command", "count", "unread", "top peers");
	for (size_t i = 0; i < c->n_procs; i++) {
		const struct census_proc *p = &c->procs[i];
		fprintf(out, "  %8d  %-16s %8u %8u  ", p->pid, p->comm, p->count, p->unread);
		for (size_t j = 0; j < p->n_top_peers; j++) {
			census_dest_format(&p->top_peers[j], buf, sizeof(buf));
			fprintf(out, "%s%s (%u)", j ? ", " : "", buf, p->top_peers[j].count);
		}
		fprintf(out, "\n");
	}
	if (c->cw_unattributed) {
		fprintf(out, "  %" PRIu64 " not attributed to a process; by socket owner:", c->cw_unattributed);
		for (size_t i = 0; i < c->n_cw_uids && i < 5; i++)
			fprintf(out, "%s uid %u %u", i ? "," : "", c->cw_uids[i].uid, c->cw_uids[i].count);
		fprintf(out, "%s\n", c->n_cw_uids > 5 ? ", ..." : "");
	}
	fprintf(out, "  unread: data the program never read before the peer's FIN\n\n");
}

static void value_str(const struct snap_sysctl *v, char *buf, size_t len)
{
	if (!v->present)
		snprintf(buf, len, "%s", v->err ? "unreadable" : "missing");
	else
		snprintf(buf, len, "%s", v->raw);
}

/* After the table: why each missing key is missing. */
static void missing_keys(const struct snapshot *s, FILE *out)
{
	for (size_t i = 0; i < key_count; i++) {
		char why[96];
		const char *reason;

		if (s->sysctl[i].present || s->sysctl[i].err)
			continue;
		reason = key_absence_reason(&key_table[i], s->kernel_version, why, sizeof(why));
		fprintf(out, "  %s is missing here: %s\n", key_table[i].name, reason ? reason : "not in this kernel");
	}
}

static void sysctl_section(const struct snapshot *s, FILE *out)
{
	fprintf(out, "TCP sysctls: runtime now, and what boot sets (systemd-sysctl order)\n");
	fprintf(out, "  %-50s %-12s %-12s %s\n", "key", "runtime", "boot", "set by");
	for (size_t i = 0; i < key_count; i++) {
		const struct key_def *k = &key_table[i];
		const struct sysctld_assign *w = s->boot_ok ? s->boot.keys[i].winner[ORDER_SYSTEMD] : NULL;
		const struct sysctld_assign *p = s->boot_ok ? s->boot.keys[i].winner[ORDER_PROCPS] : NULL;
		char rt[64], bv[64] = "-", bp[64] = "kernel default";

		value_str(&s->sysctl[i], rt, sizeof(rt));
		if (w)
			(void) sysctld_boot_value(&s->boot, i, ORDER_SYSTEMD, bv, sizeof(bv));
		if (p)
			(void) sysctld_boot_value(&s->boot, i, ORDER_PROCPS, bp, sizeof(bp));
		fprintf(out, "  %-50s %-12s %-12s ", k->name, rt, esc(bv));
		if (w)
			fprintf(out, "%s:%u", esc(w->file), w->line);
		else if (!s->sysctl[i].present)
			fprintf(out, "-");
		else
			fprintf(out, "%s", s->boot_ok ? "kernel default" : "unknown");
		if (strcmp(w ? bv : "kernel default", bp) != 0)
			fprintf(out, "; sysctl --system: %s%s%s", esc(bp), p ? " from " : "", p ? esc(p->file) : "");
		if (!k->per_netns)
			fprintf(out, " [host-wide]");
		fprintf(out, "\n");
	}
	missing_keys(s, out);
	fprintf(out, "\n");
}

static void boot_section(const struct snapshot *s, FILE *out)
{
	if (!s->boot_ok || (s->boot.n_stale == 0 && s->boot.n_reappliers == 0 && s->boot.n_rejected == 0))
		return;
	fprintf(out, "Boot configuration\n");
	for (size_t i = 0; i < s->boot.n_rejected; i++) {
		const struct sysctld_rejected *rj = &s->boot.rejected[i];

		fprintf(out, "  %s:%u: %s = %s is refused by the kernel at boot (%s): the key keeps its value\n",
			esc(rj->file), rj->line, key_table[rj->key].name, esc(rj->value), esc(rj->why));
	}
	for (size_t i = 0; i < s->boot.n_stale; i++) {
		const struct sysctld_stale *st = &s->boot.stale[i];

		if (st->reason == STALE_INTERFACE)
			fprintf(out, "  %s:%u sets %s: %s\n", esc(st->file), st->line, esc(st->key), esc(st->detail));
		else
			fprintf(out, "  %s:%u sets %s, which this kernel lacks: %s\n", esc(st->file), st->line,
				esc(st->key), st->detail ? esc(st->detail) : sysctld_stale_reason_name(st->reason));
	}
	for (size_t i = 0; i < s->boot.n_reappliers; i++)
		fprintf(out, "  %s rewrites sysctls after boot: %s\n", s->boot.reappliers[i].name,
			s->boot.reappliers[i].detail ? esc(s->boot.reappliers[i].detail) : "");
	fprintf(out, "\n");
}

static void nat_section(const struct snapshot *s, FILE *out)
{
	static const size_t ids[] = { F_NAT_IP_FORWARD, F_NAT_CONNTRACK_LOADED, F_NAT_NAT_LOADED,
				      F_NAT_CONNTRACK_COUNT, F_NAT_CONNTRACK_MAX };

	fprintf(out, "NAT and connection tracking\n");
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		fact_line(s, out, fact_def(ids[i])->name, ids[i]);
	fprintf(out, "\nTcpExt counters since boot (/proc/net/netstat)\n");
	for (size_t i = 0; i < tcpext_count; i++)
		if (snap_get(s, fact_id_tcpext(i))->present)
			fprintf(out, "  %-34s %12" PRId64 "\n", tcpext_names[i], snap_get(s, fact_id_tcpext(i))->i);
	fprintf(out, "\n");
}

/* Print text indented, wrapped at about 78 columns. */
static void wrapped(FILE *out, const char *indent, const char *text)
{
	size_t col = 0, il = strlen(indent);
	const char *p = text;

	fputs(indent, out);
	col = il;
	while (*p) {
		size_t w = strcspn(p, " \n");

		if (col > il && col + 1 + w > 78) {
			fputc('\n', out);
			fputs(indent, out);
			col = il;
		} else if (col > il) {
			fputc(' ', out);
			col++;
		}
		fprintf(out, "%.*s", (int) w, p);
		col += w;
		p += w;
		while (*p == ' ' || *p == '\n')
			p++;
	}
	fputc('\n', out);
}

/* ANSI colour for a severity (or the status): none, yellow, red. */
static const char *color_on(const struct report_ctx *ctx, int sev)
{
	static const char *const codes[] = { "\033[36m", "\033[33m", "\033[1;31m" };

	return ctx->color && sev >= 0 && sev <= 2 ? codes[sev] : "";
}

static const char *color_off(const struct report_ctx *ctx)
{
	return ctx->color ? "\033[0m" : "";
}

static void findings_section(const struct report_ctx *ctx, FILE *out)
{
	static const char *const labels[] = { "INFO", "WARNING", "CRITICAL" };
	const struct findings *f = ctx->findings;
	size_t shown = 0, ignored = 0;

	if (!f) {
		fprintf(out, "Findings: not evaluated\n");
		return;
	}
	/* Worst first. */
	for (int sev = SEV_CRITICAL; sev >= SEV_INFO; sev--)
		for (size_t i = 0; i < f->n; i++) {
			const struct finding *x = &f->v[i];
			char world[600];

			if ((int) x->rule->severity != sev || x->ignored)
				continue;
			if (shown++ == 0)
				fprintf(out, "Findings\n");
			fprintf(out, "\n  %s[%s]%s %s  (%s)\n", color_on(ctx, sev), labels[sev], color_off(ctx),
				esc(x->title), x->rule->id);
			if (finding_world_text(x, world, sizeof(world))[0])
				wrapped(out, "    ", esc(world));
			wrapped(out, "    ", x->rule->explain);
			fprintf(out, "    Fix:\n");
			wrapped(out, "      ", x->rule->fix);
			for (size_t k = 0; k < x->rule->n_sysctl; k++)
				fprintf(out, "      %s = %s\n", x->rule->sysctl[k].key, x->rule->sysctl[k].value);
			fprintf(out, "    Evidence:");
			for (size_t k = 0; k < x->n_evidence; k++)
				fprintf(out, "%s %s=%s", k ? "," : "", x->evidence[k].fact, x->evidence[k].value);
			fprintf(out, "\n");
		}
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].ignored)
			fprintf(out, "%s%s", ignored++ ? ", " : "\nIgnored on purpose: ", f->v[i].rule->id);
	if (ignored)
		fprintf(out, "\n");
	for (size_t i = 0; i < f->n_errors; i++)
		fprintf(out, "\nRule error: %s: %s\n", f->errors[i].rule->id, f->errors[i].msg);
	if (shown == 0)
		fprintf(out, "Findings: none%s\n", ignored ? " besides the ignored ones" : "");
	if (ctx->rec && ctx->rec->profile)
		fprintf(out, "\nRecommended profile: %s\n  %s\n  (tcptune diff %s shows what it would change)\n",
			ctx->rec->profile->name, esc(ctx->rec->reason), ctx->rec->profile->name);
	fprintf(out, "\nStatus: %s%s%s\n", ctx->status == 0 ? (ctx->color ? "\033[32m" : "")
		: color_on(ctx, ctx->status == 3 ? 1 : ctx->status), report_status_name(ctx->status), color_off(ctx));
}

int report_text(const struct report_ctx *ctx, FILE *out)
{
	const struct snapshot *s = ctx->s;
	fprintf(out, "tcptune %s: kernel %s, root %s%s%s\n\n", TCPTUNE_VERSION,
		s->kernel_release[0] ? esc(s->kernel_release) : "unknown", esc(s->root),
		s->netns ? ", network namespace " : "", s->netns ? esc(s->netns) : "");
	census_section(s, out);
	timewait_section(s, out);
	closewait_section(s, out);
	sysctl_section(s, out);
	boot_section(s, out);
	nat_section(s, out);
	if (s->n_notes) {
		fprintf(out, "Could not see\n");
		for (size_t i = 0; i < s->n_notes; i++)
			fprintf(out, "  %s: %s\n", s->notes[i].source, esc(s->notes[i].text));
		fprintf(out, "\n");
	}
	findings_section(ctx, out);
	return ferror(out) ? -EIO : 0;
}
