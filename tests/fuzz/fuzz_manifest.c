/* libFuzzer target: the backup manifest (manifest_decode).  The entry's
 * directory name is "0001", "0002", then "0003", so seeds of any of these ids
 * (tests/fixtures/manifests: two applies and a rollback, recorded from real
 * runs) get past the id check. */
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ids[] = { "0001", "0002", "0003" };

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct txn_entry e;
		uid_t uid;
		char why[256];

		memset(&e, 0, sizeof(e));
		if (manifest_decode((const char *)data, size, ids[i], &e, &uid, why, sizeof(why)) == 0)
			manifest_entry_release(&e);
	}
	return 0;
}
