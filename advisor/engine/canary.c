/* The canary's figures and its rule; see canary.h. */
#include "canary.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "facts.h"

/* Each figure is something a sysctl change can make worse.  Connect
 * failures from a full ephemeral range (EADDRNOTAVAIL) are counted by no
 * kernel counter (docs/KERNEL.md §17): the share of the range held towards
 * the busiest destination stands for them.  Sockets in FIN_WAIT2 are a
 * pile: (half-closes per second the peers never finish) x (the orphan's
 * lifetime, which tcp_fin_timeout sets), and an orphan keeps the timer it
 * got when it entered FIN_WAIT2 (docs/KERNEL.md §23): after a change the
 * pile reaches its new size only once the old timers ran out, up to the old
 * lifetime later, so the highest value of the window would still be the old
 * pile; the window's last snapshot shows the new one.  The fact counts every
 * FIN_WAIT2 socket, minisockets and full ones, as the fin-wait2-buildup rule
 * and `ss state fin-wait-2` do: above 60 s an orphan spends its first T-60 s
 * as a full socket, which the minisocket count alone would miss.  It also
 * counts sockets a program still holds after shutdown(), which no sysctl
 * ends; they are in both windows alike. */
const struct canary_def canary_defs[] = {
	{ "ports.max_dest_usage_pct", CANARY_PEAK, "%", "ephemeral ports held towards one destination (connect() fails at 100%)" },
	{ "sockets.fin_wait2", CANARY_PILE, "", "sockets in FIN_WAIT2 at the window's end (orphans waiting for the peer's FIN)" },
	{ "tcpext.ListenOverflows", CANARY_RATE, "/min", "connections dropped at a full accept queue" },
	{ "tcpext.ListenDrops", CANARY_RATE, "/min", "SYNs and ACKs dropped at a listener" },
	{ "tcpext.TCPReqQFullDrop", CANARY_RATE, "/min", "SYNs dropped at a full SYN queue" },
	{ "tcpext.TCPAbortOnData", CANARY_RATE, "/min", "resets sent for data after close" },
	{ "tcpext.TCPAbortOnTimeout", CANARY_RATE, "/min", "connections reset after retransmission timeouts" },
	{ "tcpext.TCPAbortOnMemory", CANARY_RATE, "/min", "connections reset for lack of memory or orphan room" },
	{ "tcpext.PAWSActive", CANARY_RATE, "/min", "SYN-ACKs rejected by PAWS" },
	{ "tcpext.PAWSEstab", CANARY_RATE, "/min", "segments rejected by PAWS" },
	{ "tcpext.TCPTimeWaitOverflow", CANARY_RATE, "/min", "TIME_WAIT sockets not created (tcp_max_tw_buckets)" },
};
const size_t canary_count = sizeof(canary_defs) / sizeof(canary_defs[0]);

/* Margins.  A counter on a busy host moves by a few a minute on its own, so a
 * rate counts as worse only when it rose by half and by at least one a
 * second (60 a minute); as better when it was at least one a second and
 * halved.  The port share: at 100% every port towards that destination is
 * held and connect() fails; from 90% a burst reaches it, so worse is 90% or
 * more and 10 points up (noise around a high share is not a change), better
 * is down 10 points from 90% or more.  The FIN_WAIT2 pile: worse when it
 * grew by half, better when it shrank by a third (the inverse of half
 * again), each by at least 100 sockets.  Halving tcp_fin_timeout halves the
 * pile, so better must pass well above one half, with room for the stream
 * of vanishing clients to vary by itself; 100 is where the web-server
 * profile starts to count orphaned FIN_WAIT2 as a problem (1.6 vanished
 * clients a second at the default 60 s), and an idle machine has none. */
#define RATE_MIN_STEP 60.0	/* per minute: one a second */
#define RATE_WORSE_FACTOR 1.5
#define RATE_BETTER_FACTOR 0.5
#define PCT_HIGH 90.0
#define PCT_STEP 10.0
#define PILE_MIN_STEP 100.0	/* sockets */
#define PILE_WORSE_FACTOR 1.5
#define PILE_BETTER_FACTOR (2.0 / 3.0)

const char canary_rule[] =
	"rolled back when a figure got worse (a counter rate up by half and by 60/min or more; "
	"the port share at 90% or more and 10 points up; FIN_WAIT2 sockets at the window's end "
	"up by half and by 100 or more) and none got better";

_Static_assert(sizeof(canary_defs) / sizeof(canary_defs[0]) <= CANARY_MAX, "CANARY_MAX too small");

void canary_window_init(struct canary_window *w)
{
	memset(w, 0, sizeof(*w));
	sampler_init(&w->sm);
}

void canary_window_release(struct canary_window *w)
{
	sampler_release(&w->sm);
}

int canary_window_add(struct canary_window *w, const struct snapshot *s, double t)
{
	int r = sampler_add(&w->sm, s, t);

	if (r < 0)
		return r;
	for (size_t i = 0; i < canary_count; i++) {
		int id = canary_defs[i].kind == CANARY_PEAK ? fact_lookup(canary_defs[i].fact) : -1;
		const struct fact_val *v = id >= 0 ? snap_get(s, (size_t) id) : NULL;

		if (!v || !v->present)
			continue;
		if (!w->have[i] || (double) v->i > w->value[i])
			w->value[i] = (double) v->i;
		w->have[i] = true;
	}
	return 0;
}

