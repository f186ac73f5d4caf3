// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture tests (BPF_PROG_TEST_RUN): the fast path's decisions. The private
 * network namespace gets a LAN: veth fpl0 (198.51.100.1/24, MAC LAN_MAC)
 * with a permanent neighbour entry for lanhost1 (NEIGH_MAC) and none for
 * lanhost2, and forwarding on, so bpf_fib_lookup() answers as on a router.
 * Conntrack entries come from the conntrack tool.
 *   - an established flow that conntrack has assured: the first packet
 *     takes the stack (the conntrack check), the next ones are redirected
 *     to fpl0 with DNAT, TTL - 1, both MACs and every checksum exact;
 *   - fallbacks, each an XDP_PASS of the DNATed packet exactly as without
 *     the fast path: TCP SYN/FIN/RST, TTL 1, IP options, no neighbour, not
 *     assured, no conntrack entry, an embryonic or closing flow, a route
 *     not via the configured LAN interface, the fast path off;
 *   - the LAN program (owner -> remote): the owner's packets of an
 *     established, assured flow are redirected to the WAN (fpl1, 192.0.2.1,
 *     MTU 1400, route to 203.0.113.0/24 via GW_MAC) with the external
 *     source, TTL - 1, both MACs and every checksum exact, and its ACK is
 *     remembered; the same fallbacks (TCP SYN/FIN/RST, TTL 1, IP options,
 *     fragments, strict conntrack, no neighbour, too big for the WAN, a
 *     route not via the WAN, embryonic flows, another host) take the
 *     stack untouched.
 */
#include "scenario.h"

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>

#define FP_RULE rule("fp", P_UDP, 7000, 7000, P_BOTH, 7100, 7110)

static const uint8_t LAN_MAC[6] = {0x02, 0xfa, 0x57, 0, 0, 0x01};
static const uint8_t NEIGH_MAC[6] = {0x02, 0xfa, 0x57, 0, 0, 0x02};
static const uint8_t WANIF_MAC[6] = {0x02, 0xfa, 0x57, 0, 0, 0x09};
static const uint8_t GW_MAC[6] = {0x02, 0xfa, 0x57, 0, 0, 0x0a};

static uint32_t lan_ifindex, other_ifindex;

static int sh(const char *cmd)
{
	int rc = system(cmd);

	ASSERT_TRUE(rc == 0, "%s: exit %d", cmd, rc);
	return 0;
}

/* Once per process (its own network namespace): the LAN side. */
static int lan_setup(void)
{
	if (lan_ifindex)
		return 0;
	ASSERT_TRUE(private_netns, "needs its own network namespace");
	ASSERT_OK(sh("ip link add fpl0 address 02:fa:57:00:00:01 type veth "
		     "peer name fpl1 address 02:fa:57:00:00:09"));
	ASSERT_OK(sh("ip addr add 198.51.100.1/24 dev fpl0 && "
		     "ip link set fpl0 up && ip link set fpl1 up && "
		     "ip link set lo up"));
	ASSERT_OK(sh("ip neigh replace 198.51.100.2 lladdr 02:fa:57:00:00:02 "
		     "dev fpl0 nud permanent"));
	/* fpl1 plays the WAN for the LAN program: the remotes behind a
	 * gateway with a known MAC; 192.0.2.9 (STRANGER) has no neighbour. */
	ASSERT_OK(sh("ip addr add 192.0.2.1/24 dev fpl1 && "
		     "ip link set fpl1 mtu 1400 && "
		     "ip neigh replace 192.0.2.2 lladdr 02:fa:57:00:00:0a "
		     "dev fpl1 nud permanent && "
		     "ip route add 203.0.113.0/24 via 192.0.2.2 dev fpl1"));
	ASSERT_OK(sh("sysctl -q -w net.ipv4.conf.all.forwarding=1 "
		     "net.ipv4.conf.lo.forwarding=1"));
	lan_ifindex = if_nametoindex("fpl0");
	other_ifindex = if_nametoindex("fpl1");
	ASSERT_TRUE(lan_ifindex && other_ifindex, "fpl0/fpl1 indexes");
	return 0;
}

/* A conntrack entry for remote:rport -> owner:lport as conntrack sees it
 * after ptrig's DNAT. status: conntrack -u flags ("" for none). */
static int ct_entry(uint8_t proto, uint32_t remote, uint16_t rport,
		    uint32_t owner, uint16_t lport, const char *status)
{
	char cmd[512], r[16], o[16];

	snprintf(r, sizeof(r), "%u.%u.%u.%u", remote >> 24,
		 (remote >> 16) & 255, (remote >> 8) & 255, remote & 255);
	snprintf(o, sizeof(o), "%u.%u.%u.%u", owner >> 24, (owner >> 16) & 255,
		 (owner >> 8) & 255, owner & 255);
	snprintf(cmd, sizeof(cmd),
		 "conntrack -I -p %s -s %s -d %s --sport %u --dport %u "
		 "--reply-src %s --reply-dst %s --reply-port-src %u "
		 "--reply-port-dst %u -t 600%s%s%s >/dev/null 2>&1",
		 proto == TCP_ ? "tcp" : "udp", r, o, rport, lport, o, r, lport,
		 rport, proto == TCP_ ? " --state ESTABLISHED" : "",
		 *status ? " -u " : "", status);
	return sh(cmd);
}

/* As ct_entry() for an established, assured TCP connection, but with its
 * windows tracked strictly, as for one conntrack followed from its SYN: the
 * conntrack tool would mark the entry liberal. */
