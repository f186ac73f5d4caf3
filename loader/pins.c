// SPDX-License-Identifier: GPL-2.0
/* bpffs, pin directories, locking, network namespaces, libbpf logging. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pins.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

void ptrig_err(const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ptrig_msg(NULL, PTRIG_MSG_ERROR, "%s", text);
}

/* libbpf's messages are kept, not printed: on a failure the caller shows
 * the tail, which is where the verifier says what it rejected. */
static char libbpf_log[256 * 1024];
static size_t libbpf_log_len;

static int libbpf_collect(enum libbpf_print_level level, const char *fmt,
			  va_list ap)
{
	char line[4096];
	int n;

	if (level == LIBBPF_DEBUG && !getenv("PTRIG_DEBUG"))
		return 0;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n <= 0)
		return 0;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (libbpf_log_len + n >= sizeof(libbpf_log)) {
		/* Keep the newest half. */
		size_t keep = sizeof(libbpf_log) / 2;

		memmove(libbpf_log, libbpf_log + libbpf_log_len - keep, keep);
		libbpf_log_len = keep;
	}
	memcpy(libbpf_log + libbpf_log_len, line, n);
	libbpf_log_len += n;
	libbpf_log[libbpf_log_len] = 0;
	if (getenv("PTRIG_DEBUG"))
		fputs(line, stderr);
	return 0;
}

void ptrig_log_capture(void)
{
	libbpf_set_print(libbpf_collect);
}

void ptrig_log_tail(struct ptrig_msgs *m, int lines)
{
	const char *p = libbpf_log + libbpf_log_len;
	int seen = 0;

	if (!libbpf_log_len)
		return;
	while (p > libbpf_log) {
		p--;
		if (*p == '\n' && ++seen > lines) {
			p++;
			break;
		}
	}
	ptrig_msg(m, PTRIG_MSG_LOG, "%s", p);
}

int ptrig_enter_netns(const char *name)
{
	char path[256];
	int fd;

	if (!name)
		return 0;
	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ptrig_err("network namespace %s: %s", path, strerror(errno));
		return -errno;
	}
	/* Only the network namespace changes: bpffs stays visible. */
	if (setns(fd, CLONE_NEWNET)) {
		int err = -errno;

		ptrig_err("entering network namespace %s: %s", path,
			  strerror(errno));
		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

int ptrig_ensure_bpffs(struct ptrig_msgs *m)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir("/sys/fs/bpf", 0700) && errno != EEXIST) {
		ptrig_msg(m, PTRIG_MSG_ERROR, "cannot create /sys/fs/bpf: %s",
			  strerror(errno));
		return -errno;
	}
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "cannot mount bpffs on /sys/fs/bpf: %s",
			  strerror(errno));
		return -errno;
	}
	return 0;
}

const char *ptrig_pin_root(void)
{
	const char *root = getenv("PTRIG_PIN_ROOT");

	return root && *root ? root : PTRIG_PIN_ROOT;
}

/* Initial namespaces have fixed nsfs inodes on recent kernels; older ones
 * number net namespace cookies from 1, the initial namespace first. */
#define NET_INIT_INO 0xEFFFFFF9ull
#define PID_INIT_INO 0xEFFFFFFCull
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

int ptrig_netns_get(struct ptrig_netns *ns)
{
	socklen_t optlen = sizeof(ns->cookie);
	struct stat st, pid, init;
	int fd;

	memset(ns, 0, sizeof(*ns));
	if (stat("/proc/self/ns/net", &st))
		return -errno;
	ns->ino = st.st_ino;
	/* A socket belongs to the namespace it is created in. */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &ns->cookie,
			       &optlen))
			ns->cookie = 0;
		close(fd);
	}
	ns->init = ns->ino == NET_INIT_INO || ns->cookie == 1;
	/* PID 1 of the initial PID namespace lives in the initial network
	 * namespace; a container's PID 1 is not that one. */
	if (!ns->init && stat("/proc/self/ns/pid", &pid) == 0 &&
	    pid.st_ino == PID_INIT_INO && stat("/proc/1/ns/net", &init) == 0)
		ns->init = init.st_ino == st.st_ino && init.st_dev == st.st_dev;
	return 0;
}

int ptrig_ns_dir(char *buf, size_t len, struct ptrig_msgs *m)
{
	struct ptrig_netns ns;
	int n, err;

	err = ptrig_netns_get(&ns);
	if (err) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "cannot identify the network namespace: %s",
			  strerror(-err));
		return err;
	}
	if (ns.init)
		n = snprintf(buf, len, "%s", ptrig_pin_root());
	else
		n = snprintf(buf, len, "%s/netns:%llu:%llu", ptrig_pin_root(),
			     ns.ino, ns.cookie);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

uint32_t ptrig_map_fd_id(int fd)
{
	struct bpf_map_info info = {0};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

uint32_t ptrig_dir_map_id(const char *dir)
{
	char path[512];
	uint32_t id;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, PTRIG_MAP_NAME(stats));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	id = ptrig_map_fd_id(fd);
	close(fd);
	return id;
}

