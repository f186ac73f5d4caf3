// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture tests (BPF_PROG_TEST_RUN): the WAN's link layer.
 *   - loaded for an L3 link (PPP, tun, WireGuard: no link header, what the
 *     loader sets for ARPHRD_PPP and ARPHRD_NONE), the programs trigger,
 *     DNAT and mark an inbound connection, and rewrite the owner's replies,
 *     on packets that start at their IP header, every checksum exact;
 *   - a source address whose first two bytes read as the EtherType of IPv4
 *     (what an Ethernet parser finds on an L3 link) is translated exactly;
 *   - on an L3 link IPv6 and truncated packets pass untouched, counted;
 *   - on an Ethernet link, 802.1Q-tagged and PPPoE session frames (well
 *     formed or not) that carry a would-be inbound connection pass
 *     untouched, counted as not IPv4: a VLAN or PPPoE WAN is served on its
 *     own VLAN or PPP device, never by looking into foreign framing;
 *   - a reconnect (the WAN address changes): the remote's packets to the
 *     new address open a flow there once the trigger moved, not before,
 *     and the owner's replies leave from the new address.
 */
#include "scenario.h"

#define IRC_RULE rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113)
#define GAME_RULE rule("game", P_UDP, 27015, 27015, P_UDP, 27005, 27005)
/* A remote whose address begins 8.0: an Ethernet parser reading an L3
 * packet takes bytes 12-13 (the source's first two) as the EtherType, and
 * 0x0800 is IPv4. Fixture bytes only; nothing is sent anywhere. */
#define EIGHT_ZERO IP4(8, 0, 69, 1)
/* The address a reconnect gives the WAN. */
#define NEW_WAN IP4(203, 0, 113, 10)

static int inbound_handshake(struct tctx *c, uint32_t remote, uint16_t rport)
{
	struct step st[] = {
		STEP_DNAT_NEW("SYN", TCP, remote, rport, LAN1, 113, TH_SYN,
			      .tcp_mss = true),
		STEP_SNAT("owner's SYN-ACK", TCP, LAN1, 113, remote, rport,
			  TH_SYN | TH_ACK),
		{.name = "handshake ACK",
		 .prog = PROG_XDP,
		 .in = TCP(remote, rport, WAN, 113, TH_ACK, .ack = HS_ACK(113)),
		 .verdict = XDP_PASS,
		 .exp = TCP(remote, rport, LAN1, 113, TH_ACK,
			    .ack = HS_ACK(113))},
		{.name = "data in",
		 .prog = PROG_XDP,
		 .in = TCP(remote, rport, WAN, 113, TH_ACK | TH_PSH,
			   .payload_len = 700, .payload_seed = 3),
		 .verdict = XDP_PASS,
		 .exp = TCP(remote, rport, LAN1, 113, TH_ACK | TH_PSH,
			    .payload_len = 700, .payload_seed = 3)},
		{.name = "data out",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, remote, rport, TH_ACK | TH_PSH,
			   .payload_len = 900, .payload_seed = 4),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 113, remote, rport, TH_ACK | TH_PSH,
			    .payload_len = 900, .payload_seed = 4)},
	};
	struct ptrig_flow f;

	RUN_STEPS(c, st);
	ASSERT_OK(flow_get(c, remote, rport, 113, TCP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_SEEN_REPLY, "established flow flags");
	ASSERT_IP(f.owner, LAN1, "flow owner");
	return 0;
}

static int test_l3_inbound(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {IRC_RULE};
	struct ptrig_trigger t;
	uint32_t id;

	tl_link_l2 = PTRIG_L2_NONE;
	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	ASSERT_OK(trig_get(c, id, 0, &t));
	ASSERT_IP(t.owner, LAN1, "trigger owner (from an L3 packet)");
	ASSERT_OK(inbound_handshake(c, REM1, 40001));
	ASSERT_EQ(stat_get(c, PTRIG_STAT_XDP_TRANSLATED), 3, "xdp_translated");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_TC_EGRESS_TRANSLATED), 2,
		  "tc_egress_translated");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_PASS_MALFORMED), 0, "pass_malformed");
	return 0;
}