static int ct_entry_tcp_strict(uint32_t remote, uint16_t rport, uint32_t owner,
			       uint16_t lport)
{
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	struct nf_conntrack *ct = nfct_new();
	int rc = -1;

	ASSERT_TRUE(h && ct, "nfct_open/nfct_new: %s", strerror(errno));
	nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET);
	nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_TCP);
	nfct_set_attr_u32(ct, ATTR_IPV4_SRC, htonl(remote));
	nfct_set_attr_u32(ct, ATTR_IPV4_DST, htonl(owner));
	nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(rport));
	nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(lport));
	nfct_setobjopt(ct, NFCT_SOPT_SETUP_REPLY);
	nfct_set_attr_u8(ct, ATTR_TCP_STATE, TCP_CONNTRACK_ESTABLISHED);
	nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_ORIG, 0);
	nfct_set_attr_u8(ct, ATTR_TCP_MASK_ORIG, 0xff);
	nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_REPL, 0);
	nfct_set_attr_u8(ct, ATTR_TCP_MASK_REPL, 0xff);
	nfct_set_attr_u32(ct, ATTR_STATUS, IPS_ASSURED | IPS_SEEN_REPLY);
	nfct_set_attr_u32(ct, ATTR_TIMEOUT, 600);
	if (nfct_query(h, NFCT_Q_CREATE, ct) == 0)
		rc = 0;
	else
		fprintf(stderr, "# conntrack create: %s\n", strerror(errno));
	nfct_destroy(ct);
	nfct_close(h);
	return rc;
}

/* Seconds until conntrack's entry from remote port rport expires (-1: no
 * entry): conntrack -L's third column. */
static int ct_timeout(uint8_t proto, uint16_t rport)
{
	char cmd[160];
	int t = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "conntrack -L -p %s --sport %u 2>/dev/null",
		 proto == TCP_ ? "tcp" : "udp", rport);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%*s %*d %d", &t) != 1)
		t = -1;
	pclose(f);
	return t;
}

/* Rule fp, and an established flow remote:rport -> owner:lport in it. */
static int fast_setup(struct tctx *c, uint8_t proto, uint32_t remote,
		      uint16_t rport, uint32_t owner, uint16_t lport,
		      uint32_t flags)
{
	struct ptrig_externals ext;
	struct ptrig_flow f;
	uint32_t zero = 0;

	memset(&f, 0, sizeof(f));
	f.owner = htonl(owner);
	f.external = htonl(WAN);
	f.rule_id = rule_of_port(c, proto == UDP_ ? PTRIG_L4_UDP : PTRIG_L4_TCP,
				 lport, false);
	f.timeout_s = 300;
	f.closing_timeout_s = 10;
	f.flags = flags;
	f.last_seen_ns = now_ns();
	f.opened_ns = f.last_seen_ns;
	ASSERT_TRUE(f.rule_id, "no rule opens port %u", lport);
	ASSERT_OK(flow_put(c, remote, rport, lport, proto, &f));
	/* TC egress finds the owner's flows on the addresses it knows. */
	memset(&ext, 0, sizeof(ext));
	ext.addr[0] = htonl(WAN);
	ASSERT_OK(bpf_map_update_elem(c->fds.exts, &zero, &ext, BPF_ANY)
			  ? -errno
			  : 0);
	return 0;
}

/* A flow's per-CPU fast-path entry in map fd (inbound: fds.fast,
 * outbound: fds.fout), summed. */
static int fast_flow_sum(int fd, struct tctx *c, uint32_t remote,
			 uint16_t rport, uint16_t lport, uint8_t proto,
			 struct ptrig_fast_flow *sum)
{
	struct ptrig_flow_key k = flow_key(remote, rport, lport, proto);
	struct ptrig_fast_flow *per;
	int i, err = 0;

	memset(sum, 0, sizeof(*sum));
	per = calloc((size_t)c->ncpu, sizeof(*per));
	ASSERT_TRUE(per, "calloc");
	if (bpf_map_lookup_elem(fd, &k, per))
		err = -errno;
	for (i = 0; !err && i < c->ncpu; i++) {
		sum->pkts += per[i].pkts;
		sum->bytes += per[i].bytes;
		sum->slow_pkts += per[i].slow_pkts;
	}
	free(per);
	return err;
}

#define fast_get(c, ...) fast_flow_sum((c)->fds.fast, c, __VA_ARGS__)
#define fout_get(c, ...) fast_flow_sum((c)->fds.fout, c, __VA_ARGS__)

/* remote:rport -> WAN:lport leaves XDP DNATed to owner, TTL - 1, with the
 * LAN link's MACs, to be redirected. */
#define STEP_FAST(nm, L4, remote, rport, owner, lport, ...)                    \
	{                                                                      \
		.name = nm, .prog = PROG_XDP,                                  \
		.in = L4(remote, rport, WAN, lport, __VA_ARGS__),              \
		.verdict = XDP_REDIRECT,                                       \
		.exp = L4(remote, rport, owner, lport, __VA_ARGS__, .ttl = 63, \
			  .eth_dst = NEIGH_MAC, .eth_src = LAN_MAC)            \
	}

static int setup(struct tctx *c, uint32_t lan)
{
	struct ptrig_rule_spec rules[] = {FP_RULE};

	ASSERT_OK(lan_setup());
	tl_fast_lan_ifindex = lan == 1 || lan == 3 ? lan_ifindex : lan;
	if (lan == 2)
		tl_fast_lan_ifindex = other_ifindex;
	/* The WAN is fpl1; 3: the LAN program is told it is fpl0 (so a
	 * route via fpl1 is not via the WAN). */
	tl_fast_wan_ifindex = lan == 3 ? lan_ifindex : other_ifindex;
	ASSERT_OK(tctx_setup(c, rules, 1));
	tl_fast_lan_ifindex = 0;
	tl_fast_wan_ifindex = 0;
	return 0;
}

