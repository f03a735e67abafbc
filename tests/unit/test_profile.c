/* Profiles: the shipped ones load from the built-in copy and stay inside the
 * key table's apply ranges; `extends` inherits and overrides, across data
 * directories too; at most one role profile matches a given machine; and
 * every kind of bad file is refused with its file, line, column and reason,
 * including a group-writable file when running as root. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "facts.h"
#include "keys.h"
#include "profile.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HEAD(name) "name: " name "\ndescription: d\n"

static size_t key(const char *name)
{
	int i = key_index(name);

	if (i < 0)
		fail_msg("key '%s' is not in the key table", name);
	return (size_t) i;
}

static const struct profile_setting *setting(const struct profile *p, const char *name)
{
	return profile_setting_find(p, key(name));
}

static const struct profile *find(const struct profile_set *set, const char *name)
{
	const struct profile *p = profile_find(set, name);

	if (!p)
		fail_msg("profile '%s' not loaded", name);
	return p;
}

static void expect_setting(const struct profile *p, const char *k, const char *value, const char *from,
			   const char *why)
{
	const struct profile_setting *s = setting(p, k);

	if (!s)
		fail_msg("%s: no %s", p->name, k);
	if (strcmp(s->value, value) || strcmp(s->from, from) || (why && strcmp(s->why, why)))
		fail_msg("%s: %s = '%s' from %s (%s), want '%s' from %s", p->name, k, s->value, s->from, s->why,
			 value, from);
}

/* ---- one file, and extends, from memory ---------------------------------- */

static void test_good(void **state)
{
	static const char src[] =
		"# comment\n"
		"name: t\n"
		"description: a test\n"
		"match: 'sockets.listen > 0'\n"
		"sysctl:\n"
		"  net.core.somaxconn: \" 8192 \"\n"
		"  net.ipv4.ip_local_port_range: \"10240   65535\"\n"
		"  net.ipv4.tcp_fin_timeout: 30\n"
		"why:\n"
		"  net.ipv4.tcp_fin_timeout: fin\n"
		"  net.core.somaxconn: |\n"
		"    backlog\n"
		"  net.ipv4.ip_local_port_range: ports\n";
	struct profile_source s = { "dir/t.yaml", src, sizeof(src) - 1 };
	struct profile_set set;
	struct diag d = { .line = 0 };
	const struct profile *p;

	(void) state;
	if (profile_set_load_buffers(&set, &s, 1, &d) < 0)
		fail_msg("%s:%u:%u: %s", d.file, d.line, d.col, d.msg);
	assert_int_equal(set.n, 1);
	p = find(&set, "t");
	assert_string_equal(p->description, "a test");
	assert_string_equal(p->match_src, "sockets.listen > 0");
	assert_non_null(p->match);
	assert_null(p->extends);
	assert_string_equal(p->file, "dir/t.yaml");
	assert_int_equal(p->n_settings, 3);
	/* key-table order, not file order; values in the kernel's text form */
	for (size_t i = 1; i < p->n_settings; i++)
		assert_true(p->settings[i - 1].key < p->settings[i].key);
	expect_setting(p, "net.core.somaxconn", "8192", "t", "backlog\n");
	expect_setting(p, "net.ipv4.ip_local_port_range", "10240 65535", "t", "ports");
	expect_setting(p, "net.ipv4.tcp_fin_timeout", "30", "t", "fin");
	assert_int_equal(setting(p, "net.ipv4.ip_local_port_range")->v[0], 10240);
	assert_int_equal(setting(p, "net.ipv4.ip_local_port_range")->v[1], 65535);
	assert_int_equal(setting(p, "net.ipv4.tcp_fin_timeout")->line, 8);
	assert_int_equal(setting(p, "net.ipv4.tcp_fin_timeout")->col, 3);
	assert_null(setting(p, "net.ipv4.tcp_keepalive_time"));
	profile_set_release(&set);
}

