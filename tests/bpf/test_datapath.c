// SPDX-License-Identifier: GPL-2.0
/*
 * Table-driven tests of the ptrig BPF programs through BPF_PROG_TEST_RUN
 * (Katran / selftests style): packets in, verdict and exact bytes out, and
 * the map entries and counters the programs leave behind.
 *
 * Every scenario gets a freshly loaded skeleton, so fresh maps.
 *
 * Conntrack: test_run packets have no conntrack entry, so the TC-egress
 * owner lookup falls back to the packet source (owner = external = source),
 * which makes DNAT a no-op. Scenarios that test real rewrites first create
 * the trigger through tc_egress with the LAN address as source, then
 * overwrite its external address with the WAN address, as a masqueraded
 * trigger would have produced it (see masquerade()).
 *
 * The whole run happens in a private network namespace (unshare), so the
 * conntrack lookups never see the host's connections; that namespace's
 * loopback also carries the XDP-metadata -> TC-ingress -> skb->mark test.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testlib.h"

#define LAN1 IP4(198, 51, 100, 2)
#define LAN2 IP4(198, 51, 100, 3)
#define WAN IP4(203, 0, 113, 1)
#define REM1 IP4(203, 0, 113, 2)
#define REM2 IP4(203, 0, 113, 3)
#define OTHER_WAN IP4(203, 0, 113, 5) /* not the trigger's external */
#define STRANGER IP4(192, 0, 2, 9)

#define TCP_ IPPROTO_TCP
#define UDP_ IPPROTO_UDP

#define P_TCP PTRIG_PROTO_TCP
#define P_UDP PTRIG_PROTO_UDP
#define P_BOTH PTRIG_PROTO_BOTH

/* Packet specs for the tables; extra designated fields go in "...". */
#define TCP(s, sp, d, dp, fl, ...)                                             \
	{                                                                      \
		.proto = IPPROTO_TCP, .saddr = (s), .sport = (sp),             \
		.daddr = (d), .dport = (dp), .tcp_flags = (fl), __VA_ARGS__    \
	}
#define UDP(s, sp, d, dp, ...)                                                 \
	{                                                                      \
		.proto = IPPROTO_UDP, .saddr = (s), .sport = (sp),             \
		.daddr = (d), .dport = (dp), __VA_ARGS__                       \
	}

/* Was nf_conntrack there when the program loaded? Then the __weak ct
 * kfuncs resolved and the owner lookup counts TRIGGER_NO_NAT. */
static bool have_conntrack;

/* Is this process in its own network namespace (see main())? */
static bool private_netns;

/* ------------------------------------------------------------ helpers -- */

/* Datapath stamps come from the coarse clock, up to one tick (4 ms at
 * HZ=250) behind a CLOCK_MONOTONIC read: allow a generous margin below. */
#define ASSERT_STAMP(v, before, what)                                          \
	do {                                                                   \
		uint64_t _v = (v), _b = (before), _a = now_ns();               \
		if (_v + 50000000ull < _b || _v > _a) {                        \
			FAIL_MSG(__FILE__, __LINE__,                           \
				 "%s: stamp %llu not within [%llu, %llu]",     \
				 what, (unsigned long long)_v,                 \
				 (unsigned long long)_b,                       \
				 (unsigned long long)_a);                      \
			return -1;                                             \
		}                                                              \
	} while (0)

static uint32_t rule_id(const struct tctx *c, uint8_t proto, uint16_t port)
{
	return rule_of_port(c,
			    proto == IPPROTO_UDP ? PTRIG_L4_UDP : PTRIG_L4_TCP,
			    port, true);
}

/* Send one trigger packet out through tc_egress (must pass unchanged). */
static int send_trigger(struct tctx *c, uint8_t proto, uint32_t lan,
			uint16_t sport, uint32_t remote, uint16_t tport)
{
	struct step st = {
		.name = "trigger packet",
		.prog = PROG_TC_EGRESS,
		.verdict = TC_ACT_OK,
		.same = true,
	};

	st.in.proto = proto;
	st.in.saddr = lan;
	st.in.sport = sport;
	st.in.daddr = remote;
	st.in.dport = tport;
	st.in.tcp_flags = proto == IPPROTO_TCP ? TH_SYN : 0;
	st.in.tcp_mss = proto == IPPROTO_TCP;
	st.in.payload_len = proto == IPPROTO_UDP ? 24 : 0;
	RUN_STEP(c, &st);
	return 0;
}

/*
 * Make trigger (id, peer_key) look masqueraded, as conntrack would have
 * reported it: the owner stays the LAN host, the external address becomes
 * the WAN address. generation = the rule's, read from ptrig_rules_v1 at
 * active_set * PTRIG_MAX_RULES + id, and last_seen = CLOCK_MONOTONIC now,
 * which is up to a tick ahead of the datapath's coarse clock: a stamp
 * "in the future" must count as fresh (it once counted as expired).
 */
static int masquerade(struct tctx *c, uint32_t id, uint32_t peer_key)
{
	struct ptrig_trigger t;
	struct ptrig_rule r;

	ASSERT_OK(rule_get(c, id, &r));
	ASSERT_TRUE(trig_get(c, id, peer_key, &t) == 0,
		    "no trigger for rule %u peer %#x to masquerade", id,
		    peer_key);
	t.external = htonl(WAN);
	t.generation = r.generation;
	t.last_seen_ns = now_ns();
	ASSERT_OK(trig_put(c, id, peer_key, &t));
	return 0;
}

/* Trigger rule `id` from `lan` towards `remote` and masquerade it. */
static int open_trigger(struct tctx *c, uint32_t id, uint8_t proto,
			uint32_t lan, uint32_t remote, uint16_t tport,
			uint32_t peer_key)
{
	ASSERT_OK(send_trigger(c, proto, lan, 50000, remote, tport));
	ASSERT_OK(masquerade(c, id, peer_key));
	return 0;
}

static int set_trig_last_seen(struct tctx *c, uint32_t id, uint32_t peer_key,
			      uint64_t stamp)
{
	struct ptrig_trigger t;

	ASSERT_OK(trig_get(c, id, peer_key, &t));
	t.last_seen_ns = stamp;
	ASSERT_OK(trig_put(c, id, peer_key, &t));
	return 0;
}

static int set_flow_last_seen(struct tctx *c, uint32_t remote, uint16_t rport,
			      uint16_t lport, uint8_t proto, uint64_t stamp)
{
	struct ptrig_flow f;

	ASSERT_OK(flow_get(c, remote, rport, lport, proto, &f));
	f.last_seen_ns = stamp;
	ASSERT_OK(flow_put(c, remote, rport, lport, proto, &f));
	return 0;
}

/* ------------------------------------------- the harness checks itself -- */

/* The checksum code and the comparison must be able to fail, or every
 * "exact bytes" assertion below would be vacuous. */
