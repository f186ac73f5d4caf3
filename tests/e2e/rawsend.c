// SPDX-License-Identifier: GPL-2.0
/*
 * rawsend: a tiny packet crafter and sniffer for the ptrig lab's wire tests.
 *
 *   rawsend send  -p udp|tcp -s SRC -d DST -S SPORT -D DPORT
 *                 [-m PAYLOAD] [-b] [-n COUNT]
 *                 [-f FLAGS] [-q SEQ] [-a ACK] [-V N]
 *       Sends COUNT (default 1, at most 1000000) IPv4 datagrams through an
 *       IPPROTO_RAW socket. TCP: FLAGS from S A R F P (default S), the
 *       sequence number SEQ and, with A, the acknowledgement ACK. -V N:
 *       spoof N sources, SRC, SRC+1, ..., SRC+N-1 in turn, the source port
 *       going up by one after each round (a flood from many hosts). The UDP/TCP
 * checksum is computed here; -b corrupts it on purpose (never into
 * 0x0000/0xffff, which a receiver would accept: UDP 0 means "no checksum", and
 * 0/0xffff are the same in ones' complement). TCP packets carry no options
 * (payload allowed). Raw sockets leave the skb CHECKSUM_NONE, so no offload
 * fixes it. -I TYPE:CODE:OSRC:ODST [-M MTU]: send instead an ICMP error from
 *       OSRC to ODST that quotes that datagram (its IP header, with a
 *       correct checksum, and the first 8 bytes after it, as routers
 *       quote); MTU goes in the "next-hop MTU" field.
 *
 *   rawsend sniff -i IFACE -p udp|tcp -P PORT [-n COUNT] [-t TIMEOUT_MS]
 *       Prints one line per IPv4 packet on IFACE whose source or
 *       destination port is PORT, until COUNT packets or TIMEOUT_MS:
 *         pkt dir=in|out src=A:P dst=B:Q flags=SA len=N csum=ok|bad
 *             summed=partial|valid|none
 *       csum is recomputed from the captured bytes; summed is the kernel's
 *       skb checksum state (PACKET_AUXDATA): partial = CHECKSUM_PARTIAL
 *       (the field holds only the pseudo-header sum), valid = already
 *       verified/trusted (CHECKSUM_UNNECESSARY or csum_valid), none =
 *       the receiver still has to verify the bytes. Prints "ready" on
 *       stderr once the socket is bound.
 *
 * Exit codes: 0 ok (sniff: at least one packet seen), 1 runtime failure or
 * nothing seen, 2 usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef TP_STATUS_CSUM_VALID
#define TP_STATUS_CSUM_VALID (1 << 7)
#endif

static uint32_t csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Checksum over pseudo-header + L4 segment, in host byte order. */
static uint16_t l4_csum(uint32_t saddr, uint32_t daddr, uint8_t proto,
			const void *l4, size_t len)
{
	uint8_t ph[12];
	uint32_t sum;

	memcpy(ph, &saddr, 4);
	memcpy(ph + 4, &daddr, 4);
	ph[8] = 0;
	ph[9] = proto;
	ph[10] = (uint8_t)(len >> 8);
	ph[11] = (uint8_t)len;
	sum = csum_add(0, ph, sizeof(ph));
	sum = csum_add(sum, l4, len);
	return csum_fold(sum);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: rawsend send -p udp|tcp -s SRC -d DST -S SPORT -D DPORT"
		" [-m PAYLOAD] [-b] [-n COUNT]\n"
		"                     [-f SARFP] [-q SEQ] [-a ACK] [-V N]\n"
		"                     [-I TYPE:CODE:OUTER_SRC:OUTER_DST] [-M "
		"MTU]\n"
		"       rawsend sniff -i IFACE -p udp|tcp -P PORT [-n COUNT]"
		" [-t TIMEOUT_MS]\n");
	exit(2);
}

static int parse_proto(const char *s)
{
	if (!strcmp(s, "udp"))
		return IPPROTO_UDP;
	if (!strcmp(s, "tcp"))
		return IPPROTO_TCP;
	usage();
	return -1;
}

static long parse_num(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || *end || v < min || v > max)
		usage();
	return v;
}

