// SPDX-License-Identifier: GPL-2.0
/*
 * fwd_live: the router's forwarding cost per packet, without generators
 * (`make bench`, "router forwarding, live frames").
 *
 *   fwd_live run --netns NS --dev IF (--attached | --prog-id ID | --pass)
 *                --proto udp|tcp --src IP --sport N --dst IP --dport N
 *                [--smac MAC] [--dmac MAC] [--flows N] [--packets N]
 *                [--repeat R] [--batch B] [--seconds S] [--vary sport|dport]
 *       Injects frames into IF of namespace NS as if they had been received
 *       there: BPF_PROG_RUN in live-frame mode, whose XDP verdicts are
 *       honoured (XDP_PASS hands the frame to the stack as received on IF,
 *       which forwards it synchronously within the call; XDP_REDIRECT
 *       transmits it). The program run is fwd_inject (bpf/bench_ref.bpf.c):
 *       it restores the frame and tail-calls the program under test: the
 *       XDP program attached to IF (--attached), a program by id
 *       (--prog-id), or none (--pass: every frame goes to the stack).
 *       Frames: Ethernet/IPv4/UDP (18-byte payload) or TCP (an ACK+PSH
 *       segment, 6-byte payload, fixed seq/ack), 60 bytes, exact
 *       checksums; --dmac defaults to IF's address (the stack takes the
 *       frame as its own), --smac to 02:00:00:00:00:01. N flows are the
 *       source ports sport..sport+N-1 (with --vary dport: the destination
 *       ports dport..dport+N-1), packet by packet in turn (fwd_inject picks
 *       the port). First an untimed warm-up of 8 packets per flow,
 *       then --packets (default 500,000) in calls of at most --repeat
 *       (default 1,000,000) packets, in batches of --batch (64); no new
 *       call starts after --seconds (default 60). Prints one line:
 *         warm=W packets=P calls=C kernel_ns=K wall_ns=T ns_per_pkt=X
 *         prog_ns=R timeout=0|1
 *       K: the kernel's time for the timed packets (BPF_PROG_RUN's
 *       duration: the runs, the stack's forwarding of passed frames and
 *       the transmission of redirected ones, without the per-call setup of
 *       a page pool); T: CLOCK_MONOTONIC around the timed calls, setup
 *       included; X = K / P; R: with kernel.bpf_stats_enabled=1, the
 *       programs' own time per timed packet (fwd_inject and the program it
 *       tail-calls: the rest of X is the stack or the transmission), else 0.
 *
 *   fwd_live hold-server --port P --flows N --seconds S
 *   fwd_live hold-client --dst IP --dport P --sport N --flows N --seconds S
 *       TCP connections that stay open (idle) for S seconds: the server
 *       accepts up to N; the client connects N sockets bound to source
 *       ports sport..sport+N-1, prints "connected=N" once all are up (or
 *       after 10 s, or S) and holds them until S has passed.
 *
 * Exit status: 0; 1 on a system error (or no connection, or a timeout of
 * run); 2 on bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#include "bench_ref.skel.h"

#define BENCH_TOOL "fwd_live"
#include "benchutil.h"

#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif

#define FRAME_LEN 60
#define MAX_FLOWS 50000
#define WARM_REPEAT 8

static void usage(void)
{
	fprintf(stderr,
		"usage: fwd_live run --netns NS --dev IF (--attached | "
		"--prog-id ID | --pass)\n"
		"                    --proto udp|tcp --src IP --sport N --dst "
		"IP --dport N\n"
		"                    [--smac MAC] [--dmac MAC] [--flows N] "
		"[--packets N]\n"
		"                    [--repeat R] [--batch B] [--seconds S] "
		"[--vary sport|dport]\n"
		"       fwd_live hold-server --port P --flows N --seconds S\n"
		"       fwd_live hold-client --dst IP --dport P --sport N "
		"--flows N --seconds S\n");
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* An integer option in [min, max], else usage. */
static long num(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max)
		usage();
	return v;
}

