/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ptrig ABI shared by the BPF programs and userspace: map keys and values,
 * constants. Every struct here is a map key or value, so its layout is part
 * of the pinned-map contract; change PTRIG_LAYOUT_VERSION when it changes.
 *
 * All addresses and ports are stored in network byte order, as they appear in
 * the packet, so the datapath never converts them.
 */
#ifndef PTRIG_H
#define PTRIG_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Bumped on any change of a pinned map's key or value layout. It is part of
 * every map name, so an upgrade across layouts never reuses a stale map. */
#define PTRIG_LAYOUT_VERSION 3

#define PTRIG_PIN_ROOT "/sys/fs/bpf/ptrig"

/* Every pinned map, once: X(field) per map. The BPF definitions, the pin
 * names, struct ptrig_map_fds and the tests all follow this list. A map's
 * name is ptrig_FIELD_vLAYOUT (at most 15 characters, BPF_OBJ_NAME_LEN), so
 * an upgrade across layouts never reuses a stale map. */
#define PTRIG_MAPS(X)                                                          \
	X(cfg)                                                                 \
	X(ports)                                                               \
	X(rules)                                                               \
	X(trig)                                                                \
	X(flows)                                                               \
	X(embryo)                                                              \
	X(cnt)                                                                 \
	X(stats)                                                               \
	X(events)                                                              \
	X(frags)                                                               \
	X(exts)                                                                \
	X(fast)                                                                \
	X(fcnt)                                                                \
	X(fcfg)                                                                \
	X(fout)                                                                \
	X(fcout)

#define PTRIG_CAT_(a, b) a##b
#define PTRIG_CAT(a, b) PTRIG_CAT_(a, b)
#define PTRIG_STR_(a) #a
#define PTRIG_STR(a) PTRIG_STR_(a)
/* The C identifier (BPF map, skeleton member) and pin name of a map. */
#define PTRIG_MAP(field) PTRIG_CAT(ptrig_##field##_v, PTRIG_LAYOUT_VERSION)
#define PTRIG_MAP_NAME(field) PTRIG_STR(PTRIG_MAP(field))

#define PTRIG_NAME_LEN 32 /* rule names: 1..31 chars + NUL */

/* Rule ids are u16 in the port table; id 0 means "no rule". */
#define PTRIG_MAX_RULES 16384

/* The rule set is double-buffered: the loader writes the inactive set, then
 * flips ptrig_config.active_set, so a reload is atomic for the datapath. */
#define PTRIG_RULE_SETS 2
#define PTRIG_PORTS 65536

#define PTRIG_DEFAULT_TRIGGER_TIMEOUT_S 600
/* Linux's tcp_keepalive_time is 7200 s: an idle connection's first
 * keepalive arrives after exactly that. The flow must outlive it by more
 * than the refresh lag (touch(), up to 1 s) and a few lost probes (sent every
 * 75 s): 7200 + 240. */
#define PTRIG_DEFAULT_TCP_FLOW_TIMEOUT_S 7440
#define PTRIG_DEFAULT_UDP_FLOW_TIMEOUT_S 300
#define PTRIG_DEFAULT_TCP_CLOSING_TIMEOUT_S 10
#define PTRIG_MAX_TIMEOUT_S 86400

#define PTRIG_DEFAULT_MARK 0x00100000u
#define PTRIG_DEFAULT_MAX_FLOWS 262144
#define PTRIG_DEFAULT_MAX_TRIGGERS 65536
/* Table sizes accepted by --max-flows / --max-triggers. LRU hash maps are
 * preallocated: about PTRIG_FLOW_ENTRY_BYTES of kernel memory per flow
 * (the embryonic table adds a quarter) and PTRIG_TRIGGER_ENTRY_BYTES per
 * trigger, as the kernel accounts them (memlock) on 6.18. 4Mi flows take
 * about 640 MiB. */
#define PTRIG_MIN_TABLE 16
#define PTRIG_MAX_FLOWS_LIMIT (1u << 22)
#define PTRIG_MAX_TRIGGERS_LIMIT (1u << 20)
#define PTRIG_FLOW_ENTRY_BYTES 128
#define PTRIG_TRIGGER_ENTRY_BYTES 112

/* Timestamps are refreshed only when they moved by more than this, so a busy
 * flow does not dirty its cache line on every packet. */
#define PTRIG_TOUCH_NS 1000000000ull

