/* `tcptune watch`: a full-screen live view, refreshed every second, of what
 * `watch -n1 'netstat -n | awk ...'` is typed for during an incident: TCP
 * states with a sparkline of the last five minutes, the rates of the
 * counters that matter, CLOSE_WAIT holders with their growth, top TIME_WAIT
 * destinations and port headroom, and the findings as they appear.
 *
 * Each refresh is one snapshot (the same readers as `check`), fed to the
 * sampler (engine/sample.c) for rates and CLOSE_WAIT growth and to the rules
 * for findings; nothing else is counted here.  Plain ANSI on the alternate
 * screen, no curses: the terminal is restored on every exit, signals
 * included.  Memory is bounded: one snapshot at a time, a fixed history
 * ring, a sampler window of WINDOW samples.  README "tcptune watch". */
#include "cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "datadir.h"
#include "log.h"
#include "report.h"
#include "rule.h"
#include "sample.h"
#include "snapshot.h"
#include "strutil.h"
#include "tcpstates.h"

enum { OPT_INTERVAL = 1, OPT_TICKS };

const struct cli_opt cmd_watch_opts[] = {
	{ "interval", true, OPT_INTERVAL, "seconds between refreshes (1..60, default 1)" },
	{ "debug-ticks", true, OPT_TICKS, NULL },	/* tests, benchmark: quit after N refreshes */
	{ NULL, false, 0, NULL },
};

#define HIST 300	/* samples of state history: five minutes at one a second */
#define WINDOW 10	/* samples per sampler window: rates and growth over up to 9 intervals */
#define MAX_ROWS 200	/* lines drawn at most, whatever the terminal says */
#define MAX_GROWTH 64	/* CLOSE_WAIT holders whose last growth is remembered */

/* The states shown, most telling first when rows are short. */
static const int shown_states[] = { TCPS_ESTABLISHED, TCPS_TIME_WAIT, TCPS_CLOSE_WAIT, TCPS_FIN_WAIT2,
				    TCPS_SYN_RECV, TCPS_SYN_SENT, TCPS_FIN_WAIT1, TCPS_LAST_ACK, TCPS_LISTEN };
#define N_SHOWN (sizeof(shown_states) / sizeof(shown_states[0]))

enum sort_by { SORT_COUNT, SORT_GROWTH, SORT_PID, SORT__N };
static const char *const sort_names[] = { "count", "growth", "pid" };

struct growth {
	int pid;
	double per_min;
};

struct watch {
	const struct cli_args *a;
	struct rule_set rules;
	struct config cfg;
	struct snapshot s;		/* the latest snapshot */
	bool have_s;
	struct findings found;
	bool have_found;
	struct sampler sm;
	uint32_t hist[N_SHOWN][HIST];	/* ring of state counts */
	size_t hist_n, hist_next;
	struct growth growth[MAX_GROWTH];	/* per-minute growth at the last window's end */
	size_t n_growth;
	double rates[6];		/* per second, NAN when unknown; see rate_labels */
	double interval_s;
	bool paused, help, utf8;
	enum sort_by sort;
	char error[160];		/* the last snapshot's trouble, shown in the header */
	time_t taken;			/* wall clock of the latest snapshot */
};

/* ---- the terminal ----------------------------------------------------- */

static struct termios saved_tio;
static bool tio_saved;
static volatile sig_atomic_t got_stop, got_winch, got_tstp;

#define ENTER_SCREEN "\033[?1049h\033[?25l\033[H\033[2J"
#define LEAVE_SCREEN "\033[?25h\033[?1049l"

/* Async-signal-safe: also called from the fatal-signal handler. */
static void term_restore(void)
{
	if (tio_saved)
		(void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	(void) !write(STDOUT_FILENO, LEAVE_SCREEN, sizeof(LEAVE_SCREEN) - 1);
}

static int term_enter(void)
{
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return -errno;
	tio_saved = true;
	raw = saved_tio;
	raw.c_lflag &= ~(tcflag_t) (ICANON | ECHO);	/* keys at once, unechoed; ^C still signals */
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0)
		return -errno;
	(void) !write(STDOUT_FILENO, ENTER_SCREEN, sizeof(ENTER_SCREEN) - 1);
	return 0;
}

static void on_stop(int sig)
{
	(void) sig;
	got_stop = 1;
}

