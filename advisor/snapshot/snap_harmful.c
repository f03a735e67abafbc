/* Harmful values, now and after the next boot: a writable key of the table
 * whose runtime value, or the value boot will set (either program's order),
 * lies outside the key's apply range.  The apply range is the one judge:
 * `apply` refuses a profile with such a value for the reason the table gives
 * beside the range (arange_why), and check reports it for the same reason.
 * Keys whose harmful runtime values a rule of their own judges
 * (key_def.own_rule) are left to it now; at boot every writable key counts,
 * those rules reading runtime values only.  Runs after the sysctl and boot
 * readers. */
#include "snap_readers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "keys.h"

/* Append "name=value (where)" to list; the first entry also gets the reason. */
static void list_add(char *list, size_t len, size_t n, const struct key_def *k, const char *value,
		     const char *where)
{
	size_t used = strlen(list);

	if (used + 1 >= len)
		return;
	snprintf(list + used, len - used, "%s%s=%s%s%s%s", n ? ", " : "", k->name, value,
		 where ? " (" : "", where ? where : "", where ? ")" : "");
}

int snap_harmful_read(struct snapshot *s)
{
	char now[512] = "", boot[512] = "", where[320], why[256] = "";
	int64_t n_now = 0, n_boot = 0;

	for (size_t i = 0; i < key_count; i++) {
		const struct key_def *k = &key_table[i];
		const struct snap_sysctl *rt = &s->sysctl[i];

		if (!k->writable)
			continue;
		if (!k->own_rule && rt->present && !rt->err && !key_in_apply_range(k, rt->v)) {
			list_add(now, sizeof(now), (size_t) n_now++, k, rt->raw, NULL);
			if (!why[0] && k->arange_why)
				snprintf(why, sizeof(why), "%s: %s", k->name, k->arange_why);
		}
		if (!s->boot_ok)
			continue;
		for (int o = 0; o < ORDER__COUNT; o++) {
			const struct sysctld_assign *w = s->boot.keys[i].winner[o];
			const struct sysctld_assign *w0 = s->boot.keys[i].winner[ORDER_SYSTEMD];
			const long long *v = s->boot.keys[i].value[o];
			char text[64];

			/* The value the kernel will hold (a refused line is another
			 * finding's); both orders naming the same line count once. */
			if (!w || key_in_apply_range(k, v) ||
			    (o == ORDER_PROCPS && w0 && w0->line == w->line && strcmp(w0->file, w->file) == 0))
				continue;
			if (key_format_value(k, v, text, sizeof(text)) < 0)
				continue;
			snprintf(where, sizeof(where), "%s:%u", w->file, w->line);
			list_add(boot, sizeof(boot), (size_t) n_boot++, k, text, where);
			if (!why[0] && k->arange_why)
				snprintf(why, sizeof(why), "%s: %s", k->name, k->arange_why);
		}
	}
	snap_set_int(s, F_HARMFUL_NOW, n_now);
	snap_set_int(s, F_HARMFUL_BOOT, n_boot);
	if (n_now && snap_set_str(s, F_HARMFUL_NOW_LIST, now) < 0)
		return -ENOMEM;
	if (n_boot && snap_set_str(s, F_HARMFUL_BOOT_LIST, boot) < 0)
		return -ENOMEM;
	if (why[0] && snap_set_str(s, F_HARMFUL_WHY, why) < 0)
		return -ENOMEM;
	return 0;
}
