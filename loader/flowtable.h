/* SPDX-License-Identifier: GPL-2.0 */
/* nftables flowtables with hardware offload on the WAN. A NIC forwards the
 * connections such a flowtable offloads by itself: their packets never
 * reach XDP or TC, so the replies of a triggered connection would leave
 * with the LAN host's address instead of ptrig's translation. attach finds
 * such flowtables (read over nfnetlink with libnftnl) and refuses. */
#ifndef PTRIG_FLOWTABLE_H
#define PTRIG_FLOWTABLE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include "msgs.h"

struct nftnl_flowtable;
struct nlmsghdr;

#define PTRIG_WAN_DEVS_MAX 8

/* The devices a WAN's packets cross: the interface, the devices under it
 * (a VLAN's or macvlan's parent, a PPPoE session's Ethernet port). */
struct ptrig_wan_devs {
	char name[PTRIG_WAN_DEVS_MAX][IF_NAMESIZE];
	size_t n;
};

/* A flowtable that offloads to hardware on one of the WAN's devices. */
struct ptrig_ft_hit {
	char family[8]; /* inet, ip, ip6, netdev, ... */
	char table[64];
	char name[64];
	char dev[IF_NAMESIZE]; /* the WAN device it lists */
};

/* Fill d with ifname and the devices under it, in the calling thread's
 * network namespace. Returns 0 or -errno (ifname unknown). */
int ptrig_wan_devs_find(const char *ifname, struct ptrig_wan_devs *d);

/* How many VLAN devices sit on ifindex (in this network namespace), or
 * -errno. */
int ptrig_vlan_uppers(int ifindex);

enum ptrig_ft_kind {
	PTRIG_FT_NONE, /* lists none of the WAN's devices */
	PTRIG_FT_SW,   /* a software flowtable on the WAN: fine */
	PTRIG_FT_HW,   /* offloads to hardware on the WAN */
};

/* What ft is to the WAN whose devices are d; dev: the device it lists. */
int ptrig_ft_classify(const struct nftnl_flowtable *ft,
		      const struct ptrig_wan_devs *d, const char **dev);

/* Does ft offload to hardware on one of d's devices? If so, the device. */
bool ptrig_ft_offloads_on(const struct nftnl_flowtable *ft,
			  const struct ptrig_wan_devs *d, const char **dev);

/* One flowtable message of a dump (NFT_MSG_NEWFLOWTABLE): its kind
 * (enum ptrig_ft_kind), hit filled unless PTRIG_FT_NONE; -errno when it
 * cannot be parsed. */
int ptrig_ft_msg_check(const struct nlmsghdr *nlh,
		       const struct ptrig_wan_devs *d,
		       struct ptrig_ft_hit *hit);

/* Every flowtable of the calling thread's network namespace: 1 and hit
 * filled for the first that offloads to hardware on one of d's devices, 0
 * for none (also without nf_tables), -errno when they cannot be read. sw
 * (if not NULL, zeroed by the caller) gets the first software flowtable on
 * them. */
int ptrig_ft_find_hw_offload(const struct ptrig_wan_devs *d,
			     struct ptrig_ft_hit *hit, struct ptrig_ft_hit *sw);

/* What attach makes of ptrig_ft_find_hw_offload's answer found (and hit,
 * sw): 0 to go on, else PTRIG_EXIT_FAIL with the reason in m. With allow, a
 * hit is a warning only; a dump that failed is a warning; a software
 * flowtable is named. */
int ptrig_ft_verdict(const char *ifname, int found,
		     const struct ptrig_ft_hit *hit,
		     const struct ptrig_ft_hit *sw, bool allow,
		     struct ptrig_msgs *m);

/* attach's check: the WAN's devices, the flowtables, the verdict. */
int ptrig_ft_attach_check(const char *ifname, bool allow, struct ptrig_msgs *m);

#endif