/* setup() with LAN choice lan, and an established, assured UDP flow from
 * remote1:rport to owner:7100. */
static int udp_flow_setup(struct tctx *c, uint32_t lan, uint16_t rport,
			  uint32_t owner)
{
	ASSERT_OK(setup(c, lan));
	ASSERT_OK(
		ct_entry(UDP_, REM1, rport, owner, 7100, "SEEN_REPLY,ASSURED"));
	ASSERT_OK(fast_setup(c, UDP_, REM1, rport, owner, 7100,
			     PTRIG_FLOW_SEEN_REPLY));
	return 0;
}

static int test_udp_redirect(struct tctx *c)
{
	static const struct step steps[] = {
		STEP_DNAT("first: the conntrack check takes the stack", UDP,
			  REM1, 40000, LAN1, 7100, .payload_len = 100),
		STEP_FAST("second: redirected", UDP, REM1, 40000, LAN1, 7100,
			  .payload_len = 100),
		STEP_FAST("third, other payload: redirected", UDP, REM1, 40000,
			  LAN1, 7100, .payload_len = 1000, .payload_seed = 3),
		STEP_FAST("UDP checksum 0 stays 0", UDP, REM1, 40000, LAN1,
			  7100, .payload_len = 10, .udp_no_csum = true),
		STEP_DNAT("TTL 1: the stack (ICMP time exceeded)", UDP, REM1,
			  40000, LAN1, 7100, .ttl = 1),
		{.name = "TTL 2: redirected with TTL 1",
		 .prog = PROG_XDP,
		 .in = UDP(REM1, 40000, WAN, 7100, .ttl = 2),
		 .verdict = XDP_REDIRECT,
		 .exp = UDP(REM1, 40000, LAN1, 7100, .ttl = 1,
			    .eth_dst = NEIGH_MAC, .eth_src = LAN_MAC)},
		STEP_DNAT("IP options: the stack", UDP, REM1, 40000, LAN1, 7100,
			  .ip_opt_words = 1),
		STEP_DNAT("first fragment: the stack", UDP, REM1, 40000, LAN1,
			  7100, .frag = 0x2000, .payload_len = 64),
	};
	struct ptrig_fast_counters fc[64];
	struct ptrig_fast_flow ff;
	uint32_t id;
	int i;

	NEED_CONNTRACK();
	ASSERT_OK(udp_flow_setup(c, 1, 40000, LAN1));
	RUN_STEPS(c, steps);
	ASSERT_OK(fast_get(c, REM1, 40000, 7100, UDP_, &ff));
	ASSERT_EQ(ff.pkts, 4, "flow: fast packets");
	/* Frames: 14 + 20 + 8 + payload. */
	ASSERT_EQ(ff.bytes, (42 + 100) + (42 + 1000) + (42 + 10) + 42,
		  "flow: fast bytes");
	ASSERT_EQ(ff.slow_pkts, 4,
		  "flow: slow packets (check, TTL, opts, frag)");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_FORWARDED), 4, "FAST_FORWARDED");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_CT_CHECK), 1, "FAST_CT_CHECK");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_UNUSUAL), 3, "FAST_UNUSUAL");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_XDP_TRANSLATED), 8,
		  "every packet counts as translated");
	ASSERT_EQ(
		cnt_get(c, rule_of_port(c, PTRIG_L4_UDP, 7100, false)).pkts_in,
		8, "rule pkts_in counts both paths");
	id = rule_of_port(c, PTRIG_L4_UDP, 7100, false);
	ASSERT_TRUE(c->ncpu <= 64, "ncpu %d", c->ncpu);
	ASSERT_OK(bpf_map_lookup_elem(c->fds.fcnt, &id, fc) ? -errno : 0);
	for (i = 1; i < c->ncpu; i++)
		fc[0].pkts += fc[i].pkts;
	ASSERT_EQ(fc[0].pkts, 4, "rule fast packets");
	return 0;
}

/* A RST set the conntrack entry of the TCP connection from remote port
 * rport to expire in 10 s; n RSTs did so far. */
static int rst_expired(struct tctx *c, uint16_t rport, uint64_t n)
{
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_CT_RST_EXPIRY), n,
		  "FAST_CT_RST_EXPIRY");
	ASSERT_TRUE(ct_timeout(TCP_, rport) <= 10,
		    "the RST set conntrack's entry to expire in 10 s (%d)",
		    ct_timeout(TCP_, rport));
	return 0;
}

/* The owner's latest acknowledgement in the RST tests. */
#define OWNER_ACK 0x31415926u

