// SPDX-License-Identifier: GPL-2.0
/* Fixture tests (BPF_PROG_TEST_RUN). Rule sets: 10,000 rules, reloads that keep
 * or drop triggers. */
#include "scenario.h"

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

/* -------------------------------------------------------------- reload -- */

static int test_reload(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
		rule("ftp", P_TCP, 21, 21, P_TCP, 50000, 50010),
	};
	static const struct step syn113[] = {
		STEP_DNAT_NEW("after an identical reload: SYN to 113 DNATed",
			      TCP, REM1, 40000, LAN1, 113, TH_SYN),
	};
	static const struct step changed[] = {
		STEP_UNTOUCHED("open side changed: SYN to the new port refused",
			       PROG_XDP, XDP_PASS,
			       TCP(REM1, 40001, WAN, 114, TH_SYN)),
		STEP_UNTOUCHED(
			"open side changed: SYN to the old port, no rule",
			PROG_XDP, XDP_PASS, TCP(REM1, 40002, WAN, 113, TH_SYN)),
		STEP_DNAT_NEW("the flow opened before the change lives on", TCP,
			      REM1, 40000, LAN1, 113, TH_ACK),
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

static const struct test_case cases[] = {
	{.name = "10,000 rules: the last one works", .fn = test_many_rules},
	{.name = "reload keeps triggers unless the rule changed",
	 .fn = test_reload},
};

FIXTURE_MAIN(cases)