static uint8_t parse_tcp_flags(const char *s)
{
	uint8_t f = 0;

	for (; *s; s++) {
		switch (*s) {
		case 'S':
			f |= TH_SYN;
			break;
		case 'A':
			f |= TH_ACK;
			break;
		case 'R':
			f |= TH_RST;
			break;
		case 'F':
			f |= TH_FIN;
			break;
		case 'P':
			f |= TH_PUSH;
			break;
		default:
			usage();
		}
	}
	return f;
}

struct send_opts {
	int proto, bad;
	struct in_addr src, dst;
	int sport, dport;
	const char *payload;
	uint8_t flags;
	uint32_t seq, ack;
	/* -I: wrap the datagram into an ICMP error quoting it */
	int icmp;
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_mtu;
	struct in_addr osrc, odst;
};

/* -I TYPE:CODE:OSRC:ODST */
static void parse_icmp(const char *arg, struct send_opts *o)
{
	char buf[128], *f[4], *save = NULL, *t;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (t = strtok_r(buf, ":", &save); t && n < 4;
	     t = strtok_r(NULL, ":", &save))
		f[n++] = t;
	if (n != 4 || inet_pton(AF_INET, f[2], &o->osrc) != 1 ||
	    inet_pton(AF_INET, f[3], &o->odst) != 1)
		usage();
	o->icmp_type = (uint8_t)parse_num(f[0], 0, 255);
	o->icmp_code = (uint8_t)parse_num(f[1], 0, 255);
	o->icmp = 1;
}

/* Wrap the datagram in pkt (len bytes) into an ICMP error quoting its IP
 * header and 8 bytes after it; returns the new length. */
static size_t wrap_icmp(const struct send_opts *o, uint8_t *pkt, size_t len)
{
	uint8_t q[28];
	struct iphdr *ip = (struct iphdr *)pkt, *qip = (struct iphdr *)q;
	uint8_t *icmp = pkt + sizeof(*ip);
	size_t qlen = len < sizeof(q) ? len : sizeof(q);
	uint16_t sum;

	memcpy(q, pkt, qlen);
	qip->id = htons(0x5151);
	qip->check = 0;
	qip->check = htons(csum_fold(csum_add(0, q, sizeof(*qip))));
	memset(pkt, 0, sizeof(*ip) + 8);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_ICMP;
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + 8 + qlen));
	ip->saddr = o->osrc.s_addr;
	ip->daddr = o->odst.s_addr;
	icmp[0] = o->icmp_type;
	icmp[1] = o->icmp_code;
	icmp[6] = (uint8_t)(o->icmp_mtu >> 8);
	icmp[7] = (uint8_t)o->icmp_mtu;
	memcpy(icmp + 8, q, qlen);
	sum = htons(csum_fold(csum_add(0, icmp, 8 + qlen)));
	memcpy(icmp + 2, &sum, 2);
	return sizeof(*ip) + 8 + qlen;
}

/* Build one datagram into pkt; returns its length. */
static size_t build(const struct send_opts *o, uint8_t *pkt, size_t cap)
{
	struct iphdr *ip = (struct iphdr *)pkt;
	uint8_t *l4 = pkt + sizeof(*ip);
	size_t plen = strlen(o->payload), hlen, l4len;
	uint16_t sum;

	hlen = o->proto == IPPROTO_UDP ? sizeof(struct udphdr)
				       : sizeof(struct tcphdr);
	if (plen > cap - sizeof(*ip) - hlen)
		return 0;
	l4len = hlen + plen;
	memset(pkt, 0, sizeof(*ip) + l4len);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = (uint8_t)o->proto;
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + l4len));
	ip->saddr = o->src.s_addr;
	ip->daddr = o->dst.s_addr;
	/* id and the IP header checksum are filled in by the kernel */
	memcpy(l4 + hlen, o->payload, plen);
	if (o->proto == IPPROTO_UDP) {
		struct udphdr *uh = (struct udphdr *)l4;

		uh->source = htons((uint16_t)o->sport);
		uh->dest = htons((uint16_t)o->dport);
		uh->len = htons((uint16_t)l4len);
	} else {
		struct tcphdr *th = (struct tcphdr *)l4;

		th->source = htons((uint16_t)o->sport);
		th->dest = htons((uint16_t)o->dport);
		th->seq = htonl(o->seq);
		if (o->flags & TH_ACK)
			th->ack_seq = htonl(o->ack);
		th->doff = 5;
		l4[13] = o->flags;
		th->window = htons(64240);
	}
	sum = l4_csum(o->src.s_addr, o->dst.s_addr, (uint8_t)o->proto, l4,
		      l4len);
	if (o->proto == IPPROTO_UDP && sum == 0)
		sum = 0xffff; /* RFC 768: computed 0 is sent as all ones */
	if (o->bad) {
		/* Flip bits, but never into 0x0000/0xffff (see header). */
		uint16_t b = sum ^ 0x0101;

		if (b == 0 || b == 0xffff)
			b = sum ^ 0x0202;
		sum = b;
	}
	sum = htons(sum);
	memcpy(l4 + (o->proto == IPPROTO_UDP ? 6 : 16), &sum, 2);
	return sizeof(*ip) + l4len;
}

