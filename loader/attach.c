// SPDX-License-Identifier: GPL-2.0
/* The library's attach (and upgrade), reload and detach. They return a
 * PTRIG_EXIT_* code and leave what they have to say in a struct ptrig_msgs;
 * they print nothing: the CLI and the agent are their front-ends. */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "attach.h"
#include "cmds.h"
#include "config.h"
#include "flowtable.h"
#include "pins.h"
#include "devinfo.h"
#include "skel_fds.h"

/* ptrig's TC filters sit at a fixed handle/priority so an upgrade can replace
 * them in place and detach removes exactly them. */
#define PTRIG_TC_HANDLE 1
#define PTRIG_TC_PRIO 0x7074

const char *xdp_mode_name(uint32_t flags)
{
	if (flags & XDP_FLAGS_SKB_MODE)
		return "generic";
	if (flags & XDP_FLAGS_HW_MODE)
		return "offload";
	return "native";
}

static uint32_t tc_prog_id(int ifindex, enum bpf_tc_attach_point where)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PTRIG_TC_HANDLE,
			    .priority = PTRIG_TC_PRIO);

	if (bpf_tc_query(&hook, &opts))
		return 0;
	return opts.prog_id;
}

void hooks_query(int ifindex, struct hook_progs *h)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, xq);

	memset(h, 0, sizeof(*h));
	if (bpf_xdp_query(ifindex, 0, &xq) == 0) {
		if (xq.attach_mode == XDP_ATTACHED_SKB) {
			h->xdp_id = xq.skb_prog_id;
			h->xdp_flags = XDP_FLAGS_SKB_MODE;
		} else if (xq.attach_mode == XDP_ATTACHED_DRV) {
			h->xdp_id = xq.drv_prog_id;
			h->xdp_flags = XDP_FLAGS_DRV_MODE;
		} else if (xq.attach_mode) {
			h->xdp_id = xq.prog_id;
		}
		if (h->xdp_id && prog_is_lan_program(h->xdp_id)) {
			h->lan_xdp_id = h->xdp_id;
			h->xdp_id = 0;
			h->xdp_flags = 0;
		}
	}
	h->tc_egress_id = tc_prog_id(ifindex, BPF_TC_EGRESS);
	h->tc_ingress_id = tc_prog_id(ifindex, BPF_TC_INGRESS);
}

bool prog_name_starts(uint32_t id, const char *prefix)
{
	struct bpf_prog_info info = {0};
	uint32_t len = sizeof(info);
	bool match;
	int fd;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return false;
	match = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		strncmp(info.name, prefix, strlen(prefix)) == 0;
	close(fd);
	return match;
}

bool prog_is_ptrig(uint32_t id)
{
	return prog_name_starts(id, "ptrig_");
}

/* Is program id the fast path's LAN program? It uses the WAN attachment's
 * maps from another interface by design. */
bool prog_is_lan_program(uint32_t id)
{
	/* The kernel keeps 15 characters of ptrig_tc_lan_ingress and
	 * ptrig_xdp_lan_ingress. */
	return prog_name_starts(id, "ptrig_tc_lan_in") ||
	       prog_name_starts(id, "ptrig_xdp_lan_i");
}

static int tc_attach(int ifindex, enum bpf_tc_attach_point where, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PTRIG_TC_HANDLE,
			    .priority = PTRIG_TC_PRIO, .prog_fd = prog_fd,
			    .flags = BPF_TC_F_REPLACE);

	return bpf_tc_attach(&hook, &opts);
}

static void tc_detach(int ifindex, enum bpf_tc_attach_point where)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PTRIG_TC_HANDLE,
			    .priority = PTRIG_TC_PRIO);

	bpf_tc_detach(&hook, &opts);
}

/* How many filters the clsact qdisc of ifindex holds on one side (the
 * kernel lists each filter, and each classifier instance once more), or 0
 * without a qdisc. A netlink dump: libbpf can only query a filter by its
 * handle and priority. */
static int tc_filter_count(int ifindex, uint32_t parent)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
		.nh.nlmsg_type = RTM_GETTFILTER,
		.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		.nh.nlmsg_seq = 1,
		.tc.tcm_family = AF_UNSPEC,
		.tc.tcm_ifindex = ifindex,
		.tc.tcm_parent = parent,
	};
	static char buf[32768];
	int fd, n = 0, len;
	bool done = false;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
		n = -errno;
		goto out;
	}
	while (!done && (len = recv(fd, buf, sizeof(buf), 0)) > 0) {
		struct nlmsghdr *nh = (struct nlmsghdr *)buf;

		for (; NLMSG_OK(nh, (unsigned int)len);
		     nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == NLMSG_DONE ||
			    nh->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			if (nh->nlmsg_type == RTM_NEWTFILTER)
				n++;
		}
	}
out:
	close(fd);
	return n;
}

/* Does the clsact qdisc of ifindex hold filters (other tools')? */
static bool clsact_in_use(int ifindex)
{
	return tc_filter_count(ifindex,
			       TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)) != 0 ||
	       tc_filter_count(ifindex,
			       TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)) != 0;
}

static void clsact_destroy(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	bpf_tc_hook_destroy(&hook);
}

/* The fast path's program on the LAN interface's TC ingress. Several WAN
 * attachments may share one LAN interface, so each has its own filter,
 * with the WAN's ifindex (recorded in its config) as the handle. */
uint32_t lan_prog_id(int lan, uint32_t handle)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = lan,
			    .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle,
			    .priority = PTRIG_TC_PRIO);

	if (bpf_tc_query(&hook, &opts))
		return 0;
	return opts.prog_id;
}

/* Put (or replace) the LAN program; *created says whether this made the
 * clsact qdisc. */
static int lan_attach(int lan, uint32_t handle, int prog_fd, bool *created)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = lan,
			    .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle,
			    .priority = PTRIG_TC_PRIO, .prog_fd = prog_fd,
			    .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	*created = !err;
	err = bpf_tc_attach(&hook, &opts);
	if (err && *created)
		clsact_destroy(lan);
	return err;
}

/* The interface's driver name and bus, from ethtool (driver "?" if none). */
static void drv_info(const char *ifname, struct ethtool_drvinfo *info)
{
	struct ifreq ifr = {0};
	int fd;

	memset(info, 0, sizeof(*info));
	info->cmd = ETHTOOL_GDRVINFO;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)info;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ioctl(fd, SIOCETHTOOL, &ifr)) {
		memset(info, 0, sizeof(*info));
		snprintf(info->driver, sizeof(info->driver), "?");
	}
	if (fd >= 0)
		close(fd);
}

/* Is program id a fast-path LAN program in native XDP using the
 * attachment's maps (map_id: its stats map's id)? */
bool lan_xdp_is_ours(uint32_t id, uint32_t map_id)
{
	return id && prog_name_starts(id, "ptrig_xdp_lan_i") &&
	       ptrig_prog_uses_map(id, map_id);
}

/* The XDP program on an interface, in whichever mode (0: none). */
uint32_t lan_xdp_id(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return 0;
	return q.prog_id       ? q.prog_id
	       : q.drv_prog_id ? q.drv_prog_id
	       : q.skb_prog_id ? q.skb_prog_id
			       : q.hw_prog_id;
}

/* Put the LAN program in native XDP, replacing old_id (0: the slot must be
 * free); *old_fd keeps a reference to the replaced program for a
 * rollback. */
static int lan_xdp_attach(int lan, int prog_fd, uint32_t old_id, int *old_fd)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, xo);

	*old_fd = -1;
	if (!old_id)
		return bpf_xdp_attach(
			lan, prog_fd,
			XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	*old_fd = bpf_prog_get_fd_by_id(old_id);
	if (*old_fd < 0)
		return -errno;
	xo.old_prog_fd = *old_fd;
	return bpf_xdp_attach(lan, prog_fd,
			      XDP_FLAGS_DRV_MODE | XDP_FLAGS_REPLACE, &xo);
}

/* Take the LAN's XDP program prog_fd off again after a failed attach:
 * back to old_fd (the program it replaced), or none. */
static void lan_xdp_undo(int lan, int prog_fd, int old_fd)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, xo, .old_prog_fd = prog_fd);

	bpf_xdp_attach(lan, old_fd, XDP_FLAGS_DRV_MODE | XDP_FLAGS_REPLACE,
		       &xo);
}

/* Does a LAN interface receive from a wire, so that native XDP sees full
 * checksums? A NIC on a bus does. A veth, tun or bridge hands on the
 * sender's packets, which may carry only a pseudo-header sum
 * (CHECKSUM_PARTIAL) that XDP cannot see. */
static bool lan_from_wire(const char *ifname, char *driver, size_t len)
{
	struct ethtool_drvinfo info;

	drv_info(ifname, &info);
	snprintf(driver, len, "%s", info.driver);
	return info.bus_info[0] && strcmp(info.bus_info, "N/A") &&
	       strcmp(info.driver, "tun") && strcmp(info.driver, "veth");
}

