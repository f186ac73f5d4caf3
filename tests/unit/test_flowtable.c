// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the hardware-flowtable check of attach: flowtables built in
 * memory with libnftnl (no NIC here can hold one with `flags offload`),
 * alone and as the netlink message a dump would carry, and the verdict with
 * its texts and exit codes. The dump itself, and the walk down to the
 * devices under a WAN, run in a fresh network namespace (no flowtable). */
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
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/flowtable.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "flowtable.h"
#include "msgs.h"
#include "ptrig_load.h"

static struct nftnl_flowtable *ft_new(uint32_t flags, bool set_flags,
				      const char **devs)
{
	struct nftnl_flowtable *ft = nftnl_flowtable_alloc();

	assert_non_null(ft);
	nftnl_flowtable_set_str(ft, NFTNL_FLOWTABLE_NAME, "ft");
	nftnl_flowtable_set_str(ft, NFTNL_FLOWTABLE_TABLE, "fw4");
	nftnl_flowtable_set_u32(ft, NFTNL_FLOWTABLE_FAMILY, NFPROTO_INET);
	nftnl_flowtable_set_u32(ft, NFTNL_FLOWTABLE_HOOKNUM, NF_NETDEV_INGRESS);
	nftnl_flowtable_set_u32(ft, NFTNL_FLOWTABLE_PRIO, 0);
	if (set_flags)
		nftnl_flowtable_set_u32(ft, NFTNL_FLOWTABLE_FLAGS, flags);
	if (devs)
		assert_int_equal(nftnl_flowtable_set_array(
					 ft, NFTNL_FLOWTABLE_DEVICES, devs),
				 0);
	return ft;
}

static void devs_of(struct ptrig_wan_devs *d, const char *a, const char *b)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name[d->n++], IF_NAMESIZE, "%s", a);
	if (b)
		snprintf(d->name[d->n++], IF_NAMESIZE, "%s", b);
}

static const char *lan_wan[] = {"lan0", "wan0", NULL};

static void test_offload_on_wan(void **state)
{
	struct nftnl_flowtable *ft =
		ft_new(NFT_FLOWTABLE_HW_OFFLOAD, true, lan_wan);
	struct ptrig_wan_devs d;
	const char *dev = NULL;

	(void)state;
	devs_of(&d, "wan0", NULL);
	assert_true(ptrig_ft_offloads_on(ft, &d, &dev));
	assert_string_equal(dev, "wan0");
	nftnl_flowtable_free(ft);
}

/* A VLAN WAN: the flowtable lists the port under it. */
static void test_offload_on_lower(void **state)
{
	const char *ports[] = {"lan0", "eth1", NULL};
	struct nftnl_flowtable *ft =
		ft_new(NFT_FLOWTABLE_HW_OFFLOAD, true, ports);
	struct ptrig_wan_devs d;
	const char *dev = NULL;

	(void)state;
	devs_of(&d, "eth1.7", "eth1");
	assert_true(ptrig_ft_offloads_on(ft, &d, &dev));
	assert_string_equal(dev, "eth1");
	devs_of(&d, "eth1.7", NULL);
	assert_false(ptrig_ft_offloads_on(ft, &d, &dev));
	nftnl_flowtable_free(ft);
}

/* Negative cases: software flowtables, and offload elsewhere. */
static void test_no_offload(void **state)
{
	const char *lan_only[] = {"lan0", "lan1", NULL};
	struct nftnl_flowtable *sw = ft_new(0, true, lan_wan);
	struct nftnl_flowtable *unset = ft_new(0, false, lan_wan);
	struct nftnl_flowtable *other =
		ft_new(NFT_FLOWTABLE_HW_OFFLOAD, true, lan_only);
	struct nftnl_flowtable *nodevs =
		ft_new(NFT_FLOWTABLE_HW_OFFLOAD, true, NULL);
	struct nftnl_flowtable *hw =
		ft_new(NFT_FLOWTABLE_HW_OFFLOAD, true, lan_wan);
	struct ptrig_wan_devs d;

	(void)state;
	devs_of(&d, "wan0", NULL);
	assert_false(ptrig_ft_offloads_on(sw, &d, NULL));
	assert_false(ptrig_ft_offloads_on(unset, &d, NULL));
	assert_false(ptrig_ft_offloads_on(other, &d, NULL));
	assert_false(ptrig_ft_offloads_on(nodevs, &d, NULL));
	/* A prefix of a listed name is another device. */
	devs_of(&d, "wan", NULL);
	assert_false(ptrig_ft_offloads_on(hw, &d, NULL));
	nftnl_flowtable_free(hw);
	nftnl_flowtable_free(sw);
	nftnl_flowtable_free(unset);
	nftnl_flowtable_free(other);
	nftnl_flowtable_free(nodevs);
}

/* The flowtable as a dump's NEWFLOWTABLE message: parsed back by the code
 * that reads the kernel's dump. */
