// SPDX-License-Identifier: GPL-2.0
/* Fixture tests (BPF_PROG_TEST_RUN). Flow lifetimes: timeouts, closing, a SYN
 * reusing a closing flow, NAT collisions, flows outliving their rule. */
#include "scenario.h"

/* ------------------------------------------------------- flow timeouts -- */

static int test_flow_timeouts(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
	};
	static const struct step open2[] = {
		STEP_DNAT_NEW("SYN opens flow 40000", TCP, REM1, 40000, LAN1,
			      113, TH_SYN),
		STEP_DNAT_NEW("SYN opens flow 40001", TCP, REM1, 40001, LAN1,
			      113, TH_SYN),
		STEP_OWNER_SYNACK(REM1, 40000, 113),
		STEP_HANDSHAKE_ACK(REM1, 40000, 113),
		STEP_DNAT("remote's FIN on 40000 is DNATed, changes nothing",
			  TCP, REM1, 40000, LAN1, 113, TH_FIN | TH_ACK),
	};
	static const struct step closing_alive[] = {
		STEP_SNAT("owner's FIN on the closing flow is SNATed", TCP,
			  LAN1, 113, REM1, 40000, TH_FIN | TH_ACK),
	};
	static const struct step expired[] = {
		STEP_UNTOUCHED(
			"last ACK of the expired closing flow: untouched",
			PROG_XDP, XDP_PASS, TCP(REM1, 40000, WAN, 113, TH_ACK)),
		STEP_UNTOUCHED("owner's packet on the expired flow: untouched",
			       PROG_TC_EGRESS, TC_ACT_OK,
			       TCP(LAN1, 113, REM1, 40000, TH_ACK)),
		STEP_UNTOUCHED(
			"ACK of embryonic flow 40001 idle 31 s: untouched",
			PROG_XDP, XDP_PASS, TCP(REM1, 40001, WAN, 113, TH_ACK)),
	};
	static const struct step reopen[] = {
		STEP_DNAT_NEW("new SYN reuses the expired flow's key", TCP,
			      REM1, 40000, LAN1, 113, TH_SYN),
	};
	static const struct step reopen_answered[] = {
		STEP_DNAT_NEW("new SYN on 40001", TCP, REM1, 40001, LAN1, 113,
			      TH_SYN),
		STEP_OWNER_SYNACK(REM1, 40001, 113),
		STEP_HANDSHAKE_ACK(REM1, 40001, 113),
		STEP_DNAT_NEW("SYN on 40002, never answered", TCP, REM1, 40002,
			      LAN1, 113, TH_SYN),
		STEP_DNAT_NEW("SYN on 40003", TCP, REM1, 40003, LAN1, 113,
			      TH_SYN),
		STEP_OWNER_SYNACK(REM1, 40003, 113),
	};
	static const struct step unanswered_expired[] = {
		STEP_UNTOUCHED(
			"ACK of unanswered flow 40002 idle 31 s: untouched",
			PROG_XDP, XDP_PASS, TCP(REM1, 40002, WAN, 113, TH_ACK)),
		STEP_UNTOUCHED(
			"ACK of half-open flow 40003 idle 31 s: untouched",
			PROG_XDP, XDP_PASS,
			TCP(REM1, 40003, WAN, 113, TH_ACK, .ack = HS_ACK(113))),
	};
	static const struct step alive[] = {
		STEP_DNAT("ACK of answered flow 40001 idle 59 s of 60: DNATed",
			  TCP, REM1, 40001, LAN1, 113, TH_ACK),
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
	ASSERT_EQ(f.flags, PTRIG_FLOW_EMBRYONIC, "flags of 40001");
	ASSERT_OK(flow_get(c, REM1, 40000, 113, TCP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_SEEN_REPLY,
		  "the remote's FIN: still established, not closing");
	RUN_STEPS(c, closing_alive);
	ASSERT_OK(flow_get(c, REM1, 40000, 113, TCP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_CLOSING | PTRIG_FLOW_SEEN_REPLY, "flags");

	/* Closing flow idle past its 10 s; open flow idle past its 60 s. */
	ASSERT_OK(set_flow_last_seen(
		c, REM1, 40000, 113, TCP_,
		now_ns() - (PTRIG_DEFAULT_TCP_CLOSING_TIMEOUT_S + 1) * SEC_NS));
	ASSERT_OK(set_flow_last_seen(
		c, REM1, 40001, 113, TCP_,
		now_ns() - (PTRIG_EMBRYONIC_TIMEOUT_S + 1) * SEC_NS));
	RUN_STEPS(c, expired);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_PASS_TCP_NO_FLOW), 2,
		  "PASS_TCP_NO_FLOW");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FLOW_EXPIRED), 2, "FLOW_EXPIRED");

	/* A SYN while the trigger is open replaces the expired entry. */
	before = now_ns();
	RUN_STEPS(c, reopen);
	ASSERT_OK(flow_get(c, REM1, 40000, 113, TCP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_EMBRYONIC, "flags of the new flow");
	ASSERT_EQ(map_count(c->fds.flows, sizeof(struct ptrig_flow_key)), 0,
		  "established entries (the closed flow's went)");
	ASSERT_STAMP(f.opened_ns, before, "opened_ns of the new flow");
	ASSERT_EQ(cnt_get(c, id).flows_opened, 3, "flows_opened");

	/* An established flow just inside its timeout is alive; one the
	 * owner never answered, or whose handshake never completed, lives
	 * only PTRIG_EMBRYONIC_TIMEOUT_S. */
	RUN_STEPS(c, reopen_answered);
	ASSERT_OK(flow_get(c, REM1, 40003, 113, TCP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_EMBRYONIC | PTRIG_FLOW_SEEN_REPLY,
		  "the owner's SYN-ACK alone does not establish");
	ASSERT_OK(set_flow_last_seen(c, REM1, 40001, 113, TCP_,
				     now_ns() - 59 * SEC_NS));
	ASSERT_OK(set_flow_last_seen(
		c, REM1, 40002, 113, TCP_,
		now_ns() - (PTRIG_EMBRYONIC_TIMEOUT_S + 1) * SEC_NS));
	ASSERT_OK(set_flow_last_seen(
		c, REM1, 40003, 113, TCP_,
		now_ns() - (PTRIG_EMBRYONIC_TIMEOUT_S + 1) * SEC_NS));
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
		STEP_DNAT_NEW("SYN opens flow 40000", TCP, REM1, 40000, LAN1,
			      113, TH_SYN),
		STEP_OWNER_SYNACK(REM1, 40000, 113),
		STEP_HANDSHAKE_ACK(REM1, 40000, 113),
		STEP_SNAT("owner closes (FIN)", TCP, LAN1, 113, REM1, 40000,
			  TH_FIN | TH_ACK),
	};
	static const struct step reuse[] = {
		STEP_DNAT_NEW(
			"new SYN from the same port goes to the new owner, "
			"marked",
			TCP, REM1, 40000, LAN2, 113, TH_SYN),
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
	ASSERT_EQ(f.flags, PTRIG_FLOW_EMBRYONIC, "fresh flow flags");
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
		STEP_DNAT_NEW(
			"remote1:9999 -> WAN:50005 opens a flow to lanhost1",
			UDP, REM1, 9999, LAN1, 50005, .payload_len = 8),
	};
	static const struct step collide[] = {
		STEP_UNTOUCHED("masqueraded WAN:50005 -> remote1:9999 leaves "
			       "untouched",
			       PROG_TC_EGRESS, TC_ACT_OK,
			       UDP(WAN, 50005, REM1, 9999, .payload_len = 8)),
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
		STEP_DNAT_NEW("SYN opens a flow", TCP, REM1, 40000, LAN1, 113,
			      TH_SYN),
		STEP_OWNER_SYNACK(REM1, 40000, 113),
		STEP_HANDSHAKE_ACK(REM1, 40000, 113),
	};
	static const struct step after[] = {
		STEP_DNAT("rule removed: the flow's inbound ACK still DNATed",
			  TCP, REM1, 40000, LAN1, 113, TH_ACK),
		STEP_SNAT("rule removed: the owner's reply still SNATed", TCP,
			  LAN1, 113, REM1, 40000, TH_ACK),
		STEP_UNTOUCHED(
			"rule removed: a new SYN to its port is untouched",
			PROG_XDP, XDP_PASS, TCP(REM1, 40001, WAN, 113, TH_SYN)),
	};
	static const struct step expired[] = {
		STEP_UNTOUCHED(
			"flow expired, pushed again: its ACK is untouched",
			PROG_XDP, XDP_PASS, TCP(REM1, 40000, WAN, 113, TH_ACK)),
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
	ASSERT_EQ(cnt_get(c, id).pkts_in, 3, "pkts_in of the removed rule");

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

/* XDP reads the coarse clock once per tick and CPU: the stamp a hit leaves
 * is the clock's reading of that moment, never one kept from an earlier
 * tick, and never ahead of the clock. The pauses are longer than
 * ASSERT_STAMP's slack, so a reading kept too long fails. */
static int hit_clock_rounds(struct tctx *c)
{
	static const struct step hit[] = {
		STEP_DNAT("ACK of the flow, idle 30 s of 60: DNATed", TCP, REM1,
			  40000, LAN1, 113, TH_ACK),
	};
	const struct timespec pause = {.tv_nsec = 120000000};
	struct ptrig_flow f;
	uint64_t before;
	int i;

	for (i = 0; i < 4; i++) {
		/* Idle past a sixteenth of the timeout: the hit refreshes
		 * the stamp. */
		ASSERT_OK(set_flow_last_seen(c, REM1, 40000, 113, TCP_,
					     now_ns() - 30 * SEC_NS));
		before = now_ns();
		RUN_STEPS(c, hit);
		ASSERT_OK(flow_get(c, REM1, 40000, 113, TCP_, &f));
		ASSERT_STAMP(f.last_seen_ns, before, "the hit's stamp");
		nanosleep(&pause, NULL);
	}
	return 0;
}

static int test_hit_clock(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
	};
	static const struct step open[] = {
		STEP_DNAT_NEW("SYN opens flow 40000", TCP, REM1, 40000, LAN1,
			      113, TH_SYN),
		STEP_OWNER_SYNACK(REM1, 40000, 113),
		STEP_HANDSHAKE_ACK(REM1, 40000, 113),
	};
	cpu_set_t one, saved;
	int cpu, rc;

	rules[0].flow_timeout_s = 60;
	ASSERT_OK(tctx_setup(c, rules, 1));
	ASSERT_OK(open_trigger(c, rule_id(c, TCP_, 6667), TCP_, LAN1, REM1,
			       6667, 0));
	RUN_STEPS(c, open);
	/* On one CPU, so that every hit goes through the same CPU's kept
	 * reading. */
	ASSERT_OK(sched_getaffinity(0, sizeof(saved), &saved));
	for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &saved); cpu++)
		;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	ASSERT_OK(sched_setaffinity(0, sizeof(one), &one));
	rc = hit_clock_rounds(c);
	ASSERT_OK(sched_setaffinity(0, sizeof(saved), &saved));
	return rc;
}

static const struct test_case cases[] = {
	{.name = "flow timeouts: FIN, idle expiry, per-rule override",
	 .fn = test_flow_timeouts},
	{.name = "SYN on a closing flow opens a new, marked flow",
	 .fn = test_syn_reuses_closing_flow},
	{.name = "NAT collision: the tracked connection wins over a flow",
	 .fn = test_nat_collision},
	{.name = "flows outlive a reload that removes their rule",
	 .fn = test_flow_outlives_rule},
	{.name = "a hit's stamp is the coarse clock's current reading",
	 .fn = test_hit_clock},
};

FIXTURE_MAIN(cases)
