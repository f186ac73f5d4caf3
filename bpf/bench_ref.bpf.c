// SPDX-License-Identifier: GPL-2.0
/* Reference programs for `make bench`: ptrig's per-packet cost is reported
 * as a ratio to these, measured in the same process and run. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "ptrig.h"
#include "ptrig_parse.h"
#include "ptrig_csum.h"

#define TC_ACT_OK 0

/* The floor: the cost of running any XDP program at all. */
SEC("xdp")
int ref_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* Parse eth/IPv4/TCP-UDP exactly as ptrig does, then pass: what any
 * port-aware program must pay. */
SEC("xdp")
int ref_xdp_parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct pkt p = {};

	if (parse_ipv4_l4(data, data_end, &p) >= 0)
		return XDP_PASS;
	/* Use the result so the parse is not optimised away. */
	return p.dport == 0 ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int ref_tc_parse(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct pkt p = {};

	if (parse_ipv4_l4(data, data_end, &p) >= 0)
		return TC_ACT_OK;
	return p.dport == 0 ? 2 : TC_ACT_OK;
}

/* ---- the least work of any DNAT hit -------------------------------------- */

/* Where a flow goes: the address and port to rewrite the destination to. */
struct ref_nat {
	__be32 addr;
	__be16 port;
	__u16 pad;
};

/* One LRU hash keyed like ptrig's flows (the same key size), filled by the
 * benchmark. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct ptrig_flow_key);
	__type(value, struct ref_nat);
	__uint(max_entries, 65536);
} ref_flows SEC(".maps");

/* A 16-bit field of a checksummed header changed from `from` to `to`. */
static __always_inline void ref_csum_replace2(__sum16 *sum, __be16 from,
					      __be16 to)
{
	__u64 s = (__u16) ~*sum;

	s += (__u16)~from;
	s += to;
	*sum = (__sum16)~csum_fold64(s);
}

/* Rewrites the destination address and port of a parsed TCP/UDP packet,
 * with incremental IPv4 and L4 checksum updates. */
static __always_inline int ref_rewrite_dst(void *data_end, struct pkt *p,
					   __be32 addr, __be16 port)
{
	struct iphdr *ip = p->ip;

	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = p->l4h;

		if ((void *)(tcp + 1) > data_end)
			return -1;
		csum_replace4(&tcp->check, ip->daddr, addr);
		ref_csum_replace2(&tcp->check, tcp->dest, port);
		tcp->dest = port;
	} else {
		struct udphdr *udp = p->l4h;

		if ((void *)(udp + 1) > data_end)
			return -1;
		if (udp->check) {
			csum_replace4(&udp->check, ip->daddr, addr);
			ref_csum_replace2(&udp->check, udp->dest, port);
			if (!udp->check)
				udp->check = (__sum16)0xffff;
		}
		udp->dest = port;
	}
	csum_replace4(&ip->check, ip->daddr, addr);
	ip->daddr = addr;
	return 0;
}

/* Parse eth/IPv4/TCP-UDP, one LRU hash lookup of the flow, rewrite the
 * destination address and port with their checksums, pass: what any DNAT
 * hit must do, and nothing else. */
SEC("xdp")
int ref_xdp_dnat(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ptrig_flow_key k = {};
	struct ref_nat *n;
	struct pkt p = {};

	if (parse_ipv4_l4(data, data_end, &p) >= 0)
		return XDP_PASS;
	k.remote = p.saddr;
	k.external = p.daddr;
	k.remote_port = p.sport;
	k.local_port = p.dport;
	k.proto = p.proto;
	n = bpf_map_lookup_elem(&ref_flows, &k);
	if (!n)
		return XDP_PASS;
	if (ref_rewrite_dst(data_end, &p, n->addr, n->port))
		return XDP_DROP;
	return XDP_PASS;
}

/* ---- the lab's ceiling ------------------------------------------------------
 */

/* Set by the loader (tests/bench/xdp_ref.c) before the program loads. */
const volatile __be32 redir_match_addr; /* the router's WAN address */
const volatile __be16 redir_match_port; /* the port the benchmark measures */
const volatile __be32 redir_to_addr;	/* the LAN host */
const volatile __u8 redir_smac[6];	/* the router's LAN interface */
const volatile __u8 redir_dmac[6];	/* the LAN host */

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} redir_dev SEC(".maps");

/* Blind forwarding of the benchmark's packets: no flow lookup, no state, no
 * route or neighbour lookup: a fixed destination rewrite (address with its
 * checksums, as any DNAT must), TTL decrement, MAC rewrite and a devmap
 * redirect to the LAN interface. No forwarding can do less per packet:
 * the ceiling of the lab. Everything else passes to the stack. */
