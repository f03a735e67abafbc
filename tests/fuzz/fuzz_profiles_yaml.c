/* libFuzzer target: one profiles file (profile_set_load_buffers, one source).
 * A profile must declare the base name of its file, so the display name is
 * taken from the input's first "name:" line when it is a plain word (else
 * "fuzz"): seeds copied from profiles/ then get past the name check. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void display_from_input(const uint8_t *data, size_t size, char *buf, size_t len)
{
	static const char key[] = "name:";
	char name[64] = "fuzz";

	for (size_t i = 0; i + sizeof(key) - 1 <= size; i++) {
		size_t j, n = 0;

		if ((i > 0 && data[i - 1] != '\n') || memcmp(data + i, key, sizeof(key) - 1) != 0)
			continue;
		for (j = i + sizeof(key) - 1; j < size && data[j] == ' '; j++)
			;
		while (j < size && n + 1 < sizeof(name) &&
		       ((data[j] >= 'a' && data[j] <= 'z') || (data[j] >= 'A' && data[j] <= 'Z') ||
			(data[j] >= '0' && data[j] <= '9') || data[j] == '-' || data[j] == '_'))
			name[n++] = (char)data[j++];
		if (n > 0)
			name[n] = '\0';
		break;
	}
	snprintf(buf, len, "profiles/%s.yaml", name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char display[96];
	struct profile_set set;
	struct profile_source src;
	struct diag d;

	display_from_input(data, size, display, sizeof(display));
	src.display = display;
	src.buf = (const char *)data;
	src.len = size;
	memset(&set, 0, sizeof(set));
	memset(&d, 0, sizeof(d));
	(void)profile_set_load_buffers(&set, &src, 1, &d);
	profile_set_release(&set);
	return 0;
}
