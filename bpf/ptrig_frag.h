/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fragments of a triggered flow's datagrams. Only the first fragment holds
 * the ports, so it is translated like any packet of its flow, and its
 * translation is remembered in ptrig_frags under (source, destination, IP
 * id, protocol, direction) for PTRIG_FRAG_TIMEOUT_NS; later fragments that
 * find it get the same address. A later fragment that arrives before its
 * first one, or whose first one was lost, finds nothing and passes
 * untouched (counted as PASS_FRAGMENT): the box's reassembly then drops the
 * incomplete datagram, as it would drop any datagram with a lost fragment.
 *
 * Included by ptrig.bpf.c after its map helpers.
 */
#ifndef PTRIG_FRAG_H
#define PTRIG_FRAG_H

static __always_inline void frag_key(struct ptrig_frag_key *k,
				     const struct pkt *p, __u8 dir)
{
	k->saddr = p->saddr;
	k->daddr = p->daddr;
	k->id = p->ip_id;
	k->proto = p->proto;
	k->dir = dir;
}

/* The first fragment p (addresses before translation) was translated to
 * `to`: remember it for the rest of the datagram. */
static __always_inline void frag_remember(const struct pkt *p, __u8 dir,
					  __be32 to, __u64 now)
{
	struct ptrig_frag_key k = {};
	struct ptrig_frag v = {};

	frag_key(&k, p, dir);
	v.to = to;
	v.stamp_ns = now;
	if (bpf_map_update_elem(&PTRIG_MAP(frags), &k, &v, BPF_ANY))
		stat_inc(PTRIG_STAT_ERROR);
}

/* Where a later fragment goes, or 0 when its datagram is not ours. */
static __always_inline __be32 frag_lookup(const struct pkt *p, __u8 dir)
{
	struct ptrig_frag_key k = {};
	struct ptrig_frag *v;

	frag_key(&k, p, dir);
	v = bpf_map_lookup_elem(&PTRIG_MAP(frags), &k);
	if (!v ||
	    bpf_ktime_get_coarse_ns() - v->stamp_ns > PTRIG_FRAG_TIMEOUT_NS)
		return 0;
	return v->to;
}

/* XDP: a later fragment of a datagram whose first fragment was DNATed. */
static __always_inline bool xdp_frag(void *data_end, struct pkt *p)
{
	struct iphdr *ip = p->ip;
	__be32 to = frag_lookup(p, PTRIG_FRAG_IN);

	if (!to || (void *)(ip + 1) > data_end)
		return false;
	ip->daddr = to;
	csum_replace4(&ip->check, p->daddr, to);
	return true;
}

#endif
