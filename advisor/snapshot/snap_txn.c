/* Unfinished transactions in the backup store (docs/ARCHITECTURE.md): an
 * entry whose manifest still says "pending" means an apply or rollback was
 * cut off and the machine may be half-changed.  The store is opened under
 * the audited root; which directories are entries and what their manifests
 * say is decided by backup/ (txn_store_state()), the same code recovery
 * uses, so check never counts an entry recovery would not clear. */
#include "snap_readers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rootfs.h"
#include "txn.h"

int snap_txn_read(struct snapshot *s)
{
	const char *store = TXN_DEFAULT_STORE_REL;	/* under the audited root */
	struct txn_store_state st;
	int fd, r;

	fd = rootfs_openat(s->rootfd, store, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		/* No store: nothing was ever applied here. */
		snap_set_int(s, F_TXN_PENDING, 0);
		if (fd != -ENOENT)
			snap_note(s, "transactions", "cannot open %s: %s", snap_path(s, store), strerror(-fd));
		return 0;
	}
	r = txn_store_state(fd, &st);
	close(fd);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		snap_note(s, "transactions", "cannot list %s: %s", snap_path(s, store), strerror(-r));
		return 0;
	}
	snap_set_int(s, F_TXN_PENDING, (int64_t) st.n_pending);
	if (st.n_pending && snap_set_str(s, F_TXN_PENDING_ID, st.oldest_pending) < 0)
		return -ENOMEM;
	if (st.newest_id[0]) {
		char what[96];
		struct tm tm;
		const char *end;

		snprintf(what, sizeof(what), "%s %s", st.newest_action, st.newest_profile);
		if (snap_set_str(s, F_TXN_LAST_ID, st.newest_id) < 0 || snap_set_str(s, F_TXN_LAST_WHAT, what) < 0)
			return -ENOMEM;
		memset(&tm, 0, sizeof(tm));
		end = strptime(st.newest_time, "%Y-%m-%dT%H:%M:%SZ", &tm);	/* as backup/change.c writes it */
		if (end && !*end)
			snap_set_int(s, F_TXN_LAST_TIME, (int64_t) timegm(&tm));
	}
	if (st.n_corrupt)
		snap_note(s, "transactions", "%s/%s: %s%s", snap_path(s, store), st.first_corrupt,
			  st.first_corrupt_why, st.n_corrupt > 1 ? " (and more corrupt entries: tcptune history)" : "");
	return 0;
}
