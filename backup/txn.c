/* txn_apply() and the store lock of txn.h: checks a request, reads what is
 * there now, and hands the change to the engine (change.c).  Rollback,
 * recovery and history live in rollback.c, recover.c and history.c. */
#include "txn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "change.h"
#include "fsutil.h"
#include "history.h"
#include "keys.h"
#include "lock.h"
#include "manifest.h"
#include "store.h"
#include "sysctl_write.h"


int txn_lock(const struct txn_paths *p, pid_t *ret_pid)
{
	int storefd, fd;

	if (!p || !p->store)
		return -EINVAL;
	storefd = store_open(p->store, true);
	if (storefd < 0)
		return storefd;
	fd = lock_take(storefd, ret_pid);
	close(storefd);
	return fd;
}

void txn_unlock(int lockfd)
{
	lock_release(lockfd);
}

static int check_name(const char *what, const char *s, struct txn_error *err)
{
	if (strlen(s) >= 64) {
		change_say(err->what, sizeof(err->what), "%s name too long (at most 63 bytes)", what);
		return -ENAMETOOLONG;
	}
	if (change_has_control(s)) {
		change_say(err->what, sizeof(err->what), "%s name contains control characters", what);
		return -EINVAL;
	}
	return 0;
}

static int check_request(const struct txn_request *req, struct txn_error *err)
{
	int r;

	if (!req || (req->n_keys && !req->keys)) {
		change_say(err->what, sizeof(err->what), "incomplete request");
		return -EINVAL;
	}
	if (req->action && strcmp(req->action, "apply") != 0) {
		change_say(err->what, sizeof(err->what), "'%s' is not an action txn_apply() performs", req->action);
		return -EINVAL;
	}
	if ((r = check_name("profile", req->profile ? req->profile : "", err)) < 0 ||
	    (r = check_name("user", req->user ? req->user : "", err)) < 0)
		return r;
	if (req->file_content && strlen(req->file_content) > STORE_FILE_MAX) {
		change_say(err->what, sizeof(err->what), "the managed file's content is larger than %d bytes", STORE_FILE_MAX);
		return -EFBIG;
	}
	if (req->n_keys > key_count) {
		change_say(err->what, sizeof(err->what), "%zu keys requested, the key table has %zu", req->n_keys, key_count);
		return -EINVAL;
	}
	for (size_t i = 0; i < req->n_keys; i++) {
		const struct txn_key *k = &req->keys[i];
		const struct key_def *d;
		long long v[2];

		/* docs/SECURITY.md: the table decides, before any path exists. */
		if (k->key >= key_count) {
			change_say(err->what, sizeof(err->what), "key #%zu is not in the key table", k->key);
			return -EINVAL;
		}
		d = &key_table[k->key];
		if (!d->writable) {
			change_say(err->what, sizeof(err->what), "%s is not a key tcptune writes", d->name);
			return -EPERM;
		}
		if (!memchr(k->new_value, '\0', sizeof(k->new_value)) || key_parse_value(d, k->new_value, v) < 0) {
			change_say(err->what, sizeof(err->what), "%s: not a valid value", d->name);
			return -EINVAL;
		}
		if (!key_in_apply_range(d, v)) {
			change_say(err->what, sizeof(err->what), "%s = %s is outside what tcptune applies (%lld to %lld)", d->name, k->new_value,
			     d->amin, d->amax);
			return -ERANGE;
		}
		for (size_t j = 0; j < i; j++)
			if (req->keys[j].key == k->key) {
				change_say(err->what, sizeof(err->what), "%s requested twice", d->name);
				return -EINVAL;
			}
	}
	return 0;
}

/* Old values from the running kernel, new ones from the request. */
static int plan_keys(const struct txn_paths *p, const struct txn_request *req, struct txn_entry *e,
		     struct txn_error *err)
{
	e->keys = req->n_keys ? calloc(req->n_keys, sizeof(*e->keys)) : NULL;
	if (req->n_keys && !e->keys)
		return -ENOMEM;
	e->n_keys = req->n_keys;
	for (size_t i = 0; i < req->n_keys; i++) {
		struct txn_entry_key *k = &e->keys[i];
		const char *name = key_table[req->keys[i].key].name;
		char now[64];
		int r;

		k->key = req->keys[i].key;
		r = sysctl_read(p->proc_sys, k->key, now, sizeof(now));
		if (r == -ENOENT) {
			/* The caller skips missing keys with a reason (docs/ARCHITECTURE.md §4);
			 * one that vanished since then fails the request. */
			change_say(err->what, sizeof(err->what), "%s does not exist here", name);
			return r;
		}
		if (r < 0) {
			change_say(err->what, sizeof(err->what), "cannot read %s: %s", name, strerror(-r));
			return r;
		}
		/* An old value we could not write back is no backup. */
		if (change_canonical_value(k->key, now, k->old_value) < 0) {
			change_say(err->what, sizeof(err->what), "cannot parse the current value of %s", name);
			return -EINVAL;
		}
		k->had_old = true;
		(void) change_canonical_value(k->key, req->keys[i].new_value, k->new_value);	/* checked */
	}
	return 0;
}

int txn_apply(const struct txn_paths *p, const struct txn_request *req, bool *ret_changed, char ret_id[16],
	      struct txn_error *err)
{
	char managed_path[256];
	struct txn_entry *v = NULL;
	struct txn_error dummy;
	struct change c;
	size_t n = 0;
	int storefd = -1, r;

	if (!err)
		err = &dummy;
	r = change_begin(p, &c, managed_path, err);
	if (r < 0)
		return r;
	r = check_request(req, err);
	if (r < 0)
		goto out;

	storefd = store_open(p->store, true);
	if (storefd < 0) {
		r = storefd;
		change_say(err->what, sizeof(err->what), "cannot open the store %s: %s", p->store, strerror(-r));
		goto out;
	}
	r = change_load_history(storefd, p, &v, &n, err);
	if (r < 0)
		goto out;

	snprintf(c.entry.action, sizeof(c.entry.action), "apply");
	snprintf(c.entry.profile, sizeof(c.entry.profile), "%s", req->profile ? req->profile : "");
	snprintf(c.entry.user, sizeof(c.entry.user), "%s", req->user ? req->user : "");
	snprintf(c.entry.file_path, sizeof(c.entry.file_path), "%s", managed_path);
	c.uid = req->uid;
	c.new_file = req->file_content;	/* NULL: remove the managed file */
	c.new_file_len = req->file_content ? strlen(req->file_content) : 0;
	r = plan_keys(p, req, &c.entry, err);
	if (r < 0)
		goto out;

	r = change_finish(storefd, p, managed_path, &c, true, ret_changed, ret_id, err);
out:
	manifest_entry_release(&c.entry);
	txn_entries_free(v, n);
	if (storefd >= 0)
		close(storefd);
	change_error_sanitize(err);
	return r;
}
