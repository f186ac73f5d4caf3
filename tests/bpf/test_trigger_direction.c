// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture tests (BPF_PROG_TEST_RUN): only the original direction of a
 * connection that a LAN host started and the box forwarded is trigger
 * traffic. The box's own packets, packets that came in on the WAN, replies
 * (the box's services, port forwards, a routed LAN host answering a
 * stranger) and the owner's replies on a triggered flow pass untouched under
 * a named counter and leave no trigger behind.
 *
 * Conntrack entries are real: ct_add() puts them into the private network
 * namespace, where the programs' conntrack lookups find them.
 */
#include "scenario.h"

#define IRC_RULE rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113)

/* A packet towards a trigger port that is not trigger traffic: it passes
 * byte-for-byte, counts under `reason`, and creates no trigger. */
struct not_trigger {
	const char *name;
	const char *ct; /* conntrack -I arguments, or NULL: no entry */
	struct step st;
	int reason;
};

static const struct not_trigger not_triggers[] = {
	{"the box's own SYN-ACK to a stranger's source port 6667",
	 "-p tcp -s 192.0.2.9 -d 203.0.113.1 --sport 6667 --dport 22 "
	 "--reply-src 203.0.113.1 --reply-dst 192.0.2.9 --reply-port-src 22 "
	 "--reply-port-dst 6667",
	 {.prog = PROG_TC_EGRESS,
	  .in = TCP(WAN, 22, STRANGER, 6667, TH_SYN | TH_ACK),
	  .from = FROM_BOX},
	 PTRIG_STAT_PASS_TRIG_LOCAL},
	{"the box's own RST to a stranger's source port 6668",
	 NULL,
	 {.prog = PROG_TC_EGRESS,
	  .in = TCP(WAN, 23, STRANGER, 6668, TH_RST | TH_ACK),
	  .from = FROM_BOX},
	 PTRIG_STAT_PASS_TRIG_LOCAL},
	{"the box's own connection to an IRC server",
	 "-p tcp -s 203.0.113.1 -d 203.0.113.2 --sport 41000 --dport 6667 "
	 "--reply-src 203.0.113.2 --reply-dst 203.0.113.1 --reply-port-src "
	 "6667 --reply-port-dst 41000",
	 {.prog = PROG_TC_EGRESS,
	  .in = TCP(WAN, 41000, REM1, 6667, TH_SYN),
	  .from = FROM_BOX},
	 PTRIG_STAT_PASS_TRIG_LOCAL},
	{"reply of a port forward (stranger:6669 -> WAN:8080 -> LAN1:80)",
	 "-p tcp -s 192.0.2.9 -d 203.0.113.1 --sport 6669 --dport 8080 "
	 "--reply-src 198.51.100.2 --reply-dst 192.0.2.9 --reply-port-src 80 "
	 "--reply-port-dst 6669",
	 {.prog = PROG_TC_EGRESS,
	  .in = TCP(WAN, 8080, STRANGER, 6669, TH_SYN | TH_ACK)},
	 PTRIG_STAT_PASS_TRIG_REPLY},
	{"routed LAN host's RST to a stranger's source port 6665",
	 "-p tcp -s 192.0.2.9 -d 198.51.100.3 --sport 6665 --dport 25 "
	 "--reply-src 198.51.100.3 --reply-dst 192.0.2.9 --reply-port-src 25 "
	 "--reply-port-dst 6665",
	 {.prog = PROG_TC_EGRESS,
	  .in = TCP(LAN2, 25, STRANGER, 6665, TH_RST | TH_ACK)},
	 PTRIG_STAT_PASS_TRIG_REPLY},
	{"a stranger's packet routed back out of the WAN",
	 NULL,
	 {.prog = PROG_TC_EGRESS,
	  .in = TCP(STRANGER, 1000, REM1, 6667, TH_SYN),
	  .from = FROM_WAN},
	 PTRIG_STAT_PASS_TRIG_FROM_WAN},
	{"an untracked ACK (no conntrack entry, no opening)",
	 NULL,
	 {.prog = PROG_TC_EGRESS, .in = TCP(LAN1, 50010, REM2, 6667, TH_ACK)},
	 PTRIG_STAT_PASS_TRIG_UNTRACKED},
};

static int test_not_trigger_traffic(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {IRC_RULE};
	size_t i;

	NEED_CONNTRACK();
	for (i = 0; i < sizeof(not_triggers) / sizeof(not_triggers[0]); i++) {
		const struct not_trigger *t = &not_triggers[i];
		struct step st = t->st;
		uint64_t before;

		ASSERT_OK(tctx_setup(c, rules, 1));
		if (t->ct)
			ASSERT_OK(ct_add(t->ct));
		st.name = t->name;
		st.verdict = TC_ACT_OK;
		st.same = true;
		before = stat_get(c, t->reason);
		RUN_STEP(c, &st);
		ASSERT_TRUE(trig_count(c) == 0, "%s: made a trigger", t->name);
		ASSERT_EQ(stat_get(c, t->reason), before + 1, t->name);
		ASSERT_EQ(stat_get(c, PTRIG_STAT_TC_EGRESS_TRIGGER), 0,
			  "tc_egress_trigger_packets");
		tctx_teardown(c);
	}
	return 0;
}

