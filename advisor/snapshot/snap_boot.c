/* Boot configuration facts: runs the sysctl.d resolver and compares what boot
 * would set with the runtime values. */
#include "snap_readers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "txn.h"

/* Does boot (order o) set key i to something other than its runtime value? */
static bool differs(const struct snapshot *s, size_t i, enum sysctld_order o)
{
	const struct sysctld_key *b = &s->boot.keys[i];

	/* The value the kernel will hold (a refused line leaves the key as it
	 * was, docs/KERNEL.md §1.1), not the text of the line: "25   # shorter"
	 * sets 25. */
	if (!b->winner[o] || !s->sysctl[i].present)
		return false;
	return b->value[o][0] != s->sysctl[i].v[0] ||
	       (key_table[i].type == KEY_INT_PAIR && b->value[o][1] != s->sysctl[i].v[1]);
}

/* Do both programs leave key i with the same value? */
static bool same_boot_value(const struct snapshot *s, size_t i)
{
	const struct sysctld_key *b = &s->boot.keys[i];

	if (!b->winner[ORDER_SYSTEMD] || !b->winner[ORDER_PROCPS])
		return !b->winner[ORDER_SYSTEMD] && !b->winner[ORDER_PROCPS];
	return memcmp(b->value[ORDER_SYSTEMD], b->value[ORDER_PROCPS], sizeof(b->value[0])) == 0;
}

/* Append "key now -> boot (file:line)" for drifting key i to list. */
static void drift_add(const struct snapshot *s, size_t i, char *list, size_t len)
{
	const struct sysctld_assign *w = s->boot.keys[i].winner[ORDER_SYSTEMD];
	size_t used = strlen(list);
	char boot[64];

	if (used + 1 >= len || key_format_value(&key_table[i], s->boot.keys[i].value[ORDER_SYSTEMD], boot,
						sizeof(boot)) < 0)
		return;
	snprintf(list + used, len - used, "%s%s %s -> %s (%s:%u)", used ? ", " : "", key_table[i].name,
		 s->sysctl[i].raw, boot, w->file, w->line);
}

int snap_boot_read(struct snapshot *s)
{
	int64_t drift = 0, conflicts = 0, overridden = 0, stale = 0;
	char drift_keys[1024] = "";
	int r;

	r = sysctld_load(&s->boot, s->rootfd, s->kernel_version, s->kernel_hz);
	if (r < 0)
		return r;
	s->boot_ok = true;
	for (size_t i = 0; i < key_count; i++) {
		if (differs(s, i, ORDER_SYSTEMD)) {
			drift++;
			drift_add(s, i, drift_keys, sizeof(drift_keys));
		}
		if (!same_boot_value(s, i))
			conflicts++;
		if (sysctld_file_loses(&s->boot, i, TXN_DEFAULT_MANAGED_FILE))
			overridden++;
	}
	snap_set_int(s, F_SYSCTLD_MANAGED_OVERRIDDEN, overridden);
	/* An absent interface's key is not stale: it applies when the
	 * interface appears (docs/KERNEL.md §10.1). */
	for (size_t i = 0; i < s->boot.n_stale; i++)
		stale += s->boot.stale[i].reason != STALE_INTERFACE;
	snap_set_int(s, F_SYSCTLD_STALE, stale);
	snap_set_int(s, F_SYSCTLD_REJECTED, (int64_t) s->boot.n_rejected);
	if (s->boot.n_rejected > 0) {
		const struct sysctld_rejected *rj = &s->boot.rejected[0];
		char first[512];

		snprintf(first, sizeof(first), "%s:%u: %s = %s (%s)", rj->file, rj->line,
			 key_table[rj->key].name, rj->value, rj->why);
		snap_set_str(s, F_SYSCTLD_REJECTED_FIRST, first);
	} else {
		snap_set_str(s, F_SYSCTLD_REJECTED_FIRST, "");
	}
	snap_set_int(s, F_SYSCTLD_DRIFT, drift);
	if (drift && snap_set_str(s, F_SYSCTLD_DRIFT_KEYS, drift_keys) < 0)
		return -ENOMEM;
	snap_set_int(s, F_SYSCTLD_ORDER_CONFLICTS, conflicts);
	snap_set_int(s, F_SYSCTLD_REAPPLIERS, (int64_t) s->boot.n_reappliers);
	for (size_t i = 0; i < s->boot.n_warnings; i++)
		snap_note(s, "boot", "%s:%u: %s", s->boot.warnings[i].file, s->boot.warnings[i].line,
			  s->boot.warnings[i].text);
	return 0;
}
