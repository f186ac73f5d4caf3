/* SPDX-License-Identifier: GPL-2.0 */
/* Link header / IPv4 / TCP-UDP parsing shared by the XDP and TC programs. */
#ifndef PTRIG_PARSE_H
#define PTRIG_PARSE_H

#define ETH_P_IP 0x0800
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

/* What precedes the IPv4 header on the WAN link (enum ptrig_link_l2), set by
 * the loader from the interface's link type before the programs load; the
 * verifier then sees a constant and drops the other layout's code. */
const volatile __u32 link_l2 = PTRIG_L2_ETHER;

/* Bytes of link header in front of the IPv4 header: an Ethernet header
 * (VLAN devices hand the stack untagged frames), or nothing on L3 devices
 * (PPP, tun, WireGuard), where both XDP (generic mode) and TC see the
 * packet from its IP header on. */
static __always_inline __u32 l2_len(void)
{
	return link_l2 == PTRIG_L2_NONE ? 0 : sizeof(struct ethhdr);
}

/* Start of the IPv4 header, or NULL with *reason set when the frame does
 * not carry IPv4. Ethernet frames are IPv4 by their EtherType only: an
 * 802.1Q tag or a PPPoE session header the WAN sends is not looked into
 * (a VLAN or PPPoE WAN is attached on its own VLAN or PPP device). */
static __always_inline struct iphdr *l3_start(void *data, void *data_end,
					      int *reason)
{
	if (link_l2 == PTRIG_L2_NONE) {
		__u8 *v = data;

		/* No EtherType: the version nibble tells IPv4 from IPv6. */
		if ((void *)(v + 1) > data_end) {
			*reason = PTRIG_STAT_PASS_MALFORMED;
			return NULL;
		}
		if ((*v >> 4) != 4) {
			*reason = PTRIG_STAT_PASS_NOT_IPV4;
			return NULL;
		}
		return data;
	}
	{
		struct ethhdr *eth = data;

		if ((void *)(eth + 1) > data_end) {
			*reason = PTRIG_STAT_PASS_MALFORMED;
			return NULL;
		}
		if (eth->h_proto != bpf_htons(ETH_P_IP)) {
			*reason = PTRIG_STAT_PASS_NOT_IPV4;
			return NULL;
		}
		return (void *)(eth + 1);
	}
}

struct pkt {
	struct iphdr *ip;
	void *l4h;    /* TCP or UDP header */
	__u32 l4_off; /* from the start of the frame */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__be16 ip_id; /* for fragments: with the addresses, names a datagram */
	__u8 proto;   /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 l4;      /* enum ptrig_l4 */
	__u8 tcp_flags;	 /* 0 for UDP */
	__u8 first_frag; /* the first fragment of a fragmented datagram */
};

/* Returns -1 when the packet is an IPv4 TCP/UDP packet whose ports are
 * there (unfragmented, or the first fragment: p->first_frag) and fills p;
 * otherwise the enum ptrig_stat reason to pass it. For a later fragment
 * (PASS_FRAGMENT) and another protocol (PASS_OTHER_PROTO, e.g. ICMP) p's
 * ip, addresses, proto, l4h and l4_off are filled too. */
static __always_inline int parse_ipv4_l4(void *data, void *data_end,
					 struct pkt *p)
{
	struct iphdr *ip;
	__u32 ihl_len, tot_len;
	int reason = 0;

	ip = l3_start(data, data_end, &reason);
	if (!ip)
		return reason;
	if ((void *)(ip + 1) > data_end)
		return PTRIG_STAT_PASS_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return PTRIG_STAT_PASS_MALFORMED;
	ihl_len = ip->ihl * 4;
	tot_len = bpf_ntohs(ip->tot_len);
	if (tot_len < ihl_len)
		return PTRIG_STAT_PASS_MALFORMED;
	p->l4h = (void *)ip + ihl_len;
	p->l4_off = l2_len() + ihl_len;
	p->ip = ip;
	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	p->proto = ip->protocol;
	p->ip_id = ip->id;
	if (ip->frag_off & bpf_htons(IP_OFFSET))
		return PTRIG_STAT_PASS_FRAGMENT;
	p->first_frag = !!(ip->frag_off & bpf_htons(IP_MF));
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return PTRIG_STAT_PASS_OTHER_PROTO;

	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = p->l4h;

		/* The header must be in the datagram IPv4 delimits, not
		 * only in the frame (whose tail may be link padding). */
		if ((void *)(tcp + 1) > data_end || tcp->doff < 5 ||
		    tot_len < ihl_len + tcp->doff * 4)
			return PTRIG_STAT_PASS_MALFORMED;
		p->sport = tcp->source;
		p->dport = tcp->dest;
		p->tcp_flags = ((__u8 *)tcp)[13];
		p->l4 = PTRIG_L4_TCP;
		return -1;
	}
	{
		struct udphdr *udp = p->l4h;

		if ((void *)(udp + 1) > data_end ||
		    tot_len < ihl_len + sizeof(*udp))
			return PTRIG_STAT_PASS_MALFORMED;
		p->sport = udp->source;
		p->dport = udp->dest;
		p->tcp_flags = 0;
		p->l4 = PTRIG_L4_UDP;
	}
	return -1;
}

#endif
