// SPDX-License-Identifier: GPL-2.0
/* Finding nftables flowtables that offload to hardware on the WAN.
 *
 * With `flags offload` the flowtable hands each connection it takes to the
 * NIC's driver (TC_SETUP_FT flow rules); the NIC then forwards both
 * directions by itself, past XDP and TC. The remote's packets to a triggered
 * connection still reach XDP (their destination is the WAN address, which
 * no offloaded rule matches before ptrig's translation), but the LAN host's
 * replies would leave the NIC untranslated, with the LAN address. A
 * software flowtable transmits through the WAN's TC egress and is fine. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/flowtable.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>

#include "devinfo.h"
#include "flowtable.h"
#include "ptrig_load.h"

static bool devs_has(const struct ptrig_wan_devs *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (!strncmp(d->name[i], name, IF_NAMESIZE))
			return true;
	return false;
}

static void devs_add(struct ptrig_wan_devs *d, const char *name)
{
	if (!*name || d->n >= PTRIG_WAN_DEVS_MAX || devs_has(d, name))
		return;
	snprintf(d->name[d->n++], IF_NAMESIZE, "%s", name);
}

struct link_info {
	int link;     /* IFLA_LINK, 0: none */
	bool link_ns; /* IFLA_LINK names a device of another namespace */
	char kind[16];
	unsigned short type;
};

static int linkinfo_attr(const struct nlattr *a, void *data)
{
	struct link_info *li = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
	    mnl_attr_validate(a, MNL_TYPE_STRING) >= 0)
		snprintf(li->kind, sizeof(li->kind), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *a, void *data)
{
	struct link_info *li = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_LINK:
		if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
			li->link = (int)mnl_attr_get_u32(a);
		break;
	case IFLA_LINK_NETNSID:
		li->link_ns = true;
		break;
	case IFLA_LINKINFO:
		mnl_attr_parse_nested(a, linkinfo_attr, li);
		break;
	}
	return MNL_CB_OK;
}

static int link_msg(const struct nlmsghdr *nlh, void *data)
{
	struct link_info *li = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	li->type = ifi->ifi_type;
	mnl_attr_parse(nlh, sizeof(*ifi), link_attr, li);
	return MNL_CB_OK;
}

/* One RTM_GETLINK. */
static int link_query(struct mnl_socket *nl, int ifindex, struct link_info *li)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	unsigned int seq = (unsigned int)time(NULL) ^ (unsigned int)ifindex;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	memset(li, 0, sizeof(*li));
	return ptrig_nl_talk(nl, nlh, link_msg, li);
}

/* Devices whose IFLA_LINK is the device they send through (for a veth it
 * is the peer, which is not under it). */
static bool kind_has_lower(const char *kind)
{
	static const char *const kinds[] = {"vlan", "macvlan", "macvtap",
					    "ipvlan", "ipvtap"};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kind, kinds[i]))
			return true;
	return false;
}

/* The Ethernet ports PPPoE sessions of this namespace run on. Which session
 * carries which ppp device is not shown, so a box with several sessions
 * gets all their ports. */
static void pppoe_ports(struct ptrig_wan_devs *d)
{
	FILE *f = fopen("/proc/thread-self/net/pppoe", "r");
	char line[256], dev[IF_NAMESIZE];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*x %*s %15s", dev) == 1)
			devs_add(d, dev);
	fclose(f);
}

int ptrig_wan_devs_find(const char *ifname, struct ptrig_wan_devs *d)
{
	struct mnl_socket *nl;
	struct link_info li;
	int ifindex = (int)if_nametoindex(ifname), depth, err = 0;
	char name[IF_NAMESIZE];

	memset(d, 0, sizeof(*d));
	if (!ifindex)
		return -ENODEV;
	devs_add(d, ifname);
	nl = ptrig_nl_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	/* Down the stack: a VLAN on a macvlan on a port is three. */
	for (depth = 0; depth < 4; depth++) {
		err = link_query(nl, ifindex, &li);
		if (err)
			break;
		if (depth == 0 && li.type == ARPHRD_PPP)
			pppoe_ports(d);
		if (!li.link || li.link == ifindex || li.link_ns ||
		    !kind_has_lower(li.kind) || !if_indextoname(li.link, name))
			break;
		devs_add(d, name);
		ifindex = li.link;
	}
	mnl_socket_close(nl);
	return err;
}

