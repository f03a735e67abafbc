/* libFuzzer target: one rules file (rule_set_load_buffer). */
#include <stdint.h>
#include <string.h>

#include "rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rule_set set;
	struct diag d;

	memset(&set, 0, sizeof(set));
	memset(&d, 0, sizeof(d));
	(void)rule_set_load_buffer(&set, (const char *)data, size, "fuzz.yaml", &d);
	rule_set_release(&set);
	return 0;
}
