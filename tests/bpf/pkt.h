/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test packet builders: Ethernet / IPv4 (with options) / TCP / UDP / ICMP,
 * IPv6 and ARP frames, with every checksum computed from scratch over the
 * whole header or pseudo-header + segment. The datapath updates checksums
 * incrementally; computing them independently here is what makes an
 * expected-output comparison a real check of that arithmetic.
 */
#ifndef PTRIG_TEST_PKT_H
#define PTRIG_TEST_PKT_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/if_ether.h>
#include <netinet/in.h>

#define PKT_MAX 1514

/* Host-order IPv4 address; a constant expression, usable in tables. */
#define IP4(a, b, c, d)                                                        \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 |      \
	 (uint32_t)(d))

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

/* The acknowledgement that completes a handshake whose SYN-ACK came, with
 * the default sequence number, from source port `port`. */
#define HS_ACK(port) (0x10000000u + (port) + 1)

/* What goes into a frame. Zero fields take sane defaults, so a table row
 * names only what matters to it. Addresses and ports are host order. */
struct pkt_spec {
	uint16_t l3;   /* ETH_P_IP (0 means IPv4), ETH_P_IPV6, ETH_P_ARP */
	uint8_t proto; /* IPPROTO_TCP / IPPROTO_UDP / IPPROTO_ICMP */
	uint32_t saddr;
	uint32_t daddr;
	uint16_t sport;
	uint16_t dport;
	uint8_t tcp_flags;
	uint32_t seq; /* TCP sequence number; 0: 0x10000000 + sport */
	uint32_t
		ack; /* TCP acknowledgement (with ACK); 0: 0x20000000 + dport */
	bool tcp_mss;	      /* SYN-style MSS option: doff 6 instead of 5 */
	uint8_t ip_opt_words; /* IPv4 option words: IHL = 5 + this */
	uint8_t ihl_raw; /* nonzero: write this IHL, whatever the options */
	uint16_t tot_len_raw; /* nonzero: IPv4 total length to write (the
				 frame keeps all its bytes) */
	uint16_t frag;	      /* frag_off field, host order (IP_MF | offset) */
	uint16_t payload_len; /* L4 payload bytes (pattern filled) */
	uint8_t payload_seed; /* varies the pattern */
	bool has_tail; /* last two payload bytes are `tail` (checksum games) */
	uint16_t tail;
	bool udp_no_csum; /* UDP checksum 0: "no checksum" */
	bool bad_ip_csum; /* deliberately wrong checksums, for negative tests */
	bool bad_l4_csum;
	bool mac_zero;		/* destination MAC 00:..:00 (the loopback's) */
	const uint8_t *eth_dst; /* non-NULL: these MACs instead */
	const uint8_t *eth_src;
	uint8_t ttl;	/* 0: 64 */
	uint16_t trunc; /* nonzero: cut the frame to this many bytes */
	/* ICMP: type and code (0, 0: an echo request). An error quotes the
	 * datagram `quote` builds: its IP header and `quote_l4` bytes after
	 * it (0: 8, the minimum a router sends). */
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint16_t icmp_mtu; /* fragmentation needed: the next hop's MTU */
	const struct pkt_spec *quote;
	uint16_t quote_l4;
};

static inline size_t pkt_build(const struct pkt_spec *s, uint8_t *b);

/* 32-bit accumulation of big-endian 16-bit words; an odd tail byte is
 * padded with zero, as RFC 1071 says. */
