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
#include <sys/stat.h>
#include <unistd.h>

#include "change.h"
#include "fsutil.h"
#include "history.h"
#include "keys.h"
#include "manifest.h"
#include "store.h"
#include "sysctl_write.h"


int recover_keys(const char *proc_sys, const struct txn_entry_key *keys, size_t n, char *what, size_t what_len,
		 char *skipped, size_t skipped_len)
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
		if (r == -ENOENT) {
			/* As apply's preflight skips it (docs/ARCHITECTURE.md §4). */
			if (skipped)
				change_append(skipped, skipped_len, "%s%s (absent here; when it returns: sysctl -w %s=%s)",
					      skipped[0] ? "; " : "", key_table[k->key].name, key_table[k->key].name,
					      k->old_value);
			continue;
		}
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
		 unsigned mode, char *what, size_t what_len)
{
	mode_t want = mode ? (mode_t) (mode & 07777) : 0644;
	char *now = NULL;
	size_t now_len = 0;
	struct stat st;
	int r;

	r = store_read_at(sysfd, name, STORE_FILE_MAX, &now, &now_len);
	if (existed) {
		bool same = r == 0 && now_len == prior_len && (prior_len == 0 || memcmp(now, prior, prior_len) == 0) &&
			    fstatat(sysfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & 07777) == want;

		free(now);
		if (same)
			return 0;
		r = atomic_write(sysfd, name, prior, prior_len, want);
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

void recover_owner(int sysfd, const char *name, const char *path, const struct txn_entry *e, char *note,
		   size_t note_len)
{
	struct stat st;

	if (!e->file_owner_known || fstatat(sysfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    (st.st_uid == e->file_uid && st.st_gid == e->file_gid))
		return;
	if (fchownat(sysfd, name, e->file_uid, e->file_gid, AT_SYMLINK_NOFOLLOW) == 0)
		return;
	change_append(note, note_len, "%s%s was owned by %u:%u, now %u:%u (%s); finish with: chown %u:%u %s",
		      note[0] ? "; " : "", path, (unsigned) e->file_uid, (unsigned) e->file_gid, (unsigned) st.st_uid,
		      (unsigned) st.st_gid, strerror(errno), (unsigned) e->file_uid, (unsigned) e->file_gid, path);
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

/* Read name in entry e's directory: absent is fine (*ret_buf NULL). */
static int read_entry_file(int storefd, const struct txn_entry *e, const char *name, char **ret_buf, size_t *ret_len)
{
	int fd, r;

	*ret_buf = NULL;
	*ret_len = 0;
	fd = store_entry_open(storefd, e->id);
	if (fd < 0)
		return fd;
	r = store_read_at(fd, name, STORE_FILE_MAX, ret_buf, ret_len);
	close(fd);
	return r == -ENOENT ? 0 : r;
}

/* What changed after the crash is kept before it is overwritten,
 * as rollback keeps a hand edit: the managed file when it is neither the
 * prior file nor what the entry was writing (planned-file; entries without
 * one keep any file that differs from the prior), and keys at neither their
 * old nor their new value.  Written into the entry as hand-file and
 * hand.conf, and said in note.  A copy that cannot be written stops
 * recovery: nothing is overwritten then. */
static int keep_hand_changes(int storefd, int sysfd, const struct txn_paths *p, const struct txn_entry *e,
			     const char *prior, size_t prior_len, char *note, size_t note_len, struct txn_error *err)
{
	char *now = NULL, *planned = NULL, *conf = NULL;
	size_t now_len = 0, planned_len = 0, conf_len = 0;
	bool keep_file = false;
	int fd = -1, r;

	r = store_read_at(sysfd, p->managed_name, STORE_FILE_MAX, &now, &now_len);
	if (r == 0) {
		bool is_prior = e->file_existed && now_len == prior_len && memcmp(now, prior, prior_len) == 0;

		r = read_entry_file(storefd, e, STORE_PLANNED_FILE, &planned, &planned_len);
		if (r < 0)
			goto out;
		keep_file = !is_prior && !(planned && planned_len == now_len && memcmp(planned, now, now_len) == 0);
	} else if (r != -ENOENT) {
		goto out;
	}
	conf = calloc(1, e->n_keys * (64 + 64 + 8) + 1);
	if (!conf) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < e->n_keys; i++) {
		const struct txn_entry_key *k = &e->keys[i];
		char v[64];

		if (!k->had_old || sysctl_read(p->proc_sys, k->key, v, sizeof(v)) < 0 ||
		    sysctl_value_equal(k->key, v, k->old_value) || sysctl_value_equal(k->key, v, k->new_value))
			continue;
		conf_len += (size_t) sprintf(conf + conf_len, "%s = %s\n", key_table[k->key].name, v);
		change_append(note, note_len, "%s%s was %s (neither its old %s nor its new %s)", note[0] ? "; " : "",
			      key_table[k->key].name, v, k->old_value, k->new_value);
	}
	if (!keep_file && !conf_len) {
		r = 0;
		goto out;
	}
	fd = store_entry_open(storefd, e->id);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	if (keep_file && (r = store_write(fd, STORE_HAND_FILE, now, now_len)) < 0)
		goto out;
	if (conf_len && (r = store_write(fd, STORE_HAND_CONF, conf, conf_len)) < 0)
		goto out;
	if (keep_file)
		change_append(note, note_len, "%s%s had changed since the crash; that content is kept in %s/%s/"
			      STORE_HAND_FILE, note[0] ? "; " : "", e->file_path, p->store, e->id);
	if (conf_len)
		change_append(note, note_len, "; those values are kept in %s/%s/" STORE_HAND_CONF
			      " (sysctl -p it to set them again)", p->store, e->id);
	r = 0;
out:
	if (r < 0)
		change_say(err->what, sizeof(err->what), "cannot keep a copy of what changed since entry %s was cut off "
			   "(nothing was overwritten): %s", e->id, strerror(-r));
	if (fd >= 0)
		close(fd);
	free(now);
	free(planned);
	free(conf);
	return r;
}

static int recover_entry(int storefd, int *sysfd, const struct txn_paths *p, const char *managed_path,
			 const struct txn_entry *e, struct txn_error *err)
{
	char *prior = NULL, what_k[256] = "", what_f[256] = "", note[512] = "";
	size_t prior_len = 0;
	int rk, rf, r;

	snprintf(err->id, sizeof(err->id), "%s", e->id);
	snprintf(err->status, sizeof(err->status), ST_PENDING);
	err->restored = false;
	/* The file to restore is the one we manage now, never a path read from
	 * the store; an entry about another file is for another configuration. */
	if (strcmp(e->file_path, managed_path) != 0) {
		change_say(err->what, sizeof(err->what), "pending entry %s manages %s, not %s", e->id, e->file_path,
			 managed_path);
		return -EINVAL;
	}
	if (e->file_existed) {
		r = read_entry_file(storefd, e, STORE_PRIOR_FILE, &prior, &prior_len);
		if (r == 0 && !prior)
			r = -ENOENT;
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
	r = keep_hand_changes(storefd, *sysfd, p, e, prior, prior_len, note, sizeof(note), err);
	if (r < 0) {
		free(prior);
		return r;
	}
	rk = recover_keys(p->proc_sys, e->keys, e->n_keys, what_k, sizeof(what_k), note, sizeof(note));
	rf = recover_file(*sysfd, p->managed_name, managed_path, e->file_existed, prior, prior_len, e->file_mode,
			  what_f, sizeof(what_f));
	free(prior);
	if (rf == 0 && e->file_existed)
		recover_owner(*sysfd, p->managed_name, managed_path, e, note, sizeof(note));
	if (rk < 0 || rf < 0) {
		change_say(err->what, sizeof(err->what), "%s", rk < 0 ? what_k : what_f);
		return rk < 0 ? rk : rf;
	}
	err->restored = true;
	r = reinstate_target(storefd, e, err);
	if (r < 0)
		return r;
	for (char *s = note; *s; s++)
		if ((unsigned char) *s < 0x20 || (unsigned char) *s > 0x7e)
			*s = '?';	/* the manifest is JSON: UTF-8 only */
	r = store_set_status(storefd, e->id, ST_RECOVERED, note[0] ? note : NULL);
	if (r == -EINVAL && note[0]) {
		note[sizeof(e->error) - 1] = '\0';	/* the entry keeps what fits */
		r = store_set_status(storefd, e->id, ST_RECOVERED, note);
	}
	if (r < 0) {
		change_say(err->what, sizeof(err->what), "cannot mark entry %s recovered: %s", e->id, strerror(-r));
		return r;
	}
	snprintf(err->status, sizeof(err->status), ST_RECOVERED);
	if (note[0])
		change_append(err->note, sizeof(err->note), "%sentry %s: %s", err->note[0] ? "; " : "", e->id, note);
	return 0;
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
		if (strcmp(v[i].status, ST_CORRUPT) == 0) {
			/* Only a manifest that is there and cannot be decoded is
			 * corrupt; one that cannot be read (EIO) may be a pending
			 * entry: never skip it in silence. */
			struct txn_entry e;
			char why[256];
			uid_t uid;

			r = store_load(storefd, v[i].id, &e, &uid, why, sizeof(why));
			if (r == 0) {
				manifest_entry_release(&v[i]);
				v[i] = e;
			} else if (r != -EBADMSG) {
				snprintf(err->id, sizeof(err->id), "%s", v[i].id);
				change_say(err->what, sizeof(err->what), "cannot read entry %s (%s); it may be a transaction "
					   "cut off by a crash, so nothing more is done until it can be read", v[i].id, why);
				goto out;
			}
		}
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
	{
		char note[sizeof(err->note)];

		memcpy(note, err->note, sizeof(note));
		memset(err, 0, sizeof(*err));
		memcpy(err->note, note, sizeof(note));
	}
	r = count;
out:
	txn_entries_free(v, n);
	if (sysfd >= 0)
		close(sysfd);
	close(storefd);
	change_error_sanitize(err);
	return r;
}