int ptrig_vlan_uppers(int ifindex)
{
	struct if_nameindex *ifs, *i;
	struct mnl_socket *nl;
	struct link_info li;
	int n = 0;

	nl = ptrig_nl_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (!(ifs = if_nameindex())) {
		n = -errno;
		mnl_socket_close(nl);
		return n;
	}
	for (i = ifs; i->if_index; i++)
		if ((int)i->if_index != ifindex &&
		    !link_query(nl, (int)i->if_index, &li) &&
		    li.link == ifindex && !li.link_ns &&
		    !strcmp(li.kind, "vlan"))
			n++;
	if_freenameindex(ifs);
	mnl_socket_close(nl);
	return n;
}

int ptrig_ft_classify(const struct nftnl_flowtable *ft,
		      const struct ptrig_wan_devs *d, const char **dev)
{
	const char *const *devs;
	size_t i;

	devs = nftnl_flowtable_get_array(ft, NFTNL_FLOWTABLE_DEVICES);
	for (i = 0; devs && devs[i]; i++)
		if (devs_has(d, devs[i]))
			break;
	if (!devs || !devs[i])
		return PTRIG_FT_NONE;
	if (dev)
		*dev = devs[i];
	if (nftnl_flowtable_is_set(ft, NFTNL_FLOWTABLE_FLAGS) &&
	    (nftnl_flowtable_get_u32(ft, NFTNL_FLOWTABLE_FLAGS) &
	     NFT_FLOWTABLE_HW_OFFLOAD))
		return PTRIG_FT_HW;
	return PTRIG_FT_SW;
}

bool ptrig_ft_offloads_on(const struct nftnl_flowtable *ft,
			  const struct ptrig_wan_devs *d, const char **dev)
{
	return ptrig_ft_classify(ft, d, dev) == PTRIG_FT_HW;
}

static const char *family_name(uint32_t f)
{
	switch (f) {
	case NFPROTO_INET:
		return "inet";
	case NFPROTO_IPV4:
		return "ip";
	case NFPROTO_IPV6:
		return "ip6";
	case NFPROTO_NETDEV:
		return "netdev";
	case NFPROTO_BRIDGE:
		return "bridge";
	case NFPROTO_ARP:
		return "arp";
	}
	return "?";
}

int ptrig_ft_msg_check(const struct nlmsghdr *nlh,
		       const struct ptrig_wan_devs *d, struct ptrig_ft_hit *hit)
{
	struct nftnl_flowtable *ft = nftnl_flowtable_alloc();
	const char *dev = NULL, *s;
	int ret;

	if (!ft)
		return -ENOMEM;
	if (nftnl_flowtable_nlmsg_parse(nlh, ft) < 0) {
		nftnl_flowtable_free(ft);
		return -EBADMSG;
	}
	ret = ptrig_ft_classify(ft, d, &dev);
	if (ret != PTRIG_FT_NONE) {
		memset(hit, 0, sizeof(*hit));
		snprintf(hit->family, sizeof(hit->family), "%s",
			 family_name(nftnl_flowtable_get_u32(
				 ft, NFTNL_FLOWTABLE_FAMILY)));
		s = nftnl_flowtable_get_str(ft, NFTNL_FLOWTABLE_TABLE);
		snprintf(hit->table, sizeof(hit->table), "%s", s ? s : "?");
		s = nftnl_flowtable_get_str(ft, NFTNL_FLOWTABLE_NAME);
		snprintf(hit->name, sizeof(hit->name), "%s", s ? s : "?");
		snprintf(hit->dev, sizeof(hit->dev), "%s", dev);
	}
	nftnl_flowtable_free(ft);
	return ret;
}

struct dump_ctx {
	const struct ptrig_wan_devs *d;
	struct ptrig_ft_hit *hit, *sw;
	int found;
};

/* The first hardware one goes to hit, the first software one to sw; the
 * dump is read to its end either way. */
