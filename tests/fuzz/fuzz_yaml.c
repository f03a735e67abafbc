/* libFuzzer target: the YAML front end (yaml_load_buffer). */
#include <stdint.h>
#include <string.h>

#include "yaml_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ynode *root = NULL;
	struct diag d;

	memset(&d, 0, sizeof(d));
	if (yaml_load_buffer((const char *)data, size, "fuzz.yaml", &root, &d) == 0)
		ynode_free(root);
	return 0;
}
