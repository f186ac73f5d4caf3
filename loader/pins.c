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
#include <sys/file.h>
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
	va_list ap;

	fputs("ptrig-load: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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

void ptrig_log_tail(int lines)
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
	fprintf(stderr, "---- last lines of the libbpf/verifier log ----\n%s",
		p);
	if (libbpf_log[libbpf_log_len - 1] != '\n')
		fputc('\n', stderr);
	fprintf(stderr, "----\n");
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

int ptrig_ensure_bpffs(void)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir("/sys/fs/bpf", 0700) && errno != EEXIST) {
		ptrig_err("cannot create /sys/fs/bpf: %s", strerror(errno));
		return -errno;
	}
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		ptrig_err("cannot mount bpffs on /sys/fs/bpf: %s",
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

int ptrig_pin_dir(const char *ifname, char *buf, size_t len)
{
	size_t root_len;
	char *p;
	int n;

	n = snprintf(buf, len, "%s/%s", ptrig_pin_root(), ifname);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	/* bpffs refuses names with a dot (EPERM), which VLAN devices have
	 * (wan0.7): their directory says ':' instead, a character interface
	 * names never contain, so names stay distinct. */
	root_len = strlen(ptrig_pin_root());
	for (p = buf + root_len + 1; *p; p++)
		if (*p == '.')
			*p = ':';
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