static int dump_msg(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *c = data;
	struct ptrig_ft_hit h;
	int r;

	if (c->found)
		return MNL_CB_OK;
	r = ptrig_ft_msg_check(nlh, c->d, &h);
	if (r == PTRIG_FT_HW) {
		*c->hit = h;
		c->found = 1;
	} else if (r == PTRIG_FT_SW && c->sw && !c->sw->name[0]) {
		*c->sw = h;
	}
	return MNL_CB_OK;
}

/* nf_tables is a module that is not loaded: there is no flowtable, and
 * asking would load it. */
static bool nf_tables_absent(void)
{
	FILE *f = fopen("/proc/modules", "r");
	char line[512], path[300];
	struct utsname u;
	bool found = false;

	if (!f)
		return false; /* no modules: built in, or nfnetlink will say */
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "nf_tables ", 10);
	fclose(f);
	if (found || uname(&u))
		return false;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin",
		 u.release);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "/nf_tables.ko") != NULL;
	fclose(f);
	return !found;
}

int ptrig_ft_find_hw_offload(const struct ptrig_wan_devs *d,
			     struct ptrig_ft_hit *hit, struct ptrig_ft_hit *sw)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct dump_ctx c = {.d = d, .hit = hit, .sw = sw};
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	unsigned int seq = (unsigned int)time(NULL);
	int err = 0;

	if (nf_tables_absent())
		return 0;
	nl = ptrig_nl_open(NETLINK_NETFILTER);
	if (!nl)
		return errno == EPROTONOSUPPORT ? 0 : -errno;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETFLOWTABLE, NFPROTO_UNSPEC,
				    NLM_F_DUMP, seq);
	err = ptrig_nl_talk(nl, nlh, dump_msg, &c);
	if (err) {
		/* A kernel without nf_tables has no flowtables. */
		if (err == -ENOENT || err == -EINVAL || err == -EOPNOTSUPP)
			err = 0;
		goto out;
	}
	err = c.found;
out:
	mnl_socket_close(nl);
	return err;
}

int ptrig_ft_verdict(const char *ifname, int found,
		     const struct ptrig_ft_hit *hit,
		     const struct ptrig_ft_hit *sw, bool allow,
		     struct ptrig_msgs *m)
{
	if (found < 0) {
		ptrig_msg(m, PTRIG_MSG_WARN,
			  "%s: cannot read the nftables flowtables (%s), so "
			  "hardware flowtable offload is not checked",
			  ifname, strerror(-found));
		return 0;
	}
	if (!found) {
		if (sw && sw->name[0])
			ptrig_msg(m, PTRIG_MSG_INFO,
				  "flowtable %s %s %s on %s: software fast "
				  "path, which passes ptrig's hooks",
				  sw->family, sw->table, sw->name, sw->dev);
		return 0;
	}
	if (allow) {
		ptrig_msg(m, PTRIG_MSG_WARN,
			  "%s: flowtable %s %s %s offloads to hardware on %s "
			  "(flags offload); --allow-hw-offload: replies of "
			  "triggered connections the NIC takes over leave "
			  "without ptrig's translation",
			  ifname, hit->family, hit->table, hit->name, hit->dev);
		return 0;
	}
	ptrig_msg(m, PTRIG_MSG_ERROR,
		  "%s: flowtable %s %s %s offloads to hardware on %s (flags "
		  "offload): the NIC forwards the connections it takes over "
		  "by itself, past XDP and TC, so the replies of triggered "
		  "connections would leave with the LAN host's address; drop "
		  "`flags offload` (the software flowtable works with ptrig), "
		  "or keep ptrig's connections out of `flow add` and attach "
		  "with --allow-hw-offload",
		  ifname, hit->family, hit->table, hit->name, hit->dev);
	return PTRIG_EXIT_FAIL;
}

int ptrig_ft_attach_check(const char *ifname, bool allow, struct ptrig_msgs *m)
{
	struct ptrig_wan_devs d;
	struct ptrig_ft_hit hit = {0}, sw = {0};
	int r = ptrig_wan_devs_find(ifname, &d);

	if (!r)
		r = ptrig_ft_find_hw_offload(&d, &hit, &sw);
	return ptrig_ft_verdict(ifname, r, &hit, &sw, allow, m);
}