static inline uint32_t csum_add_bytes(uint32_t sum, const void *data,
				      size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static inline uint16_t csum_fold32(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Checksum field value for data whose checksum field holds zero. */
static inline uint16_t csum_field(uint32_t sum)
{
	return (uint16_t)~csum_fold32(sum);
}

/* Sum of the IPv4 pseudo-header (addresses in network order). */
static inline uint32_t csum_pseudo(const uint8_t *saddr, const uint8_t *daddr,
				   uint8_t proto, uint16_t l4_len)
{
	uint32_t sum = 0;

	sum = csum_add_bytes(sum, saddr, 4);
	sum = csum_add_bytes(sum, daddr, 4);
	sum += proto;
	sum += l4_len;
	return sum;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline size_t pkt_eth(const struct pkt_spec *s, uint8_t *b,
			     uint16_t type)
{
	static const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x01};
	static const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x02};

	if (s->mac_zero)
		memset(b, 0, 6);
	else
		memcpy(b, s->eth_dst ? s->eth_dst : dst, 6);
	memcpy(b + 6, s->eth_src ? s->eth_src : src, 6);
	put16(b + 12, type);
	return ETH_HLEN;
}

static inline void pkt_payload(const struct pkt_spec *s, uint8_t *p)
{
	uint16_t i;

	for (i = 0; i < s->payload_len; i++)
		p[i] = (uint8_t)(0x41 + i * 7 + s->payload_seed * (i + 13));
	if (s->has_tail && s->payload_len >= 2)
		put16(p + s->payload_len - 2, s->tail);
}

/* L4 header + payload at l4 (checksum left zero); returns its length. */
static inline size_t pkt_l4(const struct pkt_spec *s, uint8_t *l4)
{
	size_t hl;

	/* A later fragment holds only payload: no header, no checksum. */
	if (s->frag & 0x1fff) {
		pkt_payload(s, l4);
		return s->payload_len;
	}
	switch (s->proto) {
	case IPPROTO_TCP:
		hl = s->tcp_mss ? 24 : 20;
		memset(l4, 0, hl);
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4, s->seq ? s->seq : 0x10000000u + s->sport);
		if (s->tcp_flags & TH_ACK)
			put32(l4 + 8, s->ack ? s->ack : 0x20000000u + s->dport);
		l4[12] = (uint8_t)((hl / 4) << 4);
		l4[13] = s->tcp_flags;
		put16(l4 + 14, 64240);
		if (s->tcp_mss) {
			l4[20] = 2; /* MSS */
			l4[21] = 4;
			put16(l4 + 22, 1460);
		}
		break;
	case IPPROTO_UDP:
		hl = 8;
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (uint16_t)(hl + s->payload_len));
		put16(l4 + 6, 0);
		break;
	case IPPROTO_ICMP:
		hl = 8;
		memset(l4, 0, hl);
		if (s->quote) {
			uint8_t q[PKT_MAX];
			size_t qlen = pkt_build(s->quote, q), ihl, n;

			l4[0] = s->icmp_type;
			l4[1] = s->icmp_code;
			put16(l4 + 6, s->icmp_mtu);
			ihl = (size_t)(q[ETH_HLEN] & 0xf) * 4;
			n = ihl + (s->quote_l4 ? s->quote_l4 : 8);
			if (ETH_HLEN + n > qlen)
				n = qlen - ETH_HLEN;
			memcpy(l4 + hl, q + ETH_HLEN, n);
			return hl + n;
		}
		l4[0] = s->icmp_type ? s->icmp_type : 8; /* echo request */
		l4[1] = s->icmp_code;
		put16(l4 + 4, 0x4242);
		put16(l4 + 6, 1);
		break;
	default:
		hl = 0;
		break;
	}
	pkt_payload(s, l4 + hl);
	return hl + s->payload_len;
}

/* Offset of the L4 checksum field, or -1 for protocols without one. */
static inline int l4_csum_off(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 16;
	case IPPROTO_UDP:
		return 6;
	case IPPROTO_ICMP:
		return 2;
	}
	return -1;
}

