// SPDX-License-Identifier: GPL-2.0
/*
 * ptrig datapath, attached to one WAN interface:
 *   - ptrig_tc_egress:  detects trigger traffic (after the box's own NAT) and
 *                       gives the owner's replies of triggered flows the
 *                       external source address;
 *   - ptrig_xdp_ingress: DNATs new inbound connections to open ports of an
 *                       open trigger to the owner, and later packets of them;
 *   - ptrig_tc_ingress: turns XDP's metadata marker into the firewall mark;
 * and with the fast path on, one of these on the LAN interface:
 *   - ptrig_tc_lan_ingress / ptrig_xdp_lan_ingress: send the owner's packets
 *                       of established flows to the WAN, translated.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#include "ptrig.h"
#include "ptrig_maps.h"
#include "ptrig_csum.h"
#include "ptrig_parse.h"

#define TC_ACT_OK 0
#define NSEC_PER_SEC 1000000000ull

/* Firewall mark bit set on translated new connections; set by the loader. */
const volatile __u32 fw_mark = PTRIG_DEFAULT_MARK;
/* Tests only: behave as on a driver without XDP metadata support. */
const volatile __u32 test_no_xdp_meta = 0;

/* The LAN interface XDP forwards established flows to by itself (the fast
 * path), set by the loader; 0: the fast path is off and the verifier drops
 * its code. */
const volatile __u32 fast_lan_ifindex = 0;
/* The WAN interface itself: where the LAN program sends the owner's packets
 * of established flows. */
const volatile __u32 fast_wan_ifindex = 0;

/* The LAN interface's MAC, set by the loader: the XDP LAN program takes
 * only frames addressed to the box (as the stack forwards only those). */
const volatile __u8 fast_lan_mac[6] = {};

/* skb->cb[0] of a packet the LAN program redirected to the WAN: the WAN's TC
 * egress, which it still passes, lets it through untouched. */
#define PTRIG_CB_FAST_OUT 0x70746f75u /* "ptou" */

/* Set once XDP found the driver gives it no metadata room: from then on TC
 * ingress marks translated packets from the flow table. */
__u32 xdp_meta_unsupported = 0;

/* Declared __weak so a kernel without conntrack kfuncs still loads ptrig
 * (owner detection then falls back to the packet source, the ct check is
 * skipped). Their presence is tested with ct_kfuncs_present(), never by
 * taking a kfunc's address: kernels before 6.4 reject that instruction, and
 * libbpf 1.1 emits it without the module BTF that nf_conntrack's kfuncs
 * live in. */
extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb,
					 struct bpf_sock_tuple *tuple,
					 __u32 tuple__sz,
					 struct bpf_ct_opts *opts,
					 __u32 opts__sz) __ksym __weak;
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *ctx,
					 struct bpf_sock_tuple *tuple,
					 __u32 tuple__sz,
					 struct bpf_ct_opts *opts,
					 __u32 opts__sz) __ksym __weak;
extern void bpf_ct_release(struct nf_conn *ct) __ksym __weak;
extern int bpf_ct_change_timeout(struct nf_conn *nfct,
				 __u32 timeout_ms) __ksym __weak;
extern int bpf_ct_change_status(struct nf_conn *nfct,
				__u32 status) __ksym __weak;

#define CT_OPTS_SZ 12 /* the layout measured to load on this kernel */

/* struct bpf_ct_opts is defined exactly where the conntrack kfuncs are (in
 * vmlinux, or in the nf_conntrack module's BTF when that is loaded). CO-RE
 * resolves this to a constant at load time, so the verifier drops the
 * kfunc calls as dead code when they are absent. */
static __always_inline bool ct_kfuncs_present(void)
{
	return bpf_core_type_exists(struct bpf_ct_opts);
}

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&PTRIG_MAP(stats), &idx);

	if (v)
		*v += 1;
}

static __always_inline struct ptrig_rule_counters *rule_counters(__u32 id)
{
	return bpf_map_lookup_elem(&PTRIG_MAP(cnt), &id);
}

static __always_inline const struct ptrig_config *ptrig_config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&PTRIG_MAP(cfg), &zero);
}

static __always_inline struct ptrig_port_rules *
port_rules(const struct ptrig_config *cfg, __be16 port)
{
	__u32 idx = (cfg->active_set & 1) * PTRIG_PORTS + bpf_ntohs(port);

	return bpf_map_lookup_elem(&PTRIG_MAP(ports), &idx);
}

static __always_inline struct ptrig_rule *
rule_get(const struct ptrig_config *cfg, __u32 id)
{
	__u32 idx = (cfg->active_set & 1) * PTRIG_MAX_RULES + id;

	return bpf_map_lookup_elem(&PTRIG_MAP(rules), &idx);
}

/* Idle past timeout? Signed, so a stamp slightly ahead of the coarse "now"
 * (one written from the fine-grained CLOCK_MONOTONIC by userspace, which
 * runs up to a tick ahead) counts as fresh, not as idle for ~584 years. */
static __always_inline bool idle_past(__u64 now, __u64 last, __u32 timeout_s)
{
	return (__s64)(now - last) > (__s64)((__u64)timeout_s * NSEC_PER_SEC);
}

/* Refresh a timestamp only when it moved by a sixteenth of the timeout (at
 * most 1 s): enough precision for expiry, without a store per packet. */
static __always_inline void touch(__u64 *stamp, __u64 now, __u32 timeout_s)
{
	__u64 step = ((__u64)timeout_s * NSEC_PER_SEC) >> 4;

	if (step > PTRIG_TOUCH_NS)
		step = PTRIG_TOUCH_NS;
	if (now - *stamp > step)
		*stamp = now;
}

/* Conflicts, refused connections and new flows can come with every packet
 * of a conflicting LAN host, a port scan or a SYN flood: their events are
 * limited to one per EVENT_MIN_GAP_NS each (the counters stay exact), so
 * `monitor` stays readable and the ring buffer is not flooded. */
#define EVENT_MIN_GAP_NS 10000000ull
enum { NOISY_CONFLICT, NOISY_REFUSED, NOISY_FLOW_OPENED, NOISY_MAX };
__u64 last_noisy_event_ns[NOISY_MAX];

static __always_inline bool noisy_event_due(int kind, __u64 now)
{
	if (now - last_noisy_event_ns[kind] < EVENT_MIN_GAP_NS)
		return false;
	last_noisy_event_ns[kind] = now;
	return true;
}

static __always_inline void emit_event(__u32 type, __u32 rule_id, __be32 owner,
				       __be32 external, const struct pkt *p,
				       bool inbound, __u8 reason, __u64 now)
{
	struct ptrig_event *ev;

	ev = bpf_ringbuf_reserve(&PTRIG_MAP(events), sizeof(*ev), 0);
	if (!ev)
		return;
	ev->ts_ns = now;
	ev->type = type;
	ev->rule_id = rule_id;
	ev->owner = owner;
	ev->external = external;
	ev->remote = inbound ? p->saddr : p->daddr;
	ev->remote_port = inbound ? p->sport : p->dport;
	ev->local_port = inbound ? p->dport : p->sport;
	ev->proto = p->proto;
	ev->reason = reason;
	__builtin_memset(ev->pad, 0, sizeof(ev->pad));
	bpf_ringbuf_submit(ev, 0);
}

/* Only the owner's FIN or RST (seen leaving through TC egress) shortens a
 * flow's life: anyone can send the remote's with a spoofed source. */
static __always_inline void flow_note_tcp_close(struct ptrig_flow *f,
						const struct pkt *p)
{
	if ((p->tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST)) &&
	    !(f->flags & PTRIG_FLOW_CLOSING))
		__sync_fetch_and_or(&f->flags, PTRIG_FLOW_CLOSING);
}

/* Make sure TC egress will try `ext` for the owner's replies: called
 * before a flow on it is created (rare), so the reply path never misses. */
static __always_inline void externals_learn(__be32 ext)
{
	struct ptrig_externals *e;
	__u32 zero = 0, old;
	int i;

	e = bpf_map_lookup_elem(&PTRIG_MAP(exts), &zero);
	if (!e)
		return;
	for (i = 0; i < PTRIG_MAX_EXTERNALS; i++) {
		old = e->addr[i];
		if (old == ext)
			return;
		if (old)
			continue;
		old = __sync_val_compare_and_swap(&e->addr[i], 0, ext);
		if (old == 0 || old == ext)
			return;
	}
	/* All taken: the address's own slot, so the same one keeps it. */
	e->addr[bpf_ntohl(ext) & (PTRIG_MAX_EXTERNALS - 1)] = ext;
	stat_inc(PTRIG_STAT_ERROR);
}

/*
 * The flow of a packet the owner sends (or an error quoting one), key
 * filled but for the external address, which the packet does not carry:
 * each learned external address is tried. *map says which table holds it.
 * With drop_collision, a flow that the box's own NAT has taken over (the
 * packet comes from the flow's external address, not its owner) is
 * deleted: the connection conntrack tracks wins, so its replies are no
 * longer diverted to the trigger's owner.
 */
