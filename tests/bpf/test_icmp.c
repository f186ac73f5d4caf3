// SPDX-License-Identifier: GPL-2.0
/* Fixture tests (BPF_PROG_TEST_RUN): ICMP errors about triggered flows,
 * translated in both directions with every checksum exact (the expected
 * packets are built from scratch, quote and all), and the errors that must
 * pass untouched. */
#include "scenario.h"

#define HOP IP4(203, 0, 113, 20) /* a router on the path to the remote */

#define ICMPERR(s, d, type, code, q, ...)                                      \
	{                                                                      \
		.proto = IPPROTO_ICMP, .saddr = (s), .daddr = (d),             \
		.icmp_type = (type), .icmp_code = (code), .quote = (q),        \
		__VA_ARGS__                                                    \
	}

#define ECHO(s, d, type)                                                       \
	{                                                                      \
		.proto = IPPROTO_ICMP, .saddr = (s), .daddr = (d),             \
		.icmp_type = (type)                                            \
	}

/* The owner's reply as it left (external source) and as the owner sent
 * it: what errors about it quote, before and after translation. DF set,
 * as Linux sends TCP. */
static const struct pkt_spec q_tcp_wan =
	TCP(WAN, 113, REM1, 40000, TH_ACK | TH_PSH, .frag = 0x4000,
	    .payload_len = 1200);
static const struct pkt_spec q_tcp_lan =
	TCP(LAN1, 113, REM1, 40000, TH_ACK | TH_PSH, .frag = 0x4000,
	    .payload_len = 1200);
static const struct pkt_spec q_tcp_wan_opt = TCP(
	WAN, 113, REM1, 40000, TH_ACK, .ip_opt_words = 2, .payload_len = 100);
static const struct pkt_spec q_tcp_lan_opt = TCP(
	LAN1, 113, REM1, 40000, TH_ACK, .ip_opt_words = 2, .payload_len = 100);
static const struct pkt_spec q_udp_wan =
	UDP(WAN, 113, REM1, 5000, .payload_len = 40);
static const struct pkt_spec q_udp_lan =
	UDP(LAN1, 113, REM1, 5000, .payload_len = 40);
static const struct pkt_spec q_udp0_wan =
	UDP(WAN, 113, REM1, 5000, .payload_len = 40, .udp_no_csum = true);
static const struct pkt_spec q_udp0_lan =
	UDP(LAN1, 113, REM1, 5000, .payload_len = 40, .udp_no_csum = true);
/* A remote's packets, as the owner got them and as they were sent. */
static const struct pkt_spec q_rem_udp_lan =
	UDP(REM1, 5000, LAN1, 113, .payload_len = 40);
static const struct pkt_spec q_rem_udp_wan =
	UDP(REM1, 5000, WAN, 113, .payload_len = 40);
static const struct pkt_spec q_rem_tcp_lan = TCP(
	REM1, 40000, LAN1, 113, TH_ACK, .frag = 0x4000, .payload_len = 1400);
static const struct pkt_spec q_rem_tcp_wan =
	TCP(REM1, 40000, WAN, 113, TH_ACK, .frag = 0x4000, .payload_len = 1400);
/* Not a flow, or not ours. */
static const struct pkt_spec q_tcp_other_port =
	TCP(WAN, 113, REM1, 40001, TH_ACK, .payload_len = 10);
static const struct pkt_spec q_tcp_lan_src =
	TCP(LAN1, 113, REM1, 40000, TH_ACK, .payload_len = 10);
static const struct pkt_spec q_tcp_wan_frag = TCP(
	WAN, 113, REM1, 40000, TH_ACK, .frag = 0x2000 | 100, .payload_len = 16);
static const struct pkt_spec q_icmp_wan = {
	.proto = IPPROTO_ICMP, .saddr = WAN, .daddr = REM1};
static const struct pkt_spec q_rem_udp_lan2 =
	UDP(REM1, 5000, LAN2, 113, .payload_len = 40);

/* A TCP flow REM1:40000 <-> LAN1:113 (established) and a UDP flow
 * REM1:5000 <-> LAN1:113 (the owner answered), through trigger 6667. */
