// SPDX-License-Identifier: GPL-2.0
/* Unit tests of what the fast path asks of a device: the root qdisc (a
 * shaping WAN keeps the LAN program at TC): which kinds only queue, and the
 * real rtnetlink dump in a network namespace of the test's own, with a veth
 * whose root qdisc is replaced by a shaper; and the XDP features (does the
 * driver take redirected frames), against a veth whose peer turns GRO on
 * and off (kernel 6.3 on; before, the answer is "unknown"). */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <cmocka.h>

#include "devinfo.h"

static void test_plain_kinds(void **state)
{
	(void)state;
	assert_true(ptrig_qdisc_kind_plain("noqueue"));
	assert_true(ptrig_qdisc_kind_plain("mq"));
	assert_true(ptrig_qdisc_kind_plain("fq_codel"));
	assert_true(ptrig_qdisc_kind_plain("pfifo_fast"));
	assert_false(ptrig_qdisc_kind_plain("cake"));
	assert_false(ptrig_qdisc_kind_plain("htb"));
	assert_false(ptrig_qdisc_kind_plain("tbf"));
	assert_false(ptrig_qdisc_kind_plain(""));
}

static void test_root_qdisc_dump(void **state)
{
	char kind[32] = "x";
	int idx;

	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET)) {
		skip();
		return;
	}
	assert_int_equal(system("ip link add ptq0 type veth peer name ptq1 && "
				"ip link set ptq0 up && ip link set ptq1 up"),
			 0);
	idx = (int)if_nametoindex("ptq0");
	assert_true(idx > 0);
	assert_int_equal(ptrig_root_qdisc_kind(idx, kind, sizeof(kind)), 0);
	assert_string_equal(kind, "noqueue");
	assert_int_equal(system("tc qdisc add dev ptq0 root tbf rate 100mbit "
				"burst 64k latency 50ms"),
			 0);
	assert_int_equal(ptrig_root_qdisc_kind(idx, kind, sizeof(kind)), 0);
	assert_string_equal(kind, "tbf");
	/* The other end's answer is its own. */
	assert_int_equal(ptrig_root_qdisc_kind((int)if_nametoindex("ptq1"),
					       kind, sizeof(kind)),
			 0);
	assert_string_equal(kind, "noqueue");
	assert_int_equal(ptrig_root_qdisc_kind(999999, kind, sizeof(kind)),
			 -ENOENT);
	assert_string_equal(kind, "");
	assert_int_equal(ptrig_qdisc_shaping(idx, kind, sizeof(kind)), 1);
	assert_string_equal(kind, "tbf");
	assert_int_equal(ptrig_qdisc_shaping((int)if_nametoindex("ptq1"), kind,
					     sizeof(kind)),
			 0);
	/* A shaper under a multiqueue root counts too. */
	assert_int_equal(
		system("ip link add ptq2 numtxqueues 2 type veth peer name "
		       "ptq3 "
		       "&& ip link set ptq2 up && tc qdisc add dev ptq2 root "
		       "handle 1: mq"),
		0);
	idx = (int)if_nametoindex("ptq2");
	assert_int_equal(ptrig_qdisc_shaping(idx, kind, sizeof(kind)), 0);
	assert_int_equal(system("tc qdisc replace dev ptq2 parent 1:1 tbf rate "
				"100mbit burst 64k latency 50ms"),
			 0);
	assert_int_equal(ptrig_qdisc_shaping(idx, kind, sizeof(kind)), 1);
	assert_string_equal(kind, "tbf");
	assert_int_equal(system("tc qdisc add dev ptq2 clsact"), 0);
	assert_int_equal(system("tc qdisc replace dev ptq2 parent 1:1 pfifo"),
			 0);
	assert_int_equal(ptrig_qdisc_shaping(idx, kind, sizeof(kind)), 0);
}

static bool kernel_has_xdp_features(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 3);
}

static void test_xdp_features(void **state)
{
	uint64_t f = 1;
	int idx;

	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET)) {
		skip();
		return;
	}
	assert_int_equal(system("ip link add ptx0 type veth peer name ptx1 && "
				"ip link set ptx0 up && ip link set ptx1 up"),
			 0);
	idx = (int)if_nametoindex("ptx0");
	if (!kernel_has_xdp_features()) {
		assert_int_equal(ptrig_xdp_features(idx, &f), -EOPNOTSUPP);
		assert_true(f == 0);
		return;
	}
	assert_int_equal(ptrig_xdp_features(idx, &f), 0);
	assert_false(f & PTRIG_XDP_ACT_NDO_XMIT);
	assert_int_equal(system("ethtool -K ptx1 gro on >/dev/null"), 0);
	assert_int_equal(ptrig_xdp_features(idx, &f), 0);
	assert_true(f & PTRIG_XDP_ACT_NDO_XMIT);
	assert_int_equal(system("ethtool -K ptx1 gro off >/dev/null"), 0);
	assert_int_equal(ptrig_xdp_features(idx, &f), 0);
	assert_false(f & PTRIG_XDP_ACT_NDO_XMIT);
	assert_true(ptrig_xdp_features(999999, &f) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_kinds),
		cmocka_unit_test(test_root_qdisc_dump),
		cmocka_unit_test(test_xdp_features),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