static int msg_check(uint32_t flags, const char *wan, struct ptrig_ft_hit *hit)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_flowtable *ft = ft_new(flags, true, lan_wan);
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWFLOWTABLE,
						     NFPROTO_INET, 0, 1);
	struct ptrig_wan_devs d;
	int r;

	nftnl_flowtable_nlmsg_build_payload(nlh, ft);
	nftnl_flowtable_free(ft);
	devs_of(&d, wan, NULL);
	memset(hit, 0, sizeof(*hit));
	r = ptrig_ft_msg_check(nlh, &d, hit);
	return r;
}

static void test_netlink_message(void **state)
{
	struct ptrig_ft_hit hit;

	(void)state;
	assert_int_equal(msg_check(NFT_FLOWTABLE_HW_OFFLOAD, "wan0", &hit),
			 PTRIG_FT_HW);
	assert_string_equal(hit.family, "inet");
	assert_string_equal(hit.table, "fw4");
	assert_string_equal(hit.name, "ft");
	assert_string_equal(hit.dev, "wan0");
	assert_int_equal(msg_check(0, "wan0", &hit), PTRIG_FT_SW);
	assert_string_equal(hit.dev, "wan0");
	assert_int_equal(msg_check(NFT_FLOWTABLE_HW_OFFLOAD, "wan1", &hit),
			 PTRIG_FT_NONE);
}

static void test_verdict(void **state)
{
	struct ptrig_ft_hit hit = {
		.family = "inet", .table = "fw4", .name = "ft", .dev = "wan0"};
	struct ptrig_ft_hit sw = {.family = "inet",
				  .table = "fw4",
				  .name = "sw",
				  .dev = "wan0"},
			    none = {.family = ""};
	struct ptrig_msgs m = {0};

	(void)state;
	/* Refused: exit 1, the flowtable and the way out named. */
	assert_int_equal(ptrig_ft_verdict("wan0", 1, &hit, &sw, false, &m),
			 PTRIG_EXIT_FAIL);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.v[0].level, PTRIG_MSG_ERROR);
	assert_non_null(strstr(m.v[0].text,
			       "wan0: flowtable inet fw4 ft offloads to "
			       "hardware on wan0 (flags offload)"));
	assert_non_null(strstr(m.v[0].text, "--allow-hw-offload"));
	ptrig_msgs_free(&m);
	/* Allowed: a warning, and on. */
	assert_int_equal(ptrig_ft_verdict("wan0", 1, &hit, &sw, true, &m), 0);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.v[0].level, PTRIG_MSG_WARN);
	assert_non_null(strstr(m.v[0].text, "--allow-hw-offload"));
	ptrig_msgs_free(&m);
	/* Nothing found: silent. */
	assert_int_equal(ptrig_ft_verdict("wan0", 0, &hit, &none, false, &m),
			 0);
	assert_int_equal(m.n, 0);
	/* A software flowtable: named, no warning. */
	assert_int_equal(ptrig_ft_verdict("wan0", 0, &hit, &sw, false, &m), 0);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.v[0].level, PTRIG_MSG_INFO);
	assert_string_equal(m.v[0].text,
			    "flowtable inet fw4 sw on wan0: software fast "
			    "path, which passes ptrig's hooks");
	ptrig_msgs_free(&m);
	/* Unreadable: a warning, not a refusal. */
	assert_int_equal(
		ptrig_ft_verdict("wan0", -EPERM, &hit, &none, false, &m), 0);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.v[0].level, PTRIG_MSG_WARN);
	assert_non_null(strstr(m.v[0].text, "not checked"));
	ptrig_msgs_free(&m);
}

/* The real dump and link walk, in a namespace of the test's own. */
static void test_fresh_netns(void **state)
{
	struct ptrig_wan_devs d;
	struct ptrig_ft_hit hit;
	struct ptrig_msgs m = {0};

	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET)) {
		skip();
		return;
	}
	assert_int_equal(ptrig_wan_devs_find("lo", &d), 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.name[0], "lo");
	assert_int_equal(ptrig_wan_devs_find("ptrig-nosuch0", &d), -ENODEV);
	/* A macvlan WAN: its parent is under it; a veth's peer is not. */
	assert_int_equal(
		system("ip link add ptv0 type veth peer name ptv1 && "
		       "ip link add link ptv0 name ptmv0 type macvlan"),
		0);
	assert_int_equal(ptrig_wan_devs_find("ptmv0", &d), 0);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.name[0], "ptmv0");
	assert_string_equal(d.name[1], "ptv0");
	assert_int_equal(ptrig_wan_devs_find("ptv0", &d), 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.name[0], "ptv0");
	assert_int_equal(ptrig_ft_find_hw_offload(&d, &hit, NULL), 0);
	assert_int_equal(ptrig_ft_attach_check("lo", false, &m), 0);
	assert_int_equal(m.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offload_on_wan),
		cmocka_unit_test(test_offload_on_lower),
		cmocka_unit_test(test_no_offload),
		cmocka_unit_test(test_netlink_message),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_fresh_netns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
