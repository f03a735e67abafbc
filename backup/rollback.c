/* txn_rollback() (see txn.h and rollback.h): the target's old values and
 * prior file become the plan of a new "rollback" entry run by the same
 * engine as apply, so a failed or interrupted rollback is restored exactly
 * like a failed apply. */
#include "rollback.h"

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
#include "manifest.h"
#include "store.h"
#include "sysctl_write.h"


int rollback_find_target(const struct txn_entry *v, size_t n, const char *id, bool force, size_t *ret_index,
			 char *why, size_t why_len)
{
	size_t i = n;

	if (id) {
		unsigned long want;

		if (!manifest_id_valid(id)) {
			change_say(why, why_len, "'%s' is not a transaction id", id);
			return -EINVAL;
		}
		want = strtoul(id, NULL, 10);
		for (i = 0; i < n; i++)
			if (strtoul(v[i].id, NULL, 10) == want)
				break;
		if (i == n) {
			change_say(why, why_len, "no transaction %s in the store", id);
			return -ENOENT;
		}
	} else {
		while (i-- > 0)
			if (strcmp(v[i].action, "apply") == 0 && strcmp(v[i].status, ST_APPLIED) == 0)
				break;
		if (i == (size_t) -1) {
			change_say(why, why_len, "no applied transaction to undo");
			return -ENOENT;
		}
	}
	if (strcmp(v[i].status, ST_CORRUPT) == 0) {
		change_say(why, why_len, "transaction %s is corrupt: %s", v[i].id, v[i].error);
		return -EBADMSG;
	}
	if (strcmp(v[i].action, "apply") != 0) {
		change_say(why, why_len, "transaction %s is a rollback itself; apply the profile again instead", v[i].id);
		return -EINVAL;
	}
	if (strcmp(v[i].status, ST_APPLIED) != 0) {
		change_say(why, why_len, "transaction %s is %s, not applied: nothing to roll back", v[i].id, v[i].status);
		return -EINVAL;
	}
	/* Only in order, even with force: going back to this entry's prior file
	 * would throw away what a newer applied entry wrote there, and leave
	 * the managed file holding a profile history calls undone.
	 * The refusal gives the plan: the rollbacks to run, newest first. */
	(void) force;
	for (size_t j = n; j-- > i + 1;)
		if (strcmp(v[j].action, "apply") == 0 && strcmp(v[j].status, ST_APPLIED) == 0) {
			change_say(why, why_len, "transaction %s (%s) was applied after %s and is still in effect; undo in "
				   "order, newest first:", v[j].id, v[j].profile, v[i].id);
			for (size_t k = n; k-- > i;)
				if (strcmp(v[k].action, "apply") == 0 && strcmp(v[k].status, ST_APPLIED) == 0)
					change_append(why, why_len, " tcptune rollback %s%s", v[k].id, k > i ? ";" : "");
			return -EEXIST;
		}
	*ret_index = i;
	return 0;
}

/* The history of p's store in *ret_v (free with txn_entries_free(), also
 * on error) and the index of the entry a rollback of id undoes in *ret_i;
 * err is reset and says why when there is none. */
static int history_target(const struct txn_paths *p, const char *id, bool force, struct txn_entry **ret_v,
			  size_t *ret_n, size_t *ret_i, struct txn_error *err)
{
	int r;

	memset(err, 0, sizeof(*err));
	err->restored = true;
	r = txn_history(p, ret_v, ret_n);
	if (r < 0) {
		change_say(err->what, sizeof(err->what), "cannot read the store %s: %s", p->store, strerror(-r));
		return r;
	}
	r = rollback_find_target(*ret_v, *ret_n, id, force, ret_i, err->what, sizeof(err->what));
	if (r == 0)
		snprintf(err->id, sizeof(err->id), "%s", (*ret_v)[*ret_i].id);
	return r;
}

int txn_rollback_target(const struct txn_paths *p, const char *id, bool force, struct txn_entry *ret,
			struct txn_error *err)
{
	struct txn_entry *v = NULL;
	size_t n = 0, ti;
	int r = history_target(p, id, force, &v, &n, &ti, err);