static __always_inline struct ptrig_flow *flow_out(struct ptrig_flow_key *key,
						   __be32 from, void **map,
						   bool drop_collision)
{
	struct ptrig_flow *f, *best = NULL;
	struct ptrig_externals *e;
	void *m, *best_map = NULL;
	__be32 best_ext = 0;
	__u32 zero = 0;
	int i;

	e = bpf_map_lookup_elem(&PTRIG_MAP(exts), &zero);
	if (!e)
		return NULL;
	/* The owner may have flows to this remote end on several addresses
	 * (a reconnect leaves the old address's flow until it idles out):
	 * its reply belongs to the one that saw traffic last (on a tie, the
	 * address learned later). */
	for (i = 0; i < PTRIG_MAX_EXTERNALS; i++) {
		if (!e->addr[i])
			break;
		key->external = e->addr[i];
		m = &PTRIG_MAP(flows);
		f = bpf_map_lookup_elem(m, key);
		if (!f) {
			m = &PTRIG_MAP(embryo);
			f = bpf_map_lookup_elem(m, key);
			if (!f)
				continue;
		}
		if (f->owner == from) {
			if (!best || f->last_seen_ns >= best->last_seen_ns) {
				best = f;
				best_map = m;
				best_ext = e->addr[i];
			}
			continue;
		}
		if (drop_collision && from == f->external) {
			bpf_map_delete_elem(m, key);
			stat_inc(PTRIG_STAT_FLOW_COLLISION);
		}
	}
	key->external = best_ext;
	*map = best_map;
	return best;
}

#include "ptrig_icmp.h"
#include "ptrig_frag.h"

/* ---------------------------------------------------------------- XDP -- */

/* Rewrite the destination address (or with src, the source); addresses sit
 * at fixed offsets, the L4 checksum offset depends on IHL, so bounds are
 * re-checked right here. On L3 devices generic XDP still compares the first
 * 14 bytes before and after the program as if they were an Ethernet header
 * (and re-parses the packet as Ethernet if they changed): the rewrite
 * touches only the IP checksum and an address (bytes 10-11 and 12-19),
 * never those. */
static __always_inline int xdp_set_addr(struct xdp_md *ctx, struct pkt *p,
					bool src, __be32 to)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = p->ip;
	__be32 from = src ? p->saddr : p->daddr;

	if (from == to)
		return 0;
	if ((void *)(ip + 1) > data_end)
		return -1;
	if (src)
		ip->saddr = to;
	else
		ip->daddr = to;
	csum_replace4(&ip->check, from, to);
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = p->l4h;

		if ((void *)(tcp + 1) > data_end)
			return -1;
		csum_replace4(&tcp->check, from, to);
	} else {
		struct udphdr *udp = p->l4h;

		if ((void *)(udp + 1) > data_end)
			return -1;
		csum_replace4_udp(&udp->check, from, to);
	}
	return 0;
}

/* Leave a marker for ptrig_tc_ingress, which sets the firewall mark. */
static __always_inline void xdp_mark(struct xdp_md *ctx)
{
	void *data, *meta;

	if (test_no_xdp_meta || bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u32))) {
		/* Counted, and TC ingress takes over (it runs after XDP for
		 * this very packet, so it sees the flag). */
		xdp_meta_unsupported = 1;
		stat_inc(PTRIG_STAT_XDP_META_UNSUPPORTED);
		return;
	}
	data = (void *)(long)ctx->data;
	meta = (void *)(long)ctx->data_meta;
	if (meta + sizeof(__u32) > data)
		return;
	*(__u32 *)meta = PTRIG_META_MAGIC;
}

/* The conntrack entry of the packet's source and ports towards daddr (the
 * packet's own destination, or the owner after ptrig's DNAT), or NULL;
 * release it with bpf_ct_release(). */
static __always_inline struct nf_conn *
xdp_ct_get(struct xdp_md *ctx, const struct pkt *p, __be32 daddr)
{
	struct bpf_sock_tuple tuple = {};
	struct bpf_ct_opts opts = {};

	tuple.ipv4.saddr = p->saddr;
	tuple.ipv4.daddr = daddr;
	tuple.ipv4.sport = p->sport;
	tuple.ipv4.dport = p->dport;
	opts.netns_id = BPF_F_CURRENT_NETNS;
	opts.l4proto = p->proto;
	return bpf_xdp_ct_lookup(ctx, &tuple, sizeof(tuple.ipv4), &opts,
				 CT_OPTS_SZ);
}

/* Does conntrack already track this packet's connection (e.g. a masqueraded
 * outbound connection that happens to use an open port)? */
static __always_inline bool xdp_ct_tracked(struct xdp_md *ctx,
					   const struct pkt *p)
{
	struct nf_conn *ct;

	if (!ct_kfuncs_present())
		return false;
	ct = xdp_ct_get(ctx, p, p->daddr);
	if (!ct)
		return false;
	bpf_ct_release(ct);
	return true;
}

static __always_inline int xdp_refuse(struct ptrig_rule_counters *cnt,
				      bool wrong_peer, __u32 rule_id,
				      const struct pkt *p, __u64 now)
{
	if (cnt) {
		if (wrong_peer)
			cnt->refused_peer++;
		else
			cnt->refused_closed++;
	}
	if (noisy_event_due(NOISY_REFUSED, now))
		emit_event(PTRIG_EV_FLOW_REFUSED, rule_id, 0, p->daddr, p, true,
			   PTRIG_STAT_PASS_REFUSED, now);
	stat_inc(PTRIG_STAT_PASS_REFUSED);
	return XDP_PASS;
}

/* A TCP SYN without ACK: a connection opening. */
static __always_inline bool tcp_opening(const struct pkt *p)
{
	return p->proto == IPPROTO_TCP &&
	       (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

/* A SYN for a live established flow: does conntrack consider that flow's
 * connection over (gone, TIME_WAIT or CLOSE), so that the SYN opens a new
 * one? Asking conntrack, which checked every segment's checksum and window,
 * means a blind RST or FIN cannot end a flow. Conntrack saw the connection
 * after ptrig's DNAT: remote -> owner. */
static __always_inline bool xdp_ct_conn_over(struct xdp_md *ctx,
					     const struct pkt *p, __be32 owner)
{
	struct nf_conn *ct;
	__u8 state;

	if (!ct_kfuncs_present())
		return false;
	ct = xdp_ct_get(ctx, p, owner);
	if (!ct)
		return true;
	state = ct->proto.tcp.state;
	bpf_ct_release(ct);
	return state == TCP_CONNTRACK_TIME_WAIT || state == TCP_CONNTRACK_CLOSE;
}

/* Does this remote packet complete an embryonic flow? TCP: the ACK of
 * exactly the owner's SYN-ACK (a blind spoofer never saw its sequence
 * number). UDP: a datagram after the owner answered. */
static __always_inline bool xdp_completes(struct xdp_md *ctx,
					  const struct pkt *p,
					  const struct ptrig_flow *f)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *tcp = p->l4h;

	if (!(f->flags & PTRIG_FLOW_SEEN_REPLY))
		return false;
	if (p->proto != IPPROTO_TCP)
		return true;
	if ((p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_RST)) !=
	    TCP_FLAG_ACK)
		return false;
	if ((void *)(tcp + 1) > data_end)
		return false;
	return bpf_ntohl(tcp->ack_seq) == f->synack_next;
}

/* Move a completed flow from the embryonic to the established table. On a
 * race with another CPU, the entry that got there first serves. */
static __always_inline struct ptrig_flow *
flow_promote(const struct ptrig_flow_key *key, const struct ptrig_flow *f,
	     __u64 now)
{
	struct ptrig_rule_counters *cnt;
	struct ptrig_flow nf = *f;

	nf.flags &= ~PTRIG_FLOW_EMBRYONIC;
	nf.last_seen_ns = now;
	if (bpf_map_update_elem(&PTRIG_MAP(flows), key, &nf, BPF_NOEXIST) ==
	    0) {
		stat_inc(PTRIG_STAT_FLOW_PROMOTED);
		cnt = rule_counters(nf.rule_id);
		if (cnt)
			cnt->flows_established++;
	}
	bpf_map_delete_elem(&PTRIG_MAP(embryo), key);
	return bpf_map_lookup_elem(&PTRIG_MAP(flows), key);
}

/* ----------------------------------------------------------- fast path -- */

#define AF_INET 2
#define IP_CT_TCP_FLAG_BE_LIBERAL 0x08 /* ip_ct_tcp_state.flags */