/*
 * Should the fast path's LAN program run in native XDP on the LAN
 * interface (else at TC ingress)? --lan-mode xdp: yes, unless another
 * program holds the LAN's XDP slot (-1, said why). Auto: only for a NIC
 * that receives from a wire, whose XDP slot is free or holds this
 * attachment's own LAN program, behind a WAN that runs native XDP itself
 * (a sign its driver also takes redirected frames) and does not shape
 * (frames redirected in XDP pass the WAN's qdisc by). own_id: the XDP
 * program this attachment has on the LAN now (0: none).
 */
static int lan_use_xdp(const struct ptrig_fast_config *fc, int wan,
		       uint32_t wan_xdp, uint32_t cfg_id, uint32_t *own_id,
		       struct ptrig_msgs *m)
{
	bool want = fc->lan_flags & PTRIG_FAST_LAN_WANT_XDP;
	uint32_t id = lan_xdp_id(fc->lan_ifindex);
	char driver[32], qdisc[32], wan_name[IF_NAMESIZE] = "?";
	bool shaped, wire, known;
	uint64_t wan_feat;
	int vlans;

	*own_id = 0;
	if (fc->lan_flags & PTRIG_FAST_LAN_WANT_TC)
		return 0;
	if (id && !lan_xdp_is_ours(id, cfg_id)) {
		if (!want) {
			ptrig_msg(m, PTRIG_MSG_INFO,
				  "fast path: %s already has an XDP program "
				  "(id %u); the LAN program goes to its TC "
				  "ingress",
				  fc->lan_name, id);
			return 0;
		}
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "--lan-mode xdp: %s already has an XDP program (id "
			  "%u, not this attachment's); remove it or use "
			  "--lan-mode tc; nothing was changed",
			  fc->lan_name, id);
		return -1;
	}
	*own_id = id;
	if_indextoname(wan, wan_name);
	shaped = ptrig_qdisc_shaping(wan, qdisc, sizeof(qdisc)) > 0;
	vlans = ptrig_vlan_uppers(fc->lan_ifindex);
	wire = lan_from_wire(fc->lan_name, driver, sizeof(driver));
	/* Known from 6.3 on; before, the WAN's own XDP mode is the hint. */
	known = !ptrig_xdp_features(wan, &wan_feat);
	if (known && !(wan_feat & PTRIG_XDP_ACT_NDO_XMIT)) {
		ptrig_msg(m, want ? PTRIG_MSG_ERROR : PTRIG_MSG_INFO,
			  "%s%s does not take frames redirected from XDP (its "
			  "driver reports no XDP transmit; a veth takes them "
			  "only while its peer runs XDP or GRO)%s",
			  want ? "--lan-mode xdp: " : "fast path: ", wan_name,
			  want ? "; use --lan-mode tc; nothing was changed"
			       : "; the LAN program goes to TC ingress");
		return want ? -1 : 0;
	}
	if (want) {
		if (vlans > 0)
			ptrig_msg(
				m, PTRIG_MSG_WARN,
				"fast path: %s has VLAN devices on it; a NIC "
				"that strips VLAN tags shows their frames to "
				"XDP untagged, so a VLAN's host could send as "
				"the owner (use --lan-mode tc, or turn off "
				"rx-vlan-offload)",
				fc->lan_name);
		if (!wire)
			ptrig_msg(m, PTRIG_MSG_WARN,
				  "fast path: %s (driver %s) may hand on "
				  "partial checksums (a local sender's), which "
				  "native XDP's rewrite cannot fix: use it "
				  "only with senders that fill in their "
				  "checksums",
				  fc->lan_name, driver);
		if (!known && !(wan_xdp & XDP_FLAGS_DRV_MODE))
			ptrig_msg(m, PTRIG_MSG_WARN,
				  "fast path: %s runs generic XDP; frames "
				  "native XDP on %s sends are dropped unless "
				  "%s's driver has XDP transmit",
				  wan_name, fc->lan_name, wan_name);
		if (shaped)
			ptrig_msg(m, PTRIG_MSG_WARN,
				  "fast path: %s's qdisc %s shapes, and the "
				  "owner's packets that native XDP on %s sends "
				  "pass it by (use --lan-mode tc to keep them "
				  "in it)",
				  wan_name, qdisc, fc->lan_name);
		return 1;
	}
	if (shaped) {
		ptrig_msg(
			m, PTRIG_MSG_INFO,
			"fast path: %s's qdisc %s shapes, and native "
			"XDP's transmit would pass it by; the LAN program goes "
			"to %s's TC ingress",
			wan_name, qdisc, fc->lan_name);
		return 0;
	}
	if (vlans > 0) {
		ptrig_msg(m, PTRIG_MSG_INFO,
			  "fast path: %s has VLAN devices on it (their frames "
			  "may reach XDP untagged); the LAN program goes to "
			  "its TC ingress",
			  fc->lan_name);
		return 0;
	}
	if (!wire) {
		ptrig_msg(m, PTRIG_MSG_INFO,
			  "fast path: %s (driver %s) is not a NIC on a bus; "
			  "the LAN program goes to its TC ingress",
			  fc->lan_name, driver);
		return 0;
	}
	if (!known && !(wan_xdp & XDP_FLAGS_DRV_MODE)) {
		ptrig_msg(m, PTRIG_MSG_INFO,
			  "fast path: the WAN runs generic XDP; the LAN "
			  "program goes to %s's TC ingress",
			  fc->lan_name);
		return 0;
	}
	return 1;
}

/* The kinds of LAN program lan_detach() removes. */
enum { LAN_KIND_TC = 1, LAN_KIND_XDP = 2 };

/* Remove the LAN program(s) of the kinds given of the attachment whose
 * config map is cfg_id (0: any ptrig program), and the clsact qdisc if
 * ptrig made it and nothing else uses it. Anything else on the LAN
 * interface is left alone. An XDP program is recognised by its maps even if
 * the config does not say XDP (an attach that died before recording it). */
static void lan_detach(const struct ptrig_fast_config *fc, uint32_t handle,
		       uint32_t cfg_id, unsigned int kinds,
		       struct ptrig_msgs *m)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = fc->lan_ifindex,
			    .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle,
			    .priority = PTRIG_TC_PRIO);
	bool was_xdp = fc->lan_flags & PTRIG_FAST_LAN_XDP;
	char name[IF_NAMESIZE];
	uint32_t id;
	int fd;

	if (!fc->lan_ifindex || !if_indextoname(fc->lan_ifindex, name) ||
	    strncmp(name, fc->lan_name, sizeof(fc->lan_name)))
		return; /* gone, or another device has its index now */
	id = (kinds & LAN_KIND_XDP) ? lan_xdp_id(fc->lan_ifindex) : 0;
	if (cfg_id ? lan_xdp_is_ours(id, cfg_id)
		   : id && was_xdp && prog_is_lan_program(id)) {
		fd = bpf_prog_get_fd_by_id(id);
		if (fd >= 0) {
			lan_xdp_undo(fc->lan_ifindex, fd, -1);
			close(fd);
		}
	} else if (id && was_xdp) {
		ptrig_msg(m, PTRIG_MSG_NOTE,
			  "%s: its XDP program is not this attachment's: left "
			  "alone",
			  name);
	}
	id = (kinds & LAN_KIND_TC) && handle
		     ? lan_prog_id(fc->lan_ifindex, handle)
		     : 0;
	if (!id)
		return;
	if (!prog_is_ptrig(id) ||
	    (cfg_id && !ptrig_prog_uses_map(id, cfg_id))) {
		ptrig_msg(m, PTRIG_MSG_NOTE,
			  "%s: the filter at ptrig's handle is not this "
			  "attachment's: left alone",
			  name);
		return;
	}
	bpf_tc_detach(&hook, &opts);
	if (!(fc->lan_flags & PTRIG_FAST_LAN_CREATED_CLSACT))
		return;
	if (clsact_in_use(fc->lan_ifindex))
		ptrig_msg(m, PTRIG_MSG_NOTE,
			  "%s: keeping the clsact qdisc ptrig made: other "
			  "filters use it now",
			  name);
	else
		clsact_destroy(fc->lan_ifindex);
}

/* ptrig_map_used_elsewhere(), once programs let go of just before (by the
 * last attach, replaced on their hooks) are gone: the kernel frees a
 * program a little after its last reference goes, and until then it still
 * lists it with its maps. Bounded: 1 s. */
static bool map_used_elsewhere_settled(uint32_t map_id,
				       const struct hook_progs *own)
{
	int i;

	for (i = 0; i < 20; i++) {
		if (!ptrig_map_used_elsewhere(map_id, own))
			return false;
		usleep(50 * 1000);
	}
	return true;
}

/* References to the programs an upgrade replaces, taken before any hook is
 * touched: nothing else holds them, so the kernel frees a program as soon as
 * it leaves its hook, and a failed upgrade could not put it back by id. */
struct hook_fds {
	int xdp;
	int tc_egress;
	int tc_ingress;
};

static int prog_fd_or_none(uint32_t id)
{
	return id ? bpf_prog_get_fd_by_id(id) : -1;
}

