/* libFuzzer target: the `when` language (rule_expr.h).  Parse a NUL-terminated
 * copy of the input, then evaluate it twice: every fact missing, and every
 * fact present with fixed values (a few ids missing). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "rule_expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct expr_value missing = { .present = false, .i = 0, .s = "" };

static const struct expr_value *lookup_missing(void *ctx, size_t id)
{
	(void)ctx;
	(void)id;
	return &missing;
}

static const struct expr_value *lookup_fixed(void *ctx, size_t id)
{
	struct expr_value *v = ctx;

	if (id % 7 == 3)
		return &missing;
	v->present = true;
	v->i = (id % 5 == 0) ? 0 : (int64_t)id * 1000 - 5;
	if (id % 11 == 1)
		v->i = INT64_MAX;
	v->s = (id % 2) ? "bbr" : "4.19.0";
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *src = malloc(size + 1);
	struct rule_expr *e = NULL;
	struct diag d;
	char err[128];
	struct expr_value scratch;
	size_t ids[16];

	if (!src)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';
	memset(&d, 0, sizeof(d));
	if (rule_expr_parse(src, 1, 1, &e, &d) == 0 && e) {
		(void)rule_expr_facts(e, ids, sizeof(ids) / sizeof(ids[0]));
		(void)rule_expr_eval(e, lookup_missing, NULL, err, sizeof(err));
		(void)rule_expr_eval(e, lookup_fixed, &scratch, err, sizeof(err));
		rule_expr_free(e);
	}
	free(src);
	return 0;
}