/*
 * A RST that closes a bypassed TCP connection. Conntrack closes a connection
 * on a RST only when its sequence number is exactly the peer's latest
 * acknowledgement as conntrack saw it; otherwise it keeps the connection
 * established (for the challenge ACK of RFC 5961). Bypassed segments never
 * updated that, so conntrack would keep the reset connection established
 * for days. Instead its entry is set to expire as a closed connection's does
 * (10 s), and the timeout is fixed, so that conntrack's own handling of the
 * RST does not extend it. This cannot be undone, so it is done only for a
 * RST the endpoint accepts: the owner's own, or the remote's carrying
 * exactly the owner's latest acknowledgement (which a blind spoofer cannot
 * guess; to any other the owner sends a challenge ACK, and the remote's
 * answer to that carries it).
 */
#define PTRIG_CT_RST_TIMEOUT_MS 10000

static __always_inline void ct_rst_expiry(struct nf_conn *ct)
{
	bpf_ct_change_timeout(ct, PTRIG_CT_RST_TIMEOUT_MS);
	bpf_ct_change_status(ct, ct->status | IPS_FIXED_TIMEOUT);
	stat_inc(PTRIG_STAT_FAST_CT_RST_EXPIRY);
}

/* Does conntrack accept TCP segments of this connection that it never saw?
 * It tracks each direction's sequence window from the segments it sees; a
 * bypassed segment moves the window on without it, so the close (FIN, RST)
 * that later takes the stack would be judged out of window and ignored, and
 * the owner's ACKs marked invalid. Conntrack skips that check when the
 * connection is liberal (both directions flagged, as the kernel's flowtable
 * does for the connections it offloads, or conntrack tools set), or when
 * the whole network namespace is (net.netfilter.nf_conntrack_tcp_be_liberal,
 * read live here, so a change takes effect at the next recheck). */
static __always_inline bool ct_tcp_liberal(struct nf_conn *ct)
{
	struct net *net;

	if ((ct->proto.tcp.seen[0].flags & IP_CT_TCP_FLAG_BE_LIBERAL) &&
	    (ct->proto.tcp.seen[1].flags & IP_CT_TCP_FLAG_BE_LIBERAL))
		return true;
	net = ct->ct_net.net;
	return net && BPF_CORE_READ(net, ct.nf_ct_proto.tcp.tcp_be_liberal);
}

/* Conntrack's verdict on a fast-path flow's entry (released here; NULL:
 * none): it may bypass the stack if it is assured (the firewall accepted
 * both directions) and, for TCP, established and liberal. */
static __always_inline bool fast_ct_judge(struct nf_conn *ct, __u8 proto)
{
	bool ok = false, strict = false;

	if (ct) {
		ok = (ct->status & IPS_ASSURED) &&
		     (proto != IPPROTO_TCP ||
		      ct->proto.tcp.state == TCP_CONNTRACK_ESTABLISHED);
		if (ok && proto == IPPROTO_TCP && !ct_tcp_liberal(ct)) {
			ok = false;
			strict = true;
		}
		bpf_ct_release(ct);
	}
	stat_inc(PTRIG_STAT_FAST_CT_CHECK);
	if (strict)
		stat_inc(PTRIG_STAT_FAST_TCP_STRICT);
	else if (!ok)
		stat_inc(PTRIG_STAT_FAST_NOT_ASSURED);
	return ok;
}

/* Is it time for this CPU to send one of the flow's packets through the
 * stack and ask conntrack again (ff: the flow's entry in the direction's
 * per-CPU map, NULL if none yet)? */
static __always_inline bool fast_check_due(const struct ptrig_fast_flow *ff,
					   __u64 now)
{
	return !ff || now - ff->checked_ns >= PTRIG_FAST_RECHECK_NS;
}

/* Remember conntrack's verdict on this CPU; a new entry counts the packet
 * that asked as slow. */
static __always_inline void fast_checked(void *map,
					 const struct ptrig_flow_key *fkey,
					 struct ptrig_fast_flow *ff, bool ok,
					 __u64 now)
{
	struct ptrig_fast_flow nff = {};

	if (ff) {
		ff->checked_ns = now;
		ff->ct_ok = ok;
		return;
	}
	nff.checked_ns = now;
	nff.ct_ok = ok;
	nff.slow_pkts = 1;
	bpf_map_update_elem(map, fkey, &nff, BPF_ANY);
}

/* May a packet of this flow bypass the stack, as far as conntrack knows?
 * Once per PTRIG_FAST_RECHECK_NS per CPU one packet takes the stack instead:
 * conntrack refreshes its entry from it (bypassed packets never reach
 * conntrack, so without it a busy flow's entry would time out), and the
 * entry is checked again (fast_ct_judge()). */
static __always_inline bool fast_ct_ok(struct xdp_md *ctx, const struct pkt *p,
				       const struct ptrig_flow_key *fkey,
				       struct ptrig_fast_flow *ff, __be32 owner,
				       __u64 now)
{
	bool ok;

	if (!fast_check_due(ff, now))
		return ff->ct_ok;
	/* Conntrack saw the connection after the DNAT: remote -> owner. */
	ok = fast_ct_judge(xdp_ct_get(ctx, p, owner), p->proto);
	fast_checked(&PTRIG_MAP(fast), fkey, ff, ok, now);
	return false;
}

/* The remote's RST on a bypassed TCP flow: at exactly the owner's latest
 * acknowledgement it closes the connection (ct_rst_expiry()). */
static __always_inline void xdp_remote_rst(struct xdp_md *ctx,
					   const struct pkt *p,
					   const struct ptrig_flow *flow)
{
	void *data_end = (void *)(long)ctx->data_end;
	__be32 *seq = (void *)(long)ctx->data + p->l4_off + 4;
	struct nf_conn *ct;

	if (!(flow->flags & PTRIG_FLOW_BYPASSED) || !flow->owner_ack)
		return;
	if ((void *)(seq + 1) > data_end || bpf_ntohl(*seq) != flow->owner_ack)
		return;
	ct = xdp_ct_get(ctx, p, flow->owner);
	if (!ct)
		return;
	ct_rst_expiry(ct);
	bpf_ct_release(ct);
}

/* Did bpf_fib_lookup() find a route and a resolved neighbour? If not, the
 * packet takes the stack, counted by why. */
static __always_inline bool fast_fib_found(int rc)
{
	if (rc == BPF_FIB_LKUP_RET_SUCCESS)
		return true;
	stat_inc(rc == BPF_FIB_LKUP_RET_NO_NEIGH ? PTRIG_STAT_FAST_NO_NEIGH
						 : PTRIG_STAT_FAST_FIB_OTHER);
	return false;
}

/* The route and neighbour for a packet XDP forwards as src -> dst, which
 * must leave through ifindex via (else counted, and false). fib gets the
 * MACs. The lookup also checks the outgoing link's MTU (tot_len given).
 * Packet pointers are invalid afterwards. */
static __always_inline bool
xdp_fib_via(struct xdp_md *ctx, struct bpf_fib_lookup *fib, const struct pkt *p,
	    const struct iphdr *ip, __be32 src, __be32 dst, __u32 via)
{
	fib->family = AF_INET;
	fib->tos = ip->tos;
	fib->l4_protocol = p->proto;
	fib->sport = p->sport;
	fib->dport = p->dport;
	fib->tot_len = bpf_ntohs(ip->tot_len);
	fib->ipv4_src = src;
	fib->ipv4_dst = dst;
	fib->ifindex = ctx->ingress_ifindex;
	if (!fast_fib_found(bpf_fib_lookup(ctx, fib, sizeof(*fib), 0)))
		return false;
	if (fib->ifindex != via) {
		stat_inc(PTRIG_STAT_FAST_FIB_OTHER);
		return false;
	}
	return true;
}

/* TTL - 1 with the header checksum adjusted incrementally (RFC 1624): the
 * TTL is the high byte of its 16-bit word. */
static __always_inline void ip_decrease_ttl(struct iphdr *ip)
{
	__u32 check = (__u32)ip->check;

	check += (__u32)bpf_htons(0x0100);
	ip->check = (__sum16)(check + (check >= 0xFFFF));
	ip->ttl--;
}

/*
 * After the DNAT: forward a packet of an established flow to the owner
 * ourselves, past conntrack, the firewall and the routing code, as the
 * kernel's flowtable fast path does for connections the firewall accepted.
 * Anything unusual takes the stack (returns -1, the packet already DNATed,
 * exactly as without the fast path): connection-state changes (SYN, FIN,
 * RST), so conntrack and the firewall see them; IP options and fragments;
 * TTL <= 1 (the stack sends the ICMP error); no route, no resolved
 * neighbour (the stack resolves it), a packet too big for the LAN link
 * (the stack sends the ICMP error), or a route not via the LAN interface.
 * Otherwise returns XDP_REDIRECT.
 */
