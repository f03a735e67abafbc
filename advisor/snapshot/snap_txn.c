/* Unfinished transactions in the backup store (SPEC §8): an entry whose
 * manifest still says "pending" means an apply or rollback was cut off and
 * the machine may be half-changed.  Store layout: var/lib/tcptune/<id>/
 * manifest.json under the audited root. */
#include "snap_readers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rootfs.h"
#include "strutil.h"

#define STORE_DIR "var/lib/tcptune"
#define MANIFEST_MAX (256 * 1024)

/* Status of one entry's manifest, or NULL when it cannot be read. */
static char *entry_status(struct snapshot *s, const char *id)
{
	char rel[512], *text = NULL, *status = NULL;
	json_t *root;
	json_error_t err;

	if (str_printf(rel, sizeof(rel), STORE_DIR "/%s/manifest.json", id) < 0)
		return NULL;
	if (rootfs_read_file(s->rootfd, rel, MANIFEST_MAX, &text, NULL) < 0)
		return NULL;
	root = json_loads(text, JSON_REJECT_DUPLICATES, &err);
	free(text);
	if (root && json_is_string(json_object_get(root, "status")))
		status = strdup(json_string_value(json_object_get(root, "status")));
	else
		snap_note(s, "transactions", "%s: %s", snap_path(s, rel),
			  root ? "no \"status\" in manifest" : err.text);
	json_decref(root);
	return status;
}

int snap_txn_read(struct snapshot *s)
{
	char oldest[256] = "";
	int64_t pending = 0;
	struct dirent *e;
	DIR *d;
	int fd;

	fd = rootfs_openat(s->rootfd, STORE_DIR, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		/* No store: nothing was ever applied here. */
		snap_set_int(s, F_TXN_PENDING, 0);
		return fd == -ENOENT ? 0 : (snap_note(s, "transactions", "cannot open %s: %s",
						      snap_path(s, STORE_DIR), strerror(-fd)), 0);
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while ((e = readdir(d))) {
		char *status;

		if (e->d_name[0] == '.' || strspn(e->d_name, "0123456789") != strlen(e->d_name))
			continue;
		status = entry_status(s, e->d_name);
		if (status && strcmp(status, "pending") == 0) {
			pending++;
			if (!oldest[0] || strcmp(e->d_name, oldest) < 0)
				snprintf(oldest, sizeof(oldest), "%s", e->d_name);
		}
		free(status);
	}
	closedir(d);
	snap_set_int(s, F_TXN_PENDING, pending);
	if (pending)
		snap_set_str(s, F_TXN_PENDING_ID, oldest);
	return 0;
}
