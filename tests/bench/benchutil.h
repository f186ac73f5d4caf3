/* SPDX-License-Identifier: GPL-2.0 */
/* What the lab's benchmark tools share: errors, entering a named network
 * namespace, MAC addresses. Define BENCH_TOOL (the tool's name, for its
 * messages) before including. */
#ifndef PTRIG_BENCHUTIL_H
#define PTRIG_BENCHUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Prints "TOOL: message" to stderr; returns 1 (the exit status). */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, BENCH_TOOL ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Enter the network namespace `ip netns` knows as name. */
static inline int enter_netns(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("%s: %s", path, strerror(errno));
	if (setns(fd, CLONE_NEWNET)) {
		close(fd);
		return fail("setns %s: %s", name, strerror(errno));
	}
	close(fd);
	return 0;
}

/* "aa:bb:cc:dd:ee:ff" into mac; -1 if it is not one. */
static inline int parse_mac(const char *s, unsigned char mac[6])
{
	unsigned int b[6];
	char end;
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5], &end) != 6)
		return -1;
	for (i = 0; i < 6; i++) {
		if (b[i] > 255)
			return -1;
		mac[i] = (unsigned char)b[i];
	}
	return 0;
}

/* The interface's MAC address. */
static inline int if_mac(const char *dev, unsigned char mac[6])
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail("socket: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr)) {
		close(fd);
		return fail("%s: no MAC address: %s", dev, strerror(errno));
	}
	close(fd);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

#endif
