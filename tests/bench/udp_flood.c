// SPDX-License-Identifier: GPL-2.0
/*
 * udp_flood: the UDP generator and counter of `make bench` (end to end).
 *
 *   udp_flood send --dst IP --port P [--sport P] [--size BYTES]
 *                  [--seconds S] [--count N] [--batch N] [--flows N]
 *       Sends UDP datagrams with sendmmsg() as fast as it can, until S
 *       seconds (default 5) or N packets (default 100,000,000) have passed,
 *       whichever comes first. Each payload carries a magic word and a
 *       sequence number (one sequence over all flows). With --flows N,
 *       N sockets (source ports P..P+N-1 with --sport P, else ephemeral)
 *       take turns, a batch each: N concurrent flows. Prints "sent=N secs=S
 * pps=X errors=E cpu_ns_per_pkt=C" (C: this process's CPU time per packet,
 * which includes the softirq work of the whole path, see cpu_ns()).
 *
 *   udp_flood recv --port P [--warmup S] [--window S] [--wait S] [--reply]
 *       Counts the datagrams arriving on port P with recvmmsg() during a
 *       fixed window: it waits (at most --wait s) for the first packet,
 *       lets --warmup s pass, then counts for --window s. With --reply it
 *       answers the first datagram of every source port once (so each flow
 *       is bidirectional, as a real application's would be). Prints "pkts=N
 * secs=S pps=X lost_est=L bad=B" (lost_est: sequence numbers missing inside the
 *       window). Exit 3 if no packet came.
 *
 * Every loop is bounded by time; nothing runs unbounded.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x50545242u /* "PTRB" */
#define MAX_BATCH 256
#define MAX_SIZE 1472
#define MAX_FLOWS 4096

struct payload {
	uint32_t magic;
	uint32_t pad;
	uint64_t seq;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this process (user + system), in ns. Without
 * CONFIG_IRQ_TIME_ACCOUNTING the softirq work a packet triggers on the way
 * out (the veth peers, bridges and the router run in the sender's context)
 * is charged here too, so per packet this is the cost of the whole path. */
static double cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec) * 1e9 +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) *
		       1e3;
}

static void usage(void)
{
	fprintf(stderr, "usage: udp_flood send --dst IP --port P [--sport P] "
			"[--size BYTES]\n"
			"                 [--seconds S] [--count N] [--batch "
			"N] [--flows N]\n"
			"       udp_flood recv --port P [--warmup S] [--window "
			"S] [--wait S] [--reply]\n");
	exit(2);
}

/* A UDP socket connected to dst:port, bound to sport if not 0. */
static int flow_socket(const char *dst, int port, int sport)
{
	struct sockaddr_in sa;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (sport) {
		int one = 1;

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		sa.sin_port = htons((uint16_t)sport);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			perror("bind");
			close(fd);
			return -1;
		}
	}
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, dst, &sa.sin_addr) != 1) {
		fprintf(stderr, "udp_flood: bad address %s\n", dst);
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("connect");
		close(fd);
		return -1;
	}
	return fd;
}

static int do_send(const char *dst, int port, int sport, int size, double secs,
		   uint64_t count, int batch, int flows)
{
	static uint8_t bufs[MAX_BATCH][MAX_SIZE];
	static int fds[MAX_FLOWS];
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	uint64_t sent = 0, errors = 0, seq = 0;
	double t0, t1, deadline, c0, c1;
	int fd, i, n, turn = 0;

	for (i = 0; i < flows; i++) {
		fds[i] = flow_socket(dst, port, sport ? sport + i : 0);
		if (fds[i] < 0)
			return 1;
	}
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < batch; i++) {
		memset(bufs[i], 0x5a, (size_t)size);
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = (size_t)size;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = now_s();
	c0 = cpu_ns();
	deadline = t0 + secs;
	while (sent < count) {
		int want = batch;

		if ((uint64_t)want > count - sent)
			want = (int)(count - sent);
		for (i = 0; i < want; i++) {
			struct payload p = {.magic = MAGIC,
					    .seq = seq + (uint64_t)i};

			memcpy(bufs[i], &p, sizeof(p));
		}
		fd = fds[turn];
		turn = turn + 1 == flows ? 0 : turn + 1;
		n = sendmmsg(fd, msgs, (unsigned)want, 0);
		if (n < 0) {
			/* ICMP errors (nobody listening yet) and full
			 * queues are reported here: count them, go on. */
			errors++;
			if (errno != ECONNREFUSED && errno != ENOBUFS &&
			    errno != EAGAIN && errno != EINTR) {
				perror("sendmmsg");
				break;
			}
		} else {
			sent += (uint64_t)n;
			seq += (uint64_t)n;
		}
		if (now_s() >= deadline)
			break;
	}
	t1 = now_s();
	c1 = cpu_ns();
	printf("sent=%llu secs=%.3f pps=%.0f errors=%llu cpu_ns_per_pkt=%.0f\n",
	       (unsigned long long)sent, t1 - t0, (double)sent / (t1 - t0),
	       (unsigned long long)errors, sent ? (c1 - c0) / (double)sent : 0);
	for (i = 0; i < flows; i++)
		close(fds[i]);
	return 0;
}

