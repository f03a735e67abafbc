/* The socket census reader: sock_diag on a live system, /proc/net/tcp{,6}
 * when netlink is refused or under --root.  Sets the sockets.*, timewait.*
 * and ports.* facts. */
#include "snap_readers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "keys.h"
#include "log.h"
#include "rootfs.h"
#include "snap_proctcp.h"
#include "snap_sockdiag.h"

/* Kernel default ip_local_port_range, used when the key cannot be read. */
#define DEFAULT_PORT_LOW 32768
#define DEFAULT_PORT_HIGH 60999
#define INTR_RETRIES 3

static void port_range(struct snapshot *s, uint16_t *low, uint16_t *high)
{
	int i = key_index("net.ipv4.ip_local_port_range");

	*low = DEFAULT_PORT_LOW;
	*high = DEFAULT_PORT_HIGH;
	if (i >= 0 && s->sysctl[i].present) {
		*low = (uint16_t) s->sysctl[i].v[0];
		*high = (uint16_t) s->sysctl[i].v[1];
	} else
		/* One note for every figure that uses the range (port
		 * share, TIME_WAIT direction, bind() parity): they do not
		 * repeat it. */
		snap_note(s, "sockets", "net.ipv4.ip_local_port_range could not be read: ports are judged "
			  "against the kernel's default range %u-%u", DEFAULT_PORT_LOW, DEFAULT_PORT_HIGH);
}

static int read_netlink(struct snapshot *s, uint16_t low, uint16_t high)
{
	for (int attempt = 0; attempt < INTR_RETRIES; attempt++) {
		struct sockdiag_stats st = { 0 };
		int r;

		census_release(&s->census);
		r = census_init(&s->census, low, high);
		if (r < 0)
			return r;
		s->census.on_first_cw = snap_owners_ahead;
		s->census.on_first_cw_arg = s;
		r = sockdiag_dump(&s->census, &st, s->sockdiag_record);
		if (r < 0)
			return r;
		log_debug("sock_diag: %zu sockets in %zu buffers%s", st.messages, st.buffers,
			  st.interrupted ? ", interrupted" : "");
		s->sockets_approximate = st.interrupted;
		if (!st.interrupted)
			break;
	}
	if (s->sockets_approximate)
		snap_note(s, "sockets", "the socket tables changed during every dump (NLM_F_DUMP_INTR); "
			  "counts are approximate");
	return 0;
}

static int read_proc(struct snapshot *s, uint16_t low, uint16_t high)
{
	static const struct { const char *rel; int family; } files[] = {
		{ "proc/net/tcp", AF_INET },
		{ "proc/net/tcp6", AF_INET6 },
	};
	int r;

	census_release(&s->census);
	r = census_init(&s->census, low, high);
	if (r < 0)
		return r;
	for (size_t i = 0; i < 2; i++) {
		unsigned line = 0;

		r = proctcp_read(s->rootfd, files[i].rel, files[i].family, &s->census, &line);
		if (r == -ENOENT && files[i].family == AF_INET6) {
			snap_note(s, "sockets", "no %s: IPv6 sockets not counted", snap_path(s, files[i].rel));
			continue;
		}
		if (r == -EBADMSG) {
			snap_bad_input(s, "sockets", "%s:%u: malformed line", snap_path(s, files[i].rel), line);
			return r;
		}
		if (r < 0) {
			snap_bad_input(s, "sockets", "cannot read %s: %s", snap_path(s, files[i].rel),
				       rootfs_strerror(r));
			return r;
		}
	}
	return 0;
}

static void set_facts(struct snapshot *s)
{
	const struct census *c = &s->census;
	struct census_dest top;
	char buf[80];
	long range;

	for (size_t i = 0; i < tcp_state_count; i++)
		snap_set_int(s, fact_id_state(tcp_state_names[i].state),
			     (int64_t) c->states[tcp_state_names[i].state]);
	snap_set_int(s, F_SOCKETS_TOTAL, (int64_t) c->total);
	snap_set_int(s, F_SOCKETS_ORPHANS, (int64_t) c->orphans);
	snap_set_int(s, F_SOCKETS_UNACCEPTED, (int64_t) c->unaccepted);
	snap_set_int(s, F_SOCKETS_STALLED, (int64_t) c->stalled);
	snap_set_int(s, F_SOCKETS_STALLED_MAX_RETRANS, c->stalled_max_retrans);
	snap_set_int(s, F_SOCKETS_TW_MINISOCKS, (int64_t) c->tw_minisocks);
	snap_set_int(s, F_TW_INCOMING, (int64_t) c->tw_incoming);
	snap_set_int(s, F_TW_OUTGOING, (int64_t) c->tw_outgoing);
	snap_set_int(s, F_CW_WITH_UNREAD, (int64_t) c->cw_with_unread);

	if (census_top_tw_dests(c, &top, 1) == 1) {
		snap_set_int(s, F_TW_MAX_PER_DEST, top.count);
		if (census_dest_format(&top, buf, sizeof(buf)) == 0)
			snap_set_str(s, F_TW_TOP_REMOTE, buf);
	} else
		snap_set_int(s, F_TW_MAX_PER_DEST, 0);

	snap_set_int(s, F_PORTS_LOW, c->port_low);
	snap_set_int(s, F_PORTS_HIGH, c->port_high);
	range = (long) c->port_high - (long) c->port_low + 1;
	snap_set_int(s, F_PORTS_RANGE_SIZE, range);
	if (census_max_dest_usage(c, &top)) {
		snap_set_int(s, F_PORTS_MAX_DEST_USAGE, top.count);
		snap_set_int(s, F_PORTS_MAX_DEST_USAGE_PCT, range > 0 ? (int64_t) top.count * 100 / range : 0);
		if (census_dest_format(&top, buf, sizeof(buf)) == 0)
			snap_set_str(s, F_PORTS_TOP_REMOTE, buf);
	} else {
		snap_set_int(s, F_PORTS_MAX_DEST_USAGE, 0);
		snap_set_int(s, F_PORTS_MAX_DEST_USAGE_PCT, 0);
	}
	{
		uint64_t held = census_bind_parity(c, &top);

		snap_set_int(s, F_PORTS_BIND_HELD, (int64_t) held);
		snap_set_int(s, F_PORTS_BIND_HELD_PCT, range > 0 ? (int64_t) held * 100 / range : 0);
		if (held > 0 && census_dest_format(&top, buf, sizeof(buf)) == 0)
			snap_set_str(s, F_PORTS_BIND_TOP_REMOTE, buf);
	}
}

int snap_sockets_read(struct snapshot *s)
{
	uint16_t low, high;
	int r;

	port_range(s, &low, &high);
	if (s->live) {
		r = read_netlink(s, low, high);
		if (r == 0)
			s->sockets_source = "netlink";
		else if (r == -ENOMEM)
			return r;
		else
			snap_note(s, "sockets", "NETLINK_SOCK_DIAG failed (%s); counted from /proc/net/tcp{,6}",
				  strerror(-r));
	}
	if (!s->sockets_source) {
		r = read_proc(s, low, high);
		if (r < 0)
			return r;
		s->sockets_source = "proc";
	}
	s->census_ok = true;
	set_facts(s);
	return 0;
}
