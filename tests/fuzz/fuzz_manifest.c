/* libFuzzer target: the backup manifest (manifest_decode).  The entry's
 * directory name is "0001", then "0002", so seeds of either id get past the
 * id check. */
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ids[] = { "0001", "0002" };

	for (size_t i = 0; i < 2; i++) {
		struct txn_entry e;
		uid_t uid;
		char why[256];

		memset(&e, 0, sizeof(e));
		if (manifest_decode((const char *)data, size, ids[i], &e, &uid, why, sizeof(why)) == 0)
			manifest_entry_release(&e);
	}
	return 0;
}