static int test_harness_selfcheck(struct tctx *c)
{
	/* RFC 1071-style known answer: a real IPv4 header, checksum b861. */
	static const uint8_t hdr[20] = {
		0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	struct pkt_spec tcp =
		TCP(REM1, 40000, WAN, 113, TH_SYN, .tcp_mss = true);
	struct pkt_spec udp = UDP(REM1, 5004, WAN, 10000, .payload_len = 33);
	struct pkt_spec opt =
		TCP(REM1, 40000, WAN, 113, TH_SYN, .ip_opt_words = 2);
	struct pkt_spec icmp = {.proto = IPPROTO_ICMP,
				.saddr = REM1,
				.daddr = WAN,
				.payload_len = 8};
	struct pkt_spec s;
	uint8_t a[PKT_MAX], b[PKT_MAX];
	size_t la, lb;
	char why[160];
	struct step st;
	struct run_res r;
	int err;

	(void)c;
	ASSERT_EQ(csum_field(csum_add_bytes(0, hdr, sizeof(hdr))), 0xb861,
		  "known-answer IPv4 header checksum");

	/* Good packets verify. */
	la = pkt_build(&tcp, a);
	ASSERT_TRUE(pkt_verify_csums(a, la, why, sizeof(why)) == 0, "tcp: %s",
		    why);
	la = pkt_build(&udp, a);
	ASSERT_TRUE(pkt_verify_csums(a, la, why, sizeof(why)) == 0, "udp: %s",
		    why);
	la = pkt_build(&opt, a);
	ASSERT_EQ(a[ETH_HLEN] & 0xf, 7, "IHL with two option words");
	ASSERT_TRUE(pkt_verify_csums(a, la, why, sizeof(why)) == 0,
		    "ip options: %s", why);
	la = pkt_build(&icmp, a);
	ASSERT_TRUE(pkt_verify_csums(a, la, why, sizeof(why)) == 0, "icmp: %s",
		    why);

	/* Deliberately wrong checksums are caught, each by its own check. */
	s = tcp;
	s.bad_ip_csum = true;
	la = pkt_build(&s, a);
	ASSERT_TRUE(pkt_verify_csums(a, la, why, sizeof(why)) != 0 &&
			    strstr(why, "IPv4 header"),
		    "wrong IP checksum not detected");
	s = tcp;
	s.bad_l4_csum = true;
	la = pkt_build(&s, a);
	ASSERT_TRUE(pkt_verify_csums(a, la, why, sizeof(why)) != 0 &&
			    strstr(why, "L4"),
		    "wrong TCP checksum not detected");
	s = udp;
	s.bad_l4_csum = true;
	la = pkt_build(&s, a);
	ASSERT_TRUE(pkt_verify_csums(a, la, why, sizeof(why)) != 0,
		    "wrong UDP checksum not detected");
	/* A one-bit change of an address must break the L4 checksum too
	 * (the pseudo-header is covered). */
	la = pkt_build(&tcp, a);
	a[ETH_HLEN + 19] ^= 1;
	put16(a + ETH_HLEN + 10, 0);
	put16(a + ETH_HLEN + 10,
	      csum_field(csum_add_bytes(0, a + ETH_HLEN, 20)));
	ASSERT_TRUE(pkt_verify_csums(a, la, why, sizeof(why)) != 0,
		    "pseudo-header not covered by the TCP checksum");

	/* UDP "no checksum" is valid; the zero-sum corners come out as
	 * 0xffff (UDP) and 0x0000 (TCP) and still verify. */
	s = udp;
	s.udp_no_csum = true;
	la = pkt_build(&s, a);
	ASSERT_EQ(get16(a + ETH_HLEN + 20 + 6), 0, "udp_no_csum");
	ASSERT_TRUE(pkt_verify_csums(a, la, why, sizeof(why)) == 0, "%s", why);
	s = udp;
	s.payload_len = 32;
	s.has_tail = true;
	s.tail = pkt_tail_for_zero_csum(s);
	la = pkt_build(&s, a);
	ASSERT_EQ(get16(a + ETH_HLEN + 20 + 6), 0xffff, "udp computed zero");
	ASSERT_TRUE(pkt_verify_csums(a, la, why, sizeof(why)) == 0, "%s", why);
	s = tcp;
	s.payload_len = 32;
	s.has_tail = true;
	s.tail = pkt_tail_for_zero_csum(s);
	la = pkt_build(&s, a);
	ASSERT_EQ(get16(a + ETH_HLEN + 20 + 16), 0x0000, "tcp zero checksum");
	ASSERT_TRUE(pkt_verify_csums(a, la, why, sizeof(why)) == 0, "%s", why);

	/* An expected packet with a wrong checksum must not compare equal. */
	la = pkt_build(&tcp, a);
	s = tcp;
	s.bad_l4_csum = true;
	lb = pkt_build(&s, b);
	tl_quiet = true;
	err = pkt_compare(__FILE__, __LINE__, "negative", a, la, b, lb);
	tl_quiet = false;
	ASSERT_TRUE(err != 0, "wrong expected checksum compared equal");

	/* And through the whole step machinery, against a real program run:
	 * an unchanged-pass packet (no rules loaded) whose expectation has
	 * one wrong checksum byte must fail the step. */
	ASSERT_OK(tctx_setup(c, NULL, 0));
	memset(&st, 0, sizeof(st));
	st.name = "negative: wrong expected checksum";
	st.prog = PROG_XDP;
	st.in = tcp;
	st.verdict = XDP_PASS;
	st.exp = tcp;
	st.exp.bad_l4_csum = true;
	tl_quiet = true;
	err = run_step_at(c, &st, &r, __FILE__, __LINE__);
	tl_quiet = false;
	ASSERT_TRUE(err != 0, "step with a wrong expected checksum passed");
	st.exp.bad_l4_csum = false;
	ASSERT_OK(run_step_at(c, &st, &r, __FILE__, __LINE__));
	return 0;
}

/* ------------------------------------------------ trigger, flow, reply -- */

static int test_trigger_flow(struct tctx *c)
{
	const struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
	};
	static const struct step trigger[] = {
		{.name = "LAN1 SYN to remote:6667 (trigger)",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 50000, REM1, 6667, TH_SYN, .tcp_mss = true),
		 .verdict = TC_ACT_OK,
		 .same = true},
	};
	static const struct step flow[] = {
		{.name = "inbound SYN remote:40000 -> WAN:113 is DNATed",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_SYN, .tcp_mss = true),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_SYN, .tcp_mss = true),
		 .meta = true},
	};
	static const struct step reply[] = {
		{.name = "owner SYN-ACK LAN1:113 -> remote:40000 is SNATed",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40000, TH_SYN | TH_ACK,
			   .tcp_mss = true),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 113, REM1, 40000, TH_SYN | TH_ACK,
			    .tcp_mss = true)},
		{.name = "inbound ACK with data (flow hit) is DNATed, no "
			 "marker",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_ACK | TH_PSH,
			   .payload_len = 13),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_ACK | TH_PSH,
			    .payload_len = 13)},
		{.name = "owner data LAN1:113 -> remote:40000 is SNATed",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40000, TH_ACK | TH_PSH,
			   .payload_len = 27),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 113, REM1, 40000, TH_ACK | TH_PSH,
			    .payload_len = 27)},
	};
	struct ptrig_rule_counters k;
	struct ptrig_trigger t;
	struct ptrig_flow f;
	struct ptrig_rule r;
	uint64_t before;
	uint8_t syn[PKT_MAX];
	size_t syn_len;
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_TRUE(id != 0, "tcp:6667 maps to no rule");
	ASSERT_EQ(rule_of_port(c, PTRIG_L4_TCP, 113, false), id, "open 113");
	ASSERT_EQ(rule_of_port(c, PTRIG_L4_UDP, 113, false), 0, "udp 113");
	ASSERT_OK(rule_get(c, id, &r));
	ASSERT_TRUE(strcmp(r.name, "irc") == 0, "rule name '%s'", r.name);
	ASSERT_EQ(r.trigger_timeout_s, 600, "trigger timeout");
	ASSERT_TRUE(r.generation != 0, "generation 0");

	before = now_ns();
	RUN_STEPS(c, trigger);
	ASSERT_TRUE(trig_get(c, id, 0, &t) == 0, "no trigger entry (rule %u)",
		    id);
	ASSERT_IP(t.owner, LAN1, "trigger owner (non-NAT fallback)");
	ASSERT_IP(t.external, LAN1, "trigger external (= packet source)");
	ASSERT_IP(t.peer, REM1, "trigger peer");
	ASSERT_EQ(t.generation, r.generation, "trigger generation");
	ASSERT_STAMP(t.last_seen_ns, before, "trigger last_seen");
	ASSERT_EQ(t.opened_ns, t.last_seen_ns, "opened == last_seen");
	ASSERT_EQ(trig_count(c), 1, "trigger entries");
	k = cnt_get(c, id);
	ASSERT_EQ(k.triggers_opened, 1, "triggers_opened");
	ASSERT_EQ(k.refreshes + k.conflicts, 0, "refreshes + conflicts");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_TC_EGRESS_TRIGGER), 1,
		  "TC_EGRESS_TRIGGER");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_TRIGGER_NO_NAT), have_conntrack,
		  "TRIGGER_NO_NAT");

	ASSERT_OK(masquerade(c, id, 0));
	before = now_ns();
	RUN_STEPS(c, flow);
	ASSERT_TRUE(flow_get(c, REM1, 40000, 113, TCP_, &f) == 0,
		    "no flow entry for remote:40000/113/tcp");
	ASSERT_IP(f.owner, LAN1, "flow owner");
	ASSERT_IP(f.external, WAN, "flow external");
	ASSERT_EQ(f.rule_id, id, "flow rule_id");
	ASSERT_EQ(f.timeout_s, PTRIG_DEFAULT_TCP_FLOW_TIMEOUT_S, "timeout_s");
	ASSERT_EQ(f.closing_timeout_s, PTRIG_DEFAULT_TCP_CLOSING_TIMEOUT_S,
		  "closing_timeout_s");
	ASSERT_EQ(f.flags, 0, "flow flags");
	ASSERT_STAMP(f.last_seen_ns, before, "flow last_seen");
	ASSERT_EQ(f.opened_ns, f.last_seen_ns, "flow opened == last_seen");
	syn_len = pkt_build(&flow[0].in, syn);
	k = cnt_get(c, id);
	ASSERT_EQ(k.flows_opened, 1, "flows_opened");
	ASSERT_EQ(k.pkts_in, 1, "pkts_in");
	ASSERT_EQ(k.bytes_in, syn_len, "bytes_in");
	ASSERT_EQ(k.refused_closed + k.refused_peer, 0, "refused");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_XDP_TRANSLATED), 1, "XDP_TRANSLATED");

	RUN_STEPS(c, reply);
	ASSERT_OK(flow_get(c, REM1, 40000, 113, TCP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_SEEN_REPLY, "flags after the reply");
	k = cnt_get(c, id);
	ASSERT_EQ(k.flows_opened, 1, "flows_opened after the flow hit");
	ASSERT_EQ(k.pkts_in, 2, "pkts_in");
	ASSERT_EQ(k.pkts_out, 2, "pkts_out");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_XDP_TRANSLATED), 2, "XDP_TRANSLATED");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_TC_EGRESS_TRANSLATED), 2,
		  "TC_EGRESS_TRANSLATED");
	/* Inbound traffic never refreshes or re-owns the trigger. */
	ASSERT_EQ(cnt_get(c, id).triggers_opened, 1, "triggers_opened");
	return 0;
}

/* ------------------------------------------------------------ conflict -- */

static int test_conflict(struct tctx *c)
{
	const struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
	};
	struct ptrig_rule_counters k;
	struct ptrig_trigger t;
	uint64_t before;
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(send_trigger(c, TCP_, LAN1, 50000, REM1, 6667));
	ASSERT_OK(send_trigger(c, TCP_, LAN2, 50001, REM1, 6668));
	k = cnt_get(c, id);
	ASSERT_EQ(k.conflicts, 1, "conflicts after LAN2's trigger");
	ASSERT_EQ(k.triggers_opened, 1, "triggers_opened");
	ASSERT_OK(trig_get(c, id, 0, &t));
	ASSERT_IP(t.owner, LAN1, "owner while active");
	ASSERT_EQ(trig_count(c), 1, "trigger entries");

	/* Owner idle past the 600 s timeout: LAN2 takes over. */
	ASSERT_OK(set_trig_last_seen(
		c, id, 0,
		now_ns() - (PTRIG_DEFAULT_TRIGGER_TIMEOUT_S + 1) * SEC_NS));
	before = now_ns();
	ASSERT_OK(send_trigger(c, TCP_, LAN2, 50002, REM2, 6669));
	ASSERT_OK(trig_get(c, id, 0, &t));
	ASSERT_IP(t.owner, LAN2, "owner after the old owner idled out");
	ASSERT_IP(t.peer, REM2, "peer");
	ASSERT_STAMP(t.last_seen_ns, before, "last_seen");
	ASSERT_STAMP(t.opened_ns, before, "opened_ns (a new trigger)");
	k = cnt_get(c, id);
	ASSERT_EQ(k.triggers_opened, 2, "triggers_opened");
	ASSERT_EQ(k.conflicts, 1, "conflicts");

	/* And now the old owner is the one in conflict. */
	ASSERT_OK(send_trigger(c, TCP_, LAN1, 50003, REM1, 6667));
	ASSERT_EQ(cnt_get(c, id).conflicts, 2, "conflicts (old owner)");
	ASSERT_OK(trig_get(c, id, 0, &t));
	ASSERT_IP(t.owner, LAN2, "owner");
	return 0;
}

/* ------------------------------------------------------------- refresh -- */

static int test_refresh(struct tctx *c)
{
	const struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
	};
	static const struct step inbound[] = {
		{.name = "inbound SYN (must not refresh the trigger)",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_SYN),
		 .meta = true},
		{.name = "owner's reply (not trigger traffic: no refresh)",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40000, TH_SYN | TH_ACK),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 113, REM1, 40000, TH_SYN | TH_ACK)},
	};
	struct ptrig_rule_counters k;
	struct ptrig_trigger t;
	uint64_t old, stamp;
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(send_trigger(c, TCP_, LAN1, 50000, REM1, 6667));

	/* Older but not expired: the owner's next trigger moves it. */
	old = now_ns() - 5 * SEC_NS;
	ASSERT_OK(set_trig_last_seen(c, id, 0, old));
	ASSERT_OK(send_trigger(c, TCP_, LAN1, 50001, REM1, 6666));
	ASSERT_OK(trig_get(c, id, 0, &t));
	ASSERT_TRUE(t.last_seen_ns > old + 4 * SEC_NS,
		    "owner's trigger did not refresh last_seen (%llu, old "
		    "%llu)",
		    (unsigned long long)t.last_seen_ns,
		    (unsigned long long)old);
	k = cnt_get(c, id);
	ASSERT_EQ(k.refreshes, 1, "refreshes");
	ASSERT_EQ(k.triggers_opened, 1, "triggers_opened");

	/* Moved by less than a second (but by many ticks): counted, yet the
	 * stamp is not rewritten, so the cache line stays clean. */
	stamp = now_ns() - SEC_NS / 2;
	ASSERT_OK(set_trig_last_seen(c, id, 0, stamp));
	ASSERT_OK(send_trigger(c, TCP_, LAN1, 50002, REM1, 6666));
	ASSERT_OK(trig_get(c, id, 0, &t));
	ASSERT_EQ(t.last_seen_ns, stamp, "last_seen rewritten within 1 s");
	ASSERT_EQ(cnt_get(c, id).refreshes, 2, "refreshes");

	/* Another host's trigger traffic does not move it. */
	ASSERT_OK(set_trig_last_seen(c, id, 0, old));
	ASSERT_OK(send_trigger(c, TCP_, LAN2, 50003, REM1, 6667));
	ASSERT_OK(trig_get(c, id, 0, &t));
	ASSERT_EQ(t.last_seen_ns, old, "last_seen after LAN2's packet");
	ASSERT_IP(t.owner, LAN1, "owner");
	k = cnt_get(c, id);
	ASSERT_EQ(k.refreshes, 2, "refreshes after LAN2's packet");
	ASSERT_EQ(k.conflicts, 1, "conflicts");

	/* Neither do inbound packets or the owner's non-trigger traffic. */
	ASSERT_OK(masquerade(c, id, 0));
	ASSERT_OK(set_trig_last_seen(c, id, 0, old));
	RUN_STEPS(c, inbound);
	ASSERT_OK(trig_get(c, id, 0, &t));
	ASSERT_EQ(t.last_seen_ns, old, "last_seen after flow traffic");
	ASSERT_EQ(cnt_get(c, id).refreshes, 2, "refreshes after flow traffic");
	return 0;
}

