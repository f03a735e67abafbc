/* libFuzzer target: /proc/net/tcp{,6} lines (proctcp_parse_line), each line
 * of the input parsed as both families. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "snap_proctcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t start = 0;

	while (start <= size) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t end = nl ? (size_t)(nl - data) : size;
		char *line = malloc(end - start + 1);
		struct sock_rec r;

		if (!line)
			return 0;
		memcpy(line, data + start, end - start);
		line[end - start] = '\0';
		(void)proctcp_parse_line(line, AF_INET, &r);
		(void)proctcp_parse_line(line, AF_INET6, &r);
		free(line);
		if (!nl)
			break;
		start = end + 1;
	}
	return 0;
}
