/* TCP state names; see tcpstates.h. */
#include "tcpstates.h"

const struct tcp_state_name tcp_state_names[] = {
	{ TCPS_ESTABLISHED, "established", "ESTAB" },
	{ TCPS_SYN_SENT,    "syn_sent",    "SYN-SENT" },
	{ TCPS_SYN_RECV,    "syn_recv",    "SYN-RECV" },
	{ TCPS_FIN_WAIT1,   "fin_wait1",   "FIN-WAIT-1" },
	{ TCPS_FIN_WAIT2,   "fin_wait2",   "FIN-WAIT-2" },
	{ TCPS_TIME_WAIT,   "time_wait",   "TIME-WAIT" },
	{ TCPS_CLOSE,       "close",       "UNCONN" },
	{ TCPS_CLOSE_WAIT,  "close_wait",  "CLOSE-WAIT" },
	{ TCPS_LAST_ACK,    "last_ack",    "LAST-ACK" },
	{ TCPS_LISTEN,      "listen",      "LISTEN" },
	{ TCPS_CLOSING,     "closing",     "CLOSING" },
};
const size_t tcp_state_count = sizeof(tcp_state_names) / sizeof(tcp_state_names[0]);

const struct tcp_state_name *tcp_state_by_number(int s)
{
	if (s == TCPS_NEW_SYN_RECV)
		s = TCPS_SYN_RECV;
	if (s < TCPS_ESTABLISHED || s > TCPS_CLOSING)
		return NULL;
	return &tcp_state_names[s - 1];
}