static void hook_fds_close(struct hook_fds *f)
{
	if (f->xdp >= 0)
		close(f->xdp);
	if (f->tc_egress >= 0)
		close(f->tc_egress);
	if (f->tc_ingress >= 0)
		close(f->tc_ingress);
}

/* Put a previous program back on a hook after a failed upgrade. */
static void tc_restore(int ifindex, enum bpf_tc_attach_point where, uint32_t id,
		       int fd)
{
	if (!id) {
		tc_detach(ifindex, where);
		return;
	}
	if (fd >= 0)
		tc_attach(ifindex, where, fd);
}

static void xdp_restore(int ifindex, const struct hook_progs *old, int fd)
{
	if (!old->xdp_id) {
		bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
		bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
		return;
	}
	if (fd >= 0)
		bpf_xdp_attach(ifindex, fd, old->xdp_flags, NULL);
}

/* The interface's link type (ARPHRD_*), or -errno. SIOCGIFHWADDR answers
 * for the network namespace the socket lives in, which is the one
 * --netns entered (sysfs would still show the loader's own). */
static int link_hw(const char *ifname, uint8_t *mac)
{
	struct ifreq ifr;
	int fd, err = 0;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	close(fd);
	if (!err && mac)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return err ? err : ifr.ifr_hwaddr.sa_family;
}

/* ... with mac: its hardware address too. */
static int link_type(const char *ifname)
{
	return link_hw(ifname, NULL);
}

const char *link_type_name(int type)
{
	switch (type) {
	case ARPHRD_ETHER:
		return "ether";
	case ARPHRD_PPP:
		return "ppp";
	case ARPHRD_NONE:
		return "none";
	case ARPHRD_LOOPBACK:
		return "loopback";
	case ARPHRD_TUNNEL:
		return "ipip";
	case ARPHRD_SIT:
		return "sit";
	case ARPHRD_IPGRE:
		return "gre";
	case ARPHRD_TUNNEL6:
		return "ip6tnl";
	case ARPHRD_RAWIP:
		return "rawip";
	case ARPHRD_INFINIBAND:
		return "infiniband";
	case ARPHRD_IEEE80211_RADIOTAP:
		return "ieee80211-radiotap";
	default:
		return "unknown";
	}
}

/* What the datapath finds in front of the IPv4 header on this link type:
 * 0 with *l2 set, or -1 for a link ptrig cannot parse. Only the link types
 * the lab tests are accepted; anything else could misparse (an L3 packet
 * read as Ethernet finds an EtherType in the source address). */
static int link_l2_of(int type, uint32_t *l2)
{
	switch (type) {
	case ARPHRD_ETHER: /* Ethernet, veth, VLAN devices, bridges */
		*l2 = PTRIG_L2_ETHER;
		return 0;
	case ARPHRD_PPP:  /* PPP and PPPoE sessions (ppp0) */
	case ARPHRD_NONE: /* tun (IFF_TUN), WireGuard */
		*l2 = PTRIG_L2_NONE;
		return 0;
	default:
		return -1;
	}
}

/* Check a pinned map against what the new programs expect, then make the
 * programs use it. Sizes the user did not ask for follow the pinned map. */
static int reuse_pinned_map(struct bpf_map *map, const char *dir,
			    uint32_t wanted_entries, bool *reused,
			    bool *replace, struct ptrig_msgs *m)
{
	struct bpf_map_info info = {0};
	uint32_t len = sizeof(info);
	char path[512];
	int fd, err;

	*reused = false;
	snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		goto fail;
	}
	if (!wanted_entries)
		bpf_map__set_max_entries(map, info.max_entries);
	/* Counters only, and this ptrig counts more things: a new map
	 * replaces the pin; nothing but counts is lost. */
	if (replace && info.type == bpf_map__type(map) &&
	    info.key_size == bpf_map__key_size(map) &&
	    info.value_size == bpf_map__value_size(map) &&
	    info.max_entries != bpf_map__max_entries(map)) {
		*replace = true;
		close(fd);
		return 0;
	}
	if (info.type != bpf_map__type(map) ||
	    info.key_size != bpf_map__key_size(map) ||
	    info.value_size != bpf_map__value_size(map) ||
	    info.max_entries != bpf_map__max_entries(map)) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "pinned map %s (type %u, key %u, value %u, %u "
			  "entries) does not match this ptrig (type %u, key "
			  "%u, value %u, %u entries): keep its size, or "
			  "`ptrig-load detach` first (that drops triggers and "
			  "flows)",
			  path, info.type, info.key_size, info.value_size,
			  info.max_entries, bpf_map__type(map),
			  bpf_map__key_size(map), bpf_map__value_size(map),
			  bpf_map__max_entries(map));
		err = -EINVAL;
		goto fail;
	}
	err = bpf_map__reuse_fd(map, fd);
	if (err)
		goto fail;
	*reused = true;
	close(fd); /* reuse_fd dup()ed it */
	return 0;
fail:
	close(fd);
	return err;
}

/* By the same test the datapath makes at load time (struct bpf_ct_opts is
 * defined exactly where the kfuncs are). */
enum ptrig_ct_kfuncs ptrig_ct_kfuncs_find(void)
{
	enum ptrig_ct_kfuncs where = CT_KFUNCS_NONE;
	struct btf *vmlinux, *mod;

	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return CT_KFUNCS_NONE;
	if (btf__find_by_name_kind(vmlinux, "bpf_ct_opts", BTF_KIND_STRUCT) > 0)
		where = CT_KFUNCS_BUILTIN;
	else if ((mod = btf__parse_split("/sys/kernel/btf/nf_conntrack",
					 vmlinux))) {
		if (btf__find_by_name_kind(mod, "bpf_ct_opts",
					   BTF_KIND_STRUCT) > 0)
			where = CT_KFUNCS_MODULE;
		btf__free(mod);
	}
	btf__free(vmlinux);
	return where;
}

/* Without the conntrack kfuncs the programs still load, but cannot see the
 * LAN host behind the box's NAT: say what was found rather than leave the
 * operator guessing. */
static void report_conntrack(struct ptrig_msgs *m)
{
	switch (ptrig_ct_kfuncs_find()) {
	case CT_KFUNCS_BUILTIN:
		ptrig_msg(m, PTRIG_MSG_INFO,
			  "conntrack kfuncs: built into the kernel");
		break;
	case CT_KFUNCS_MODULE:
		ptrig_msg(m, PTRIG_MSG_INFO,
			  "conntrack kfuncs: from the nf_conntrack module");
		break;
	case CT_KFUNCS_NONE:
		ptrig_msg(m, PTRIG_MSG_WARN,
			  "conntrack kfuncs not found (nf_conntrack is not "
			  "loaded), so ptrig cannot find LAN hosts behind this "
			  "box's NAT nor skip connections it tracks; load your "
			  "NAT/firewall rules (or `modprobe nf_conntrack`) and "
			  "attach again");
		break;
	}
}

/* The firewall mark travels from XDP to TC ingress in XDP metadata. Generic
 * XDP always has room for it; a driver's native XDP may not, which shows
 * only on a real packet: then the datapath counts it and TC ingress marks
 * from the flow table instead. */
static void report_xdp_meta(const char *ifname, uint32_t xdp_flags,
			    struct ptrig_msgs *m)
{
	struct ethtool_drvinfo info;

	if (getenv("PTRIG_TEST_NO_XDP_META")) {
		ptrig_msg(m, PTRIG_MSG_INFO,
			  "XDP metadata: off for tests; TC ingress marks from "
			  "the flow table");
		return;
	}
	if (xdp_flags & XDP_FLAGS_SKB_MODE) {
		ptrig_msg(m, PTRIG_MSG_INFO,
			  "XDP metadata: generic XDP carries the firewall "
			  "mark");
		return;
	}
	drv_info(ifname, &info);
	ptrig_msg(m, PTRIG_MSG_INFO,
		  "XDP metadata: native XDP of driver %s; should it have no "
		  "metadata room, TC ingress marks from the flow table "
		  "(status counter xdp_meta_unsupported)",
		  info.driver);
}

static void firewall_hint(uint32_t mark, struct ptrig_msgs *m)
{
	ptrig_msg(m, PTRIG_MSG_INFO,
		  "a stateful firewall must accept the connections ptrig "
		  "translates; add to its forward chain:\n"
		  "  ct state new meta mark & 0x%08x == 0x%08x accept",
		  mark, mark);
}

/* Layout 2 (the one before flows were keyed by their external address)
 * keyed a flow by remote, ports and protocol only; its value is the same.
 * Its flows are carried into the new tables when an attach replaces it, so
 * connections through ptrig survive the upgrade. */
struct flow_key_v2 {
	__be32 remote;
	__be16 remote_port;
	__be16 local_port;
	__u8 proto;
	__u8 pad[3];
};