static __always_inline int xdp_fast(struct xdp_md *ctx, struct pkt *p,
				    const struct ptrig_flow_key *fkey,
				    struct ptrig_flow *flow, __u64 now)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup fib = {};
	struct ptrig_fast_counters *fc;
	struct ptrig_fast_flow *ff;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	__u32 rule_id = flow->rule_id;
	__be32 owner = flow->owner;

	if (!fast_lan_ifindex || link_l2 != PTRIG_L2_ETHER ||
	    !ct_kfuncs_present())
		return -1;
	if ((flow->flags & (PTRIG_FLOW_EMBRYONIC | PTRIG_FLOW_CLOSING |
			    PTRIG_FLOW_SEEN_REPLY)) != PTRIG_FLOW_SEEN_REPLY)
		return -1;
	ff = bpf_map_lookup_elem(&PTRIG_MAP(fast), fkey);
	if ((void *)(ip + 1) > data_end)
		goto slow;
	if ((p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST)) ||
	    p->first_frag || ip->ihl != 5 || ip->ttl <= 1) {
		stat_inc(PTRIG_STAT_FAST_UNUSUAL);
		if (p->tcp_flags & TCP_FLAG_RST)
			xdp_remote_rst(ctx, p, flow);
		goto slow;
	}
	if (!fast_ct_ok(ctx, p, fkey, ff, owner, now))
		goto slow;
	if (!ff)
		return -1;

	if (!xdp_fib_via(ctx, &fib, p, ip, p->saddr, owner, fast_lan_ifindex))
		goto slow;

	/* The helper call invalidated packet pointers: check again. */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	ip = data + sizeof(*eth);
	if ((void *)(ip + 1) > data_end)
		goto slow;
	ip_decrease_ttl(ip);
	__builtin_memcpy(eth->h_dest, fib.dmac, 6);
	__builtin_memcpy(eth->h_source, fib.smac, 6);

	if (p->proto == IPPROTO_TCP && !(flow->flags & PTRIG_FLOW_BYPASSED))
		__sync_fetch_and_or(&flow->flags, PTRIG_FLOW_BYPASSED);
	ff->pkts++;
	ff->bytes += data_end - data;
	fc = bpf_map_lookup_elem(&PTRIG_MAP(fcnt), &rule_id);
	if (fc) {
		fc->pkts++;
		fc->bytes += data_end - data;
	}
	stat_inc(PTRIG_STAT_FAST_FORWARDED);
	return bpf_redirect(fib.ifindex, 0);
slow:
	if (ff)
		ff->slow_pkts++;
	return -1;
}

/*
 * The coarse clock (bpf_ktime_get_coarse_ns()) for XDP, read once per tick
 * and CPU: the clock only moves on the tick, and the helper call costs a
 * few ns per packet while jiffies and the CPU id are read inline. The tick's
 * reading is kept only once it differs from the last one: the clock moves
 * just after jiffies does, and a reading taken in between would otherwise
 * serve the whole tick. A value is never ahead of the clock; in the rare
 * race it lags it by at most a tick, which the stamps already allow for
 * (see idle_past()).
 */
#define CLOCK_CPUS 512
struct clock_cache {
	__u64 jiffies;
	__u64 ns;
};
static struct clock_cache xdp_clock[CLOCK_CPUS];

static __always_inline __u64 xdp_coarse_ns(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 j = bpf_jiffies64(), now;
	struct clock_cache *c;

	if (cpu >= CLOCK_CPUS)
		return bpf_ktime_get_coarse_ns();
	c = &xdp_clock[cpu];
	if (c->jiffies == j)
		return c->ns;
	now = bpf_ktime_get_coarse_ns();
	if (now != c->ns) {
		c->ns = now;
		c->jiffies = j;
	}
	return now;
}

SEC("xdp")
int ptrig_xdp_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const struct ptrig_config *cfg;
	struct ptrig_port_rules *ports;
	struct ptrig_rule_counters *cnt;
	struct ptrig_flow_key fkey = {};
	struct ptrig_trigger_key tkey;
	struct ptrig_trigger *trig;
	struct ptrig_flow *flow;
	struct ptrig_flow nf;
	struct ptrig_rule *rule;
	bool stale_established = false, stale_embryo = false;
	struct pkt p = {};
	__u32 rule_id, idle_s;
	__u64 now;
	int reason;

	reason = parse_ipv4_l4(data, data_end, &p);
	if (reason == PTRIG_STAT_PASS_FRAGMENT) {
		if (xdp_frag(data_end, &p)) {
			stat_inc(PTRIG_STAT_FRAG_IN_TRANSLATED);
			return XDP_PASS;
		}
	} else if (reason == PTRIG_STAT_PASS_OTHER_PROTO) {
		reason = xdp_icmp(data_end, &p);
		if (reason < 0) {
			/* Conntrack finds the owner's connection in the
			 * translated quote: the error is RELATED, which a
			 * stateful firewall accepts; no mark. */
			stat_inc(PTRIG_STAT_ICMP_IN_TRANSLATED);
			return XDP_PASS;
		}
	}
	if (reason >= 0)
		goto pass;
	cfg = ptrig_config_get();
	if (!cfg)
		return XDP_PASS;
	ports = port_rules(cfg, p.dport);
	if (!ports)
		return XDP_PASS;
	rule_id = ports->open_rule[p.l4 & 1];
	if (!rule_id) {
		reason = PTRIG_STAT_PASS_NO_RULE;
		goto pass;
	}

	fkey.remote = p.saddr;
	fkey.external = p.daddr;
	fkey.remote_port = p.sport;
	fkey.local_port = p.dport;
	fkey.proto = p.proto;
	now = xdp_coarse_ns();
	flow = bpf_map_lookup_elem(&PTRIG_MAP(flows), &fkey);
	if (flow) {
		/* The flow's timeout, worked out once for the expiry check
		 * and the refresh at forward. */
		idle_s = ptrig_flow_idle_timeout(flow);
		if (!idle_past(now, flow->last_seen_ns, idle_s)) {
			if (!tcp_opening(&p))
				goto forward;
			/* A SYN reusing the ports opens a new connection
			 * (trigger checks, a new mark) only once the old
			 * one is over. For a bypassed connection conntrack
			 * is liberal, so a blind FIN moves its state on:
			 * only the owner's close counts there. */
			if (!(flow->flags & PTRIG_FLOW_CLOSING) &&
			    ((flow->flags & PTRIG_FLOW_BYPASSED) ||
			     !xdp_ct_conn_over(ctx, &p, flow->owner))) {
				stat_inc(PTRIG_STAT_SYN_ON_LIVE_FLOW);
				goto forward;
			}
		} else {
			stat_inc(PTRIG_STAT_FLOW_EXPIRED);
		}
		stale_established = true;
	} else {
		flow = bpf_map_lookup_elem(&PTRIG_MAP(embryo), &fkey);
		if (flow) {
			if (!idle_past(now, flow->last_seen_ns,
				       ptrig_flow_idle_timeout(flow))) {
				if (xdp_completes(ctx, &p, flow)) {
					flow = flow_promote(&fkey, flow, now);
					if (!flow) {
						stat_inc(PTRIG_STAT_ERROR);
						return XDP_PASS;
					}
				}
				idle_s = ptrig_flow_idle_timeout(flow);
				goto forward;
			}
			stat_inc(PTRIG_STAT_FLOW_EXPIRED);
			stale_embryo = true;
		}
	}

	/* No live flow: only a connection opening may create one, and only
	 * on a port a current rule opens. */
	if (rule_id & PTRIG_OPEN_FLOWS_ONLY) {
		reason = PTRIG_STAT_PASS_NO_RULE;
		goto pass;
	}
	if (p.proto == IPPROTO_TCP && !tcp_opening(&p)) {
		reason = PTRIG_STAT_PASS_TCP_NO_FLOW;
		goto pass;
	}
	rule = rule_get(cfg, rule_id);
	if (!rule)
		return XDP_PASS;
	cnt = rule_counters(rule_id);
	/* Zeroed here, not at their declaration: the compiler would clear
	 * them on entry, for every packet of every flow. */
	__builtin_memset(&tkey, 0, sizeof(tkey));
	tkey.rule_id = rule_id;
	tkey.peer = rule->peer_mode == PTRIG_PEER_TRIGGER ? p.saddr : 0;
	tkey.external = p.daddr;
	trig = bpf_map_lookup_elem(&PTRIG_MAP(trig), &tkey);
	if (!trig) {
		/* A trigger that was not NATed: its owner's own address. */
		tkey.external = 0;
		trig = bpf_map_lookup_elem(&PTRIG_MAP(trig), &tkey);
	}
	if (!trig || trig->generation != rule->generation ||
	    idle_past(now, trig->last_seen_ns, rule->trigger_timeout_s))
		return xdp_refuse(
			cnt, rule->peer_mode == PTRIG_PEER_TRIGGER && !trig,
			rule_id, &p, now);
	if (trig->external != p.daddr) {
		reason = PTRIG_STAT_PASS_NOT_EXTERNAL;
		goto pass;
	}
	if (xdp_ct_tracked(ctx, &p)) {
		reason = PTRIG_STAT_PASS_CT_TRACKED;
		goto pass;
	}

	/* The old connection on these ports is over: its flow goes. */
	if (stale_established) {
		bpf_map_delete_elem(&PTRIG_MAP(flows), &fkey);
		if (fast_lan_ifindex)
			bpf_map_delete_elem(&PTRIG_MAP(fast), &fkey);
	}
	__builtin_memset(&nf, 0, sizeof(nf));
	nf.owner = trig->owner;
	nf.external = p.daddr;
	nf.rule_id = rule_id;
	nf.flags = PTRIG_FLOW_EMBRYONIC;
	if (p.proto == IPPROTO_TCP) {
		nf.timeout_s = rule->tcp_flow_timeout_s;
		nf.closing_timeout_s = rule->tcp_closing_timeout_s;
	} else {
		nf.timeout_s = rule->udp_flow_timeout_s;
		nf.closing_timeout_s = rule->udp_flow_timeout_s;
	}
	nf.last_seen_ns = now;
	nf.opened_ns = now;
	externals_learn(p.daddr);
	if (bpf_map_update_elem(&PTRIG_MAP(embryo), &fkey, &nf,
				stale_embryo ? BPF_ANY : BPF_NOEXIST) == 0) {
		if (cnt)
			cnt->flows_opened++;
		if (noisy_event_due(NOISY_FLOW_OPENED, now))
			emit_event(PTRIG_EV_FLOW_OPENED, rule_id, nf.owner,
				   p.daddr, &p, true, 0, now);
	}
	/* On a lost creation race another CPU's entry serves this packet. */
	flow = bpf_map_lookup_elem(&PTRIG_MAP(embryo), &fkey);
	if (!flow) {
		stat_inc(PTRIG_STAT_ERROR);
		return XDP_PASS;
	}
	idle_s = ptrig_flow_idle_timeout(flow);