static int test_l3_eight_zero_source(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {IRC_RULE};
	uint32_t id;

	tl_link_l2 = PTRIG_L2_NONE;
	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	ASSERT_OK(inbound_handshake(c, EIGHT_ZERO, 40002));
	return 0;
}

static int test_l3_not_ipv4(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {IRC_RULE};
	struct step st[] = {
		STEP_UNTOUCHED(
			"IPv6 SYN to the open port", PROG_XDP, XDP_PASS,
			TCP(REM1, 40003, WAN, 113, TH_SYN, .l3 = ETH_P_IPV6)),
		STEP_UNTOUCHED(
			"IPv6 from the LAN to the trigger port", PROG_TC_EGRESS,
			TC_ACT_OK,
			TCP(LAN1, 40004, REM1, 6667, TH_SYN, .l3 = ETH_P_IPV6)),
		{.name = "IPv4 cut inside its header",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40005, WAN, 113, TH_SYN,
			   .trunc = ETH_HLEN + 16),
		 .verdict = XDP_PASS,
		 .same = true},
		{.name = "IPv4 cut inside the TCP header",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40006, WAN, 113, TH_SYN,
			   .trunc = ETH_HLEN + 20 + 10),
		 .verdict = XDP_PASS,
		 .same = true},
	};
	uint32_t id;

	tl_link_l2 = PTRIG_L2_NONE;
	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	RUN_STEPS(c, st);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_PASS_NOT_IPV4), 1,
		  "pass_not_ipv4 (XDP)");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_PASS_MALFORMED), 2,
		  "pass_malformed (XDP)");
	ASSERT_EQ(map_count(c->fds.embryo, sizeof(struct ptrig_flow_key)), 0,
		  "flows created");
	return 0;
}

/* Insert `tag` (bytes) between the MAC addresses and the rest of frame
 * `f`: the EtherType that follows the tag is the frame's own. */
static size_t insert_after_macs(uint8_t *f, size_t len, const uint8_t *tag,
				size_t tag_len)
{
	memmove(f + 12 + tag_len, f + 12, len - 12);
	memcpy(f + 12, tag, tag_len);
	return len + tag_len;
}

/* Run frame `in` through prog; it must pass, unchanged. */
static int pass_unchanged(struct tctx *c, enum prog_id prog, const uint8_t *in,
			  size_t len, const char *what)
{
	struct run_res r;

	ASSERT_OK(run_prog(c, prog, in, len, 0,
			   prog == PROG_XDP ? 0 : PRUN_IIF_LAN, &r));
	ASSERT_EQ(r.retval, prog == PROG_XDP ? XDP_PASS : TC_ACT_OK, what);
	ASSERT_EQ(r.meta_len, 0, what);
	if (pkt_compare(__FILE__, __LINE__, what, r.pkt, r.pkt_len, in, len))
		return -1;
	return 0;
}