static int do_recv(int port, double warmup, double window, double wait,
		   bool reply)
{
	static uint8_t bufs[64][2048];
	static uint8_t answered[65536 / 8]; /* source ports replied to */
	struct sockaddr_in sa, from[64];
	struct mmsghdr msgs[64];
	struct iovec iov[64];
	struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
	uint64_t pkts = 0, bad = 0, seq_lo = UINT64_MAX, seq_hi = 0;
	double t_first = 0, t_start = 0, t_end = 0, t, give_up;
	int fd, i, n, rcvbuf = 8 << 20, one = 1;
	bool counting = false, got = false;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("bind");
		return 1;
	}
	for (i = 0; i < 64; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &from[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
	}
	fprintf(stderr, "udp_flood: ready on port %d\n", port);
	give_up = now_s() + wait;
	for (;;) {
		for (i = 0; i < 64; i++)
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		n = recvmmsg(fd, msgs, 64, MSG_WAITFORONE, NULL);
		t = now_s();
		if (n > 0 && !got) {
			got = true;
			t_first = t;
			t_start = t_first + warmup;
			t_end = t_start + window;
		}
		for (i = 0; reply && i < n; i++) {
			static const char r[] = "PTRR";
			uint16_t sp = ntohs(from[i].sin_port);

			if (answered[sp / 8] & (1u << (sp % 8)))
				continue;
			answered[sp / 8] |= (uint8_t)(1u << (sp % 8));
			sendto(fd, r, sizeof(r), 0, (struct sockaddr *)&from[i],
			       msgs[i].msg_hdr.msg_namelen);
		}
		if (!got) {
			if (t >= give_up)
				break;
			continue;
		}
		if (!counting && t >= t_start) {
			/* This batch may have queued before the window:
			 * the window starts with the next one. */
			counting = true;
			t_start = t;
			t_end = t_start + window;
			continue;
		}
		if (counting && n > 0) {
			for (i = 0; i < n; i++) {
				struct payload p;

				if (msgs[i].msg_len < sizeof(p)) {
					bad++;
					continue;
				}
				memcpy(&p, bufs[i], sizeof(p));
				if (p.magic != MAGIC) {
					bad++;
					continue;
				}
				pkts++;
				if (p.seq < seq_lo)
					seq_lo = p.seq;
				if (p.seq > seq_hi)
					seq_hi = p.seq;
			}
		}
		if (counting && t >= t_end)
			break;
		if (t >= t_first + warmup + window + wait)
			break; /* bounded even if the clock checks above miss */
	}
	if (!got) {
		printf("pkts=0 secs=0 pps=0 lost_est=0 bad=0\n");
		return 3;
	}
	t = (counting ? now_s() : t_start) - t_start;
	if (t <= 0)
		t = 1e-9;
	printf("pkts=%llu secs=%.3f pps=%.0f lost_est=%llu bad=%llu\n",
	       (unsigned long long)pkts, t, (double)pkts / t,
	       (unsigned long long)(pkts && seq_hi - seq_lo + 1 > pkts
					    ? seq_hi - seq_lo + 1 - pkts
					    : 0),
	       (unsigned long long)bad);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"dst", required_argument, NULL, 'd'},
		{"port", required_argument, NULL, 'p'},
		{"sport", required_argument, NULL, 's'},
		{"size", required_argument, NULL, 'S'},
		{"seconds", required_argument, NULL, 't'},
		{"count", required_argument, NULL, 'c'},
		{"batch", required_argument, NULL, 'b'},
		{"warmup", required_argument, NULL, 'w'},
		{"window", required_argument, NULL, 'W'},
		{"wait", required_argument, NULL, 'x'},
		{"reply", no_argument, NULL, 'r'},
		{"flows", required_argument, NULL, 'f'},
		{0},
	};
	const char *mode, *dst = NULL;
	int port = 0, sport = 0, size = 18, batch = 64, flows = 1, c;
	double secs = 5, warmup = 0.5, window = 2, wait = 5;
	uint64_t count = 100000000ull;
	bool reply = false;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			dst = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 's':
			sport = atoi(optarg);
			break;
		case 'S':
			size = atoi(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'c':
			count = strtoull(optarg, NULL, 0);
			break;
		case 'b':
			batch = atoi(optarg);
			break;
		case 'w':
			warmup = atof(optarg);
			break;
		case 'W':
			window = atof(optarg);
			break;
		case 'x':
			wait = atof(optarg);
			break;
		case 'r':
			reply = true;
			break;
		case 'f':
			flows = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (port <= 0 || port > 65535 || sport < 0 || sport > 65535)
		usage();
	if (strcmp(mode, "send") == 0) {
		if (!dst || size < (int)sizeof(struct payload) ||
		    size > MAX_SIZE || batch < 1 || batch > MAX_BATCH ||
		    secs <= 0 || secs > 600 || count == 0 || flows < 1 ||
		    flows > MAX_FLOWS || (sport && sport + flows - 1 > 65535))
			usage();
		return do_send(dst, port, sport, size, secs, count, batch,
			       flows);
	}
	if (strcmp(mode, "recv") == 0) {
		if (warmup < 0 || window <= 0 || wait <= 0 ||
		    warmup + window + wait > 600)
			usage();
		return do_recv(port, warmup, window, wait, reply);
	}
	usage();
	return 2;
}