forward:
	touch(&flow->last_seen_ns, now, idle_s);
	cnt = rule_counters(flow->rule_id);
	if (cnt) {
		cnt->pkts_in++;
		cnt->bytes_in += data_end - data;
	}
	if (xdp_set_addr(ctx, &p, false, flow->owner) < 0) {
		stat_inc(PTRIG_STAT_ERROR);
		return XDP_PASS;
	}
	if (p.first_frag)
		frag_remember(&p, PTRIG_FRAG_IN, flow->owner, now);
	/* Until the owner answers, conntrack sees a new connection (also for
	 * a retransmitted SYN), which the firewall accepts by the mark. */
	if (!(flow->flags & PTRIG_FLOW_SEEN_REPLY))
		xdp_mark(ctx);
	stat_inc(PTRIG_STAT_XDP_TRANSLATED);
	if (fast_lan_ifindex) {
		reason = xdp_fast(ctx, &p, &fkey, flow, now);
		if (reason >= 0)
			return reason;
	}
	return XDP_PASS;

pass:
	stat_inc(reason);
	return XDP_PASS;
}

/* ----------------------------------------------------------- TC egress -- */

/* Conntrack's entry for an skb's addresses and ports (either direction of
 * its connection), or with reverse for the packet's inverse; NULL if none.
 * Release it with bpf_ct_release(). */
static __always_inline struct nf_conn *
tc_ct_get(struct __sk_buff *skb, const struct pkt *p, bool reverse)
{
	struct bpf_sock_tuple tuple = {};
	struct bpf_ct_opts opts = {};

	tuple.ipv4.saddr = reverse ? p->daddr : p->saddr;
	tuple.ipv4.daddr = reverse ? p->saddr : p->daddr;
	tuple.ipv4.sport = reverse ? p->dport : p->sport;
	tuple.ipv4.dport = reverse ? p->sport : p->dport;
	opts.netns_id = BPF_F_CURRENT_NETNS;
	opts.l4proto = p->proto;
	return bpf_skb_ct_lookup(skb, &tuple, sizeof(tuple.ipv4), &opts,
				 CT_OPTS_SZ);
}

/*
 * Is this packet trigger traffic, and which LAN host sent it? Trigger
 * traffic is the original direction of a connection that a LAN host started
 * and the box forwarded, NATed or not: never a reply (the box's own
 * services' SYN-ACKs and RSTs, replies of port forwards) and never a packet
 * the box itself sends, whatever its ports. Returns -1 with *owner set to
 * the pre-NAT source, or the enum ptrig_stat reason to ignore the packet.
 */
static __always_inline int trigger_owner(struct __sk_buff *skb,
					 const struct pkt *p, __be32 *owner)
{
	struct nf_conntrack_tuple *rt;
	struct nf_conn *ct;
	bool original;

	if (!skb->ingress_ifindex)
		return PTRIG_STAT_PASS_TRIG_LOCAL;
	if (skb->ingress_ifindex == skb->ifindex)
		return PTRIG_STAT_PASS_TRIG_FROM_WAN;
	*owner = p->saddr;
	if (!ct_kfuncs_present())
		return -1; /* no conntrack, so no NAT: the source is the host */
	/* The packet already carries the NATed source, so look up its
	 * inverse: in the original direction that is the connection's reply
	 * tuple, which conntrack hashes too. */
	ct = tc_ct_get(skb, p, true);
	if (!ct) {
		/* Untracked (a notrack rule): only a connection opening
		 * counts; anything else may answer a stranger. */
		if (p->proto == IPPROTO_TCP &&
		    (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK |
				     TCP_FLAG_RST | TCP_FLAG_FIN)) !=
			    TCP_FLAG_SYN)
			return PTRIG_STAT_PASS_TRIG_UNTRACKED;
		stat_inc(PTRIG_STAT_TRIGGER_NO_NAT);
		return -1;
	}
	/* Which direction matched: the inverse equals the reply tuple only
	 * when the packet goes the connection's original way. */
	rt = &ct->tuplehash[IP_CT_DIR_REPLY].tuple;
	original = rt->src.u3.ip == p->daddr && rt->dst.u3.ip == p->saddr &&
		   rt->src.u.all == p->dport && rt->dst.u.all == p->sport;
	if (original) {
		*owner = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u3.ip;
		if (!(ct->status & IPS_SRC_NAT))
			stat_inc(PTRIG_STAT_TRIGGER_NO_NAT);
	}
	bpf_ct_release(ct);
	return original ? -1 : PTRIG_STAT_PASS_TRIG_REPLY;
}

/* Another LAN host's trigger traffic for a rule someone owns. */
static __always_inline void trigger_conflict(struct ptrig_rule_counters *cnt,
					     __u32 rule_id, __be32 owner,
					     const struct pkt *p, __u64 now)
{
	/* First device wins until it has been idle. */
	if (cnt)
		cnt->conflicts++;
	if (noisy_event_due(NOISY_CONFLICT, now))
		emit_event(PTRIG_EV_CONFLICT, rule_id, owner, p->saddr, p,
			   false, 0, now);
}

/* Trigger traffic on a live trigger: the owner's refreshes it, another
 * host's is a conflict. */
static __always_inline void trigger_seen(struct ptrig_trigger *t,
					 const struct ptrig_rule *rule,
					 struct ptrig_rule_counters *cnt,
					 __u32 rule_id, __be32 owner,
					 const struct pkt *p, __u64 now)
{
	if (t->owner != owner) {
		trigger_conflict(cnt, rule_id, owner, p, now);
		return;
	}
	touch(&t->last_seen_ns, now, rule->trigger_timeout_s);
	if (t->external != p->saddr)
		t->external = p->saddr;
	if (t->peer != p->daddr)
		t->peer = p->daddr;
	if (cnt)
		cnt->refreshes++;
}

/* last_seen_ns of a stale trigger while one CPU rewrites it: readers see
 * it as expired, other writers as taken. */
#define TRIGGER_CLAIMING 1ull

