/* The apply transaction (docs/ARCHITECTURE.md §4), and rollback, recovery and history over
 * the backup store.  Prints nothing: every function returns 0 or a negative
 * errno and fills a struct txn_error saying what failed and whether the
 * machine is as it was.  Uses nothing from advisor/ but keys.h.
 *
 * Store layout (default /var/lib/tcptune):
 *   lock                      flock()ed by the running transaction; holds its pid
 *   NNNN/manifest.json        {"schema":1,"id","action":"apply|rollback","profile",
 *                              "target" (rollback: the entry it undoes),"user","uid",
 *                              "time" (RFC 3339 UTC),"status","keys":[{"key","old"
 *                              (null: absent),"new"}],"file":{"path","existed",
 *                              "mode", "uid", "gid" (of the prior file; optional)},
 *                              "error" (why it was rolled back, or what it could
 *                              not restore and how to finish)}
 *   NNNN/prior.conf           prior runtime values, sysctl.conf syntax (sysctl -p restores)
 *   NNNN/prior-file           prior content of the managed file (absent if it was absent)
 *   NNNN/planned.conf         the values this transaction sets
 *   NNNN/planned-file         the managed file it writes (absent: it removes the file;
 *                             entries made before this file existed lack it)
 *   NNNN/effect.json          apply --watch: the figures before and after, the verdict
 *   NNNN/hand-file, hand.conf what recovery found changed by hand after a crash (the
 *                             managed file; keys at neither their old nor new value)
 *                             before it put the entry's prior state back
 * Status: pending (running, or cut off by a crash), applied, unchanged
 * (nothing to do), rolled-back (failed and restored), recovered (a pending
 * entry restored by recovery), undone (applied, later reversed by a rollback
 * entry); history and txn_store_state() show the newest entry as "running"
 * while a transaction holds the lock.  Pruning keeps the store at TXN_KEEP entries where it can, but
 * never removes a pending entry, an applied apply entry (each is the way back
 * to the state before it, the oldest to the state before tcptune), nor the
 * newest entry; "unchanged" entries go first. */
#ifndef TCPTUNE_BACKUP_TXN_H
#define TCPTUNE_BACKUP_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TXN_KEEP 50
/* The live system's paths; the _REL forms name them under an audited root. */
#define TXN_DEFAULT_STORE_REL "var/lib/tcptune"
#define TXN_DEFAULT_STORE "/" TXN_DEFAULT_STORE_REL
#define TXN_DEFAULT_SYSCTL_DIR_REL "etc/sysctl.d"
#define TXN_DEFAULT_SYSCTL_DIR "/" TXN_DEFAULT_SYSCTL_DIR_REL
#define TXN_MANAGED_NAME "99-tcptune.conf"
#define TXN_DEFAULT_MANAGED_FILE_REL TXN_DEFAULT_SYSCTL_DIR_REL "/" TXN_MANAGED_NAME
#define TXN_DEFAULT_MANAGED_FILE "/" TXN_DEFAULT_MANAGED_FILE_REL

/* Where a transaction works.  Paths are absolute; tests point them at a
 * tmpfs.  proc_sys is normally "/proc/sys". */
struct txn_paths {
	const char *store;
	const char *sysctl_dir;		/* the managed file lives here */
	const char *managed_name;
	const char *proc_sys;
};

/* One key to set.  Values are in the kernel's text form: "30", "1024 65535". */
struct txn_key {
	size_t key;			/* index into key_table; must be writable */
	char new_value[64];
};

struct txn_request {
	const char *action;		/* "apply" */
	const char *profile;		/* recorded in the manifest */
	const struct txn_key *keys;
	size_t n_keys;
	const char *file_content;	/* the managed file's new content (NUL-terminated);
					 * NULL: remove the file (apply default) */
	const char *user;		/* login name for history */
	uid_t uid;
};

struct txn_error {
	char what[256];			/* "cannot write /proc/sys/net/ipv4/tcp_fin_timeout: Invalid argument" */
	bool restored;			/* the machine is as it was before */
	char id[16];			/* the entry concerned, if any */
	char status[16];		/* that entry's status as recorded ("rolled-back", "pending"); "" none */
	char note[512];			/* also on success: what was skipped or kept, and how to finish */
};

struct txn_entry_key {
	size_t key;
	bool had_old;
	char old_value[64];
	char new_value[64];
};

struct txn_entry {
	char id[16];
	char action[16];
	char profile[64];
	char target[16];
	char user[64];
	char time[32];
	char status[16];
	char error[256];
	struct txn_entry_key *keys;
	size_t n_keys;
	char file_path[256];
	bool file_existed;
	unsigned file_mode;		/* the prior file's permission bits; 0: not recorded (0644) */
	bool file_owner_known;		/* file_uid and file_gid recorded */
	uid_t file_uid;			/* the prior file's owner */
	gid_t file_gid;
};