/* The Internet checksum of len bytes (even) plus a 32-bit start sum. */
static uint16_t csum(const unsigned char *b, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* One 60-byte frame src:sport -> dst:dport, with exact checksums. */
static void build_frame(unsigned char *f, bool tcp, const unsigned char *dmac,
			const unsigned char *smac, struct in_addr src,
			struct in_addr dst, uint16_t sport, uint16_t dport)
{
	unsigned char *ip = f + 14, *l4 = f + 34;
	size_t l4_len = FRAME_LEN - 34;
	uint32_t ph;
	uint16_t c;

	memset(f, 0, FRAME_LEN);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, FRAME_LEN - 14);
	put16(ip + 4, 1);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = tcp ? IPPROTO_TCP : IPPROTO_UDP;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	put16(ip + 10, csum(ip, 20, 0));
	put16(l4, sport);
	put16(l4 + 2, dport);
	if (tcp) {
		put32(l4 + 4, 0x10000000);     /* seq */
		put32(l4 + 8, 0x20000000);     /* ack */
		l4[12] = 5 << 4;	       /* data offset */
		l4[13] = 0x18;		       /* ACK, PSH */
		put16(l4 + 14, 512);	       /* window */
		memcpy(l4 + 20, "ptrig\n", 6); /* payload */
	} else {
		put16(l4 + 4, (uint16_t)l4_len);
		memcpy(l4 + 8, "ptrig fwd_live...\n", 18);
	}
	/* Pseudo-header: addresses, protocol, L4 length. */
	ph = (uint32_t)(ip[12] << 8 | ip[13]) +
	     (uint32_t)(ip[14] << 8 | ip[15]) +
	     (uint32_t)(ip[16] << 8 | ip[17]) +
	     (uint32_t)(ip[18] << 8 | ip[19]) + ip[9] + (uint32_t)l4_len;
	c = csum(l4, l4_len, ph);
	if (!tcp && c == 0)
		c = 0xffff;
	put16(l4 + (tcp ? 16 : 6), c);
}

struct run_opts {
	const char *ns, *dev, *proto, *src, *dst, *smac, *dmac;
	long prog_id, sport, dport, flows, packets, repeat, batch, seconds;
	bool attached, pass, vary_dport;
};

/* One BPF_PROG_RUN call of n packets in live-frame mode; *ns gets the
 * kernel's time for them (its per-packet duration, whole ns, times n). */
static int live_run(int pfd, unsigned char *frame, struct xdp_md *ctx, long n,
		    long batch, uint64_t *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = frame,
		    .data_size_in = FRAME_LEN, .ctx_in = ctx,
		    .ctx_size_in = sizeof(*ctx), .repeat = (__u32)n,
		    .batch_size = (__u32)batch,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
	int err = bpf_prog_test_run_opts(pfd, &topts);

	*ns = (uint64_t)topts.duration * (uint64_t)n;
	return err;
}

/* The program's run statistics (kernel.bpf_stats_enabled=1; else 0). */
static void prog_stats(int pfd, uint64_t *run_ns, uint64_t *cnt)
{
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);

	*run_ns = *cnt = 0;
	if (!bpf_obj_get_info_by_fd(pfd, &info, &len)) {
		*run_ns = info.run_time_ns;
		*cnt = info.run_cnt;
	}
}