	if (r == 0) {
		*ret = v[ti];
		ret->keys = NULL;	/* they stay with v */
	}
	txn_entries_free(v, n);
	return r;
}

/* Keys of the target that had an old value: back to it.  Keys it created
 * (no old value) are left alone; keys this kernel lacks now are skipped with
 * the command that finishes them, in err->note and the entry's error (as
 * apply's preflight skips them, docs/ARCHITECTURE.md §4).  Refuses keys
 * changed outside tcptune unless force. */
static int plan_keys(const struct txn_paths *p, const struct txn_entry *t, bool force, struct txn_entry *e,
		     struct txn_error *err)
{
	e->keys = t->n_keys ? calloc(t->n_keys, sizeof(*e->keys)) : NULL;
	if (t->n_keys && !e->keys)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_keys; i++) {
		const struct txn_entry_key *tk = &t->keys[i];
		struct txn_entry_key *k = &e->keys[e->n_keys];
		const char *name = key_table[tk->key].name;
		char now[64];
		int r;

		if (!tk->had_old)
			continue;
		r = sysctl_read(p->proc_sys, tk->key, now, sizeof(now));
		if (r == -ENOENT) {
			change_append(err->note, sizeof(err->note), "%s%s (absent here; when it returns: sysctl -w %s=%s)",
				      err->note[0] ? "; " : "not restored: ", name, name, tk->old_value);
			continue;
		}
		if (r < 0) {
			change_say(err->what, sizeof(err->what), "cannot read %s: %s", name, strerror(-r));
			return r;
		}
		if (!force && !sysctl_value_equal(tk->key, now, tk->new_value)) {
			change_say(err->what, sizeof(err->what),
			    "%s is %s now, tcptune set %s (changed outside tcptune; use --force)", name, now,
			    tk->new_value);
			return -EEXIST;
		}
		k->key = tk->key;
		k->had_old = true;
		if (change_canonical_value(k->key, now, k->old_value) < 0) {
			change_say(err->what, sizeof(err->what), "cannot parse the current value of %s", name);
			return -EINVAL;
		}
		(void) change_canonical_value(k->key, tk->old_value, k->new_value);	/* decoded: parses */
		e->n_keys++;
	}
	return 0;
}

/* What the target wrote to the managed file (its planned-file), so that a
 * hand edit since is not dropped in silence.  *ret_known false for entries
 * recorded before planned-file existed: no check then. */
static int read_target_planned(int storefd, const struct txn_entry *t, char **ret_buf, size_t *ret_len,
			       bool *ret_known, struct txn_error *err)
{
	int fd, r;

	*ret_buf = NULL;
	*ret_len = 0;
	*ret_known = false;
	fd = store_entry_open(storefd, t->id);
	r = fd < 0 ? fd : store_read_at(fd, STORE_PLANNED_FILE, STORE_FILE_MAX, ret_buf, ret_len);
	if (fd >= 0)
		close(fd);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		change_say(err->what, sizeof(err->what), "cannot read what entry %s wrote to %s: %s", t->id,
			   t->file_path, strerror(-r));
		return r;
	}
	*ret_known = true;
	return 0;
}

static int read_target_file(int storefd, const struct txn_entry *t, char **ret_buf, size_t *ret_len,
			    struct txn_error *err)
{
	int fd, r;

	*ret_buf = NULL;
	*ret_len = 0;
	if (!t->file_existed)
		return 0;
	fd = store_entry_open(storefd, t->id);
	r = fd < 0 ? fd : store_read_at(fd, STORE_PRIOR_FILE, STORE_FILE_MAX, ret_buf, ret_len);
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		change_say(err->what, sizeof(err->what), "cannot read the backup of %s in entry %s: %s", t->file_path,
		    t->id, strerror(-r));
		return r == -ENOENT ? -EBADMSG : r;
	}
	return 0;
}