static void on_winch(int sig)
{
	(void) sig;
	got_winch = 1;
}

static void on_tstp(int sig)
{
	(void) sig;
	got_tstp = 1;
}

/* A crash must not leave the terminal raw: restore, then die of the signal. */
static void on_fatal(int sig)
{
	term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void signals_install(void)
{
	static const int stops[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: poll() returns at once */
	sa.sa_handler = on_stop;
	for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		sigaction(stops[i], &sa, NULL);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	sa.sa_handler = on_tstp;
	sigaction(SIGTSTP, &sa, NULL);
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_RESETHAND;
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
}

/* ^Z: give the terminal back, stop, take it again when continued. */
static void suspend(void)
{
	struct sigaction sa, old;

	term_restore();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTSTP, &sa, &old);
	(void) kill(getpid(), SIGTSTP);	/* stops here until SIGCONT */
	sigaction(SIGTSTP, &old, NULL);
	(void) term_enter();
}

static void term_size(size_t *rows, size_t *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		*rows = ws.ws_row < MAX_ROWS ? ws.ws_row : MAX_ROWS;
		*cols = ws.ws_col < 512 ? ws.ws_col : 512;
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* ---- one refresh ------------------------------------------------------ */

/* What the rates row shows: TcpExt counters summed, per second.  TW and
 * TWKilled count timewait sockets as they are created; the TCPAbortOn*
 * counters are connections the kernel aborted, most of them with a reset
 * (docs/KERNEL.md §15). */
static const char *const rate_labels[] = { "TIME_WAIT made", "TW overflows", "listen overflows", "listen drops",
					   "aborts (resets)", "SYN cookies" };
static const char *const rate_counters[][5] = {
	{ "TW", "TWKilled" },
	{ "TCPTimeWaitOverflow" },
	{ "ListenOverflows" },
	{ "ListenDrops" },
	{ "TCPAbortOnData", "TCPAbortOnClose", "TCPAbortOnMemory", "TCPAbortOnTimeout" },
	{ "SyncookiesSent" },
};

static int tcpext_index(const char *name)
{
	for (size_t i = 0; i < tcpext_count; i++)
		if (strcmp(tcpext_names[i], name) == 0)
			return (int) i;
	return -1;
}

static void compute_rates(struct watch *w)
{
	const struct sampler *sm = &w->sm;
	double secs = sm->t_last - sm->t_first;

	for (size_t r = 0; r < sizeof(rate_labels) / sizeof(rate_labels[0]); r++) {
		double sum = 0;
		bool known = sm->n >= 2 && secs > 0;

		for (size_t k = 0; known && k < 5 && rate_counters[r][k]; k++) {
			int idx = tcpext_index(rate_counters[r][k]);
			size_t id;

			if (idx < 0) {
				known = false;
				break;
			}
			id = fact_id_tcpext((size_t) idx);
			if (!sm->first_present[id] || !w->s.facts[id].present) {
				known = false;
				break;
			}
			sum += (double) (w->s.facts[id].i - sm->first[id]);
		}
		w->rates[r] = known ? sum / secs : NAN;
	}
}

/* Per-minute CLOSE_WAIT growth of each holder over the sampler's window. */
static void remember_growth(struct watch *w)
{
	const struct sampler *sm = &w->sm;
	double secs = sm->t_last - sm->t_first;

	if (sm->n < 2 || secs <= 0)
		return;
	w->n_growth = 0;
	for (size_t i = 0; i < sm->n_procs && w->n_growth < MAX_GROWTH; i++) {
		const struct sample_proc *p = &sm->procs[i];

		w->growth[w->n_growth].pid = p->pid;
		w->growth[w->n_growth].per_min = (double) ((int64_t) p->counts[sm->n - 1] - p->counts[0]) * 60.0 / secs;
		w->n_growth++;
	}
}

static double growth_of(const struct watch *w, int pid)
{
	for (size_t i = 0; i < w->n_growth; i++)
		if (w->growth[i].pid == pid)
			return w->growth[i].per_min;
	return NAN;
}

static void refresh(struct watch *w)
{
	struct snapshot s;
	int r;

	r = snapshot_init(&s, &w->a->g->target);
	if (r < 0) {
		snprintf(w->error, sizeof(w->error), "cannot open '%s': %s", w->a->g->target.root, strerror(-r));
		return;
	}
	r = snapshot_take(&s);
	w->taken = time(NULL);
	w->error[0] = '\0';
	if (r < 0 || !s.census_ok)
		snprintf(w->error, sizeof(w->error), "incomplete snapshot: %s", r < 0 ? strerror(-r) : "no census");
	if (w->have_found)
		findings_release(&w->found);
	w->have_found = false;
	if (w->have_s)
		snapshot_release(&w->s);
	w->s = s;
	w->have_s = true;

	/* The sampler: a window of up to WINDOW samples, then a fresh one
	 * that starts with this snapshot. */
	if (w->sm.n >= WINDOW) {
		sampler_release(&w->sm);
		sampler_init(&w->sm);
	}
	if (sampler_add(&w->sm, &w->s, now_s()) == 0 && w->sm.n >= 2) {
		sampler_finish(&w->sm, &w->s);
		compute_rates(w);
		remember_growth(w);
	}
	if (w->s.census_ok) {
		for (size_t i = 0; i < N_SHOWN; i++)
			w->hist[i][w->hist_next] = (uint32_t) w->s.census.states[shown_states[i]];
		w->hist_next = (w->hist_next + 1) % HIST;
		if (w->hist_n < HIST)
			w->hist_n++;
	}
	if (snapshot_set_path_idle(&w->s, w->cfg.idle_timeout) == 0 &&
	    rules_evaluate(&w->rules, &w->s, w->cfg.ignore, w->cfg.n_ignore, &w->found) == 0)
		w->have_found = true;
}

/* ---- drawing ---------------------------------------------------------- */

struct screen {
	FILE *f;
	size_t rows, cols, row;
};

/* One line, cut at the screen's width (a live view cannot wrap), unless
 * the screen is full.  Only ASCII goes through here. */
static void line(struct screen *sc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(struct screen *sc, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (sc->row + 1 >= sc->rows)	/* the last row is the key line */
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(sc->f, "%.*s\033[K\r\n", (int) (sc->cols < sizeof(buf) ? sc->cols : sizeof(buf)), buf);
	sc->row++;
}

/* The sparkline of history row i, width columns wide, over the whole ring:
 * each column is the largest count of its stretch of samples, scaled to the
 * row's own largest. */
static void sparkline(const struct watch *w, size_t i, size_t width, FILE *f)
{
	static const char *const blocks[] = { " ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586",
					      "\u2587", "\u2588" };
	static const char ascii[] = " .:-=+*#%@";
	size_t n = w->hist_n, per = width ? (HIST + width - 1) / width : 1, total = per * width;
	uint32_t max = 0;

	for (size_t k = 0; k < n; k++)
		if (w->hist[i][k] > max)
			max = w->hist[i][k];
	/* The newest sample in the rightmost column; columns without samples
	 * yet are blank. */
	for (size_t c = 0; c < width; c++) {
		uint32_t v = 0;
		bool any = false;

		for (size_t k = c * per; k < (c + 1) * per; k++) {
			size_t age = total - 1 - k;	/* samples ago */
			uint32_t x;

			if (age >= n)
				continue;
			x = w->hist[i][(w->hist_next + HIST - 1 - age) % HIST];
			any = true;
			v = x > v ? x : v;
		}
		if (!any || max == 0)
			fputc(any ? '_' : ' ', f);
		else if (w->utf8)
			fputs(blocks[1 + (size_t) ((uint64_t) v * 7 / max)], f);
		else
			fputc(ascii[1 + (size_t) ((uint64_t) v * 8 / max)], f);
	}
}

static void draw_states(const struct watch *w, struct screen *sc, size_t n_states)
{
	const struct census *c = &w->s.census;
	size_t spark = sc->cols > 40 ? sc->cols - 36 : 4;

	line(sc, "TCP states, last %.0f min (%zu s a column)%*s %10s %9s", HIST * w->interval_s / 60,
	     (size_t) (ceil((double) HIST / (double) spark) * w->interval_s), (int) (spark > 31 ? spark - 31 : 0), "", "now",
	     "per s");
	for (size_t i = 0; i < n_states && sc->row + 1 < sc->rows; i++) {
		int st = shown_states[i];
		size_t id = fact_id_rate_state(st);
		const struct fact_val *rv = snap_get(&w->s, id);
		char rate[16] = "";

		if (rv->present && w->sm.n >= 2)
			snprintf(rate, sizeof(rate), "%+" PRId64, rv->i);
		fprintf(sc->f, "  %-11s ", tcp_state_by_number(st)->ss);
		sparkline(w, i, spark, sc->f);
		fprintf(sc->f, " %10" PRIu64 " %9s\033[K\r\n", c->states[st], rate);
		sc->row++;
	}
}

static void draw_rates(const struct watch *w, struct screen *sc)
{
	char buf[512] = "Per second:";
	size_t len = strlen(buf), start = 0;

	for (size_t r = 0; r < sizeof(rate_labels) / sizeof(rate_labels[0]); r++) {
		char item[64];

		if (isnan(w->rates[r]))
			snprintf(item, sizeof(item), " %s -", rate_labels[r]);
		else
			snprintf(item, sizeof(item), " %s %.*f", rate_labels[r], w->rates[r] < 10 ? 1 : 0, w->rates[r]);
		if (len - start + strlen(item) + 1 > sc->cols) {
			buf[len] = '\0';
			line(sc, "%s", buf + start);
			start = len;
		}
		snprintf(buf + len, sizeof(buf) - len, "%s%s", item, r + 1 < 6 ? "," : "");
		len = strlen(buf);
	}
	line(sc, "%s%s", start ? "           " : "", buf + start + (start ? 1 : 0));
}

static int by_count(const void *x, const void *y)
{
	const struct census_proc *a = x, *b = y;

	return a->count != b->count ? (a->count < b->count ? 1 : -1) : (a->pid > b->pid) - (a->pid < b->pid);
}

static int by_pid(const void *x, const void *y)
{
	const struct census_proc *a = x, *b = y;

	return (a->pid > b->pid) - (a->pid < b->pid);
}

static const struct watch *sort_ctx;

static int by_growth(const void *x, const void *y)
{
	const struct census_proc *a = x, *b = y;
	double ga = growth_of(sort_ctx, a->pid), gb = growth_of(sort_ctx, b->pid);

	if (isnan(ga))
		ga = -1e18;
	if (isnan(gb))
		gb = -1e18;
	return ga != gb ? (ga < gb ? 1 : -1) : by_count(x, y);
}

static void draw_holders(const struct watch *w, struct screen *sc, size_t n)
{
	const struct census *c = &w->s.census;
	struct census_proc top[32];
	size_t k = 0;

	/* The census keeps holders sorted by count; pick, then order. */
	for (size_t i = 0; i < c->n_procs && k < 32; i++)
		top[k++] = c->procs[i];
	sort_ctx = w;
	/* cppcheck-suppress uninitvar ; top[0..k) was just copied from the census */
	qsort(top, k, sizeof(top[0]), w->sort == SORT_PID ? by_pid : w->sort == SORT_GROWTH ? by_growth : by_count);
	{
		char head[64];

		snprintf(head, sizeof(head), "CLOSE_WAIT: %" PRIu64 " sockets", c->states[TCPS_CLOSE_WAIT]);
		line(sc, "%-30s %8s  %-16s %8s %11s", head, "pid", "command", "count", "growth/min");
	}
	/* cppcheck-suppress knownConditionTrueFalse ; k is the census's holder count, 0 or more */
	if (k == 0)
		line(sc, "  %s", c->states[TCPS_CLOSE_WAIT] ? "none attributed (no permission to read their fds?)" : "none");
	/* cppcheck-suppress knownConditionTrueFalse ; see above */
	for (size_t i = 0; i < k && i < n; i++) {
		double g = growth_of(w, top[i].pid);
		char gs[16] = "-";

		if (!isnan(g))
			snprintf(gs, sizeof(gs), "%+.0f", g);
		line(sc, "%30s %8d  %-16s %8u %11s", "", top[i].pid, top[i].comm, top[i].count, gs);
	}
	if (c->cw_unattributed)
		line(sc, "  and %" PRIu64 " not attributed to a process", c->cw_unattributed);
}

static void draw_timewait(const struct watch *w, struct screen *sc, size_t n)
{
	const struct census *c = &w->s.census;
	struct census_dest top[16], use;
	char buf[80];
	size_t k = census_top_tw_dests(c, top, n < 16 ? n : 16);

	line(sc, "TIME_WAIT: %" PRIu64 " outgoing, %" PRIu64 " incoming; top destinations", c->tw_outgoing,
	     c->tw_incoming);
	for (size_t i = 0; i < k; i++) {
		census_dest_format(&top[i], buf, sizeof(buf));
		line(sc, "  %-47s %10u", buf, top[i].count);
	}
	if (census_max_dest_usage(c, &use)) {
		long range = (long) c->port_high - c->port_low + 1;
		double pct = range > 0 ? (double) use.count * 100.0 / (double) range : 0;

		census_dest_format(&use, buf, sizeof(buf));
		line(sc, "Port headroom: %s uses %u of %ld ephemeral ports (%.1f%%)", buf, use.count, range,
		     floor(pct * 10) / 10);
	}
}

static void draw_findings(const struct watch *w, struct screen *sc, size_t n)
{
	static const char *const labels[] = { "INFO", "WARNING", "CRITICAL" };
	size_t shown = 0, total = 0;

	for (size_t i = 0; w->have_found && i < w->found.n; i++)
		total += !w->found.v[i].ignored;
	line(sc, "Findings: %zu", total);
	for (int sev = SEV_CRITICAL; sev >= SEV_INFO; sev--)
		for (size_t i = 0; w->have_found && i < w->found.n; i++) {
			const struct finding *x = &w->found.v[i];
			char t[512];

			if ((int) x->rule->severity != sev || x->ignored || shown >= n)
				continue;
			line(sc, "  %-8s %s [%s]", labels[sev], str_escape(x->title, t, sizeof(t)), x->rule->id);
			shown++;
		}
}

static void draw_help(struct screen *sc)
{
	line(sc, "%s", "");
	line(sc, "  q   quit (also ^C)");
	line(sc, "  p   pause / resume refreshing (the screen stays as it is)");
	line(sc, "  s   sort CLOSE_WAIT holders: by count, by growth, by pid");
	line(sc, "  ?   this help; any key goes back");
	line(sc, "%s", "");
	line(sc, "  States: sockets in this network namespace, as ss -tan counts them; the");
	line(sc, "  sparkline spans the last five minutes, scaled to each state's own peak.");
	line(sc, "  Rates: per second over the last few refreshes, from /proc/net/netstat.");
	line(sc, "  Growth: CLOSE_WAIT sockets a process gained per minute; a count that");
	line(sc, "  only grows is a leak (tcptune explain close-wait-leak).");
}

static void draw(struct watch *w)
{
	struct screen sc = { 0 };
	char *buf = NULL, when[16];
	size_t len = 0, extra, n_states = N_SHOWN, n_list = 2;
	struct tm tm;

	sc.f = open_memstream(&buf, &len);
	if (!sc.f)
		return;
	term_size(&sc.rows, &sc.cols);
	fputs("\033[H", sc.f);
	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&w->taken, &tm));
	{
		char rel[160], ns[256];

		line(&sc, "tcptune watch: kernel %s%s%s, %s, every %.0f s%s",
		     w->have_s ? str_escape(w->s.kernel_release, rel, sizeof(rel)) : "?", w->s.netns ? ", netns " : "",
		     w->s.netns ? str_escape(w->s.netns, ns, sizeof(ns)) : "", when, w->interval_s,
		     w->paused ? "  PAUSED" : "");
	}
	if (w->error[0])
		line(&sc, "  %s", w->error);
	if (w->help)
		draw_help(&sc);
	else if (w->have_s && w->s.census_ok) {
		/* 24 rows: 1 header, 10 states, 2 rates, 3+3+3 lists, 1 keys; more rows go to the lists. */
		if (sc.rows < 24)
			n_states = sc.rows > 19 ? N_SHOWN - (24 - sc.rows) : 4;
		extra = sc.rows > 24 ? (sc.rows - 24) / 3 : 0;
		n_list += extra;
		draw_states(w, &sc, n_states);
		draw_rates(w, &sc);
		draw_holders(w, &sc, n_list);
		draw_timewait(w, &sc, n_list);
		draw_findings(w, &sc, n_list);
	} else
		line(&sc, "waiting for the first snapshot...");
	while (sc.row + 1 < sc.rows) {
		fputs("\033[K\r\n", sc.f);
		sc.row++;
	}
	{
		char keys[128];

		snprintf(keys, sizeof(keys), " q quit  p %s  s sort holders (by %s)  ? help",
			 w->paused ? "resume" : "pause", sort_names[w->sort]);
		fprintf(sc.f, "\033[7m%-*.*s\033[0m", (int) sc.cols, (int) sc.cols, keys);
	}
	if (fclose(sc.f) == 0) {
		size_t off = 0;

		while (off < len) {
			ssize_t n = write(STDOUT_FILENO, buf + off, len - off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += (size_t) n;
		}
	}
	free(buf);
}

/* ---- the loop --------------------------------------------------------- */

static void key(struct watch *w, char k)
{
	if (w->help) {
		w->help = false;
		if (k != 'q')
			return;
	}
	switch (k) {
	case 'q': case 'Q': got_stop = 1; break;
	case 'p': case 'P': case ' ': w->paused = !w->paused; break;
	case 's': case 'S': w->sort = (enum sort_by) ((w->sort + 1) % SORT__N); break;
	case '?': case 'h': w->help = true; break;
	default: break;
	}
}

static int parse(const struct cli_args *a, long long *interval, long long *ticks)
{
	*interval = 1;
	*ticks = 0;
	for (size_t i = 0; i < a->n_opts; i++) {
		const char *v = a->opts[i].value;

		if (a->opts[i].id == OPT_INTERVAL && parse_ll(v, 1, 60, interval) < 0)
			return log_errx(-EINVAL, "invalid --interval '%s': whole seconds from 1 to 60", v);
		if (a->opts[i].id == OPT_TICKS && parse_ll(v, 1, 1000000, ticks) < 0)
			return log_errx(-EINVAL, "invalid --debug-ticks '%s'", v);
	}
	return 0;
}

int cmd_watch(const struct cli_args *a)
{
	struct watch *w;
	struct diag d = { .line = 0 };
	struct datadir dd;
	long long interval, ticks, done = 0;
	double next;
	int r, code = EXIT_OK;

	if (parse(a, &interval, &ticks) < 0)
		return EXIT_UNKNOWN;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return log_errx(EXIT_UNKNOWN, "watch is a full-screen view and needs a terminal; for a "
				"report use: tcptune check --samples N"), EXIT_UNKNOWN;
	w = calloc(1, sizeof(*w));
	if (!w)
		return log_err(-ENOMEM, "watch"), EXIT_UNKNOWN;
	w->a = a;
	w->interval_s = (double) interval;
	sampler_init(&w->sm);
	for (size_t i = 0; i < 6; i++)
		w->rates[i] = NAN;
	setlocale(LC_CTYPE, "");
	w->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	if (cmd_load_rules(a, &w->rules) < 0) {
		sampler_release(&w->sm);
		free(w);
		return EXIT_UNKNOWN;
	}
	datadir_init(&dd, a->g->data);
	r = config_load(&w->cfg, a->g->target.root, CONFIG_PATH, false, dd.trust_check, &d);
	if (r < 0) {
		log_diag(0, &d);
		code = EXIT_UNKNOWN;
		goto out;
	}
	signals_install();
	r = term_enter();
	if (r < 0) {
		log_err(r, "cannot set up the terminal");
		code = EXIT_UNKNOWN;
		goto out;
	}
	next = now_s();
	while (!got_stop) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		double left;
		char keys[16];
		ssize_t n;

		if (got_tstp) {
			got_tstp = 0;
			suspend();
		}
		if (!w->paused && now_s() >= next) {
			refresh(w);
			next += w->interval_s;
			if (next < now_s())	/* a slow snapshot: do not try to catch up */
				next = now_s() + w->interval_s;
			done++;
		}
		draw(w);
		if (ticks && done >= ticks)
			break;
		got_winch = 0;
		left = w->paused ? 1.0 : next - now_s();
		if (poll(&pfd, 1, left > 0 ? (int) (left * 1000) + 1 : 0) > 0 && (pfd.revents & POLLIN)) {
			n = read(STDIN_FILENO, keys, sizeof(keys));
			if (n == 0)
				break;	/* the terminal is gone */
			for (ssize_t i = 0; i < n; i++)
				key(w, keys[i]);
		} else if (pfd.revents & (POLLHUP | POLLERR))
			break;
	}
	term_restore();
out:
	if (w->have_found)
		findings_release(&w->found);
	if (w->have_s)
		snapshot_release(&w->s);
	sampler_release(&w->sm);
	rule_set_release(&w->rules);
	config_release(&w->cfg);
	free(w);
	return code;
}
