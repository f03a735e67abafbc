/* Container names from /proc/PID/cgroup text (snap_cgroup.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "snap_cgroup.h"

#define ID "4f1c5a3b2e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b"

static void test_runtimes(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "0::/system.slice/docker-" ID ".scope\n", "docker 4f1c5a3b2e9d" },
		{ "12:memory:/docker/" ID "\n11:pids:/docker/" ID "\n", "docker 4f1c5a3b2e9d" },
		{ "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d.slice/"
		  "cri-containerd-" ID ".scope\n",
		  "kubernetes pod 1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d container 4f1c5a3b2e9d" },
		{ "11:pids:/kubepods/besteffort/pod1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d/" ID "\n",
		  "kubernetes pod 1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d container 4f1c5a3b2e9d" },
		{ "0::/kubepods.slice/kubepods-pod1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d.slice\n",
		  "kubernetes pod 1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d" },
		{ "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope/container\n",
		  "podman 4f1c5a3b2e9d" },
		{ "0::/machine.slice/systemd-nspawn@web1.service/payload\n", "systemd-nspawn web1" },
	};
	char buf[160];

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(cgroup_container_parse(cases[i].text, buf, sizeof(buf)), 1);
		assert_string_equal(buf, cases[i].want);
	}
}

static void test_not_containers(void **state)
{
	static const char *const texts[] = {
		"0::/user.slice/user-1000.slice/session-3.scope\n",
		"0::/system.slice/sshd.service\n",
		"0::/\n",
		/* podman's monitor is not the container */
		"0::/machine.slice/libpod-conmon-" ID ".scope\n",
		/* too short to be an id, and not after /docker/ */
		"0::/docker-abc.scope\n5:cpu:/abcdef0123456789abcdef\n",
		"garbage without colons\n",
		"",
	};
	char buf[160];

	(void) state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		assert_int_equal(cgroup_container_parse(texts[i], buf, sizeof(buf)), 0);
		assert_string_equal(buf, "");
	}
}

static void test_small_buffer(void **state)
{
	char buf[8];

	(void) state;
	assert_int_equal(cgroup_container_parse("0::/system.slice/docker-" ID ".scope\n", buf, sizeof(buf)), -EOVERFLOW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runtimes),
		cmocka_unit_test(test_not_containers),
		cmocka_unit_test(test_small_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