/* XDP puts this in the packet metadata of a translated new connection; the
 * TC-ingress program turns it into the firewall mark. */
#define PTRIG_META_MAGIC 0x70747267u /* "ptrg" */

/* Link header in front of IPv4 on the WAN (the programs' link_l2 setting):
 * Ethernet (and VLAN devices), or none on L3 devices (PPP, tun, WireGuard). */
enum ptrig_link_l2 {
	PTRIG_L2_ETHER = 0,
	PTRIG_L2_NONE = 1,
};

/* Index into the per-protocol halves of the port table. */
enum ptrig_l4 {
	PTRIG_L4_TCP = 0,
	PTRIG_L4_UDP = 1,
	PTRIG_L4_MAX = 2,
};

/* Protocol masks as written in rules ("both" = tcp|udp). */
enum ptrig_proto_mask {
	PTRIG_PROTO_TCP = 1 << PTRIG_L4_TCP,
	PTRIG_PROTO_UDP = 1 << PTRIG_L4_UDP,
	PTRIG_PROTO_BOTH = PTRIG_PROTO_TCP | PTRIG_PROTO_UDP,
};

enum ptrig_peer_mode {
	PTRIG_PEER_ANY = 0,
	PTRIG_PEER_TRIGGER = 1,
};

/* ptrig_ports_v1[set * PTRIG_PORTS + port]: which rule a port belongs to.
 * Zero means none. One lookup answers both "is this a trigger port" and
 * "is this an open port", for either protocol: O(1) in the number of rules. */
struct ptrig_port_rules {
	__u16 trigger_rule[PTRIG_L4_MAX];
	__u16 open_rule[PTRIG_L4_MAX]; /* rule id, or PTRIG_OPEN_FLOWS_ONLY */
};

/* open_rule value of a port no rule opens any more, but where flows of a
 * removed rule still live: look them up, never create new ones. This keeps
 * a reload from cutting existing connections. */
#define PTRIG_OPEN_FLOWS_ONLY 0x8000

/* ptrig_rules_v1[set * PTRIG_MAX_RULES + rule_id] */
struct ptrig_rule {
	char name[PTRIG_NAME_LEN];
	/* Changes whenever the loader gives this id to a different rule, so
	 * a trigger left by an old rule never opens ports of a new one. */
	__u32 generation;
	__u32 trigger_timeout_s;
	__u32 tcp_flow_timeout_s;
	__u32 udp_flow_timeout_s;
	__u32 tcp_closing_timeout_s;
	__u8 trigger_proto; /* enum ptrig_proto_mask */
	__u8 open_proto;    /* enum ptrig_proto_mask */
	__u8 peer_mode;	    /* enum ptrig_peer_mode */
	__u8 pad;
};

/* ptrig_trig_v1 key. peer is 0 for peer=any rules. external is the
 * trigger traffic's NATed source, so each external address of the WAN
 * interface has its own triggers (one device per rule and address), or 0
 * when the traffic was not NATed (the owner's own address is external). */
struct ptrig_trigger_key {
	__u32 rule_id;
	__be32 peer;
	__be32 external;
};

struct ptrig_trigger {
	__be32 owner;	 /* pre-NAT LAN source of the trigger traffic */
	__be32 external; /* its source as it left the WAN interface */
	__be32 peer;	 /* the remote it last went to */
	__u32 generation;
	__u64 last_seen_ns; /* CLOCK_MONOTONIC (coarse) */
	__u64 opened_ns;
};

/* ptrig_flows_v1 key. Normalised on the remote end, so the inbound packet
 * (remote -> external) and the owner's reply (owner -> remote) find the same
 * entry: eviction can never split the two directions. The external address
 * is part of it, so several WAN addresses on one interface can each carry a
 * flow from the same remote endpoint to the same open port. */
struct ptrig_flow_key {
	__be32 remote;
	__be32 external; /* the address the remote reached */
	__be16 remote_port;
	__be16 local_port; /* the open port, same on external and owner */
	__u8 proto;	   /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 pad[3];
};

/* ptrig_exts_v1[0]: the external addresses flows were opened on, learned
 * by the datapath. The owner's reply does not say which external address
 * its flow has, so TC egress tries each of these (in order; the first zero
 * ends the list). One WAN address costs one array read. When every slot is
 * taken, a new address replaces one of them (counted as an error): flows
 * of the replaced address lose their replies' translation. */