static void test_extends(void **state)
{
	/* Child first: resolution must not depend on the order of files. */
	static const struct profile_source src[] = {
		{ "g.yaml", HEAD("g") "extends: c\n", sizeof(HEAD("g") "extends: c\n") - 1 },
		{ "c.yaml",
		  HEAD("c") "extends: p\nsysctl:\n  net.ipv4.tcp_keepalive_time: 900\n  net.core.somaxconn: 8192\n"
		  "why:\n  net.ipv4.tcp_keepalive_time: c keepalive\n  net.core.somaxconn: c backlog\n", 0 },
		{ "p.yaml",
		  HEAD("p") "sysctl:\n  net.ipv4.tcp_fin_timeout: 30\n  net.ipv4.tcp_keepalive_time: 600\n"
		  "why:\n  net.ipv4.tcp_fin_timeout: p fin\n  net.ipv4.tcp_keepalive_time: p keepalive\n", 0 },
	};
	struct profile_source s[ARRAY_SIZE(src)];
	struct profile_set set;
	struct diag d = { .line = 0 };
	const struct profile *p, *c, *g;

	(void) state;
	for (size_t i = 0; i < ARRAY_SIZE(src); i++) {
		s[i] = src[i];
		s[i].len = strlen(s[i].buf);
	}
	if (profile_set_load_buffers(&set, s, ARRAY_SIZE(s), &d) < 0)
		fail_msg("%s:%u:%u: %s", d.file, d.line, d.col, d.msg);
	assert_int_equal(set.n, 3);
	/* sorted by name */
	assert_string_equal(set.v[0].name, "c");
	assert_string_equal(set.v[2].name, "p");
	p = find(&set, "p");
	c = find(&set, "c");
	g = find(&set, "g");
	assert_string_equal(c->extends, "p");
	assert_int_equal(c->extends_line, 3);
	assert_int_equal(c->extends_col, 10);

	/* the parent keeps its own values */
	assert_int_equal(p->n_settings, 2);
	expect_setting(p, "net.ipv4.tcp_keepalive_time", "600", "p", "p keepalive");
	/* the child overrides one, inherits one, adds one */
	assert_int_equal(c->n_settings, 3);
	expect_setting(c, "net.ipv4.tcp_keepalive_time", "900", "c", "c keepalive");
	expect_setting(c, "net.ipv4.tcp_fin_timeout", "30", "p", "p fin");
	expect_setting(c, "net.core.somaxconn", "8192", "c", "c backlog");
	assert_int_equal(setting(c, "net.ipv4.tcp_fin_timeout")->line, 4);	/* in p.yaml */
	/* a grandchild with nothing of its own gets the resolved chain */
	assert_int_equal(g->n_settings, 3);
	expect_setting(g, "net.ipv4.tcp_keepalive_time", "900", "c", NULL);
	expect_setting(g, "net.ipv4.tcp_fin_timeout", "30", "p", NULL);
	for (size_t i = 1; i < g->n_settings; i++)
		assert_true(g->settings[i - 1].key < g->settings[i].key);
	profile_set_release(&set);
}

/* A valid body to put a bad line into. */
#define FIN "sysctl:\n  net.ipv4.tcp_fin_timeout: 30\nwhy:\n  net.ipv4.tcp_fin_timeout: r\n"
#define ONE(key, value) "sysctl:\n  " key ": " value "\nwhy:\n  " key ": r\n"

