// SPDX-License-Identifier: GPL-2.0
/*
 * tunpipe: an L3 point-to-point link for the lab, made of two tun devices
 * (IFF_TUN, no packet-info header) in two network namespaces, with this
 * process copying every packet from one to the other. The kernel sees an
 * ARPHRD_NONE link like a tunnel's: packets start at their IP header.
 *
 *   tunpipe NETNS_A IFNAME_A NETNS_B IFNAME_B
 *
 * NETNS_* are names under /run/netns. Prints "ready" once both devices
 * exist, then relays until a device goes away or it is killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int tun_in(const char *ns, const char *name)
{
	struct ifreq ifr;
	char path[256];
	int nsfd, fd;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET)) {
		fprintf(stderr, "tunpipe: netns %s: %s\n", ns, strerror(errno));
		return -1;
	}
	close(nsfd);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "tunpipe: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		fprintf(stderr, "tunpipe: TUNSETIFF %s in %s: %s\n", name, ns,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct pollfd p[2];
	char buf[65536];
	int i;

	if (argc != 5) {
		fprintf(stderr,
			"usage: tunpipe NETNS_A IFNAME_A NETNS_B IFNAME_B\n");
		return 2;
	}
	p[0].fd = tun_in(argv[1], argv[2]);
	if (p[0].fd < 0)
		return 1;
	p[1].fd = tun_in(argv[3], argv[4]);
	if (p[1].fd < 0)
		return 1;
	p[0].events = p[1].events = POLLIN;
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (i = 0; i < 2; i++) {
			ssize_t n;

			if (p[i].revents & (POLLERR | POLLHUP | POLLNVAL))
				return 0;
			if (!(p[i].revents & POLLIN))
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0)
				return n < 0 && errno != EIO ? 1 : 0;
			/* A packet the other side's stack refuses (device
			 * down) is dropped, as on a wire. */
			if (write(p[1 - i].fd, buf, (size_t)n) < 0 &&
			    errno != EIO && errno != EINVAL)
				return 1;
		}
	}
}
