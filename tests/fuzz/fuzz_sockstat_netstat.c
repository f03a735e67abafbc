/* libFuzzer target: /proc/net/sockstat{,6} and /proc/net/netstat text
 * (sockstat_field, netstat_counter) on a NUL-terminated copy, with the
 * prefixes, sections and names the readers use. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "snap_readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tcp_fields[] = { "inuse", "orphan", "tw", "alloc", "mem", "" };
	char *text = malloc(size + 1);
	long long v;
	unsigned long long u;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t i = 0; i < sizeof(tcp_fields) / sizeof(tcp_fields[0]); i++)
		(void)sockstat_field(text, "TCP:", tcp_fields[i], &v);
	(void)sockstat_field(text, "TCP6:", "inuse", &v);
	(void)sockstat_field(text, "", "inuse", &v);
	for (size_t i = 0; i < tcpext_count; i++)
		(void)netstat_counter(text, "TcpExt", tcpext_names[i], &u);
	(void)netstat_counter(text, "IpExt", "InOctets", &u);
	(void)netstat_counter(text, "TcpExt", "", &u);
	free(text);
	return 0;
}
