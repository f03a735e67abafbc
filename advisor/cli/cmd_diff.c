/* `tcptune diff PROFILE`: the plan (engine/plan.h) shown, nothing changed;
 * and the plan-making that apply shares. */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "keys.h"
#include "log.h"
#include "report_plan.h"

const struct cli_opt cmd_diff_opts[] = {
	{ "format", true, CLI_OPT_FORMAT, "" },
	{ NULL, false, 0, NULL },
};

void cmd_plan_release(struct cmd_plan *p)
{
	if (p->have_plan)
		plan_release(&p->plan);
	if (p->have_snapshot)
		snapshot_release(&p->s);
	if (p->have_set)
		profile_set_release(&p->set);
}

/* Profiles, a configuration snapshot of root, and the plan for name. */
int cmd_plan_make(const struct cli_args *a, const char *name, struct cmd_plan *p)
{
	const struct profile *prof;
	struct plan_input *in;
	int r;

	memset(p, 0, sizeof(*p));
	if (cmd_load_profiles(a, &p->set) < 0)
		return -EINVAL;
	p->have_set = true;
	prof = cmd_find_profile(&p->set, name);
	if (!prof)
		return -ENOENT;
	r = snapshot_init(&p->s, &a->g->target);
	if (r < 0)
		return log_err(r, "cannot open root directory '%s'", a->g->target.root);
	p->have_snapshot = true;
	r = snapshot_take_config(&p->s);
	if (r < 0)
		return log_err(r, "cannot read the configuration");
	for (size_t i = 0; i < p->s.n_notes; i++)
		if (p->s.notes[i].bad_input)
			return log_errx(-EINVAL, "%s", p->s.notes[i].text);
	{
		/* A profile that moves ip_local_port_range: the plan names the
		 * listeners inside the new range (engine/plan.h). */
		int ri = key_index("net.ipv4.ip_local_port_range");
		const struct profile_setting *ps = ri < 0 ? NULL : profile_setting_find(prof, (size_t) ri);

		/* One that raises net.core.somaxconn (its value, or the
		 * correction of a harmful one): the plan names the listeners
		 * whose backlog equals somaxconn now (docs/KERNEL.md §22). */
		int si = key_index("net.core.somaxconn");
		const struct profile_setting *ss = si < 0 ? NULL : profile_setting_find(prof, (size_t) si);
		const struct snap_sysctl *sm = si < 0 ? NULL : &p->s.sysctl[si];

		if ((ps && p->s.sysctl[ri].present &&
		     (ps->v[0] != p->s.sysctl[ri].v[0] || ps->v[1] != p->s.sysctl[ri].v[1])) ||
		    (sm && sm->present && !sm->err &&
		     ((ss && ss->v[0] > sm->v[0]) || key_value_harmful(&key_table[si], sm->v))))
			(void) snapshot_take_sockets(&p->s);
	}
	in = calloc(prof->n_settings ? prof->n_settings : 1, sizeof(*in));
	if (!in)
		return log_err(-ENOMEM, "plan");
	for (size_t i = 0; i < prof->n_settings; i++)
		in[i] = (struct plan_input) { prof->settings[i].key, prof->settings[i].value, prof->settings[i].why };
	r = plan_build(&p->plan, &p->s, prof->name, in, prof->n_settings);
	free(in);
	if (r < 0)
		return log_err(r, "plan");
	p->have_plan = true;
	return 0;
}

int cmd_plan_show(const struct cli_args *a)
{
	struct cmd_plan p;
	int code = EXIT_OK;

	if (cmd_plan_make(a, a->pos[0], &p) < 0)
		code = EXIT_UNKNOWN;
	else if (cli_format_is(a, "json"))
		json_print(report_plan_json(&p.plan), stdout);
	else
		report_plan_text(&p.plan, &p.s, stdout);
	cmd_plan_release(&p);
	return code;
}

int cmd_diff(const struct cli_args *a)
{
	return cmd_plan_show(a);
}