/* -------------------------------------------------------------- expiry -- */

static int test_expiry(struct tctx *c)
{
	const struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
	};
	static const struct step before_expiry[] = {
		{.name = "SYN while open: flow created",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_SYN),
		 .meta = true},
		{.name = "SYN-ACK reply",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40000, TH_SYN | TH_ACK),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 113, REM1, 40000, TH_SYN | TH_ACK)},
	};
	static const struct step after_expiry[] = {
		{.name = "new SYN after expiry: untouched",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40001, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .same = true},
		{.name = "existing flow inbound still DNATed",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_ACK, .payload_len = 5),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_ACK, .payload_len = 5)},
		{.name = "existing flow reply still SNATed",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40000, TH_ACK, .payload_len = 7),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 113, REM1, 40000, TH_ACK, .payload_len = 7)},
		{.name = "reply of the refused connection: untouched",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40001, TH_SYN | TH_ACK),
		 .verdict = TC_ACT_OK,
		 .same = true},
	};
	struct ptrig_rule_counters k;
	struct ptrig_flow f;
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	RUN_STEPS(c, before_expiry);

	ASSERT_OK(set_trig_last_seen(
		c, id, 0,
		now_ns() - (PTRIG_DEFAULT_TRIGGER_TIMEOUT_S + 1) * SEC_NS));
	RUN_STEPS(c, after_expiry);
	k = cnt_get(c, id);
	ASSERT_EQ(k.refused_closed, 1, "refused_closed");
	ASSERT_EQ(k.refused_peer, 0, "refused_peer");
	ASSERT_EQ(k.flows_opened, 1, "flows_opened");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_PASS_REFUSED), 1, "PASS_REFUSED");
	ASSERT_TRUE(flow_get(c, REM1, 40001, 113, TCP_, &f) == -ENOENT,
		    "flow created for a refused connection");
	return 0;
}

/* -------------------------------------------------------- peer=trigger -- */

static int test_peer_trigger(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {
		rule("p2p", P_TCP, 7000, 7000, P_TCP, 7100, 7100),
	};
	static const struct step in[] = {
		{.name = "from REM1 goes to LAN1",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 7100, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 7100, TH_SYN),
		 .meta = true},
		{.name = "from REM2 goes to LAN2",
		 .prog = PROG_XDP,
		 .in = TCP(REM2, 40000, WAN, 7100, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM2, 40000, LAN2, 7100, TH_SYN),
		 .meta = true},
		{.name = "from a third address: untouched",
		 .prog = PROG_XDP,
		 .in = TCP(STRANGER, 40000, WAN, 7100, TH_SYN),
		 .verdict = XDP_PASS,
		 .same = true},
		{.name = "LAN1 replies to REM1",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 7100, REM1, 40000, TH_SYN | TH_ACK),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 7100, REM1, 40000, TH_SYN | TH_ACK)},
		{.name = "LAN2 replies to REM2",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN2, 7100, REM2, 40000, TH_SYN | TH_ACK),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 7100, REM2, 40000, TH_SYN | TH_ACK)},
	};
	struct ptrig_rule_counters k;
	struct ptrig_trigger t;
	struct ptrig_flow f;
	struct ptrig_rule r;
	uint32_t id;

	rules[0].peer_mode = PTRIG_PEER_TRIGGER;
	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 7000);
	ASSERT_OK(rule_get(c, id, &r));
	ASSERT_EQ(r.peer_mode, PTRIG_PEER_TRIGGER, "peer_mode");

	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 7000, REM1));
	ASSERT_OK(open_trigger(c, id, TCP_, LAN2, REM2, 7000, REM2));
	ASSERT_EQ(trig_count(c), 2, "one trigger entry per (rule, peer)");
	ASSERT_OK(trig_get(c, id, REM1, &t));
	ASSERT_IP(t.owner, LAN1, "owner of (rule, REM1)");
	ASSERT_IP(t.peer, REM1, "peer of (rule, REM1)");
	ASSERT_OK(trig_get(c, id, REM2, &t));
	ASSERT_IP(t.owner, LAN2, "owner of (rule, REM2)");
	ASSERT_TRUE(trig_get(c, id, 0, &t) == -ENOENT,
		    "a peer=trigger rule created a peer-0 entry");
	k = cnt_get(c, id);
	ASSERT_EQ(k.triggers_opened, 2, "triggers_opened");
	ASSERT_EQ(k.conflicts, 0, "conflicts (different peers)");
	/* The same peer from another LAN host is a conflict. */
	ASSERT_OK(send_trigger(c, TCP_, LAN2, 50001, REM1, 7000));
	ASSERT_EQ(cnt_get(c, id).conflicts, 1, "conflicts (same peer)");
	ASSERT_OK(trig_get(c, id, REM1, &t));
	ASSERT_IP(t.owner, LAN1, "owner of (rule, REM1) after the conflict");

	RUN_STEPS(c, in);
	ASSERT_OK(flow_get(c, REM1, 40000, 7100, TCP_, &f));
	ASSERT_IP(f.owner, LAN1, "flow from REM1");
	ASSERT_OK(flow_get(c, REM2, 40000, 7100, TCP_, &f));
	ASSERT_IP(f.owner, LAN2, "flow from REM2");
	k = cnt_get(c, id);
	ASSERT_EQ(k.refused_peer, 1, "refused_peer");
	ASSERT_EQ(k.refused_closed, 0, "refused_closed");
	ASSERT_EQ(k.flows_opened, 2, "flows_opened");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_PASS_REFUSED), 1, "PASS_REFUSED");
	return 0;
}

/* ----------------------------------------------------------------- UDP -- */

/* A UDP step pair whose translated checksum is the "computed zero" 0xffff
 * (inbound) or whose input carries it (outbound). Built at run time: the
 * payload tail is solved for the checksum. */
static int udp_corner_steps(struct tctx *c)
{
	struct step st;

	/* DNAT result sums to zero: must be sent as 0xffff. */
	memset(&st, 0, sizeof(st));
	st.name = "DNAT to a UDP checksum of 0xffff";
	st.prog = PROG_XDP;
	st.verdict = XDP_PASS;
	st.exp = (struct pkt_spec)UDP(REM1, 5004, LAN1, 10000,
				      .payload_len = 30);
	st.exp.has_tail = true;
	st.exp.tail = pkt_tail_for_zero_csum(st.exp);
	st.in = st.exp;
	st.in.daddr = WAN;
	RUN_STEP(c, &st);
	{
		uint8_t b[PKT_MAX];

		pkt_build(&st.exp, b);
		ASSERT_EQ(get16(b + ETH_HLEN + 20 + 6), 0xffff,
			  "fixture: expected checksum is the computed zero");
	}

	/* The input carries 0xffff; the DNATed one is an ordinary value. */
	memset(&st, 0, sizeof(st));
	st.name = "DNAT from a UDP checksum of 0xffff";
	st.prog = PROG_XDP;
	st.verdict = XDP_PASS;
	st.in = (struct pkt_spec)UDP(REM1, 5006, WAN, 10001, .payload_len = 30);
	st.in.has_tail = true;
	st.in.tail = pkt_tail_for_zero_csum(st.in);
	st.exp = st.in;
	st.exp.daddr = LAN1;
	st.meta = true;
	RUN_STEP(c, &st);

	/* The input carries 0xffff; the SNATed one is an ordinary value. */
	memset(&st, 0, sizeof(st));
	st.name = "SNAT from a UDP checksum of 0xffff";
	st.prog = PROG_TC_EGRESS;
	st.verdict = TC_ACT_OK;
	st.in = (struct pkt_spec)UDP(LAN1, 10000, REM1, 5004,
				     .payload_len = 30);
	st.in.has_tail = true;
	st.in.tail = pkt_tail_for_zero_csum(st.in);
	st.exp = st.in;
	st.exp.saddr = WAN;
	RUN_STEP(c, &st);

	/* SNAT result sums to zero. */
	st.name = "SNAT to a UDP checksum of 0xffff";
	st.exp =
		(struct pkt_spec)UDP(WAN, 10000, REM1, 5004, .payload_len = 30);
	st.exp.has_tail = true;
	st.exp.tail = pkt_tail_for_zero_csum(st.exp);
	st.in = st.exp;
	st.in.saddr = LAN1;
	RUN_STEP(c, &st);
	return 0;
}

static int test_udp(struct tctx *c)
{
	const struct ptrig_rule_spec rules[] = {
		rule("sip", P_UDP, 5060, 5060, P_UDP, 10000, 10010),
	};
	static const struct step steps[] = {
		{.name = "inbound datagram is DNATed",
		 .prog = PROG_XDP,
		 .in = UDP(REM1, 5004, WAN, 10000, .payload_len = 40),
		 .verdict = XDP_PASS,
		 .exp = UDP(REM1, 5004, LAN1, 10000, .payload_len = 40),
		 .meta = true},
		{.name = "reply datagram is SNATed",
		 .prog = PROG_TC_EGRESS,
		 .in = UDP(LAN1, 10000, REM1, 5004, .payload_len = 41),
		 .verdict = TC_ACT_OK,
		 .exp = UDP(WAN, 10000, REM1, 5004, .payload_len = 41)},
		{.name = "inbound without checksum: stays 0 after DNAT",
		 .prog = PROG_XDP,
		 .in = UDP(REM1, 5004, WAN, 10000, .payload_len = 40,
			   .udp_no_csum = true),
		 .verdict = XDP_PASS,
		 .exp = UDP(REM1, 5004, LAN1, 10000, .payload_len = 40,
			    .udp_no_csum = true)},
		{.name = "reply without checksum: stays 0 after SNAT",
		 .prog = PROG_TC_EGRESS,
		 .in = UDP(LAN1, 10000, REM1, 5004, .payload_len = 9,
			   .udp_no_csum = true),
		 .verdict = TC_ACT_OK,
		 .exp = UDP(WAN, 10000, REM1, 5004, .payload_len = 9,
			    .udp_no_csum = true)},
		{.name = "second port of the open range, new flow",
		 .prog = PROG_XDP,
		 .in = UDP(REM1, 5005, WAN, 10010, .payload_len = 1),
		 .verdict = XDP_PASS,
		 .exp = UDP(REM1, 5005, LAN1, 10010, .payload_len = 1),
		 .meta = true},
		{.name = "port past the open range: untouched",
		 .prog = PROG_XDP,
		 .in = UDP(REM1, 5005, WAN, 10011, .payload_len = 1),
		 .verdict = XDP_PASS,
		 .same = true},
	};
	struct ptrig_rule_counters k;
	struct ptrig_flow f;
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, UDP_, 5060);
	ASSERT_TRUE(id != 0, "udp:5060 maps to no rule");
	ASSERT_EQ(rule_id(c, TCP_, 5060), 0, "tcp:5060 is no trigger");
	ASSERT_OK(open_trigger(c, id, UDP_, LAN1, REM1, 5060, 0));
	RUN_STEPS(c, steps);
	ASSERT_OK(udp_corner_steps(c));

	ASSERT_OK(flow_get(c, REM1, 5004, 10000, UDP_, &f));
	ASSERT_IP(f.owner, LAN1, "flow owner");
	ASSERT_EQ(f.timeout_s, PTRIG_DEFAULT_UDP_FLOW_TIMEOUT_S, "udp timeout");
	ASSERT_EQ(f.closing_timeout_s, PTRIG_DEFAULT_UDP_FLOW_TIMEOUT_S,
		  "udp closing timeout");
	ASSERT_EQ(f.flags, PTRIG_FLOW_SEEN_REPLY, "flags");
	k = cnt_get(c, id);
	ASSERT_EQ(k.flows_opened, 3, "flows_opened");
	ASSERT_EQ(k.pkts_in, 5, "pkts_in");
	ASSERT_EQ(k.pkts_out, 4, "pkts_out");
	return 0;
}