static int test_tcp_state_changes(struct tctx *c)
{
	static const struct step steps[] = {
		STEP_DNAT("first ACK: the conntrack check takes the stack", TCP,
			  REM1, 40010, LAN1, 7101, TH_ACK, .payload_len = 20),
		STEP_FAST("data: redirected", TCP, REM1, 40010, LAN1, 7101,
			  TH_ACK | TH_PSH, .payload_len = 1200),
		STEP_DNAT("remote's FIN: the stack", TCP, REM1, 40010, LAN1,
			  7101, TH_FIN | TH_ACK),
		STEP_DNAT("SYN on the live flow: the stack", TCP, REM1, 40010,
			  LAN1, 7101, TH_SYN),
		STEP_FAST("pure ACK: redirected", TCP, REM1, 40010, LAN1, 7101,
			  TH_ACK),
		STEP_SNAT("owner's ACK (remembered)", TCP, LAN1, 7101, REM1,
			  40010, TH_ACK, .ack = OWNER_ACK),
		STEP_DNAT("a RST off the owner's ACK: the stack", TCP, REM1,
			  40010, LAN1, 7101, TH_RST, .seq = OWNER_ACK + 1),
	};
	static const struct step exact_rst[] = {
		STEP_DNAT("the RST at the owner's ACK: the stack", TCP, REM1,
			  40010, LAN1, 7101, TH_RST, .seq = OWNER_ACK),
	};
	static const struct step owner_rst[] = {
		STEP_DNAT("first ACK: the conntrack check takes the stack", TCP,
			  REM1, 40011, LAN1, 7101, TH_ACK, .payload_len = 20),
		STEP_FAST("data: redirected", TCP, REM1, 40011, LAN1, 7101,
			  TH_ACK | TH_PSH, .payload_len = 1200),
		STEP_SNAT("owner's RST", TCP, LAN1, 7101, REM1, 40011, TH_RST),
	};
	static const struct step closing[] = {
		STEP_DNAT("the owner closed (flow closing): the stack", TCP,
			  REM1, 40010, LAN1, 7101, TH_ACK),
	};
	struct ptrig_flow f;

	NEED_CONNTRACK();
	ASSERT_OK(setup(c, 1));
	ASSERT_OK(
		sh("sysctl -q -w net.netfilter.nf_conntrack_tcp_be_liberal=1"));
	ASSERT_OK(ct_entry(TCP_, REM1, 40010, LAN1, 7101, "ASSURED"));
	ASSERT_OK(fast_setup(c, TCP_, REM1, 40010, LAN1, 7101,
			     PTRIG_FLOW_SEEN_REPLY));
	RUN_STEPS(c, steps);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_FORWARDED), 2, "FAST_FORWARDED");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_UNUSUAL), 3, "FAST_UNUSUAL");
	ASSERT_OK(flow_get(c, REM1, 40010, 7101, TCP_, &f));
	ASSERT_EQ(f.flags, PTRIG_FLOW_SEEN_REPLY | PTRIG_FLOW_BYPASSED,
		  "bypassed; the remote's FIN and RST changed nothing");
	ASSERT_EQ(f.owner_ack, OWNER_ACK, "the owner's ACK remembered");
	ASSERT_EQ(
		stat_get(c, PTRIG_STAT_FAST_CT_RST_EXPIRY), 0,
		"a RST off the owner's ACK (a spoofer's): conntrack untouched");
	ASSERT_TRUE(ct_timeout(TCP_, 40010) > 500, "conntrack timeout %d",
		    ct_timeout(TCP_, 40010));

	RUN_STEPS(c, exact_rst);
	ASSERT_OK(rst_expired(c, 40010, 1));

	/* The owner's own RST closes it too. */
	ASSERT_OK(ct_entry(TCP_, REM1, 40011, LAN1, 7101, "ASSURED"));
	ASSERT_OK(fast_setup(c, TCP_, REM1, 40011, LAN1, 7101,
			     PTRIG_FLOW_SEEN_REPLY));
	RUN_STEPS(c, owner_rst);
	ASSERT_OK(rst_expired(c, 40011, 2));

	ASSERT_OK(flow_get(c, REM1, 40010, 7101, TCP_, &f));
	f.flags |= PTRIG_FLOW_CLOSING;
	ASSERT_OK(flow_put(c, REM1, 40010, 7101, TCP_, &f));
	RUN_STEPS(c, closing);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_FORWARDED), 3,
		  "FAST_FORWARDED after closing");
	ASSERT_OK(
		sh("sysctl -q -w net.netfilter.nf_conntrack_tcp_be_liberal=0"));
	return 0;
}

/* Conntrack tracks TCP windows strictly (the default): a bypassed segment
 * would leave its window behind, so the remote's FIN and the owner's ACKs
 * would later be judged out of window. TCP stays on the slow path until
 * conntrack is liberal; the namespace's sysctl is read at every recheck. */
static int test_tcp_strict_conntrack(struct tctx *c)
{
	static const struct step strict[] = {
		STEP_DNAT("strict conntrack: the check takes the stack", TCP,
			  REM1, 40060, LAN1, 7101, TH_ACK, .payload_len = 20),
		STEP_DNAT("strict conntrack: data still takes the stack", TCP,
			  REM1, 40060, LAN1, 7101, TH_ACK, .payload_len = 1200),
	};
	static const struct step liberal[] = {
		STEP_DNAT("liberal now: the recheck takes the stack", TCP, REM1,
			  40060, LAN1, 7101, TH_ACK, .payload_len = 20),
		STEP_FAST("liberal: redirected", TCP, REM1, 40060, LAN1, 7101,
			  TH_ACK, .payload_len = 1200),
	};
	struct ptrig_flow_key k = flow_key(REM1, 40060, 7101, TCP_);
	struct ptrig_fast_flow ff;

	NEED_CONNTRACK();
	ASSERT_OK(setup(c, 1));
	ASSERT_OK(
		sh("sysctl -q -w net.netfilter.nf_conntrack_tcp_be_liberal=0"));
	ASSERT_OK(ct_entry_tcp_strict(REM1, 40060, LAN1, 7101));
	ASSERT_OK(fast_setup(c, TCP_, REM1, 40060, LAN1, 7101,
			     PTRIG_FLOW_SEEN_REPLY));
	RUN_STEPS(c, strict);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_TCP_STRICT), 1,
		  "FAST_TCP_STRICT");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_NOT_ASSURED), 0,
		  "not counted as unassured");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_FORWARDED), 0, "FAST_FORWARDED");
	ASSERT_OK(fast_get(c, REM1, 40060, 7101, TCP_, &ff));
	ASSERT_EQ(ff.slow_pkts, 2, "both packets counted slow");

	/* The next recheck (forced: the entry's answer is forgotten) sees
	 * the sysctl. */
	ASSERT_OK(
		sh("sysctl -q -w net.netfilter.nf_conntrack_tcp_be_liberal=1"));
	ASSERT_OK(bpf_map_delete_elem(c->fds.fast, &k) ? -errno : 0);
	RUN_STEPS(c, liberal);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_TCP_STRICT), 1,
		  "FAST_TCP_STRICT unchanged");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_FORWARDED), 1, "FAST_FORWARDED");
	ASSERT_OK(
		sh("sysctl -q -w net.netfilter.nf_conntrack_tcp_be_liberal=0"));
	return 0;
}

