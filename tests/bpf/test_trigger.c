// SPDX-License-Identifier: GPL-2.0
/* Fixture tests (BPF_PROG_TEST_RUN). Triggers: detection, conflicts (first
 * device wins), refresh, expiry, peer=trigger, both protocols. */
#include "scenario.h"

/* ------------------------------------------------ trigger, flow, reply -- */

static int test_trigger_flow(struct tctx *c)
{
	const struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
	};
	static const struct step trigger[] = {
		STEP_UNTOUCHED(
			"LAN1 SYN to remote:6667 (trigger)", PROG_TC_EGRESS,
			TC_ACT_OK,
			TCP(LAN1, 50000, REM1, 6667, TH_SYN, .tcp_mss = true)),
	};
	static const struct step flow[] = {
		STEP_DNAT_NEW("inbound SYN remote:40000 -> WAN:113 is DNATed",
			      TCP, REM1, 40000, LAN1, 113, TH_SYN,
			      .tcp_mss = true),
	};
	static const struct step reply[] = {
		{.name = "owner SYN-ACK LAN1:113 -> remote:40000 is SNATed",
		 .prog = PROG_TC_EGRESS,
		 .in = TCP(LAN1, 113, REM1, 40000, TH_SYN | TH_ACK,
			   .tcp_mss = true),
		 .verdict = TC_ACT_OK,
		 .exp = TCP(WAN, 113, REM1, 40000, TH_SYN | TH_ACK,
			    .tcp_mss = true)},
		{.name = "inbound ACK of the SYN-ACK, with data, is DNATed, "
			 "no marker: established",
		 .prog = PROG_XDP,
		 .in = TCP(REM1, 40000, WAN, 113, TH_ACK | TH_PSH,
			   .payload_len = 13, .ack = HS_ACK(113)),
		 .verdict = XDP_PASS,
		 .exp = TCP(REM1, 40000, LAN1, 113, TH_ACK | TH_PSH,
			    .payload_len = 13, .ack = HS_ACK(113))},
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
	ASSERT_EQ(f.flags, PTRIG_FLOW_EMBRYONIC, "flow flags");
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
	ASSERT_EQ(f.flags, PTRIG_FLOW_SEEN_REPLY,
		  "flags after the handshake: established");
	ASSERT_EQ(f.synack_next, HS_ACK(113), "synack_next");
	ASSERT_EQ(map_count(c->fds.embryo, sizeof(struct ptrig_flow_key)), 0,
		  "embryonic entries after the handshake");
	k = cnt_get(c, id);
	ASSERT_EQ(k.flows_opened, 1, "flows_opened after the flow hit");
	ASSERT_EQ(k.flows_established, 1, "flows_established");
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
		STEP_DNAT_NEW("inbound SYN (must not refresh the trigger)", TCP,
			      REM1, 40000, LAN1, 113, TH_SYN),
		STEP_OWNER_SYNACK(REM1, 40000, 113),
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
		STEP_DNAT_NEW("SYN while open: flow created", TCP, REM1, 40000,
			      LAN1, 113, TH_SYN),
		STEP_OWNER_SYNACK(REM1, 40000, 113),
	};
	static const struct step after_expiry[] = {
		STEP_UNTOUCHED("new SYN after expiry: untouched", PROG_XDP,
			       XDP_PASS, TCP(REM1, 40001, WAN, 113, TH_SYN)),
		STEP_DNAT("existing flow inbound still DNATed", TCP, REM1,
			  40000, LAN1, 113, TH_ACK, .payload_len = 5),
		STEP_SNAT("existing flow reply still SNATed", TCP, LAN1, 113,
			  REM1, 40000, TH_ACK, .payload_len = 7),
		STEP_UNTOUCHED("reply of the refused connection: untouched",
			       PROG_TC_EGRESS, TC_ACT_OK,
			       TCP(LAN1, 113, REM1, 40001, TH_SYN | TH_ACK)),
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
		STEP_DNAT_NEW("from REM1 goes to LAN1", TCP, REM1, 40000, LAN1,
			      7100, TH_SYN),
		STEP_DNAT_NEW("from REM2 goes to LAN2", TCP, REM2, 40000, LAN2,
			      7100, TH_SYN),
		STEP_UNTOUCHED("from a third address: untouched", PROG_XDP,
			       XDP_PASS,
			       TCP(STRANGER, 40000, WAN, 7100, TH_SYN)),
		STEP_OWNER_SYNACK(REM1, 40000, 7100),
		STEP_SNAT("LAN2 replies to REM2", TCP, LAN2, 7100, REM2, 40000,
			  TH_SYN | TH_ACK),
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

/* --------------------------------------------------------- both protos -- */

static int test_both(struct tctx *c)
{
	const struct ptrig_rule_spec rules[] = {
		rule("game", P_BOTH, 5000, 5000, P_BOTH, 6000, 6000),
	};
	static const struct step steps[] = {
		STEP_DNAT_NEW("TCP SYN to 6000 is DNATed", TCP, REM1, 40000,
			      LAN1, 6000, TH_SYN),
		STEP_DNAT_NEW("UDP to 6000 is DNATed", UDP, REM1, 40000, LAN1,
			      6000, .payload_len = 12),
		STEP_OWNER_SYNACK(REM1, 40000, 6000),
		STEP_SNAT("UDP reply is SNATed", UDP, LAN1, 6000, REM1, 40000,
			  .payload_len = 12),
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

static const struct test_case cases[] = {
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
	{.name = "both: UDP trigger opens TCP and UDP", .fn = test_both},
};

FIXTURE_MAIN(cases)