/* ---------------------------------------------------------- IP options -- */

static int test_ip_options(struct tctx *c)
{
	const struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
	};
	static const struct step steps[] = {
		{.name = "SYN with IHL=6 (Router Alert) is DNATed",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_SYN, .ip_opt_words = 1),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_SYN, .ip_opt_words = 1),
		 .meta = true},
		{.name = "SYN with IHL=7 (RA, NOPs, EOL) is DNATed",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40001, WAN, 113, TH_SYN, .ip_opt_words = 2,
			   .tcp_mss = true),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40001, LAN1, 113, TH_SYN, .ip_opt_words = 2,
			    .tcp_mss = true),
		 .meta = true},
		{.name = "SYN with IHL=15 (40 bytes of options) is DNATed",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40002, WAN, 113, TH_SYN, .ip_opt_words = 10),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40002, LAN1, 113, TH_SYN, .ip_opt_words = 10),
		 .meta = true},
		{.name = "reply with IHL=7 is SNATed",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40001, TH_SYN | TH_ACK,
			   .ip_opt_words = 2),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 113, REM1, 40001, TH_SYN | TH_ACK,
			    .ip_opt_words = 2)},
		{.name = "reply with IHL=15 is SNATed",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40002, TH_SYN | TH_ACK,
			   .ip_opt_words = 10, .payload_len = 3),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 113, REM1, 40002, TH_SYN | TH_ACK,
			    .ip_opt_words = 10, .payload_len = 3)},
	};
	struct step st;
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	RUN_STEPS(c, steps);
	ASSERT_EQ(cnt_get(c, id).flows_opened, 3, "flows_opened");

	/* TCP's zero corner: a DNAT whose result checksum is 0x0000, with
	 * options in front, so the L4 offset depends on IHL. */
	memset(&st, 0, sizeof(st));
	st.name = "DNAT to a TCP checksum of 0x0000 (IHL=6)";
	st.prog = PROG_XDP;
	st.verdict = XDP_PASS;
	st.meta = true;
	st.exp = (struct pkt_spec)TCP(REM1, 40003, LAN1, 113, TH_SYN,
				      .ip_opt_words = 1, .payload_len = 20);
	st.exp.has_tail = true;
	st.exp.tail = pkt_tail_for_zero_csum(st.exp);
	st.in = st.exp;
	st.in.daddr = WAN;
	RUN_STEP(c, &st);
	st.name = "SNAT to a TCP checksum of 0x0000 (IHL=6)";
	st.prog = PROG_TC_EGRESS;
	st.verdict = TC_ACT_OK;
	st.meta = false;
	st.exp = (struct pkt_spec)TCP(WAN, 113, REM1, 40003, TH_SYN | TH_ACK,
				      .ip_opt_words = 1, .payload_len = 20);
	st.exp.has_tail = true;
	st.exp.tail = pkt_tail_for_zero_csum(st.exp);
	st.in = st.exp;
	st.in.saddr = LAN1;
	RUN_STEP(c, &st);
	return 0;
}

/* ------------------------------------------------------ checksum sweep -- */

static uint32_t rng_state = 0x9e3779b9u;

static uint32_t rnd(void)
{
	/* xorshift32: deterministic, so a failure reproduces. */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/*
 * Many translations with varied addresses, ports, payloads and so original
 * checksums, each compared with a freshly built packet. Carry-handling
 * mistakes in an incremental update show only for some sums (e.g. a missed
 * end-around carry in the final fold hits well under 1% of packets), which
 * a handful of fixed fixtures would never meet.
 */
#define SWEEP 600

static int test_csum_sweep(struct tctx *c)
{
	const struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
		rule("sip", P_UDP, 5060, 5060, P_UDP, 10000, 10010),
	};
	uint32_t tcp_id, udp_id, i;
	struct ptrig_rule tr, ur;
	struct ptrig_trigger t;
	struct run_res r;
	struct step st;

	ASSERT_OK(tctx_setup(c, rules, 2));
	tcp_id = rule_id(c, TCP_, 6667);
	udp_id = rule_id(c, UDP_, 5060);
	ASSERT_OK(rule_get(c, tcp_id, &tr));
	ASSERT_OK(rule_get(c, udp_id, &ur));
	for (i = 0; i < SWEEP; i++) {
		bool udp = i & 1;
		uint32_t owner = IP4(198, 51, 100, 1 + rnd() % 254);
		uint32_t ext = IP4(203, 0, 113, 1 + rnd() % 254);
		uint32_t remote = rnd() & 1 ? IP4(192, 0, 2, 1 + rnd() % 254)
					    : IP4(203, 0, 113, 1 + rnd() % 254);
		uint16_t rport = (uint16_t)(1024 + i);
		uint16_t lport = udp ? (uint16_t)(10000 + rnd() % 11) : 113;
		char name[96];

		/* The trigger as a masqueraded LAN host would have left it. */
		memset(&t, 0, sizeof(t));
		t.owner = htonl(owner);
		t.external = htonl(ext);
		t.peer = htonl(remote);
		t.generation = udp ? ur.generation : tr.generation;
		t.last_seen_ns = t.opened_ns = now_ns();
		ASSERT_OK(trig_put(c, udp ? udp_id : tcp_id, 0, &t));

		memset(&st, 0, sizeof(st));
		snprintf(name, sizeof(name), "sweep %u: %s DNAT %#x -> %#x", i,
			 udp ? "udp" : "tcp", ext, owner);
		st.name = name;
		st.prog = PROG_XDP;
		st.verdict = XDP_PASS;
		st.meta = true;
		st.in.proto = udp ? IPPROTO_UDP : IPPROTO_TCP;
		st.in.tcp_flags = udp ? 0 : TH_SYN;
		st.in.saddr = remote;
		st.in.sport = rport;
		st.in.daddr = ext;
		st.in.dport = lport;
		st.in.payload_len = (uint16_t)(rnd() % 64);
		st.in.payload_seed = (uint8_t)rnd();
		st.in.ip_opt_words = (uint8_t)(rnd() % 4 == 0 ? 1 : 0);
		st.exp = st.in;
		st.exp.daddr = owner;
		/* Every 8th: force the zero corner after the rewrite. */
		if (i % 8 == 0 && st.in.payload_len >= 2) {
			st.exp.has_tail = true;
			st.exp.tail = pkt_tail_for_zero_csum(st.exp);
			st.in.has_tail = true;
			st.in.tail = st.exp.tail;
		}
		if (run_step_at(c, &st, &r, __FILE__, __LINE__))
			return -1;

		snprintf(name, sizeof(name), "sweep %u: %s SNAT %#x -> %#x", i,
			 udp ? "udp" : "tcp", owner, ext);
		st.prog = PROG_TC_EGRESS;
		st.verdict = TC_ACT_OK;
		st.meta = false;
		st.in.saddr = owner;
		st.in.sport = lport;
		st.in.daddr = remote;
		st.in.dport = rport;
		st.in.tcp_flags = udp ? 0 : TH_SYN | TH_ACK;
		st.in.has_tail = false;
		st.exp = st.in;
		st.exp.saddr = ext;
		if (i % 8 == 4 && st.in.payload_len >= 2) {
			st.exp.has_tail = true;
			st.exp.tail = pkt_tail_for_zero_csum(st.exp);
			st.in.has_tail = true;
			st.in.tail = st.exp.tail;
		}
		if (run_step_at(c, &st, &r, __FILE__, __LINE__))
			return -1;
	}
	return 0;
}

/* ----------------------------------------------------------- untouched -- */

struct untouched_row {
	struct step st;
	int stat; /* ptrig_stats_v1 reason that must grow by one; -1: none */
};

#define XDP_SAME(n, ...)                                                       \
	{                                                                      \
		.name = n, .prog = PROG_XDP, .in = __VA_ARGS__,                \
		.verdict = XDP_PASS, .same = true                              \
	}
#define TC_SAME(n, ...)                                                        \
	{                                                                      \
		.name = n, .prog = PROG_TC_EGRESS, .in = __VA_ARGS__,          \
		.verdict = TC_ACT_OK, .same = true                             \
	}

