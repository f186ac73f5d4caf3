// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the root-qdisc query the fast path's --lan-mode auto asks
 * (a shaping WAN keeps the LAN program at TC): which kinds only queue, and
 * the real rtnetlink dump in a network namespace of the test's own, with a
 * veth whose root qdisc is replaced by a shaper. */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "qdisc.h"

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
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_kinds),
		cmocka_unit_test(test_root_qdisc_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