static int cmd_run(const struct run_opts *o)
{
	unsigned char frame[FRAME_LEN], dm[6], sm[6] = {2, 0, 0, 0, 0, 1};
	struct in_addr src, dst;
	struct bench_ref *skel;
	struct xdp_md ctx = {0};
	unsigned int ifindex;
	__u32 target_id = 0, key = 0;
	uint64_t t0, t1, kns = 0, ns, done = 0, warm, calls = 0, deadline;
	uint64_t run0, run1, cnt0, cnt1;
	bool tcp = !strcmp(o->proto, "tcp"), timeout = false;
	int tfd = -1, pfd, err;

	if (inet_pton(AF_INET, o->src, &src) != 1 ||
	    inet_pton(AF_INET, o->dst, &dst) != 1)
		usage();
	if ((o->smac && parse_mac(o->smac, sm)) ||
	    (o->dmac && parse_mac(o->dmac, dm)))
		usage();
	if (enter_netns(o->ns))
		return 1;
	ifindex = if_nametoindex(o->dev);
	if (!ifindex)
		return fail("%s: no such interface in %s", o->dev, o->ns);
	if (!o->dmac && if_mac(o->dev, dm))
		return 1;
	if (o->attached) {
		err = bpf_xdp_query_id((int)ifindex, 0, &target_id);
		if (err || !target_id)
			return fail("%s: no XDP program attached (%s)", o->dev,
				    err ? strerror(-err) : "none");
	} else if (!o->pass) {
		target_id = (__u32)o->prog_id;
	}
	if (target_id) {
		tfd = bpf_prog_get_fd_by_id(target_id);
		if (tfd < 0)
			return fail("program id %u: %s", target_id,
				    strerror(errno));
	}
	build_frame(frame, tcp, dm, sm, src, dst, (uint16_t)o->sport,
		    (uint16_t)o->dport);

	skel = bench_ref__open();
	if (!skel)
		return fail("bench_ref__open: %s", strerror(errno));
	memcpy((void *)skel->rodata->fwd_tmpl, frame, FRAME_LEN);
	skel->rodata->fwd_len = FRAME_LEN;
	skel->rodata->fwd_sport = (__u16)(o->vary_dport ? o->dport : o->sport);
	skel->rodata->fwd_flows = (__u32)o->flows;
	skel->rodata->fwd_proto = tcp ? IPPROTO_TCP : IPPROTO_UDP;
	skel->rodata->fwd_vary_dport = o->vary_dport;
	err = bench_ref__load(skel);
	if (err)
		return fail("bench_ref__load: %s", strerror(-err));
	if (tfd >= 0 && bpf_map_update_elem(bpf_map__fd(skel->maps.fwd_target),
					    &key, &tfd, BPF_ANY))
		return fail("program id %u in the tail-call map: %s", target_id,
			    strerror(errno));
	pfd = bpf_program__fd(skel->progs.fwd_inject);

	ctx.data_end = FRAME_LEN;
	ctx.ingress_ifindex = ifindex;
	ctx.rx_queue_index = 0;
	deadline = now_ns() + (uint64_t)o->seconds * 1000000000ull;
	/* Untimed: every flow a few times (neighbour entries, caches). */
	warm = (uint64_t)o->flows * WARM_REPEAT;
	err = live_run(pfd, frame, &ctx, (long)warm, o->batch, &ns);
	if (err)
		return fail("BPF_PROG_RUN (live frames) on %s: %s", o->dev,
			    strerror(-err));
	/* Timed: the kernel's time of the packets' runs, without the
	 * per-call setup (a page pool), which costs milliseconds. */
	prog_stats(pfd, &run0, &cnt0);
	t0 = now_ns();
	while (done < (uint64_t)o->packets) {
		long n = o->repeat;

		if ((uint64_t)n > (uint64_t)o->packets - done)
			n = (long)((uint64_t)o->packets - done);
		err = live_run(pfd, frame, &ctx, n, o->batch, &ns);
		if (err)
			return fail("BPF_PROG_RUN (live frames) on %s: %s",
				    o->dev, strerror(-err));
		kns += ns;
		done += (uint64_t)n;
		calls++;
		if (done < (uint64_t)o->packets && now_ns() > deadline) {
			timeout = true;
			break;
		}
	}
	t1 = now_ns();
	prog_stats(pfd, &run1, &cnt1);
	printf("warm=%llu packets=%llu calls=%llu kernel_ns=%llu wall_ns=%llu "
	       "ns_per_pkt=%.1f prog_ns=%.1f timeout=%d\n",
	       (unsigned long long)warm, (unsigned long long)done,
	       (unsigned long long)calls, (unsigned long long)kns,
	       (unsigned long long)(t1 - t0),
	       done ? (double)kns / (double)done : 0.0,
	       cnt1 > cnt0 ? (double)(run1 - run0) / (double)(cnt1 - cnt0)
			   : 0.0,
	       timeout);
	bench_ref__destroy(skel);
	if (tfd >= 0)
		close(tfd);
	return timeout ? 1 : 0;
}