static const struct untouched_row untouched[] = {
	/* XDP: every one of these would be DNATed if it were well formed. */
	{XDP_SAME("MF fragment", TCP(REM1, 40001, WAN, 113, TH_SYN,
				     .frag = 0x2000, .payload_len = 16)),
	 PTRIG_STAT_PASS_FRAGMENT},
	{XDP_SAME("last fragment, offset 185",
		  TCP(REM1, 40001, WAN, 113, TH_SYN, .frag = 185)),
	 PTRIG_STAT_PASS_FRAGMENT},
	{XDP_SAME("middle fragment, MF + offset 1",
		  UDP(REM1, 5004, WAN, 113, .frag = 0x2001, .payload_len = 8)),
	 PTRIG_STAT_PASS_FRAGMENT},
	{XDP_SAME("DF only is no fragment: here, a port without a rule",
		  TCP(REM1, 40001, WAN, 114, TH_SYN, .frag = 0x4000)),
	 PTRIG_STAT_PASS_NO_RULE},
	{XDP_SAME("Ethernet header only",
		  TCP(REM1, 40001, WAN, 113, TH_SYN, .trunc = ETH_HLEN)),
	 PTRIG_STAT_PASS_MALFORMED},
	{XDP_SAME("cut inside the IPv4 header",
		  TCP(REM1, 40001, WAN, 113, TH_SYN, .trunc = ETH_HLEN + 10)),
	 PTRIG_STAT_PASS_MALFORMED},
	{XDP_SAME("cut inside the TCP header",
		  TCP(REM1, 40001, WAN, 113, TH_SYN,
		      .trunc = ETH_HLEN + 20 + 10)),
	 PTRIG_STAT_PASS_MALFORMED},
	{XDP_SAME("cut inside the TCP header after options",
		  TCP(REM1, 40001, WAN, 113, TH_SYN, .ip_opt_words = 2,
		      .trunc = ETH_HLEN + 28 + 19)),
	 PTRIG_STAT_PASS_MALFORMED},
	{XDP_SAME("cut inside the UDP header",
		  UDP(REM1, 5004, WAN, 113, .trunc = ETH_HLEN + 20 + 4)),
	 PTRIG_STAT_PASS_MALFORMED},
	{XDP_SAME("IHL 4", TCP(REM1, 40001, WAN, 113, TH_SYN, .ihl_raw = 4)),
	 PTRIG_STAT_PASS_MALFORMED},
	{XDP_SAME("IHL 15 past the end of the packet",
		  TCP(REM1, 40001, WAN, 113, TH_SYN, .ihl_raw = 15)),
	 PTRIG_STAT_PASS_MALFORMED},
	{XDP_SAME("IPv6 TCP SYN",
		  TCP(REM1, 40001, WAN, 113, TH_SYN, .l3 = ETH_P_IPV6)),
	 PTRIG_STAT_PASS_NOT_IPV4},
	{XDP_SAME("ARP request",
		  {.l3 = ETH_P_ARP, .saddr = REM1, .daddr = WAN}),
	 PTRIG_STAT_PASS_NOT_IPV4},
	{XDP_SAME("ICMP echo", {.proto = IPPROTO_ICMP,
				.saddr = REM1,
				.daddr = WAN,
				.payload_len = 16}),
	 PTRIG_STAT_PASS_OTHER_PROTO},
	{XDP_SAME("TCP SYN to a port without a rule",
		  TCP(REM1, 40001, WAN, 114, TH_SYN)),
	 PTRIG_STAT_PASS_NO_RULE},
	{XDP_SAME("UDP to the open port of a TCP rule",
		  UDP(REM1, 40001, WAN, 113, .payload_len = 4)),
	 PTRIG_STAT_PASS_NO_RULE},
	{XDP_SAME("SYN to the open port on another address",
		  TCP(REM1, 40001, OTHER_WAN, 113, TH_SYN)),
	 PTRIG_STAT_PASS_NOT_EXTERNAL},
	{XDP_SAME("existing flow's packet to another address",
		  TCP(REM1, 40000, OTHER_WAN, 113, TH_ACK)),
	 PTRIG_STAT_PASS_NOT_EXTERNAL},
	/* TC egress: trigger-port packets (would refresh or conflict) and
	 * replies of the existing flow (would be SNATed). */
	{TC_SAME("trigger: MF fragment",
		 TCP(LAN2, 50000, REM1, 6667, TH_SYN, .frag = 0x2000)),
	 -1},
	{TC_SAME("trigger: offset fragment",
		 UDP(LAN2, 50000, REM1, 6667, .frag = 100)),
	 -1},
	{TC_SAME("trigger: cut inside the TCP header",
		 TCP(LAN2, 50000, REM1, 6667, TH_SYN,
		     .trunc = ETH_HLEN + 20 + 12)),
	 -1},
	/* (skb test_run refuses IPv4 frames shorter than a full IPv4 header
	 * with EINVAL, so TC gets no "cut inside the IP header" row.) */
	{TC_SAME("trigger: cut right after the IPv4 header",
		 TCP(LAN2, 50000, REM1, 6667, TH_SYN, .trunc = ETH_HLEN + 20)),
	 -1},
	{TC_SAME("trigger: IPv6",
		 TCP(LAN2, 50000, REM1, 6667, TH_SYN, .l3 = ETH_P_IPV6)),
	 -1},
	{TC_SAME("trigger: UDP to a TCP trigger port",
		 UDP(LAN2, 50000, REM1, 6667, .payload_len = 3)),
	 -1},
	{TC_SAME("ARP", {.l3 = ETH_P_ARP, .saddr = LAN1, .daddr = REM1}), -1},
	{TC_SAME("ICMP", {.proto = IPPROTO_ICMP,
			  .saddr = LAN1,
			  .daddr = REM1,
			  .payload_len = 8}),
	 -1},
	{TC_SAME("reply: MF fragment", TCP(LAN1, 113, REM1, 40000, TH_ACK,
					   .frag = 0x2000, .payload_len = 8)),
	 -1},
	{TC_SAME("reply: cut inside the TCP header",
		 TCP(LAN1, 113, REM1, 40000, TH_ACK,
		     .trunc = ETH_HLEN + 20 + 16)),
	 -1},
	{TC_SAME("reply: from another LAN host",
		 TCP(LAN2, 113, REM1, 40000, TH_ACK)),
	 -1},
	{TC_SAME("reply: to another remote port",
		 TCP(LAN1, 113, REM1, 40009, TH_ACK)),
	 -1},
	{TC_SAME("reply: UDP on the TCP open port",
		 UDP(LAN1, 113, REM1, 40000, .payload_len = 2)),
	 -1},
};

static int test_untouched(struct tctx *c)
{
	const struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
	};
	/* Positive controls: the same rule does translate well-formed
	 * packets, so the rows below are untouched for their own reason. */
	static const struct step control[] = {
		{.name = "control: SYN is DNATed",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_SYN),
		 .meta = true},
		{.name = "control: reply is SNATed",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40000, TH_SYN | TH_ACK),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 113, REM1, 40000, TH_SYN | TH_ACK)},
	};
	static const struct step control_again[] = {
		{.name = "control: flow's ACK is DNATed (answered: no marker)",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_ACK),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_ACK)},
		{.name = "control: a new SYN is DNATed",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40009, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40009, LAN1, 113, TH_SYN),
		 .meta = true},
		{.name = "control: flow's reply is SNATed",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40000, TH_ACK),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 113, REM1, 40000, TH_ACK)},
	};
	struct ptrig_rule_counters k0, k;
	uint64_t before[PTRIG_STAT_MAX];
	struct run_res r;
	uint32_t id, s;
	size_t i;

	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	RUN_STEPS(c, control);
	k0 = cnt_get(c, id);

	for (i = 0; i < sizeof(untouched) / sizeof(untouched[0]); i++) {
		const struct untouched_row *row = &untouched[i];

		for (s = 0; s < PTRIG_STAT_MAX; s++)
			before[s] = stat_get(c, s);
		if (run_step_at(c, &row->st, &r, __FILE__, __LINE__)) {
			printf("#   (untouched[%zu])\n", i);
			return -1;
		}
		/* XDP counts each packet exactly once, under its reason;
		 * TC egress counts nothing for packets it ignores. */
		for (s = 0; s < PTRIG_STAT_MAX; s++) {
			uint64_t d = stat_get(c, s) - before[s];

			if (d != (s == (uint32_t)row->stat)) {
				FAIL_MSG(__FILE__, __LINE__,
					 "untouched[%zu] '%s': stat %u moved "
					 "by %llu (want reason %d)",
					 i, row->st.name, s,
					 (unsigned long long)d, row->stat);
				return -1;
			}
		}
	}
	k = cnt_get(c, id);
	ASSERT_TRUE(memcmp(&k, &k0, sizeof(k)) == 0,
		    "rule counters moved for untouched packets (refreshes "
		    "%llu, conflicts %llu, pkts_in %llu, pkts_out %llu)",
		    (unsigned long long)k.refreshes,
		    (unsigned long long)k.conflicts,
		    (unsigned long long)k.pkts_in,
		    (unsigned long long)k.pkts_out);
	ASSERT_EQ(trig_count(c), 1, "trigger entries");
	RUN_STEPS(c, control_again); /* still translating */
	return 0;
}

/* ---------------------------------------------------- TCP without flow -- */

static int test_tcp_no_flow(struct tctx *c)
{
	const struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
	};
	static const struct step steps[] = {
		{.name = "ACK to the open port, no flow",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_ACK, .payload_len = 10),
		 .verdict = XDP_PASS,
		 .same = true},
		{.name = "SYN-ACK to the open port, no flow",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40001, WAN, 113, TH_SYN | TH_ACK),
		 .verdict = XDP_PASS,
		 .same = true},
		{.name = "RST to the open port, no flow",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40002, WAN, 113, TH_RST),
		 .verdict = XDP_PASS,
		 .same = true},
		{.name = "FIN-ACK to the open port, no flow",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40003, WAN, 113, TH_FIN | TH_ACK),
		 .verdict = XDP_PASS,
		 .same = true},
	};
	struct ptrig_rule_counters k;
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	RUN_STEPS(c, steps);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_PASS_TCP_NO_FLOW), 4,
		  "PASS_TCP_NO_FLOW");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_XDP_TRANSLATED), 0, "XDP_TRANSLATED");
	k = cnt_get(c, id);
	ASSERT_EQ(k.flows_opened + k.pkts_in, 0, "flows_opened + pkts_in");
	ASSERT_EQ(k.refused_closed + k.refused_peer, 0,
		  "refused (not a connection opening)");
	{
		struct ptrig_flow_key next;

		ASSERT_TRUE(bpf_map_get_next_key(c->fds.flows, NULL, &next) &&
				    errno == ENOENT,
			    "flows map not empty");
	}
	return 0;
}

/* --------------------------------------------------------- both protos -- */

static int test_both(struct tctx *c)
{
	const struct ptrig_rule_spec rules[] = {
		rule("game", P_BOTH, 5000, 5000, P_BOTH, 6000, 6000),
	};
	static const struct step steps[] = {
		{.name = "TCP SYN to 6000 is DNATed",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 6000, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 6000, TH_SYN),
		 .meta = true},
		{.name = "UDP to 6000 is DNATed",
		 .prog = PROG_XDP,
		 .in = UDP(REM1, 40000, WAN, 6000, .payload_len = 12),
		 .verdict = XDP_PASS,
		 .exp = UDP(REM1, 40000, LAN1, 6000, .payload_len = 12),
		 .meta = true},
		{.name = "TCP reply is SNATed",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 6000, REM1, 40000, TH_SYN | TH_ACK),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 6000, REM1, 40000, TH_SYN | TH_ACK)},
		{.name = "UDP reply is SNATed",
		 .prog = PROG_TC_EGRESS,
		 .in = UDP(LAN1, 6000, REM1, 40000, .payload_len = 12),
		 .verdict = TC_ACT_OK,
		 .exp = UDP(WAN, 6000, REM1, 40000, .payload_len = 12)},
	};
	struct ptrig_rule_counters k;
	struct ptrig_flow f;
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, UDP_, 5000);
	ASSERT_TRUE(id != 0, "udp:5000 maps to no rule");
	ASSERT_EQ(rule_id(c, TCP_, 5000), id, "tcp:5000 same rule");
	ASSERT_EQ(rule_of_port(c, PTRIG_L4_TCP, 6000, false), id, "tcp 6000");
	ASSERT_EQ(rule_of_port(c, PTRIG_L4_UDP, 6000, false), id, "udp 6000");

	ASSERT_OK(open_trigger(c, id, UDP_, LAN1, REM1, 5000, 0));
	RUN_STEPS(c, steps);
	ASSERT_OK(flow_get(c, REM1, 40000, 6000, TCP_, &f));
	ASSERT_EQ(f.timeout_s, PTRIG_DEFAULT_TCP_FLOW_TIMEOUT_S, "tcp timeout");
	ASSERT_OK(flow_get(c, REM1, 40000, 6000, UDP_, &f));
	ASSERT_EQ(f.timeout_s, PTRIG_DEFAULT_UDP_FLOW_TIMEOUT_S, "udp timeout");
	/* TCP trigger traffic of the same owner refreshes the same entry. */
	ASSERT_OK(send_trigger(c, TCP_, LAN1, 50001, REM1, 5000));
	k = cnt_get(c, id);
	ASSERT_EQ(k.triggers_opened, 1, "triggers_opened");
	ASSERT_EQ(k.refreshes, 1, "refreshes by TCP trigger traffic");
	ASSERT_EQ(k.flows_opened, 2, "flows_opened");
	ASSERT_EQ(trig_count(c), 1, "trigger entries");
	return 0;
}

/* -------------------------------------------------------- 10,000 rules -- */

#define MANY 10000

/* 5000 TCP and 5000 UDP rules; trigger N opens N + 20000, per protocol,
 * so no two rules overlap. */
static struct ptrig_rule_spec *many_rules(void)
{
	struct ptrig_rule_spec *rules = calloc(MANY, sizeof(*rules));
	int i;