static void test_bad(void **state)
{
	static const struct {
		const char *what;
		struct { const char *display, *yaml; } src[4];
		const char *file;
		unsigned line, col;
		const char *msg;
	} cases[] = {
		{ "unknown key", { { "t.yaml", HEAD("t") ONE("net.ipv4.tcp_fin_timeoutt", "30") } },
		  "t.yaml", 4, 3, "unknown sysctl 'net.ipv4.tcp_fin_timeoutt'" },
		{ "outside the apply range", { { "t.yaml", HEAD("t") ONE("net.ipv4.tcp_fin_timeout", "0") } },
		  "t.yaml", 4, 29, "net.ipv4.tcp_fin_timeout = 0 is outside 5..60: 0 and negative values" },
		{ "above the apply range", { { "t.yaml", HEAD("t") ONE("net.ipv4.tcp_fin_timeout", "120") } },
		  "t.yaml", 4, 29, "net.ipv4.tcp_fin_timeout = 120 is outside 5..60: " },
		{ "port range low above high",
		  { { "t.yaml", HEAD("t") ONE("net.ipv4.ip_local_port_range", "\"60999 32768\"") } },
		  "t.yaml", 4, 33, "net.ipv4.ip_local_port_range = 60999 32768 is outside 1024..65535: " },
		{ "port range below 1024",
		  { { "t.yaml", HEAD("t") ONE("net.ipv4.ip_local_port_range", "\"1023 65535\"") } },
		  "t.yaml", 4, 33, "net.ipv4.ip_local_port_range = 1023 65535 is outside 1024..65535: below 1024" },
		{ "tcp_tw_recycle", { { "t.yaml", HEAD("t") ONE("net.ipv4.tcp_tw_recycle", "0") } },
		  "t.yaml", 4, 3,
		  "net.ipv4.tcp_tw_recycle is never set by tcptune: it broke clients behind NAT; "
		  "it was removed in Linux 4.12" },
		{ "read-only key", { { "t.yaml", HEAD("t") ONE("net.ipv4.ip_unprivileged_port_start", "1024") } },
		  "t.yaml", 4, 3, "net.ipv4.ip_unprivileged_port_start is never set by tcptune" },
		{ "key with /", { { "t.yaml", HEAD("t") ONE("net/ipv4/tcp_fin_timeout", "30") } },
		  "t.yaml", 4, 3, "'net/ipv4/tcp_fin_timeout' is not a sysctl name" },
		{ "key with ..", { { "t.yaml", HEAD("t") ONE("net.ipv4..tcp_fin_timeout", "30") } },
		  "t.yaml", 4, 3, "'net.ipv4..tcp_fin_timeout' is not a sysctl name" },
		{ "path escape", { { "t.yaml", HEAD("t") ONE("../../../proc/sys/kernel/core_pattern", "x") } },
		  "t.yaml", 4, 3, "'../../../proc/sys/kernel/core_pattern' is not a sysctl name" },
		{ "control bytes in a key are escaped",
		  { { "t.yaml", HEAD("t") ONE("\"net.ipv4.x\\e[2J\"", "1") } },
		  "t.yaml", 4, 3, "unknown sysctl 'net.ipv4.x\\x1b[2J'" },
		{ "not a number", { { "t.yaml", HEAD("t") ONE("net.ipv4.tcp_fin_timeout", "sixty") } },
		  "t.yaml", 4, 29, "'sixty' is not a valid value for net.ipv4.tcp_fin_timeout" },
		{ "one number for a pair", { { "t.yaml", HEAD("t") ONE("net.ipv4.ip_local_port_range", "1024") } },
		  "t.yaml", 4, 33, "'1024' is not a valid value for net.ipv4.ip_local_port_range" },
		{ "value is a list", { { "t.yaml", HEAD("t") ONE("net.ipv4.tcp_fin_timeout", "[30]") } },
		  "t.yaml", 4, 29, "a sysctl value must be a single value, not a list" },
		{ "missing why", { { "t.yaml", HEAD("t") "sysctl:\n  net.ipv4.tcp_fin_timeout: 30\n" } },
		  "t.yaml", 4, 3, "net.ipv4.tcp_fin_timeout has no reason" },
		{ "why for another key",
		  { { "t.yaml", HEAD("t") "sysctl:\n  net.ipv4.tcp_fin_timeout: 30\n  net.core.somaxconn: 8192\n"
				"why:\n  net.ipv4.tcp_fin_timeout: r\n" } },
		  "t.yaml", 5, 3, "net.core.somaxconn has no reason" },
		{ "why without setting", { { "t.yaml", HEAD("t") FIN "  net.ipv4.tcp_fin_timout: typo\n" } },
		  "t.yaml", 7, 3, "'why' explains 'net.ipv4.tcp_fin_timout', which is not in 'sysctl'" },
		{ "name is not the file name", { { "profiles/web-server.yaml", HEAD("web") FIN } },
		  "profiles/web-server.yaml", 1, 7,
		  "profile name 'web' does not match its file name; name it 'web-server'" },
		{ "bad name", { { "Web.yaml", HEAD("Web") FIN } },
		  "Web.yaml", 1, 7, "profile name 'Web' must be 1 to 63 lower-case letters" },
		{ "no name", { { "t.yaml", "description: d\n" FIN } }, "t.yaml", 1, 1, "profile has no 'name'" },
		{ "no description", { { "t.yaml", "name: t\n" FIN } },
		  "t.yaml", 1, 1, "profile t has no 'description'" },
		{ "unknown field", { { "t.yaml", HEAD("t") "colour: red\n" FIN } },
		  "t.yaml", 3, 1, "unknown field 'colour'" },
		{ "not a mapping", { { "t.yaml", "- name: t\n" } }, "t.yaml", 1, 1, "a profile is a mapping" },
		{ "empty file", { { "t.yaml", "# nothing\n" } }, "t.yaml", 0, 0, "empty profile file" },
		{ "sets nothing", { { "t.yaml", HEAD("t") } }, "t.yaml", 0, 0, "profile t sets no sysctl" },
		{ "sysctl not a mapping", { { "t.yaml", HEAD("t") "sysctl: 30\n" } },
		  "t.yaml", 3, 9, "'sysctl' must be a mapping" },
		{ "match: unknown fact", { { "t.yaml", HEAD("t") "match: sockets.nope > 1\n" FIN } },
		  "t.yaml", 3, 8, "unknown fact 'sockets.nope'" },
		{ "match: syntax, quoted", { { "t.yaml", HEAD("t") "match: \"sockets.listen > > 1\"\n" FIN } },
		  "t.yaml", 3, 26, "expected a value" },
		{ "match: not a condition", { { "t.yaml", HEAD("t") "match: sockets.listen\n" FIN } },
		  "t.yaml", 3, 8, "a condition is needed" },
		{ "unknown parent", { { "t.yaml", HEAD("t") "extends: nope\n" FIN } },
		  "t.yaml", 3, 10, "profile t extends unknown profile 'nope'" },
		{ "extends a path", { { "t.yaml", HEAD("t") "extends: ../etc/x\n" FIN } },
		  "t.yaml", 3, 10, "extends '../etc/x' is not a profile name" },
		{ "extends itself", { { "a.yaml", HEAD("a") "extends: a\n" FIN } },
		  "a.yaml", 3, 10, "extends cycle: a -> a" },
		{ "three-profile cycle, reached from outside it",
		  { { "0.yaml", HEAD("0") "extends: b\n" FIN },
		    { "a.yaml", HEAD("a") "extends: c\n" FIN },
		    { "b.yaml", HEAD("b") "\n\nextends: a\n" FIN },
		    { "c.yaml", HEAD("c") "extends: b\n" FIN } },
		  "b.yaml", 5, 10, "extends cycle: b -> a -> c -> b" },
		{ "duplicate name", { { "x/t.yaml", HEAD("t") FIN }, { "y/t.yaml", HEAD("t") FIN } },
		  "y/t.yaml", 1, 7, "duplicate profile 't' (first in x/t.yaml)" },
		{ "alias bomb",
		  { { "t.yaml", HEAD("t") "x: &a [1,1,1,1,1,1,1,1,1]\ny: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
				"z: [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" FIN } },
		  "t.yaml", 3, 4, "anchors and aliases are not allowed" },
		{ "duplicate key", { { "t.yaml", HEAD("t") FIN "  net.ipv4.tcp_fin_timeout: again\n" } },
		  "t.yaml", 7, 3, "duplicate key 'net.ipv4.tcp_fin_timeout'" },
	};

	(void) state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct profile_source src[4];
		struct profile_set set = { .n = 99 };
		struct diag d = { .line = 99 };
		size_t n = 0;
		int r;

		for (; n < 4 && cases[i].src[n].yaml; n++)
			src[n] = (struct profile_source) { cases[i].src[n].display, cases[i].src[n].yaml,
							   strlen(cases[i].src[n].yaml) };
		r = profile_set_load_buffers(&set, src, n, &d);
		if (r != -EINVAL)
			fail_msg("%s: got %d, want -EINVAL", cases[i].what, r);
		if (strcmp(d.file, cases[i].file) || d.line != cases[i].line || d.col != cases[i].col ||
		    !strstr(d.msg, cases[i].msg))
			fail_msg("%s: got %s:%u:%u '%s', want %s:%u:%u '%s'", cases[i].what, d.file, d.line, d.col,
				 d.msg, cases[i].file, cases[i].line, cases[i].col, cases[i].msg);
		/* nothing half-loaded is left behind */
		assert_int_equal(set.n, 0);
		assert_null(set.v);
	}
}

