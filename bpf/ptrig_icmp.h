/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ICMP errors about triggered flows, translated as the kernel's NAT does
 * for its own connections, so that path-MTU discovery works:
 *   - inbound (XDP): an error sent to the external address, quoting the
 *     owner's translated reply (external:open-port -> remote), goes to the
 *     owner with the owner in the quote;
 *   - outbound (TC egress): an error the owner or the box sends about a
 *     remote's packet (quoting remote -> owner:open-port) leaves with the
 *     external address in the quote, and as its source when the owner sent
 *     it: no LAN address leaks.
 * Only destination unreachable (with fragmentation needed), time exceeded
 * and parameter problem are translated. Every checksum stays exact: outer
 * IP, quoted IP, quoted TCP/UDP when the quote holds it (a minimal quote
 * holds only 8 bytes of the transport header, so TCP's is cut off), and
 * the ICMP checksum, which covers the quote. Errors never create, refresh
 * or promote a flow.
 *
 * Included by ptrig.bpf.c after its map and timing helpers.
 */
#ifndef PTRIG_ICMP_H
#define PTRIG_ICMP_H

#define ICMP_DEST_UNREACH 3
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12

/* An ICMP error and the datagram it quotes, all inside the packet. */
struct icmp_quote {
	struct icmphdr *icmp;
	struct iphdr *inner;
	__sum16 *l4_check; /* NULL: the quote ends before it */
	__be16 sport;	   /* of the quoted datagram */
	__be16 dport;
	__u8 proto;
};

static __always_inline bool icmp_is_error(__u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETERPROB;
}

/* p: the outer packet as parse_ipv4_l4() left it (PASS_OTHER_PROTO).
 * Returns -1 with q filled for an ICMP error quoting a TCP/UDP datagram's
 * first 8 transport bytes, PASS_OTHER_PROTO for any other ICMP, or
 * PASS_ICMP_MALFORMED. Only bytes inside the outer datagram (not link
 * padding) count as quote. */
static __always_inline int icmp_quote_parse(void *data_end, const struct pkt *p,
					    struct icmp_quote *q)
{
	struct icmphdr *icmp = p->l4h;
	struct iphdr *inner;
	__u32 room, ihl_len;
	void *l4;

	if (p->proto != IPPROTO_ICMP)
		return PTRIG_STAT_PASS_OTHER_PROTO;
	if ((void *)(icmp + 1) > data_end)
		return PTRIG_STAT_PASS_MALFORMED;
	if (!icmp_is_error(icmp->type))
		return PTRIG_STAT_PASS_OTHER_PROTO;
	/* An ICMP error is never fragmented by a sane sender (576 bytes at
	 * most), and a fragment's checksum cannot be updated alone. */
	if (p->first_frag)
		return PTRIG_STAT_PASS_ICMP_MALFORMED;
	room = bpf_ntohs(p->ip->tot_len) - (p->l4_off - sizeof(struct ethhdr));
	inner = (void *)(icmp + 1);
	if ((void *)(inner + 1) > data_end)
		return PTRIG_STAT_PASS_ICMP_MALFORMED;
	if (inner->version != 4 || inner->ihl < 5)
		return PTRIG_STAT_PASS_ICMP_MALFORMED;
	/* Only a first (or whole) datagram's quote holds ports. */
	if (inner->frag_off & bpf_htons(IP_OFFSET))
		return PTRIG_STAT_PASS_ICMP_MALFORMED;
	if (inner->protocol != IPPROTO_TCP && inner->protocol != IPPROTO_UDP)
		return PTRIG_STAT_PASS_ICMP_MALFORMED;
	ihl_len = inner->ihl * 4;
	l4 = (void *)inner + ihl_len;
	if (l4 + 8 > data_end || room < sizeof(*icmp) + ihl_len + 8)
		return PTRIG_STAT_PASS_ICMP_MALFORMED;
	q->icmp = icmp;
	q->inner = inner;
	q->proto = inner->protocol;
	q->sport = ((__be16 *)l4)[0];
	q->dport = ((__be16 *)l4)[1];
	q->l4_check = NULL;
	if (q->proto == IPPROTO_UDP) {
		q->l4_check = l4 + offsetof(struct udphdr, check);
	} else if (l4 + offsetof(struct tcphdr, check) + 2 <= data_end &&
		   room >= sizeof(*icmp) + ihl_len +
				   offsetof(struct tcphdr, check) + 2) {
		q->l4_check = l4 + offsetof(struct tcphdr, check);
	}
	return -1;
}

/* Replace the quoted address *addr (the quote's source or destination)
 * with `to`. The quoted IP checksum and the quoted L4 checksum (its
 * pseudo-header holds the address) follow; the ICMP checksum covers all
 * three fields, so it takes the sum of their changes. */
static __always_inline void icmp_quote_rewrite(struct icmp_quote *q,
					       __be32 *addr, __be32 to)
{
	__be32 from = *addr;
	__sum16 ip_old = q->inner->check, l4_old = 0, l4_new = 0;
	__u64 s;

	*addr = to;
	csum_replace4(&q->inner->check, from, to);
	if (q->l4_check) {
		l4_old = *q->l4_check;
		if (q->proto == IPPROTO_UDP)
			csum_replace4_udp(q->l4_check, from, to);
		else
			csum_replace4(q->l4_check, from, to);
		l4_new = *q->l4_check;
	}
	s = (__u16)~q->icmp->checksum;
	s += (__u32)~from;
	s += to;
	s += (__u16)~ip_old;
	s += (__u16)q->inner->check;
	s += (__u16)~l4_old;
	s += (__u16)l4_new;
	q->icmp->checksum = (__sum16)~csum_fold64(s);
}

/* An error's flow counts only while it lives; nothing is refreshed. */
static __always_inline struct ptrig_flow *icmp_live(struct ptrig_flow *f)
{
	if (!f || idle_past(bpf_ktime_get_coarse_ns(), f->last_seen_ns,
			    ptrig_flow_idle_timeout(f)))
		return NULL;
	return f;
}

/* Inbound: an error to the external address about the owner's reply
 * (external:open-port -> remote). Returns -1 when translated, else the
 * reason to pass it untouched. An error about a flow the owner never
 * answered on is no one's: the owner sent nothing it could be about. */
static __always_inline int xdp_icmp(void *data_end, struct pkt *p)
{
	struct ptrig_flow_key key = {};
	struct icmp_quote q;
	struct ptrig_flow *f;
	__be32 owner;
	int reason;

	reason = icmp_quote_parse(data_end, p, &q);
	if (reason >= 0)
		return reason;
	if (q.inner->saddr != p->daddr)
		return PTRIG_STAT_PASS_ICMP_NO_FLOW;
	key.remote = q.inner->daddr;
	key.external = p->daddr;
	key.remote_port = q.dport;
	key.local_port = q.sport;
	key.proto = q.proto;
	f = bpf_map_lookup_elem(&PTRIG_MAP(flows), &key);
	if (!f)
		f = bpf_map_lookup_elem(&PTRIG_MAP(embryo), &key);
	f = icmp_live(f);
	if (!f || !(f->flags & PTRIG_FLOW_SEEN_REPLY))
		return PTRIG_STAT_PASS_ICMP_NO_FLOW;
	owner = f->owner;
	icmp_quote_rewrite(&q, &q.inner->saddr, owner);
	p->ip->daddr = owner;
	csum_replace4(&p->ip->check, p->daddr, owner);
	return -1;
}

/* Outbound: an error about a remote's packet of a flow (remote ->
 * owner:open-port), from the owner or from the box, to that remote.
 * Returns -1 when translated, else the reason it was left alone. */
static __always_inline int tc_icmp(void *data_end, struct pkt *p)
{
	struct ptrig_flow_key key = {};
	struct icmp_quote q;
	struct ptrig_flow *f;
	__be32 owner, ext;
	void *map;
	int reason;

	reason = icmp_quote_parse(data_end, p, &q);
	if (reason >= 0)
		return reason;
	if (q.inner->saddr != p->daddr)
		return PTRIG_STAT_PASS_ICMP_NO_FLOW;
	key.remote = q.inner->saddr;
	key.remote_port = q.sport;
	key.local_port = q.dport;
	key.proto = q.proto;
	f = icmp_live(flow_out(&key, q.inner->daddr, &map, false));
	if (!f)
		return PTRIG_STAT_PASS_ICMP_NO_FLOW;
	owner = f->owner;
	ext = f->external;
	if (owner == ext)
		return -1;
	icmp_quote_rewrite(&q, &q.inner->daddr, ext);
	if (p->saddr == owner) {
		p->ip->saddr = ext;
		csum_replace4(&p->ip->check, owner, ext);
	}
	return -1;
}

#endif
