/* SPDX-License-Identifier: GPL-2.0 */
/* What the fast path must know of a device before it sends frames there
 * from XDP, read over netlink (libmnl): its root qdisc (frames an XDP
 * program redirects leave through the driver's XDP transmit, past the
 * qdisc, so a shaper there would not see them) and whether its driver takes
 * redirected frames at all. */
#ifndef PTRIG_DEVINFO_H
#define PTRIG_DEVINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kind of ifindex's root qdisc ("noqueue", "mq", "cake", ...), in the
 * calling thread's network namespace. Returns 0, or -errno (kind empty). */
int ptrig_root_qdisc_kind(int ifindex, char *kind, size_t len);

/* Does a qdisc on ifindex's egress (the root, or under a multiqueue root)
 * shape or schedule? 1 with its kind in kind, 0 if not, or -errno. */
int ptrig_qdisc_shaping(int ifindex, char *kind, size_t len);

/* Is a qdisc of this kind one that only queues (a device's default,
 * or an AQM at line rate), rather than one that shapes or schedules? */
bool ptrig_qdisc_kind_plain(const char *kind);

struct mnl_socket;
struct nlmsghdr;

/* A netlink socket on bus (NETLINK_ROUTE, ...), bound; NULL with errno
 * set. */
struct mnl_socket *ptrig_nl_open(int bus);

/* Send the request nlh and run cb on every message of the answer, to its
 * end: NLMSG_DONE for a dump, the ACK of a request sent with NLM_F_ACK.
 * Returns 0, or -errno (of the request, or an error message). */
int ptrig_nl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh,
		  int (*cb)(const struct nlmsghdr *nlh, void *data),
		  void *data);

/* The driver takes frames redirected from XDP (NETDEV_XDP_ACT_NDO_XMIT). */
#define PTRIG_XDP_ACT_NDO_XMIT (1ull << 2)

/* The device's XDP features (NETDEV_XDP_ACT_*), from the netdev generic
 * netlink family. Returns 0, -EOPNOTSUPP on a kernel without that family
 * (before 6.3: unknown), or -errno. A veth's change with its peer: it takes
 * redirected frames only while the peer runs XDP (or GRO). */
int ptrig_xdp_features(int ifindex, uint64_t *features);

#endif
