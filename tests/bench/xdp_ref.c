// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_ref: attaches the lab references of `make bench` (bpf/bench_ref.bpf.c)
 * to an interface of a network namespace, where they stay attached after it
 * exits (until `xdp_ref off`).
 *
 *   xdp_ref redirect --netns NS --dev IF --to IF --match ADDR --port P
 *                    --to-addr ADDR --dmac MAC [--mode native|generic]
 *       ref_xdp_redirect on IF: packets to ADDR:P (UDP or TCP) get their
 *       destination rewritten to --to-addr (checksums), TTL decremented,
 *       the MACs of --to and --dmac, and are redirected (devmap) to --to,
 *       with no lookup of any kind: the ceiling of a forwarding fast path.
 *   xdp_ref pass --netns NS --dev IF [--mode native|generic]
 *       ref_xdp_pass on IF. A veth only accepts redirected frames when its
 *       peer has an XDP program: this is that program.
 *   xdp_ref sink --netns NS --dev IF --to-addr ADDR --port P [--ports N]
 *                [--from ADDR] [--mode native|generic]
 *       ref_xdp_sink on IF: counts and drops the IPv4 TCP/UDP frames for
 *       ADDR and ports P..P+N-1 (default N 1), with --from only those from
 *       that source address; passes everything else.
 *   xdp_ref count --netns NS --dev IF
 *       prints the counts of the sink attached to IF: "sink_pkts=N
 *       sink_other=M" (M: other IPv4 TCP/UDP frames, passed).
 *   xdp_ref off --netns NS --dev IF
 *       removes whatever XDP program IF has.
 *
 * Exit status: 0; 1 on a system error; 2 on bad usage. Never replaces a
 * program that is already attached.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "bench_ref.skel.h"

#define BENCH_TOOL "xdp_ref"
#include "benchutil.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: xdp_ref redirect --netns NS --dev IF --to IF --match "
		"ADDR --port P\n"
		"                        --to-addr ADDR --dmac MAC [--mode "
		"native|generic]\n"
		"       xdp_ref pass --netns NS --dev IF [--mode "
		"native|generic]\n"
		"       xdp_ref sink --netns NS --dev IF --to-addr ADDR --port "
		"P "
		"[--ports N] [--from ADDR]\n"
		"       xdp_ref count --netns NS --dev IF\n"
		"       xdp_ref off --netns NS --dev IF\n");
	exit(2);
}

/* Prints the counts of the sink attached to dev (its map found through the
 * attached program). */