static __always_inline void tc_trigger(struct __sk_buff *skb,
				       const struct ptrig_config *cfg,
				       const struct pkt *p, __u32 rule_id,
				       __u64 now)
{
	struct ptrig_trigger_key key = {};
	struct ptrig_rule_counters *cnt;
	struct ptrig_trigger *t;
	struct ptrig_trigger nt = {};
	struct ptrig_rule *rule;
	__be32 owner;
	__u64 old;
	int reason;

	rule = rule_get(cfg, rule_id);
	if (!rule)
		return;
	reason = trigger_owner(skb, p, &owner);
	if (reason >= 0) {
		stat_inc(reason);
		return;
	}
	stat_inc(PTRIG_STAT_TC_EGRESS_TRIGGER);
	cnt = rule_counters(rule_id);
	key.rule_id = rule_id;
	key.peer = rule->peer_mode == PTRIG_PEER_TRIGGER ? p->daddr : 0;
	key.external = owner != p->saddr ? p->saddr : 0;

	t = bpf_map_lookup_elem(&PTRIG_MAP(trig), &key);
	if (t) {
		old = t->last_seen_ns;
		if (t->generation == rule->generation &&
		    !idle_past(now, old, rule->trigger_timeout_s)) {
			trigger_seen(t, rule, cnt, rule_id, owner, p, now);
			return;
		}
		/* Expired or left by an older rule: whoever swaps the stamp
		 * first takes the rule over; a host racing it on another
		 * CPU has lost, as if it had come a moment later. */
		if (old == TRIGGER_CLAIMING ||
		    __sync_val_compare_and_swap(&t->last_seen_ns, old,
						TRIGGER_CLAIMING) != old) {
			trigger_conflict(cnt, rule_id, owner, p, now);
			return;
		}
		t->owner = owner;
		t->external = p->saddr;
		t->peer = p->daddr;
		t->generation = rule->generation;
		t->opened_ns = now;
		t->last_seen_ns = now;
	} else {
		nt.owner = owner;
		nt.external = p->saddr;
		nt.peer = p->daddr;
		nt.generation = rule->generation;
		nt.last_seen_ns = now;
		nt.opened_ns = now;
		/* Two hosts creating the trigger at once: the first insert
		 * wins, the other one finds it. */
		if (bpf_map_update_elem(&PTRIG_MAP(trig), &key, &nt,
					BPF_NOEXIST)) {
			t = bpf_map_lookup_elem(&PTRIG_MAP(trig), &key);
			if (t)
				trigger_seen(t, rule, cnt, rule_id, owner, p,
					     now);
			else
				stat_inc(PTRIG_STAT_ERROR);
			return;
		}
	}
	if (cnt)
		cnt->triggers_opened++;
	emit_event(PTRIG_EV_TRIGGER_OPENED, rule_id, owner, p->saddr, p, false,
		   0, now);
}

/* Remember the owner's latest TCP acknowledgement (host order): the only
 * sequence number a RST from the remote may carry to close a bypassed
 * connection. Written only when it changed, so a shared flow entry is not
 * dirtied per packet. */
static __always_inline void flow_set_owner_ack(struct ptrig_flow *flow,
					       __be32 ack)
{
	if (flow->owner_ack != bpf_ntohl(ack))
		flow->owner_ack = bpf_ntohl(ack);
}

static __always_inline void flow_note_owner_ack(struct __sk_buff *skb,
						const struct pkt *p,
						struct ptrig_flow *flow)
{
	__be32 ack;

	if ((p->tcp_flags & TCP_FLAG_ACK) &&
	    !bpf_skb_load_bytes(skb, p->l4_off + 8, &ack, sizeof(ack)))
		flow_set_owner_ack(flow, ack);
}

/* The owner's packet on a bypassed TCP connection: its acknowledgement is
 * remembered (the remote's RST must carry it to close the connection), and
 * its own RST closes conntrack's entry (ct_rst_expiry()). Conntrack has
 * handled the packet already, so it does not extend the timeout again. */
static __always_inline void tc_bypassed_tcp(struct __sk_buff *skb,
					    const struct pkt *p,
					    struct ptrig_flow *flow)
{
	struct nf_conn *ct;

	flow_note_owner_ack(skb, p, flow);
	if (!(p->tcp_flags & TCP_FLAG_RST) || !ct_kfuncs_present())
		return;
	ct = tc_ct_get(skb, p, false);
	if (!ct)
		return;
	ct_rst_expiry(ct);
	bpf_ct_release(ct);
}

/* Give a TCP or UDP packet the source address `to`. The address is in the
 * L4 pseudo-header, so L4 gets BPF_F_PSEUDO_HDR (right for CHECKSUM_PARTIAL
 * packets too). */
static __always_inline int tc_set_saddr(struct __sk_buff *skb,
					const struct pkt *p, __be32 to)
{
	__be32 from = p->saddr;
	__u32 csum_off, l4_flags;

	if (p->proto == IPPROTO_TCP) {
		csum_off = p->l4_off + offsetof(struct tcphdr, check);
		l4_flags = BPF_F_PSEUDO_HDR | sizeof(to);
	} else {
		csum_off = p->l4_off + offsetof(struct udphdr, check);
		l4_flags = BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(to);
	}
	if (bpf_l4_csum_replace(skb, csum_off, from, to, l4_flags) ||
	    bpf_l3_csum_replace(skb, l2_len() + offsetof(struct iphdr, check),
				from, to, sizeof(to)) ||
	    bpf_skb_store_bytes(skb, l2_len() + offsetof(struct iphdr, saddr),
				&to, sizeof(to), 0))
		return -1;
	return 0;
}

/* The owner's reply on a triggered flow: give it the external source. */
static __always_inline bool tc_reply(struct __sk_buff *skb, const struct pkt *p,
				     __u64 now)
{
	struct ptrig_flow_key fkey = {};
	struct ptrig_rule_counters *cnt;
	struct ptrig_flow *flow;
	__be32 from = p->saddr, to;
	void *map;

	fkey.remote = p->daddr;
	fkey.remote_port = p->dport;
	fkey.local_port = p->sport;
	fkey.proto = p->proto;
	flow = flow_out(&fkey, from, &map, true);
	if (!flow)
		return false;
	if (idle_past(now, flow->last_seen_ns, ptrig_flow_idle_timeout(flow)))
		return false;

	touch(&flow->last_seen_ns, now, ptrig_flow_idle_timeout(flow));
	if (p->proto == IPPROTO_TCP && (flow->flags & PTRIG_FLOW_EMBRYONIC) &&
	    (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) ==
		    (TCP_FLAG_SYN | TCP_FLAG_ACK)) {
		__be32 seq;

		/* The handshake ACK must acknowledge exactly this. */
		if (bpf_skb_load_bytes(skb, p->l4_off + 4, &seq, sizeof(seq)))
			return false;
		flow->synack_next = bpf_ntohl(seq) + 1;
	}
	if (!(flow->flags & PTRIG_FLOW_SEEN_REPLY))
		__sync_fetch_and_or(&flow->flags, PTRIG_FLOW_SEEN_REPLY);
	if (p->proto == IPPROTO_TCP) {
		flow_note_tcp_close(flow, p);
		if (fast_lan_ifindex && (flow->flags & PTRIG_FLOW_BYPASSED))
			tc_bypassed_tcp(skb, p, flow);
	}
	cnt = rule_counters(flow->rule_id);
	if (cnt) {
		cnt->pkts_out++;
		cnt->bytes_out += skb->len;
	}
	to = flow->external;
	if (from == to)
		return true;
	if (tc_set_saddr(skb, p, to)) {
		stat_inc(PTRIG_STAT_ERROR);
		return false;
	}
	if (p->first_frag)
		frag_remember(p, PTRIG_FRAG_OUT, to, now);
	stat_inc(PTRIG_STAT_TC_EGRESS_TRANSLATED);
	return true;
}

/* The source address of an outbound IPv4 packet: both fields it touches
 * (the address and the header checksum) sit at fixed offsets. */
static __always_inline int tc_snat_l3(struct __sk_buff *skb, __be32 from,
				      __be32 to)
{
	if (bpf_l3_csum_replace(
		    skb, sizeof(struct ethhdr) + offsetof(struct iphdr, check),
		    from, to, sizeof(to)) ||
	    bpf_skb_store_bytes(
		    skb, sizeof(struct ethhdr) + offsetof(struct iphdr, saddr),
		    &to, sizeof(to), 0))
		return -1;
	return 0;
}

/* A later fragment of a datagram whose first fragment tc_reply() gave the
 * external source. */
static __always_inline void tc_frag(struct __sk_buff *skb, const struct pkt *p)
{
	__be32 to = frag_lookup(p, PTRIG_FRAG_OUT);

	if (!to)
		return;
	if (tc_snat_l3(skb, p->saddr, to)) {
		stat_inc(PTRIG_STAT_ERROR);
		return;
	}
	stat_inc(PTRIG_STAT_FRAG_OUT_TRANSLATED);
}

#define TC_PULL_LEN (sizeof(struct ethhdr) + 60 + sizeof(struct tcphdr))

/* parse_ipv4_l4() for an skb, whose headers may not all be in the linear
 * part (rare): then they are pulled in and parsed again. Packet pointers
 * are valid only through p afterwards. */
static __always_inline int tc_parse(struct __sk_buff *skb, struct pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	int reason;

	reason = parse_ipv4_l4(data, data_end, p);
	if (reason != PTRIG_STAT_PASS_MALFORMED || skb->len <= data_end - data)
		return reason;
	if (bpf_skb_pull_data(skb,
			      skb->len < TC_PULL_LEN ? skb->len : TC_PULL_LEN))
		return reason;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	return parse_ipv4_l4(data, data_end, p);
}

/* Enough for an ICMP error quoting a datagram's headers, options and all. */
#define TC_ICMP_PULL_LEN                                                       \
	(sizeof(struct ethhdr) + 60 + sizeof(struct icmphdr) + 60 +            \
	 sizeof(struct tcphdr))

