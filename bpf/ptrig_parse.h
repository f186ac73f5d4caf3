/* SPDX-License-Identifier: GPL-2.0 */
/* Ethernet / IPv4 / TCP-UDP parsing shared by the XDP and TC programs. */
#ifndef PTRIG_PARSE_H
#define PTRIG_PARSE_H

#define ETH_P_IP 0x0800
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

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
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 ihl_len, tot_len;

	if ((void *)(eth + 1) > data_end)
		return PTRIG_STAT_PASS_MALFORMED;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return PTRIG_STAT_PASS_NOT_IPV4;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return PTRIG_STAT_PASS_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return PTRIG_STAT_PASS_MALFORMED;
	ihl_len = ip->ihl * 4;
	tot_len = bpf_ntohs(ip->tot_len);
	if (tot_len < ihl_len)
		return PTRIG_STAT_PASS_MALFORMED;
	p->l4h = (void *)ip + ihl_len;
	p->l4_off = sizeof(*eth) + ihl_len;
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