static int test_conntrack_says_no(struct tctx *c)
{
	static const struct step steps[] = {
		STEP_DNAT("not assured: the stack", UDP, REM1, 40020, LAN1,
			  7100),
		STEP_DNAT("not assured, within the check interval: the stack",
			  UDP, REM1, 40020, LAN1, 7100),
		STEP_DNAT("no conntrack entry: the stack", UDP, REM1, 40021,
			  LAN1, 7100),
		STEP_DNAT("no conntrack entry, again: the stack", UDP, REM1,
			  40021, LAN1, 7100),
		STEP_DNAT("TCP entry assured but SYN_RECV: the stack", TCP,
			  REM1, 40022, LAN1, 7101, TH_ACK),
		STEP_DNAT("... again", TCP, REM1, 40022, LAN1, 7101, TH_ACK),
	};
	struct ptrig_fast_flow ff;

	NEED_CONNTRACK();
	ASSERT_OK(setup(c, 1));
	ASSERT_OK(ct_entry(UDP_, REM1, 40020, LAN1, 7100, "SEEN_REPLY"));
	ASSERT_OK(sh("conntrack -I -p tcp -s 203.0.113.2 -d 198.51.100.2 "
		     "--sport 40022 --dport 7101 --reply-src 198.51.100.2 "
		     "--reply-dst 203.0.113.2 --reply-port-src 7101 "
		     "--reply-port-dst 40022 -t 600 --state SYN_RECV "
		     "-u ASSURED >/dev/null 2>&1"));
	ASSERT_OK(fast_setup(c, UDP_, REM1, 40020, LAN1, 7100,
			     PTRIG_FLOW_SEEN_REPLY));
	ASSERT_OK(fast_setup(c, UDP_, REM1, 40021, LAN1, 7100,
			     PTRIG_FLOW_SEEN_REPLY));
	ASSERT_OK(fast_setup(c, TCP_, REM1, 40022, LAN1, 7101,
			     PTRIG_FLOW_SEEN_REPLY));
	RUN_STEPS(c, steps);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_FORWARDED), 0, "FAST_FORWARDED");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_CT_CHECK), 3,
		  "one check per flow within the interval");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_NOT_ASSURED), 3,
		  "FAST_NOT_ASSURED");
	ASSERT_OK(fast_get(c, REM1, 40020, 7100, UDP_, &ff));
	ASSERT_EQ(ff.slow_pkts, 2, "flow 40020: slow packets");
	ASSERT_EQ(ff.pkts, 0, "flow 40020: fast packets");
	return 0;
}

static int test_route_fallbacks(struct tctx *c)
{
	static const struct step steps[] = {
		STEP_DNAT("lanhost2 (no neighbour): conntrack check", UDP, REM1,
			  40030, LAN2, 7100),
		STEP_DNAT("lanhost2 (no neighbour): the stack resolves it", UDP,
			  REM1, 40030, LAN2, 7100),
	};
	static const struct step other_if[] = {
		STEP_DNAT("route via fpl0, fast path to fpl1: check", UDP, REM1,
			  40031, LAN1, 7100),
		STEP_DNAT("route via fpl0, fast path to fpl1: the stack", UDP,
			  REM1, 40031, LAN1, 7100),
	};

	NEED_CONNTRACK();
	ASSERT_OK(udp_flow_setup(c, 1, 40030, LAN2));
	RUN_STEPS(c, steps);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_NO_NEIGH), 1, "FAST_NO_NEIGH");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_FORWARDED), 0, "FAST_FORWARDED");
	tctx_teardown(c);

	ASSERT_OK(udp_flow_setup(c, 2, 40031, LAN1));
	RUN_STEPS(c, other_if);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_FIB_OTHER), 1, "FAST_FIB_OTHER");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_FORWARDED), 0, "FAST_FORWARDED");
	return 0;
}

static int test_flow_not_established(struct tctx *c)
{
	static const struct step steps[] = {
		STEP_DNAT_NEW("embryonic flow (owner never answered): the "
			      "stack, marked",
			      UDP, REM1, 40040, LAN1, 7100),
		STEP_DNAT("closing flow: the stack", UDP, REM1, 40041, LAN1,
			  7100),
		STEP_DNAT("closing flow, again: the stack", UDP, REM1, 40041,
			  LAN1, 7100),
	};

	NEED_CONNTRACK();
	ASSERT_OK(setup(c, 1));
	ASSERT_OK(
		ct_entry(UDP_, REM1, 40040, LAN1, 7100, "SEEN_REPLY,ASSURED"));
	ASSERT_OK(
		ct_entry(UDP_, REM1, 40041, LAN1, 7100, "SEEN_REPLY,ASSURED"));
	ASSERT_OK(fast_setup(c, UDP_, REM1, 40040, LAN1, 7100,
			     PTRIG_FLOW_EMBRYONIC));
	ASSERT_OK(fast_setup(c, UDP_, REM1, 40041, LAN1, 7100,
			     PTRIG_FLOW_SEEN_REPLY | PTRIG_FLOW_CLOSING));
	RUN_STEPS(c, steps);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_FORWARDED), 0, "FAST_FORWARDED");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_CT_CHECK), 0,
		  "not even a conntrack check");
	return 0;
}

