/* SPDX-License-Identifier: GPL-2.0 */
/* bpffs, pin directories, locking, network namespaces, libbpf logging. */
#ifndef PTRIG_PINS_H
#define PTRIG_PINS_H

#include <stdbool.h>
#include <stddef.h>

#include "cmds.h"
#include "msgs.h"
#include "ptrig_load.h"

/* Functions taking a struct ptrig_msgs put their messages there; given NULL
 * they print them at once, as the CLI does. */

/* "ptrig-load: <message>" on stderr, for the CLI's own checks. */
void ptrig_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Keep libbpf's output (set PTRIG_DEBUG=1 to also see it live) ... */
void ptrig_log_capture(void);
/* ... and add its last lines to m after a failure. */
void ptrig_log_tail(struct ptrig_msgs *m, int lines);

/* Switch this process into a named network namespace (/run/netns/NAME) or
 * a path; NULL is a no-op. The mount namespace, and so bpffs, is kept. */
int ptrig_enter_netns(const char *name);

/* Mount bpffs on /sys/fs/bpf when it is not there. */
int ptrig_ensure_bpffs(struct ptrig_msgs *m);

/* /sys/fs/bpf/ptrig, or $PTRIG_PIN_ROOT (tests running labs side by side). */
const char *ptrig_pin_root(void);

/* The network namespace this process is in: its nsfs inode (as `lsns` and
 * `ip netns identify` know it) and its cookie (never reused while the
 * machine runs, unlike inodes). */
struct ptrig_netns {
	unsigned long long ino;
	unsigned long long cookie;
	bool init; /* the machine's initial namespace */
};
int ptrig_netns_get(struct ptrig_netns *ns);

/* The pin directory of the current network namespace: the pin root itself
 * in the initial namespace, ROOT/netns:INODE:COOKIE in any other. ':' is
 * not allowed in interface names, so the two never collide. */
int ptrig_ns_dir(char *buf, size_t len, struct ptrig_msgs *m);

/* ptrig_ns_dir()/IFNAME: the pins of IFNAME in the current network
 * namespace (PTRIG_PIN_ROOT in the environment overrides the root, for
 * tests). Pins that an older ptrig-load left at ROOT/IFNAME for an interface
 * of another namespace are moved here when that interface's hooks run
 * programs using them. */
int ptrig_pin_dir(const char *ifname, char *buf, size_t len,
		  struct ptrig_msgs *m);

/* Id of the counters map pinned in dir, 0 when there is none: every ptrig
 * program uses it, so it tells whose programs use these pins. */
uint32_t ptrig_dir_map_id(const char *dir);
/* The id of the map behind fd (0 if it cannot be read). */
uint32_t ptrig_map_fd_id(int fd);

/* Is prog_id a ptrig program using map map_id? */
bool ptrig_prog_uses_map(uint32_t prog_id, uint32_t map_id);

/* Does any ptrig program on these hooks use map map_id? */
bool ptrig_hooks_use_map(const struct hook_progs *h, uint32_t map_id);

/* The interface of the current network namespace whose hooks run ptrig
 * programs using map map_id (a renamed interface), or 0. */
int ptrig_iface_using_map(uint32_t map_id, char *name);

/* Is map map_id used by a ptrig program other than those on own (attached
 * to another interface, in this or another network namespace)? */
bool ptrig_map_used_elsewhere(uint32_t map_id, const struct hook_progs *own);

/* flock(LOCK_EX) the pin directory; returns the fd to close, or -errno. */
int ptrig_lock_dir(const char *dir);

/* Open all pinned maps of an interface; -ENOENT when not attached. */
int ptrig_maps_open_pinned(const char *dir, struct ptrig_map_fds *m);
void ptrig_maps_close(struct ptrig_map_fds *m);

/* Say what to do when not root; false then. */
bool ptrig_is_root(const char *cmd);

#endif
