/* libFuzzer target: sysctl.d syntax (sysctld_parse_conf, as systemd-sysctl
 * reads a file, and as snap_reappliers.c reads ufw's), then every parsed
 * assignment, glob or not, matched against every key of the table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "sysctld.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sysctld d;
	struct sysctld_assign *v = NULL;
	size_t n = 0, cap = 0;
	char *buf = malloc(size + 1), path[256];

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';	/* sysctld_read_conf() refuses NUL bytes before parsing */
	memset(&d, 0, sizeof(d));
	if (sysctld_parse_conf(&d, "/etc/sysctl.d/fuzz.conf", buf, &v, &n, &cap) == 0)
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < key_count; k++)
				if (key_proc_path(&key_table[k], path, sizeof(path)) == 0)
					(void) sysctld_assign_matches(&v[i], key_table[k].name, path);
	sysctld_assigns_free(v, n);
	sysctld_release(&d);
	free(buf);
	return 0;
}