/* The whole message, with the key table's reason, as the user sees it. */
static void test_range_message(void **state)
{
	static const char src[] = HEAD("t") ONE("net.ipv4.tcp_fin_timeout", "0");
	struct profile_source s = { "t.yaml", src, sizeof(src) - 1 };
	const struct key_def *k = key_lookup("net.ipv4.tcp_fin_timeout");
	struct profile_set set;
	struct diag d = { .line = 0 };
	char want[sizeof(d.msg)];

	(void) state;
	assert_int_equal(profile_set_load_buffers(&set, &s, 1, &d), -EINVAL);
	snprintf(want, sizeof(want), "net.ipv4.tcp_fin_timeout = 0 is outside 5..60: %s", k->arange_why);
	assert_string_equal(d.msg, want);
}

/* A reason that is only blanks explains nothing. */
static void test_empty_why(void **state)
{
	static const char src[] = HEAD("t") "sysctl:\n  net.ipv4.tcp_fin_timeout: 30\nwhy:\n"
				  "  net.ipv4.tcp_fin_timeout: \"  \"\n";
	struct profile_source s = { "t.yaml", src, sizeof(src) - 1 };
	struct profile_set set;
	struct diag d = { .line = 0 };

	(void) state;
	assert_int_equal(profile_set_load_buffers(&set, &s, 1, &d), -EINVAL);
	assert_int_equal(d.line, 6);
	assert_int_equal(d.col, 29);
	assert_string_equal(d.msg, "a reason in 'why' is empty");
}

/* ---- the shipped profiles ------------------------------------------------ */

static struct profile_set builtin_set;

static int load_builtin(void **state)
{
	struct datadir dd = { .n_dirs = 0, .builtin = true };
	struct diag d = { .line = 0 };

	(void) state;
	if (profile_set_load(&builtin_set, &dd, &d) < 0) {
		print_error("built-in profiles: %s:%u:%u: %s\n", d.file, d.line, d.col, d.msg);
		return -1;
	}
	return 0;
}

static int release_builtin(void **state)
{
	(void) state;
	profile_set_release(&builtin_set);
	return 0;
}

