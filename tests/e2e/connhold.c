// SPDX-License-Identifier: GPL-2.0
/*
 * connhold: many idle TCP connections for the ptrig lab's attack tests.
 *
 *   connhold serve -p PORT [-t SECONDS]
 *       Accepts every connection on PORT and echoes what it reads, until
 *       SECONDS (default 60) pass. Prints "ready" on stderr once listening.
 *
 *   connhold hold -d ADDR -p PORT -n N [-t SECONDS] [-k IDLE]
 *       Opens N connections to ADDR:PORT one after the other (3 s connect
 *       timeout each; -k: TCP keepalive probes after IDLE seconds idle,
 *       then every second), prints "open K ports P1 P2 ..." (the local ports of
 *       the K that connected), then answers commands read from stdin:
 *         check   each open connection sends "ping" and must get it echoed
 *                 within 2 s; prints "alive A lost L" (lost: reset, closed,
 *                 or no echo); lost connections stay lost.
 *         quit    closes everything and exits.
 *       Exits after SECONDS (default 120) at the latest.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 4096

static void usage(void)
{
	fprintf(stderr, "usage: connhold serve -p PORT [-t SECONDS]\n"
			"       connhold hold -d ADDR -p PORT -n N "
			"[-t SECONDS] [-k IDLE]\n");
	exit(2);
}

static long parse_num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		usage();
	return v;
}

static int serve(int port)
{
	struct pollfd fds[MAX_CONNS + 1];
	struct sockaddr_in sa = {0};
	int one = 1, n = 1, i;
	char buf[4096];

	fds[0].fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[0].fd < 0)
		return perror("connhold: socket"), 1;
	setsockopt(fds[0].fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (bind(fds[0].fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fds[0].fd, 1024))
		return perror("connhold: bind/listen"), 1;
	fds[0].events = POLLIN;
	fprintf(stderr, "ready\n");
	for (;;) {
		if (poll(fds, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return perror("connhold: poll"), 1;
		}
		if ((fds[0].revents & POLLIN) && n <= MAX_CONNS) {
			int c = accept(fds[0].fd, NULL, NULL);

			if (c >= 0) {
				fds[n].fd = c;
				fds[n].events = POLLIN;
				fds[n].revents = 0;
				n++;
			}
		}
		for (i = 1; i < n; i++) {
			ssize_t r;

			if (!fds[i].revents)
				continue;
			r = read(fds[i].fd, buf, sizeof(buf));
			if (r <= 0 || write(fds[i].fd, buf, (size_t)r) != r) {
				close(fds[i].fd);
				fds[i--] = fds[--n];
			}
		}
	}
}

static int connect_timeout(const struct sockaddr_in *sa, int keepidle)
{
	struct pollfd p;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), err = 0;
	socklen_t len = sizeof(err);
	int one = 1;

	if (fd < 0)
		return -1;
	if (keepidle &&
	    (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) ||
	     setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &keepidle,
			sizeof(keepidle)) ||
	     setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &one, sizeof(one))))
		goto fail;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) &&
	    errno != EINPROGRESS)
		goto fail;
	p.fd = fd;
	p.events = POLLOUT;
	if (poll(&p, 1, 3000) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || err)
		goto fail;
	fcntl(fd, F_SETFL, 0);
	return fd;
fail:
	close(fd);
	return -1;
}

/* "ping" there and back within 2 s. */
static int ping(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[4];
	size_t got = 0;

	if (write(fd, "ping", 4) != 4)
		return -1;
	while (got < 4) {
		ssize_t r;

		if (poll(&p, 1, 2000) != 1)
			return -1;
		r = read(fd, buf + got, 4 - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return memcmp(buf, "ping", 4) ? -1 : 0;
}

static int hold(const char *addr, int port, int n, int keepidle)
{
	static int fds[MAX_CONNS];
	struct sockaddr_in sa = {0};
	char line[64];
	int i, k = 0;

	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		usage();
	for (i = 0; i < n; i++) {
		int fd = connect_timeout(&sa, keepidle);

		if (fd >= 0)
			fds[k++] = fd;
	}
	printf("open %d ports", k);
	for (i = 0; i < k; i++) {
		struct sockaddr_in me;
		socklen_t len = sizeof(me);

		getsockname(fds[i], (struct sockaddr *)&me, &len);
		printf(" %u", ntohs(me.sin_port));
	}
	printf("\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		int alive = 0, lost = 0;

		if (!strncmp(line, "quit", 4))
			break;
		if (strncmp(line, "check", 5))
			continue;
		for (i = 0; i < k; i++) {
			if (fds[i] >= 0 && ping(fds[i]) == 0) {
				alive++;
				continue;
			}
			if (fds[i] >= 0)
				close(fds[i]);
			fds[i] = -1;
			lost++;
		}
		printf("alive %d lost %d\n", alive, lost);
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *addr = NULL;
	int port = 0, n = 1, keepidle = 0, c;
	long secs = 0;

	if (argc < 2)
		usage();
	optind = 2;
	while ((c = getopt(argc, argv, "d:p:n:t:k:")) != -1) {
		switch (c) {
		case 'd':
			addr = optarg;
			break;
		case 'p':
			port = (int)parse_num(optarg, 1, 65535);
			break;
		case 'n':
			n = (int)parse_num(optarg, 1, MAX_CONNS);
			break;
		case 't':
			secs = parse_num(optarg, 1, 3600);
			break;
		case 'k':
			keepidle = (int)parse_num(optarg, 1, 3600);
			break;
		default:
			usage();
		}
	}
	if (!port)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "serve")) {
		alarm((unsigned)(secs ? secs : 60));
		return serve(port);
	}
	if (!strcmp(argv[1], "hold") && addr) {
		alarm((unsigned)(secs ? secs : 120));
		return hold(addr, port, n, keepidle);
	}
	usage();
	return 2;
}
