/* Boot configuration facts: runs the sysctl.d resolver and compares what boot
 * would set with the runtime values. */
#include "snap_readers.h"

#include <errno.h>
#include <string.h>

#include "keys.h"
#include "txn.h"

/* Does boot (order o) set key i to something other than its runtime value? */
static bool differs(const struct snapshot *s, size_t i, enum sysctld_order o)
{
	const struct sysctld_assign *w = s->boot.keys[i].winner[o];
	long long v[2];

	if (!w || !s->sysctl[i].present)
		return false;
	if (key_parse_value(&key_table[i], w->value, v) < 0)
		return true;	/* boot will fail to set it: runtime keeps drifting */
	return v[0] != s->sysctl[i].v[0] || (key_table[i].type == KEY_INT_PAIR && v[1] != s->sysctl[i].v[1]);
}

static bool same_assign_value(const struct sysctld_assign *a, const struct sysctld_assign *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a->value, b->value) == 0;
}

int snap_boot_read(struct snapshot *s)
{
	int64_t drift = 0, conflicts = 0, overridden = 0;
	int r;

	r = sysctld_load(&s->boot, s->rootfd, s->kernel_version);
	if (r < 0)
		return r;
	s->boot_ok = true;
	for (size_t i = 0; i < key_count; i++) {
		if (differs(s, i, ORDER_SYSTEMD))
			drift++;
		if (!same_assign_value(s->boot.keys[i].winner[ORDER_SYSTEMD], s->boot.keys[i].winner[ORDER_PROCPS]))
			conflicts++;
		if (sysctld_file_loses(&s->boot, i, TXN_DEFAULT_MANAGED_FILE))
			overridden++;
	}
	snap_set_int(s, F_SYSCTLD_MANAGED_OVERRIDDEN, overridden);
	snap_set_int(s, F_SYSCTLD_STALE, (int64_t) s->boot.n_stale);
	snap_set_int(s, F_SYSCTLD_DRIFT, drift);
	snap_set_int(s, F_SYSCTLD_ORDER_CONFLICTS, conflicts);
	snap_set_int(s, F_SYSCTLD_REAPPLIERS, (int64_t) s->boot.n_reappliers);
	for (size_t i = 0; i < s->boot.n_warnings; i++)
		snap_note(s, "boot", "%s:%u: %s", s->boot.warnings[i].file, s->boot.warnings[i].line,
			  s->boot.warnings[i].text);
	return 0;
}