static void raise_nofile(long n)
{
	struct rlimit rl = {(rlim_t)n + 64, (rlim_t)n + 64};

	setrlimit(RLIMIT_NOFILE, &rl);
}

/* Sleeps until deadline (CLOCK_MONOTONIC ns). */
static void hold_until(uint64_t deadline)
{
	uint64_t t;

	while ((t = now_ns()) < deadline) {
		uint64_t d = deadline - t;
		struct timespec ts = {(time_t)(d / 1000000000ull),
				      (long)(d % 1000000000ull)};

		nanosleep(&ts, NULL);
	}
}

static int cmd_hold_server(long port, long flows, long seconds)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	uint64_t deadline = now_ns() + (uint64_t)seconds * 1000000000ull;
	int ls, one = 1;
	long n = 0;

	raise_nofile(flows);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ls < 0)
		return fail("socket: %s", strerror(errno));
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_port = htons((uint16_t)port);
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(ls, (int)(flows < 4096 ? flows + 16 : 4096)))
		return fail("listen on port %ld: %s", port, strerror(errno));
	while (n < flows && now_ns() < deadline) {
		struct pollfd p = {.fd = ls, .events = POLLIN};
		int fd;

		if (poll(&p, 1, 100) <= 0)
			continue;
		while ((fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC)) >= 0)
			n++;
	}
	hold_until(deadline);
	printf("accepted=%ld\n", n);
	return 0;
}