/* Put ext in the learned external addresses (struct ptrig_externals). */
static void externals_add(int fd, __be32 ext)
{
	struct ptrig_externals e;
	uint32_t zero = 0;
	int i;

	if (bpf_map_lookup_elem(fd, &zero, &e))
		return;
	for (i = 0; i < PTRIG_MAX_EXTERNALS; i++) {
		if (e.addr[i] == ext)
			return;
		if (!e.addr[i]) {
			e.addr[i] = ext;
			bpf_map_update_elem(fd, &zero, &e, BPF_ANY);
			return;
		}
	}
}

/* Copy the flows of layout-2 table NAME (pinned in dir) into fd; returns
 * how many were copied. */
static int migrate_v2_table(const char *dir, const char *name, int fd,
			    int exts_fd)
{
	struct flow_key_v2 key, next, *prev = NULL;
	char path[PATH_MAX];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int old, n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	old = bpf_obj_get(path);
	if (old < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(old, &info, &len) ||
	    info.key_size != sizeof(key) ||
	    info.value_size != sizeof(struct ptrig_flow)) {
		close(old);
		return 0;
	}
	while (bpf_map_get_next_key(old, prev, &next) == 0) {
		struct ptrig_flow_key nk;
		struct ptrig_flow f;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(old, &key, &f))
			continue;
		memset(&nk, 0, sizeof(nk));
		nk.remote = key.remote;
		nk.external = f.external;
		nk.remote_port = key.remote_port;
		nk.local_port = key.local_port;
		nk.proto = key.proto;
		externals_add(exts_fd, f.external);
		if (bpf_map_update_elem(fd, &nk, &f, BPF_NOEXIST) == 0)
			n++;
	}
	close(old);
	return n;
}

/* Flows of a running layout-2 ptrig, into the fresh tables. Triggers are
 * not carried over: the rule generations they hold belong to the old rule
 * table; the owner's next trigger packet opens the trigger again. */
static void migrate_v2_flows(const char *dir, const struct ptrig_map_fds *fds,
			     struct ptrig_msgs *m)
{
	int n = migrate_v2_table(dir, "ptrig_flows_v2", fds->flows, fds->exts);
	int e = migrate_v2_table(dir, "ptrig_embryo_v2", fds->embryo,
				 fds->exts);

	if (n + e)
		ptrig_msg(m, PTRIG_MSG_INFO,
			  "carried %d established and %d embryonic flow(s) "
			  "over from map layout 2",
			  n, e);
}

/* Maps pinned by a ptrig with another layout cannot be reused: say that
 * their state does not carry over, instead of silently starting afresh. */
static void warn_other_layouts(const char *dir, struct ptrig_msgs *m)
{
	char suffix[16];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	snprintf(suffix, sizeof(suffix), "_v%d", PTRIG_LAYOUT_VERSION);
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name), k = strlen(suffix);

		if (strncmp(de->d_name, "ptrig_", 6) ||
		    (n > k && !strcmp(de->d_name + n - k, suffix)))
			continue;
		ptrig_msg(m, PTRIG_MSG_WARN,
			  "%s/%s is from another ptrig map layout: its state "
			  "is not carried over, but for layout 2's flows "
			  "(detach removes it)",
			  dir, de->d_name);
	}
	closedir(d);
}

/* Remove every ptrig pin in the directory, including maps of an older
 * layout version that an upgrade across layouts left behind. */
/* Tests stop the loader dead (SIGKILL, no cleanup) at a named step of
 * attach: PTRIG_TEST_KILL_AT=pin-dir|maps-pinned|clsact|tc-ingress|
 * tc-egress|xdp. Whatever that leaves must be undone by detach or by the
 * next attach. */
static void test_kill_point(const char *step)
{
	const char *at = getenv("PTRIG_TEST_KILL_AT");

	if (at && strcmp(at, step) == 0) {
		fflush(NULL);
		raise(SIGKILL);
	}
}

/* The config entry of the maps a ptrig program uses: for programs whose
 * pins are gone (an attach killed half-way by an older ptrig, or pins
 * removed by hand). */
static bool cfg_from_prog(uint32_t prog_id, struct ptrig_config *cfg)
{
	struct bpf_prog_info info = {0};
	uint32_t len = sizeof(info), ids[16], n, i, zero = 0;
	bool found = false;
	int fd;

	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return false;
	info.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	info.map_ids = (uint64_t)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return false;
	}
	close(fd);
	n = info.nr_map_ids < 16 ? info.nr_map_ids : 16;
	for (i = 0; i < n && !found; i++) {
		struct bpf_map_info mi = {0};
		uint32_t mlen = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(ids[i]);

		if (mfd < 0)
			continue;
		found = bpf_obj_get_info_by_fd(mfd, &mi, &mlen) == 0 &&
			strcmp(mi.name, PTRIG_MAP_NAME(cfg)) == 0 &&
			bpf_map_lookup_elem(mfd, &zero, cfg) == 0;
		close(mfd);
	}
	return found;
}

static void unpin_all(const char *dir)
{
	char path[512];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "ptrig_", 6))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

/* The pins, in this namespace's directory, whose maps the ptrig programs
 * on h use: an interface renamed since its attach keeps its programs, and
 * its pins keep the former name. Writes the directory into dir. */
bool find_renamed_pins(const struct hook_progs *h, char *dir, size_t len,
		       struct ptrig_msgs *m)
{
	char nsdir[256], path[512];
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (!h->xdp_id && !h->tc_egress_id && !h->tc_ingress_id)
		return false;
	if (ptrig_ns_dir(nsdir, sizeof(nsdir), m) || !(d = opendir(nsdir)))
		return false;
	while (!found && (de = readdir(d))) {
		uint32_t id;

		if (de->d_name[0] == '.' || strchr(de->d_name, ':'))
			continue;
		snprintf(path, sizeof(path), "%s/%s", nsdir, de->d_name);
		id = ptrig_dir_map_id(path);
		if (id && ptrig_hooks_use_map(h, id) && strlen(path) < len) {
			snprintf(dir, len, "%s", path);
			found = true;
		}
	}
	closedir(d);
	return found;
}

/* The fast path's LAN interface: as asked (--lan), else as the running
 * attachment had it (its pinned fast-path config, still naming the same
 * device), else off. It needs an Ethernet WAN (to rewrite the MACs) and the
 * conntrack kfuncs (to forward only connections conntrack has assured);
 * without them it stays off, with a note. */
/* Is this network namespace's conntrack liberal about TCP windows (the
 * fast path bypasses TCP only then)? Read where the datapath reads it. */
static bool tcp_conntrack_liberal(void)
{
	FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal",
			"r");
	int v = 0;

	if (!f)
		return false;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v != 0;
}

/* Record --lan-mode (unset: keep what the config had). */
static void lan_mode_set(struct ptrig_fast_config *fc, uint32_t mode)
{
	if (!mode)
		return;
	fc->lan_flags &= ~(PTRIG_FAST_LAN_WANT_XDP | PTRIG_FAST_LAN_WANT_TC);
	if (mode == PTRIG_LAN_MODE_XDP)
		fc->lan_flags |= PTRIG_FAST_LAN_WANT_XDP;
	else if (mode == PTRIG_LAN_MODE_TC)
		fc->lan_flags |= PTRIG_FAST_LAN_WANT_TC;
}

static int fast_config(const struct ptrig_attach_req *o, struct ptrig *skel,
		       int ifindex, uint32_t l2, struct ptrig_fast_config *fc,
		       struct ptrig_msgs *m)
{
	char name[IF_NAMESIZE], qdisc[32];
	uint32_t zero = 0;
	int fd, idx, lt;

	memset(fc, 0, sizeof(*fc));
	if (!o->lan) {
		fd = bpf_map__fd(skel->maps.PTRIG_MAP(fcfg));
		if (fd < 0 || bpf_map_lookup_elem(fd, &zero, fc) ||
		    !fc->lan_ifindex)
			goto off;
		fc->lan_name[sizeof(fc->lan_name) - 1] = 0;
		if (!if_indextoname(fc->lan_ifindex, name) ||
		    strcmp(name, fc->lan_name)) {
			ptrig_msg(m, PTRIG_MSG_WARN,
				  "fast path: its LAN interface %s is gone "
				  "(or renamed); the fast path is off until "
				  "attach --lan IFACE",
				  fc->lan_name);
			goto off;
		}
		lan_mode_set(fc, o->lan_mode);
		return 0;
	}
	if (!strcmp(o->lan, "none"))
		goto off;
	idx = if_nametoindex(o->lan);
	if (!idx) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "--lan: interface \"%s\" not found; nothing was "
			  "changed",
			  o->lan);
		return -1;
	}
	if (idx == ifindex) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "--lan %s: that is the WAN interface; nothing was "
			  "changed",
			  o->lan);
		return -1;
	}
	lt = link_type(o->lan);
	if (lt != ARPHRD_ETHER) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "--lan %s: not an Ethernet interface (link type "
			  "%d); nothing was changed",
			  o->lan, lt);
		return -1;
	}
	if (l2 != PTRIG_L2_ETHER) {
		ptrig_msg(m, PTRIG_MSG_NOTE,
			  "fast path: %s has no Ethernet header to rewrite; "
			  "the fast path stays off (packets take the stack)",
			  o->ifname);
		goto off;
	}
	if (ptrig_ct_kfuncs_find() == CT_KFUNCS_NONE) {
		ptrig_msg(m, PTRIG_MSG_NOTE,
			  "fast path: no conntrack kfuncs (nf_conntrack not "
			  "loaded), so ptrig cannot tell which connections "
			  "the firewall accepted; the fast path stays off");
		goto off;
	}
	fc->lan_ifindex = idx;
	snprintf(fc->lan_name, sizeof(fc->lan_name), "%s", o->lan);
	lan_mode_set(fc, o->lan_mode);
	if (ptrig_qdisc_shaping(idx, qdisc, sizeof(qdisc)) > 0)
		ptrig_msg(m, PTRIG_MSG_WARN,
			  "fast path: %s's qdisc %s shapes, and the frames "
			  "XDP sends to %s pass it by (a download shaper "
			  "there would not see the fast path's packets)",
			  o->lan, qdisc, o->lan);
	return 0;