/* Frames arriving on the LAN are addressed to the box: for TC the test
 * run's device, the loopback (MAC 00:..:00), so the stack would forward
 * them (PACKET_HOST); for XDP the LAN MAC the programs are loaded with
 * (zero here). */
#define LAN_UDP(s, sp, d, dp, ...)                                             \
	UDP(s, sp, d, dp, .mac_zero = true, __VA_ARGS__)
#define LAN_TCP(s, sp, d, dp, fl, ...)                                         \
	TCP(s, sp, d, dp, fl, .mac_zero = true, __VA_ARGS__)
static const uint8_t BCAST_MAC[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t OTHER_MAC[6] = {0x02, 0xfa, 0x57, 0, 0, 0x77};

/* owner:lport -> remote:rport arriving on the LAN leaves the LAN program
 * with the external source, TTL - 1 and the WAN link's MACs, redirected. */
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_REDIRECT 7

#define STEP_LAN_FAST(nm, L4, owner, lport, remote, rport, ...)                \
	{                                                                      \
		.name = nm, .prog = PROG_TC_LAN,                               \
		.in = LAN_##L4(owner, lport, remote, rport, __VA_ARGS__),      \
		.verdict = TC_ACT_REDIRECT,                                    \
		.exp = L4(WAN, lport, remote, rport, __VA_ARGS__, .ttl = 63,   \
			  .eth_dst = GW_MAC, .eth_src = WANIF_MAC)             \
	}
/* ... or takes the stack, untouched (TC egress translates it there). */
#define STEP_LAN_STACK(nm, L4, owner, lport, remote, rport, ...)               \
	{                                                                      \
		.name = nm, .prog = PROG_TC_LAN,                               \
		.in = LAN_##L4(owner, lport, remote, rport, __VA_ARGS__),      \
		.verdict = (uint32_t)TC_ACT_UNSPEC, .same = true               \
	}

/* The LAN steps are written for the TC program; with lan_xdp they run
 * through the XDP variant instead: the same input and output, XDP's
 * verdicts. */
static bool lan_xdp;

#define RUN_LAN_STEPS(c, steps)                                                \
	do {                                                                   \
		struct step _s[sizeof(steps) / sizeof(steps[0])];              \
		size_t _k;                                                     \
		memcpy(_s, steps, sizeof(_s));                                 \
		for (_k = 0; lan_xdp && _k < sizeof(_s) / sizeof(_s[0]);       \
		     _k++) {                                                   \
			_s[_k].prog = PROG_XDP_LAN;                            \
			_s[_k].verdict = _s[_k].verdict == TC_ACT_REDIRECT     \
						 ? XDP_REDIRECT                \
						 : XDP_PASS;                   \
		}                                                              \
		RUN_STEPS(c, _s);                                              \
	} while (0)

static int test_lan_udp_redirect(struct tctx *c)
{
	static const struct step steps[] = {
		STEP_LAN_STACK("owner's first: the conntrack check takes the "
			       "stack",
			       UDP, LAN1, 7100, REM1, 40060,
			       .payload_len = 100),
		STEP_LAN_FAST("second: SNAT, TTL, MACs, redirected to the WAN",
			      UDP, LAN1, 7100, REM1, 40060, .payload_len = 100),
		STEP_LAN_FAST("UDP checksum 0 stays 0", UDP, LAN1, 7100, REM1,
			      40060, .payload_len = 10, .udp_no_csum = true),
		STEP_LAN_STACK("TTL 1: the stack", UDP, LAN1, 7100, REM1, 40060,
			       .ttl = 1),
		STEP_LAN_STACK("IP options: the stack", UDP, LAN1, 7100, REM1,
			       40060, .ip_opt_words = 1),
		STEP_LAN_STACK("first fragment: the stack", UDP, LAN1, 7100,
			       REM1, 40060, .frag = 0x2000, .payload_len = 64),
		STEP_LAN_STACK("too big for the WAN's MTU: the stack", UDP,
			       LAN1, 7100, REM1, 40060, .payload_len = 1380),
		STEP_LAN_STACK(
			"another LAN host on the flow's ports: the stack", UDP,
			LAN2, 7100, REM1, 40060),
		{.name = "broadcast frame: the stack",
		 .prog = PROG_TC_LAN,
		 .in = UDP(LAN1, 7100, REM1, 40060, .eth_dst = BCAST_MAC),
		 .verdict = (uint32_t)TC_ACT_UNSPEC,
		 .same = true},
		{.name = "frame for another host's MAC: the stack",
		 .prog = PROG_TC_LAN,
		 .in = UDP(LAN1, 7100, REM1, 40060, .eth_dst = OTHER_MAC),
		 .verdict = (uint32_t)TC_ACT_UNSPEC,
		 .same = true},
	};
	struct ptrig_fast_counters fc[64];
	struct ptrig_fast_flow ff;
	uint32_t id;
	int i;

	NEED_CONNTRACK();
	ASSERT_OK(udp_flow_setup(c, 1, 40060, LAN1));
	RUN_LAN_STEPS(c, steps);
	ASSERT_OK(fout_get(c, REM1, 40060, 7100, UDP_, &ff));
	ASSERT_EQ(ff.pkts, 2, "flow: fast packets out");
	ASSERT_EQ(ff.bytes, (42 + 100) + (42 + 10), "flow: fast bytes out");
	ASSERT_EQ(ff.slow_pkts, 5,
		  "flow: slow packets out (check, TTL, opts, frag, MTU)");
	ASSERT_TRUE(fast_get(c, REM1, 40060, 7100, UDP_, &ff) == -ENOENT,
		    "the inbound fast-path entry is not touched");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_OUT_FORWARDED), 2,
		  "FAST_OUT_FORWARDED");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_FORWARDED), 0, "FAST_FORWARDED");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_CT_CHECK), 1, "FAST_CT_CHECK");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_UNUSUAL), 3, "FAST_UNUSUAL");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_FIB_OTHER), 1,
		  "FAST_FIB_OTHER (MTU)");
	id = rule_of_port(c, PTRIG_L4_UDP, 7100, false);
	ASSERT_EQ(cnt_get(c, id).pkts_out, 2,
		  "rule pkts_out counts the fast ones here (TC egress the "
		  "others)");
	ASSERT_TRUE(c->ncpu <= 64, "ncpu %d", c->ncpu);
	ASSERT_OK(bpf_map_lookup_elem(c->fds.fcout, &id, fc) ? -errno : 0);
	for (i = 1; i < c->ncpu; i++)
		fc[0].pkts += fc[i].pkts;
	ASSERT_EQ(fc[0].pkts, 2, "rule fast packets out");
	return 0;
}