#define PTRIG_MAX_EXTERNALS 4
struct ptrig_externals {
	__be32 addr[PTRIG_MAX_EXTERNALS];
};

enum ptrig_flow_flags {
	PTRIG_FLOW_SEEN_REPLY = 1 << 0, /* the owner answered */
	PTRIG_FLOW_CLOSING = 1 << 1,	/* the owner sent a TCP FIN or RST */
	PTRIG_FLOW_EMBRYONIC = 1 << 2,	/* in the embryonic table */
	PTRIG_FLOW_BYPASSED = 1 << 3,	/* TCP: the fast path forwarded some */
};

/*
 * A flow lives in one of two tables with the same key and value:
 *   - embryonic (ptrig_embryo): created by a remote's SYN or first datagram,
 *     which anyone can send with any source address;
 *   - established: TCP once the three-way handshake completed (the owner's
 *     SYN-ACK, then the remote's ACK of exactly that SYN-ACK, which a blind
 *     spoofer cannot produce), UDP once traffic went both ways (the owner
 *     answered, then the remote sent again).
 * Each table is an LRU of fixed size, so a flood of embryonic flows only
 * ever pushes out other embryonic flows, never an established one.
 */
struct ptrig_flow {
	__be32 owner;
	__be32 external;
	__u32 rule_id;
	/* Timeouts are copied in, so a flow outlives its rule and trigger. */
	__u32 timeout_s;
	__u32 closing_timeout_s;
	__u32 flags; /* enum ptrig_flow_flags */
	/* TCP, embryonic: the owner's SYN-ACK sequence number + 1 (host
	 * order), the acknowledgement the remote's handshake ACK must carry. */
	__u32 synack_next;
	/* TCP, bypassed: the owner's latest acknowledgement (host order),
	 * the only sequence number a RST from the remote may carry to close
	 * the connection. */
	__u32 owner_ack;
	__u64 last_seen_ns;
	__u64 opened_ns;
};

/* An embryonic flow lives at most this long without becoming established,
 * so spoofed SYNs and stray datagrams cycle through the embryonic table
 * quickly. */
#define PTRIG_EMBRYONIC_TIMEOUT_S 30

/* The idle timeout that applies to a flow now; the datapath and the loader
 * must agree on it. */
static inline __attribute__((always_inline)) __u32
ptrig_flow_idle_timeout(const struct ptrig_flow *f)
{
	__u32 t = (f->flags & PTRIG_FLOW_CLOSING) ? f->closing_timeout_s
						  : f->timeout_s;

	if ((f->flags & PTRIG_FLOW_EMBRYONIC) && t > PTRIG_EMBRYONIC_TIMEOUT_S)
		t = PTRIG_EMBRYONIC_TIMEOUT_S;
	return t;
}

/* The embryonic table's size for a flow table of max_flows entries: a
 * quarter, at least 64. Embryonic flows turn over within seconds. */
static inline __attribute__((always_inline)) __u32
ptrig_embryo_entries(__u32 max_flows)
{
	return max_flows / 4 < 64 ? 64 : max_flows / 4;
}

/* ptrig_frags: where the later fragments of a datagram whose first
 * fragment was translated go. Only the first fragment holds the ports, so
 * its translation is remembered for a few seconds under the fields every
 * fragment carries. Addresses as on the wire before translation. */
struct ptrig_frag_key {
	__be32 saddr;
	__be32 daddr;
	__be16 id;
	__u8 proto;
	__u8 dir; /* enum ptrig_frag_dir */
};

enum ptrig_frag_dir {
	PTRIG_FRAG_IN = 1,  /* remote -> external: daddr becomes `to` */
	PTRIG_FRAG_OUT = 2, /* owner -> remote: saddr becomes `to` */
};

struct ptrig_frag {
	__be32 to;
	__u32 pad;
	__u64 stamp_ns; /* when the first fragment passed */
};

/* Fragments of one datagram follow each other within milliseconds; an
 * entry older than this is stale (the IP id may have come round). */
#define PTRIG_FRAG_TIMEOUT_NS (5 * 1000000000ull)
#define PTRIG_FRAG_ENTRIES 4096

/* ptrig_cfg_v1[0]: one entry, written by the loader. */
struct ptrig_config {
	__u32 layout_version;
	__u32 active_set;
	__u32 mark;
	__u32 xdp_flags;      /* XDP_FLAGS_* the programs were attached with */
	__u32 created_clsact; /* ptrig created the clsact qdisc: detach removes
				 it */
	__u32 rule_count;
	__u32 next_generation;
	/* The device ptrig was attached to, so detach can tell a recreated
	 * interface (whose clsact qdisc ptrig did not make); 0: unknown. */
	__u32 ifindex;
};