/* An ICMP error leaving: translate it if it is about a triggered flow. */
static __noinline void tc_icmp_egress(struct __sk_buff *skb)
{
	void *data, *data_end;
	struct pkt p = {};
	__u32 want;

	want = skb->len < TC_ICMP_PULL_LEN ? skb->len : TC_ICMP_PULL_LEN;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + want > data_end) {
		if (bpf_skb_pull_data(skb, want))
			return;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	if (parse_ipv4_l4(data, data_end, &p) != PTRIG_STAT_PASS_OTHER_PROTO)
		return;
	/* Like other packets it leaves alone, an error that is not about
	 * a flow counts nothing here: the box sends plenty of its own. */
	if (tc_icmp(data_end, &p) < 0)
		stat_inc(PTRIG_STAT_ICMP_OUT_TRANSLATED);
}

SEC("tc")
int ptrig_tc_egress(struct __sk_buff *skb)
{
	const struct ptrig_config *cfg;
	struct ptrig_port_rules *ports;
	struct pkt p = {};
	__u32 trig_id;
	int reason;
	__u64 now;

	if (fast_lan_ifindex && skb->cb[0] == PTRIG_CB_FAST_OUT) {
		/* Translated and sent here by the LAN program (its source
		 * is the flow's external address: left alone, it would look
		 * like the box's own NAT taking the flow's ports over). */
		skb->cb[0] = 0;
		return TC_ACT_OK;
	}
	reason = tc_parse(skb, &p);
	if (reason == PTRIG_STAT_PASS_FRAGMENT) {
		tc_frag(skb, &p);
		return TC_ACT_OK;
	}
	if (reason == PTRIG_STAT_PASS_OTHER_PROTO && p.proto == IPPROTO_ICMP) {
		tc_icmp_egress(skb);
		return TC_ACT_OK;
	}
	if (reason >= 0)
		return TC_ACT_OK;
	cfg = ptrig_config_get();
	if (!cfg)
		return TC_ACT_OK;

	now = 0;
	/* The owner's reply on a triggered flow is never trigger traffic,
	 * even towards a remote whose source port is a trigger port. */
	ports = port_rules(cfg, p.sport);
	if (ports && ports->open_rule[p.l4 & 1]) {
		now = bpf_ktime_get_coarse_ns();
		if (tc_reply(skb, &p, now)) {
			ports = port_rules(cfg, p.dport);
			if (ports && ports->trigger_rule[p.l4 & 1])
				stat_inc(PTRIG_STAT_PASS_TRIG_FLOW_REPLY);
			return TC_ACT_OK;
		}
	}

	ports = port_rules(cfg, p.dport);
	if (!ports)
		return TC_ACT_OK;
	trig_id = ports->trigger_rule[p.l4 & 1];
	if (trig_id) {
		if (!now)
			now = bpf_ktime_get_coarse_ns();
		tc_trigger(skb, cfg, &p, trig_id, now);
	}
	return TC_ACT_OK;
}

/* The live flow an skb belongs to, between a flow's owner and its remote
 * end: the owner's own packet (owner_sends), or one XDP translated towards
 * the owner. Found on any of the WAN's addresses (fkey filled, external
 * too); NULL if none, or if the port is no rule's open port (where most
 * packets stop: an array lookup). */
static __always_inline struct ptrig_flow *
owner_flow(const struct pkt *p, bool owner_sends, struct ptrig_flow_key *fkey)
{
	const struct ptrig_config *cfg;
	struct ptrig_port_rules *ports;
	__be16 lport = owner_sends ? p->sport : p->dport;
	void *map;

	cfg = ptrig_config_get();
	if (!cfg)
		return NULL;
	ports = port_rules(cfg, lport);
	if (!ports || !ports->open_rule[p->l4 & 1])
		return NULL;
	fkey->remote = owner_sends ? p->daddr : p->saddr;
	fkey->remote_port = owner_sends ? p->dport : p->sport;
	fkey->local_port = lport;
	fkey->proto = p->proto;
	return flow_out(fkey, owner_sends ? p->saddr : p->daddr, &map, false);
}

/* ---------------------------------------------------------- TC ingress -- */

/* Without XDP metadata: would XDP have marked this packet? Only a packet
 * it translated is addressed to a flow's owner from that flow's remote end
 * and ports, and XDP marks those until the owner answers. A packet sent
 * from the WAN straight to a LAN address with the same addresses and ports
 * is marked too; conntrack then sees exactly what the translated packet
 * would have given it, nothing more: any other LAN host, port or remote, a
 * flow past its timeout or one the owner answered gets no mark. */
static __always_inline bool tc_flow_wants_mark(struct __sk_buff *skb)
{
	struct ptrig_flow_key fkey = {};
	struct ptrig_flow *flow;
	struct pkt p = {};
	int reason;

	reason = tc_parse(skb, &p);
	if (reason >= 0)
		return false;
	/* XDP already put the owner where the external address was. */
	flow = owner_flow(&p, false, &fkey);
	if (!flow || (flow->flags & PTRIG_FLOW_SEEN_REPLY))
		return false;
	return !idle_past(bpf_ktime_get_coarse_ns(), flow->last_seen_ns,
			  ptrig_flow_idle_timeout(flow));
}

SEC("tc")
int ptrig_tc_ingress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *meta = (void *)(long)skb->data_meta;

	if (meta + sizeof(__u32) <= data &&
	    *(__u32 *)meta == PTRIG_META_MAGIC) {
		skb->mark |= fw_mark;
		stat_inc(PTRIG_STAT_MARKED);
		return TC_ACT_OK;
	}
	if (xdp_meta_unsupported && tc_flow_wants_mark(skb)) {
		skb->mark |= fw_mark;
		stat_inc(PTRIG_STAT_MARKED_FLOW_TABLE);
	}
	return TC_ACT_OK;
}

/* ------------------------------------------ LAN TC ingress (fast path) -- */

#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2
#define PACKET_HOST 0 /* skb->pkt_type of a frame addressed to the box */

/* Would the packet, after the rewrite, fit the WAN link's MTU? A GSO packet
 * is checked by the segments the WAN will send. */
static __always_inline bool tc_fits_mtu(struct __sk_buff *skb,
					const struct pkt *p, __u32 mtu,
					__u32 gso_size, __u32 len)
{
	__u32 hdrs = p->l4_off - sizeof(struct ethhdr);
	struct tcphdr tcp;

	if (!gso_size)
		return len - sizeof(struct ethhdr) <= mtu;
	if (p->proto == IPPROTO_TCP) {
		if (bpf_skb_load_bytes(skb, p->l4_off, &tcp, sizeof(tcp)))
			return false;
		hdrs += tcp.doff * 4;
	} else {
		hdrs += sizeof(struct udphdr);
	}
	return gso_size + hdrs <= mtu;
}

/* TTL - 1 with the header checksum adjusted (the TTL is the high byte of
 * its 16-bit word). */
static __always_inline int tc_decrease_ttl(struct __sk_buff *skb)
{
	__u32 off = sizeof(struct ethhdr) + offsetof(struct iphdr, ttl);
	__be16 old, new;
	__u8 ttl;

	if (bpf_skb_load_bytes(skb, off, &old, sizeof(old)))
		return -1;
	ttl = *(__u8 *)&old - 1;
	new = old;
	*(__u8 *)&new = ttl;
	if (bpf_l3_csum_replace(
		    skb, sizeof(struct ethhdr) + offsetof(struct iphdr, check),
		    old, new, sizeof(new)))
		return -1;
	return bpf_skb_store_bytes(skb, off, &ttl, sizeof(ttl), 0);
}

/* A packet of the owner's that a LAN program sent to the WAN itself: the
 * accounting TC egress does for the others, and the flow kept alive. */
static __always_inline void fast_out_sent(struct ptrig_flow *flow,
					  struct ptrig_fast_flow *ff,
					  const struct pkt *p, __u32 len,
					  __u64 now)
{
	struct ptrig_rule_counters *cnt;
	struct ptrig_fast_counters *fc;
	__u32 rule_id = flow->rule_id;

	if (p->proto == IPPROTO_TCP && !(flow->flags & PTRIG_FLOW_BYPASSED))
		__sync_fetch_and_or(&flow->flags, PTRIG_FLOW_BYPASSED);
	touch(&flow->last_seen_ns, now, ptrig_flow_idle_timeout(flow));
	cnt = rule_counters(rule_id);
	if (cnt) {
		cnt->pkts_out++;
		cnt->bytes_out += len;
	}
	ff->pkts++;
	ff->bytes += len;
	fc = bpf_map_lookup_elem(&PTRIG_MAP(fcout), &rule_id);
	if (fc) {
		fc->pkts++;
		fc->bytes += len;
	}
	stat_inc(PTRIG_STAT_FAST_OUT_FORWARDED);
}