static void test_builtin_profiles(void **state)
{
	static const char *const names[] = { "database", "default", "nat-gateway", "reverse-proxy", "web-server" };
	const struct profile_set *set = &builtin_set;

	(void) state;
	assert_int_equal(set->n, ARRAY_SIZE(names));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		assert_string_equal(set->v[i].name, names[i]);
	for (size_t i = 0; i < set->n; i++) {
		const struct profile *p = &set->v[i];

		assert_string_equal(strstr(p->file, "(built-in)/profiles/"), p->file);
		assert_true(p->n_settings > 0);
		for (size_t j = 0; j < p->n_settings; j++) {
			const struct profile_setting *s = &p->settings[j];
			const struct key_def *k = &key_table[s->key];
			const struct profile *from = profile_find(set, s->from);
			long long v[2];

			if (!k->writable || !key_in_apply_range(k, s->v))
				fail_msg("%s: %s = %s is not applicable", p->name, k->name, s->value);
			/* the stored text says what the parsed numbers say */
			assert_int_equal(key_parse_value(k, s->value, v), 0);
			assert_true(v[0] == s->v[0] && (k->type == KEY_INT || v[1] == s->v[1]));
			assert_true(strlen(s->why) > 20);
			assert_non_null(from);
			assert_non_null(profile_setting_find(from, s->key));
			/* from is this profile or one of its ancestors */
			for (const struct profile *q = p; q != from; q = profile_find(set, q->extends))
				if (!q->extends)
					fail_msg("%s: %s from %s, not an ancestor", p->name, k->name, s->from);
		}
	}
}

/* default is the way back: every writable key at the kernel's value, except
 * the ones the kernel sizes from memory. */
static void test_builtin_default(void **state)
{
	static const char *const memory_dependent[] = {
		"net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_max_orphans", "net.ipv4.tcp_max_syn_backlog",
	};
	static const struct { const char *key, *value; } kernel[] = {
		{ "net.ipv4.tcp_fin_timeout", "60" }, { "net.ipv4.tcp_keepalive_time", "7200" },
		{ "net.ipv4.tcp_keepalive_intvl", "75" }, { "net.ipv4.tcp_keepalive_probes", "9" },
		{ "net.ipv4.tcp_tw_reuse", "2" }, { "net.ipv4.tcp_tw_reuse_delay", "1000" },
		{ "net.ipv4.tcp_orphan_retries", "0" }, { "net.ipv4.tcp_syncookies", "1" },
		{ "net.ipv4.tcp_retries2", "15" }, { "net.ipv4.tcp_sack", "1" },
		{ "net.ipv4.tcp_timestamps", "1" }, { "net.ipv4.ip_local_port_range", "32768 60999" },
		{ "net.core.somaxconn", "4096" },
		{ "net.netfilter.nf_conntrack_tcp_timeout_time_wait", "120" },
		{ "net.netfilter.nf_conntrack_tcp_timeout_close_wait", "60" },
		{ "net.netfilter.nf_conntrack_tcp_timeout_fin_wait", "120" },
	};
	const struct profile *def = find(&builtin_set, "default");

	(void) state;
	assert_null(def->match);
	assert_null(def->extends);
	for (size_t i = 0; i < ARRAY_SIZE(memory_dependent); i++)
		assert_null(setting(def, memory_dependent[i]));
	for (size_t i = 0; i < ARRAY_SIZE(kernel); i++)
		expect_setting(def, kernel[i].key, kernel[i].value, "default", NULL);
	/* a writable key added to the table needs a line in default.yaml */
	for (size_t k = 0; k < key_count; k++) {
		bool skip = !key_table[k].writable;

		for (size_t i = 0; i < ARRAY_SIZE(memory_dependent); i++)
			skip = skip || strcmp(key_table[k].name, memory_dependent[i]) == 0;
		/* this host's own reservations: plans only ever add to them (issue #16) */
		skip = skip || key_table[k].type == KEY_PORT_LIST;
		if (!skip && !profile_setting_find(def, k))
			fail_msg("default.yaml has no %s", key_table[k].name);
	}
	assert_int_equal(def->n_settings, ARRAY_SIZE(kernel));
}

