/* libFuzzer target: the NETLINK_SOCK_DIAG decoder (sockdiag_decode), one
 * received buffer decoded into a fresh census as AF_INET, as AF_INET6 and
 * as AF_UNSPEC (the one dump for both families, whose replies carry the
 * type TCPDIAG_GETSOCK: docs/KERNEL.md §18.1; seed-corpus.py retypes the
 * recorded buffers so).
 * The input is copied so the decoder sees a buffer aligned like recv()'s. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "census.h"
#include "snap_sockdiag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int families[] = { AF_INET, AF_INET6, AF_UNSPEC };
	void *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		struct census c;
		struct sockdiag_stats st;

		memset(&st, 0, sizeof(st));
		if (census_init(&c, 32768, 60999) < 0)
			break;
		(void)sockdiag_decode(buf, size, families[i], &c, &st);
		census_release(&c);
	}
	free(buf);
	return 0;
}