static inline size_t pkt_build_ipv4(const struct pkt_spec *s, uint8_t *b)
{
	uint8_t *ip = b + ETH_HLEN, *l4;
	size_t ihl = 20 + 4 * (size_t)s->ip_opt_words, l4len, i;
	uint16_t c;
	int coff;

	pkt_eth(s, b, ETH_P_IP);
	memset(ip, 0, ihl);
	ip[0] = 0x40 | (uint8_t)(s->ihl_raw ? s->ihl_raw : ihl / 4);
	put16(ip + 4, 0x1234);
	put16(ip + 6, s->frag);
	ip[8] = s->ttl ? s->ttl : 64;
	ip[9] = s->proto;
	put32(ip + 12, s->saddr);
	put32(ip + 16, s->daddr);
	/* Options: a Router Alert first (a real, non-NOP option), then NOPs,
	 * and an End of Option List as the last byte. */
	for (i = 20; i < ihl; i++)
		ip[i] = 0x01;
	if (s->ip_opt_words >= 1) {
		ip[20] = 0x94;
		ip[21] = 4;
		ip[22] = 0;
		ip[23] = 0;
	}
	if (s->ip_opt_words >= 2)
		ip[ihl - 1] = 0x00;

	l4 = ip + ihl;
	l4len = pkt_l4(s, l4);
	put16(ip + 2,
	      s->tot_len_raw ? s->tot_len_raw : (uint16_t)(ihl + l4len));
	coff = (s->frag & 0x1fff) ? -1 : l4_csum_off(s->proto);
	if (coff >= 0) {
		uint32_t sum = csum_add_bytes(0, l4, l4len);

		if (s->proto != IPPROTO_ICMP)
			sum += csum_pseudo(ip + 12, ip + 16, s->proto,
					   (uint16_t)l4len);
		c = csum_field(sum);
		/* UDP sends a computed zero as all ones (RFC 768). */
		if (s->proto == IPPROTO_UDP && c == 0)
			c = 0xffff;
		if (s->proto == IPPROTO_UDP && s->udp_no_csum)
			c = 0;
		if (s->bad_l4_csum)
			c ^= 0x0100;
		put16(l4 + coff, c);
	}
	c = csum_field(csum_add_bytes(0, ip, ihl));
	if (s->bad_ip_csum)
		c ^= 0x0001;
	put16(ip + 10, c);
	return ETH_HLEN + ihl + l4len;
}

static inline size_t pkt_build_ipv6(const struct pkt_spec *s, uint8_t *b)
{
	uint8_t *ip6 = b + ETH_HLEN;
	size_t l4len;

	pkt_eth(s, b, ETH_P_IPV6);
	memset(ip6, 0, 40);
	ip6[0] = 0x60;
	ip6[6] = s->proto;
	ip6[7] = 64;
	/* 2001:db8::/32, the documentation prefix, with the v4 spec's
	 * addresses in the low bits. */
	put16(ip6 + 8, 0x2001);
	put16(ip6 + 10, 0x0db8);
	put32(ip6 + 20, s->saddr);
	put16(ip6 + 24, 0x2001);
	put16(ip6 + 26, 0x0db8);
	put32(ip6 + 36, s->daddr);
	l4len = pkt_l4(s, ip6 + 40);
	put16(ip6 + 4, (uint16_t)l4len);
	return ETH_HLEN + 40 + l4len;
}

static inline size_t pkt_build_arp(const struct pkt_spec *s, uint8_t *b)
{
	uint8_t *a = b + ETH_HLEN;

	pkt_eth(s, b, ETH_P_ARP);
	memset(a, 0, 28);
	put16(a, 1); /* Ethernet */
	put16(a + 2, ETH_P_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1); /* request */
	memcpy(a + 8, b + 6, 6);
	put32(a + 14, s->saddr);
	put32(a + 24, s->daddr);
	return ETH_HLEN + 28;
}

/* Build the frame into b (PKT_MAX bytes); returns its length. */
static inline size_t pkt_build(const struct pkt_spec *s, uint8_t *b)
{
	size_t len;

	memset(b, 0, PKT_MAX);
	switch (s->l3) {
	case ETH_P_IPV6:
		len = pkt_build_ipv6(s, b);
		break;
	case ETH_P_ARP:
		len = pkt_build_arp(s, b);
		break;
	default:
		len = pkt_build_ipv4(s, b);
		break;
	}
	if (s->trunc && s->trunc < len)
		len = s->trunc;
	return len;
}