	for (i = 0; rules && i < MANY; i++) {
		uint8_t p = i < MANY / 2 ? P_TCP : P_UDP;
		uint16_t port = (uint16_t)(1000 + i % (MANY / 2));
		char name[16];

		snprintf(name, sizeof(name), "r%05d", i);
		rules[i] = rule(name, p, port, port, p, port + 20000,
				port + 20000);
	}
	return rules;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Pushing the same 10,000 rules again matches every rule by name: ids and
 * generations stay, so the open trigger and flow keep working. */
static int many_rules_reload(struct tctx *c, uint32_t id)
{
	struct ptrig_rule_spec *rules = many_rules();
	struct ptrig_rule r0, r;
	struct timespec t0;
	struct step st;
	int err;

	ASSERT_TRUE(rules, "calloc");
	err = rule_get(c, id, &r0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!err)
		err = rules_push(c, rules, MANY);
	free(rules);
	ASSERT_OK(err);
	printf("# re-pushed %d rules in %.0f ms\n", MANY, ms_since(&t0));
	ASSERT_EQ(rule_id(c, UDP_, 5999), id, "id after the reload");
	ASSERT_OK(rule_get(c, id, &r));
	ASSERT_EQ(r.generation, r0.generation, "generation after the reload");
	memset(&st, 0, sizeof(st));
	st.name = "after the reload: a new flow through the last rule";
	st.prog = PROG_XDP;
	st.verdict = XDP_PASS;
	st.meta = true;
	st.in = (struct pkt_spec)UDP(REM1, 5005, WAN, 25999, .payload_len = 8);
	st.exp = st.in;
	st.exp.daddr = LAN1;
	RUN_STEP(c, &st);
	ASSERT_EQ(cnt_get(c, id).flows_opened, 2, "flows_opened");
	return 0;
}

static int test_many_rules(struct tctx *c)
{
	struct ptrig_rule_spec *rules = many_rules();
	struct timespec t0;
	struct step st;
	uint32_t id;
	int err;

	ASSERT_TRUE(rules, "calloc");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = tctx_setup(c, rules, MANY);
	free(rules);
	ASSERT_OK(err);
	printf("# loaded and pushed %d rules in %.0f ms\n", MANY,
	       ms_since(&t0));

	id = rule_id(c, UDP_, 5999);
	ASSERT_EQ(id, MANY, "id of the last rule (udp:5999)");
	ASSERT_EQ(rule_of_port(c, PTRIG_L4_UDP, 25999, false), id, "udp 25999");
	ASSERT_EQ(rule_id(c, TCP_, 5999), MANY / 2, "id of tcp:5999");
	ASSERT_EQ(rule_id(c, TCP_, 6000), 0, "tcp:6000");
	{
		struct ptrig_config cfg;

		ASSERT_OK(cfg_get(c, &cfg));
		ASSERT_EQ(cfg.rule_count, MANY, "rule_count");
	}

	ASSERT_OK(open_trigger(c, id, UDP_, LAN1, REM1, 5999, 0));
	memset(&st, 0, sizeof(st));
	st.name = "datagram to the last rule's open port is DNATed";
	st.prog = PROG_XDP;
	st.verdict = XDP_PASS;
	st.meta = true;
	st.in = (struct pkt_spec)UDP(REM1, 5004, WAN, 25999, .payload_len = 8);
	st.exp = st.in;
	st.exp.daddr = LAN1;
	RUN_STEP(c, &st);
	st.name = "its reply is SNATed";
	st.prog = PROG_TC_EGRESS;
	st.verdict = TC_ACT_OK;
	st.meta = false;
	st.in = (struct pkt_spec)UDP(LAN1, 25999, REM1, 5004, .payload_len = 8);
	st.exp = st.in;
	st.exp.saddr = WAN;
	RUN_STEP(c, &st);
	st.name = "the neighbouring rule's port is still closed";
	st.prog = PROG_XDP;
	st.verdict = XDP_PASS;
	st.same = true;
	st.in = (struct pkt_spec)UDP(REM1, 5004, WAN, 25998, .payload_len = 8);
	RUN_STEP(c, &st);
	ASSERT_EQ(cnt_get(c, id).flows_opened, 1, "flows_opened");
	ASSERT_EQ(cnt_get(c, id - 1).refused_closed, 1, "neighbour refused");
	return many_rules_reload(c, id);
}

/* ------------------------------------------------------- flow timeouts -- */

static int test_flow_timeouts(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
	};
	static const struct step open2[] = {
		{.name = "SYN opens flow 40000",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_SYN),
		 .meta = true},
		{.name = "SYN opens flow 40001",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40001, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40001, LAN1, 113, TH_SYN),
		 .meta = true},
		{.name = "inbound FIN on 40000 is DNATed",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_FIN | TH_ACK),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_FIN | TH_ACK),
		 .meta = true},
	};
	static const struct step closing_alive[] = {
		{.name = "owner's FIN on the closing flow is SNATed",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40000, TH_FIN | TH_ACK),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 113, REM1, 40000, TH_FIN | TH_ACK)},
	};
	static const struct step expired[] = {
		{.name = "last ACK of the expired closing flow: untouched",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_ACK),
		 .verdict = XDP_PASS,
		 .same = true},
		{.name = "owner's packet on the expired flow: untouched",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40000, TH_ACK),
		 .verdict = TC_ACT_OK,
		 .same = true},
		{.name = "ACK of flow 40001 idle past 60 s: untouched",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40001, WAN, 113, TH_ACK),
		 .verdict = XDP_PASS,
		 .same = true},
	};
	static const struct step reopen[] = {
		{.name = "new SYN reuses the expired flow's key",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_SYN),
		 .meta = true},
	};
	static const struct step reopen_answered[] = {
		{.name = "new SYN on 40001",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40001, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40001, LAN1, 113, TH_SYN),
		 .meta = true},
		{.name = "owner answers 40001",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40001, TH_SYN | TH_ACK),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 113, REM1, 40001, TH_SYN | TH_ACK)},
		{.name = "SYN on 40002, never answered",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40002, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40002, LAN1, 113, TH_SYN),
		 .meta = true},
	};
	static const struct step unanswered_expired[] = {
		{.name = "ACK of unanswered flow 40002 idle 31 s: untouched",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40002, WAN, 113, TH_ACK),
		 .verdict = XDP_PASS,
		 .same = true},
	};
	static const struct step alive[] = {
		{.name = "ACK of answered flow 40001 idle 59 s of 60: DNATed",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40001, WAN, 113, TH_ACK),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40001, LAN1, 113, TH_ACK)},
	};
	struct ptrig_flow f;
	uint64_t before;
	uint32_t id;

	rules[0].flow_timeout_s = 60;
	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	RUN_STEPS(c, open2);

	ASSERT_OK(flow_get(c, REM1, 40001, 113, TCP_, &f));
	ASSERT_EQ(f.timeout_s, 60, "per-rule flow-timeout in the flow");
	ASSERT_EQ(f.closing_timeout_s, PTRIG_DEFAULT_TCP_CLOSING_TIMEOUT_S,
		  "closing timeout");
	ASSERT_EQ(f.flags, 0, "flags of 40001");
	ASSERT_OK(flow_get(c, REM1, 40000, 113, TCP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_CLOSING, "FIN seen: CLOSING");
	RUN_STEPS(c, closing_alive);
	ASSERT_OK(flow_get(c, REM1, 40000, 113, TCP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_CLOSING | PTRIG_FLOW_SEEN_REPLY, "flags");

	/* Closing flow idle past its 10 s; open flow idle past its 60 s. */
	ASSERT_OK(set_flow_last_seen(
		c, REM1, 40000, 113, TCP_,
		now_ns() - (PTRIG_DEFAULT_TCP_CLOSING_TIMEOUT_S + 1) * SEC_NS));
	ASSERT_OK(set_flow_last_seen(c, REM1, 40001, 113, TCP_,
				     now_ns() - 61 * SEC_NS));
	RUN_STEPS(c, expired);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_PASS_TCP_NO_FLOW), 2,
		  "PASS_TCP_NO_FLOW");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FLOW_EXPIRED), 2, "FLOW_EXPIRED");

	/* A SYN while the trigger is open replaces the expired entry. */
	before = now_ns();
	RUN_STEPS(c, reopen);
	ASSERT_OK(flow_get(c, REM1, 40000, 113, TCP_, &f));
	ASSERT_EQ(f.flags, 0, "flags of the new flow");
	ASSERT_STAMP(f.opened_ns, before, "opened_ns of the new flow");
	ASSERT_EQ(cnt_get(c, id).flows_opened, 3, "flows_opened");

	/* An answered flow just inside its timeout is alive; one the owner
	 * never answered lives only PTRIG_UNREPLIED_TIMEOUT_S. */
	RUN_STEPS(c, reopen_answered);
	ASSERT_OK(set_flow_last_seen(c, REM1, 40001, 113, TCP_,
				     now_ns() - 59 * SEC_NS));
	ASSERT_OK(set_flow_last_seen(
		c, REM1, 40002, 113, TCP_,
		now_ns() - (PTRIG_UNREPLIED_TIMEOUT_S + 1) * SEC_NS));
	RUN_STEPS(c, alive);
	RUN_STEPS(c, unanswered_expired);
	return 0;
}

/* A SYN reusing the ports of a closing flow is a new connection: it gets
 * the marker again (conntrack sees it as new) and goes to the rule's
 * current owner, not the flow's old one. */
static int test_syn_reuses_closing_flow(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
	};
	static const struct step first[] = {
		{.name = "SYN opens flow 40000",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_SYN),
		 .meta = true},
		{.name = "owner answers",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40000, TH_SYN | TH_ACK),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 113, REM1, 40000, TH_SYN | TH_ACK)},
		{.name = "remote closes (FIN): no marker on an answered flow",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_FIN | TH_ACK),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_FIN | TH_ACK)},
	};
	static const struct step reuse[] = {
		{.name = "new SYN from the same port goes to the new owner, "
			 "marked",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN2, 113, TH_SYN),
		 .meta = true},
	};
	struct ptrig_flow f;
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	RUN_STEPS(c, first);
	ASSERT_OK(flow_get(c, REM1, 40000, 113, TCP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_CLOSING | PTRIG_FLOW_SEEN_REPLY,
		  "closing flow");
	/* lanhost1 went idle and lanhost2 took the rule over. */
	ASSERT_OK(set_trig_last_seen(
		c, id, 0,
		now_ns() - (PTRIG_DEFAULT_TRIGGER_TIMEOUT_S + 1) * SEC_NS));
	ASSERT_OK(open_trigger(c, id, TCP_, LAN2, REM1, 6667, 0));
	RUN_STEPS(c, reuse);
	ASSERT_OK(flow_get(c, REM1, 40000, 113, TCP_, &f));
	ASSERT_EQ(f.flags, 0, "fresh flow flags");
	ASSERT_IP(f.owner, LAN2, "fresh flow owner");
	ASSERT_EQ(cnt_get(c, id).flows_opened, 2, "flows_opened");
	return 0;
}

/* The box's masquerade can give a LAN host's outbound connection the WAN
 * address and ports of a ptrig flow (conntrack never saw ptrig's DNAT).
 * TC egress sees that packet leave with the flow's external address: the
 * tracked connection wins and the flow is dropped, so replies are no longer
 * diverted to the trigger's owner. */