/* What each role profile changes, and that the rest is default's. */
static void test_builtin_roles(void **state)
{
	const struct profile *web = find(&builtin_set, "web-server");
	const struct profile *proxy = find(&builtin_set, "reverse-proxy");
	const struct profile *db = find(&builtin_set, "database");
	const struct profile *nat = find(&builtin_set, "nat-gateway");
	const struct profile *def = find(&builtin_set, "default");

	(void) state;
	assert_string_equal(web->extends, "default");
	assert_string_equal(proxy->extends, "web-server");
	assert_string_equal(db->extends, "default");
	assert_string_equal(nat->extends, "default");
	assert_null(db->match);		/* no fact identifies a database */
	assert_non_null(web->match);
	assert_non_null(proxy->match);
	assert_non_null(nat->match);

	expect_setting(web, "net.ipv4.tcp_fin_timeout", "30", "web-server", NULL);
	expect_setting(web, "net.ipv4.tcp_tw_reuse", "2", "default", NULL);
	expect_setting(proxy, "net.ipv4.tcp_fin_timeout", "30", "web-server", NULL);
	expect_setting(proxy, "net.ipv4.tcp_tw_reuse", "1", "reverse-proxy", NULL);
	expect_setting(proxy, "net.ipv4.ip_local_port_range", "10240 65535", "reverse-proxy", NULL);
	expect_setting(proxy, "net.ipv4.tcp_keepalive_time", "120", "reverse-proxy", NULL);
	expect_setting(db, "net.ipv4.tcp_keepalive_time", "120", "database", NULL);
	expect_setting(db, "net.ipv4.tcp_fin_timeout", "60", "default", NULL);
	expect_setting(nat, "net.netfilter.nf_conntrack_tcp_timeout_close_wait", "3600", "nat-gateway", NULL);
	/* the TCP knobs only act on the gateway's own sockets: left at default */
	expect_setting(nat, "net.ipv4.tcp_keepalive_time", "7200", "default", NULL);
	expect_setting(nat, "net.netfilter.nf_conntrack_tcp_timeout_time_wait", "120", "default", NULL);
	/* every role profile covers the same keys as default, no more */
	assert_int_equal(web->n_settings, def->n_settings);
	assert_int_equal(proxy->n_settings, def->n_settings);
	assert_int_equal(db->n_settings, def->n_settings);
	assert_int_equal(nat->n_settings, def->n_settings);
}

struct facts_ctx {
	struct expr_value *v;
};

static const struct expr_value *lookup(void *ctx, size_t id)
{
	return &((struct facts_ctx *) ctx)->v[id];
}