static int test_ether_foreign_framing(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {IRC_RULE};
	struct pkt_spec syn =
		TCP(REM1, 40007, WAN, 113, TH_SYN, .tcp_mss = true);
	struct pkt_spec trig = TCP(LAN1, 40008, REM1, 6667, TH_SYN);
	/* 802.1Q, VLAN 7, then IPv4; and an 802.1ad outer tag before it. */
	static const uint8_t vlan[] = {0x81, 0x00, 0x00, 0x07};
	static const uint8_t qinq[] = {0x88, 0xa8, 0x00, 0x64,
				       0x81, 0x00, 0x00, 0x07};
	uint8_t f[PKT_MAX + 64];
	size_t len, n_pass = 0;
	uint32_t id;
	int i;

	tl_link_l2 = PTRIG_L2_ETHER;
	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));

	len = insert_after_macs(f, pkt_build(&syn, f), vlan, sizeof(vlan));
	ASSERT_OK(pass_unchanged(c, PROG_XDP, f, len, "802.1Q-tagged SYN"));
	n_pass++;
	len = insert_after_macs(f, pkt_build(&syn, f), qinq, sizeof(qinq));
	ASSERT_OK(pass_unchanged(c, PROG_XDP, f, len, "802.1ad+Q SYN"));
	n_pass++;
	len = insert_after_macs(f, pkt_build(&trig, f), vlan, sizeof(vlan));
	ASSERT_OK(pass_unchanged(c, PROG_TC_EGRESS, f, len,
				 "802.1Q-tagged trigger from the LAN"));

	/* PPPoE session frames: EtherType 0x8864, ver/type 0x11, code 0,
	 * session id, length, then PPP protocol 0x0021 (IPv4). Variants: well
	 * formed, a length far past the frame, a wrong version, cut short. */
	for (i = 0; i < 4; i++) {
		uint8_t hdr[8] = {0x11, 0x00, 0x12, 0x34, 0, 0, 0x00, 0x21};
		uint16_t plen;

		len = pkt_build(&syn, f);
		plen = (uint16_t)(len - ETH_HLEN + 2);
		hdr[4] = i == 1 ? 0xff : plen >> 8;
		hdr[5] = i == 1 ? 0xff : plen & 0xff;
		if (i == 2)
			hdr[0] = 0x21;
		f[12] = 0x88;
		f[13] = 0x64;
		memmove(f + ETH_HLEN + sizeof(hdr), f + ETH_HLEN,
			len - ETH_HLEN);
		memcpy(f + ETH_HLEN, hdr, sizeof(hdr));
		len += sizeof(hdr);
		if (i == 3)
			len = ETH_HLEN + sizeof(hdr) + 10;
		ASSERT_OK(pass_unchanged(c, PROG_XDP, f, len,
					 "PPPoE session frame"));
		n_pass++;
	}
	ASSERT_EQ(stat_get(c, PTRIG_STAT_PASS_NOT_IPV4), n_pass,
		  "pass_not_ipv4 (XDP)");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_XDP_TRANSLATED), 0, "xdp_translated");
	ASSERT_EQ(map_count(c->fds.embryo, sizeof(struct ptrig_flow_key)), 0,
		  "flows created");
	return 0;
}

/* The trigger's external address becomes NEW_WAN, as the owner's next
 * trigger packet leaving from the new address makes it. */
static int move_trigger(struct tctx *c, uint32_t id, uint32_t addr)
{
	struct ptrig_trigger t;

	ASSERT_OK(trig_get(c, id, 0, &t));
	t.external = htonl(addr);
	t.last_seen_ns = now_ns();
	ASSERT_OK(trig_put(c, id, 0, &t));
	return 0;
}