/* ptrig_cnt_v1: per-CPU, per rule id. */
struct ptrig_rule_counters {
	__u64 triggers_opened;
	__u64 refreshes;
	__u64 conflicts;
	__u64 flows_opened;	 /* embryonic flows created */
	__u64 flows_established; /* ... that completed the handshake */
	__u64 pkts_in;
	__u64 bytes_in;
	__u64 pkts_out;
	__u64 bytes_out;
	__u64 refused_closed; /* new connection, trigger closed or expired */
	__u64 refused_peer;   /* new connection from a peer the trigger did not
				 contact */
};

/* ptrig_stats_v1: per-CPU global counters. The PASS_* ones say why XDP
 * ingress passed a packet untouched; every ingress packet counts once, either
 * as XDP_TRANSLATED or as one PASS_* reason. */
enum ptrig_stat {
	PTRIG_STAT_XDP_TRANSLATED,
	PTRIG_STAT_TC_EGRESS_TRANSLATED,
	PTRIG_STAT_TC_EGRESS_TRIGGER,
	PTRIG_STAT_PASS_NOT_IPV4,
	PTRIG_STAT_PASS_FRAGMENT,
	PTRIG_STAT_PASS_MALFORMED,
	PTRIG_STAT_PASS_OTHER_PROTO,
	PTRIG_STAT_PASS_NO_RULE,
	PTRIG_STAT_PASS_TCP_NO_FLOW,
	PTRIG_STAT_PASS_NOT_EXTERNAL,
	PTRIG_STAT_PASS_CT_TRACKED,
	PTRIG_STAT_PASS_REFUSED,
	PTRIG_STAT_FLOW_EXPIRED,   /* a flow found idle past its timeout */
	PTRIG_STAT_TRIGGER_NO_NAT, /* trigger not NATed: owner = its source */
	PTRIG_STAT_MARKED,	   /* TC ingress set the firewall mark */
	PTRIG_STAT_ERROR,	   /* map update or rewrite failed */
	PTRIG_STAT_FLOW_COLLISION, /* the box's NAT reused a flow's WAN ports */
	/* TC egress: a packet to a trigger port that is not trigger traffic
	 * (only the original direction of a connection a LAN host started
	 * and the box forwarded is); it changes nothing. */
	PTRIG_STAT_PASS_TRIG_LOCAL,	/* sent by the box itself */
	PTRIG_STAT_PASS_TRIG_FROM_WAN,	/* came in on the WAN interface */
	PTRIG_STAT_PASS_TRIG_REPLY,	/* reply direction of a connection */
	PTRIG_STAT_PASS_TRIG_UNTRACKED, /* no conntrack entry, not an opening */
	PTRIG_STAT_PASS_TRIG_FLOW_REPLY, /* the owner's reply on a flow */
	PTRIG_STAT_FLOW_PROMOTED,	 /* embryonic -> established */
	PTRIG_STAT_SYN_ON_LIVE_FLOW,	 /* a SYN conntrack keeps on its live
					    connection: forwarded, no new flow */
	/* The driver gave XDP no room for metadata (bpf_xdp_adjust_meta
	 * failed), so the mark of a translated packet cannot travel with it;
	 * TC ingress then marks it from the flow table. */
	PTRIG_STAT_XDP_META_UNSUPPORTED,
	PTRIG_STAT_MARKED_FLOW_TABLE, /* TC ingress set the mark that way */
	/* ICMP errors about a triggered flow, translated (XDP: counted
	 * instead of XDP_TRANSLATED), and ICMP errors passed untouched. */
	PTRIG_STAT_ICMP_IN_TRANSLATED,
	PTRIG_STAT_ICMP_OUT_TRANSLATED,
	PTRIG_STAT_PASS_ICMP_NO_FLOW,	/* quotes no live flow of ours */
	PTRIG_STAT_PASS_ICMP_MALFORMED, /* truncated or inconsistent quote */
	/* Later fragments of a translated datagram (the first one counts as
	 * any packet of its flow). */
	PTRIG_STAT_FRAG_IN_TRANSLATED,
	PTRIG_STAT_FRAG_OUT_TRANSLATED,
	/* Fast path (established flows forwarded by XDP itself). A packet
	 * it forwards counts as XDP_TRANSLATED and FAST_FORWARDED; the
	 * others say why a packet of a fast-path flow took the stack. */
	PTRIG_STAT_FAST_FORWARDED,
	PTRIG_STAT_FAST_CT_CHECK,      /* the periodic packet for conntrack */
	PTRIG_STAT_FAST_NOT_ASSURED,   /* conntrack: not assured/established */
	PTRIG_STAT_FAST_TCP_STRICT,    /* TCP, conntrack not liberal: slow */
	PTRIG_STAT_FAST_CT_RST_EXPIRY, /* RST closed a bypassed TCP flow */
	PTRIG_STAT_FAST_UNUSUAL,       /* SYN/FIN/RST, TTL <= 1, IP options */
	PTRIG_STAT_FAST_NO_NEIGH,      /* route, but no resolved neighbour */
	PTRIG_STAT_FAST_FIB_OTHER,     /* no route, MTU, not via the LAN */
	/* The owner's packets the LAN program translated and sent to the
	 * WAN itself (TC egress does not see them); the reasons above count
	 * for both directions. */
	PTRIG_STAT_FAST_OUT_FORWARDED,
	PTRIG_STAT_MAX,
};

