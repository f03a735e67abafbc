/* Listing and pruning the store (see history.h).  A corrupt entry is shown,
 * not hidden and not fatal: history is what an operator reads after
 * something went wrong. */
#include "history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lock.h"
#include "manifest.h"
#include "store.h"

int history_load(int storefd, struct txn_entry **ret, size_t *ret_n)
{
	struct txn_entry *v = NULL;
	unsigned long *ids = NULL;
	size_t n = 0;
	int r;

	r = store_list(storefd, &ids, &n);
	if (r < 0)
		return r;
	if (n) {
		v = calloc(n, sizeof(*v));
		if (!v) {
			r = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		char id[16], why[256] = "";
		uid_t uid;

		store_id_format(ids[i], id);
		r = store_load(storefd, id, &v[i], &uid, why, sizeof(why));
		if (r == -ENOMEM)
			goto out;
		if (r < 0) {
			memset(&v[i], 0, sizeof(v[i]));
			snprintf(v[i].id, sizeof(v[i].id), "%s", id);
			snprintf(v[i].status, sizeof(v[i].status), ST_CORRUPT);
			snprintf(v[i].error, sizeof(v[i].error), "%s", why);
		}
	}
	*ret = v;
	*ret_n = n;
	v = NULL;
	r = 0;
out:
	txn_entries_free(v, n);
	free(ids);
	return r;
}

long history_first_pending(const struct txn_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].status, ST_PENDING) == 0)
			return (long) i;
	return -1;
}

/* Never pruned: a pending entry (recovery needs it) and an applied apply
 * entry (rollback needs its backups: the oldest holds the state before
 * tcptune's first change, each later one the state the one before it left;
 * README: The apply transaction). */
static bool prunable(const struct txn_entry *e)
{
	return strcmp(e->status, ST_PENDING) != 0 &&
	       !(strcmp(e->action, "apply") == 0 && strcmp(e->status, ST_APPLIED) == 0);
}

int history_prune(int storefd, size_t keep)
{
	struct txn_entry *v = NULL;
	size_t n = 0, left;
	int r, removed = 0, first = 0;

	r = history_load(storefd, &v, &n);
	if (r < 0)
		return r;
	left = n;
	/* Pass 0 removes "unchanged" entries only, so that no-op re-applies
	 * never push a real change out; pass 1 the other prunable ones.  Oldest
	 * first, never the newest entry (the one just made). */
	for (int pass = 0; pass < 2 && left > keep; pass++)
		for (size_t i = 0; i + 1 < n && left > keep; i++) {
			if (!v[i].id[0] || !prunable(&v[i]) || (pass == 0 && strcmp(v[i].status, ST_UNCHANGED) != 0))
				continue;
			r = store_entry_remove(storefd, v[i].id);
			v[i].id[0] = '\0';	/* tried: not again in the next pass */
			if (r < 0 && first == 0)
				first = r;
			if (r == 0) {
				removed++;
				left--;
			}
		}
	txn_entries_free(v, n);
	return first < 0 ? first : removed;
}

/* For the views that do not hold the lock (history, check): while a
 * transaction runs, its entry -- the newest, pending, or without a manifest
 * yet while it records -- is "running", not pending or corrupt. */
static void mark_running(int storefd, struct txn_entry *v, size_t n)
{
	struct txn_entry *e = n ? &v[n - 1] : NULL;

	if (!e || (strcmp(e->status, ST_PENDING) != 0 && strcmp(e->status, ST_CORRUPT) != 0))
		return;
	if (strcmp(e->status, ST_CORRUPT) == 0 && !strstr(e->error, STORE_MANIFEST " missing"))
		return;
	if (!lock_is_held(storefd))
		return;
	snprintf(e->status, sizeof(e->status), ST_RUNNING);
	snprintf(e->error, sizeof(e->error), "a transaction holds the store lock and is running");
}

