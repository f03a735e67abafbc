/* Harmful values, now and after the next boot: a writable key of the table
 * whose runtime value, or the value boot will set (either program's order),
 * lies outside the key's apply range.  The apply range is the one judge:
 * `apply` refuses a profile with such a value for the reason the table gives
 * beside the range (arange_why), and check reports it for the same reason.
 * Keys that a rule of their own judges (key_def.own_rule) are left to it,
 * now and at boot: the engine judges every rule over sysctl.* facts in both
 * worlds.  A key harmful now that boot sets to the same value is listed once,
 * in the now list, with its line.  Runs after the sysctl and boot readers. */
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

/* Does boot under order o set key i to the harmful value it holds now? */
static bool same_at_boot(const struct snapshot *s, size_t i, int o)
{
	const struct sysctld_key *b = &s->boot.keys[i];

	return s->boot_ok && b->winner[o] && b->value[o][0] == s->sysctl[i].v[0] &&
	       (key_table[i].type != KEY_INT_PAIR || b->value[o][1] == s->sysctl[i].v[1]);
}

/* Append "key=value" to list, the key without its "net.ipv4." or similar
 * prefix: the drift title already names each key and line in full. */
static void unsafe_add(char *list, size_t len, const char *key, const char *value)
{
	size_t used = strlen(list);
	const char *dot = strrchr(key, '.');

	if (used + 1 < len)
		snprintf(list + used, len - used, "%s%s=%s", used ? ", " : "", dot ? dot + 1 : key, value);
}

/* sysctld.drift_unsafe: the lines `sysctl --system` (the drift finding's
 * way back to the files) would apply although they set a harmful value
 * (key_value_harmful(), own rules' keys included) or one the kernel
 * refuses; missing when there are none. */
static int drift_unsafe(struct snapshot *s)
{
	char harmful[768] = "", refused[512] = "", text[1400];

	for (size_t i = 0; s->boot_ok && i < key_count; i++)
		for (int o = 0; o < ORDER__COUNT; o++) {
			const struct sysctld_assign *w = s->boot.keys[i].winner[o];
			const long long *v = s->boot.keys[i].value[o];
			char value[64];

			if (!w || !key_value_harmful(&key_table[i], v) || same_at_boot(s, i, o) ||
			    key_format_value(&key_table[i], v, value, sizeof(value)) < 0)
				continue;
			if (o == ORDER_PROCPS && s->boot.keys[i].winner[ORDER_SYSTEMD] &&
			    memcmp(s->boot.keys[i].value[ORDER_SYSTEMD], v, sizeof(s->boot.keys[i].value[0])) == 0)
				continue;
			unsafe_add(harmful, sizeof(harmful), key_table[i].name, value);
		}
	for (size_t j = 0; s->boot_ok && j < s->boot.n_rejected; j++) {
		const struct sysctld_rejected *rj = &s->boot.rejected[j];

		unsafe_add(refused, sizeof(refused), key_table[rj->key].name, rj->value);
	}
	if (!harmful[0] && !refused[0])
		return 0;
	snprintf(text, sizeof(text), "; before any `sysctl --system`, correct the lines setting %s%s%s%s%s",
		 harmful[0] ? "harmful " : "", harmful, harmful[0] && refused[0] ? " and " : "",
		 refused[0] ? "refused " : "", refused);
	return snap_set_str(s, F_SYSCTLD_DRIFT_UNSAFE, text);
}

int snap_harmful_read(struct snapshot *s)
{
	char now[512] = "", boot[512] = "", where[320], why[256] = "";
	int64_t n_now = 0, n_boot = 0;

	for (size_t i = 0; i < key_count; i++) {
		const struct key_def *k = &key_table[i];
		const struct snap_sysctl *rt = &s->sysctl[i];
		bool harmful_now;

		/* A key with a rule of its own is judged there, now and at boot
		 * (the engine evaluates rules over sysctl.* facts in both worlds). */
		if (!k->writable || k->own_rule)
			continue;
		harmful_now = rt->present && !rt->err && !key_in_apply_range(k, rt->v);
		if (harmful_now) {
			const struct sysctld_assign *w = NULL;

			/* The same value set again at boot is one problem in
			 * both worlds: listed once, here, with its line. */
			for (int o = 0; o < ORDER__COUNT && !w; o++)
				if (same_at_boot(s, i, o))
					w = s->boot.keys[i].winner[o];
			if (w)
				snprintf(where, sizeof(where), "now and at boot: %s:%u", w->file, w->line);
			list_add(now, sizeof(now), (size_t) n_now++, k, rt->raw, w ? where : NULL);
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
			if (!w || key_in_apply_range(k, v) || (harmful_now && same_at_boot(s, i, o)) ||
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
	return drift_unsafe(s);
}
