// SPDX-License-Identifier: GPL-2.0
/* Fixture tests (BPF_PROG_TEST_RUN). Packet-level translation: UDP checksums,
 * IPv4 options, a checksum sweep, and everything that must pass untouched. */
#include "scenario.h"

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
		STEP_DNAT_NEW("inbound datagram is DNATed", UDP, REM1, 5004,
			      LAN1, 10000, .payload_len = 40),
		STEP_SNAT("reply datagram is SNATed", UDP, LAN1, 10000, REM1,
			  5004, .payload_len = 41),
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
		STEP_DNAT_NEW("second port of the open range, new flow", UDP,
			      REM1, 5005, LAN1, 10010, .payload_len = 1),
		STEP_UNTOUCHED("port past the open range: untouched", PROG_XDP,
			       XDP_PASS,
			       UDP(REM1, 5005, WAN, 10011, .payload_len = 1)),
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
		STEP_DNAT_NEW("SYN with IHL=6 (Router Alert) is DNATed", TCP,
			      REM1, 40000, LAN1, 113, TH_SYN,
			      .ip_opt_words = 1),
		{.name = "SYN with IHL=7 (RA, NOPs, EOL) is DNATed",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40001, WAN, 113, TH_SYN, .ip_opt_words = 2,
			   .tcp_mss = true),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40001, LAN1, 113, TH_SYN, .ip_opt_words = 2,
			    .tcp_mss = true),
		 .meta = true},
		STEP_DNAT_NEW("SYN with IHL=15 (40 bytes of options) is DNATed",
			      TCP, REM1, 40002, LAN1, 113, TH_SYN,
			      .ip_opt_words = 10),
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
	/* A first fragment is translated like its flow's other packets
	 * (test_frags.c); here its port has no rule. */
	{XDP_SAME("first fragment, port without a rule",
		  TCP(REM1, 40001, WAN, 114, TH_SYN, .frag = 0x2000,
		      .payload_len = 16)),
	 PTRIG_STAT_PASS_NO_RULE},
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
	/* Flows are keyed by their external address too: on another
	 * address, the same ports are no flow. */
	{XDP_SAME("existing flow's packet to another address",
		  TCP(REM1, 40000, OTHER_WAN, 113, TH_ACK)),
	 PTRIG_STAT_PASS_TCP_NO_FLOW},
	/* TC egress: trigger-port packets (would refresh or conflict) and
	 * replies of the existing flow (would be SNATed). */
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
		STEP_DNAT_NEW("control: SYN is DNATed", TCP, REM1, 40000, LAN1,
			      113, TH_SYN),
		STEP_OWNER_SYNACK(REM1, 40000, 113),
	};
	static const struct step control_again[] = {
		STEP_DNAT("control: flow's ACK is DNATed (answered: no marker)",
			  TCP, REM1, 40000, LAN1, 113, TH_ACK),
		STEP_DNAT_NEW("control: a new SYN is DNATed", TCP, REM1, 40009,
			      LAN1, 113, TH_SYN),
		STEP_SNAT("control: flow's reply is SNATed", TCP, LAN1, 113,
			  REM1, 40000, TH_ACK),
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
		STEP_UNTOUCHED(
			"ACK to the open port, no flow", PROG_XDP, XDP_PASS,
			TCP(REM1, 40000, WAN, 113, TH_ACK, .payload_len = 10)),
		STEP_UNTOUCHED("SYN-ACK to the open port, no flow", PROG_XDP,
			       XDP_PASS,
			       TCP(REM1, 40001, WAN, 113, TH_SYN | TH_ACK)),
		STEP_UNTOUCHED("RST to the open port, no flow", PROG_XDP,
			       XDP_PASS, TCP(REM1, 40002, WAN, 113, TH_RST)),
		STEP_UNTOUCHED("FIN-ACK to the open port, no flow", PROG_XDP,
			       XDP_PASS,
			       TCP(REM1, 40003, WAN, 113, TH_FIN | TH_ACK)),
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

static const struct test_case cases[] = {
	{.name = "harness: checksums and comparison can fail",
	 .fn = test_harness_selfcheck},
	{.name = "UDP translation, zero and 0xffff checksums", .fn = test_udp},
	{.name = "IPv4 options (IHL 6, 7, 15)", .fn = test_ip_options},
	{.name = "checksum sweep: 600 random DNAT + SNAT pairs",
	 .fn = test_csum_sweep},
	{.name = "untouched: fragments, truncated, IPv6, ARP, ICMP, ports",
	 .fn = test_untouched},
	{.name = "TCP non-SYN without a flow is untouched",
	 .fn = test_tcp_no_flow},
};

FIXTURE_MAIN(cases)