/* On any one machine at most one role profile's `match` holds. */
static void test_builtin_matches(void **state)
{
	struct fact { const char *name; long long v; };
	static const struct {
		const char *what;
		struct fact facts[6];	/* facts not named are missing */
		const char *want;	/* the matching profile, or NULL for none */
	} cases[] = {
		{ "nothing known", { { NULL, 0 } }, NULL },
		{ "idle host with sshd",
		  { { "sockets.listen", 1 }, { "timewait.incoming", 0 }, { "timewait.outgoing", 0 },
		    { "ports.max_dest_usage_pct", 0 }, { "nat.gateway", 0 } }, NULL },
		{ "a few closes", { { "sockets.listen", 2 }, { "timewait.incoming", 12 }, { "timewait.outgoing", 3 } },
		  NULL },
		{ "web server",
		  { { "sockets.listen", 4 }, { "timewait.incoming", 5000 }, { "timewait.outgoing", 40 },
		    { "ports.max_dest_usage_pct", 0 }, { "nat.gateway", 0 } },
		  "web-server" },
		{ "web server, forwarding facts unreadable",
		  { { "sockets.listen", 4 }, { "timewait.incoming", 5000 }, { "timewait.outgoing", 40 } },
		  "web-server" },
		{ "web server, as much TIME_WAIT out as in",
		  { { "sockets.listen", 4 }, { "timewait.incoming", 300 }, { "timewait.outgoing", 300 },
		    { "ports.max_dest_usage_pct", 1 } }, "web-server" },
		{ "proxy",
		  { { "sockets.listen", 2 }, { "timewait.incoming", 800 }, { "timewait.outgoing", 20000 },
		    { "ports.max_dest_usage_pct", 40 }, { "nat.gateway", 0 } },
		  "reverse-proxy" },
		{ "proxy with pooled backends, no TIME_WAIT",
		  { { "sockets.listen", 2 }, { "timewait.incoming", 0 }, { "timewait.outgoing", 0 },
		    { "ports.max_dest_usage_pct", 8 } }, "reverse-proxy" },
		{ "web server that also hammers one backend",
		  { { "sockets.listen", 2 }, { "timewait.incoming", 9000 }, { "timewait.outgoing", 500 },
		    { "ports.max_dest_usage_pct", 12 } }, "reverse-proxy" },
		{ "client without listeners",
		  { { "sockets.listen", 0 }, { "timewait.incoming", 0 }, { "timewait.outgoing", 3000 },
		    { "timewait.max_per_dest", 2500 } }, "reverse-proxy" },
		/* issue #16: apt's few dozen connections to its mirrors */
		{ "idle machine after apt-get update",
		  { { "sockets.listen", 1 }, { "timewait.incoming", 0 }, { "timewait.outgoing", 60 },
		    { "timewait.max_per_dest", 40 }, { "ports.max_dest_usage_pct", 0 }, { "nat.gateway", 0 } }, NULL },
		{ "desktop: many sites, none busy",
		  { { "sockets.listen", 1 }, { "timewait.incoming", 0 }, { "timewait.outgoing", 3000 },
		    { "timewait.max_per_dest", 50 }, { "ports.max_dest_usage_pct", 0 } }, NULL },
		{ "server with orphaned FIN_WAIT2 piling up",
		  { { "sockets.listen", 1 }, { "timewait.incoming", 0 }, { "timewait.outgoing", 0 },
		    { "sockets.tw_minisocks", 700 }, { "sockets.time_wait", 0 } }, "web-server" },
		{ "TIME_WAIT, no orphans",
		  { { "sockets.listen", 1 }, { "timewait.incoming", 50 }, { "timewait.outgoing", 0 },
		    { "sockets.tw_minisocks", 50 }, { "sockets.time_wait", 50 } }, NULL },
		{ "NAT gateway",
		  { { "sockets.listen", 1 }, { "timewait.incoming", 0 }, { "timewait.outgoing", 0 },
		    { "nat.gateway", 1 } }, "nat-gateway" },
		/* dockerd turned ip_forward on for its containers: not a gateway
		 * (nat.gateway is 0; the reader is tested by check_nat_gateway.sh). */
		{ "container host serving the web",
		  { { "sockets.listen", 6 }, { "timewait.incoming", 5000 }, { "timewait.outgoing", 10 },
		    { "nat.ip_forward", 1 }, { "nat.conntrack_loaded", 1 }, { "nat.gateway", 0 } }, "web-server" },
		{ "router serving the web",
		  { { "sockets.listen", 6 }, { "timewait.incoming", 5000 }, { "timewait.outgoing", 10 },
		    { "nat.gateway", 1 } }, "nat-gateway" },
	};
	struct expr_value *v = calloc(facts_count(), sizeof(*v));

	(void) state;
	assert_non_null(v);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct facts_ctx ctx = { v };
		const char *matched = NULL;

		memset(v, 0, facts_count() * sizeof(*v));
		for (size_t f = 0; f < ARRAY_SIZE(cases[i].facts) && cases[i].facts[f].name; f++) {
			int id = fact_lookup(cases[i].facts[f].name);

			if (id < 0)
				fail_msg("%s: unknown fact %s", cases[i].what, cases[i].facts[f].name);
			v[id] = (struct expr_value) { .present = true, .i = cases[i].facts[f].v };
		}
		for (size_t p = 0; p < builtin_set.n; p++) {
			const struct profile *pr = &builtin_set.v[p];
			char err[128];
			int r;

			if (!pr->match)
				continue;
			r = rule_expr_eval(pr->match, lookup, &ctx, err, sizeof(err));
			if (r < 0)
				fail_msg("%s: %s: %s", cases[i].what, pr->name, err);
			if (r == 1 && matched)
				fail_msg("%s: both %s and %s match", cases[i].what, matched, pr->name);
			if (r == 1)
				matched = pr->name;
		}
		if (matched != cases[i].want && (!matched || !cases[i].want || strcmp(matched, cases[i].want)))
			fail_msg("%s: matched %s, want %s", cases[i].what, matched ? matched : "none",
				 cases[i].want ? cases[i].want : "none");
	}
	free(v);
}

/* ---- data directories ---------------------------------------------------- */

static int load_dir(const char *dir, bool builtin, bool trust, struct profile_set *set, struct diag *d)
{
	struct datadir dd = { .dirs = { dir }, .n_dirs = 1, .builtin = builtin, .trust_check = trust };

	return profile_set_load(set, &dd, d);
}

/* A directory earlier in the path replaces a built-in profile by name, and a
 * chain of extends may cross from one source to the other. */
static void test_datadir_override(void **state)
{
	struct profile_set set;
	struct diag d = { .line = 0 };
	const struct profile *def, *web, *local;

	(void) state;
	if (load_dir(FIXTURES "/profiles/override", true, false, &set, &d) < 0)
		fail_msg("%s:%u:%u: %s", d.file, d.line, d.col, d.msg);
	assert_int_equal(set.n, 6);
	def = find(&set, "default");
	web = find(&set, "web-server");
	local = find(&set, "local");
	assert_string_equal(def->file, FIXTURES "/profiles/override/profiles/default.yaml");
	assert_string_equal(web->file, "(built-in)/profiles/web-server.yaml");
	assert_int_equal(def->n_settings, 2);
	/* built-in web-server on top of the site's default */
	assert_int_equal(web->n_settings, 2);
	expect_setting(web, "net.ipv4.tcp_fin_timeout", "30", "web-server", NULL);
	expect_setting(web, "net.ipv4.tcp_keepalive_time", "3600", "default", "site baseline");
	/* local -> built-in web-server -> site default */
	assert_int_equal(local->n_settings, 3);
	expect_setting(local, "net.ipv4.tcp_fin_timeout", "30", "web-server", NULL);
	expect_setting(local, "net.ipv4.tcp_keepalive_time", "900", "local", "local choice");
	expect_setting(local, "net.core.somaxconn", "8192", "local", NULL);
	assert_null(setting(local, "net.ipv4.tcp_tw_reuse"));	/* the built-in default is not used */
	profile_set_release(&set);
}

