/* `check` as text for a person at a terminal, top down: one status line,
 * the findings (what is wrong and the fix), then the details (census,
 * TIME_WAIT, CLOSE_WAIT holders, rates, sysctls, boot configuration,
 * counters, what could not be seen) and the recommended profile.  Prose
 * wraps at the terminal's width (80 when not a terminal), never cut; tables
 * fit 80 columns.  README "Reading the text report" shows an example. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "keys.h"
#include "report_netns.h"
#include "strutil.h"
#include "tcpstates.h"

#define TOP_DESTS 5
/* A width below this leaves no room for the tables; wrap as if it were this. */
#define MIN_WIDTH 60

size_t report_text_width(FILE *out)
{
	struct winsize ws;
	int fd = fileno(out);

	if (fd >= 0 && isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col < MIN_WIDTH ? MIN_WIDTH : ws.ws_col;
	return 80;
}

/* Text from files (paths, values) is escaped so that no byte of it can
 * drive the terminal; a few rotating buffers allow several per printf.
 * Each holds an escaped PATH_MAX (4 bytes per byte at worst), so nothing a
 * path or a value can be is cut. */
static const char *esc(const char *text)
{
	static char bufs[4][4 * 4096 + 4];
	static unsigned next;

	return str_escape(text, bufs[next++ % 4], sizeof(bufs[0]));
}

/* Columns text takes on screen: ANSI colour sequences take none. */
static size_t visible_len(const char *s)
{
	size_t n = 0;

	while (*s) {
		if (*s == '\033') {
			s += strcspn(s, "m");
			s += *s == 'm';
			continue;
		}
		n++;
		s++;
	}
	return n;
}

void report_wrap(FILE *out, size_t width, const char *first, const char *cont, const char *text)
{
	size_t il = visible_len(cont), col = visible_len(first), start = col;
	const char *p = text;

	fputs(first, out);
	while (*p) {
		size_t w = strcspn(p, " \n");

		if (col > start && width && col + 1 + w > width) {
			fputc('\n', out);
			fputs(cont, out);
			col = start = il;
		} else if (col > start) {
			fputc(' ', out);
			col++;
		}
		while (width && col + w > width && width > col + 1) {
			size_t part = width - col;

			fprintf(out, "%.*s\n%s", (int) part, p, cont);
			p += part;
			w -= part;
			col = start = il;
		}
		fprintf(out, "%.*s", (int) w, p);
		col += w;
		p += w;
		while (*p == ' ' || *p == '\n')
			p++;
	}
	fputc('\n', out);
}

#define wrap report_wrap

/* wrap() of a formatted line. */
static void wrapf(FILE *out, size_t width, const char *first, const char *cont, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void wrapf(FILE *out, size_t width, const char *first, const char *cont, const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fputs("(out of memory)\n", out);
		return;
	}
	wrap(out, width, first, cont, text);
	free(text);
}

static void fact_line(const struct snapshot *s, FILE *out, const char *label, size_t id)
{
	const struct fact_val *v = snap_get(s, id);

	if (!v->present)
		fprintf(out, "  %-34s %12s  (%s)\n", label, "unknown", fact_scope_name(fact_def(id)->scope));
	else
		fprintf(out, "  %-34s %12" PRId64 "  (%s)\n", label, v->i, fact_scope_name(fact_def(id)->scope));
}

/* "0.6%", "<0.1%" for a share that is not nothing: a few hundred ports of a
 * 28232-port range must not read as "0%". */
static void percent(char *buf, size_t len, uint64_t part, uint64_t whole)
{
	double pct = whole ? (double) part * 100.0 / (double) whole : 0;

	if (part > 0 && pct < 0.1)
		snprintf(buf, len, "<0.1%%");
	else if (pct >= 10)
		snprintf(buf, len, "%.0f%%", floor(pct));	/* never rounded up to 100% */
	else
		snprintf(buf, len, "%.1f%%", floor(pct * 10) / 10);
}

static void census_section(const struct report_ctx *ctx, FILE *out)
{
	const struct snapshot *s = ctx->s;
	const struct census *c = &s->census;
	const struct fact_val *tw_max = snap_get(s, fact_id_sysctl((size_t) key_index("net.ipv4.tcp_max_tw_buckets")));
	char of_max[64] = "";

	wrapf(out, ctx->width, "", "  ", "TCP sockets in this network namespace (from %s%s)",
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
	if (tw_max && tw_max->present)
		snprintf(of_max, sizeof(of_max), " of tcp_max_tw_buckets %" PRId64, tw_max->i);
	wrapf(out, ctx->width, "  ", "  ", "of which: %" PRIu64 " orphaned (closed by their program, counted "
	      "against tcp_max_orphans), %" PRIu64 " waiting in accept queues, %" PRIu64 " timewait "
	      "minisockets (TIME_WAIT + orphaned FIN_WAIT2)%s", c->orphans, c->unaccepted, c->tw_minisocks, of_max);
	fprintf(out, "\n");
}

static void sockstat_section(const struct snapshot *s, FILE *out)
{
	fprintf(out, "Kernel counters (/proc/net/sockstat; scope in brackets)\n");
	fact_line(s, out, "TCP inuse (IPv4 full sockets)", F_SOCKSTAT_INUSE);
	fact_line(s, out, "TCP6 inuse (IPv6 full sockets)", F_SOCKSTAT_INUSE6);
	fact_line(s, out, "tw (incl. orphaned FIN_WAIT2)", F_SOCKSTAT_TW);
	fact_line(s, out, "orphan (all namespaces)", F_SOCKSTAT_ORPHAN);
	fact_line(s, out, "alloc (all namespaces)", F_SOCKSTAT_ALLOC);
	fact_line(s, out, "mem pages (all namespaces)", F_SOCKSTAT_MEM_PAGES);
	fprintf(out, "\n");
}

static void timewait_section(const struct report_ctx *ctx, FILE *out)
{
	const struct census *c = &ctx->s->census;
	struct census_dest top[TOP_DESTS], use;
	char buf[80], pct[16];
	size_t n;

	if (!ctx->s->census_ok)
		return;
	fprintf(out, "TIME_WAIT (always 60 s; no sysctl shortens it)\n");
	fprintf(out, "  incoming, on a server port (this host closed first as a server):    %" PRIu64 "\n",
		c->tw_incoming);
	fprintf(out, "  outgoing (this host closed first as a client):                    %" PRIu64 "\n",
		c->tw_outgoing);
	n = census_top_tw_dests(c, top, TOP_DESTS);
	for (size_t i = 0; i < n; i++) {
		census_dest_format(&top[i], buf, sizeof(buf));
		/* An IPv6 address:port is up to 47 characters: the row still fits 80. */
		fprintf(out, "  %s %-47s %8u\n", i == 0 ? "top destinations:" : "                 ", buf,
			top[i].count);
	}
	if (census_max_dest_usage(c, &use)) {
		long range = (long) c->port_high - c->port_low + 1;

		census_dest_format(&use, buf, sizeof(buf));
		percent(pct, sizeof(pct), use.count, range > 0 ? (uint64_t) range : 0);
		wrapf(out, ctx->width, "  ", "    ", "port headroom: %s uses %u of the %ld ephemeral ports "
		      "%u-%u (%s)", buf, use.count, range, c->port_low, c->port_high, pct);
	}
	fprintf(out, "\n");
}

static void closewait_section(const struct report_ctx *ctx, FILE *out)
{
	const struct census *c = &ctx->s->census;
	char buf[80];

	if (!ctx->s->census_ok || c->states[TCPS_CLOSE_WAIT] == 0)
		return;
	fprintf(out, "CLOSE_WAIT holders (the peer closed; the program has not called close())\n");
	fprintf(out, "  %8s  %-16s %8s %8s  %s\n", "pid", "command", "count", "unread", "top peers");
	for (size_t i = 0; i < c->n_procs; i++) {
		const struct census_proc *p = &c->procs[i];
		char head[160], *peers = NULL;
		size_t plen = 0;
		FILE *pm = open_memstream(&peers, &plen);

		snprintf(head, sizeof(head), "  %8d  %-16s %8u %8u  ", p->pid, p->comm, p->count, p->unread);
		for (size_t j = 0; pm && j < p->n_top_peers; j++) {
			census_dest_format(&p->top_peers[j], buf, sizeof(buf));
			fprintf(pm, "%s%s (%u)", j ? ", " : "", buf, p->top_peers[j].count);
		}
		if (pm && fclose(pm) == 0) {
			/* Peers continue under their column. */
			wrap(out, ctx->width, head, "                                                ", peers);
		} else
			fprintf(out, "%s\n", head);
		free(peers);
	}
	if (c->cw_unattributed) {
		char *uids = NULL;
		size_t ulen = 0;
		FILE *um = open_memstream(&uids, &ulen);

		for (size_t i = 0; um && i < c->n_cw_uids && i < 5; i++)
			fprintf(um, "%s uid %u %u", i ? "," : "", c->cw_uids[i].uid, c->cw_uids[i].count);
		if (um && fclose(um) == 0)
			wrapf(out, ctx->width, "  ", "  ", "%" PRIu64 " not attributed to a process; by socket owner:%s%s",
			      c->cw_unattributed, uids, c->n_cw_uids > 5 ? ", ..." : "");
		free(uids);
	}
	fprintf(out, "  unread: data the program never read before the peer's FIN\n\n");
}

/* A rate as it reads best: per second, or per minute when under one a second. */
static void rate_str(char *buf, size_t len, double per_s)
{
	double a = fabs(per_s);

	if (a == 0)
		snprintf(buf, len, "0");
	else if (a >= 10)
		snprintf(buf, len, "%+.0f/s", per_s);
	else if (a >= 1)
		snprintf(buf, len, "%+.1f/s", per_s);
	else
		snprintf(buf, len, "%+.1f/min", per_s * 60);
}

/* --samples: what changed between the first and the last snapshot. */
static void rates_section(const struct report_ctx *ctx, FILE *out)
{
	const struct sampler *sm = ctx->sampler;
	const struct snapshot *s = ctx->s;
	double secs;
	size_t quiet = 0;
	char r[32];

	if (!sm || sm->n < 2 || !sm->first)
		return;
	secs = sm->t_last - sm->t_first;
	if (secs <= 0)
		return;
	fprintf(out, "Rates: %zu samples over %.0f s (per second, or per minute when slower)\n", sm->n, secs);
	fprintf(out, "  %-34s %12s %12s\n", "sockets by state", "now", "change");
	for (size_t i = 0; i < tcp_state_count; i++) {
		size_t id = fact_id_state(tcp_state_names[i].state);
		const struct fact_val *v = snap_get(s, id);

		if (!v->present || !sm->first_present[id])
			continue;
		rate_str(r, sizeof(r), (double) (v->i - sm->first[id]) / secs);
		fprintf(out, "  %-34s %12" PRId64 " %12s\n", tcp_state_names[i].ss, v->i, r);
	}
	fprintf(out, "  %-34s %12s %12s\n", "TcpExt counters", "total", "rate");
	for (size_t i = 0; i < tcpext_count; i++) {
		size_t id = fact_id_tcpext(i);
		const struct fact_val *v = snap_get(s, id);

		if (!v->present || !sm->first_present[id])
			continue;
		if (v->i == sm->first[id] && ctx->verbosity < 2) {
			quiet++;
			continue;
		}
		rate_str(r, sizeof(r), (double) (v->i - sm->first[id]) / secs);
		fprintf(out, "  %-34s %12" PRId64 " %12s\n", tcpext_names[i], v->i, r);
	}
	if (quiet)
		fprintf(out, "  (%zu more counters did not change; -v lists them)\n", quiet);
	fprintf(out, "\n");
}

static void value_str(const struct snap_sysctl *v, char *buf, size_t len)
{
	if (!v->present)
		snprintf(buf, len, "%s", v->err ? "unreadable" : "missing");
	else
		snprintf(buf, len, "%s", esc(v->raw));
}

/* After the table: why each missing key is missing. */
static void missing_keys(const struct report_ctx *ctx, FILE *out)
{
	const struct snapshot *s = ctx->s;

	for (size_t i = 0; i < key_count; i++) {
		char why[96];
		const char *reason;

		if (s->sysctl[i].present || s->sysctl[i].err)
			continue;
		reason = key_absence_reason(&key_table[i], s->kernel_version, why, sizeof(why));
		wrapf(out, ctx->width, "  ", "    ", "%s is missing here: %s", key_table[i].name,
		      reason ? reason : "not in this kernel");
	}
}

/* The table is key, runtime and boot value (78 columns for the longest key);
 * where boot's value comes from, and what `sysctl --system` would do
 * differently, follow on a line of their own. */
static void sysctl_section(const struct report_ctx *ctx, FILE *out)
{
	const struct snapshot *s = ctx->s;
	bool any_host = false;

	fprintf(out, "TCP sysctls: runtime now, and what boot sets (systemd-sysctl order)\n");
	fprintf(out, "  %-51s %-11s %s\n", "key (* host-wide)", "runtime", "boot");
	for (size_t i = 0; i < key_count; i++) {
		const struct key_def *k = &key_table[i];
		const struct sysctld_assign *w = s->boot_ok ? s->boot.keys[i].winner[ORDER_SYSTEMD] : NULL;
		const struct sysctld_assign *p = s->boot_ok ? s->boot.keys[i].winner[ORDER_PROCPS] : NULL;
		char name[72], rt[4 * 64 + 4], bv[64] = "default", bp[64] = "kernel default", from[4200] = "";
		size_t used;

		value_str(&s->sysctl[i], rt, sizeof(rt));
		if (!s->boot_ok)
			snprintf(bv, sizeof(bv), "unknown");
		else if (!w && !s->sysctl[i].present)
			snprintf(bv, sizeof(bv), "-");
		if (w)
			(void) sysctld_boot_value(&s->boot, i, ORDER_SYSTEMD, bv, sizeof(bv));
		if (p)
			(void) sysctld_boot_value(&s->boot, i, ORDER_PROCPS, bp, sizeof(bp));
		snprintf(name, sizeof(name), "%s%s", k->name, k->per_netns ? "" : "*");
		any_host |= !k->per_netns;
		used = (size_t) fprintf(out, "  %-51s %-11s ", name, rt);
		if (ctx->width && used + strlen(esc(bv)) > ctx->width)
			fprintf(out, "\n%*s", 66, "");
		fprintf(out, "%s\n", esc(bv));
		if (w)
			snprintf(from, sizeof(from), "set by %s:%u", esc(w->file), w->line);
		if (s->boot_ok && strcmp(w ? bv : "kernel default", bp) != 0)
			snprintf(from + strlen(from), sizeof(from) - strlen(from), "%ssysctl --system: %s%s%s",
				 from[0] ? "; " : "", esc(bp), p ? " from " : "", p ? esc(p->file) : "");
		if (from[0])
			wrap(out, ctx->width, "      ", "      ", from);
	}
	if (any_host)
		fprintf(out, "  * host-wide: one value for every network namespace\n");
	missing_keys(ctx, out);
	fprintf(out, "\n");
}

static void boot_section(const struct report_ctx *ctx, FILE *out)
{
	const struct snapshot *s = ctx->s;

	if (!s->boot_ok || (s->boot.n_stale == 0 && s->boot.n_reappliers == 0 && s->boot.n_rejected == 0))
		return;
	fprintf(out, "Boot configuration\n");
	for (size_t i = 0; i < s->boot.n_rejected; i++) {
		const struct sysctld_rejected *rj = &s->boot.rejected[i];

		wrapf(out, ctx->width, "  ", "    ", "%s:%u: %s = %s is refused by the kernel at boot (%s): the key "
		      "keeps its value", esc(rj->file), rj->line, key_table[rj->key].name, esc(rj->value), esc(rj->why));
	}
	for (size_t i = 0; i < s->boot.n_stale; i++) {
		const struct sysctld_stale *st = &s->boot.stale[i];

		if (st->reason == STALE_INTERFACE)
			wrapf(out, ctx->width, "  ", "    ", "%s:%u sets %s: %s", esc(st->file), st->line, esc(st->key),
			      esc(st->detail));
		else
			wrapf(out, ctx->width, "  ", "    ", "%s:%u sets %s, which this kernel lacks: %s", esc(st->file),
			      st->line, esc(st->key), st->detail ? esc(st->detail) : sysctld_stale_reason_name(st->reason));
	}
	for (size_t i = 0; i < s->boot.n_reappliers; i++)
		wrapf(out, ctx->width, "  ", "    ", "%s rewrites sysctls after boot: %s", s->boot.reappliers[i].name,
		      s->boot.reappliers[i].detail ? esc(s->boot.reappliers[i].detail) : "");
	fprintf(out, "\n");
}

static void nat_section(const struct report_ctx *ctx, FILE *out)
{
	static const size_t ids[] = { F_NAT_IP_FORWARD, F_NAT_CONNTRACK_LOADED, F_NAT_NAT_LOADED,
				      F_NAT_CONNTRACK_COUNT, F_NAT_CONNTRACK_MAX };
	const struct snapshot *s = ctx->s;
	size_t zero = 0;

	fprintf(out, "NAT and connection tracking\n");
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		fact_line(s, out, fact_def(ids[i])->name, ids[i]);
	fprintf(out, "\nTcpExt counters since %s (/proc/net/netstat)\n", snap_counters_since(s));
	for (size_t i = 0; i < tcpext_count; i++) {
		const struct fact_val *v = snap_get(s, fact_id_tcpext(i));

		if (!v->present)
			continue;
		if (v->i == 0 && ctx->verbosity < 2) {
			zero++;
			continue;
		}
		fprintf(out, "  %-34s %12" PRId64 "\n", tcpext_names[i], v->i);
	}
	if (zero)
		fprintf(out, "  (%zu more are 0; -v lists them)\n", zero);
	fprintf(out, "\n");
}

static void notes_section(const struct report_ctx *ctx, FILE *out)
{
	const struct snapshot *s = ctx->s;

	if (!s->n_notes)
		return;
	fprintf(out, "Could not see\n");
	for (size_t i = 0; i < s->n_notes; i++)
		wrapf(out, ctx->width, "  ", "    ", "%s: %s", s->notes[i].source, esc(s->notes[i].text));
	fprintf(out, "\n");
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

/* The first line: the verdict, then where it was taken. */
static void status_line(const struct report_ctx *ctx, FILE *out)
{
	static const char *const upper[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
	const struct snapshot *s = ctx->s;
	const struct findings *f = ctx->findings;
	size_t n[3] = { 0 }, total = 0;
	char counts[96] = "", first[64];
	int st = ctx->status >= 0 && ctx->status <= 3 ? ctx->status : 3;

	for (size_t i = 0; f && i < f->n; i++)
		if (!f->v[i].ignored) {
			n[f->v[i].rule->severity]++;
			total++;
		}
	if (!f)
		snprintf(counts, sizeof(counts), "rules not evaluated");
	else if (total == 0)
		snprintf(counts, sizeof(counts), "no findings");
	else {
		static const char *const names[] = { "info", "warning", "critical" };
		size_t len;

		snprintf(counts, sizeof(counts), "%zu finding%s (", total, total == 1 ? "" : "s");
		for (int sev = SEV_CRITICAL; sev >= SEV_INFO; sev--)
			if (n[sev]) {
				len = strlen(counts);
				snprintf(counts + len, sizeof(counts) - len, "%s%zu %s%s", counts[len - 1] == '(' ? "" : ", ",
					 n[sev], names[sev], sev == SEV_WARNING && n[sev] > 1 ? "s" : "");
			}
		len = strlen(counts);
		snprintf(counts + len, sizeof(counts) - len, ")");
	}
	snprintf(first, sizeof(first), "%s%s%s: ", st == 0 ? (ctx->color ? "\033[32m" : "")
		 : color_on(ctx, st == 3 ? 1 : st), upper[st], color_off(ctx));
	/* What was audited (root, namespace) opens the details: this line stays short. */
	wrapf(out, ctx->width, first, "  ", "%s%s, kernel %s", counts,
	      st == 3 ? "; the check is incomplete (errors above)" : "",
	      s->kernel_release[0] ? esc(s->kernel_release) : "unknown");
}

/* One finding: severity and title (with the rule id), the fix; with -v the
 * explanation and the evidence too. */
static void finding(const struct report_ctx *ctx, FILE *out, const struct finding *x)
{
	static const char *const labels[] = { "INFO", "WARNING", "CRITICAL" };
	int sev = (int) x->rule->severity;
	char first[48], world[600];

	snprintf(first, sizeof(first), "%s%-8s%s  ", color_on(ctx, sev), labels[sev], color_off(ctx));
	/* The title hangs under itself: severity labels are at most 8 wide. */
	wrapf(out, ctx->width, first, "          ", "%s  [%s]", esc(x->title), x->rule->id);
	/* Which world (now, after the next reboot: docs/ARCHITECTURE.md §7)
	 * decides what to fix: the running value or a file's line. */
	if (finding_world_text(x, world, sizeof(world))[0])
		wrap(out, ctx->width, "          ", "          ", esc(world));
	if (ctx->verbosity >= 2) {
		wrap(out, ctx->width, "  Why: ", "       ", x->rule->explain);
	}
	wrap(out, ctx->width, "  Fix: ", "       ", x->rule->fix);
	for (size_t k = 0; k < x->rule->n_sysctl; k++)
		fprintf(out, "       %s = %s\n", x->rule->sysctl[k].key, x->rule->sysctl[k].value);
	if (ctx->verbosity >= 2) {
		char *ev = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&ev, &len);

		for (size_t k = 0; m && k < x->n_evidence; k++)
			fprintf(m, "%s%s=%s", k ? ", " : "", x->evidence[k].fact, x->evidence[k].value);
		if (m && fclose(m) == 0)
			wrap(out, ctx->width, "  Evidence: ", "            ", ev);
		free(ev);
	}
}

static void findings_section(const struct report_ctx *ctx, FILE *out)
{
	const struct findings *f = ctx->findings;
	size_t shown = 0, ignored = 0;

	if (!f)
		return;
	/* Worst first. */
	for (int sev = SEV_CRITICAL; sev >= SEV_INFO; sev--)
		for (size_t i = 0; i < f->n; i++) {
			const struct finding *x = &f->v[i];

			if ((int) x->rule->severity != sev || x->ignored)
				continue;
			fprintf(out, "\n");
			finding(ctx, out, x);
			shown++;
		}
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].ignored)
			fprintf(out, "%s%s", ignored++ ? ", " : "\nIgnored on purpose: ", f->v[i].rule->id);
	if (ignored)
		fprintf(out, "\n");
	for (size_t i = 0; i < f->n_errors; i++)
		wrapf(out, ctx->width, "\nRule error: ", "  ", "%s: %s", f->errors[i].rule->id, f->errors[i].msg);
	if (shown && ctx->verbosity < 2)
		fprintf(out, "\n(-v, or tcptune explain ID, says why each one matters.)\n");
}

static void recommendation(const struct report_ctx *ctx, FILE *out)
{
	if (!ctx->rec || !ctx->rec->profile)
		return;
	wrapf(out, ctx->width, "", "  ", "Recommended profile: %s, confidence %s (tcptune diff %s shows what it "
	      "would change)", ctx->rec->profile->name, recommend_confidence_name(ctx->rec->confidence),
	      ctx->rec->profile->name);
	wrap(out, ctx->width, "  ", "  ", esc(ctx->rec->reason));
	wrapf(out, ctx->width, "  ", "  ", "Confidence %s: %s.", recommend_confidence_name(ctx->rec->confidence),
	      esc(ctx->rec->confidence_why));
}

int report_text(const struct report_ctx *ctx, FILE *out)
{
	status_line(ctx, out);
	findings_section(ctx, out);
	report_netns_text(ctx->netns, out);
	if (ctx->verbosity >= 1) {
		fprintf(out, "\n");
		if (strcmp(ctx->s->root, "/") != 0 || ctx->s->netns) {
			wrapf(out, ctx->width, "", "  ", "Audited: %s%s%s%s", strcmp(ctx->s->root, "/") ? "the tree under " : "",
			      strcmp(ctx->s->root, "/") ? esc(ctx->s->root) : "",
			      ctx->s->netns ? "network namespace " : "", ctx->s->netns ? esc(ctx->s->netns) : "");
			fprintf(out, "\n");
		}
		census_section(ctx, out);
		timewait_section(ctx, out);
		closewait_section(ctx, out);
		rates_section(ctx, out);
		sysctl_section(ctx, out);
		boot_section(ctx, out);
		sockstat_section(ctx->s, out);
		nat_section(ctx, out);
		notes_section(ctx, out);
		recommendation(ctx, out);
	}
	return ferror(out) ? -EIO : 0;
}