static int test_nat_collision(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {
		rule("game", P_UDP, 27015, 27015, P_UDP, 50000, 50010),
	};
	static const struct step open_flow[] = {
		{.name = "remote1:9999 -> WAN:50005 opens a flow to lanhost1",
		 .prog = PROG_XDP,
		 .in = UDP(REM1, 9999, WAN, 50005, .payload_len = 8),
		 .verdict = XDP_PASS,
		 .exp = UDP(REM1, 9999, LAN1, 50005, .payload_len = 8),
		 .meta = true},
	};
	static const struct step collide[] = {
		{.name = "masqueraded WAN:50005 -> remote1:9999 leaves "
			 "untouched",
		 .prog = PROG_TC_EGRESS,
		 .in = UDP(WAN, 50005, REM1, 9999, .payload_len = 8),
		 .verdict = TC_ACT_OK,
		 .same = true},
	};
	struct ptrig_flow f;
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, UDP_, 27015);
	ASSERT_OK(open_trigger(c, id, UDP_, LAN1, REM1, 27015, 0));
	RUN_STEPS(c, open_flow);
	ASSERT_OK(flow_get(c, REM1, 9999, 50005, UDP_, &f));
	RUN_STEPS(c, collide);
	ASSERT_TRUE(flow_get(c, REM1, 9999, 50005, UDP_, &f) != 0,
		    "flow dropped");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FLOW_COLLISION), 1, "FLOW_COLLISION");
	return 0;
}

/* ------------------------------------------------------------- events -- */

struct ev_log {
	struct ptrig_event ev[64];
	int n[PTRIG_EV_FLOW_REFUSED + 1];
	int total;
};

static int on_event(void *ctx, void *data, size_t len)
{
	struct ev_log *log = ctx;
	const struct ptrig_event *ev = data;

	if (len < sizeof(*ev) || ev->type > PTRIG_EV_FLOW_REFUSED)
		return 0;
	if (log->total < 64)
		log->ev[log->total] = *ev;
	log->total++;
	log->n[ev->type]++;
	return 0;
}

static const struct ptrig_event *ev_find(const struct ev_log *log,
					 uint32_t type)
{
	int i;

	for (i = 0; i < log->total && i < 64; i++)
		if (log->ev[i].type == type)
			return &log->ev[i];
	return NULL;
}

/* What test_events does to the datapath; the events are read after. */
static int events_traffic(struct tctx *c, uint32_t id)
{
	static const struct step inbound[] = {
		{.name = "SYN opens a flow",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_SYN),
		 .meta = true},
		{.name = "SYN to a closed rule's port is refused",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40001, WAN, 50005, TH_SYN),
		 .verdict = XDP_PASS,
		 .same = true},
	};
	int i;

	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	for (i = 0; i < 20; i++)
		ASSERT_OK(send_trigger(c, TCP_, LAN2, 50001, REM1, 6667));
	RUN_STEPS(c, inbound);
	return 0;
}

/* The ring buffer carries one event per trigger opened and flow opened,
 * with the right fields; conflicts (which a conflicting host's session
 * causes per packet) are limited to one per 10 ms while the counter stays
 * exact. */
static int test_events(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
		rule("ftp", P_TCP, 21, 21, P_TCP, 50000, 50010),
	};
	struct ev_log log = {0};
	const struct ptrig_event *ev;
	struct ring_buffer *rb;
	uint32_t id;
	int err;

	ASSERT_OK(tctx_setup(c, rules, 2));
	id = rule_id(c, TCP_, 6667);
	rb = ring_buffer__new(c->fds.events, on_event, &log, NULL);
	ASSERT_TRUE(rb != NULL, "ring_buffer__new: %s", strerror(errno));
	err = events_traffic(c, id);
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	if (err)
		return err;

	ASSERT_EQ(log.n[PTRIG_EV_TRIGGER_OPENED], 1, "trigger_opened events");
	ev = ev_find(&log, PTRIG_EV_TRIGGER_OPENED);
	ASSERT_EQ(ev->rule_id, id, "trigger_opened rule");
	ASSERT_IP(ev->owner, LAN1, "trigger_opened owner");
	ASSERT_IP(ev->remote, REM1, "trigger_opened remote");
	ASSERT_EQ(ntohs(ev->remote_port), 6667, "trigger_opened remote port");
	ASSERT_EQ(ev->proto, IPPROTO_TCP, "trigger_opened proto");

	ASSERT_EQ(cnt_get(c, id).conflicts, 20, "conflicts counter (exact)");
	/* 20 packets back to back: one event, a second one only if the run
	 * was preempted past the 10 ms gap. */
	ASSERT_TRUE(log.n[PTRIG_EV_CONFLICT] >= 1 &&
			    log.n[PTRIG_EV_CONFLICT] <= 2,
		    "conflict events: %d for 20 conflicting packets",
		    log.n[PTRIG_EV_CONFLICT]);
	ev = ev_find(&log, PTRIG_EV_CONFLICT);
	ASSERT_IP(ev->owner, LAN2, "conflict names the conflicting host");

	ASSERT_EQ(log.n[PTRIG_EV_FLOW_OPENED], 1, "flow_opened events");
	ev = ev_find(&log, PTRIG_EV_FLOW_OPENED);
	ASSERT_IP(ev->owner, LAN1, "flow_opened owner");
	ASSERT_IP(ev->remote, REM1, "flow_opened remote");
	ASSERT_EQ(ntohs(ev->remote_port), 40000, "flow_opened remote port");
	ASSERT_EQ(ntohs(ev->local_port), 113, "flow_opened open port");

	ASSERT_EQ(log.n[PTRIG_EV_FLOW_REFUSED], 1, "flow_refused events");
	ev = ev_find(&log, PTRIG_EV_FLOW_REFUSED);
	ASSERT_EQ(ntohs(ev->local_port), 50005, "flow_refused open port");
	return 0;
}

/* ---------------------------------------------------------- TC ingress -- */

#ifndef SO_RCVMARK
#define SO_RCVMARK 75
#endif

static int write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* In the private netns only: lo up, LAN1 on lo (so the DNATed datagram is
 * delivered locally), no reverse-path filter for the remote source. */
static int lo_prepare(void)
{
	struct sockaddr_in *sin;
	struct ifreq ifr;
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_TRUE(fd >= 0, "socket: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr))
			err = -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo:ptrig");
	sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(LAN1);
	if (!err && ioctl(fd, SIOCSIFADDR, &ifr) && errno != EEXIST)
		err = -errno;
	close(fd);
	ASSERT_TRUE(err == 0, "configuring lo: %s", strerror(-err));
	ASSERT_OK(write_sysctl("/proc/sys/net/ipv4/conf/all/rp_filter", "0"));
	ASSERT_OK(write_sysctl("/proc/sys/net/ipv4/conf/lo/rp_filter", "0"));
	return 0;
}

/* Receive one datagram (waiting up to 1 s) and its skb->mark. */
static int recv_with_mark(int fd, uint8_t *buf, size_t len, ssize_t *n,
			  uint32_t *mark, struct sockaddr_in *from)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} cb;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr msg = {
		.msg_name = from,
		.msg_namelen = sizeof(*from),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cb.buf,
		.msg_controllen = sizeof(cb.buf),
	};
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	struct cmsghdr *cm;

	*mark = 0;
	ASSERT_TRUE(poll(&pfd, 1, 1000) == 1,
		    "no datagram delivered to %s:10000 within 1 s", "LAN1");
	*n = recvmsg(fd, &msg, MSG_DONTWAIT);
	ASSERT_TRUE(*n >= 0, "recvmsg: %s", strerror(errno));
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_MARK)
			memcpy(mark, CMSG_DATA(cm), sizeof(*mark));
	return 0;
}

/* XDP "live frames" test_run: XDP_PASS frames become skbs received on the
 * namespace's loopback, metadata included, and walk the real stack. */
static int xdp_live(const struct tctx *c, const struct pkt_spec *s)
{
	uint8_t b[PKT_MAX];
	size_t len = pkt_build(s, b);
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = b,
		    .data_size_in = (uint32_t)len, .repeat = 1,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

	ASSERT_TRUE(bpf_prog_test_run_opts(prog_fd(c, PROG_XDP), &o) == 0,
		    "live XDP test_run: %s", strerror(errno));
	return 0;
}

/* The marker path, through the stack of the private netns: XDP live frames
 * -> skb with metadata on lo -> ptrig_tc_ingress on lo's clsact -> UDP
 * socket, which reports skb->mark with SO_RCVMARK. */
static int tc_ingress_live(struct tctx *c, struct bpf_tc_hook *hook)
{
	struct pkt_spec in = UDP(REM1, 5004, WAN, 10000, .payload_len = 16,
				 .mac_zero = true);
	struct step reply = {
		.name = "owner's reply",
		.prog = PROG_TC_EGRESS,
		.in = UDP(LAN1, 10000, REM1, 5004, .payload_len = 4),
		.verdict = TC_ACT_OK,
		.exp = UDP(WAN, 10000, REM1, 5004, .payload_len = 4),
	};
	LIBBPF_OPTS(bpf_tc_opts, tco, .handle = 1, .priority = 1);
	uint8_t exp[PKT_MAX], got[PKT_MAX];
	struct sockaddr_in sa, from;
	int fd, one = 1, err;
	struct run_res r;
	uint32_t id, mark;
	size_t exp_len;
	ssize_t n;

	ASSERT_OK(lo_prepare());
	hook->ifindex = (int)if_nametoindex("lo");
	ASSERT_TRUE(hook->ifindex > 0, "no lo");
	err = bpf_tc_hook_create(hook);
	ASSERT_TRUE(err == 0 || err == -EEXIST, "clsact on lo: %s",
		    strerror(-err));
	tco.prog_fd = prog_fd(c, PROG_TC_INGRESS);
	err = bpf_tc_attach(hook, &tco);
	ASSERT_TRUE(err == 0, "attach tc ingress on lo: %s", strerror(-err));

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_TRUE(fd >= 0, "socket: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(10000);
	sa.sin_addr.s_addr = htonl(LAN1);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	if (!err && setsockopt(fd, SOL_SOCKET, SO_RCVMARK, &one, sizeof(one)))
		err = -errno;
	if (err) {
		close(fd);
		FAIL_MSG(__FILE__, __LINE__, "socket setup: %s",
			 strerror(-err));
		return -1;
	}

	/* New flow: XDP adds the marker, TC ingress sets the mark bit. The
	 * frame carries lo's (zero) MAC, or the stack drops it as not ours. */
	id = rule_id(c, UDP_, 5060);
	err = open_trigger(c, id, UDP_, LAN1, REM1, 5060, 0);
	if (!err)
		err = xdp_live(c, &in);
	if (!err)
		err = recv_with_mark(fd, got, sizeof(got), &n, &mark, &from);
	if (err) {
		close(fd);
		return -1;
	}
	exp_len = pkt_build(&in, exp);
	if (mark != PTRIG_DEFAULT_MARK || stat_get(c, PTRIG_STAT_MARKED) != 1 ||
	    n != in.payload_len || from.sin_addr.s_addr != htonl(REM1) ||
	    from.sin_port != htons(5004) ||
	    memcmp(got, exp + exp_len - in.payload_len, in.payload_len)) {
		close(fd);
		FAIL_MSG(__FILE__, __LINE__,
			 "marked datagram: mark %#x (want %#x), MARKED %llu "
			 "(want 1), %zd bytes (want %u), from %#x:%u",
			 mark, PTRIG_DEFAULT_MARK,
			 (unsigned long long)stat_get(c, PTRIG_STAT_MARKED), n,
			 in.payload_len, ntohl(from.sin_addr.s_addr),
			 ntohs(from.sin_port));
		return -1;
	}
	/* It reached the socket, so the kernel's own UDP checksum check
	 * accepted the DNATed datagram too. */

	/* Once the owner has answered there is no marker, so no mark. */
	err = run_step_at(c, &reply, &r, __FILE__, __LINE__);
	if (!err)
		err = xdp_live(c, &in);
	if (!err)
		err = recv_with_mark(fd, got, sizeof(got), &n, &mark, &from);
	close(fd);
	if (err)
		return -1;
	ASSERT_EQ(mark, 0, "mark of an answered flow's datagram");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_MARKED), 1, "MARKED");
	ASSERT_EQ(cnt_get(c, id).pkts_in, 2, "pkts_in");
	return 0;
}