int txn_history(const struct txn_paths *p, struct txn_entry **ret, size_t *ret_n)
{
	int storefd, r;

	if (!p || !p->store)
		return -EINVAL;
	storefd = store_open(p->store, false);
	if (storefd == -ENOENT) {
		/* No store: nothing was ever applied. */
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (storefd < 0)
		return storefd;
	r = history_load(storefd, ret, ret_n);
	if (r == 0)
		mark_running(storefd, *ret, *ret_n);
	close(storefd);
	return r;
}

int txn_store_state(int storefd, struct txn_store_state *ret)
{
	struct txn_entry *v = NULL;
	size_t n = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = history_load(storefd, &v, &n);
	if (r < 0)
		return r;
	mark_running(storefd, v, n);
	for (size_t i = 0; v && i < n; i++) {	/* v is NULL only when n is 0 */
		if (strcmp(v[i].status, ST_PENDING) == 0 && ret->n_pending++ == 0)
			snprintf(ret->oldest_pending, sizeof(ret->oldest_pending), "%s", v[i].id);
		if (strcmp(v[i].status, ST_CORRUPT) == 0 && ret->n_corrupt++ == 0) {
			snprintf(ret->first_corrupt, sizeof(ret->first_corrupt), "%s", v[i].id);
			snprintf(ret->first_corrupt_why, sizeof(ret->first_corrupt_why), "%s", v[i].error);
		}
		if (strcmp(v[i].status, ST_CORRUPT) != 0 && strcmp(v[i].status, ST_UNCHANGED) != 0) {
			/* entries come in id order: the last one wins */
			snprintf(ret->newest_id, sizeof(ret->newest_id), "%s", v[i].id);
			snprintf(ret->newest_action, sizeof(ret->newest_action), "%s", v[i].action);
			snprintf(ret->newest_profile, sizeof(ret->newest_profile), "%s",
				 v[i].action[0] == 'r' && v[i].target[0] ? v[i].target : v[i].profile);
			snprintf(ret->newest_time, sizeof(ret->newest_time), "%s", v[i].time);
		}
	}
	txn_entries_free(v, n);
	return 0;
}

int txn_store_refusal(const char *path, char *why, size_t why_len)
{
	struct stat st;

	why[0] = '\0';
	if (lstat(path, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode)) {
		snprintf(why, why_len, "%s is a symlink, which tcptune never follows there; replace it with a directory "
			 "(mkdir -m 0700)", path);
		return 0;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(why, why_len, "%s is owned by uid %u, not root; fix with: chown root %s", path,
			 (unsigned) st.st_uid, path);
		return 0;
	}
	if (st.st_mode & 022) {
		snprintf(why, why_len, "%s is writable by %s (mode %04o); fix with: chmod go-w %s", path,
			 (st.st_mode & 020) && (st.st_mode & 002) ? "group and others" : st.st_mode & 020 ? "group" : "others",
			 (unsigned) (st.st_mode & 07777), path);
		return 0;
	}
	return 0;
}

void txn_entries_free(struct txn_entry *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		manifest_entry_release(&v[i]);
	free(v);
}

/* The directory of entry id in p's store.  Returns an fd or -errno. */
static int effect_entry_open(const struct txn_paths *p, const char *id)
{
	int storefd, fd;

	if (!p || !p->store || !manifest_id_valid(id))
		return -EINVAL;
	storefd = store_open(p->store, false);
	if (storefd < 0)
		return storefd;
	fd = store_entry_open(storefd, id);
	close(storefd);
	return fd;
}

int txn_effect_save(const struct txn_paths *p, const char *id, const char *text)
{
	int fd, r;

	if (strlen(text) > TXN_EFFECT_MAX)
		return -EINVAL;
	fd = effect_entry_open(p, id);
	if (fd < 0)
		return fd;
	r = store_write(fd, TXN_EFFECT_FILE, text, strlen(text));
	close(fd);
	return r;
}

int txn_effect_load(const struct txn_paths *p, const char *id, char **ret_text)
{
	char *buf = NULL;
	size_t len = 0;
	int fd = effect_entry_open(p, id), r;

	if (fd < 0)
		return fd;
	r = store_read_at(fd, TXN_EFFECT_FILE, TXN_EFFECT_MAX, &buf, &len);
	close(fd);
	if (r < 0)
		return r;
	*ret_text = buf;
	return 0;
}
