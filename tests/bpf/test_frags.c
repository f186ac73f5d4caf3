// SPDX-License-Identifier: GPL-2.0
/* Fixture tests (BPF_PROG_TEST_RUN): fragments of a triggered flow's
 * datagrams, translated in both directions: first, middle and last
 * fragment, out of order, a lost first fragment, stale entries. */
#include "scenario.h"

#define MF 0x2000
#define ID2 0x4321

/* Fragment specs: first (ports, MF), middle (offset 4 = 32 bytes, MF),
 * last (offset 8). Later fragments carry only payload. */
#define FIRST(s, sp, d, dp, ...)                                               \
	UDP(s, sp, d, dp, .frag = MF, .payload_len = 24, __VA_ARGS__)
#define MIDDLE(s, d, ...)                                                      \
	UDP(s, 0, d, 0, .frag = MF | 4, .payload_len = 32, __VA_ARGS__)
#define LAST(s, d, ...)                                                        \
	UDP(s, 0, d, 0, .frag = 8, .payload_len = 20, __VA_ARGS__)

#define XDP_ROW(n, in_, exp_)                                                  \
	{                                                                      \
		.name = n, .prog = PROG_XDP, .in = in_, .verdict = XDP_PASS,   \
		.exp = exp_                                                    \
	}
#define XDP_SAME_ROW(n, in_)                                                   \
	{                                                                      \
		.name = n, .prog = PROG_XDP, .in = in_, .verdict = XDP_PASS,   \
		.same = true                                                   \
	}
#define TC_ROW(n, in_, exp_)                                                   \
	{                                                                      \
		.name = n, .prog = PROG_TC_EGRESS, .in = in_,                  \
		.verdict = TC_ACT_OK, .exp = exp_                              \
	}
#define TC_SAME_ROW(n, in_)                                                    \
	{                                                                      \
		.name = n, .prog = PROG_TC_EGRESS, .in = in_,                  \
		.verdict = TC_ACT_OK, .same = true                             \
	}

/* A UDP flow REM1:5000 <-> LAN1:113 through trigger 6667; the owner has
 * answered, so it is past the first datagram. */
static int setup(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {
		rule("game", P_UDP, 6667, 6667, P_UDP, 113, 113),
	};
	static const struct step flow[] = {
		STEP_DNAT_NEW("remote's datagram opens a UDP flow", UDP, REM1,
			      5000, LAN1, 113, .payload_len = 24),
		TC_ROW("owner answers",
		       UDP(LAN1, 113, REM1, 5000, .payload_len = 24),
		       UDP(WAN, 113, REM1, 5000, .payload_len = 24)),
	};
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, UDP_, 6667);
	ASSERT_OK(open_trigger(c, id, UDP_, LAN1, REM1, 6667, 0));
	RUN_STEPS(c, flow);
	return 0;
}

static int frags_count(const struct tctx *c)
{
	return map_count(c->fds.frags, sizeof(struct ptrig_frag_key));
}

static int test_in_order(struct tctx *c)
{
	static const struct step in[] = {
		XDP_ROW("first fragment (ports) is DNATed",
			FIRST(REM1, 5000, WAN, 113),
			FIRST(REM1, 5000, LAN1, 113)),
		XDP_ROW("middle fragment follows it", MIDDLE(REM1, WAN),
			MIDDLE(REM1, LAN1)),
		XDP_ROW("last fragment follows it", LAST(REM1, WAN),
			LAST(REM1, LAN1)),
	};
	static const struct step out[] = {
		TC_ROW("owner's first fragment is SNATed",
		       FIRST(LAN1, 113, REM1, 5000),
		       FIRST(WAN, 113, REM1, 5000)),
		TC_ROW("owner's middle fragment", MIDDLE(LAN1, REM1),
		       MIDDLE(WAN, REM1)),
		TC_ROW("owner's last fragment", LAST(LAN1, REM1),
		       LAST(WAN, REM1)),
		TC_SAME_ROW("another LAN host's fragment, same IP id",
			    LAST(LAN2, REM1)),
	};
	struct step other_id =
		XDP_SAME_ROW("fragment with another IP id", LAST(REM1, WAN));

	ASSERT_OK(setup(c));
	RUN_STEPS(c, in);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FRAG_IN_TRANSLATED), 2,
		  "later fragments translated in");
	RUN_STEPS(c, out);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FRAG_OUT_TRANSLATED), 2,
		  "later fragments translated out");
	ASSERT_EQ(frags_count(c), 2, "fragment entries (one per direction)");
	/* The id is part of the key: a last fragment of datagram ID2. */
	{
		uint8_t b[PKT_MAX];
		size_t len = pkt_build(&other_id.in, b);
		struct run_res r;

		put16(b + ETH_HLEN + 4, ID2);
		put16(b + ETH_HLEN + 10, 0);
		put16(b + ETH_HLEN + 10,
		      csum_field(csum_add_bytes(0, b + ETH_HLEN, 20)));
		ASSERT_OK(run_prog(c, PROG_XDP, b, len, 0, 0, &r));
		ASSERT_TRUE(r.pkt_len == len && memcmp(r.pkt, b, len) == 0,
			    "fragment of datagram %#x was changed", ID2);
	}
	ASSERT_EQ(stat_get(c, PTRIG_STAT_PASS_FRAGMENT), 1,
		  "unknown later fragments passed");
	return 0;
}

