/* Preconditions of apply and rollback; see guard.h. */
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "log.h"

const struct txn_paths guard_paths = {
	.store = TXN_DEFAULT_STORE,
	.sysctl_dir = TXN_DEFAULT_SYSCTL_DIR,
	.managed_name = TXN_MANAGED_NAME,
	.proc_sys = "/proc/sys",
};

/* Can this process write into dir (following the kernel's own rules)? */
static int writable_dir(const char *dir)
{
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0)
		return 0;
	return -errno;
}

int guard_privileges(const char *verb)
{
	int r;

	/* Per-netns sysctls need CAP_NET_ADMIN over the netns (or euid 0,
	 * docs/KERNEL.md §1.5); we ask for the capability, never the uid alone. */
	if (!caps_have(CAP_NET_ADMIN))
		return log_errx(-EPERM, "%s needs CAP_NET_ADMIN, which this process does not have (%s)", verb,
				geteuid() == 0 ? "root, but with capabilities dropped" : "run it as root");
	r = writable_dir(guard_paths.sysctl_dir);
	if (r < 0)
		return log_err(r, "%s needs to write '%s'", verb, guard_paths.sysctl_dir);
	r = writable_dir("/var/lib");
	if (r < 0 && writable_dir(guard_paths.store) < 0)
		return log_err(r, "%s needs to write its backup store '%s'", verb, guard_paths.store);
	return 0;
}

int guard_drop_privileges(const char *verb, bool print_capeff)
{
	/* What the transaction touches after this point: files root owns
	 * (/etc/sysctl.d, the store under /var/lib) and /proc/sys entries.
	 * euid 0 passes the owner's DAC bits of both with no capability at all:
	 * files by the ordinary rules, /proc/sys by test_perm(), which looks at
	 * the euid only (fs/proc/proc_sysctl.c; docs/KERNEL.md §1.5).  CAP_NET_ADMIN
	 * is kept: net_ctl_permissions() (net/sysctl_net.c) gives its holder
	 * the owner's bits on net.* entries, which is how a caller who is not
	 * uid 0 but holds it (guard_privileges accepts that) writes them. */
	static const cap_value_t keep[] = { CAP_NET_ADMIN };
	char hex[32];
	int r = caps_keep_only(keep, 1);

	if (r < 0)
		return log_err(r, "%s: cannot drop the capabilities it does not need", verb);
	if (print_capeff && caps_effective_hex(hex, sizeof(hex)) == 0)
		log_info("CapEff %s", hex);
	return 0;
}

int guard_lock(const char *verb, int *ret_lockfd)
{
	struct txn_error err = { .restored = false };
	pid_t holder = 0;
	int fd, r;

	fd = txn_lock(&guard_paths, &holder);
	if (fd == -EBUSY && holder <= 0)	/* it has the lock, its pid is not written yet */
		return log_errx(fd, "%s: another transaction is running (it is just starting)", verb);
	if (fd == -EBUSY)
		return log_errx(fd, "%s: another transaction is running (pid %d)", verb, (int) holder);
	if (fd == -EPERM)
		return guard_explain_store(fd, verb, guard_paths.store);
	if (fd < 0)
		return log_err(fd, "%s: cannot lock the backup store '%s'", verb, guard_paths.store);
	r = txn_recover(&guard_paths, &err);
	if (r < 0) {
		txn_unlock(fd);
		return log_errx(r, "%s: an unfinished transaction could not be restored: %s; %s", verb, err.what,
				err.restored ? "the machine is as it was before it, the entry still says pending"
					     : "the machine may be partly changed (entry pending); fix the cause and run "
					       "tcptune rollback again, which retries the recovery first (tcptune history lists it)");
	}
	if (r > 0)
		log_info("restored the state before %d unfinished transaction%s first", r, r == 1 ? "" : "s");
	if (err.note[0])
		log_info("recovery: %s", err.note);
	*ret_lockfd = fd;
	return 0;
}

void guard_state_after_failure(const struct txn_error *err, char *buf, size_t len)
{
	if (!err->status[0])
		snprintf(buf, len, "%s", err->restored ? "the machine is as it was (nothing was recorded)"
			 : "the machine may be partly changed and nothing says so in the store: see tcptune history");
	else if (strcmp(err->status, "rolled-back") == 0)
		snprintf(buf, len, "the machine is as it was (entry %s marked rolled-back)", err->id);
	else if (strcmp(err->status, "pending") == 0 && err->restored)
		snprintf(buf, len, "the machine is as it was, but entry %s could not be marked rolled-back and still "
			 "says pending; the next tcptune rollback or apply finishes it (recovery runs first), "
			 "tcptune check reports it until then", err->id);
	else if (strcmp(err->status, "pending") == 0)
		snprintf(buf, len, "the machine may be partly changed: entry %s stays pending; run tcptune rollback, "
			 "which restores the state before it first (see tcptune history)", err->id);
	else
		snprintf(buf, len, "entry %s is %s%s; see tcptune history", err->id, err->status,
			 err->restored ? "" : ", the machine may be partly changed");
}

int guard_explain_store(int r, const char *verb, const char *path)
{
	char why[512];

	if (r == -EPERM && txn_store_refusal(path, why, sizeof(why)) == 0 && why[0])
		return log_errx(r, "%s: refusing the backup store: %s", verb, why);
	return log_err(r, "%s: cannot open the backup store '%s'", verb, path);
}

int guard_confirm(const char *verb, const char *question, bool yes)
{
	char answer[16];

	if (yes)
		return 0;
	if (!isatty(STDIN_FILENO))
		return log_errx(-EPERM, "%s: no terminal to confirm on; pass --yes to %s without asking", verb, verb);
	printf("%s [y/N] ", question);
	fflush(stdout);
	if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y'))
		return log_errx(-ECANCELED, "%s: cancelled, nothing changed", verb);
	return 0;
}
