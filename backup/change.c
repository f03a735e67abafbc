/* The transaction engine (see change.h): record, persist, runtime, commit,
 * and the failure path that puts everything back.  Order matters and is the
 * point of this file: the backups and the "pending" manifest are durable
 * before the first byte of the managed file or of /proc/sys changes, so a
 * crash anywhere leaves either nothing changed or a pending entry that
 * txn_recover() can undo. */
#include "change.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "history.h"
#include "keys.h"
#include "manifest.h"
#include "recover.h"
#include "store.h"
#include "sysctl_write.h"


/* Append to err->what as far as it fits. */
/* Messages are cut to fit, never an error of their own. */
void change_say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

void change_append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3)))
static void say_more(struct txn_error *err, const char *fmt, ...)
{
	size_t used = strlen(err->what);
	va_list ap;

	if (used + 1 >= sizeof(err->what))
		return;
	va_start(ap, fmt);
	vsnprintf(err->what + used, sizeof(err->what) - used, fmt, ap);
	va_end(ap);
}

bool change_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

void change_error_sanitize(struct txn_error *err)
{
	for (char *s = err->what; *s; s++)
		if ((unsigned char) *s < 0x20 || (unsigned char) *s > 0x7e)
			*s = '?';
}

int change_check_paths(const struct txn_paths *p, char managed_path[256], struct txn_error *err)
{
	const char *name;
	int n;

	if (!p || !p->store || !p->sysctl_dir || !p->managed_name || !p->proc_sys) {
		change_say(err->what, sizeof(err->what), "incomplete paths for the transaction");
		return -EINVAL;
	}
	name = p->managed_name;
	if (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		change_say(err->what, sizeof(err->what), "'%s' is not a file name", name);
		return -EINVAL;
	}
	n = snprintf(managed_path, 256, "%s/%s", p->sysctl_dir, name);
	if (n < 0 || n >= 256) {
		change_say(err->what, sizeof(err->what), "the managed file's path is too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

int change_begin(const struct txn_paths *p, struct change *c, char managed_path[256], struct txn_error *err)
{
	memset(err, 0, sizeof(*err));
	err->restored = true;	/* until something changes */
	memset(c, 0, sizeof(*c));
	return change_check_paths(p, managed_path, err);
}

int change_canonical_value(size_t key, const char *in, char out[64])
{
	long long v[2];

	if (key >= key_count || key_parse_value(&key_table[key], in, v) < 0)
		return -EINVAL;
	if (key_table[key].type == KEY_PORT_LIST)
		return key_format_value(&key_table[key], v, out, 64) < 0 ? -EINVAL : 0;
	if (key_table[key].type == KEY_INT_PAIR)
		snprintf(out, 64, "%lld %lld", v[0], v[1]);
	else
		snprintf(out, 64, "%lld", v[0]);
	return 0;
}

int change_read_managed(int sysfd, const struct txn_paths *p, const char *path, char **ret_buf, size_t *ret_len,
			bool *ret_existed, struct txn_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = store_read_at(sysfd, p->managed_name, STORE_FILE_MAX, &buf, &len);
	if (r == -ENOENT) {
		*ret_buf = NULL;
		*ret_len = 0;
		*ret_existed = false;
		return 0;
	}
	if (r == -ELOOP)
		change_say(err->what, sizeof(err->what), "%s is a symlink; tcptune never follows one there", path);
	else if (r == -EISDIR || r == -EINVAL)
		change_say(err->what, sizeof(err->what), "%s is not a regular file", path);
	else if (r == -EFBIG)
		change_say(err->what, sizeof(err->what), "%s is larger than %d bytes", path, STORE_FILE_MAX);
	else if (r < 0)
		change_say(err->what, sizeof(err->what), "cannot read %s: %s", path, strerror(-r));
	if (r < 0)
		return r;
	*ret_buf = buf;
	*ret_len = len;
	*ret_existed = true;
	return 0;
}

/* ---- record --------------------------------------------------------------- */

static void now_rfc3339(char buf[32])
{
	struct tm tm;
	time_t t = time(NULL);

	if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "1970-01-01T00:00:00Z");
}

/* prior.conf or planned.conf: sysctl.conf syntax, so `sysctl -p FILE`
 * restores by hand.  Only table names and canonical numbers go in: the
 * profile and user names stay in the manifest, where no parser executes them. */
static char *render_conf(const struct txn_entry *e, bool prior)
{
	/* Room for the header and, per key, the longest name and value. */
	size_t cap = 256 + e->n_keys * (64 + 64 + 16), used = 0;
	char *buf = malloc(cap);
	int n;

	if (!buf)
		return NULL;
	n = snprintf(buf, cap,
		     prior ? "# tcptune %s (%s, %s): runtime values before it.\n"
			     "# Restore by hand with: sysctl -p " STORE_PRIOR_CONF "\n"
		           : "# tcptune %s (%s, %s): the values it sets.\n",
		     e->id, e->action, e->time);
	for (size_t i = 0; i < e->n_keys && n >= 0 && (size_t) n < cap - used; i++) {
		const struct txn_entry_key *k = &e->keys[i];
		const char *name = key_table[k->key].name;

		used += (size_t) n;
		if (prior && !k->had_old)
			n = snprintf(buf + used, cap - used, "# %s did not exist\n", name);
		else
			n = snprintf(buf + used, cap - used, "%s = %s\n", name, prior ? k->old_value : k->new_value);
	}
	if (n < 0 || (size_t) n >= cap - used) {
		free(buf);	/* cannot happen with the room above */
		return NULL;
	}
	return buf;
}

static int write_entry_files(int entryfd, struct change *c, const char **ret_failed)
{
	char *prior = NULL, *planned = NULL, *manifest = NULL;
	int r;

	*ret_failed = "its files";
	prior = render_conf(&c->entry, true);
	planned = render_conf(&c->entry, false);
	if (!prior || !planned) {
		r = -ENOMEM;
		goto out;
	}
	r = manifest_encode(&c->entry, c->uid, &manifest);
	if (r < 0)
		goto out;
	/* The manifest last: a manifest that exists always has its backups. */
	*ret_failed = STORE_PRIOR_CONF;
	r = store_write(entryfd, STORE_PRIOR_CONF, prior, strlen(prior));
	if (r < 0)
		goto out;
	*ret_failed = STORE_PRIOR_FILE;
	if (c->entry.file_existed) {
		r = store_write(entryfd, STORE_PRIOR_FILE, c->prior_file, c->prior_file_len);
		if (r < 0)
			goto out;
	}
	*ret_failed = STORE_PLANNED_CONF;
	r = store_write(entryfd, STORE_PLANNED_CONF, planned, strlen(planned));
	if (r < 0)
		goto out;
	/* What the managed file will hold: recovery tells a hand edit after a
	 * crash from our own write by it, rollback a hand edit since. */
	*ret_failed = STORE_PLANNED_FILE;
	if (c->new_file) {
		r = store_write(entryfd, STORE_PLANNED_FILE, c->new_file, c->new_file_len);
		if (r < 0)
			goto out;
	}
	*ret_failed = STORE_MANIFEST;
	r = store_write(entryfd, STORE_MANIFEST, manifest, strlen(manifest));
	if (r < 0)
		goto out;
	/* atomic_write() fsyncs each file and the entry directory after each
	 * rename; once more for the directory, then the store that holds it. */
	*ret_failed = "the entry directory";
	if (fsync(entryfd) < 0)
		r = -errno;
out:
	free(prior);
	free(planned);
	free(manifest);
	return r;
}

int change_record(int storefd, struct change *c, const char *status, struct txn_error *err)
{
	const char *failed;
	char id[16];
	int entryfd, r, rm;

	entryfd = store_entry_create(storefd, id);
	if (entryfd < 0) {
		change_say(err->what, sizeof(err->what), "cannot create an entry in the store: %s", strerror(-entryfd));
		err->restored = true;
		return entryfd;
	}
	snprintf(c->entry.id, sizeof(c->entry.id), "%s", id);
	snprintf(c->entry.status, sizeof(c->entry.status), "%s", status);
	now_rfc3339(c->entry.time);
	/* entry.error stays: a rollback records there what it cannot restore. */

	r = write_entry_files(entryfd, c, &failed);
	close(entryfd);
	if (r == 0 && fsync(storefd) < 0) {
		r = -errno;
		failed = "the store directory";
	}
	if (r == 0) {
		snprintf(err->id, sizeof(err->id), "%s", id);
		snprintf(err->status, sizeof(err->status), "%s", status);
		return 0;
	}

	/* Nothing has changed yet: take the half-made entry away again, so no
	 * pending entry is left for recovery to trip over. */
	change_say(err->what, sizeof(err->what), "cannot record transaction %s (%s): %s", id, failed, strerror(-r));
	err->restored = true;
	rm = store_entry_remove(storefd, id);
	if (rm < 0) {
		say_more(err, " (its directory is left behind: %s)", strerror(-rm));
		snprintf(err->id, sizeof(err->id), "%s", id);
	}
	return r;
}

/* ---- persist, runtime, commit ------------------------------------------- */

/* Do two files (existence and bytes) have the same content? */
static bool same_file(bool a_exists, const char *a, size_t a_len, bool b_exists, const char *b, size_t b_len)
{
	if (!a_exists || !b_exists)
		return a_exists == b_exists;
	return a_len == b_len && memcmp(a, b, a_len) == 0;
}

static int persist(int sysfd, const struct txn_paths *p, const struct change *c)
{
	const char *name = p->managed_name;

	if (!c->new_file) {
		if (!c->entry.file_existed)
			return 0;
		if (unlinkat(sysfd, name, 0) < 0 && errno != ENOENT)
			return -errno;
		return fsync(sysfd) < 0 ? -errno : 0;
	}
	if (same_file(c->entry.file_existed, c->prior_file, c->prior_file_len, true, c->new_file, c->new_file_len))
		return 0;
	return atomic_write(sysfd, name, c->new_file, c->new_file_len,
			    c->new_file_mode ? (mode_t) (c->new_file_mode & 07777) : 0644);
}

/* Write each key that differs; *ret_done counts the keys reached, the
 * failing one included (the kernel may have changed it before refusing). */
static int runtime(const struct txn_paths *p, const struct change *c, size_t *ret_done, struct txn_error *err)
{
	for (size_t i = 0; i < c->entry.n_keys; i++) {
		const struct txn_entry_key *k = &c->entry.keys[i];
		char back[64] = "", rel[128];
		int r;

		if (k->had_old && sysctl_value_equal(k->key, k->old_value, k->new_value))
			continue;
		*ret_done = i + 1;
		r = sysctl_write(p->proc_sys, k->key, k->new_value, back, sizeof(back));
		if (r == -ERANGE) {
			change_say(err->what, sizeof(err->what), "cannot set %s to %s: the kernel reads back %s", key_table[k->key].name, k->new_value,
			    back);
		} else if (r < 0) {
			if (key_proc_path(&key_table[k->key], rel, sizeof(rel)) < 0)
				snprintf(rel, sizeof(rel), "%s", key_table[k->key].name);
			change_say(err->what, sizeof(err->what), "cannot write %s/%s: %s", p->proc_sys, rel, strerror(-r));
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int commit(int storefd, struct change *c, bool *ret_target_marked, struct txn_error *err)
{
	int r;

	/* Target first: if we die between the two writes, the rollback entry
	 * is still pending and its recovery sets the target "applied" again. */
	if (c->entry.target[0]) {
		*ret_target_marked = true;
		r = store_set_status(storefd, c->entry.target, ST_UNDONE, NULL);
		if (r < 0) {
			change_say(err->what, sizeof(err->what), "cannot mark entry %s undone: %s", c->entry.target, strerror(-r));
			return r;
		}
	}
	snprintf(c->entry.status, sizeof(c->entry.status), ST_APPLIED);
	r = store_save(storefd, &c->entry, c->uid);
	if (r < 0)
		change_say(err->what, sizeof(err->what), "cannot mark entry %s applied: %s", c->entry.id, strerror(-r));
	else
		snprintf(err->status, sizeof(err->status), ST_APPLIED);
	return r;
}

/* Put back what the keys reached so far and the file; then the records. */
static void undo(int storefd, int sysfd, const struct txn_paths *p, const char *managed_path, struct change *c,
		 size_t keys_done, bool target_marked, struct txn_error *err)
{
	char what_k[256] = "", what_f[256] = "";
	int rk, rf, r;

	rk = recover_keys(p->proc_sys, c->entry.keys, keys_done, what_k, sizeof(what_k), err->note,
			  sizeof(err->note));
	rf = recover_file(sysfd, p->managed_name, managed_path, c->entry.file_existed, c->prior_file,
			  c->prior_file_len, c->entry.file_mode, what_f, sizeof(what_f));
	if (rf == 0 && c->entry.file_existed)
		recover_owner(sysfd, p->managed_name, managed_path, &c->entry, err->note, sizeof(err->note));
	err->restored = rk == 0 && rf == 0;
	/* The first restore failure only: the message must still have room
	 * to say where the entry stands. */
	if (!err->restored)
		say_more(err, "; %s", rk < 0 ? what_k : what_f);

	if (target_marked && store_set_status(storefd, c->entry.target, ST_APPLIED, NULL) < 0)
		say_more(err, "; entry %s may still say undone", c->entry.target);

	/* Restored: the entry is finished.  Not restored: it stays pending, so
	 * recovery (the next apply, rollback or check) tries again. */
	snprintf(c->entry.status, sizeof(c->entry.status), "%s", err->restored ? ST_ROLLED_BACK : ST_PENDING);
	snprintf(c->entry.error, sizeof(c->entry.error), "%s", err->what);
	for (char *s = c->entry.error; *s; s++)
		if ((unsigned char) *s < 0x20 || (unsigned char) *s > 0x7e)
			*s = '?';	/* the manifest is JSON: UTF-8 only */
	r = store_save(storefd, &c->entry, c->uid);
	/* What the store really says now: the manifest on disk is still the
	 * "pending" one when this save failed. */
	snprintf(err->status, sizeof(err->status), "%s", r < 0 ? ST_PENDING : c->entry.status);
	if (r < 0)
		say_more(err, " (entry %s left pending: %s)", c->entry.id, strerror(-r));
	else if (!err->restored)
		say_more(err, " (entry %s stays pending for recovery)", c->entry.id);
}

int change_run(int storefd, int sysfd, const struct txn_paths *p, struct change *c, struct txn_error *err)
{
	char managed_path[256];
	bool target_marked = false;
	size_t keys_done = 0;
	int r;

	r = change_check_paths(p, managed_path, err);
	if (r < 0)
		return r;
	r = change_record(storefd, c, ST_PENDING, err);
	if (r < 0)
		return r;

	r = persist(sysfd, p, c);
	if (r < 0) {
		change_say(err->what, sizeof(err->what), "cannot write %s: %s", managed_path, strerror(-r));
		goto fail;
	}
	if (c->new_file && c->new_file_owner)
		recover_owner(sysfd, p->managed_name, managed_path, c->new_file_owner, err->note, sizeof(err->note));
	r = runtime(p, c, &keys_done, err);
	if (r < 0)
		goto fail;
	r = commit(storefd, c, &target_marked, err);
	if (r < 0)
		goto fail;
	return 0;
fail:
	undo(storefd, sysfd, p, managed_path, c, keys_done, target_marked, err);
	return r;
}

/* ---- finish a planned change ------------------------------------------ */

/* new_file NULL removes the file: nothing to do when it is absent already. */
static bool nothing_to_do(const struct change *c)
{
	for (size_t i = 0; i < c->entry.n_keys; i++)
		if (!sysctl_value_equal(c->entry.keys[i].key, c->entry.keys[i].old_value, c->entry.keys[i].new_value))
			return false;
	return same_file(c->entry.file_existed, c->prior_file, c->prior_file_len, c->new_file != NULL, c->new_file,
			 c->new_file_len);
}

int change_finish(int storefd, const struct txn_paths *p, const char *managed_path, struct change *c,
		  bool skip_unchanged, bool *ret_changed, char ret_id[16], struct txn_error *err)
{
	char *prior = NULL;
	bool changed = false, hand_edit = false;
	int sysfd, r;

	sysfd = open_dir_nofollow(p->sysctl_dir);
	if (sysfd < 0) {
		change_say(err->what, sizeof(err->what), "cannot open %s: %s", p->sysctl_dir, strerror(-sysfd));
		return sysfd;
	}
	r = change_read_managed(sysfd, p, managed_path, &prior, &c->prior_file_len, &c->entry.file_existed, err);
	if (r < 0)
		goto out;
	c->prior_file = prior;
	c->entry.file_mode = 0;
	if (c->entry.file_existed) {
		struct stat st;

		if (fstatat(sysfd, p->managed_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			c->entry.file_mode = (unsigned) (st.st_mode & 07777);
			c->entry.file_owner_known = true;
			c->entry.file_uid = st.st_uid;
			c->entry.file_gid = st.st_gid;
		}
	}
	if (c->check_file && !same_file(c->entry.file_existed, prior, c->prior_file_len, c->expect_existed,
					c->expect_file, c->expect_len)) {
		if (!c->force) {
			change_say(err->what, sizeof(err->what),
				   "%s was changed by hand since entry %s wrote it; use --force to roll back anyway "
				   "(its content is then kept in the store, in the rollback entry's " STORE_PRIOR_FILE ")",
				   managed_path, c->expect_from);
			r = -EEXIST;
			goto out;
		}
		hand_edit = true;
	}

	if (skip_unchanged && nothing_to_do(c)) {
		r = change_record(storefd, c, ST_UNCHANGED, err);
	} else {
		changed = true;
		r = change_run(storefd, sysfd, p, c, err);
	}
	if (r < 0)
		goto out;
	/* Committed: a failure to prune is no failure of the transaction. */
	(void) history_prune(storefd, TXN_KEEP);
	if (ret_changed)
		*ret_changed = changed;
	memcpy(ret_id, c->entry.id, sizeof(c->entry.id));
	if (hand_edit)
		change_append(err->note, sizeof(err->note), "%s%s had been changed by hand; that content is kept in %s/%s/"
			      STORE_PRIOR_FILE, err->note[0] ? "; " : "", managed_path, p->store, c->entry.id);
out:
	c->prior_file = NULL;
	free(prior);
	close(sysfd);
	return r;
}

int change_load_history(int storefd, const struct txn_paths *p, struct txn_entry **ret_v, size_t *ret_n,
			struct txn_error *err)
{
	struct txn_entry *v = NULL;
	size_t n = 0;
	long pending;
	int r;

	r = history_load(storefd, &v, &n);
	if (r < 0) {
		change_say(err->what, sizeof(err->what), "cannot list the store %s: %s", p->store, strerror(-r));
		return r;
	}
	/* A pending entry means the machine may be half-changed: recording
	 * "prior" values now would back up the wrong state. */
	pending = history_first_pending(v, n);
	if (pending >= 0) {
		change_say(err->what, sizeof(err->what),
			   "transaction %s is still pending (cut off before it finished, and recovery has not "
			   "restored it: the machine may be partly changed; see tcptune history)", v[pending].id);
		snprintf(err->id, sizeof(err->id), "%s", v[pending].id);
		txn_entries_free(v, n);
		return -EINPROGRESS;
	}
	*ret_v = v;
	*ret_n = n;
	return 0;
}