off:
	memset(fc, 0, sizeof(*fc));
	if (o->lan_mode && (!o->lan || !strcmp(o->lan, "none"))) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "--lan-mode: the fast path is %s on %s (give --lan "
			  "IFACE); nothing was changed",
			  o->lan ? "turned off" : "off", o->ifname);
		return -1;
	}
	return 0;
}

int ptrig_attach(const struct ptrig_attach_req *o, struct ptrig_attach_res *res,
		 struct ptrig_msgs *m)
{
	const struct ptrig_ruleset *rs = o->rules;
	struct hook_progs old;
	struct hook_fds old_fds = {-1, -1, -1};
	struct ptrig_config cfg = {0};
	struct ptrig_fast_config fast = {0}, old_fast = {0};
	bool fcfg_written = false;
	uint64_t lan_feat;
	uint32_t old_lan_handle = 0;
	int lan_old_fd = -1;
	/* The LAN's XDP program this attach put, and the one it replaced. */
	int lan_xdp_fd = -1, lan_xdp_old_fd = -1;
	struct ptrig_map_fds fds;
	struct ptrig *skel = NULL;
	struct bpf_map *map;
	bool created_dir = false, created_clsact = false, upgrade = false;
	bool touched_hooks = false, pinned[PTRIG_N_MAPS] = {false};
	bool replace_stats = false, stats_moved = false;
	char stats_aside[600];
	uint32_t xdp_flags, mark, zero = 0, cfg_id, l2 = PTRIG_L2_ETHER;
	char dir[256], nsdir[256], path[512];
	int ifindex, lock_fd = -1, ret, err, i, ltype;