static int cmd_hold_client(const char *dst, long dport, long sport, long flows,
			   long seconds)
{
	struct sockaddr_in d = {.sin_family = AF_INET};
	uint64_t deadline = now_ns() + (uint64_t)seconds * 1000000000ull;
	uint64_t give_up = now_ns() + 10000000000ull;
	long f, up = 0;
	int *fds;

	if (inet_pton(AF_INET, dst, &d.sin_addr) != 1)
		usage();
	d.sin_port = htons((uint16_t)dport);
	raise_nofile(flows);
	fds = calloc((size_t)flows, sizeof(*fds));
	if (!fds)
		return fail("out of memory");
	for (f = 0; f < flows; f++) {
		struct sockaddr_in s = {.sin_family = AF_INET};
		int one = 1;

		fds[f] = socket(AF_INET,
				SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fds[f] < 0)
			return fail("socket: %s", strerror(errno));
		setsockopt(fds[f], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		s.sin_port = htons((uint16_t)(sport + f));
		if (bind(fds[f], (struct sockaddr *)&s, sizeof(s)))
			return fail("bind port %ld: %s", sport + f,
				    strerror(errno));
		if (connect(fds[f], (struct sockaddr *)&d, sizeof(d)) &&
		    errno != EINPROGRESS)
			return fail("connect from port %ld: %s", sport + f,
				    strerror(errno));
	}
	/* Until every connection is up (at most 10 s, or the time). */
	while (up < flows && now_ns() < deadline && now_ns() < give_up) {
		up = 0;
		for (f = 0; f < flows; f++) {
			struct pollfd p = {.fd = fds[f], .events = POLLOUT};
			int e = 0;
			socklen_t el = sizeof(e);

			if (poll(&p, 1, 0) == 1 &&
			    !getsockopt(fds[f], SOL_SOCKET, SO_ERROR, &e,
					&el) &&
			    !e && (p.revents & POLLOUT))
				up++;
		}
		if (up < flows)
			usleep(20000);
	}
	printf("connected=%ld\n", up);
	fflush(stdout);
	hold_until(deadline);
	free(fds);
	return up == flows ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"netns", required_argument, NULL, 'n'},
		{"dev", required_argument, NULL, 'd'},
		{"attached", no_argument, NULL, 'A'},
		{"prog-id", required_argument, NULL, 'i'},
		{"pass", no_argument, NULL, 'P'},
		{"proto", required_argument, NULL, 'p'},
		{"src", required_argument, NULL, 's'},
		{"sport", required_argument, NULL, 'S'},
		{"dst", required_argument, NULL, 't'},
		{"dport", required_argument, NULL, 'T'},
		{"port", required_argument, NULL, 'T'},
		{"smac", required_argument, NULL, 'm'},
		{"dmac", required_argument, NULL, 'M'},
		{"flows", required_argument, NULL, 'f'},
		{"packets", required_argument, NULL, 'k'},
		{"repeat", required_argument, NULL, 'r'},
		{"batch", required_argument, NULL, 'b'},
		{"seconds", required_argument, NULL, 'x'},
		{"vary", required_argument, NULL, 'v'},
		{0},
	};
	struct run_opts o = {.proto = "udp",
			     .flows = 1,
			     .packets = 500000,
			     .repeat = 1000000,
			     .batch = 64,
			     .seconds = 60};
	const char *cmd;
	int c;

	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.ns = optarg;
			break;
		case 'd':
			o.dev = optarg;
			break;
		case 'A':
			o.attached = true;
			break;
		case 'i':
			o.prog_id = num(optarg, 1, 0x7fffffff);
			break;
		case 'P':
			o.pass = true;
			break;
		case 'p':
			o.proto = optarg;
			break;
		case 's':
			o.src = optarg;
			break;
		case 'S':
			o.sport = num(optarg, 1, 65535);
			break;
		case 't':
			o.dst = optarg;
			break;
		case 'T':
			o.dport = num(optarg, 1, 65535);
			break;
		case 'm':
			o.smac = optarg;
			break;
		case 'M':
			o.dmac = optarg;
			break;
		case 'f':
			o.flows = num(optarg, 1, MAX_FLOWS);
			break;
		case 'k':
			o.packets = num(optarg, 1, 1000000000);
			break;
		case 'r':
			o.repeat = num(optarg, 1, 1000000);
			break;
		case 'b':
			o.batch = num(optarg, 1, 256);
			break;
		case 'x':
			o.seconds = num(optarg, 1, 3600);
			break;
		case 'v':
			if (strcmp(optarg, "sport") && strcmp(optarg, "dport"))
				usage();
			o.vary_dport = !strcmp(optarg, "dport");
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !o.seconds)
		usage();
	if (!strcmp(cmd, "hold-server")) {
		if (!o.dport)
			usage();
		return cmd_hold_server(o.dport, o.flows, o.seconds);
	}
	if (!strcmp(cmd, "hold-client")) {
		if (!o.dst || !o.dport || !o.sport ||
		    o.sport + o.flows - 1 > 65535)
			usage();
		return cmd_hold_client(o.dst, o.dport, o.sport, o.flows,
				       o.seconds);
	}
	if (strcmp(cmd, "run"))
		usage();
	if (!o.ns || !o.dev || !o.src || !o.dst || !o.sport || !o.dport ||
	    (o.vary_dport ? o.dport : o.sport) + o.flows - 1 > 65535 ||
	    (strcmp(o.proto, "udp") && strcmp(o.proto, "tcp")) ||
	    o.attached + o.pass + (o.prog_id > 0) != 1)
		usage();
	return cmd_run(&o);
}