static int test_reconnect_new_address(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {GAME_RULE};
	/* An established UDP flow of the old address. */
	struct step before[] = {
		STEP_DNAT_NEW("remote's datagram", UDP, REM1, 27015, LAN1,
			      27005, .payload_len = 40),
		STEP_SNAT("owner's answer", UDP, LAN1, 27005, REM1, 27015,
			  .payload_len = 40),
		STEP_DNAT("remote's second datagram", UDP, REM1, 27015, LAN1,
			  27005, .payload_len = 41),
	};
	/* After the reconnect, before the trigger moved: the same remote
	 * tuple to the new address is not the flow's, and opens nothing. */
	struct step early[] = {
		STEP_UNTOUCHED(
			"to the new address, trigger still on the old one",
			PROG_XDP, XDP_PASS,
			UDP(REM1, 27015, NEW_WAN, 27005, .payload_len = 42)),
	};
	/* Once the trigger moved, the same tuple opens a new flow on the new
	 * address; replies leave from it. */
	struct step after[] = {
		{.name = "to the new address after the trigger moved",
		 .prog = PROG_XDP,
		 .in = UDP(REM1, 27015, NEW_WAN, 27005, .payload_len = 43),
		 .verdict = XDP_PASS,
		 .exp = UDP(REM1, 27015, LAN1, 27005, .payload_len = 43),
		 .meta = true},
		{.name = "owner's answer leaves from the new address",
		 .prog = PROG_TC_EGRESS,
		 .in = UDP(LAN1, 27005, REM1, 27015, .payload_len = 44),
		 .verdict = TC_ACT_OK,
		 .exp = UDP(NEW_WAN, 27005, REM1, 27015, .payload_len = 44)},
	};
	struct ptrig_flow f;
	uint32_t id;

	tl_link_l2 = PTRIG_L2_NONE;
	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, UDP_, 27015);
	ASSERT_OK(open_trigger(c, id, UDP_, LAN1, REM1, 27015, 0));
	RUN_STEPS(c, before);
	ASSERT_OK(flow_get(c, REM1, 27015, 27005, UDP_, &f));
	ASSERT_IP(f.external, WAN, "flow external before the reconnect");

	RUN_STEPS(c, early);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_PASS_NOT_EXTERNAL), 1,
		  "pass_not_external before the trigger moved");
	ASSERT_OK(flow_get(c, REM1, 27015, 27005, UDP_, &f));
	ASSERT_IP(f.external, WAN, "flow kept while the trigger is unmoved");

	ASSERT_OK(move_trigger(c, id, NEW_WAN));
	RUN_STEPS(c, after);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_PASS_NOT_EXTERNAL), 1,
		  "pass_not_external: nothing more after the trigger moved");
	/* Flows are keyed by their external address: the old address's
	 * flow (that address is gone) idles out on its own. */
	ASSERT_EQ(map_count(c->fds.flows, sizeof(struct ptrig_flow_key)), 1,
		  "the old address's established flow waits to idle out");
	ASSERT_EQ(map_count(c->fds.embryo, sizeof(struct ptrig_flow_key)), 1,
		  "the new address's flow is open");
	return 0;
}

/* A spoofed SYN with a live flow's tuple towards an address that is not
 * the trigger's moves nothing (Ethernet WAN, two addresses on it). */
static int test_reconnect_spoof_other_address(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {IRC_RULE};
	struct step st[] = {
		STEP_UNTOUCHED(
			"spoofed SYN with the flow's tuple to another address",
			PROG_XDP, XDP_PASS,
			TCP(REM1, 40009, OTHER_WAN, 113, TH_SYN)),
	};
	struct ptrig_flow f;
	uint32_t id;

	tl_link_l2 = PTRIG_L2_ETHER;
	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	ASSERT_OK(inbound_handshake(c, REM1, 40009));
	RUN_STEPS(c, st);
	ASSERT_OK(flow_get(c, REM1, 40009, 113, TCP_, &f));
	ASSERT_IP(f.external, WAN, "the established flow stays");
	ASSERT_EQ(f.flags, PTRIG_FLOW_SEEN_REPLY, "and stays established");
	return 0;
}

static const struct test_case cases[] = {
	{.name = "L3 link: trigger, inbound DNAT and mark, replies rewritten",
	 .fn = test_l3_inbound},
	{.name = "L3 link: a source 8.0.x.x is not read as an EtherType",
	 .fn = test_l3_eight_zero_source},
	{.name = "L3 link: IPv6 and truncated IPv4 pass untouched, counted",
	 .fn = test_l3_not_ipv4},
	{.name = "Ethernet link: VLAN-tagged and PPPoE frames pass untouched",
	 .fn = test_ether_foreign_framing},
	{.name = "reconnect: the new address takes over once the trigger moved",
	 .fn = test_reconnect_new_address},
	{.name = "a SYN to another address cannot replace a live flow",
	 .fn = test_reconnect_spoof_other_address},
};

FIXTURE_MAIN(cases)