	memset(res, 0, sizeof(*res));
	ret = PTRIG_EXIT_FAIL;
	ifindex = if_nametoindex(o->ifname);
	if (!ifindex) {
		ptrig_msg(m, PTRIG_MSG_ERROR, "interface \"%s\" not found",
			  o->ifname);
		goto out;
	}
	/* Before anything is created: an unknown link is refused as is. */
	ltype = link_type(o->ifname);
	if (ltype < 0) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "cannot read the link type of %s: %s", o->ifname,
			  strerror(-ltype));
		goto out;
	}
	if (link_l2_of(ltype, &l2)) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "%s: link type %d (%s) is not supported; ptrig "
			  "handles Ethernet (ARPHRD_ETHER, VLAN devices "
			  "included) and L3 links without a link header "
			  "(ARPHRD_PPP: PPP/PPPoE; ARPHRD_NONE: tun, "
			  "WireGuard); nothing was changed",
			  o->ifname, ltype, link_type_name(ltype));
		goto out;
	}
	if (l2 == PTRIG_L2_NONE && (o->xdp_mode & XDP_FLAGS_DRV_MODE)) {
		/* ppp and WireGuard have no native XDP; tun has, but runs it
		 * only on frames of tap devices, so ptrig would sit there
		 * attached and inert. */
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "%s: --xdp-mode native: a %s link has no native XDP "
			  "for its packets; ptrig uses generic XDP there (omit "
			  "--xdp-mode or say generic); nothing was changed",
			  o->ifname, link_type_name(ltype));
		ret = PTRIG_EXIT_USAGE;
		goto out;
	}
	if (ptrig_ft_attach_check(o->ifname, o->allow_hw_offload, m)) {
		ptrig_msg(m, PTRIG_MSG_NOTE, "nothing was changed on %s",
			  o->ifname);
		goto out;
	}
	hooks_query(ifindex, &old);
	if (old.lan_xdp_id) {
		ptrig_msg(
			m, PTRIG_MSG_ERROR,
			"%s runs the fast path's LAN program of a ptrig on "
			"another interface (XDP prog %u): attach that WAN "
			"with --lan-mode tc, or detach it, first; nothing was "
			"changed",
			o->ifname, old.lan_xdp_id);
		goto out;
	}
	if (ptrig_ensure_bpffs(m) ||
	    ptrig_pin_dir(o->ifname, dir, sizeof(dir), m) ||
	    ptrig_ns_dir(nsdir, sizeof(nsdir), m))
		goto out;
	if (access(dir, F_OK)) {
		/* Renamed since its attach: the state goes with the device. */
		char from[256];

		hooks_query(ifindex, &old);
		if (find_renamed_pins(&old, from, sizeof(from), m) &&
		    rename(from, dir) == 0)
			ptrig_msg(m, PTRIG_MSG_INFO,
				  "%s: moved its pins from %s (its former "
				  "name)",
				  o->ifname, from);
	}
	if ((mkdir(ptrig_pin_root(), 0700) && errno != EEXIST) ||
	    (mkdir(nsdir, 0700) && errno != EEXIST)) {
		ptrig_msg(m, PTRIG_MSG_ERROR, "cannot create %s: %s", nsdir,
			  strerror(errno));
		goto out;
	}
	if (mkdir(dir, 0700) == 0)
		created_dir = true;
	else if (errno != EEXIST) {
		ptrig_msg(m, PTRIG_MSG_ERROR, "cannot create %s: %s", dir,
			  strerror(errno));
		goto out;
	}
	test_kill_point("pin-dir");
	lock_fd = ptrig_lock_dir(dir);
	if (lock_fd < 0) {
		ptrig_msg(m, PTRIG_MSG_ERROR, "cannot lock %s: %s", dir,
			  strerror(-lock_fd));
		goto rollback;
	}

	warn_other_layouts(dir, m);
	hooks_query(ifindex, &old);
	cfg_id = ptrig_dir_map_id(dir);
	if (cfg_id && map_used_elsewhere_settled(cfg_id, &old)) {
		char other[IF_NAMESIZE];

		if (ptrig_iface_using_map(cfg_id, other))
			ptrig_msg(m, PTRIG_MSG_ERROR,
				  "the state in %s is in use by ptrig on %s "
				  "(renamed from %s?): `attach %s` keeps it "
				  "there, `detach %s` drops it",
				  dir, other, o->ifname, other, other);
		else
			ptrig_msg(m, PTRIG_MSG_ERROR,
				  "the state in %s is in use by ptrig on "
				  "another interface, in another network "
				  "namespace (pins of an older ptrig-load, "
				  "keyed by name only): attach that one "
				  "first, with --netns, to move them",
				  dir);
		goto rollback;
	}
	if (old.xdp_id && !prog_is_ptrig(old.xdp_id)) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "%s already has an XDP program (id %u) that is not "
			  "ptrig's; remove it first",
			  o->ifname, old.xdp_id);
		goto rollback;
	}
	old_fds.xdp = prog_fd_or_none(old.xdp_id);
	old_fds.tc_egress = prog_fd_or_none(old.tc_egress_id);
	old_fds.tc_ingress = prog_fd_or_none(old.tc_ingress_id);

	ptrig_log_capture();
	skel = ptrig__open();
	if (!skel) {
		ptrig_msg(m, PTRIG_MSG_ERROR, "cannot open the BPF object: %s",
			  strerror(errno));
		goto rollback;
	}
	if (o->max_flows) {
		bpf_map__set_max_entries(skel->maps.PTRIG_MAP(flows),
					 o->max_flows);
		bpf_map__set_max_entries(skel->maps.PTRIG_MAP(embryo),
					 ptrig_embryo_entries(o->max_flows));
	}
	if (o->max_flows) {
		bpf_map__set_max_entries(skel->maps.PTRIG_MAP(fast),
					 o->max_flows);
		bpf_map__set_max_entries(skel->maps.PTRIG_MAP(fout),
					 o->max_flows);
	}
	if (o->max_triggers)
		bpf_map__set_max_entries(skel->maps.PTRIG_MAP(trig),
					 o->max_triggers);
	i = 0;
	bpf_object__for_each_map(map, skel->obj)
	{
		bool reused;
		uint32_t wanted = 0;

		if (bpf_map__is_internal(map))
			continue;
		if (map == skel->maps.PTRIG_MAP(flows) ||
		    map == skel->maps.PTRIG_MAP(fast) ||
		    map == skel->maps.PTRIG_MAP(fout))
			wanted = o->max_flows;
		else if (map == skel->maps.PTRIG_MAP(embryo))
			wanted = o->max_flows
					 ? ptrig_embryo_entries(o->max_flows)
					 : 0;
		else if (map == skel->maps.PTRIG_MAP(trig))
			wanted = o->max_triggers;
		else
			wanted = bpf_map__max_entries(map);
		err = reuse_pinned_map(map, dir, wanted, &reused,
				       map == skel->maps.PTRIG_MAP(stats)
					       ? &replace_stats
					       : NULL,
				       m);
		if (err) {
			if (err != -EINVAL)
				ptrig_msg(m, PTRIG_MSG_ERROR,
					  "reusing pinned map %s: %s",
					  bpf_map__name(map), strerror(-err));
			goto rollback;
		}
		upgrade |= reused;
	}

	mark = o->mark_set ? o->mark : PTRIG_DEFAULT_MARK;
	if (upgrade) {
		/* Keep what the running attachment was set up with. */
		int cfd = bpf_map__fd(skel->maps.PTRIG_MAP(cfg));

		if (bpf_map_lookup_elem(cfd, &zero, &cfg) == 0 &&
		    !o->mark_set && cfg.mark)
			mark = cfg.mark;
	}
	skel->rodata->fw_mark = mark;
	/* Tests: take the path of a driver without XDP metadata. */
	if (getenv("PTRIG_TEST_NO_XDP_META"))
		skel->rodata->test_no_xdp_meta = 1;
	skel->rodata->link_l2 = l2;
	if (fast_config(o, skel, ifindex, l2, &fast, m))
		goto rollback;
	skel->rodata->fast_lan_ifindex = fast.lan_ifindex;
	if (fast.lan_ifindex)
		link_hw(fast.lan_name, (uint8_t *)skel->rodata->fast_lan_mac);
	skel->rodata->fast_wan_ifindex = fast.lan_ifindex ? ifindex : 0;

	err = ptrig__load(skel);
	if (err) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "loading the BPF programs failed: %s",
			  strerror(-err));
		ptrig_log_tail(m, 30);
		goto rollback;
	}
	ptrig_skel_map_fds(skel, &fds);
	if (!upgrade && ptrig_config_init(&fds, mark)) {
		ptrig_msg(m, PTRIG_MSG_ERROR, "initialising the config map: %s",
			  strerror(errno));
		goto rollback;
	}
	/* The running attachment's LAN program, to move or remove once
	 * this one runs; and whether ptrig made that LAN's qdisc. */
	if (upgrade && bpf_map_lookup_elem(fds.fcfg, &zero, &old_fast) == 0) {
		old_fast.lan_name[sizeof(old_fast.lan_name) - 1] = 0;
		if (bpf_map_lookup_elem(fds.cfg, &zero, &cfg) == 0)
			old_lan_handle = cfg.ifindex;
		if (fast.lan_ifindex == old_fast.lan_ifindex &&
		    !strcmp(fast.lan_name, old_fast.lan_name)) {
			uint32_t want = PTRIG_FAST_LAN_WANT_XDP |
					PTRIG_FAST_LAN_WANT_TC;

			if (o->lan && !o->lan_mode)
				fast.lan_flags = old_fast.lan_flags & want;
			fast.lan_flags = (fast.lan_flags & want) |
					 (old_fast.lan_flags & ~want);
		}
	}
	if (bpf_map_update_elem(fds.fcfg, &zero, &fast, BPF_ANY)) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "writing the fast-path config: %s", strerror(errno));
		goto rollback;
	}
	fcfg_written = true;
	res->lan_ifindex = fast.lan_ifindex;
	/* Before the rules: ports of carried flows whose rule is gone get
	 * marked as the push marks any live flow's. */
	if (!upgrade)
		migrate_v2_flows(dir, &fds, m);
	if (bpf_map_lookup_elem(fds.cfg, &zero, &cfg)) {
		ptrig_msg(m, PTRIG_MSG_ERROR, "reading the config map: %s",
			  strerror(errno));
		goto rollback;
	}

	/* Mode: as asked, else as already attached, else native; L3 links
	 * only have generic XDP. */
	xdp_flags = o->xdp_mode			  ? o->xdp_mode
		    : old.xdp_id && old.xdp_flags ? old.xdp_flags
		    : l2 == PTRIG_L2_NONE	  ? XDP_FLAGS_SKB_MODE
						  : XDP_FLAGS_DRV_MODE;

	/* Rules and pins before any hook: whatever step an attach dies at,
	 * the maps (and with them the config, what detach needs to know) are
	 * already pinned, so detach or the next attach can clean up. */
	err = ptrig_rules_push(&fds, rs);
	if (err) {
		ptrig_msg(m, PTRIG_MSG_ERROR, "pushing the rules: %s",
			  strerror(-err));
		goto rollback;
	}
	for (i = 0; i < PTRIG_N_MAPS; i++) {
		struct bpf_map *pm = bpf_object__find_map_by_name(
			skel->obj, ptrig_map_names[i]);
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, ptrig_map_names[i]);
		if (i == PTRIG_MAP_IDX_stats && replace_stats &&
		    stat(path, &st) == 0) {
			/* Kept aside until the new programs run. */
			snprintf(stats_aside, sizeof(stats_aside), "%s_old",
				 path);
			if (rename(path, stats_aside)) {
				ptrig_msg(m, PTRIG_MSG_ERROR,
					  "moving %s aside: %s", path,
					  strerror(errno));
				goto rollback;
			}
			stats_moved = true;
		}
		if (stat(path, &st) == 0)
			continue;
		if (!pm || bpf_map__pin(pm, path)) {
			ptrig_msg(m, PTRIG_MSG_ERROR, "pinning %s: %s", path,
				  strerror(errno));
			goto rollback;
		}
		pinned[i] = true;
	}
	test_kill_point("maps-pinned");

	/* Hooks: the mark handler first, XDP (which marks) last. */
	touched_hooks = true;
	{
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = BPF_TC_INGRESS);

		err = bpf_tc_hook_create(&hook);
		if (err && err != -EEXIST) {
			ptrig_msg(m, PTRIG_MSG_ERROR,
				  "creating the clsact qdisc on %s: %s",
				  o->ifname, strerror(-err));
			goto rollback;
		}
		created_clsact = !err;
		/* Recorded at once: detach removes the qdisc only if ptrig
		 * made it. */
		if (created_clsact &&
		    bpf_map_lookup_elem(fds.cfg, &zero, &cfg) == 0) {
			cfg.created_clsact = 1;
			cfg.ifindex = ifindex;
			bpf_map_update_elem(fds.cfg, &zero, &cfg, BPF_ANY);
		}
	}
	test_kill_point("clsact");
	err = tc_attach(ifindex, BPF_TC_INGRESS,
			bpf_program__fd(skel->progs.ptrig_tc_ingress));
	if (!err) {
		test_kill_point("tc-ingress");
		err = tc_attach(ifindex, BPF_TC_EGRESS,
				bpf_program__fd(skel->progs.ptrig_tc_egress));
	}
	if (err) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "attaching the TC programs to %s: %s", o->ifname,
			  strerror(-err));
		goto rollback;
	}
	test_kill_point("tc-egress");
	{
		LIBBPF_OPTS(bpf_xdp_attach_opts, xo);
		int prog_fd = bpf_program__fd(skel->progs.ptrig_xdp_ingress);

		if (old.xdp_id && old.xdp_flags != xdp_flags) {
			/* A mode change cannot be an atomic replace. */
			bpf_xdp_detach(ifindex, old.xdp_flags, NULL);
			err = bpf_xdp_attach(ifindex, prog_fd, xdp_flags, NULL);
		} else if (old.xdp_id) {
			xo.old_prog_fd = bpf_prog_get_fd_by_id(old.xdp_id);
			err = bpf_xdp_attach(ifindex, prog_fd,
					     xdp_flags | XDP_FLAGS_REPLACE,
					     &xo);
			if (xo.old_prog_fd >= 0)
				close(xo.old_prog_fd);
		} else {
			err = bpf_xdp_attach(
				ifindex, prog_fd,
				xdp_flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
		}
		if (err) {
			ptrig_msg(m, PTRIG_MSG_ERROR,
				  "attaching XDP in %s mode to %s: %s",
				  xdp_mode_name(xdp_flags), o->ifname,
				  strerror(-err));
			if (xdp_flags & XDP_FLAGS_DRV_MODE)
				ptrig_msg(m, PTRIG_MSG_NOTE,
					  "hint: the driver may not support "
					  "native XDP; retry with --xdp-mode "
					  "generic");
			goto rollback;
		}
	}
	test_kill_point("xdp");
	/* Native XDP on the WAN sends the inbound fast frames through the
	 * LAN driver's XDP transmit: a driver without it drops them. */
	if (fast.lan_ifindex && (xdp_flags & XDP_FLAGS_DRV_MODE) &&
	    !ptrig_xdp_features(fast.lan_ifindex, &lan_feat) &&
	    !(lan_feat & PTRIG_XDP_ACT_NDO_XMIT)) {
		ptrig_msg(m, o->lan ? PTRIG_MSG_ERROR : PTRIG_MSG_WARN,
			  "fast path: %s does not take frames redirected from "
			  "XDP (its driver reports no XDP transmit; a veth "
			  "takes them only while its peer runs XDP or GRO): "
			  "the inbound packets of fast flows would be "
			  "dropped%s",
			  fast.lan_name,
			  o->lan ? "; nothing was changed"
				 : " (attach --lan none turns the fast path "
				   "off)");
		if (o->lan)
			goto rollback;
	}
	if (fast.lan_ifindex) {
		/* Last: it sends the owner's packets to this WAN's hooks. */
		bool created = false;
		uint32_t own_id;
		int use_xdp;

		use_xdp = lan_use_xdp(&fast, ifindex, xdp_flags,
				      ptrig_dir_map_id(dir), &own_id, m);
		if (use_xdp < 0)
			goto rollback;
		if (use_xdp) {
			lan_xdp_fd = bpf_program__fd(
				skel->progs.ptrig_xdp_lan_ingress);
			err = lan_xdp_attach(fast.lan_ifindex, lan_xdp_fd,
					     own_id, &lan_xdp_old_fd);
			if (err && (fast.lan_flags & PTRIG_FAST_LAN_WANT_XDP)) {
				ptrig_msg(m, PTRIG_MSG_ERROR,
					  "attaching the fast path's XDP "
					  "program to %s in native mode: %s "
					  "(the driver may have no native "
					  "XDP: use --lan-mode tc)",
					  fast.lan_name, strerror(-err));
				lan_xdp_fd = -1;
				goto rollback;
			}
			if (err) {
				ptrig_msg(m, PTRIG_MSG_INFO,
					  "fast path: native XDP on %s: %s; "
					  "the LAN program goes to its TC "
					  "ingress",
					  fast.lan_name, strerror(-err));
				lan_xdp_fd = -1;
				use_xdp = 0;
			}
		}
		if (use_xdp) {
			/* A qdisc ptrig made for an earlier TC program is
			 * that one's to remove (old_fast has the flag). */
			fast.lan_flags = (fast.lan_flags &
					  ~PTRIG_FAST_LAN_CREATED_CLSACT) |
					 PTRIG_FAST_LAN_XDP;
		} else {
			lan_old_fd = prog_fd_or_none(lan_prog_id(
				fast.lan_ifindex, (uint32_t)ifindex));
			err = lan_attach(
				fast.lan_ifindex, (uint32_t)ifindex,
				bpf_program__fd(
					skel->progs.ptrig_tc_lan_ingress),
				&created);
			if (err) {
				ptrig_msg(m, PTRIG_MSG_ERROR,
					  "attaching the fast path's TC "
					  "program to %s: %s",
					  fast.lan_name, strerror(-err));
				goto rollback;
			}
			fast.lan_flags &= ~PTRIG_FAST_LAN_XDP;
			if (created)
				fast.lan_flags |= PTRIG_FAST_LAN_CREATED_CLSACT;
		}
		bpf_map_update_elem(fds.fcfg, &zero, &fast, BPF_ANY);
	}
	/* The old LAN program goes unless the new one replaced it in place
	 * (the same LAN, the same kind, and for TC the same handle); on
	 * another LAN, whatever this attachment left there. */
	if (old_fast.lan_ifindex && (old_fast.lan_ifindex != fast.lan_ifindex ||
				     strcmp(old_fast.lan_name, fast.lan_name)))
		lan_detach(&old_fast, old_lan_handle, ptrig_dir_map_id(dir),
			   LAN_KIND_TC | LAN_KIND_XDP, m);
	else if (old_fast.lan_ifindex &&
		 ((old_fast.lan_flags & PTRIG_FAST_LAN_XDP) !=
			  (fast.lan_flags & PTRIG_FAST_LAN_XDP) ||
		  (!(fast.lan_flags & PTRIG_FAST_LAN_XDP) &&
		   old_lan_handle != (uint32_t)ifindex)))
		lan_detach(&old_fast, old_lan_handle, ptrig_dir_map_id(dir),
			   (old_fast.lan_flags & PTRIG_FAST_LAN_XDP)
				   ? LAN_KIND_XDP
				   : LAN_KIND_TC,
			   m);
	if (bpf_map_lookup_elem(fds.cfg, &zero, &cfg) == 0) {
		cfg.mark = mark;
		cfg.xdp_flags = xdp_flags;
		cfg.created_clsact |= created_clsact;
		/* A qdisc ptrig made on a device since deleted is not this
		 * one's. */
		if (cfg.ifindex && cfg.ifindex != (uint32_t)ifindex &&
		    !created_clsact)
			cfg.created_clsact = 0;
		cfg.ifindex = ifindex;
		bpf_map_update_elem(fds.cfg, &zero, &cfg, BPF_ANY);
	}

	if (stats_moved) {
		unlink(stats_aside);
		ptrig_msg(m, PTRIG_MSG_INFO,
			  "this ptrig counts more things: its datapath "
			  "counters start from zero");
	}
	report_conntrack(m);
	report_xdp_meta(o->ifname, xdp_flags, m);
	ptrig_msg(m, PTRIG_MSG_INFO, "%s %s (XDP %s, %zu rule%s, maps in %s)",
		  upgrade ? "upgraded on" : "attached to", o->ifname,
		  xdp_mode_name(xdp_flags), rs->n, rs->n == 1 ? "" : "s", dir);
	ptrig_msg(m, PTRIG_MSG_INFO, "link type %s: %s", link_type_name(ltype),
		  l2 == PTRIG_L2_NONE
			  ? "no link header, IPv4 from the first byte"
			  : "Ethernet header");
	if (fast.lan_ifindex)
		ptrig_msg(m, PTRIG_MSG_INFO,
			  "fast path on: packets of established flows that "
			  "conntrack has assured go from XDP straight to %s, "
			  "and the owner's from %s on %s straight to %s%s",
			  fast.lan_name,
			  (fast.lan_flags & PTRIG_FAST_LAN_XDP) ? "native XDP"
								: "TC ingress",
			  fast.lan_name, o->ifname,
			  (xdp_flags & XDP_FLAGS_DRV_MODE)
				  ? " (native XDP: its driver must accept "
				    "redirected frames)"
				  : "");
	else if (o->lan)
		ptrig_msg(m, PTRIG_MSG_INFO, "fast path off");
	if (fast.lan_ifindex && !tcp_conntrack_liberal())
		ptrig_msg(m, PTRIG_MSG_NOTE,
			  "fast path: TCP stays on the slow path, since "
			  "conntrack tracks TCP windows strictly here "
			  "(net.netfilter.nf_conntrack_tcp_be_liberal = 0; "
			  "set it to 1 to bypass TCP too: see the README); "
			  "UDP is bypassed");
	firewall_hint(mark, m);
	res->ifindex = ifindex;
	res->upgraded = upgrade;
	res->xdp_flags = xdp_flags;
	snprintf(res->dir, sizeof(res->dir), "%s", dir);
	ret = PTRIG_EXIT_OK;
	goto out;

rollback:
	/* An upgrade shares the pinned config: the running one's again. */
	if (upgrade && fcfg_written)
		bpf_map_update_elem(fds.fcfg, &zero, &old_fast, BPF_ANY);
	if (lan_old_fd >= 0)
		lan_attach(fast.lan_ifindex, (uint32_t)ifindex, lan_old_fd,
			   &(bool){false});
	if (lan_xdp_fd >= 0)
		lan_xdp_undo(fast.lan_ifindex, lan_xdp_fd, lan_xdp_old_fd);
	if (touched_hooks) {
		if (upgrade) {
			xdp_restore(ifindex, &old, old_fds.xdp);
			tc_restore(ifindex, BPF_TC_EGRESS, old.tc_egress_id,
				   old_fds.tc_egress);
			tc_restore(ifindex, BPF_TC_INGRESS, old.tc_ingress_id,
				   old_fds.tc_ingress);
		} else {
			if (!old.xdp_id)
				bpf_xdp_detach(ifindex, xdp_flags, NULL);
			tc_detach(ifindex, BPF_TC_EGRESS);
			tc_detach(ifindex, BPF_TC_INGRESS);
			if (created_clsact)
				clsact_destroy(ifindex);
		}
	}
	for (i = 0; i < PTRIG_N_MAPS; i++) {
		if (!pinned[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, ptrig_map_names[i]);
		unlink(path);
	}
	if (stats_moved) {
		snprintf(path, sizeof(path), "%s/%s", dir,
			 PTRIG_MAP_NAME(stats));
		unlink(path);
		rename(stats_aside, path);
	}
	if (created_dir) {
		rmdir(dir);
		/* Only if empty. */
		if (strcmp(nsdir, ptrig_pin_root()))
			rmdir(nsdir);
		rmdir(ptrig_pin_root());
	}
	ptrig_msg(m, PTRIG_MSG_NOTE, "nothing was changed on %s", o->ifname);
out:
	if (lan_old_fd >= 0)
		close(lan_old_fd);
	if (lan_xdp_old_fd >= 0)
		close(lan_xdp_old_fd);
	hook_fds_close(&old_fds);
	ptrig__destroy(skel);
	if (lock_fd >= 0)
		close(lock_fd);
	return ret;
}

/* Open an attached interface's pin directory, locked, and its maps. */
static int open_attached(const char *ifname, char *dir, size_t len,
			 struct ptrig_map_fds *fds, int *lock_fd,
			 struct ptrig_msgs *m)
{
	int err;

	if (ptrig_pin_dir(ifname, dir, len, m))
		return PTRIG_EXIT_USAGE;
	*lock_fd = ptrig_lock_dir(dir);
	if (*lock_fd < 0) {
		if (*lock_fd == -ENOENT)
			ptrig_msg(m, PTRIG_MSG_ERROR,
				  "ptrig is not attached to %s (no %s)", ifname,
				  dir);
		else
			ptrig_msg(m, PTRIG_MSG_ERROR, "cannot lock %s: %s", dir,
				  strerror(-*lock_fd));
		return PTRIG_EXIT_FAIL;
	}
	err = ptrig_maps_open_pinned(dir, fds);
	if (err) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "cannot open the maps pinned in %s: %s", dir,
			  strerror(-err));
		close(*lock_fd);
		return PTRIG_EXIT_FAIL;
	}
	return PTRIG_EXIT_OK;
}