static int test_out_of_order(struct tctx *c)
{
	static const struct step rows[] = {
		XDP_SAME_ROW("last fragment before the first: untouched",
			     LAST(REM1, WAN)),
		XDP_ROW("first fragment", FIRST(REM1, 5000, WAN, 113),
			FIRST(REM1, 5000, LAN1, 113)),
		XDP_ROW("middle fragment after it", MIDDLE(REM1, WAN),
			MIDDLE(REM1, LAN1)),
		XDP_ROW("last fragment again (retransmitted datagram)",
			LAST(REM1, WAN), LAST(REM1, LAN1)),
	};

	ASSERT_OK(setup(c));
	RUN_STEPS(c, rows);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_PASS_FRAGMENT), 1,
		  "the early fragment passed untouched");
	return 0;
}

static int test_lost_first(struct tctx *c)
{
	static const struct step rows[] = {
		XDP_SAME_ROW("middle fragment, first lost", MIDDLE(REM1, WAN)),
		XDP_SAME_ROW("last fragment, first lost", LAST(REM1, WAN)),
		TC_SAME_ROW("owner's middle fragment, first never seen",
			    MIDDLE(LAN1, REM1)),
	};

	ASSERT_OK(setup(c));
	RUN_STEPS(c, rows);
	ASSERT_EQ(frags_count(c), 0, "fragment entries");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FRAG_IN_TRANSLATED), 0,
		  "fragments translated");
	return 0;
}

/* Only a first fragment that was translated leaves an entry; an entry goes
 * stale after PTRIG_FRAG_TIMEOUT_NS. */
static int test_no_flow_and_stale(struct tctx *c)
{
	static const struct step rows[] = {
		XDP_SAME_ROW("first fragment to a port no rule opens",
			     FIRST(REM1, 5000, WAN, 114)),
		XDP_SAME_ROW("its later fragment", LAST(REM1, WAN)),
		XDP_ROW("first fragment of the flow",
			FIRST(REM1, 5000, WAN, 113),
			FIRST(REM1, 5000, LAN1, 113)),
	};
	static const struct step stale[] = {
		XDP_SAME_ROW("later fragment after the entry went stale",
			     LAST(REM1, WAN)),
	};
	struct ptrig_frag_key k, next;
	struct ptrig_frag v;

	ASSERT_OK(setup(c));
	RUN_STEPS(c, rows);
	ASSERT_EQ(frags_count(c), 1, "fragment entries");
	ASSERT_OK(bpf_map_get_next_key(c->fds.frags, NULL, &next));
	k = next;
	ASSERT_OK(bpf_map_lookup_elem(c->fds.frags, &k, &v));
	ASSERT_IP(k.saddr, REM1, "key source");
	ASSERT_IP(k.daddr, WAN, "key destination");
	ASSERT_EQ(ntohs(k.id), 0x1234, "key IP id");
	ASSERT_EQ(k.proto, IPPROTO_UDP, "key protocol");
	ASSERT_EQ(k.dir, PTRIG_FRAG_IN, "key direction");
	ASSERT_IP(v.to, LAN1, "translated to");
	v.stamp_ns = now_ns() - PTRIG_FRAG_TIMEOUT_NS - SEC_NS;
	ASSERT_OK(bpf_map_update_elem(c->fds.frags, &k, &v, BPF_ANY));
	RUN_STEPS(c, stale);
	return 0;
}

static const struct test_case cases[] = {
	{"fragments: first, middle, last, both directions", test_in_order,
	 NULL},
	{"fragments: out of order", test_out_of_order, NULL},
	{"fragments: lost first fragment", test_lost_first, NULL},
	{"fragments: not a flow's, stale entry", test_no_flow_and_stale, NULL},
};

FIXTURE_MAIN(cases)