static int test_lan_tcp(struct tctx *c)
{
	static const struct step steps[] = {
		STEP_LAN_STACK("owner's first ACK: the conntrack check", TCP,
			       LAN1, 7101, REM1, 40061, TH_ACK,
			       .payload_len = 20),
		STEP_LAN_FAST("data: redirected, its ACK remembered", TCP, LAN1,
			      7101, REM1, 40061, TH_ACK | TH_PSH,
			      .payload_len = 1200, .ack = OWNER_ACK),
		STEP_LAN_STACK("owner's FIN: the stack", TCP, LAN1, 7101, REM1,
			       40061, TH_FIN | TH_ACK),
		STEP_LAN_STACK("owner's RST: the stack", TCP, LAN1, 7101, REM1,
			       40061, TH_RST),
		STEP_LAN_STACK("owner's SYN-ACK: the stack", TCP, LAN1, 7101,
			       REM1, 40061, TH_SYN | TH_ACK),
	};
	static const struct step strict[] = {
		STEP_LAN_STACK("strict conntrack: check", TCP, LAN1, 7101, REM1,
			       40063, TH_ACK),
		STEP_LAN_STACK("strict conntrack: the stack", TCP, LAN1, 7101,
			       REM1, 40063, TH_ACK),
	};
	struct ptrig_flow f;

	NEED_CONNTRACK();
	ASSERT_OK(setup(c, 1));
	ASSERT_OK(
		sh("sysctl -q -w net.netfilter.nf_conntrack_tcp_be_liberal=1"));
	ASSERT_OK(ct_entry(TCP_, REM1, 40061, LAN1, 7101, "ASSURED"));
	ASSERT_OK(fast_setup(c, TCP_, REM1, 40061, LAN1, 7101,
			     PTRIG_FLOW_SEEN_REPLY));
	RUN_LAN_STEPS(c, steps);
	ASSERT_OK(flow_get(c, REM1, 40061, 7101, TCP_, &f));
	ASSERT_EQ(f.owner_ack, OWNER_ACK, "the owner's ACK is remembered");
	ASSERT_TRUE(f.flags & PTRIG_FLOW_BYPASSED, "flow flagged bypassed");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_OUT_FORWARDED), 1,
		  "FAST_OUT_FORWARDED");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_UNUSUAL), 3, "FAST_UNUSUAL");

	ASSERT_OK(
		sh("sysctl -q -w net.netfilter.nf_conntrack_tcp_be_liberal=0"));
	ASSERT_OK(ct_entry_tcp_strict(REM1, 40063, LAN1, 7101));
	ASSERT_OK(fast_setup(c, TCP_, REM1, 40063, LAN1, 7101,
			     PTRIG_FLOW_SEEN_REPLY));
	RUN_LAN_STEPS(c, strict);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_TCP_STRICT), 1,
		  "FAST_TCP_STRICT");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_OUT_FORWARDED), 1,
		  "FAST_OUT_FORWARDED: no more");
	return 0;
}