static int do_send(int argc, char **argv)
{
	struct send_opts o = {
		.payload = "",
		.sport = -1,
		.dport = -1,
		.flags = TH_SYN,
		.seq = 0x50726967, /* "Prig" */
	};
	uint32_t src0, vary = 1;
	uint8_t pkt[1500];
	struct sockaddr_in to;
	size_t len;
	long i, count = 1;
	int fd, c;

	while ((c = getopt(argc, argv, "p:s:d:S:D:m:bn:f:q:a:V:I:M:")) != -1) {
		switch (c) {
		case 'p':
			o.proto = parse_proto(optarg);
			break;
		case 's':
			if (inet_pton(AF_INET, optarg, &o.src) != 1)
				usage();
			break;
		case 'd':
			if (inet_pton(AF_INET, optarg, &o.dst) != 1)
				usage();
			break;
		case 'S':
			o.sport = (int)parse_num(optarg, 1, 65535);
			break;
		case 'D':
			o.dport = (int)parse_num(optarg, 1, 65535);
			break;
		case 'm':
			o.payload = optarg;
			break;
		case 'b':
			o.bad = 1;
			break;
		case 'n':
			count = parse_num(optarg, 1, 1000000);
			break;
		case 'f':
			o.flags = parse_tcp_flags(optarg);
			break;
		case 'q':
			o.seq = (uint32_t)parse_num(optarg, 0, 0xffffffffl);
			break;
		case 'a':
			o.ack = (uint32_t)parse_num(optarg, 0, 0xffffffffl);
			break;
		case 'V':
			vary = (uint32_t)parse_num(optarg, 1, 65536);
			break;
		case 'I':
			parse_icmp(optarg, &o);
			break;
		case 'M':
			o.icmp_mtu = (uint16_t)parse_num(optarg, 0, 65535);
			break;
		default:
			usage();
		}
	}
	if (!o.proto || !o.src.s_addr || !o.dst.s_addr || o.sport < 0 ||
	    o.dport < 0)
		usage();

	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		perror("rawsend: socket");
		return 1;
	}
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr = o.icmp ? o.odst : o.dst;
	src0 = ntohl(o.src.s_addr);
	for (i = 0; i < count; i++) {
		struct send_opts cur = o;

		cur.src.s_addr = htonl(src0 + (uint32_t)(i % vary));
		cur.sport = 1 + (int)((o.sport - 1 + i / vary) % 65535);
		len = build(&cur, pkt, sizeof(pkt));
		if (!len) {
			fprintf(stderr, "rawsend: payload too long\n");
			close(fd);
			return 2;
		}
		if (o.icmp)
			len = wrap_icmp(&o, pkt, len);
		if (sendto(fd, pkt, len, 0, (struct sockaddr *)&to,
			   sizeof(to)) < 0) {
			perror("rawsend: sendto");
			close(fd);
			return 1;
		}
	}
	close(fd);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tcp_flags(const struct tcphdr *th, char *buf)
{
	char *p = buf;

	if (th->syn)
		*p++ = 'S';
	if (th->ack)
		*p++ = 'A';
	if (th->fin)
		*p++ = 'F';
	if (th->rst)
		*p++ = 'R';
	if (th->psh)
		*p++ = 'P';
	if (p == buf)
		*p++ = '.';
	*p = 0;
}

