/* Tests for snap_reappliers.c: fake root trees under tests/fixtures/reappliers,
 * loaded through sysctld_load() as callers do, plus reappliers_find() on its
 * own.  Every case states each re-applier's exact detail and keys, and that a
 * re-applier's own file never counts as boot configuration. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "keys.h"
#include "reappliers.h"
#include "sysctld.h"
#include "sysctld_testlib.h"

#define KV(a, b, c) ((long) (a) * 65536 + (b) * 256 + (c))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int open_fixture(const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/reappliers/%s", FIXTURES, name);
	/* O_PATH, as snapshot_init() opens it. */
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void load(struct sysctld *d, const char *name)
{
	int fd = open_fixture(name);

	assert_int_equal(sysctld_load(d, fd, KV(6, 18, 0), 0), 0);
	close(fd);
	assert_non_null(d->keys);
}

static const struct sysctld_reapplier *find_reapplier(const struct sysctld *d, const char *name)
{
	for (size_t i = 0; i < d->n_reappliers; i++)
		if (strcmp(d->reappliers[i].name, name) == 0)
			return &d->reappliers[i];
	return NULL;
}

static void check_reapplier_keys(const struct sysctld_reapplier *r, const char *const *want, size_t n)
{
	assert_int_equal(r->n_keys, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(r->keys[i], want[i]);
}

/* Boot sets the tracked key only (NULL: none) from where ("file:line=value")
 * under both orders, overriding nothing, and leaves every other key alone. */
static void check_boot_only(const struct sysctld *d, const char *only, const char *where)
{
	char got[4096];

	if (only)
		assert_true(key_index(only) >= 0);	/* a typo must not pass silently */
	for (size_t k = 0; k < key_count; k++) {
		bool set = only && strcmp(key_table[k].name, only) == 0;

		for (int o = 0; o < ORDER__COUNT; o++) {
			const struct sysctld_assign *a = d->keys[k].winner[o];

			if (a)
				snprintf(got, sizeof(got), "%s:%u=%s", a->file, a->line, a->value);
			else
				snprintf(got, sizeof(got), "(none)");
			if (strcmp(got, set ? where : "(none)") != 0)
				fail_msg("%s order %d: winner '%s', want '%s'", key_table[k].name, o, got,
					 set ? where : "(none)");
			assert_int_equal(d->keys[k].n_overridden[o], 0);
		}
	}
}

static const char tuned_default_detail[] =
	"TuneD applies its profile's sysctls and then re-applies the sysctl.d files "
	"(reapply_sysctl is not set in /etc/tuned/tuned-main.conf, default 1); "
	"a runtime change is overwritten whenever tuned restarts";

/* TuneD with reapply_sysctl = 0 (the later of two lines wins), ufw with its
 * default sysctl file named in /etc/default/ufw, no bpftune. */
static void test_tuned_off_and_ufw(void **state)
{
	static const char *const ufw_keys[] = {
		"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl",
		"net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_syncookies",
	};
	const struct sysctld_reapplier *r;
	struct sysctld d;

	(void) state;
	load(&d, "tuned-ufw");
	assert_int_equal(d.n_reappliers, 2);
	r = find_reapplier(&d, "tuned");
	assert_non_null(r);
	assert_string_equal(r->detail, "TuneD's profile sysctls override sysctl.d "
			    "(reapply_sysctl = 0 in /etc/tuned/tuned-main.conf)");
	assert_int_equal(r->n_keys, 0);
	r = find_reapplier(&d, "ufw");
	assert_non_null(r);
	assert_string_equal(r->detail, "ufw applies /etc/ufw/sysctl.conf when it starts "
			    "(IPT_SYSCTL in /etc/default/ufw)");
	check_reapplier_keys(r, ufw_keys, ARRAY_SIZE(ufw_keys));
	assert_null(find_reapplier(&d, "bpftune"));
	/* ufw's file is not boot configuration: one line, read once by each
	 * boot program. */
	assert_int_equal(d.n_assigns, 2);
	assert_true(d.assigns[0].order != d.assigns[1].order);
	check_boot_only(&d, "net.ipv4.tcp_syncookies", "/etc/sysctl.d/50-t.conf:1=2");
	check_warnings(&d, NULL, 0);
	assert_int_equal(d.n_stale, 0);
	sysctld_release(&d);
}

/* All three, in a fixed order; quoted values; ufw's own IPT_SYSCTL file. */
static void test_all_three(void **state)
{
	static const char *const ufw_keys[] = { "net.ipv4.ip_local_port_range", "net.core.somaxconn" };
	struct sysctld d;

	(void) state;
	load(&d, "all-three");
	assert_int_equal(d.n_reappliers, 3);
	assert_string_equal(d.reappliers[0].name, "tuned");
	assert_string_equal(d.reappliers[0].detail, tuned_default_detail);
	assert_string_equal(d.reappliers[1].name, "ufw");
	assert_string_equal(d.reappliers[1].detail, "ufw applies /etc/ufw/custom.conf when it starts "
			    "(IPT_SYSCTL in /etc/default/ufw)");
	check_reapplier_keys(&d.reappliers[1], ufw_keys, ARRAY_SIZE(ufw_keys));
	assert_string_equal(d.reappliers[2].name, "bpftune");
	assert_string_equal(d.reappliers[2].detail, "bpftune tunes TCP sysctls automatically at runtime");
	assert_int_equal(d.n_files, 0);
	check_boot_only(&d, NULL, NULL);
	sysctld_release(&d);
}

/* Only its configuration file is left (package removed): TuneD still counts. */
static void test_tuned_config_only(void **state)
{
	struct sysctld d;

	(void) state;
	load(&d, "tuned-conf-only");
	assert_int_equal(d.n_reappliers, 1);
	assert_string_equal(d.reappliers[0].name, "tuned");
	assert_string_equal(d.reappliers[0].detail,
			    "TuneD applies its profile's sysctls and then re-applies the sysctl.d files "
			    "(reapply_sysctl = 1 in /etc/tuned/tuned-main.conf); "
			    "a runtime change is overwritten whenever tuned restarts");
	check_warnings(&d, NULL, 0);
	sysctld_release(&d);
}

/* ufw installed, with a sysctl file, but not enabled: nothing, quietly. */
static void test_ufw_not_enabled(void **state)
{
	static const char *const roots[] = {
		"ufw-disabled",		/* ENABLED=no */
		"ufw-enabled-empty",	/* ENABLED= */
	};
	struct sysctld d;

	(void) state;
	for (size_t i = 0; i < ARRAY_SIZE(roots); i++) {
		load(&d, roots[i]);
		assert_int_equal(d.n_reappliers, 0);
		check_warnings(&d, NULL, 0);
		assert_int_equal(d.n_stale, 0);
		sysctld_release(&d);
	}
}

/* Files that are missing, unreadable or partly bad: a warning each, and the
 * re-applier is still reported with what could be read. */
static void test_bad_files(void **state)
{
	static const struct {
		const char *root, *warning, *name, *detail;
		const char *keys[2];
		size_t n_keys;
	} cases[] = {
		{ "ufw-default-path", "/etc/ufw/sysctl.conf:2: line is not an assignment, ignored",
		  "ufw", "ufw applies /etc/ufw/sysctl.conf when it starts (IPT_SYSCTL in /etc/default/ufw)",
		  { "net.ipv4.tcp_syncookies" }, 1 },
		{ "ufw-missing-file", "/etc/ufw/gone.conf:0: cannot open, skipped: *",
		  "ufw", "ufw applies /etc/ufw/gone.conf when it starts (IPT_SYSCTL in /etc/default/ufw)",
		  { NULL }, 0 },
		{ "tuned-conf-unreadable", "/etc/tuned/tuned-main.conf:0: not a regular file, skipped",
		  "tuned", tuned_default_detail, { NULL }, 0 },
	};
	struct sysctld d;

	(void) state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		load(&d, cases[i].root);
		check_warnings(&d, &cases[i].warning, 1);
		assert_int_equal(d.n_reappliers, 1);
		assert_string_equal(d.reappliers[0].name, cases[i].name);
		assert_string_equal(d.reappliers[0].detail, cases[i].detail);
		check_reapplier_keys(&d.reappliers[0], cases[i].keys, cases[i].n_keys);
		if (cases[i].n_keys == 0)
			assert_null(d.reappliers[0].keys);
		assert_int_equal(d.n_assigns, 0);
		check_boot_only(&d, NULL, NULL);
		sysctld_release(&d);
	}
}

/* Called alone on a zeroed struct, it appends and touches nothing else;
 * sysctld_release() frees what it added. */
static void test_find_appends(void **state)
{
	static const char *const names[] = { "tuned", "ufw", "bpftune", "tuned", "ufw", "bpftune" };
	struct sysctld d;
	int fd = open_fixture("all-three");

	(void) state;
	memset(&d, 0, sizeof(d));
	assert_int_equal(reappliers_find(&d, fd), 0);
	assert_int_equal(reappliers_find(&d, fd), 0);
	close(fd);
	assert_int_equal(d.n_reappliers, ARRAY_SIZE(names));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		assert_string_equal(d.reappliers[i].name, names[i]);
	assert_int_equal(d.reappliers[4].n_keys, 2);
	assert_null(d.files);
	assert_null(d.keys);
	assert_int_equal(d.n_assigns, 0);
	check_warnings(&d, NULL, 0);
	sysctld_release(&d);
	assert_null(d.reappliers);
	assert_null(reappliers_free(NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tuned_off_and_ufw),
		cmocka_unit_test(test_all_three),
		cmocka_unit_test(test_tuned_config_only),
		cmocka_unit_test(test_ufw_not_enabled),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_find_appends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