/* Take the store lock (creating the store, 0700, if needed).  -EBUSY when
 * another process holds it, with *ret_pid set to its pid (0 if unknown).
 * Returns an fd to keep open for the duration, or a negative errno. */
int txn_lock(const struct txn_paths *p, pid_t *ret_pid);
void txn_unlock(int lockfd);

/* Restore every pending entry (a crash mid-apply or mid-rollback): prior
 * runtime values and the prior managed file, then status "recovered".  A key
 * this kernel lacks is skipped; what was changed by hand after the crash is
 * kept in the entry (hand-file, hand.conf) before it is overwritten; both
 * are said in err->note and the entry's error.  An entry whose manifest
 * cannot be read (I/O error) fails recovery, naming it.
 * Call with the lock held.  Returns the number recovered or a negative errno. */
int txn_recover(const struct txn_paths *p, struct txn_error *err);

/* The transaction: record (fsynced) -> managed file (atomic) -> runtime
 * writes read back -> commit.  On failure in the last two, everything
 * written is restored and the entry marked rolled-back.  When nothing would
 * change (runtime and file already as requested) an "unchanged" entry is
 * recorded and 0 returned with *ret_changed false.  Call with the lock held.
 * ret_id receives the entry id. */
int txn_apply(const struct txn_paths *p, const struct txn_request *req, bool *ret_changed, char ret_id[16],
	      struct txn_error *err);

/* The entry txn_rollback() would undo for the same id and force, copied to
 * *ret without its keys (ret->n_keys says how many it has), so that the
 * caller can show it before asking; the choice itself is
 * rollback_find_target()'s.  -ENOENT (nothing to undo, or no store),
 * -EINVAL, -EBADMSG, -EEXIST as txn_rollback(), err->what saying why. */
int txn_rollback_target(const struct txn_paths *p, const char *id, bool force, struct txn_entry *ret,
			struct txn_error *err);

/* What txn_rollback() would do for the same id and force, before asking:
 * the target entry copied to *ret with its keys replaced by the rollback's
 * own (old_value: the value now, new_value: the value after; keys it will
 * not touch left out, the skipped ones named in err->note), file_existed
 * saying whether the managed file exists after (the target's prior file)
 * or is removed.  The same refusals as txn_rollback(), err->what saying why.
 * The caller frees ret->keys with free(). */
int txn_rollback_plan(const struct txn_paths *p, const char *id, bool force, struct txn_entry *ret,
		      struct txn_error *err);

/* Undo entry id (NULL: the newest "applied" apply entry) as a transaction of
 * its own: runtime values and managed file back to what they were before it.
 * -EEXIST when a newer apply entry is still applied (even with force: the
 * managed file would then hold an undone profile; err->what gives the
 * rollbacks to run first, newest first), or when a key or the managed file
 * was changed outside tcptune since and force is false; err->what names it.
 * A key this kernel lacks now is skipped: err->note and the new entry's error
 * name it and the `sysctl -w` that finishes when it returns. */
int txn_rollback(const struct txn_paths *p, const char *id, bool force, const char *user, uid_t uid,
		 char ret_id[16], struct txn_error *err);

/* What the store open at storefd holds unfinished, as recovery sees it (the
 * same listing and manifest reader): the number of pending entries, the
 * oldest one's id, and how many entries are corrupt.  For `check`, which
 * opens the store under the audited root itself. */
struct txn_store_state {
	size_t n_pending;
	char oldest_pending[16];	/* "" when none */
	/* The newest entry that changed (or may have changed) sysctls: every
	 * status but unchanged and corrupt.  id "" when none. */
	char newest_id[16], newest_action[16], newest_profile[64], newest_time[32];
	size_t n_corrupt;
	char first_corrupt[16];
	char first_corrupt_why[256];
};
int txn_store_state(int storefd, struct txn_store_state *ret);

/* Why the store (or data) directory at path is refused: its owner or mode,
 * and the command that fixes it, into why.  0 when it is not refused for
 * that, -errno when it cannot be examined. */
int txn_store_refusal(const char *path, char *why, size_t why_len);

/* apply --watch's measured effect of entry id (JSON text the caller made
 * and validates when it reads it back), in NNNN/effect.json: written
 * atomically (0600, fsynced) with the lock held; read back (-ENOENT when the
 * entry has none) into *ret_text, malloc'd and NUL-terminated, at most
 * TXN_EFFECT_MAX bytes (-EFBIG). */
#define TXN_EFFECT_FILE "effect.json"
#define TXN_EFFECT_MAX (64 * 1024)
int txn_effect_save(const struct txn_paths *p, const char *id, const char *text);
int txn_effect_load(const struct txn_paths *p, const char *id, char **ret_text);

/* Entries, oldest first.  Caller frees with txn_entries_free(). */
int txn_history(const struct txn_paths *p, struct txn_entry **ret, size_t *ret_n);
void txn_entries_free(struct txn_entry *v, size_t n);

#endif
