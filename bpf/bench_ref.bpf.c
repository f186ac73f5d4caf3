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

char LICENSE[] SEC("license") = "GPL";
