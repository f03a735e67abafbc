/* The previous check's state file; see snap_state.h.  The parser and
 * formatter work on text only; the I/O around them reads the file without
 * following a symlink, caps its size, and writes it with atomic_write().
 * Which kernel facts make the file trustworthy (boot_id, the namespace
 * cookie, /proc/uptime, counters that never go down): docs/KERNEL.md §13. */
#include "snap_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "facts.h"
#include "fsutil.h"
#include "readfile.h"
#include "rootfs.h"
#include "strutil.h"
#include "txn.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71	/* include/uapi/asm-generic/socket.h, Linux 5.14 */
#endif

#define STATE_DIR_ROOT TXN_DEFAULT_STORE "/check"	/* beside the apply store */
#define STATE_DIR_IN_ROOT TXN_DEFAULT_STORE_REL "/check"

/* ---- text ----------------------------------------------------------------- */

static bool counter_name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= sizeof(((struct state_counter *) 0)->name))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static bool boot_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static int num(const char *s, long long min, long long *ret)
{
	return parse_ll(s, min, LLONG_MAX, ret);
}

/* One "key value..." line, split in place at single spaces into at most 4
 * words (the writer never puts two spaces together).  Returns the count, 5
 * for too many, 0 for an empty word. */
static size_t split(char *line, char *w[4])
{
	size_t n = 0;

	for (char *p = line;; ) {
		char *sp = strchr(p, ' ');

		if (n == 4)
			return 5;
		if (sp)
			*sp = '\0';
		if (!*p)
			return 0;
		w[n++] = p;
		if (!sp)
			return n;
		p = sp + 1;
	}
}

int check_state_parse(const char *buf, size_t len, struct check_state *ret, unsigned *ret_line)
{
	struct check_state st;
	char line[256];
	unsigned lineno = 0, seen = 0;
	size_t pos = 0;

	memset(&st, 0, sizeof(st));
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t l = nl ? (size_t) (nl - (buf + pos)) : len - pos;
		char *w[4];
		long long a, b;
		size_t n;

		lineno++;
		*ret_line = lineno;
		if (!nl || l >= sizeof(line) || memchr(buf + pos, '\0', l))
			return -EINVAL;	/* every line ends in '\n'; no NUL, no long line */
		memcpy(line, buf + pos, l);
		line[l] = '\0';
		pos += l + 1;
		if (lineno == 1) {
			if (strcmp(line, STATE_MAGIC) != 0)
				return -EINVAL;
			continue;
		}
		n = split(line, w);
		if (n == 2 && !strcmp(w[0], "boot_id") && !(seen & 1) && boot_id_ok(w[1])) {
			snprintf(st.boot_id, sizeof(st.boot_id), "%s", w[1]);
			seen |= 1;
		} else if (n == 2 && !strcmp(w[0], "netns_cookie") && !(seen & 2) && num(w[1], 0, &a) == 0) {
			st.netns_cookie = (uint64_t) a;
			seen |= 2;
		} else if (n == 2 && !strcmp(w[0], "uptime_cs") && !(seen & 4) && num(w[1], 0, &a) == 0) {
			st.uptime_cs = a;
			seen |= 4;
		} else if (n == 2 && !strcmp(w[0], "time") && !(seen & 8) && num(w[1], 0, &a) == 0) {
			st.time = a;
			seen |= 8;
		} else if (n == 4 && !strcmp(w[0], "counter") && counter_name_ok(w[1], strlen(w[1])) &&
			   !check_state_find(&st, w[1]) && st.n < STATE_MAX_COUNTERS &&
			   num(w[2], 0, &a) == 0 && num(w[3], 0, &b) == 0) {
			struct state_counter *c = &st.c[st.n++];
			snprintf(c->name, sizeof(c->name), "%s", w[1]);
			c->value = (uint64_t) a;
			c->since = b;
		} else
			return -EINVAL;
	}
	*ret_line = lineno;
	if (lineno == 0 || seen != 15)
		return -EINVAL;	/* empty, or a line missing */
	*ret = st;
	return 0;
}

