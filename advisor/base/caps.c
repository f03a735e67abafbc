/* libcap checks; see caps.h. */
#include "caps.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

int caps_keep_only(const cap_value_t *keep, size_t n)
{
	cap_t now = cap_get_proc(), want = cap_init();
	int r = 0;

	if (!now || !want) {
		r = -errno;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		cap_flag_value_t has = CAP_CLEAR;

		if (cap_get_flag(now, keep[i], CAP_PERMITTED, &has) < 0 || has != CAP_SET)
			continue;
		if (cap_set_flag(want, CAP_PERMITTED, 1, &keep[i], CAP_SET) < 0 ||
		    cap_set_flag(want, CAP_EFFECTIVE, 1, &keep[i], CAP_SET) < 0) {
			r = -errno;
			goto out;
		}
	}
	if (cap_set_proc(want) < 0) {
		r = -errno;
		goto out;
	}
	/* Ambient capabilities survive execve: none. */
	if (CAP_AMBIENT_SUPPORTED())
		(void) cap_reset_ambient();
out:
	if (now)
		cap_free(now);
	if (want)
		cap_free(want);
	return r;
}

int caps_effective_hex(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "CapEff:", 7) == 0) {
			snprintf(buf, len, "%s", line + 7 + strspn(line + 7, " \t"));
			buf[strcspn(buf, "\n")] = '\0';
			r = 0;
			break;
		}
	fclose(f);
	return r;
}

bool caps_have(cap_value_t cap)
{
	cap_t c = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;

	if (!c)
		return false;
	if (cap_get_flag(c, cap, CAP_EFFECTIVE, &v) < 0)
		v = CAP_CLEAR;
	cap_free(c);
	return v == CAP_SET;
}

void caps_keep_reading(void)
{
	static const cap_value_t keep[] = { CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE };
	int r = caps_keep_only(keep, sizeof(keep) / sizeof(keep[0]));

	if (r < 0)
		log_errx(0, "warning: cannot drop capabilities: %s; going on with them", strerror(-r));
}