/* Payload tail that makes the segment's full one's complement sum (with the
 * checksum field zero) 0xffff, so the checksum field itself becomes 0x0000
 * (TCP) or 0xffff (UDP's "computed zero"): the one's complement corner
 * where +0 and -0 differ and a sloppy update gets it wrong. */
static inline uint16_t pkt_tail_for_zero_csum(struct pkt_spec s)
{
	uint8_t b[PKT_MAX];
	const uint8_t *ip, *l4;
	size_t len, ihl;
	uint16_t l4len;
	uint32_t sum;

	s.has_tail = true;
	s.tail = 0;
	s.udp_no_csum = false;
	len = pkt_build(&s, b);
	ip = b + ETH_HLEN;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	l4 = ip + ihl;
	l4len = (uint16_t)(len - ETH_HLEN - ihl);
	/* Sum everything but the checksum field the builder wrote. */
	memset(b + (l4 - b) + l4_csum_off(s.proto), 0, 2);
	sum = csum_pseudo(ip + 12, ip + 16, s.proto, l4len);
	sum = csum_add_bytes(sum, l4, l4len);
	/* sum + ~sum == 0xffff in one's complement arithmetic */
	return (uint16_t)~csum_fold32(sum);
}

/*
 * Verify every checksum of an IPv4 frame from scratch: the IP header and
 * the pseudo-header + segment must each sum to 0xffff. A UDP checksum of 0
 * means "none" and is accepted. Returns 0, or -1 with the reason in why.
 */
static inline int pkt_verify_csums(const uint8_t *b, size_t len, char *why,
				   size_t whylen)
{
	const uint8_t *ip = b + ETH_HLEN, *l4;
	size_t ihl, tot;
	uint32_t sum;
	uint16_t s;
	int coff;

	if (len < ETH_HLEN + 20 || get16(b + 12) != ETH_P_IP) {
		snprintf(why, whylen, "not a complete IPv4 frame");
		return -1;
	}
	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = get16(ip + 2);
	if (ihl < 20 || tot < ihl || ETH_HLEN + tot > len) {
		snprintf(why, whylen, "bad IHL %zu / total length %zu", ihl,
			 tot);
		return -1;
	}
	s = csum_fold32(csum_add_bytes(0, ip, ihl));
	if (s != 0xffff) {
		snprintf(why, whylen,
			 "IPv4 header checksum %#06x wrong (sum %#06x)",
			 get16(ip + 10), s);
		return -1;
	}
	coff = l4_csum_off(ip[9]);
	/* A fragment's L4 checksum covers the whole datagram. */
	if (coff < 0 || (get16(ip + 6) & 0x3fff))
		return 0;
	l4 = ip + ihl;
	if (ip[9] == IPPROTO_UDP && get16(l4 + 6) == 0)
		return 0;
	sum = csum_add_bytes(0, l4, tot - ihl);
	if (ip[9] != IPPROTO_ICMP)
		sum += csum_pseudo(ip + 12, ip + 16, ip[9],
				   (uint16_t)(tot - ihl));
	s = csum_fold32(sum);
	if (s != 0xffff) {
		snprintf(why, whylen,
			 "L4 (proto %u) checksum %#06x wrong "
			 "(sum %#06x)",
			 ip[9], get16(l4 + coff), s);
		return -1;
	}
	return 0;
}

static inline void pkt_hexdump(FILE *f, const char *title, const uint8_t *b,
			       size_t len, const uint8_t *other,
			       size_t other_len)
{
	size_t i;

	fprintf(f, "#   %s (%zu bytes; [xx] differs):\n", title, len);
	for (i = 0; i < len; i++) {
		bool diff = !other || i >= other_len || b[i] != other[i];

		if (i % 16 == 0)
			fprintf(f, "#   %04zx:", i);
		fprintf(f, diff ? "[%02x]" : " %02x ", b[i]);
		if (i % 16 == 15 || i + 1 == len)
			fprintf(f, "\n");
	}
}

#endif