int ptrig_reload(const char *ifname, const struct ptrig_ruleset *rs,
		 struct ptrig_msgs *m)
{
	struct ptrig_map_fds fds;
	char dir[256];
	int ret, lock_fd, err;

	if (ptrig_ensure_bpffs(m))
		return PTRIG_EXIT_FAIL;
	ret = open_attached(ifname, dir, sizeof(dir), &fds, &lock_fd, m);
	if (ret)
		return ret;
	err = ptrig_rules_push(&fds, rs);
	if (err) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "pushing the rules: %s; the previous rules stay "
			  "active",
			  strerror(-err));
		ret = PTRIG_EXIT_FAIL;
	} else {
		ptrig_msg(m, PTRIG_MSG_INFO, "%s now has %zu rule%s", ifname,
			  rs->n, rs->n == 1 ? "" : "s");
	}
	ptrig_maps_close(&fds);
	close(lock_fd);
	return ret;
}

/* Only ptrig's programs, and when there are pins, only those using them:
 * ptrig programs of another pin root are not this attachment's. */
static uint32_t ours(uint32_t prog_id, uint32_t cfg_id)
{
	if (!prog_id || !prog_is_ptrig(prog_id))
		return 0;
	return !cfg_id || ptrig_prog_uses_map(prog_id, cfg_id) ? prog_id : 0;
}