/* ptrig_fast_v3 (remote -> owner, XDP) and ptrig_fout_v3 (owner -> remote,
 * the LAN program): per-CPU, per flow (struct ptrig_flow_key), what the fast
 * path did for it on this CPU. LRUs of their own, so adding them left every
 * older map as it was. */
struct ptrig_fast_flow {
	__u64 pkts; /* forwarded by XDP, past the stack */
	__u64 bytes;
	__u64 slow_pkts; /* established, but sent through the stack */
	/* When this CPU last let one of the flow's packets take the stack to
	 * ask conntrack (and let it refresh its entry), and the answer:
	 * assured (and for TCP established), so the flow may bypass. */
	__u64 checked_ns;
	__u32 ct_ok;
	__u32 pad;
};

/* ptrig_fcnt_v3 (inbound) and ptrig_fcout_v3 (outbound): per-CPU, per rule
 * id: packets the fast path forwarded. */
struct ptrig_fast_counters {
	__u64 pkts;
	__u64 bytes;
};

/* ptrig_fcfg_v3[0]: the fast-path setting the programs were loaded with,
 * for status and for an upgrade that does not repeat --lan. */
struct ptrig_fast_config {
	__u32 lan_ifindex; /* 0: fast path off */
	__u32 lan_flags;   /* enum ptrig_fast_lan_flags */
	char lan_name[16]; /* IF_NAMESIZE */
};

enum ptrig_fast_lan_flags {
	/* ptrig made the LAN interface's clsact qdisc (for its LAN program):
	 * removing the program removes it too, if nothing else uses it. */
	PTRIG_FAST_LAN_CREATED_CLSACT = 1 << 0,
	/* The LAN program runs in native XDP on the LAN interface (else at
	 * its TC ingress). */
	PTRIG_FAST_LAN_XDP = 1 << 1,
	/* --lan-mode as asked and kept across re-attaches: xdp or tc
	 * (neither: auto). */
	PTRIG_FAST_LAN_WANT_XDP = 1 << 2,
	PTRIG_FAST_LAN_WANT_TC = 1 << 3,
};

/* A fast-path flow lets one packet per this interval (per CPU) through the
 * stack: conntrack refreshes its entry with it, and the datapath checks the
 * entry is still assured. */
#define PTRIG_FAST_RECHECK_NS 1000000000ull

enum ptrig_event_type {
	PTRIG_EV_TRIGGER_OPENED = 1,
	PTRIG_EV_CONFLICT = 2,
	PTRIG_EV_FLOW_OPENED = 3,
	PTRIG_EV_FLOW_REFUSED = 4,
};

/* ptrig_events_v1 ring buffer records, read by `ptrig-load monitor`. */
struct ptrig_event {
	__u64 ts_ns;
	__u32 type; /* enum ptrig_event_type */
	__u32 rule_id;
	__be32 owner; /* owner (trigger, flow) or the refused/conflicting host
		       */
	__be32 external;
	__be32 remote;
	__be16 remote_port;
	__be16 local_port;
	__u8 proto;
	__u8 reason; /* for FLOW_REFUSED: enum ptrig_stat */
	__u8 pad[6];
};

#endif /* PTRIG_H */
