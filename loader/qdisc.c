// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "qdisc.h"

struct qdisc_query {
	int ifindex;
	char *kind;
	size_t len;
};

static int qdisc_msg(const struct nlmsghdr *nlh, void *data)
{
	struct qdisc_query *q = data;
	const struct tcmsg *tc = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWQDISC || tc->tcm_ifindex != q->ifindex ||
	    tc->tcm_parent != TC_H_ROOT)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*tc))
	{
		if (mnl_attr_get_type(attr) == TCA_KIND &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
			snprintf(q->kind, q->len, "%s", mnl_attr_get_str(attr));
	}
	return MNL_CB_OK;
}

int ptrig_root_qdisc_kind(int ifindex, char *kind, size_t len)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct qdisc_query q = {ifindex, kind, len};
	unsigned int seq = (unsigned int)time(NULL), portid;
	struct mnl_socket *nl;
	struct tcmsg *tc;
	ssize_t n;
	int ret, err = 0;

	if (len)
		kind[0] = 0;
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_type = RTM_GETQDISC;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	tc = mnl_nlmsg_put_extra_header(nlh, sizeof(*tc));
	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = ifindex;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	/* A dump: messages until NLMSG_DONE (mnl_cb_run returns 0). */
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			err = -errno;
			goto out;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, qdisc_msg, &q);
	} while (ret > 0);
	if (ret < 0)
		err = -errno;
	else if (!len || !kind[0])
		err = -ENOENT;
out:
	mnl_socket_close(nl);
	return err;
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