bool ptrig_prog_uses_map(uint32_t prog_id, uint32_t map_id)
{
	struct bpf_prog_info info = {0};
	uint32_t len = sizeof(info), ids[32], i;
	bool uses = false;
	int fd;

	if (!prog_id || !map_id)
		return false;
	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return false;
	info.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	info.map_ids = (uint64_t)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	    strncmp(info.name, "ptrig_", 6) == 0)
		for (i = 0; i < info.nr_map_ids && i < 32 && !uses; i++)
			uses = ids[i] == map_id;
	close(fd);
	return uses;
}

bool ptrig_hooks_use_map(const struct hook_progs *h, uint32_t map_id)
{
	return ptrig_prog_uses_map(h->xdp_id, map_id) ||
	       ptrig_prog_uses_map(h->tc_egress_id, map_id) ||
	       ptrig_prog_uses_map(h->tc_ingress_id, map_id);
}

int ptrig_iface_using_map(uint32_t map_id, char *name)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	int found = 0;

	if (!ifs)
		return 0;
	for (i = ifs; i->if_index && !found; i++) {
		struct hook_progs h;

		hooks_query(i->if_index, &h);
		if (ptrig_hooks_use_map(&h, map_id)) {
			found = i->if_index;
			if (name)
				snprintf(name, IF_NAMESIZE, "%s", i->if_name);
		}
	}
	if_freenameindex(ifs);
	return found;
}

bool ptrig_map_used_elsewhere(uint32_t map_id, const struct hook_progs *own)
{
	uint32_t id = 0;

	while (bpf_prog_get_next_id(id, &id) == 0) {
		if (own && (id == own->xdp_id || id == own->tc_egress_id ||
			    id == own->tc_ingress_id))
			continue;
		if (ptrig_prog_uses_map(id, map_id) && !prog_is_lan_program(id))
			return true;
	}
	return false;
}

/* Pins of IFNAME made by an older ptrig-load, which keyed them by name
 * only, at ROOT/IFNAME: they are this namespace's when the programs on its
 * IFNAME use them. Then they move under this namespace's directory, where
 * the rest of ptrig-load looks. */
static void adopt_legacy_pins(const char *ifname, const char *dir,
			      struct ptrig_msgs *m)
{
	char legacy[512], nsdir[512];
	struct hook_progs h;
	uint32_t cfg_id;
	int ifindex;

	snprintf(legacy, sizeof(legacy), "%s/%s", ptrig_pin_root(), ifname);
	cfg_id = ptrig_dir_map_id(legacy);
	ifindex = if_nametoindex(ifname);
	if (!cfg_id || !ifindex)
		return;
	hooks_query(ifindex, &h);
	if (!ptrig_hooks_use_map(&h, cfg_id))
		return;
	if (ptrig_ns_dir(nsdir, sizeof(nsdir), m) ||
	    (mkdir(nsdir, 0700) && errno != EEXIST))
		return;
	if (rename(legacy, dir) == 0)
		ptrig_msg(m, PTRIG_MSG_NOTE,
			  "%s: moved the pins of this namespace's %s from %s "
			  "to %s",
			  ifname, ifname, legacy, dir);
}

int ptrig_pin_dir(const char *ifname, char *buf, size_t len,
		  struct ptrig_msgs *m)
{
	struct ptrig_netns ns;
	struct stat st;
	char *p;
	int n, err;

	err = ptrig_netns_get(&ns);
	if (err) {
		ptrig_msg(m, PTRIG_MSG_ERROR,
			  "cannot identify the network namespace: %s",
			  strerror(-err));
		return err;
	}
	if (ns.init)
		n = snprintf(buf, len, "%s/%s", ptrig_pin_root(), ifname);
	else
		n = snprintf(buf, len, "%s/netns:%llu:%llu/%s",
			     ptrig_pin_root(), ns.ino, ns.cookie, ifname);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	/* bpffs refuses names with a dot (EPERM), which VLAN devices have
	 * (wan0.7): their directory says ':' instead, a character interface
	 * names never contain, so names stay distinct (and never start with
	 * "netns:", the namespaces' directories). */
	for (p = buf + n - strlen(ifname); *p; p++)
		if (*p == '.')
			*p = ':';
	if (!ns.init && stat(buf, &st) && errno == ENOENT)
		adopt_legacy_pins(ifname, buf, m);
	return 0;
}

int ptrig_lock_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	/* Serialises every mutating command on this interface. */
	if (flock(fd, LOCK_EX)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int ptrig_maps_open_pinned(const char *dir, struct ptrig_map_fds *m)
{
	char path[512];
	int i, err;

	for (i = 0; i < PTRIG_N_MAPS; i++)
		*ptrig_map_fd_slot(m, i) = -1;
	for (i = 0; i < PTRIG_N_MAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, ptrig_map_names[i]);
		*ptrig_map_fd_slot(m, i) = bpf_obj_get(path);
		if (*ptrig_map_fd_slot(m, i) < 0) {
			err = -errno;
			ptrig_maps_close(m);
			return err;
		}
	}
	return 0;
}

void ptrig_maps_close(struct ptrig_map_fds *m)
{
	int i;

	for (i = 0; i < PTRIG_N_MAPS; i++) {
		int *fd = ptrig_map_fd_slot(m, i);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

bool ptrig_is_root(const char *cmd)
{
	if (geteuid() == 0)
		return true;
	ptrig_err("%s needs root (CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN): "
		  "run it with sudo",
		  cmd);
	return false;
}
