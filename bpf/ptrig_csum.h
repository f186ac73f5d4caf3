/* SPDX-License-Identifier: GPL-2.0 */
/* Incremental Internet checksum updates (RFC 1624) for XDP, where no
 * checksum helper knows about the packet's checksum state. */
#ifndef PTRIG_CSUM_H
#define PTRIG_CSUM_H

static __always_inline __u16 csum_fold64(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* HC' = ~(~HC + ~m + m'), with m and m' 32-bit words: adding a 32-bit word
 * and folding equals adding its two 16-bit halves. */
static __always_inline void csum_replace4(__sum16 *sum, __be32 from, __be32 to)
{
	__u64 s = (__u16) ~*sum;

	s += (__u32)~from;
	s += to;
	*sum = (__sum16)~csum_fold64(s);
}

/* UDP: a zero checksum means "none" and must stay zero; a computed zero is
 * sent as 0xffff (RFC 768). */
static __always_inline void csum_replace4_udp(__sum16 *sum, __be32 from,
					      __be32 to)
{
	if (*sum == 0)
		return;
	csum_replace4(sum, from, to);
	if (*sum == 0)
		*sum = (__sum16)0xffff;
}

#endif