static int sink_count(const char *dev, unsigned int ifindex)
{
	struct bpf_prog_info pi;
	struct bpf_map_info mi;
	__u32 ids[16], id = 0, len, i, k;
	int nc = libbpf_num_possible_cpus(), pfd, mfd;
	unsigned long long sum[2] = {0, 0};
	__u64 *v;

	if (nc < 1)
		return fail("number of CPUs: %s", strerror(-nc));
	if (bpf_xdp_query_id((int)ifindex, 0, &id) || !id)
		return fail("%s: no XDP program attached", dev);
	pfd = bpf_prog_get_fd_by_id(id);
	if (pfd < 0)
		return fail("program %u: %s", id, strerror(errno));
	memset(&pi, 0, sizeof(pi));
	pi.nr_map_ids = 16;
	pi.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(pi);
	if (bpf_obj_get_info_by_fd(pfd, &pi, &len))
		return fail("program %u: %s", id, strerror(errno));
	v = calloc((size_t)nc, sizeof(*v));
	if (!v)
		return fail("out of memory");
	for (i = 0; i < pi.nr_map_ids && i < 16; i++) {
		mfd = bpf_map_get_fd_by_id(ids[i]);
		if (mfd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		len = sizeof(mi);
		if (bpf_obj_get_info_by_fd(mfd, &mi, &len) ||
		    strcmp(mi.name, "sink_count")) {
			close(mfd);
			continue;
		}
		for (k = 0; k < 2; k++) {
			int c;

			if (bpf_map_lookup_elem(mfd, &k, v))
				return fail("sink_count: %s", strerror(errno));
			for (c = 0; c < nc; c++)
				sum[k] += v[c];
		}
		close(mfd);
		printf("sink_pkts=%llu sink_other=%llu\n", sum[0], sum[1]);
		free(v);
		return 0;
	}
	free(v);
	return fail("%s: the attached program has no sink_count map", dev);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"netns", required_argument, NULL, 'n'},
		{"dev", required_argument, NULL, 'd'},
		{"to", required_argument, NULL, 't'},
		{"match", required_argument, NULL, 'm'},
		{"port", required_argument, NULL, 'p'},
		{"to-addr", required_argument, NULL, 'a'},
		{"dmac", required_argument, NULL, 'M'},
		{"mode", required_argument, NULL, 'o'},
		{"ports", required_argument, NULL, 'N'},
		{"from", required_argument, NULL, 'F'},
		{0},
	};
	const char *cmd, *ns = NULL, *dev = NULL, *to = NULL, *match = NULL,
			 *to_addr = NULL, *dmac = NULL, *mode = "native",
			 *from = NULL;
	struct in_addr ma, ta, fa = {0};
	unsigned char dm[6], sm[6];
	struct bench_ref *skel;
	struct bpf_program *prog;
	unsigned int ifindex, to_ifindex = 0;
	__u32 flags, key = 0;
	long port = 0, nports = 1;
	int c, err;

	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			ns = optarg;
			break;
		case 'd':
			dev = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'm':
			match = optarg;
			break;
		case 'p':
			port = strtol(optarg, NULL, 10);
			break;
		case 'a':
			to_addr = optarg;
			break;
		case 'M':
			dmac = optarg;
			break;
		case 'o':
			mode = optarg;
			break;
		case 'N':
			nports = strtol(optarg, NULL, 10);
			break;
		case 'F':
			from = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !ns || !dev)
		usage();
	if (strcmp(mode, "native") && strcmp(mode, "generic"))
		usage();
	flags = strcmp(mode, "native") ? XDP_FLAGS_SKB_MODE
				       : XDP_FLAGS_DRV_MODE;
	if (strcmp(cmd, "redirect") == 0) {
		if (!to || !match || !to_addr || !dmac || port < 1 ||
		    port > 65535 || inet_pton(AF_INET, match, &ma) != 1 ||
		    inet_pton(AF_INET, to_addr, &ta) != 1 ||
		    parse_mac(dmac, dm))
			usage();
	} else if (strcmp(cmd, "sink") == 0) {
		if (!to_addr || port < 1 || port > 65535 || nports < 1 ||
		    port + nports > 65536 ||
		    inet_pton(AF_INET, to_addr, &ta) != 1 ||
		    (from && inet_pton(AF_INET, from, &fa) != 1))
			usage();
	} else if (strcmp(cmd, "pass") && strcmp(cmd, "off") &&
		   strcmp(cmd, "count")) {
		usage();
	}
	if (enter_netns(ns))
		return 1;
	ifindex = if_nametoindex(dev);
	if (!ifindex)
		return fail("%s: no such interface in %s", dev, ns);
	if (strcmp(cmd, "off") == 0) {
		/* Whichever mode it is in. */
		bpf_xdp_detach((int)ifindex, XDP_FLAGS_DRV_MODE, NULL);
		bpf_xdp_detach((int)ifindex, XDP_FLAGS_SKB_MODE, NULL);
		return 0;
	}
	if (strcmp(cmd, "count") == 0)
		return sink_count(dev, ifindex);
	skel = bench_ref__open();
	if (!skel)
		return fail("bench_ref__open: %s", strerror(errno));
	if (strcmp(cmd, "redirect") == 0) {
		to_ifindex = if_nametoindex(to);
		if (!to_ifindex)
			return fail("%s: no such interface in %s", to, ns);
		if (if_mac(to, sm))
			return 1;
		skel->rodata->redir_match_addr = ma.s_addr;
		skel->rodata->redir_match_port = htons((uint16_t)port);
		skel->rodata->redir_to_addr = ta.s_addr;
		memcpy((void *)skel->rodata->redir_smac, sm, 6);
		memcpy((void *)skel->rodata->redir_dmac, dm, 6);
		prog = skel->progs.ref_xdp_redirect;
	} else if (strcmp(cmd, "sink") == 0) {
		skel->rodata->sink_addr = ta.s_addr;
		skel->rodata->sink_port = (uint16_t)port;
		skel->rodata->sink_nports = (uint16_t)nports;
		skel->rodata->sink_saddr = fa.s_addr;
		prog = skel->progs.ref_xdp_sink;
	} else {
		prog = skel->progs.ref_xdp_pass;
	}
	err = bench_ref__load(skel);
	if (err)
		return fail("bench_ref__load: %s", strerror(-err));
	if (to_ifindex && bpf_map_update_elem(bpf_map__fd(skel->maps.redir_dev),
					      &key, &to_ifindex, BPF_ANY))
		return fail("devmap update (%s): %s", to, strerror(errno));
	err = bpf_xdp_attach((int)ifindex, bpf_program__fd(prog),
			     flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (err)
		return fail("attach %s to %s (%s): %s", bpf_program__name(prog),
			    dev, mode, strerror(-err));
	bench_ref__destroy(skel);
	return 0;
}
