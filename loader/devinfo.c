// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "devinfo.h"

struct qdisc_query {
	int ifindex;
	char *kind; /* the root qdisc's */
	size_t len;
	char shaper[32]; /* the first egress qdisc that is not plain */
};

static int qdisc_msg(const struct nlmsghdr *nlh, void *data)
{
	struct qdisc_query *q = data;
	const struct tcmsg *tc = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	const char *kind = NULL;

	if (nlh->nlmsg_type != RTM_NEWQDISC || tc->tcm_ifindex != q->ifindex ||
	    tc->tcm_parent == TC_H_INGRESS) /* ingress, clsact */
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*tc))
	{
		if (mnl_attr_get_type(attr) == TCA_KIND &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
			kind = mnl_attr_get_str(attr);
	}
	if (!kind)
		return MNL_CB_OK;
	if (tc->tcm_parent == TC_H_ROOT)
		snprintf(q->kind, q->len, "%s", kind);
	/* A multiqueue root (mq) hands each queue to a child qdisc, which
	 * may shape. */
	if (!q->shaper[0] && !ptrig_qdisc_kind_plain(kind))
		snprintf(q->shaper, sizeof(q->shaper), "%s", kind);
	return MNL_CB_OK;
}

struct mnl_socket *ptrig_nl_open(int bus)
{
	struct mnl_socket *nl = mnl_socket_open(bus);
	int err;

	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	return nl;
}

int ptrig_nl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh,
		  int (*cb)(const struct nlmsghdr *nlh, void *data), void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int seq = nlh->nlmsg_seq, portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* Messages until NLMSG_DONE (mnl_cb_run returns MNL_CB_STOP). */
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
	} while (ret > MNL_CB_STOP);
	return ret < 0 ? -errno : 0;
}

/* Every qdisc of q->ifindex through qdisc_msg(); 0, -ENOENT without a root
 * qdisc (no such device), or -errno. */
static int qdisc_dump(struct qdisc_query *q)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	size_t len = q->len;
	char *kind = q->kind;
	int ifindex = q->ifindex;
	unsigned int seq = (unsigned int)time(NULL);
	struct mnl_socket *nl;
	struct tcmsg *tc;
	int err;

	nl = ptrig_nl_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	nlh->nlmsg_type = RTM_GETQDISC;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	tc = mnl_nlmsg_put_extra_header(nlh, sizeof(*tc));
	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = ifindex;
	err = ptrig_nl_talk(nl, nlh, qdisc_msg, q);
	if (!err && (!len || !kind[0]))
		err = -ENOENT;
	mnl_socket_close(nl);
	return err;
}

int ptrig_qdisc_shaping(int ifindex, char *kind, size_t len)
{
	char root[32];
	struct qdisc_query q = {ifindex, root, sizeof(root), ""};
	int err = qdisc_dump(&q);

	if (len)
		kind[0] = 0;
	if (err)
		return err;
	if (len)
		snprintf(kind, len, "%s", q.shaper);
	return q.shaper[0] != 0;
}

int ptrig_root_qdisc_kind(int ifindex, char *kind, size_t len)
{
	struct qdisc_query q = {ifindex, kind, len, ""};

	if (len)
		kind[0] = 0;
	return qdisc_dump(&q);
}

bool ptrig_qdisc_kind_plain(const char *kind)
{
	static const char *const plain[] = {"noqueue",	"mq",  "pfifo_fast",
					    "fq_codel", "fq",  "pfifo",
					    "bfifo",	"sfq", "codel"};
	size_t i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (!strcmp(kind, plain[i]))
			return true;
	return false;
}

/* The netdev family's numbers (linux/netdev.h, which Debian 12's headers
 * predate): a device's XDP features by its ifindex. */
#define NETDEV_FAMILY_NAME "netdev"
#define NETDEV_CMD_DEV_GET 1
#define NETDEV_A_DEV_IFINDEX 1
#define NETDEV_A_DEV_XDP_FEATURES 3

struct genl_answer {
	uint16_t attr; /* the attribute wanted */
	bool found;
	uint64_t value;
};

static int genl_attr(const struct nlattr *a, void *data)
{
	struct genl_answer *ans = data;

	if (mnl_attr_get_type(a) != ans->attr)
		return MNL_CB_OK;
	if (mnl_attr_get_payload_len(a) == sizeof(uint16_t)) {
		ans->value = mnl_attr_get_u16(a);
		ans->found = true;
	} else if (mnl_attr_get_payload_len(a) == sizeof(uint64_t)) {
		ans->value = mnl_attr_get_u64(a);
		ans->found = true;
	}
	return MNL_CB_OK;
}

static int genl_msg(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), genl_attr, data);
	return MNL_CB_OK;
}

/* One generic netlink request with a string or u32 attribute; ans gets the
 * attribute it names from the answer. Returns 0 or -errno. */
static int genl_ask(struct mnl_socket *nl, uint16_t family, uint8_t cmd,
		    uint16_t attr, const char *str, uint32_t u32,
		    struct genl_answer *ans)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	unsigned int seq = (unsigned int)time(NULL) ^ cmd;
	struct genlmsghdr *g;
	int err;

	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = 1;
	if (str)
		mnl_attr_put_strz(nlh, attr, str);
	else
		mnl_attr_put_u32(nlh, attr, u32);
	err = ptrig_nl_talk(nl, nlh, genl_msg, ans);
	if (err)
		return err;
	return ans->found ? 0 : -ENOENT;
}

int ptrig_xdp_features(int ifindex, uint64_t *features)
{
	struct genl_answer fam = {.attr = CTRL_ATTR_FAMILY_ID};
	struct genl_answer feat = {.attr = NETDEV_A_DEV_XDP_FEATURES};
	struct mnl_socket *nl;
	int err;

	*features = 0;
	nl = ptrig_nl_open(NETLINK_GENERIC);
	if (!nl)
		return -errno;
	err = genl_ask(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
		       CTRL_ATTR_FAMILY_NAME, NETDEV_FAMILY_NAME, 0, &fam);
	if (err) {
		err = err == -ENOENT ? -EOPNOTSUPP : err;
		goto out;
	}
	err = genl_ask(nl, (uint16_t)fam.value, NETDEV_CMD_DEV_GET,
		       NETDEV_A_DEV_IFINDEX, NULL, (uint32_t)ifindex, &feat);
	if (!err)
		*features = feat.value;
out:
	mnl_socket_close(nl);
	return err;
}