SEC("xdp")
int ref_xdp_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct pkt p = {};
	struct iphdr *ip;
	int i;

	if (parse_ipv4_l4(data, data_end, &p) >= 0)
		return XDP_PASS;
	if (p.daddr != redir_match_addr || p.dport != redir_match_port)
		return XDP_PASS;
	ip = p.ip;
	if (ip->ttl <= 1)
		return XDP_PASS;
	if (ref_rewrite_dst(data_end, &p, redir_to_addr, p.dport))
		return XDP_PASS;
	/* TTL is the high byte of its 16-bit word with the protocol. */
	ref_csum_replace2(&ip->check, bpf_htons((__u16)ip->ttl << 8),
			  bpf_htons((__u16)(ip->ttl - 1) << 8));
	ip->ttl--;
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	for (i = 0; i < 6; i++) {
		eth->h_dest[i] = redir_dmac[i];
		eth->h_source[i] = redir_smac[i];
	}
	return bpf_redirect_map(&redir_dev, 0, XDP_PASS);
}

/* ---- router forwarding cost, live frames --------------------------------- */

/* The frame of the first flow, set by tests/bench/fwd_live.c before the
 * program loads. In live-frame mode (BPF_PROG_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES) a page that comes back from a redirect is fed
 * to the next run without its content being rewritten: a forwarded frame
 * would come back already translated. fwd_inject writes the frame afresh
 * each time, so every run sees it as it came from the WAN. */
#define FWD_TMPL_WORDS 32
const volatile __u32 fwd_tmpl[FWD_TMPL_WORDS];
const volatile __u32 fwd_len;	/* bytes, a multiple of 4, <= 128 */
const volatile __u16 fwd_sport; /* the template's varying port (host order) */
const volatile __u32 fwd_flows; /* source ports fwd_sport.. in turn */
const volatile __u8 fwd_proto;	/* IPPROTO_UDP or IPPROTO_TCP */
const volatile __u8
	fwd_vary_dport; /* the flows differ in the destination port */

/* Slot 0: the program under test (ptrig's XDP program, the reference
 * redirect); empty: XDP_PASS. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fwd_target SEC(".maps");

/* The next flow (an index below fwd_flows); a run stays on one CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fwd_next SEC(".maps");

/* Writes the frame of the next flow (the template with its source port and
 * L4 checksum changed), then runs the program under test: N concurrent
 * flows, packet by packet, and the same fixed work for every program
 * tested. */
SEC("xdp")
int fwd_inject(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 *w = data, k = 0, *next, f;
	__be16 sport, *sp;
	__sum16 *csum;
	int i;

	next = bpf_map_lookup_elem(&fwd_next, &k);
	if (!next)
		return XDP_ABORTED;
	f = *next;
	*next = f + 1 >= fwd_flows ? 0 : f + 1;
	for (i = 0; i < FWD_TMPL_WORDS; i++) {
		if ((__u32)i * 4 >= fwd_len)
			break;
		if ((void *)(w + i + 1) > data_end)
			return XDP_ABORTED;
		w[i] = fwd_tmpl[i];
	}
	/* Ethernet (14) + IPv4 without options (20): the source port is at
	 * 34, the destination port at 36, the L4 checksum at 40 (UDP) or 50
	 * (TCP). */
	if (data + 52 > data_end)
		return XDP_ABORTED;
	if (f) {
		sp = data + (fwd_vary_dport ? 36 : 34);
		sport = bpf_htons((__u16)(fwd_sport + f));
		csum = data + (fwd_proto == IPPROTO_TCP ? 50 : 40);
		*sp = sport;
		if (fwd_proto == IPPROTO_TCP || *csum) {
			ref_csum_replace2(csum, bpf_htons(fwd_sport), sport);
			if (fwd_proto == IPPROTO_UDP && !*csum)
				*csum = (__sum16)0xffff;
		}
	}
	bpf_tail_call(ctx, &fwd_target, 0);
	return XDP_PASS;
}

/* Set by xdp_ref before the sink loads: the LAN host and the measured
 * destination ports [sink_port, sink_port + sink_nports). */
const volatile __be32 sink_addr;
const volatile __u16 sink_port; /* host order */
const volatile __u16 sink_nports;
const volatile __be32 sink_saddr; /* if set, the source must be this */

/* 0: frames for the LAN host's address and a measured port (dropped);
 * 1: other IPv4 TCP/UDP frames (passed). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} sink_count SEC(".maps");

/* The counting sink on the LAN bridge's end of the router's LAN veth:
 * counts and drops the forwarded benchmark frames (so what follows the
 * router costs the same tiny drop in every phase) and passes everything
 * else (ARP, the handshakes that set flows up). */
SEC("xdp")
int ref_xdp_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct pkt p = {};
	__u32 k = 1;
	__u64 *c;
	__u16 port;

	if (parse_ipv4_l4(data, data_end, &p) >= 0)
		return XDP_PASS;
	port = bpf_ntohs(p.dport);
	if (p.daddr == sink_addr && port >= sink_port &&
	    port - sink_port < sink_nports &&
	    (!sink_saddr || p.saddr == sink_saddr))
		k = 0;
	c = bpf_map_lookup_elem(&sink_count, &k);
	if (c)
		*c += 1;
	return k ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