static int test_lan_fallbacks(struct tctx *c)
{
	static const struct step no_neigh[] = {
		STEP_LAN_STACK("no neighbour for the remote: check", UDP, LAN1,
			       7100, STRANGER, 40064),
		STEP_LAN_STACK("no neighbour for the remote: the stack", UDP,
			       LAN1, 7100, STRANGER, 40064),
	};
	static const struct step embryonic[] = {
		STEP_LAN_STACK("embryonic flow (the remote never sent "
			       "again): the stack",
			       UDP, LAN1, 7100, REM1, 40065),
		STEP_LAN_STACK("embryonic flow, again: the stack", UDP, LAN1,
			       7100, REM1, 40065),
	};
	static const struct step not_wan[] = {
		STEP_LAN_STACK("route not via the WAN: check", UDP, LAN1, 7100,
			       REM1, 40066),
		STEP_LAN_STACK("route not via the WAN: the stack", UDP, LAN1,
			       7100, REM1, 40066),
	};

	NEED_CONNTRACK();
	ASSERT_OK(udp_flow_setup(c, 1, 40064, LAN1));
	ASSERT_OK(ct_entry(UDP_, STRANGER, 40064, LAN1, 7100,
			   "SEEN_REPLY,ASSURED"));
	ASSERT_OK(fast_setup(c, UDP_, STRANGER, 40064, LAN1, 7100,
			     PTRIG_FLOW_SEEN_REPLY));
	RUN_LAN_STEPS(c, no_neigh);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_NO_NEIGH), 1, "FAST_NO_NEIGH");
	ASSERT_OK(
		ct_entry(UDP_, REM1, 40065, LAN1, 7100, "SEEN_REPLY,ASSURED"));
	ASSERT_OK(fast_setup(c, UDP_, REM1, 40065, LAN1, 7100,
			     PTRIG_FLOW_EMBRYONIC | PTRIG_FLOW_SEEN_REPLY));
	RUN_LAN_STEPS(c, embryonic);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_CT_CHECK), 1,
		  "embryonic: not even a conntrack check");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_OUT_FORWARDED), 0,
		  "FAST_OUT_FORWARDED");
	tctx_teardown(c);

	ASSERT_OK(udp_flow_setup(c, 3, 40066, LAN1));
	RUN_LAN_STEPS(c, not_wan);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_FIB_OTHER), 1, "FAST_FIB_OTHER");
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_OUT_FORWARDED), 0,
		  "FAST_OUT_FORWARDED");
	return 0;
}

static int xdp_lan(int (*fn)(struct tctx *), struct tctx *c)
{
	int ret;

	/* The TC run's conntrack entries are still there (same ports).
	 * Without nf_conntrack the cases skip, and the flush would load it. */
	ASSERT_TRUE(private_netns, "needs its own network namespace");
	if (have_conntrack)
		ASSERT_OK(sh("conntrack -F >/dev/null 2>&1"));
	lan_xdp = true;
	ret = fn(c);
	lan_xdp = false;
	return ret;
}

static int test_xdp_lan_udp_redirect(struct tctx *c)
{
	return xdp_lan(test_lan_udp_redirect, c);
}

static int test_xdp_lan_tcp(struct tctx *c)
{
	return xdp_lan(test_lan_tcp, c);
}

static int test_xdp_lan_fallbacks(struct tctx *c)
{
	return xdp_lan(test_lan_fallbacks, c);
}

static int test_fast_path_off(struct tctx *c)
{
	static const struct step steps[] = {
		STEP_DNAT("fast path off: the stack", UDP, REM1, 40050, LAN1,
			  7100),
		STEP_DNAT("fast path off, again: the stack", UDP, REM1, 40050,
			  LAN1, 7100),
	};
	struct ptrig_fast_flow ff;

	ASSERT_OK(setup(c, 0));
	if (have_conntrack)
		ASSERT_OK(ct_entry(UDP_, REM1, 40050, LAN1, 7100,
				   "SEEN_REPLY,ASSURED"));
	ASSERT_OK(fast_setup(c, UDP_, REM1, 40050, LAN1, 7100,
			     PTRIG_FLOW_SEEN_REPLY));
	RUN_STEPS(c, steps);
	ASSERT_EQ(stat_get(c, PTRIG_STAT_FAST_CT_CHECK), 0, "no check");
	ASSERT_TRUE(fast_get(c, REM1, 40050, 7100, UDP_, &ff) == -ENOENT,
		    "no fast-path entry for the flow");
	return 0;
}

static const struct test_case cases[] = {
	{.name = "UDP: redirect with DNAT, TTL, MACs; TTL 1, options, "
		 "fragments take the stack",
	 .fn = test_udp_redirect},
	{.name = "TCP: SYN, FIN, RST and a closing flow take the stack; a "
		 "RST at the owner's ACK, or the owner's, expires conntrack",
	 .fn = test_tcp_state_changes},
	{.name = "TCP: strict conntrack keeps it on the slow path; liberal "
		 "lets it bypass",
	 .fn = test_tcp_strict_conntrack},
	{.name = "conntrack: not assured, no entry, not established",
	 .fn = test_conntrack_says_no},
	{.name = "route: no neighbour, not via the LAN interface",
	 .fn = test_route_fallbacks},
	{.name = "embryonic and closing flows never bypass",
	 .fn = test_flow_not_established},
	{.name = "fast path off: nothing bypasses", .fn = test_fast_path_off},
	{.name = "LAN program: the owner's UDP redirected to the WAN with "
		 "SNAT, TTL, MACs; TTL 1, options, fragments, MTU, another "
		 "host take the stack",
	 .fn = test_lan_udp_redirect},
	{.name = "LAN program: TCP data redirected and its ACK remembered; "
		 "FIN, RST, SYN and strict conntrack take the stack",
	 .fn = test_lan_tcp},
	{.name = "LAN program: no neighbour, embryonic flow, route not via "
		 "the WAN take the stack",
	 .fn = test_lan_fallbacks},
	{.name = "LAN XDP program: the same UDP cases, the same bytes and "
		 "counters",
	 .fn = test_xdp_lan_udp_redirect},
	{.name = "LAN XDP program: the same TCP cases", .fn = test_xdp_lan_tcp},
	{.name = "LAN XDP program: the same fallbacks",
	 .fn = test_xdp_lan_fallbacks},
};

FIXTURE_MAIN(cases)
