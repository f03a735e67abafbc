/* The table of report formats. */
#include "report.h"

#include <string.h>

const struct report_format report_formats[] = {
	{ "text", report_text },
	{ "json", report_json },
	{ "prometheus", report_prometheus },
};
const size_t report_format_count = sizeof(report_formats) / sizeof(report_formats[0]);

const struct report_format *report_format_find(const char *name)
{
	for (size_t i = 0; i < report_format_count; i++)
		if (strcmp(report_formats[i].name, name) == 0)
			return &report_formats[i];
	return NULL;
}

const char *report_order_name(enum sysctld_order o)
{
	return o == ORDER_SYSTEMD ? "systemd-sysctl" : "sysctl --system";
}

const char *report_status_name(int status)
{
	static const char *const names[] = { "ok", "warning", "critical", "unknown" };

	return status >= 0 && status <= 3 ? names[status] : "unknown";
}