int check_state_format(const struct check_state *st, char *buf, size_t cap)
{
	size_t n = 0;
	int k;

	k = snprintf(buf, cap, "%s\nboot_id %s\nnetns_cookie %" PRIu64 "\nuptime_cs %" PRId64 "\ntime %" PRId64 "\n",
		     STATE_MAGIC, st->boot_id, st->netns_cookie, st->uptime_cs, st->time);
	if (k < 0 || (size_t) k >= cap)
		return -ENOSPC;
	n = (size_t) k;
	for (size_t i = 0; i < st->n; i++) {
		k = snprintf(buf + n, cap - n, "counter %s %" PRIu64 " %" PRId64 "\n", st->c[i].name,
			     st->c[i].value, st->c[i].since);
		if (k < 0 || (size_t) k >= cap - n)
			return -ENOSPC;
		n += (size_t) k;
	}
	return (int) n;
}

const struct state_counter *check_state_find(const struct check_state *st, const char *name)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->c[i].name, name) == 0)
			return &st->c[i];
	return NULL;
}

/* ---- where the state lives ------------------------------------------------ */

static void place_find(const struct snapshot *s, struct state_place *p)
{
	const char *env = getenv("TCPTUNE_STATE_DIR"), *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	int r = 0;

	memset(p, 0, sizeof(*p));
	if (!s->live) {
		/* --root: the tree's own state, read and never written (an audit
		 * does not change what it reads). */
		p->in_root = true;
		p->known = true;
		snprintf(p->dir, sizeof(p->dir), "%s", STATE_DIR_IN_ROOT);
		snprintf(p->name, sizeof(p->name), "root.state");
		return;
	}
	/* Keyed by the namespace inode (unique among namespaces alive now);
	 * the cookie inside tells a reused inode apart. */
	if (s->netns_inum == 0)
		return;
	snprintf(p->name, sizeof(p->name), "netns-%lu.state", s->netns_inum);
	if (env && env[0] == '/')
		r = snprintf(p->dir, sizeof(p->dir), "%s", env);
	else if (geteuid() == 0)
		r = snprintf(p->dir, sizeof(p->dir), "%s", STATE_DIR_ROOT);
	else if (xdg && xdg[0] == '/')
		r = snprintf(p->dir, sizeof(p->dir), "%s/tcptune", xdg);
	else if (home && home[0] == '/')
		r = snprintf(p->dir, sizeof(p->dir), "%s/.local/state/tcptune", home);
	else
		return;
	p->known = r > 0 && (size_t) r < sizeof(p->dir);
}

/* ---- this check ------------------------------------------------------------ */

static uint64_t netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0 || len != sizeof(cookie))
		cookie = 0;	/* before Linux 5.14: the inode alone */
	close(fd);
	return cookie;
}

/* /proc/uptime's first field in centiseconds ("12345.67 ..."). */
static int read_uptime_cs(const struct snapshot *s, int64_t *ret)
{
	char buf[128], *dot, *end;
	long long sec, cs;

	if (rootfs_read_small(s->rootfd, "proc/uptime", buf, sizeof(buf)) < 0)
		return -EIO;
	end = strchr(buf, ' ');
	if (!end)
		return -EINVAL;
	*end = '\0';
	dot = strchr(buf, '.');
	if (!dot || strlen(dot + 1) != 2)
		return -EINVAL;
	*dot = '\0';
	if (parse_ll(buf, 0, LLONG_MAX / 1000, &sec) < 0 || parse_ll(dot + 1, 0, 99, &cs) < 0)
		return -EINVAL;
	*ret = sec * 100 + cs;
	return 0;
}

static int read_boot_id(const struct snapshot *s, char *buf, size_t cap)
{
	char raw[64];
	size_t n;

	if (rootfs_read_small(s->rootfd, "proc/sys/kernel/random/boot_id", raw, sizeof(raw)) < 0)
		return -EIO;
	n = strcspn(raw, "\n");
	raw[n] = '\0';
	if (!boot_id_ok(raw))
		return -EINVAL;
	if (n >= cap)
		return -EINVAL;
	memcpy(buf, raw, n + 1);	/* 36 characters, checked above */
	return 0;
}

/* ---- reading the previous check ------------------------------------------- */

static int open_state_dir(const struct snapshot *s, const struct state_place *p)
{
	if (p->in_root)
		return rootfs_openat(s->rootfd, p->dir, O_RDONLY | O_DIRECTORY);
	return open_dir_nofollow(p->dir);
}