/* Trigger traffic: the NATed connection's owner is conntrack's original
 * source; a routed (not NATed) LAN host's is its own address. */
static int test_lan_connections_trigger(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {
		IRC_RULE,
		rule("game", P_UDP, 27015, 27015, P_UDP, 27000, 27000),
	};
	static const struct step steps[] = {
		STEP_UNTOUCHED("LAN1's masqueraded SYN to REM1:6667",
			       PROG_TC_EGRESS, TC_ACT_OK,
			       TCP(WAN, 61000, REM1, 6667, TH_SYN)),
		STEP_UNTOUCHED("LAN2's routed datagram to REM2:27015",
			       PROG_TC_EGRESS, TC_ACT_OK,
			       UDP(LAN2, 40000, REM2, 27015, .payload_len = 8)),
	};
	struct ptrig_trigger t;

	NEED_CONNTRACK();
	ASSERT_OK(tctx_setup(c, rules, 2));
	ASSERT_OK(ct_add("-p tcp -s 198.51.100.2 -d 203.0.113.2 --sport 50000 "
			 "--dport 6667 --reply-src 203.0.113.2 --reply-dst "
			 "203.0.113.1 --reply-port-src 6667 --reply-port-dst "
			 "61000"));
	ASSERT_OK(ct_add("-p udp -s 198.51.100.3 -d 203.0.113.3 --sport 40000 "
			 "--dport 27015 --reply-src 203.0.113.3 --reply-dst "
			 "198.51.100.3 --reply-port-src 27015 --reply-port-dst "
			 "40000"));
	RUN_STEPS(c, steps);
	ASSERT_OK(trig_get(c, rule_id(c, TCP_, 6667), 0, &t));
	ASSERT_IP(t.owner, LAN1, "irc owner (conntrack's original source)");
	ASSERT_IP(t.external, WAN, "irc external (the packet's source)");
	ASSERT_IP(t.peer, REM1, "irc peer");
	ASSERT_OK(trig_get(c, rule_id(c, UDP_, 27015), 0, &t));
	ASSERT_IP(t.owner, LAN2, "game owner (not NATed)");
	ASSERT_IP(t.external, LAN2, "game external");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_TC_EGRESS_TRIGGER), 2,
		  "tc_egress_trigger_packets");
	return 0;
}

/* The owner answers a remote that connected in from source port 6667 (a
 * trigger port): that is a flow reply, never a refresh or a re-trigger that
 * would rewrite the trigger's external address to the LAN address. */
static int test_flow_reply_is_not_trigger(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {IRC_RULE};
	static const struct step steps[] = {
		STEP_DNAT_NEW("REM1:6667 connects to WAN:113", TCP, REM1, 6667,
			      LAN1, 113, TH_SYN),
		STEP_OWNER_SYNACK(REM1, 6667, 113),
	};
	struct ptrig_trigger before, after;
	uint32_t id;

	NEED_CONNTRACK();
	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	ASSERT_OK(ct_add("-p tcp -s 203.0.113.2 -d 198.51.100.2 --sport 6667 "
			 "--dport 113 --reply-src 198.51.100.2 --reply-dst "
			 "203.0.113.2 --reply-port-src 113 --reply-port-dst "
			 "6667"));
	ASSERT_OK(trig_get(c, id, 0, &before));
	RUN_STEPS(c, steps);
	ASSERT_OK(trig_get(c, id, 0, &after));
	ASSERT_TRUE(memcmp(&before, &after, sizeof(before)) == 0,
		    "the trigger changed (external now %#x, was %#x)",
		    ntohl(after.external), ntohl(before.external));
	ASSERT_EQ(cnt_get(c, id).refreshes, 0, "refreshes");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_PASS_TRIG_FLOW_REPLY), 1,
		  "pass_trigger_flow_reply");
	return 0;
}

static const struct test_case cases[] = {
	{.name = "not trigger traffic: the box's own, from the WAN, replies, "
		 "untracked non-openings",
	 .fn = test_not_trigger_traffic},
	{.name = "trigger traffic: masqueraded and routed LAN connections",
	 .fn = test_lan_connections_trigger},
	{.name = "the owner's reply to a remote's trigger source port",
	 .fn = test_flow_reply_is_not_trigger},
};

FIXTURE_MAIN(cases)