static int setup(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6667, 6667, P_BOTH, 113, 113),
	};
	static const struct step flows[] = {
		STEP_DNAT_NEW("remote's SYN opens a flow", TCP, REM1, 40000,
			      LAN1, 113, TH_SYN),
		STEP_OWNER_SYNACK(REM1, 40000, 113),
		STEP_HANDSHAKE_ACK(REM1, 40000, 113),
		STEP_DNAT_NEW("remote's datagram opens a UDP flow", UDP, REM1,
			      5000, LAN1, 113, .payload_len = 24),
		STEP_SNAT("owner answers on the UDP flow", UDP, LAN1, 113, REM1,
			  5000, .payload_len = 24),
	};
	uint32_t id;

	ASSERT_OK(tctx_setup(c, rules, 1));
	id = rule_id(c, TCP_, 6667);
	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	RUN_STEPS(c, flows);
	return 0;
}

/* Run st and check that exactly stat `want` moved (by one) among the ICMP
 * counters and XDP_TRANSLATED; -1: none of them. */
static int run_counted(struct tctx *c, const struct step *st, int want)
{
	static const uint32_t watched[] = {
		PTRIG_STAT_XDP_TRANSLATED,	PTRIG_STAT_ICMP_IN_TRANSLATED,
		PTRIG_STAT_ICMP_OUT_TRANSLATED, PTRIG_STAT_PASS_ICMP_NO_FLOW,
		PTRIG_STAT_PASS_ICMP_MALFORMED, PTRIG_STAT_PASS_OTHER_PROTO,
		PTRIG_STAT_PASS_MALFORMED,	PTRIG_STAT_TC_EGRESS_TRANSLATED,
	};
	uint64_t before[sizeof(watched) / sizeof(watched[0])];
	size_t i;

	for (i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
		before[i] = stat_get(c, watched[i]);
	RUN_STEP(c, st);
	for (i = 0; i < sizeof(watched) / sizeof(watched[0]); i++) {
		uint64_t d = stat_get(c, watched[i]) - before[i];

		if (d != ((int)watched[i] == want)) {
			FAIL_MSG(__FILE__, __LINE__,
				 "'%s': stat %u moved by %llu (want %d)",
				 st->name, watched[i], (unsigned long long)d,
				 want);
			return -1;
		}
	}
	return 0;
}

struct counted_step {
	struct step st;
	int stat;
};

#define XDP_ICMP(n, in_, exp_)                                                 \
	{                                                                      \
		{.name = n,                                                    \
		 .prog = PROG_XDP,                                             \
		 .in = in_,                                                    \
		 .verdict = XDP_PASS,                                          \
		 .exp = exp_},                                                 \
			PTRIG_STAT_ICMP_IN_TRANSLATED                          \
	}
#define XDP_ICMP_SAME(n, in_, why)                                             \
	{                                                                      \
		{.name = n,                                                    \
		 .prog = PROG_XDP,                                             \
		 .in = in_,                                                    \
		 .verdict = XDP_PASS,                                          \
		 .same = true},                                                \
			why                                                    \
	}

#define RUN_COUNTED(c, rows)                                                   \
	do {                                                                   \
		size_t _i;                                                     \
		for (_i = 0; _i < sizeof(rows) / sizeof(rows[0]); _i++)        \
			if (run_counted(c, &rows[_i].st, rows[_i].stat)) {     \
				printf("#   (row %zu of %s)\n", _i, #rows);    \
				return -1;                                     \
			}                                                      \
	} while (0)

/* -------------------------------------------------------- inbound -- */

static int test_inbound(struct tctx *c)
{
	static const struct counted_step rows[] = {
		XDP_ICMP("frag needed, TCP, long quote (TCP checksum in it)",
			 ICMPERR(HOP, WAN, 3, 4, &q_tcp_wan, .icmp_mtu = 1400,
				 .quote_l4 = 40),
			 ICMPERR(HOP, LAN1, 3, 4, &q_tcp_lan, .icmp_mtu = 1400,
				 .quote_l4 = 40)),
		XDP_ICMP(
			"frag needed, TCP, 8-byte quote",
			ICMPERR(HOP, WAN, 3, 4, &q_tcp_wan, .icmp_mtu = 1400),
			ICMPERR(HOP, LAN1, 3, 4, &q_tcp_lan, .icmp_mtu = 1400)),
		XDP_ICMP(
			"host unreachable, TCP, quote with IP options",
			ICMPERR(HOP, WAN, 3, 1, &q_tcp_wan_opt, .quote_l4 = 20),
			ICMPERR(HOP, LAN1, 3, 1, &q_tcp_lan_opt,
				.quote_l4 = 20)),
		XDP_ICMP("outer IP options too",
			 ICMPERR(HOP, WAN, 3, 4, &q_tcp_wan, .icmp_mtu = 1400,
				 .ip_opt_words = 1),
			 ICMPERR(HOP, LAN1, 3, 4, &q_tcp_lan, .icmp_mtu = 1400,
				 .ip_opt_words = 1)),
		XDP_ICMP("time exceeded, UDP (checksum in the 8 bytes)",
			 ICMPERR(HOP, WAN, 11, 0, &q_udp_wan),
			 ICMPERR(HOP, LAN1, 11, 0, &q_udp_lan)),
		XDP_ICMP("port unreachable, UDP, whole datagram quoted",
			 ICMPERR(REM1, WAN, 3, 3, &q_udp_wan, .quote_l4 = 48),
			 ICMPERR(REM1, LAN1, 3, 3, &q_udp_lan, .quote_l4 = 48)),
		XDP_ICMP("UDP without checksum: stays without",
			 ICMPERR(HOP, WAN, 3, 3, &q_udp0_wan),
			 ICMPERR(HOP, LAN1, 3, 3, &q_udp0_lan)),
		XDP_ICMP("parameter problem, TCP",
			 ICMPERR(HOP, WAN, 12, 0, &q_tcp_wan, .quote_l4 = 20),
			 ICMPERR(HOP, LAN1, 12, 0, &q_tcp_lan, .quote_l4 = 20)),
		XDP_ICMP_SAME("quotes another remote port: no flow",
			      ICMPERR(HOP, WAN, 3, 4, &q_tcp_other_port),
			      PTRIG_STAT_PASS_ICMP_NO_FLOW),
		XDP_ICMP_SAME("sent to another address than the flow's",
			      ICMPERR(HOP, OTHER_WAN, 3, 4, &q_tcp_wan),
			      PTRIG_STAT_PASS_ICMP_NO_FLOW),
		XDP_ICMP_SAME("quote's source is not the external address",
			      ICMPERR(HOP, WAN, 3, 4, &q_tcp_lan_src),
			      PTRIG_STAT_PASS_ICMP_NO_FLOW),
		XDP_ICMP_SAME(
			"quote cut to 4 transport bytes",
			ICMPERR(HOP, WAN, 3, 4, &q_tcp_wan, .quote_l4 = 4),
			PTRIG_STAT_PASS_ICMP_MALFORMED),
		XDP_ICMP_SAME("quote cut inside its IP header",
			      ICMPERR(HOP, WAN, 3, 4, &q_tcp_wan,
				      .trunc = ETH_HLEN + 20 + 8 + 12),
			      PTRIG_STAT_PASS_ICMP_MALFORMED),
		XDP_ICMP_SAME("IP total length ends the quote early (padding)",
			      ICMPERR(HOP, WAN, 3, 4, &q_tcp_wan,
				      .tot_len_raw = 20 + 8 + 20 + 6),
			      PTRIG_STAT_PASS_ICMP_MALFORMED),
		XDP_ICMP_SAME("quote of a later fragment (no ports)",
			      ICMPERR(HOP, WAN, 3, 4, &q_tcp_wan_frag),
			      PTRIG_STAT_PASS_ICMP_MALFORMED),
		XDP_ICMP_SAME("quote of an ICMP packet",
			      ICMPERR(HOP, WAN, 3, 4, &q_icmp_wan),
			      PTRIG_STAT_PASS_ICMP_MALFORMED),
		XDP_ICMP_SAME(
			"a fragmented error",
			ICMPERR(HOP, WAN, 3, 4, &q_tcp_wan, .frag = 0x2000),
			PTRIG_STAT_PASS_ICMP_MALFORMED),
		XDP_ICMP_SAME("redirect quoting the flow: not translated",
			      ICMPERR(HOP, WAN, 5, 1, &q_tcp_wan),
			      PTRIG_STAT_PASS_OTHER_PROTO),
		XDP_ICMP_SAME("source quench quoting the flow",
			      ICMPERR(HOP, WAN, 4, 0, &q_tcp_wan),
			      PTRIG_STAT_PASS_OTHER_PROTO),
		XDP_ICMP_SAME("echo request to the external address",
			      ECHO(REM1, WAN, 8), PTRIG_STAT_PASS_OTHER_PROTO),
		XDP_ICMP_SAME("ICMP header cut",
			      ICMPERR(HOP, WAN, 3, 4, &q_tcp_wan,
				      .trunc = ETH_HLEN + 20 + 6),
			      PTRIG_STAT_PASS_MALFORMED),
	};
	struct ptrig_flow f0, f1;

	ASSERT_OK(setup(c));
	ASSERT_OK(flow_get(c, REM1, 40000, 113, TCP_, &f0));
	/* An old stamp: a translated error must leave it as it is. */
	f0.last_seen_ns = now_ns() - 100 * SEC_NS;
	ASSERT_OK(flow_put(c, REM1, 40000, 113, TCP_, &f0));
	RUN_COUNTED(c, rows);
	ASSERT_OK(flow_get(c, REM1, 40000, 113, TCP_, &f1));
	ASSERT_EQ(f1.last_seen_ns, f0.last_seen_ns,
		  "errors refreshed the flow");
	ASSERT_EQ(f1.flags, f0.flags, "errors changed the flow's flags");
	return 0;
}

/* An error about a flow the owner never answered on, or an expired one,
 * is no one's: untouched. */
static int test_inbound_no_live_flow(struct tctx *c)
{
	static const struct pkt_spec q_emb =
		TCP(WAN, 113, REM1, 40007, TH_SYN | TH_ACK);
	static const struct counted_step rows[] = {
		{STEP_DNAT_NEW("remote's SYN opens an embryonic flow", TCP,
			       REM1, 40007, LAN1, 113, TH_SYN),
		 PTRIG_STAT_XDP_TRANSLATED},
		XDP_ICMP_SAME("error about it before the owner answered",
			      ICMPERR(HOP, WAN, 3, 4, &q_emb),
			      PTRIG_STAT_PASS_ICMP_NO_FLOW),
	};
	static const struct counted_step expired[] = {
		XDP_ICMP_SAME("error about an expired flow",
			      ICMPERR(HOP, WAN, 3, 4, &q_tcp_wan),
			      PTRIG_STAT_PASS_ICMP_NO_FLOW),
	};

	ASSERT_OK(setup(c));
	RUN_COUNTED(c, rows);
	ASSERT_OK(set_flow_last_seen(c, REM1, 40000, 113, TCP_,
				     now_ns() - 8000 * SEC_NS));
	RUN_COUNTED(c, expired);
	return 0;
}

/* ------------------------------------------------------- outbound -- */

#define TC_ICMP(n, from_, in_, exp_)                                           \
	{                                                                      \
		{.name = n,                                                    \
		 .prog = PROG_TC_EGRESS,                                       \
		 .from = from_,                                                \
		 .in = in_,                                                    \
		 .verdict = TC_ACT_OK,                                         \
		 .exp = exp_},                                                 \
			PTRIG_STAT_ICMP_OUT_TRANSLATED                         \
	}
#define TC_ICMP_SAME(n, in_)                                                   \
	{                                                                      \
		{.name = n,                                                    \
		 .prog = PROG_TC_EGRESS,                                       \
		 .in = in_,                                                    \
		 .verdict = TC_ACT_OK,                                         \
		 .same = true},                                                \
			-1                                                     \
	}

static int test_outbound(struct tctx *c)
{
	static const struct counted_step rows[] = {
		TC_ICMP("owner's port unreachable: no LAN address leaves",
			FROM_LAN,
			ICMPERR(LAN1, REM1, 3, 3, &q_rem_udp_lan,
				.quote_l4 = 48),
			ICMPERR(WAN, REM1, 3, 3, &q_rem_udp_wan,
				.quote_l4 = 48)),
		TC_ICMP("owner's error, 8-byte quote", FROM_LAN,
			ICMPERR(LAN1, REM1, 3, 3, &q_rem_udp_lan),
			ICMPERR(WAN, REM1, 3, 3, &q_rem_udp_wan)),
		TC_ICMP("box's frag needed about the remote's TCP", FROM_BOX,
			ICMPERR(WAN, REM1, 3, 4, &q_rem_tcp_lan,
				.icmp_mtu = 1400, .quote_l4 = 20),
			ICMPERR(WAN, REM1, 3, 4, &q_rem_tcp_wan,
				.icmp_mtu = 1400, .quote_l4 = 20)),
		TC_ICMP("box's time exceeded, 8-byte TCP quote", FROM_BOX,
			ICMPERR(WAN, REM1, 11, 0, &q_rem_tcp_lan),
			ICMPERR(WAN, REM1, 11, 0, &q_rem_tcp_wan)),
		TC_ICMP_SAME("error to another host than the quoted source",
			     ICMPERR(LAN1, REM2, 3, 3, &q_rem_udp_lan)),
		TC_ICMP_SAME("quote names another LAN host than the owner",
			     ICMPERR(LAN2, REM1, 3, 3, &q_rem_udp_lan2)),
		TC_ICMP_SAME("quote of no flow",
			     ICMPERR(LAN1, REM1, 3, 3, &q_udp_lan)),
		TC_ICMP_SAME("quote cut to 4 transport bytes",
			     ICMPERR(LAN1, REM1, 3, 3, &q_rem_udp_lan,
				     .quote_l4 = 4)),
		TC_ICMP_SAME("echo reply from the owner", ECHO(LAN1, REM1, 0)),
	};

	ASSERT_OK(setup(c));
	RUN_COUNTED(c, rows);
	return 0;
}

/* The ICMP checksum covers the quote: the quoted address and the quoted IP
 * checksum change by opposite amounts, so with only those two in the
 * quote the ICMP checksum stays as it was (the "checksum-neutral" rewrite);
 * once the quoted L4 checksum is in the quote too, it must change. Checked
 * on packets built from scratch, then through the datapath. */
static int test_icmp_csum_neutral(struct tctx *c)
{
	struct pkt_spec s8 =
		ICMPERR(HOP, WAN, 3, 4, &q_tcp_wan, .icmp_mtu = 1400);
	struct pkt_spec d8 =
		ICMPERR(HOP, LAN1, 3, 4, &q_tcp_lan, .icmp_mtu = 1400);
	struct pkt_spec s40 = s8, d40 = d8;
	uint8_t a[PKT_MAX], b[PKT_MAX];
	size_t ck = ETH_HLEN + 20 + 2;
	struct run_res r;

	s40.quote_l4 = d40.quote_l4 = 40;
	ASSERT_OK(setup(c));
	pkt_build(&s8, a);
	pkt_build(&d8, b);
	ASSERT_EQ(get16(a + ck), get16(b + ck),
		  "8-byte TCP quote: ICMP checksum before/after");
	pkt_build(&s40, a);
	pkt_build(&d40, b);
	ASSERT_TRUE(get16(a + ck) != get16(b + ck),
		    "40-byte quote: ICMP checksum %#x did not change",
		    get16(a + ck));
	/* And the datapath agrees, byte for byte. */
	{
		struct step st = {.name = "long quote",
				  .prog = PROG_XDP,
				  .in = s40,
				  .verdict = XDP_PASS,
				  .exp = d40};

		if (run_step_at(c, &st, &r, __FILE__, __LINE__))
			return -1;
	}
	return 0;
}

static const struct test_case cases[] = {
	{"ICMP in: each type, quote size and checksum case", test_inbound,
	 NULL},
	{"ICMP in: embryonic or expired flows are no one's",
	 test_inbound_no_live_flow, NULL},
	{"ICMP out: owner's and box's errors leave with the external address",
	 test_outbound, NULL},
	{"ICMP checksum: neutral only without the quoted L4 checksum",
	 test_icmp_csum_neutral, NULL},
};

FIXTURE_MAIN(cases)