/*
 * The owner's packets of established flows, as they arrive from the LAN:
 * translated (the external source, as TC egress would give it), and sent
 * to the WAN directly, past conntrack, the firewall and routing. The same
 * conditions as XDP's inbound fast path apply; anything else takes the
 * stack (TC_ACT_UNSPEC, so that any later filter still runs), where TC
 * egress translates it as without the fast path: SYN, FIN and RST (so
 * conntrack, the firewall and ptrig's flow see the close), IP options,
 * fragments, TTL <= 1, no route or neighbour, a packet too big for the WAN,
 * a route not via the WAN, and one packet per second per CPU for conntrack.
 * TC suits bridges (the usual LAN port) and any driver, and sees GRO's
 * large packets whole; ptrig_xdp_lan_ingress is the same for a LAN NIC
 * with native XDP.
 */
SEC("tc")
int ptrig_tc_lan_ingress(struct __sk_buff *skb)
{
	struct bpf_fib_lookup fib = {};
	struct ptrig_flow_key fkey = {};
	struct ptrig_fast_flow *ff;
	struct ptrig_flow *flow;
	struct iphdr iph;
	struct pkt p = {};
	__u32 gso_size, len;
	__u64 now;

	if (!fast_lan_ifindex || link_l2 != PTRIG_L2_ETHER ||
	    !ct_kfuncs_present())
		return TC_ACT_UNSPEC;
	/* Only frames addressed to the box, and untagged: TC ingress runs
	 * before VLAN devices take their frames (tag already stripped), and
	 * the stack would not forward another host's frame. */
	if (skb->pkt_type != PACKET_HOST || skb->vlan_present)
		return TC_ACT_UNSPEC;
	/* Read once, here: the verifier allows no offset on ctx pointers. */
	gso_size = skb->gso_size;
	len = skb->len;
	if (tc_parse(skb, &p) >= 0)
		return TC_ACT_UNSPEC;
	flow = owner_flow(&p, true, &fkey);
	if (!flow ||
	    (flow->flags & (PTRIG_FLOW_EMBRYONIC | PTRIG_FLOW_CLOSING |
			    PTRIG_FLOW_SEEN_REPLY)) != PTRIG_FLOW_SEEN_REPLY)
		return TC_ACT_UNSPEC;
	now = bpf_ktime_get_coarse_ns();
	if (idle_past(now, flow->last_seen_ns, ptrig_flow_idle_timeout(flow)))
		return TC_ACT_UNSPEC;

	ff = bpf_map_lookup_elem(&PTRIG_MAP(fout), &fkey);
	if (bpf_skb_load_bytes(skb, sizeof(struct ethhdr), &iph, sizeof(iph)) ||
	    (p.tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST)) ||
	    p.first_frag || iph.ihl != 5 || iph.ttl <= 1) {
		stat_inc(PTRIG_STAT_FAST_UNUSUAL);
		goto slow;
	}
	if (fast_check_due(ff, now)) {
		/* The owner's packet is the reply direction of the
		 * connection conntrack tracks. */
		fast_checked(&PTRIG_MAP(fout), &fkey, ff,
			     fast_ct_judge(tc_ct_get(skb, &p, false), p.proto),
			     now);
		goto slow;
	}
	if (!ff->ct_ok)
		goto slow;

	fib.family = AF_INET;
	fib.tos = iph.tos;
	fib.l4_protocol = p.proto;
	fib.sport = p.sport;
	fib.dport = p.dport;
	fib.ipv4_src = flow->external;
	fib.ipv4_dst = p.daddr;
	fib.ifindex = skb->ingress_ifindex;
	if (!fast_fib_found(bpf_fib_lookup(skb, &fib, sizeof(fib), 0)))
		goto slow;
	/* With tot_len 0 the lookup returns the WAN's MTU. */
	if (fib.ifindex != fast_wan_ifindex ||
	    !tc_fits_mtu(skb, &p, fib.mtu_result, gso_size, len)) {
		stat_inc(PTRIG_STAT_FAST_FIB_OTHER);
		goto slow;
	}

	if (tc_set_saddr(skb, &p, flow->external) || tc_decrease_ttl(skb) ||
	    bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_dest), fib.dmac,
				6, 0) ||
	    bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_source),
				fib.smac, 6, 0)) {
		/* Half rewritten: dropped rather than sent on wrong. */
		stat_inc(PTRIG_STAT_ERROR);
		return TC_ACT_SHOT;
	}
	/* The remote's RST must carry the owner's latest ACK
	 * (xdp_remote_rst()), which TC egress no longer sees. */
	if (p.proto == IPPROTO_TCP)
		flow_note_owner_ack(skb, &p, flow);
	fast_out_sent(flow, ff, &p, len, now);
	skb->cb[0] = PTRIG_CB_FAST_OUT;
	return bpf_redirect(fast_wan_ifindex, 0);
slow:
	if (ff)
		ff->slow_pkts++;
	return TC_ACT_UNSPEC;
}

/* ----------------------------------------- LAN XDP ingress (fast path) -- */

/* Is the frame addressed to the LAN interface (not broadcast, multicast or
 * another host's, which a promiscuous port also sees)? */
static __always_inline bool mac_is_lan(const __u8 *dst)
{
	return *(const __u32 *)dst == *(const volatile __u32 *)fast_lan_mac &&
	       *(const __u16 *)(dst + 4) ==
		       *(const volatile __u16 *)(fast_lan_mac + 4);
}

/*
 * ptrig_tc_lan_ingress for a LAN NIC with native XDP: the same conditions
 * and translation, before the kernel allocates an skb. Only for native mode
 * on a device that receives from a wire: the incremental checksum updates
 * need full checksums, and a packet a local sender left CHECKSUM_PARTIAL
 * (a veth or generic XDP) carries only the pseudo-header's sum, which XDP
 * cannot tell. The frame leaves through the WAN driver's XDP transmit
 * (ndo_xdp_xmit), past the WAN's TC egress. A packet not taken gets
 * XDP_PASS, untouched.
 */
SEC("xdp")
int ptrig_xdp_lan_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup fib = {};
	struct ptrig_flow_key fkey = {};
	struct ptrig_fast_flow *ff;
	struct ptrig_flow *flow;
	struct ethhdr *eth;
	struct iphdr *ip;
	struct pkt p = {};
	__u64 now;

	if (!fast_lan_ifindex || link_l2 != PTRIG_L2_ETHER ||
	    !ct_kfuncs_present())
		return XDP_PASS;
	eth = data;
	if ((void *)(eth + 1) > data_end || !mac_is_lan(eth->h_dest))
		return XDP_PASS;
	if (parse_ipv4_l4(data, data_end, &p) >= 0)
		return XDP_PASS;
	flow = owner_flow(&p, true, &fkey);
	if (!flow ||
	    (flow->flags & (PTRIG_FLOW_EMBRYONIC | PTRIG_FLOW_CLOSING |
			    PTRIG_FLOW_SEEN_REPLY)) != PTRIG_FLOW_SEEN_REPLY)
		return XDP_PASS;
	now = xdp_coarse_ns();
	if (idle_past(now, flow->last_seen_ns, ptrig_flow_idle_timeout(flow)))
		return XDP_PASS;

	ff = bpf_map_lookup_elem(&PTRIG_MAP(fout), &fkey);
	ip = p.ip;
	if ((void *)(ip + 1) > data_end)
		goto slow;
	if ((p.tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST)) ||
	    p.first_frag || ip->ihl != 5 || ip->ttl <= 1) {
		stat_inc(PTRIG_STAT_FAST_UNUSUAL);
		goto slow;
	}
	if (fast_check_due(ff, now)) {
		/* The owner's packet is the reply direction of the
		 * connection conntrack tracks. */
		fast_checked(
			&PTRIG_MAP(fout), &fkey, ff,
			fast_ct_judge(xdp_ct_get(ctx, &p, p.daddr), p.proto),
			now);
		goto slow;
	}
	if (!ff->ct_ok)
		goto slow;

	if (!xdp_fib_via(ctx, &fib, &p, ip, flow->external, p.daddr,
			 fast_wan_ifindex))
		goto slow;

	/* The helper call invalidated packet pointers: find them again (no
	 * IP options here). */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	ip = data + sizeof(*eth);
	p.ip = ip;
	p.l4h = ip + 1;
	if ((void *)(ip + 1) > data_end)
		goto slow;
	if (xdp_set_addr(ctx, &p, true, flow->external)) {
		/* Half rewritten: dropped rather than sent on wrong. */
		stat_inc(PTRIG_STAT_ERROR);
		return XDP_DROP;
	}
	ip_decrease_ttl(ip);
	__builtin_memcpy(eth->h_dest, fib.dmac, 6);
	__builtin_memcpy(eth->h_source, fib.smac, 6);
	if (p.proto == IPPROTO_TCP) {
		struct tcphdr *tcp = p.l4h;

		/* The remote's RST must carry the owner's latest ACK. */
		if ((void *)(tcp + 1) <= data_end &&
		    (p.tcp_flags & TCP_FLAG_ACK))
			flow_set_owner_ack(flow, tcp->ack_seq);
	}
	fast_out_sent(flow, ff, &p, data_end - data, now);
	return bpf_redirect(fast_wan_ifindex, 0);
slow:
	if (ff)
		ff->slow_pkts++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
