/* libFuzzer target: the previous check's state file (check_state_parse),
 * and, for what it accepts, a format/parse round trip that must agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snap_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[STATE_MAX_BYTES];
	struct check_state st, back;
	unsigned line;
	int len;

	if (check_state_parse((const char *) data, size, &st, &line) < 0)
		return 0;
	len = check_state_format(&st, buf, sizeof(buf));
	if (len < 0)
		return 0;	/* accepted input larger than the writer allows */
	if (check_state_parse(buf, (size_t) len, &back, &line) < 0 || memcmp(&st, &back, sizeof(st)) != 0)
		abort();
	return 0;
}
