/* SPDX-License-Identifier: GPL-2.0 */
/* A device's root qdisc, read over rtnetlink (libmnl). Frames an XDP
 * program redirects leave through the driver's XDP transmit, past the
 * qdisc: a shaper there (cake, htb, ...) would not see them. */
#ifndef PTRIG_QDISC_H
#define PTRIG_QDISC_H

#include <stdbool.h>
#include <stddef.h>

/* The kind of ifindex's root qdisc ("noqueue", "mq", "cake", ...), in the
 * calling thread's network namespace. Returns 0, or -errno (kind empty). */
int ptrig_root_qdisc_kind(int ifindex, char *kind, size_t len);

/* Is a root qdisc of this kind one that only queues (a device's default,
 * or an AQM at line rate), rather than one that shapes or schedules? */
bool ptrig_qdisc_kind_plain(const char *kind);

#endif
