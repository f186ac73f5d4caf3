/* SPDX-License-Identifier: GPL-2.0 */
/* bpffs, pin directories, locking, network namespaces, libbpf logging. */
#ifndef PTRIG_PINS_H
#define PTRIG_PINS_H

#include <stdbool.h>
#include <stddef.h>

#include "ptrig_load.h"

/* "ptrig-load: <message>" on stderr. */
void ptrig_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Keep libbpf's output (set PTRIG_DEBUG=1 to also see it live) ... */
void ptrig_log_capture(void);
/* ... and print its last lines after a failure. */
void ptrig_log_tail(int lines);

/* Switch this process into a named network namespace (/run/netns/NAME) or
 * a path; NULL is a no-op. The mount namespace, and so bpffs, is kept. */
int ptrig_enter_netns(const char *name);

/* Mount bpffs on /sys/fs/bpf when it is not there. */
int ptrig_ensure_bpffs(void);

/* /sys/fs/bpf/ptrig, or $PTRIG_PIN_ROOT (tests running labs side by side). */
const char *ptrig_pin_root(void);

/* /sys/fs/bpf/ptrig/IFNAME (PTRIG_PIN_ROOT in the environment overrides the
 * root, for tests). */
int ptrig_pin_dir(const char *ifname, char *buf, size_t len);

/* flock(LOCK_EX) the pin directory; returns the fd to close, or -errno. */
int ptrig_lock_dir(const char *dir);

/* Open all pinned maps of an interface; -ENOENT when not attached. */
int ptrig_maps_open_pinned(const char *dir, struct ptrig_map_fds *m);
void ptrig_maps_close(struct ptrig_map_fds *m);

/* Say what to do when not root; false then. */
bool ptrig_is_root(const char *cmd);

#endif
