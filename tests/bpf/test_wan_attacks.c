// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture tests (BPF_PROG_TEST_RUN): what a stranger on the WAN can send
 * with any source address, and what it must not achieve.
 *   - a SYN flood cannot evict established flows (embryonic flows have a
 *     table of their own), and new connections still open afterwards;
 *   - the owner's SYN-ACK to a spoofed source does not establish a flow:
 *     only the ACK of exactly that SYN-ACK does;
 *   - a blind RST or FIN (bad checksum or not) does not shorten a flow, and
 *     a SYN on a live flow cannot hand it to another LAN host;
 *   - a packet whose IPv4 total length leaves no room for its L4 header
 *     passes untouched.
 */
#include "scenario.h"

#define IRC_RULE rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113)

/* A remote connects in to WAN:lport and completes the handshake with
 * lanhost1, the trigger's owner. */
static int establish(struct tctx *c, uint32_t remote, uint16_t rport,
		     uint16_t lport)
{
	struct step st[3] = {
		STEP_DNAT_NEW("SYN", TCP, remote, rport, LAN1, lport, TH_SYN),
		STEP_OWNER_SYNACK(remote, rport, lport),
		STEP_HANDSHAKE_ACK(remote, rport, lport),
	};
	struct ptrig_flow f;

	RUN_STEPS(c, st);
	ASSERT_OK(flow_get(c, remote, rport, lport, TCP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_SEEN_REPLY, "established flow flags");
	return 0;
}

#define MAX_FLOWS 512
#define N_ESTABLISHED 48
#define FLOOD (16 * MAX_FLOWS)

static int test_syn_flood(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {IRC_RULE};
	struct ptrig_rule_counters k;
	int i, embryos, lost = 0;
	uint32_t id;

	ASSERT_OK(tctx_setup_sized(c, rules, 1, MAX_FLOWS));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	for (i = 0; i < N_ESTABLISHED; i++)
		ASSERT_OK(establish(c, REM1, 41000 + i, 113));

	/* Spoofed SYNs from 250 addresses x many ports: each one is a new
	 * embryonic flow, DNATed and marked like any connection attempt. */
	for (i = 0; i < FLOOD; i++) {
		uint32_t src = IP4(192, 0, 2, 1 + i % 250);
		uint16_t sport = (uint16_t)(1024 + i / 250);
		struct step st = {
			.name = "spoofed SYN",
			.prog = PROG_XDP,
			.in = TCP(src, sport, WAN, 113, TH_SYN),
			.verdict = XDP_PASS,
			.exp = TCP(src, sport, LAN1, 113, TH_SYN),
			.meta = true,
		};

		RUN_STEP(c, &st);
	}
	/* Every established connection still goes through. */
	for (i = 0; i < N_ESTABLISHED; i++) {
		struct step st = {
			.name = "established flow's data after the flood",
			.prog = PROG_XDP,
			.in = TCP(REM1, 41000 + i, WAN, 113, TH_ACK | TH_PSH,
				  .payload_len = 10),
			.verdict = XDP_PASS,
			.exp = TCP(REM1, 41000 + i, LAN1, 113, TH_ACK | TH_PSH,
				   .payload_len = 10),
		};
		struct run_res r;

		tl_quiet = true;
		if (run_step_at(c, &st, &r, __FILE__, __LINE__))
			lost++;
		tl_quiet = false;
	}
	printf("# %d spoofed SYNs, flow table %d, embryonic table %u: %d of "
	       "%d established connections lost\n",
	       FLOOD, MAX_FLOWS, ptrig_embryo_entries(MAX_FLOWS), lost,
	       N_ESTABLISHED);
	ASSERT_EQ(lost, 0, "established connections lost to the flood");
	k = cnt_get(c, id);
	ASSERT_EQ(k.flows_opened, N_ESTABLISHED + FLOOD,
		  "flows_opened (exact)");
	ASSERT_EQ(k.flows_established, N_ESTABLISHED, "flows_established");
	ASSERT_EQ(map_count(c->fds.flows, sizeof(struct ptrig_flow_key)),
		  N_ESTABLISHED, "established entries after the flood");
	embryos = map_count(c->fds.embryo, sizeof(struct ptrig_flow_key));
	ASSERT_TRUE(embryos > 0 &&
			    embryos <= (int)ptrig_embryo_entries(MAX_FLOWS),
		    "embryonic entries %d, table of %u", embryos,
		    ptrig_embryo_entries(MAX_FLOWS));
	/* And a new legitimate connection opens. */
	ASSERT_OK(establish(c, REM2, 45000, 113));
	ASSERT_EQ(map_count(c->fds.flows, sizeof(struct ptrig_flow_key)),
		  N_ESTABLISHED + 1, "established entries");
	return 0;
}

/* The owner answers a spoofed SYN; the stranger, who never sees that
 * SYN-ACK, cannot complete the handshake by guessing. */
static int test_synack_does_not_establish(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {IRC_RULE};
	static const struct step steps[] = {
		STEP_DNAT_NEW("spoofed SYN from 192.0.2.9:4444", TCP, STRANGER,
			      4444, LAN1, 113, TH_SYN),
		STEP_OWNER_SYNACK(STRANGER, 4444, 113),
		STEP_DNAT("blind ACK, guessed acknowledgement", TCP, STRANGER,
			  4444, LAN1, 113, TH_ACK),
		{.name = "blind ACK, off by 65536",
		 .prog = PROG_XDP,
		 .in = TCP(STRANGER, 4444, WAN, 113, TH_ACK,
			   .ack = HS_ACK(113) + 65536),
		 .verdict = XDP_PASS,
		 .exp = TCP(STRANGER, 4444, LAN1, 113, TH_ACK,
			    .ack = HS_ACK(113) + 65536)},
		{.name = "blind SYN-ACK with the right number does not count",
		 .prog = PROG_XDP,
		 .in = TCP(STRANGER, 4444, WAN, 113, TH_SYN | TH_ACK,
			   .ack = HS_ACK(113)),
		 .verdict = XDP_PASS,
		 .exp = TCP(STRANGER, 4444, LAN1, 113, TH_SYN | TH_ACK,
			    .ack = HS_ACK(113))},
	};
	static const struct step ack[] = {
		{.name = "the ACK of exactly the SYN-ACK establishes",
		 .prog = PROG_XDP,
		 .in = TCP(STRANGER, 4444, WAN, 113, TH_ACK,
			   .ack = HS_ACK(113)),
		 .verdict = XDP_PASS,
		 .exp = TCP(STRANGER, 4444, LAN1, 113, TH_ACK,
			    .ack = HS_ACK(113))},
	};
	struct ptrig_flow f;
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	RUN_STEPS(c, steps);
	ASSERT_OK(flow_get(c, STRANGER, 4444, 113, TCP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_EMBRYONIC | PTRIG_FLOW_SEEN_REPLY,
		  "half-open flow stays embryonic");
	ASSERT_EQ(ptrig_flow_idle_timeout(&f), PTRIG_EMBRYONIC_TIMEOUT_S,
		  "half-open flow's timeout");
	ASSERT_EQ(map_count(c->fds.flows, sizeof(struct ptrig_flow_key)), 0,
		  "established entries");
	ASSERT_EQ(cnt_get(c, id).flows_established, 0, "flows_established");
	/* The check is the discriminator: the right number establishes. */
	RUN_STEPS(c, ack);
	ASSERT_OK(flow_get(c, STRANGER, 4444, 113, TCP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_SEEN_REPLY, "established");
	return 0;
}

/* UDP is established once traffic went both ways. */
static int test_udp_both_ways(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {
		rule("game", P_UDP, 27015, 27015, P_UDP, 27000, 27000),
	};
	static const struct step in1[] = {
		STEP_DNAT_NEW("remote's first datagram", UDP, REM1, 9000, LAN1,
			      27000, .payload_len = 8),
		STEP_SNAT("owner answers", UDP, LAN1, 27000, REM1, 9000,
			  .payload_len = 8),
	};
	static const struct step in2[] = {
		STEP_DNAT("remote's next datagram", UDP, REM1, 9000, LAN1,
			  27000, .payload_len = 8),
	};
	struct ptrig_flow f;
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, UDP_, 27015);
	ASSERT_OK(open_trigger(c, id, UDP_, LAN1, REM1, 27015, 0));
	RUN_STEPS(c, in1);
	ASSERT_OK(flow_get(c, REM1, 9000, 27000, UDP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_EMBRYONIC | PTRIG_FLOW_SEEN_REPLY,
		  "answered once: still embryonic");
	RUN_STEPS(c, in2);
	ASSERT_OK(flow_get(c, REM1, 9000, 27000, UDP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_SEEN_REPLY, "both ways: established");
	ASSERT_EQ(f.timeout_s, PTRIG_DEFAULT_UDP_FLOW_TIMEOUT_S, "timeout");
	return 0;
}

/* Run one XDP packet, expect XDP_PASS. */
static int xdp_pass(struct tctx *c, const struct pkt_spec *s)
{
	uint8_t in[PKT_MAX];
	struct run_res r;
	size_t len = pkt_build(s, in);

	ASSERT_OK(run_prog(c, PROG_XDP, in, len, 0, 0, &r));
	ASSERT_EQ(r.retval, XDP_PASS, "verdict");
	return 0;
}

/* A blind RST or FIN, with a wrong checksum or a right one, leaves the
 * flow's lifetime and owner alone; a SYN on the live flow (conntrack still
 * tracks the connection) goes to the old owner and opens nothing. Only a
 * SYN after conntrack saw the connection end opens a new flow, checked by
 * the rule's current owner. */
static int test_blind_rst_fin(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {IRC_RULE};
	static const struct pkt_spec blind[] = {
		TCP(REM1, 42000, WAN, 113, TH_RST, .bad_l4_csum = true),
		TCP(REM1, 42000, WAN, 113, TH_RST | TH_ACK),
		TCP(REM1, 42000, WAN, 113, TH_RST, .seq = 0x31337),
		TCP(REM1, 42000, WAN, 113, TH_FIN | TH_ACK,
		    .bad_l4_csum = true),
		TCP(REM1, 42000, WAN, 113, TH_FIN | TH_ACK),
	};
	static const struct step syn_live[] = {
		STEP_DNAT("SYN on the live flow: to its owner, no marker", TCP,
			  REM1, 42000, LAN1, 113, TH_SYN),
	};
	static const struct step syn_over[] = {
		STEP_DNAT_NEW(
			"SYN after conntrack closed 42001: new flow, LAN2", TCP,
			REM1, 42001, LAN2, 113, TH_SYN),
		STEP_DNAT_NEW("SYN on 42002, which conntrack forgot: new flow",
			      TCP, REM1, 42002, LAN2, 113, TH_SYN),
	};
	struct ptrig_flow before, f;
	uint32_t id;
	size_t i;

	NEED_CONNTRACK();
	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	ASSERT_OK(establish(c, REM1, 42000, 113));
	ASSERT_OK(establish(c, REM1, 42001, 113));
	ASSERT_OK(establish(c, REM1, 42002, 113));
	/* What conntrack tracks after ptrig's DNAT: remote -> lanhost1. */
	ASSERT_OK(ct_add("-p tcp -s 203.0.113.2 -d 198.51.100.2 --sport "
			 "42000 --dport 113 --reply-src 198.51.100.2 "
			 "--reply-dst 203.0.113.2 --reply-port-src 113 "
			 "--reply-port-dst 42000"));
	ASSERT_TRUE(system("conntrack -I -p tcp -s 203.0.113.2 -d "
			   "198.51.100.2 --sport 42001 --dport 113 "
			   "--reply-src 198.51.100.2 --reply-dst 203.0.113.2 "
			   "--reply-port-src 113 --reply-port-dst 42001 "
			   "--state CLOSE -t 10 >/dev/null 2>&1") == 0,
		    "conntrack -I (CLOSE)");

	ASSERT_OK(flow_get(c, REM1, 42000, 113, TCP_, &before));
	for (i = 0; i < sizeof(blind) / sizeof(blind[0]); i++)
		ASSERT_OK(xdp_pass(c, &blind[i]));
	ASSERT_OK(flow_get(c, REM1, 42000, 113, TCP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_SEEN_REPLY, "flags after blind RST/FIN");
	ASSERT_EQ(ptrig_flow_idle_timeout(&f), PTRIG_DEFAULT_TCP_FLOW_TIMEOUT_S,
		  "idle timeout after blind RST/FIN");
	ASSERT_IP(f.owner, LAN1, "owner");

	/* lanhost1's trigger goes idle; lanhost2 triggers the rule. */
	ASSERT_OK(set_trig_last_seen(
		c, id, 0,
		now_ns() - (PTRIG_DEFAULT_TRIGGER_TIMEOUT_S + 1) * SEC_NS));
	ASSERT_OK(open_trigger(c, id, TCP_, LAN2, REM1, 6667, 0));
	RUN_STEPS(c, syn_live);
	ASSERT_OK(flow_get(c, REM1, 42000, 113, TCP_, &f));
	ASSERT_IP(f.owner, LAN1, "owner after a SYN on the live flow");
	ASSERT_EQ(f.flags, PTRIG_FLOW_SEEN_REPLY, "flags");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_SYN_ON_LIVE_FLOW), 1,
		  "syn_on_live_flow");
	RUN_STEPS(c, syn_over);
	ASSERT_OK(flow_get(c, REM1, 42001, 113, TCP_, &f));
	ASSERT_IP(f.owner, LAN2, "42001's new owner");
	ASSERT_EQ(f.flags, PTRIG_FLOW_EMBRYONIC, "42001 is a new flow");
	return 0;
}

/* An IPv4 total length that leaves no room for the L4 header: the bytes
 * after it are link padding, not a header. */
static int test_short_total_length(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {
		IRC_RULE,
		rule("game", P_UDP, 27015, 27015, P_UDP, 27000, 27000),
	};
	static const struct step steps[] = {
		STEP_UNTOUCHED(
			"SYN, total length 20 + 19", PROG_XDP, XDP_PASS,
			TCP(REM1, 40000, WAN, 113, TH_SYN, .tot_len_raw = 39)),
		{.name = "SYN with MSS option, total length 20 + 20 (doff 6)",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40001, WAN, 113, TH_SYN, .tcp_mss = true,
			   .tot_len_raw = 40),
		 .verdict = XDP_PASS,
		 .same = true},
		{.name = "UDP, total length 20 + 7",
		 .prog = PROG_XDP,
		 .in = UDP(REM1, 9000, WAN, 27000, .payload_len = 8,
			   .tot_len_raw = 27),
		 .verdict = XDP_PASS,
		 .same = true},
		STEP_UNTOUCHED("trigger SYN, total length 20 + 10",
			       PROG_TC_EGRESS, TC_ACT_OK,
			       TCP(LAN2, 50000, REM2, 6668, TH_SYN,
				   .tot_len_raw = 30)),
	};
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 2));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	ASSERT_OK(open_trigger(c, rule_id(c, UDP_, 27015), UDP_, LAN1, REM1,
			       27015, 0));
	RUN_STEPS(c, steps);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_PASS_MALFORMED), 3,
		  "pass_malformed (XDP)");
	ASSERT_EQ(map_count(c->fds.embryo, sizeof(struct ptrig_flow_key)), 0,
		  "flows created");
	ASSERT_EQ(cnt_get(c, id).conflicts, 0, "conflicts (a trigger seen)");
	return 0;
}

static const struct test_case cases[] = {
	{.name = "SYN flood at 16x the flow table: established flows stay",
	 .fn = test_syn_flood},
	{.name = "the owner's SYN-ACK to a spoofed source establishes nothing",
	 .fn = test_synack_does_not_establish},
	{.name = "UDP: established once traffic went both ways",
	 .fn = test_udp_both_ways},
	{.name = "blind RST/FIN: no shorter life, no new owner",
	 .fn = test_blind_rst_fin},
	{.name = "IPv4 total length without room for the L4 header",
	 .fn = test_short_total_length},
};

FIXTURE_MAIN(cases)