int ptrig_detach(const char *ifname, struct ptrig_msgs *m)
{
	struct ptrig_fast_config fast = {0};
	struct ptrig_config cfg = {0};
	struct ptrig_map_fds fds;
	struct hook_progs h = {0}, all;
	bool have_dir, have_cfg = false, removed_tc = false;
	uint32_t zero = 0, cfg_id;
	char dir[256], dev[IF_NAMESIZE];
	int lock_fd, ifindex, err;

	if (ptrig_ensure_bpffs(m))
		return PTRIG_EXIT_FAIL;
	if (ptrig_pin_dir(ifname, dir, sizeof(dir), m))
		return PTRIG_EXIT_USAGE;
	snprintf(dev, sizeof(dev), "%s", ifname);
	ifindex = if_nametoindex(ifname);
	if (ifindex)
		hooks_query(ifindex, &h);
	if (access(dir, F_OK) && ifindex &&
	    find_renamed_pins(&h, dir, sizeof(dir), m))
		ptrig_msg(m, PTRIG_MSG_NOTE,
			  "%s: its pins are at %s (its former name)", ifname,
			  dir);

	lock_fd = ptrig_lock_dir(dir);
	have_dir = lock_fd >= 0;
	if (!have_dir && lock_fd != -ENOENT) {
		ptrig_msg(m, PTRIG_MSG_ERROR, "cannot lock %s: %s", dir,
			  strerror(-lock_fd));
		return PTRIG_EXIT_FAIL;
	}
	cfg_id = have_dir ? ptrig_dir_map_id(dir) : 0;
	if (cfg_id && !ptrig_hooks_use_map(&h, cfg_id)) {
		/* Renamed: the programs went with the device. */
		char now[IF_NAMESIZE];
		int moved = ptrig_iface_using_map(cfg_id, now);

		if (moved) {
			ptrig_msg(m, PTRIG_MSG_NOTE,
				  "%s was renamed to %s; detaching from %s",
				  ifname, now, now);
			ifindex = moved;
			snprintf(dev, sizeof(dev), "%s", now);
			hooks_query(ifindex, &h);
		}
	}
	all = h;
	h.xdp_id = ours(h.xdp_id, cfg_id);
	h.tc_egress_id = ours(h.tc_egress_id, cfg_id);
	h.tc_ingress_id = ours(h.tc_ingress_id, cfg_id);
	if ((all.xdp_id && !h.xdp_id && prog_is_ptrig(all.xdp_id)) ||
	    (all.tc_ingress_id && !h.tc_ingress_id &&
	     prog_is_ptrig(all.tc_ingress_id)))
		ptrig_msg(m, PTRIG_MSG_NOTE,
			  "%s: the ptrig programs on it use other maps than %s "
			  "(another pin root): left alone",
			  dev, dir);

	if (!have_dir && !h.xdp_id && !h.tc_egress_id && !h.tc_ingress_id) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "ptrig is not attached to %s (no %s)", ifname, dir);
		return PTRIG_EXIT_FAIL;
	}
	/* The config says whether ptrig made the clsact qdisc. An attach
	 * that died half-way may have left only some pins, or none: then
	 * the attached programs' own maps tell. */
	err = have_dir ? ptrig_maps_open_pinned(dir, &fds) : -ENOENT;
	if (!err) {
		have_cfg = bpf_map_lookup_elem(fds.cfg, &zero, &cfg) == 0;
		if (bpf_map_lookup_elem(fds.fcfg, &zero, &fast))
			memset(&fast, 0, sizeof(fast));
		fast.lan_name[sizeof(fast.lan_name) - 1] = 0;
		ptrig_maps_close(&fds);
	} else {
		uint32_t ids[3] = {h.tc_ingress_id, h.tc_egress_id, h.xdp_id};
		int i;

		for (i = 0; i < 3 && !have_cfg; i++)
			have_cfg = ids[i] && cfg_from_prog(ids[i], &cfg);
		ptrig_msg(m, PTRIG_MSG_NOTE,
			  "%s: an incomplete attachment (%s); removing what "
			  "there is",
			  ifname,
			  have_dir ? "some pins are missing"
				   : "programs without pins");
	}

	if (ifindex) {
		if (h.xdp_id)
			bpf_xdp_detach(ifindex, h.xdp_flags, NULL);
		if (h.tc_egress_id) {
			tc_detach(ifindex, BPF_TC_EGRESS);
			removed_tc = true;
		}
		if (h.tc_ingress_id) {
			tc_detach(ifindex, BPF_TC_INGRESS);
			removed_tc = true;
		}
		/* The qdisc goes only if ptrig made it on this very device
		 * (not on an interface recreated since) and nobody else's
		 * filters are on it. */
		if (have_cfg && cfg.created_clsact &&
		    (cfg.ifindex ? cfg.ifindex == (uint32_t)ifindex
				 : removed_tc)) {
			if (clsact_in_use(ifindex))
				ptrig_msg(m, PTRIG_MSG_NOTE,
					  "%s: keeping the clsact qdisc ptrig "
					  "made: other filters use it now",
					  dev);
			else
				clsact_destroy(ifindex);
		}
	} else {
		ptrig_msg(m, PTRIG_MSG_NOTE,
			  "%s no longer exists; removing the pins", ifname);
	}
	/* The fast path's LAN program goes too, even if the WAN is gone. */
	if (have_cfg && fast.lan_ifindex)
		lan_detach(&fast, cfg.ifindex ? cfg.ifindex : (uint32_t)ifindex,
			   cfg_id, LAN_KIND_TC | LAN_KIND_XDP, m);
	if (have_dir) {
		char nsdir[256];

		unpin_all(dir);
		close(lock_fd);
		if (rmdir(dir)) {
			ptrig_msg(m, PTRIG_MSG_ERROR, "cannot remove %s: %s",
				  dir, strerror(errno));
			return PTRIG_EXIT_FAIL;
		}
		/* Only if empty. */
		if (ptrig_ns_dir(nsdir, sizeof(nsdir), m) == 0 &&
		    strcmp(nsdir, ptrig_pin_root()))
			rmdir(nsdir);
		rmdir(ptrig_pin_root());
	}
	ptrig_msg(m, PTRIG_MSG_INFO, "detached from %s", dev);
	return PTRIG_EXIT_OK;
}