void canary_window_finish(struct canary_window *w, const struct snapshot *last)
{
	double secs = w->sm.t_last - w->sm.t_first;

	for (size_t i = 0; i < canary_count; i++) {
		int id = fact_lookup(canary_defs[i].fact);
		const struct fact_val *v;

		if (canary_defs[i].kind == CANARY_PEAK)
			continue;
		w->have[i] = false;
		if (canary_defs[i].kind == CANARY_PILE) {
			v = id >= 0 ? snap_get(last, (size_t) id) : NULL;
			if (v && v->present) {
				w->value[i] = (double) v->i;
				w->have[i] = true;
			}
			continue;
		}
		if (id < 0 || w->sm.n < 2 || secs <= 0 || !w->sm.first_present[id])
			continue;
		v = snap_get(last, (size_t) id);
		if (!v->present || v->i < w->sm.first[id])	/* a counter that went back: unknown */
			continue;
		w->value[i] = (double) (v->i - w->sm.first[id]) * 60.0 / secs;
		w->have[i] = true;
	}
}

static enum canary_change judge(const struct canary_def *d, double b, double a)
{
	if (d->kind == CANARY_RATE) {
		if (a > b * RATE_WORSE_FACTOR && a - b >= RATE_MIN_STEP)
			return CANARY_WORSE;
		if (b >= RATE_MIN_STEP && a <= b * RATE_BETTER_FACTOR)
			return CANARY_BETTER;
		return CANARY_SAME;
	}
	if (d->kind == CANARY_PILE) {
		if (a >= b * PILE_WORSE_FACTOR && a - b >= PILE_MIN_STEP)
			return CANARY_WORSE;
		if (a <= b * PILE_BETTER_FACTOR && b - a >= PILE_MIN_STEP)
			return CANARY_BETTER;
		return CANARY_SAME;
	}
	if (a >= PCT_HIGH && a - b >= PCT_STEP)
		return CANARY_WORSE;
	if (b >= PCT_HIGH && b - a >= PCT_STEP)
		return CANARY_BETTER;
	return CANARY_SAME;
}

static void add_why(char *buf, size_t len, const struct canary_figure *f)
{
	size_t used = strlen(buf);

	if (used + 1 >= len)
		return;
	snprintf(buf + used, len - used, "%s%s %s %.0f -> %.0f%s", used ? "; " : "", f->def->fact,
		 f->change == CANARY_WORSE ? "rose" : "fell", f->before, f->after, f->def->unit);
}

void canary_compare(const struct canary_window *before, const struct canary_window *after,
		    struct canary_result *ret)
{
	char worse[240] = "", better[240] = "";

	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < canary_count; i++) {
		struct canary_figure *f = &ret->fig[ret->n++];

		f->def = &canary_defs[i];
		f->have_before = before->have[i];
		f->have_after = after->have[i];
		f->before = before->value[i];
		f->after = after->value[i];
		f->change = f->have_before && f->have_after ? judge(f->def, f->before, f->after) : CANARY_UNKNOWN;
		if (f->change == CANARY_WORSE) {
			ret->worse = true;
			add_why(worse, sizeof(worse), f);
		} else if (f->change == CANARY_BETTER) {
			ret->better = true;
			add_why(better, sizeof(better), f);
		}
	}
	ret->roll_back = ret->worse && !ret->better;
	if (ret->roll_back)
		snprintf(ret->why, sizeof(ret->why), "worse and nothing better: %s", worse);
	else if (ret->worse)
		snprintf(ret->why, sizeof(ret->why), "better: %s; but worse: %s", better, worse);
	else if (ret->better)
		snprintf(ret->why, sizeof(ret->why), "better: %s", better);
	else
		snprintf(ret->why, sizeof(ret->why), "no figure changed past its margin");
}

const char *canary_change_name(enum canary_change c)
{
	switch (c) {
	case CANARY_SAME: return "same";
	case CANARY_BETTER: return "better";
	case CANARY_WORSE: return "worse";
	default: return "unknown";
	}
}

/* An orphan's FIN_WAIT2 lifetime for tcp_fin_timeout t: t up to 60 s, else
 * t - 60 s as a full socket and as long again as a minisocket (§3.3). */
static long long fin_lifetime(long long t)
{
	return t <= 60 ? t : 2 * t - 120;
}

long long canary_fin_timeout_settle(long long old_t, long long new_t)
{
	long long lo = fin_lifetime(old_t), ln = fin_lifetime(new_t);

	/* Above 60 s an orphan's second phase is timed when its first one ends,
	 * with the value then current (tcp_keepalive_timer(), §23.4): old
	 * orphans do not keep their whole old lifetime, and this model would
	 * overstate the wait.  Said only where it holds. */
	if (old_t > 60 || ln >= lo || ln < 0)
		return 0;
	/* x s after the change the pile is r * (lo - x + ln) (ln <= x <= lo,
	 * §23.4); it is down to PILE_BETTER_FACTOR of r * lo from
	 * x = (1 - PILE_BETTER_FACTOR) * lo + ln on. */
	return (long long) ((1.0 - PILE_BETTER_FACTOR) * (double) lo + 0.999) + ln;
}