static void test_datadir_refusals(void **state)
{
	static const struct {
		const char *dir;
		const char *file;
		unsigned line, col;
		const char *msg;
	} cases[] = {
		{ "cycle", "cycle/profiles/a.yaml", 3, 10, "extends cycle: a -> b -> a" },
		{ "aliasbomb", "aliasbomb/profiles/bomb.yaml", 3, 7, "anchors and aliases are not allowed" },
		{ "misnamed", "misnamed/profiles/web.yaml", 1, 7,
		  "profile name 'web-server' does not match its file name; name it 'web' or rename the file" },
	};

	(void) state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char dir[512], file[512];
		struct profile_set set;
		struct diag d = { .line = 0 };
		int r;

		snprintf(dir, sizeof(dir), "%s/profiles/%s", FIXTURES, cases[i].dir);
		snprintf(file, sizeof(file), "%s/profiles/%s", FIXTURES, cases[i].file);
		r = load_dir(dir, false, false, &set, &d);
		if (r != -EINVAL || strcmp(d.file, file) || d.line != cases[i].line || d.col != cases[i].col ||
		    strcmp(d.msg, cases[i].msg))
			fail_msg("%s: got %d %s:%u:%u '%s', want %s:%u:%u '%s'", cases[i].dir, r, d.file, d.line,
				 d.col, d.msg, file, cases[i].line, cases[i].col, cases[i].msg);
		assert_int_equal(set.n, 0);
	}
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

struct tmp {
	char dir[32], sub[64], file[96];
};

static int tmp_setup(void **state)
{
	static struct tmp t;

	snprintf(t.dir, sizeof(t.dir), "/tmp/tcptune-profile-XXXXXX");
	if (!mkdtemp(t.dir))
		return -1;
	snprintf(t.sub, sizeof(t.sub), "%s/profiles", t.dir);
	snprintf(t.file, sizeof(t.file), "%s/x.yaml", t.sub);
	*state = &t;
	return mkdir(t.sub, 0755);
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;

	(void) unlink(t->file);
	(void) rmdir(t->sub);
	return rmdir(t->dir);
}

/* docs/SECURITY.md: as root, a profile others could have written is refused. */
static void test_trust(void **state)
{
	struct tmp *t = *state;
	struct profile_set set;
	struct diag d = { .line = 0 };

	if (geteuid() != 0)
		skip();		/* needs root to own the file and to give it away */
	write_file(t->file, HEAD("x") FIN, 0644);

	/* control: the same file, safe, loads under the check */
	assert_int_equal(load_dir(t->dir, false, true, &set, &d), 0);
	assert_int_equal(set.n, 1);
	profile_set_release(&set);

	assert_int_equal(chmod(t->file, 0664), 0);
	assert_int_equal(load_dir(t->dir, false, true, &set, &d), -EPERM);
	assert_string_equal(d.file, t->file);
	assert_int_equal(d.line, 0);
	assert_string_equal(d.msg, "refusing to load: writable by group or others (mode 0664); fix with chmod go-w");
	assert_int_equal(set.n, 0);
	/* the check is what refuses it: without it (not root) it loads */
	assert_int_equal(load_dir(t->dir, false, false, &set, &d), 0);
	profile_set_release(&set);

	assert_int_equal(chmod(t->file, 0644), 0);
	assert_int_equal(chown(t->file, 65534, 65534), 0);
	assert_int_equal(load_dir(t->dir, false, true, &set, &d), -EPERM);
	assert_string_equal(d.file, t->file);
	assert_non_null(strstr(d.msg, "owned by uid 65534, not root"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_extends),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_range_message),
		cmocka_unit_test(test_empty_why),
		cmocka_unit_test_setup_teardown(test_builtin_profiles, load_builtin, release_builtin),
		cmocka_unit_test_setup_teardown(test_builtin_default, load_builtin, release_builtin),
		cmocka_unit_test_setup_teardown(test_builtin_roles, load_builtin, release_builtin),
		cmocka_unit_test_setup_teardown(test_builtin_matches, load_builtin, release_builtin),
		cmocka_unit_test(test_datadir_override),
		cmocka_unit_test(test_datadir_refusals),
		cmocka_unit_test_setup_teardown(test_trust, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