static int test_tc_ingress(struct tctx *c)
{
	const struct ptrig_rule_spec rules[] = {
		rule("sip", P_UDP, 5060, 5060, P_UDP, 10000, 10010),
	};
	static const struct step plain[] = {
		{.name = "no metadata: mark 0 stays 0",
		 .prog = PROG_TC_INGRESS,
		 .in = UDP(REM1, 5004, LAN1, 10000, .payload_len = 8),
		 .verdict = TC_ACT_OK,
		 .same = true},
		{.name = "no metadata: other mark bits kept",
		 .prog = PROG_TC_INGRESS,
		 .in = TCP(REM1, 40000, LAN1, 113, TH_SYN),
		 .verdict = TC_ACT_OK,
		 .same = true,
		 .mark_in = 0x5},
		{.name = "no metadata, runt frame",
		 .prog = PROG_TC_INGRESS,
		 .in = {.l3 = ETH_P_ARP, .trunc = ETH_HLEN},
		 .verdict = TC_ACT_OK,
		 .same = true,
		 .mark_in = 0x80000000},
	};
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	struct __sk_buff skb;
	uint8_t b[PKT_MAX];
	struct run_res r;
	size_t i, len;
	int err;

	ASSERT_OK(tctx_setup(c, rules, 1));
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (run_step_at(c, &plain[i], &r, __FILE__, __LINE__))
			return -1;
		ASSERT_EQ(r.mark, plain[i].mark_in, plain[i].name);
	}
	ASSERT_EQ(stat_get(c, PTRIG_STAT_MARKED), 0, "MARKED without marker");

	/* skb test_run cannot carry metadata: a ctx with data_meta set is
	 * rejected (EINVAL on 6.18). Should a kernel accept it, this test
	 * must be extended to use it. */
	{
		LIBBPF_OPTS(bpf_test_run_opts, o);

		len = pkt_build(&plain[0].in, b);
		memset(&skb, 0, sizeof(skb));
		skb.data_meta = 4;
		o.data_in = b;
		o.data_size_in = (uint32_t)len;
		o.ctx_in = &skb;
		o.ctx_size_in = sizeof(skb);
		err = bpf_prog_test_run_opts(prog_fd(c, PROG_TC_INGRESS), &o);
		ASSERT_TRUE(err != 0, "skb test_run accepted data_meta now");
	}

	if (!private_netns) {
		printf("# no private netns: marker-to-mark path not run\n");
		return 1;
	}
	err = tc_ingress_live(c, &hook);
	/* Removes the clsact qdisc with the filter (private netns). */
	if (hook.ifindex > 0) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	return err;
}

/* -------------------------------------------------------------- reload -- */

static int test_reload(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
		rule("ftp", P_TCP, 21, 21, P_TCP, 50000, 50010),
	};
	static const struct step syn113[] = {
		{.name = "after an identical reload: SYN to 113 DNATed",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_SYN),
		 .meta = true},
	};
	static const struct step changed[] = {
		{.name = "open side changed: SYN to the new port refused",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40001, WAN, 114, TH_SYN),
		 .verdict = XDP_PASS,
		 .same = true},
		{.name = "open side changed: SYN to the old port, no rule",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40002, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .same = true},
		{.name = "the flow opened before the change lives on",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_ACK),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_ACK),
		 .meta = true},
	};
	struct ptrig_config cfg0, cfg;
	struct ptrig_rule r0, r;
	struct ptrig_trigger t;
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 2));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(rule_get(c, id, &r0));
	ASSERT_OK(cfg_get(c, &cfg0));
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));

	/* Same rules again (and a timeout change, which keeps triggers). */
	rules[0].timeout_s = 900;
	ASSERT_OK(rules_push(c, rules, 2));
	ASSERT_OK(cfg_get(c, &cfg));
	ASSERT_TRUE(cfg.active_set != cfg0.active_set,
		    "active set not flipped");
	ASSERT_EQ(rule_id(c, TCP_, 6667), id, "rule id kept by name");
	ASSERT_OK(rule_get(c, id, &r));
	ASSERT_EQ(r.generation, r0.generation, "generation after same push");
	ASSERT_EQ(r.trigger_timeout_s, 900, "new timeout applied");
	ASSERT_EQ(cnt_get(c, id).triggers_opened, 1, "counters kept");
	RUN_STEPS(c, syn113);

	/* Open ports changed: a different rule as far as triggers go. */
	rules[0].open.ranges[0].lo = 114;
	rules[0].open.ranges[0].hi = 114;
	ASSERT_OK(rules_push(c, rules, 2));
	ASSERT_EQ(rule_id(c, TCP_, 6667), id, "rule id kept by name");
	ASSERT_OK(rule_get(c, id, &r));
	ASSERT_TRUE(r.generation != r0.generation,
		    "generation unchanged although the open ports changed");
	ASSERT_OK(trig_get(c, id, 0, &t));
	ASSERT_EQ(t.generation, r0.generation, "old trigger's generation");
	RUN_STEPS(c, changed);
	ASSERT_EQ(cnt_get(c, id).refused_closed, 1, "refused_closed");

	/* The owner triggers again: a new trigger of the new generation. */
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	ASSERT_OK(trig_get(c, id, 0, &t));
	ASSERT_EQ(t.generation, r.generation, "new trigger's generation");
	ASSERT_EQ(cnt_get(c, id).triggers_opened, 2, "triggers_opened");
	{
		struct step st = changed[0];

		st.name = "retriggered: SYN to the new port DNATed";
		st.same = false;
		st.exp = st.in;
		st.exp.daddr = LAN1;
		st.meta = true;
		RUN_STEP(c, &st);
	}
	return 0;
}

/* -------------------------------------------- flows outlive their rule -- */

/*
 * ptrig.h: "a flow outlives its rule and trigger". A reload that removes a
 * rule leaves its open ports marked PTRIG_OPEN_FLOWS_ONLY while flows live
 * there: existing flows keep being translated, new ones are not accepted.
 */
static int test_flow_outlives_rule(struct tctx *c)
{
	const struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
		rule("ftp", P_TCP, 21, 21, P_TCP, 50000, 50010),
	};
	static const struct step open[] = {
		{.name = "SYN opens a flow",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_SYN),
		 .meta = true},
		{.name = "owner answers",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40000, TH_SYN | TH_ACK),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 113, REM1, 40000, TH_SYN | TH_ACK)},
	};
	static const struct step after[] = {
		{.name = "rule removed: the flow's inbound ACK still DNATed",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_ACK),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_ACK)},
		{.name = "rule removed: the owner's reply still SNATed",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40000, TH_ACK),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 113, REM1, 40000, TH_ACK)},
		{.name = "rule removed: a new SYN to its port is untouched",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40001, WAN, 113, TH_SYN),
		 .verdict = XDP_PASS,
		 .same = true},
	};
	static const struct step expired[] = {
		{.name = "flow expired, pushed again: its ACK is untouched",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_ACK),
		 .verdict = XDP_PASS,
		 .same = true},
	};
	struct ptrig_flow f;
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 2));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	RUN_STEPS(c, open);
	ASSERT_OK(rules_push(c, rules + 1, 1)); /* "irc" removed */
	ASSERT_EQ(rule_id(c, TCP_, 6667), 0, "trigger port after removal");
	ASSERT_EQ(rule_of_port(c, PTRIG_L4_TCP, 113, false),
		  PTRIG_OPEN_FLOWS_ONLY, "open port of live flows");
	ASSERT_EQ(rule_of_port(c, PTRIG_L4_UDP, 113, false), 0,
		  "udp 113 (no flow there)");
	ASSERT_OK(flow_get(c, REM1, 40000, 113, TCP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_SEEN_REPLY, "flow still in the map");
	RUN_STEPS(c, after);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_PASS_NO_RULE), 1, "PASS_NO_RULE");
	ASSERT_EQ(cnt_get(c, id).pkts_in, 2, "pkts_in of the removed rule");

	/* Once the flow is idle past its timeout, the next push drops the
	 * port: nothing is looked up there any more. */
	ASSERT_OK(set_flow_last_seen(
		c, REM1, 40000, 113, TCP_,
		now_ns() - (PTRIG_DEFAULT_TCP_FLOW_TIMEOUT_S + 1) * SEC_NS));
	ASSERT_OK(rules_push(c, rules + 1, 1));
	ASSERT_EQ(rule_of_port(c, PTRIG_L4_TCP, 113, false), 0,
		  "open port after the flow expired");
	RUN_STEPS(c, expired);
	return 0;
}

/* --------------------------------------------------------------- main -- */

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	printf("# libbpf: ");
	return vprintf(fmt, ap);
}

static const struct test_case tests[] = {
	{.name = "harness: checksums and comparison can fail",
	 .fn = test_harness_selfcheck},
	{.name = "trigger, inbound flow, DNAT/SNAT, metadata marker",
	 .fn = test_trigger_flow},
	{.name = "conflict: first device owns the rule until idle",
	 .fn = test_conflict},
	{.name = "refresh only by the owner's trigger traffic",
	 .fn = test_refresh},
	{.name = "expiry closes new connections, flows live on",
	 .fn = test_expiry},
	{.name = "peer=trigger: per-peer triggers and refused_peer",
	 .fn = test_peer_trigger},
	{.name = "UDP translation, zero and 0xffff checksums", .fn = test_udp},
	{.name = "IPv4 options (IHL 6, 7, 15)", .fn = test_ip_options},
	{.name = "checksum sweep: 600 random DNAT + SNAT pairs",
	 .fn = test_csum_sweep},
	{.name = "untouched: fragments, truncated, IPv6, ARP, ICMP, ports",
	 .fn = test_untouched},
	{.name = "TCP non-SYN without a flow is untouched",
	 .fn = test_tcp_no_flow},
	{.name = "both: UDP trigger opens TCP and UDP", .fn = test_both},
	{.name = "10,000 rules: the last one works", .fn = test_many_rules},
	{.name = "flow timeouts: FIN, idle expiry, per-rule override",
	 .fn = test_flow_timeouts},
	{.name = "SYN on a closing flow opens a new, marked flow",
	 .fn = test_syn_reuses_closing_flow},
	{.name = "NAT collision: the tracked connection wins over a flow",
	 .fn = test_nat_collision},
	{.name = "events: fields, and conflicts rate-limited",
	 .fn = test_events},
	{.name = "TC ingress: marker becomes skb->mark", .fn = test_tc_ingress},
	{.name = "reload keeps triggers unless the rule changed",
	 .fn = test_reload},
	{.name = "flows outlive a reload that removes their rule",
	 .fn = test_flow_outlives_rule},
};

int main(void)
{
	struct timespec t0, t1;
	int failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_print);
	/* A private netns: ct lookups see no host connection, and the TC
	 * ingress test may configure its loopback freely. */
	if (unshare(CLONE_NEWNET) == 0)
		private_netns = true;
	else
		printf("# unshare(CLONE_NEWNET): %s; using the current netns\n",
		       strerror(errno));
	have_conntrack = access("/sys/module/nf_conntrack", F_OK) == 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	failed = run_tests(tests, sizeof(tests) / sizeof(tests[0]));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# %.1f s\n", (double)(t1.tv_sec - t0.tv_sec) +
				     (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return failed ? 1 : 0;
}