/* 0 with *ret filled, -ENOENT (no previous check), or another negative
 * errno with why[] saying what is wrong with the file. */
static int read_prev(const struct snapshot *s, const struct state_place *p, struct check_state *ret,
		     char *why, size_t whylen)
{
	int dfd = open_state_dir(s, p), fd = -1, r;
	char *buf = NULL;
	size_t len = 0;
	unsigned line = 0;
	struct stat st;

	if (dfd < 0)
		return dfd == -ENOENT ? -ENOENT : (snprintf(why, whylen, "%s", strerror(-dfd)), dfd);
	fd = openat(dfd, p->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			snprintf(why, whylen, "a symlink, not a state file");
		else if (r != -ENOENT)
			snprintf(why, whylen, "%s", strerror(-r));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		r = -EINVAL;
		goto out;
	}
	/* Live, it must be this user's own file: another user's could say anything. */
	if (!p->in_root && (st.st_uid != geteuid() || (st.st_mode & 022))) {
		snprintf(why, whylen, "owned by uid %u with mode %04o, not this user's private file",
			 (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
		r = -EPERM;
		goto out;
	}
	r = read_fd_capped(fd, STATE_MAX_BYTES, &buf, &len);
	if (r == -EFBIG) {
		snprintf(why, whylen, "larger than %d bytes", STATE_MAX_BYTES);
		goto out;
	}
	if (r < 0) {
		snprintf(why, whylen, "%s", strerror(-r));
		goto out;
	}
	r = check_state_parse(buf, len, ret, &line);
	if (r < 0)
		snprintf(why, whylen, "malformed at line %u", line);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	close(dfd);
	return r;
}

/* "45 s", "12 min", "5 h", "3 days" */
static void span(int64_t secs, char *buf, size_t len)
{
	if (secs < 120)
		snprintf(buf, len, "%" PRId64 " s", secs);
	else if (secs < 2 * 3600)
		snprintf(buf, len, "%" PRId64 " min", secs / 60);
	else if (secs < 2 * 86400)
		snprintf(buf, len, "%" PRId64 " h", secs / 3600);
	else
		snprintf(buf, len, "%" PRId64 " days", secs / 86400);
}

/* Local time of t: "06:10" today, "Dec 01 06:10" before. */
static void when(int64_t t, int64_t now, char *buf, size_t len)
{
	time_t tt = (time_t) t, tn = (time_t) now;
	struct tm a, b;

	if (!localtime_r(&tt, &a) || !localtime_r(&tn, &b)) {
		snprintf(buf, len, "?");
		return;
	}
	strftime(buf, len, a.tm_year == b.tm_year && a.tm_yday == b.tm_yday ? "%H:%M" : "%b %d %H:%M", &a);
}

/* evidence.<counter i>: the first of these that applies. */
static int set_evidence(struct snapshot *s, size_t i, const struct check_state *prev, int64_t now)
{
	const struct fact_val *tot = snap_get(s, fact_id_counter(i)), *rate = snap_get(s, fact_id_rate_counter(i));
	const struct fact_val *delta = snap_get(s, fact_id_delta_counter(i)), *up = snap_get(s, F_UPTIME_SECONDS);
	const struct fact_val *nsamp = snap_get(s, F_SAMPLES), *ssec = snap_get(s, F_SAMPLE_SECONDS);
	const struct fact_val *dsec = snap_get(s, F_DELTA_SECONDS);
	/* Conntrack's statistics start when nf_conntrack starts in this
	 * namespace (nf_conntrack_init_net(): alloc_percpu), not at boot. */
	const struct state_counter *pc;
	const char *since = i < tcpext_count ? snap_counters_since(s)
			    : "nf_conntrack started in this network namespace";
	char total[96], ago[32], at[32], text[320];

	if (!tot->present)
		return 0;
	if (up->present && strcmp(since, "boot") == 0) {
		span(up->i, ago, sizeof(ago));
		snprintf(total, sizeof(total), "%" PRId64 " since boot (up %s)", tot->i, ago);
	} else
		snprintf(total, sizeof(total), "%" PRId64 " since %s", tot->i, since);
	if (rate->present && rate->i > 0)
		snprintf(text, sizeof(text), "%" PRId64 "/s, rate from %" PRId64 " samples over %" PRId64 " s",
			 rate->i, nsamp->i, ssec->i);
	else if (delta->present && delta->i > 0) {
		const struct fact_val *tt = snap_get(s, F_TXN_LAST_TIME), *tw = snap_get(s, F_TXN_LAST_WHAT);

		span(dsec->i, ago, sizeof(ago));
		/* A change made between the two checks: the increase may be
		 * from before it, and the reader should know (issue #16).  The
		 * interval is the uptimes' (dsec), which a wall clock set in
		 * between does not stretch. */
		if (tt->present && tw->present && dsec->present && tt->i >= now - dsec->i && tt->i <= now) {
			when(tt->i, now, at, sizeof(at));
			snprintf(text, sizeof(text), "+%" PRId64 " since the previous check %s ago, some of it perhaps "
				 "before tcptune's %s at %s", delta->i, ago, tw->s, at);
		} else
			snprintf(text, sizeof(text), "+%" PRId64 " since the previous check %s ago", delta->i, ago);
	} else if (tot->i == 0)
		snprintf(text, sizeof(text), "0 since %s", since);
	else if (delta->present) {
		const struct state_counter *c = check_state_find(prev, counter_state_name(i));
		when(c ? c->since : prev->time, now, at, sizeof(at));
		snprintf(text, sizeof(text), "%s, no increase since %s", total, at);
	} else if (rate->present)
		snprintf(text, sizeof(text), "%s, none in %" PRId64 " s of sampling", total, ssec->i);
	else if (dsec->present && (pc = check_state_find(prev, counter_state_name(i))) && pc->value > (uint64_t) tot->i)
		/* lower than at the previous check: restarted (conntrack's only) */
		snprintf(text, sizeof(text), "%s, restarted since the previous check", total);
	else
		snprintf(text, sizeof(text), "%s, no earlier check to compare", total);
	return snap_set_str(s, fact_id_evidence_counter(i), text);
}

/* Can prev serve as this check's previous one?  NULL, or why not. */
static const char *prev_usable(const struct check_state *prev, const struct check_state *cur,
			       const struct snapshot *s)
{
	if (strcmp(prev->boot_id, cur->boot_id) != 0)
		return "it is from an earlier boot";
	if (prev->netns_cookie && cur->netns_cookie && prev->netns_cookie != cur->netns_cookie)
		return "it is from another network namespace that had the same inode";
	if (prev->uptime_cs > cur->uptime_cs)
		return "its uptime is later than now";
	if (cur->uptime_cs - prev->uptime_cs > (int64_t) STATE_MAX_AGE_S * 100)
		return "it is more than a day old";
	for (size_t i = 0; i < tcpext_count; i++) {
		const struct fact_val *f = snap_get(s, fact_id_counter(i));
		const struct state_counter *c = check_state_find(prev, counter_state_name(i));

		/* TcpExt counters of one namespace never go down within a boot.
		 * Conntrack's may: they restart when nf_conntrack is loaded
		 * again, and each CPU's 32-bit count wraps; judged one by one
		 * (below), not as the previous check's namespace. */
		if (f->present && c && (uint64_t) f->i < c->value)
			return "its counters are higher than now (another namespace's)";
	}
	return NULL;
}

int snap_state_load(struct snapshot *s, struct state_place *place, struct check_state *ret_cur)
{
	struct check_state *cur = ret_cur, prev;
	bool have_prev = false, ids_ok = true;
	char why[160] = "";
	int r;

	memset(cur, 0, sizeof(*cur));
	memset(&prev, 0, sizeof(prev));
	place_find(s, place);
	cur->time = (int64_t) time(NULL);
	cur->netns_cookie = s->live ? netns_cookie() : 0;
	if (read_uptime_cs(s, &cur->uptime_cs) == 0)
		snap_set_int(s, F_UPTIME_SECONDS, cur->uptime_cs / 100);
	else
		ids_ok = false;
	if (read_boot_id(s, cur->boot_id, sizeof(cur->boot_id)) < 0)
		ids_ok = false;
	for (size_t i = 0; i < counter_count(); i++) {
		const struct fact_val *f = snap_get(s, fact_id_counter(i));

		if (f->present && f->i >= 0 && cur->n < STATE_MAX_COUNTERS) {
			struct state_counter *c = &cur->c[cur->n++];
			snprintf(c->name, sizeof(c->name), "%s", counter_state_name(i));
			c->value = (uint64_t) f->i;
			c->since = cur->time;
		}
	}
	if (place->known) {
		r = read_prev(s, place, &prev, why, sizeof(why));
		if (r == 0 && !ids_ok)
			/* Without both, boots cannot be told apart. */
			snprintf(why, sizeof(why), "cannot read %s or %s to tell this boot",
				 snap_path(s, "proc/uptime"), snap_path(s, "proc/sys/kernel/random/boot_id"));
		else if (r == 0) {
			const char *bad = prev_usable(&prev, cur, s);
			if (bad)
				snprintf(why, sizeof(why), "%s", bad);
			have_prev = !bad;
		}
		if (r != -ENOENT && !have_prev)
			snap_note(s, "evidence", "previous check %s/%s ignored: %s", place->in_root ?
				  snap_path(s, place->dir) : place->dir, place->name, why);
	}
	/* Never write what the next check could not trust. */
	if (!ids_ok)
		place->known = false;
	if (have_prev) {
		snap_set_int(s, F_DELTA_SECONDS, (cur->uptime_cs - prev.uptime_cs + 50) / 100);
		for (size_t i = 0; i < counter_count(); i++) {
			const struct fact_val *f = snap_get(s, fact_id_counter(i));
			const struct state_counter *c = check_state_find(&prev, counter_state_name(i));

			if (!f->present || !c || (uint64_t) f->i < c->value)
				continue;	/* a conntrack statistic that restarted: no delta */
			snap_set_int(s, fact_id_delta_counter(i), f->i - (int64_t) c->value);
		}
		/* A value unchanged since the previous check keeps its first sighting. */
		for (size_t k = 0; k < cur->n; k++) {
			const struct state_counter *c = check_state_find(&prev, cur->c[k].name);
			if (c && c->value == cur->c[k].value)
				cur->c[k].since = c->since;
		}
	}
	for (size_t i = 0; i < counter_count(); i++)
		if (set_evidence(s, i, &prev, cur->time) < 0)
			return -ENOMEM;
	return 0;
}

/* ---- writing ------------------------------------------------------------- */

/* Create dir and its missing parents (0700), like mkdir -p, touching only
 * what is missing (under ProtectSystem=strict the rest is read-only). */
static int mkdir_parents(const char *dir, unsigned depth)
{
	char parent[PATH_MAX];
	char *slash;
	int r;

	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT || depth > 32)
		return -errno;
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return -ENOENT;
	*slash = '\0';
	r = mkdir_parents(parent, depth + 1);
	if (r < 0)
		return r;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Remove other namespaces' state files untouched for STATE_PRUNE_AGE_S. */
static void prune(int dfd, const char *keep, time_t now)
{
	DIR *d;
	struct dirent *de;
	int fd = dup(dfd);

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		size_t n = strlen(de->d_name);

		if (strncmp(de->d_name, "netns-", 6) != 0 || n < 7 || strcmp(de->d_name + n - 6, ".state") != 0 ||
		    strcmp(de->d_name, keep) == 0)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    now - st.st_mtime > STATE_PRUNE_AGE_S)
			(void) unlinkat(dfd, de->d_name, 0);
	}
	closedir(d);
}

int snap_state_save(const struct state_place *place, const struct check_state *cur)
{
	char buf[STATE_MAX_BYTES];
	struct stat st;
	int len, dfd, r;

	if (!place->known || place->in_root)
		return 0;
	len = check_state_format(cur, buf, sizeof(buf));
	if (len < 0)
		return len;
	r = mkdir_parents(place->dir, 0);
	if (r < 0)
		return r;
	dfd = open_dir_nofollow(place->dir);
	if (dfd < 0)
		return dfd;
	/* Only a directory of this user that nobody else may write. */
	if (fstat(dfd, &st) < 0)
		r = -errno;
	else if (st.st_uid != geteuid() || (st.st_mode & 022))
		r = -EPERM;
	if (r == 0)
		r = atomic_write(dfd, place->name, buf, (size_t) len, 0600);
	if (r == 0)
		prune(dfd, place->name, (time_t) cur->time);
	close(dfd);
	return r;
}