int txn_rollback(const struct txn_paths *p, const char *id, bool force, const char *user, uid_t uid,
		 char ret_id[16], struct txn_error *err)
{
	char managed_path[256], *target_file = NULL, *planned = NULL;
	struct txn_entry *v = NULL;
	const struct txn_entry *t;
	struct txn_error dummy;
	struct change c;
	size_t n = 0, ti;
	int storefd = -1, r;

	if (!err)
		err = &dummy;
	r = change_begin(p, &c, managed_path, err);
	if (r < 0)
		return r;
	if (!user)
		user = "";
	if (strlen(user) >= sizeof(c.entry.user) || change_has_control(user)) {
		change_say(err->what, sizeof(err->what), "user name too long or with control characters");
		return -EINVAL;
	}

	storefd = store_open(p->store, false);
	if (storefd < 0) {
		r = storefd;
		change_say(err->what, sizeof(err->what), r == -ENOENT ? "no transactions recorded in %s"
			: "cannot open the store %s: %s", p->store, strerror(-r));
		goto out;
	}
	r = change_load_history(storefd, p, &v, &n, err);
	if (r < 0)
		goto out;
	r = rollback_find_target(v, n, id, force, &ti, err->what, sizeof(err->what));
	if (r < 0)
		goto out;
	t = &v[ti];
	snprintf(err->id, sizeof(err->id), "%s", t->id);
	/* Restore to the file we manage now, never to a path from the store. */
	if (strcmp(t->file_path, managed_path) != 0) {
		change_say(err->what, sizeof(err->what), "transaction %s managed %s, not %s", t->id, t->file_path,
		    managed_path);
		r = -EINVAL;
		goto out;
	}

	snprintf(c.entry.action, sizeof(c.entry.action), "rollback");
	snprintf(c.entry.target, sizeof(c.entry.target), "%s", t->id);
	snprintf(c.entry.profile, sizeof(c.entry.profile), "%s", t->profile);
	snprintf(c.entry.user, sizeof(c.entry.user), "%s", user);
	snprintf(c.entry.file_path, sizeof(c.entry.file_path), "%s", managed_path);
	c.uid = uid;
	r = plan_keys(p, t, force, &c.entry, err);
	if (r < 0)
		goto out;
	r = read_target_file(storefd, t, &target_file, &c.new_file_len, err);
	if (r < 0)
		goto out;
	c.new_file = t->file_existed ? target_file : NULL;	/* NULL: it created the file, remove it */
	c.new_file_mode = t->file_mode;
	c.new_file_owner = t;
	r = read_target_planned(storefd, t, &planned, &c.expect_len, &c.check_file, err);
	if (r < 0)
		goto out;
	c.expect_existed = true;
	c.expect_file = planned;
	c.expect_from = t->id;
	c.force = force;
	if (err->note[0])
		change_say(c.entry.error, sizeof(c.entry.error), "%.*s", (int) sizeof(c.entry.error) - 1, err->note);

	r = change_finish(storefd, p, managed_path, &c, false, NULL, ret_id, err);
out:
	manifest_entry_release(&c.entry);
	free(target_file);
	free(planned);
	txn_entries_free(v, n);
	if (storefd >= 0)
		close(storefd);
	change_error_sanitize(err);
	return r;
}

int txn_rollback_plan(const struct txn_paths *p, const char *id, bool force, struct txn_entry *ret,
		      struct txn_error *err)
{
	struct txn_entry *v = NULL, plan;
	size_t n = 0, ti;
	int r;

	memset(&plan, 0, sizeof(plan));
	r = history_target(p, id, force, &v, &n, &ti, err);
	if (r < 0)
		goto out;
	/* The same key plan txn_rollback() records: old = now, new = after. */
	r = plan_keys(p, &v[ti], force, &plan, err);
	if (r < 0)
		goto out;
	*ret = v[ti];
	ret->keys = plan.keys;
	ret->n_keys = plan.n_keys;
	plan.keys = NULL;
out:
	manifest_entry_release(&plan);
	txn_entries_free(v, n);
	return r;
}
