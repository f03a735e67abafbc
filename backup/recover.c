/* Restoring prior state (see recover.h): the primitives the failure path of a
 * transaction uses, and txn_recover() for entries cut off by a crash.  A
 * pending entry's manifest is written only after its backups are durable
 * (change.c), so its old values and prior-file can be trusted here. */
#include "recover.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "change.h"
#include "fsutil.h"
#include "history.h"
#include "keys.h"
#include "manifest.h"
#include "store.h"
#include "sysctl_write.h"


int recover_keys(const char *proc_sys, const struct txn_entry_key *keys, size_t n, char *what, size_t what_len)
{
	int first = 0;

	for (size_t i = n; i-- > 0;) {
		const struct txn_entry_key *k = &keys[i];
		char now[64], back[64];
		int r;

		if (!k->had_old)
			continue;
		r = sysctl_read(proc_sys, k->key, now, sizeof(now));
		if (r == 0 && sysctl_value_equal(k->key, now, k->old_value))
			continue;
		r = sysctl_write(proc_sys, k->key, k->old_value, back, sizeof(back));
		if (r == 0 || first < 0)
			continue;
		first = r;
		if (r == -ERANGE)
			change_say(what, what_len, "cannot restore %s to %s: the kernel reads back %s", key_table[k->key].name,
				 k->old_value, back);
		else
			change_say(what, what_len, "cannot restore %s to %s: %s", key_table[k->key].name, k->old_value,
				 strerror(-r));
	}
	return first;
}

int recover_file(int sysfd, const char *name, const char *path, bool existed, const char *prior, size_t prior_len,
		 char *what, size_t what_len)
{
	char *now = NULL;
	size_t now_len = 0;
	int r;

	r = store_read_at(sysfd, name, STORE_FILE_MAX, &now, &now_len);
	if (existed) {
		bool same = r == 0 && now_len == prior_len && memcmp(now, prior, prior_len) == 0;

		free(now);
		if (same)
			return 0;
		r = atomic_write(sysfd, name, prior, prior_len, 0644);
	} else {
		free(now);
		if (r == -ENOENT)
			return 0;
		r = 0;
		/* The removal is made durable by the fsync() of the directory. */
		if ((unlinkat(sysfd, name, 0) < 0 && errno != ENOENT) || fsync(sysfd) < 0)
			r = -errno;
	}
	if (r < 0)
		change_say(what, what_len, "cannot restore %s: %s", path, strerror(-r));
	return r;
}

/* A rollback that is undone again leaves its target in effect: "applied". */
static int reinstate_target(int storefd, const struct txn_entry *e, struct txn_error *err)
{
	struct txn_entry t;
	char why[256];
	uid_t uid;
	int r;

	if (strcmp(e->action, "rollback") != 0 || !e->target[0])
		return 0;
	r = store_load(storefd, e->target, &t, &uid, why, sizeof(why));
	if (r == -EBADMSG || r == -ENOENT)
		return 0;	/* pruned or unreadable: nothing to correct */
	if (r < 0) {
		change_say(err->what, sizeof(err->what), "cannot read entry %s: %s", e->target, why);
		return r;
	}
	if (strcmp(t.status, ST_UNDONE) == 0) {
		r = store_set_status(storefd, t.id, ST_APPLIED, NULL);
		if (r < 0)
			change_say(err->what, sizeof(err->what), "cannot mark entry %s applied again: %s", t.id,
				 strerror(-r));
	}
	manifest_entry_release(&t);
	return r;
}

static int recover_entry(int storefd, int *sysfd, const struct txn_paths *p, const char *managed_path,
			 const struct txn_entry *e, struct txn_error *err)
{
	char *prior = NULL, what_k[256] = "", what_f[256] = "";
	size_t prior_len = 0;
	int fd, rk, rf, r;

	snprintf(err->id, sizeof(err->id), "%s", e->id);
	err->restored = false;
	/* The file to restore is the one we manage now, never a path read from
	 * the store; an entry about another file is for another configuration. */
	if (strcmp(e->file_path, managed_path) != 0) {
		change_say(err->what, sizeof(err->what), "pending entry %s manages %s, not %s", e->id, e->file_path,
			 managed_path);
		return -EINVAL;
	}
	if (e->file_existed) {
		fd = store_entry_open(storefd, e->id);
		r = fd < 0 ? fd : store_read_at(fd, STORE_PRIOR_FILE, STORE_FILE_MAX, &prior, &prior_len);
		if (fd >= 0)
			close(fd);
		if (r < 0) {
			change_say(err->what, sizeof(err->what), "cannot read the backup of %s in entry %s: %s",
				 managed_path, e->id, strerror(-r));
			return r == -ENOENT ? -EBADMSG : r;
		}
	}
	if (*sysfd < 0) {
		*sysfd = open_dir_nofollow(p->sysctl_dir);
		if (*sysfd < 0) {
			r = *sysfd;
			change_say(err->what, sizeof(err->what), "cannot open %s: %s", p->sysctl_dir, strerror(-r));
			free(prior);
			return r;
		}
	}
	rk = recover_keys(p->proc_sys, e->keys, e->n_keys, what_k, sizeof(what_k));
	rf = recover_file(*sysfd, p->managed_name, managed_path, e->file_existed, prior, prior_len, what_f,
			  sizeof(what_f));
	free(prior);
	if (rk < 0 || rf < 0) {
		change_say(err->what, sizeof(err->what), "%s", rk < 0 ? what_k : what_f);
		return rk < 0 ? rk : rf;
	}
	err->restored = true;
	r = reinstate_target(storefd, e, err);
	if (r < 0)
		return r;
	r = store_set_status(storefd, e->id, ST_RECOVERED, NULL);
	if (r < 0)
		change_say(err->what, sizeof(err->what), "cannot mark entry %s recovered: %s", e->id, strerror(-r));
	return r;
}

int txn_recover(const struct txn_paths *p, struct txn_error *err)
{
	char managed_path[256];
	struct txn_error dummy;
	struct txn_entry *v = NULL;
	size_t n = 0;
	int storefd, sysfd = -1, count = 0, r;

	if (!err)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	r = change_check_paths(p, managed_path, err);
	if (r < 0)
		return r;
	storefd = store_open(p->store, false);
	if (storefd == -ENOENT)
		return 0;	/* no store: nothing ever ran */
	if (storefd < 0) {
		change_say(err->what, sizeof(err->what), "cannot open the store %s: %s", p->store, strerror(-storefd));
		return storefd;
	}
	r = history_load(storefd, &v, &n);
	if (r < 0) {
		change_say(err->what, sizeof(err->what), "cannot list the store %s: %s", p->store, strerror(-r));
		goto out;
	}
	/* Oldest first: each restores the state the next one started from. */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].status, ST_PENDING) != 0)
			continue;
		r = recover_entry(storefd, &sysfd, p, managed_path, &v[i], err);
		if (r < 0)
			goto out;
		count++;
	}
	/* Debris a crash leaves that changed nothing: temp files beside the
	 * managed file and in entries, entries cut off while recording.  Best
	 * effort: none of it affects the machine. */
	(void) store_clean(storefd);
	{
		int dfd = open_dir_nofollow(p->sysctl_dir);
		if (dfd >= 0) {
			(void) atomic_write_cleanup(dfd, p->managed_name);
			close(dfd);
		}
	}
	memset(err, 0, sizeof(*err));
	r = count;
out:
	txn_entries_free(v, n);
	if (sysfd >= 0)
		close(sysfd);
	close(storefd);
	change_error_sanitize(err);
	return r;
}