/* Prints the packet if it matches; returns 1 if it did. */
static int sniff_one(const uint8_t *buf, size_t len, int proto, int port,
		     const struct tpacket_auxdata *aux, int outgoing)
{
	const struct iphdr *ip = (const struct iphdr *)buf;
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN], flags[8] = "-";
	size_t ihl, tot, l4len;
	const uint8_t *l4;
	int sp, dp, ok;
	const char *summed;

	if (len < sizeof(*ip) || ip->version != 4 || ip->protocol != proto)
		return 0;
	ihl = (size_t)ip->ihl * 4;
	tot = ntohs(ip->tot_len);
	if (ihl < sizeof(*ip) || tot > len || tot < ihl + 8 ||
	    (ntohs(ip->frag_off) & 0x3fff))
		return 0;
	l4 = buf + ihl;
	l4len = tot - ihl;
	sp = l4[0] << 8 | l4[1];
	dp = l4[2] << 8 | l4[3];
	if (sp != port && dp != port)
		return 0;
	if (proto == IPPROTO_TCP) {
		if (l4len < sizeof(struct tcphdr))
			return 0;
		tcp_flags((const struct tcphdr *)l4, flags);
	}
	/* A correct checksum sums (with the field) to 0; UDP 0 = none. */
	if (proto == IPPROTO_UDP && l4[6] == 0 && l4[7] == 0)
		ok = 1;
	else
		ok = l4_csum(ip->saddr, ip->daddr, (uint8_t)proto, l4, l4len) ==
		     0;
	if (aux && (aux->tp_status & TP_STATUS_CSUMNOTREADY))
		summed = "partial";
	else if (aux && (aux->tp_status & TP_STATUS_CSUM_VALID))
		summed = "valid";
	else
		summed = "none";
	inet_ntop(AF_INET, &ip->saddr, s, sizeof(s));
	inet_ntop(AF_INET, &ip->daddr, d, sizeof(d));
	printf("pkt dir=%s src=%s:%d dst=%s:%d flags=%s len=%zu csum=%s "
	       "summed=%s\n",
	       outgoing ? "out" : "in", s, sp, d, dp, flags, l4len,
	       ok ? "ok" : "bad", summed);
	fflush(stdout);
	return 1;
}

static int do_sniff(int argc, char **argv)
{
	const char *ifname = NULL;
	int proto = 0, port = -1, count = 1, seen = 0, one = 1, fd, c;
	long timeout_ms = 5000;
	struct sockaddr_ll sll;
	long long deadline;

	while ((c = getopt(argc, argv, "i:p:P:n:t:")) != -1) {
		switch (c) {
		case 'i':
			ifname = optarg;
			break;
		case 'p':
			proto = parse_proto(optarg);
			break;
		case 'P':
			port = (int)parse_num(optarg, 1, 65535);
			break;
		case 'n':
			count = (int)parse_num(optarg, 1, 100000);
			break;
		case 't':
			timeout_ms = parse_num(optarg, 1, 600000);
			break;
		default:
			usage();
		}
	}
	if (!ifname || !proto || port < 0)
		usage();

	/* ETH_P_ALL: protocol-specific packet sockets miss outgoing frames */
	fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	if (fd < 0) {
		perror("rawsend: packet socket");
		return 1;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one))) {
		perror("rawsend: PACKET_AUXDATA");
		return 1;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "rawsend: no interface %s\n", ifname);
		return 1;
	}
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		perror("rawsend: bind");
		return 1;
	}
	fprintf(stderr, "ready\n");
	fflush(stderr);

	deadline = now_ms() + timeout_ms;
	while (seen < count) {
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		} ctl;
		struct tpacket_auxdata *aux = NULL;
		struct sockaddr_ll from;
		uint8_t buf[65536];
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr msg = {0};
		struct cmsghdr *cm;
		struct pollfd pfd = {fd, POLLIN, 0};
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			break;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		msg.msg_name = &from;
		msg.msg_namelen = sizeof(from);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = &ctl;
		msg.msg_controllen = sizeof(ctl);
		n = recvmsg(fd, &msg, MSG_DONTWAIT);
		if (n < 0)
			continue;
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
			if (cm->cmsg_level == SOL_PACKET &&
			    cm->cmsg_type == PACKET_AUXDATA)
				aux = (struct tpacket_auxdata *)CMSG_DATA(cm);
		if (from.sll_protocol != htons(ETH_P_IP))
			continue;
		seen += sniff_one(buf, (size_t)n, proto, port, aux,
				  from.sll_pkttype == PACKET_OUTGOING);
	}
	close(fd);
	return seen ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "send"))
		return do_send(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sniff"))
		return do_sniff(argc - 1, argv + 1);
	usage();
	return 2;
}
