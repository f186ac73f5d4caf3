/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared scenario helpers of the fixture tests (tests/bpf/test_*.c): the lab
 * addresses, packet-spec shorthands, and steps that put the maps into a known
 * state (send_trigger, masquerade, open_trigger, ...). Each test file is its
 * own binary: it lists its cases and ends with FIXTURE_MAIN(cases).
 *
 * Conntrack: test_run packets have no conntrack entry, so the TC-egress
 * owner lookup falls back to the packet source (owner = external = source),
 * which makes DNAT a no-op. Scenarios that test real rewrites first create
 * the trigger through tc_egress with the LAN address as source, then
 * overwrite its external address with the WAN address, as a masqueraded
 * trigger would have produced it (see masquerade()).
 *
 * Every binary runs in a private network namespace (unshare), so the
 * conntrack lookups never see the host's connections.
 */
#ifndef PTRIG_SCENARIO_H
#define PTRIG_SCENARIO_H

#define _GNU_SOURCE
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testlib.h"

#define LAN1 IP4(198, 51, 100, 2)
#define LAN2 IP4(198, 51, 100, 3)
#define WAN IP4(203, 0, 113, 1)
#define REM1 IP4(203, 0, 113, 2)
#define REM2 IP4(203, 0, 113, 3)
#define OTHER_WAN IP4(203, 0, 113, 5) /* not the trigger's external */
#define STRANGER IP4(192, 0, 2, 9)

#define TCP_ IPPROTO_TCP
#define UDP_ IPPROTO_UDP

#define P_TCP PTRIG_PROTO_TCP
#define P_UDP PTRIG_PROTO_UDP
#define P_BOTH PTRIG_PROTO_BOTH

/* Packet specs for the tables; extra designated fields go in "...". */
#define TCP(s, sp, d, dp, fl, ...)                                             \
	{                                                                      \
		.proto = IPPROTO_TCP, .saddr = (s), .sport = (sp),             \
		.daddr = (d), .dport = (dp), .tcp_flags = (fl), __VA_ARGS__    \
	}
#define UDP(s, sp, d, dp, ...)                                                 \
	{                                                                      \
		.proto = IPPROTO_UDP, .saddr = (s), .sport = (sp),             \
		.daddr = (d), .dport = (dp), __VA_ARGS__                       \
	}

/* Step rows. L4 is TCP or UDP; "..." are the packet's further arguments
 * (TCP flags, designated fields). */
/* remote:rport -> WAN:lport arrives and leaves XDP DNATed to owner:lport. */
#define STEP_DNAT(nm, L4, remote, rport, owner, lport, ...)                    \
	{                                                                      \
		.name = nm, .prog = PROG_XDP,                                  \
		.in = L4(remote, rport, WAN, lport, __VA_ARGS__),              \
		.verdict = XDP_PASS,                                           \
		.exp = L4(remote, rport, owner, lport, __VA_ARGS__)            \
	}
/* The same, for the packet that creates a flow: it carries the mark for the
 * firewall in the XDP metadata. */
#define STEP_DNAT_NEW(nm, L4, remote, rport, owner, lport, ...)                \
	{                                                                      \
		.name = nm, .prog = PROG_XDP,                                  \
		.in = L4(remote, rport, WAN, lport, __VA_ARGS__),              \
		.verdict = XDP_PASS,                                           \
		.exp = L4(remote, rport, owner, lport, __VA_ARGS__),           \
		.meta = true                                                   \
	}
/* owner:lport -> remote:rport leaves TC egress SNATed to WAN:lport. */
#define STEP_SNAT(nm, L4, owner, lport, remote, rport, ...)                    \
	{                                                                      \
		.name = nm, .prog = PROG_TC_EGRESS,                            \
		.in = L4(owner, lport, remote, rport, __VA_ARGS__),            \
		.verdict = TC_ACT_OK,                                          \
		.exp = L4(WAN, lport, remote, rport, __VA_ARGS__)              \
	}
/* A packet the program passes byte for byte unchanged. */
#define STEP_UNTOUCHED(nm, prg, verd, pkt)                                     \
	{                                                                      \
		.name = nm, .prog = prg, .in = pkt, .verdict = verd,           \
		.same = true                                                   \
	}

/* Step rows of a handshake through ptrig, lanhost1 owning the flow: its
 * SYN-ACK to remote:rport leaves from WAN:lport, and the remote's ACK of
 * exactly that SYN-ACK (which establishes the flow) is DNATed. */
#define STEP_OWNER_SYNACK(remote, rport, lport)                                \
	{                                                                      \
		.name = "owner's SYN-ACK", .prog = PROG_TC_EGRESS,             \
		.in = TCP(LAN1, lport, remote, rport, TH_SYN | TH_ACK),        \
		.verdict = TC_ACT_OK,                                          \
		.exp = TCP(WAN, lport, remote, rport, TH_SYN | TH_ACK)         \
	}
#define STEP_HANDSHAKE_ACK(remote, rport, lport)                               \
	{                                                                      \
		.name = "remote's handshake ACK", .prog = PROG_XDP,            \
		.in = TCP(remote, rport, WAN, lport, TH_ACK,                   \
			  .ack = HS_ACK(lport)),                               \
		.verdict = XDP_PASS,                                           \
		.exp = TCP(remote, rport, LAN1, lport, TH_ACK,                 \
			   .ack = HS_ACK(lport))                               \
	}

/* Was nf_conntrack there when the program loaded? Then the __weak ct
 * kfuncs resolved and the owner lookup counts TRIGGER_NO_NAT. */
static bool have_conntrack;

/* Cases about what conntrack tells the datapath: skipped (counted as
 * passed, "# SKIP") on a kernel without it, where the loader warns that
 * they cannot hold. */
#define NEED_CONNTRACK()                                                       \
	do {                                                                   \
		if (!have_conntrack) {                                         \
			printf("# no nf_conntrack: skipped\n");                \
			return 1;                                              \
		}                                                              \
	} while (0)

/* Is this process in its own network namespace (see main())? */
static bool private_netns;

/* ------------------------------------------------------------ helpers -- */

/* Datapath stamps come from the coarse clock, up to one tick (4 ms at
 * HZ=250) behind a CLOCK_MONOTONIC read: allow a generous margin below. */
#define ASSERT_STAMP(v, before, what)                                          \
	do {                                                                   \
		uint64_t _v = (v), _b = (before), _a = now_ns();               \
		if (_v + 50000000ull < _b || _v > _a) {                        \
			FAIL_MSG(__FILE__, __LINE__,                           \
				 "%s: stamp %llu not within [%llu, %llu]",     \
				 what, (unsigned long long)_v,                 \
				 (unsigned long long)_b,                       \
				 (unsigned long long)_a);                      \
			return -1;                                             \
		}                                                              \
	} while (0)

static inline uint32_t rule_id(const struct tctx *c, uint8_t proto,
			       uint16_t port)
{
	return rule_of_port(c,
			    proto == IPPROTO_UDP ? PTRIG_L4_UDP : PTRIG_L4_TCP,
			    port, true);
}

/* Send one trigger packet out through tc_egress (must pass unchanged). */
static inline int send_trigger(struct tctx *c, uint8_t proto, uint32_t lan,
			       uint16_t sport, uint32_t remote, uint16_t tport)
{
	struct step st = {
		.name = "trigger packet",
		.prog = PROG_TC_EGRESS,
		.verdict = TC_ACT_OK,
		.same = true,
	};

	st.in.proto = proto;
	st.in.saddr = lan;
	st.in.sport = sport;
	st.in.daddr = remote;
	st.in.dport = tport;
	st.in.tcp_flags = proto == IPPROTO_TCP ? TH_SYN : 0;
	st.in.tcp_mss = proto == IPPROTO_TCP;
	st.in.payload_len = proto == IPPROTO_UDP ? 24 : 0;
	RUN_STEP(c, &st);
	return 0;
}

/*
 * Make trigger (id, peer_key) look masqueraded, as conntrack would have
 * reported it: the owner stays the LAN host, the external address becomes
 * the WAN address. generation = the rule's, read from ptrig_rules_v1 at
 * active_set * PTRIG_MAX_RULES + id, and last_seen = CLOCK_MONOTONIC now,
 * which is up to a tick ahead of the datapath's coarse clock: a stamp
 * "in the future" must count as fresh (it once counted as expired).
 */
static inline int masquerade(struct tctx *c, uint32_t id, uint32_t peer_key)
{
	struct ptrig_trigger t;
	struct ptrig_rule r;

	ASSERT_OK(rule_get(c, id, &r));
	ASSERT_TRUE(trig_get(c, id, peer_key, &t) == 0,
		    "no trigger for rule %u peer %#x to masquerade", id,
		    peer_key);
	t.external = htonl(WAN);
	t.generation = r.generation;
	t.last_seen_ns = now_ns();
	ASSERT_OK(trig_put(c, id, peer_key, &t));
	return 0;
}

/* Trigger rule `id` from `lan` towards `remote` and masquerade it. */
static inline int open_trigger(struct tctx *c, uint32_t id, uint8_t proto,
			       uint32_t lan, uint32_t remote, uint16_t tport,
			       uint32_t peer_key)
{
	ASSERT_OK(send_trigger(c, proto, lan, 50000, remote, tport));
	ASSERT_OK(masquerade(c, id, peer_key));
	return 0;
}

static inline int set_trig_last_seen(struct tctx *c, uint32_t id,
				     uint32_t peer_key, uint64_t stamp)
{
	struct ptrig_trigger t;

	ASSERT_OK(trig_get(c, id, peer_key, &t));
	t.last_seen_ns = stamp;
	ASSERT_OK(trig_put(c, id, peer_key, &t));
	return 0;
}

static inline int set_flow_last_seen(struct tctx *c, uint32_t remote,
				     uint16_t rport, uint16_t lport,
				     uint8_t proto, uint64_t stamp)
{
	struct ptrig_flow f;

	ASSERT_OK(flow_get(c, remote, rport, lport, proto, &f));
	f.last_seen_ns = stamp;
	ASSERT_OK(flow_put(c, remote, rport, lport, proto, &f));
	return 0;
}

/* Add a conntrack entry to this process's (private) network namespace with
 * the conntrack tool, e.g. "-p tcp -s A -d B --sport 1 --dport 2
 * --reply-src B --reply-dst C --reply-port-src 2 --reply-port-dst 3": the
 * TC-egress direction check then sees a real connection. */
static inline int ct_add(const char *args)
{
	char cmd[512];
	int rc;

	snprintf(cmd, sizeof(cmd), "conntrack -I %s%s -t 600 >/dev/null 2>&1",
		 args,
		 strncmp(args, "-p tcp", 6) ? "" : " --state ESTABLISHED");
	rc = system(cmd);
	ASSERT_TRUE(rc == 0, "%s: exit %d", cmd, rc);
	return 0;
}

static inline int libbpf_print(enum libbpf_print_level level, const char *fmt,
			       va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	printf("# libbpf: ");
	return vprintf(fmt, ap);
}

/* Runs in a private netns: ct lookups see no host connection, and a test
 * may configure that namespace's loopback freely. */
static inline int fixture_main(const struct test_case *cases, size_t n)
{
	struct timespec t0, t1;
	int failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_print);
	if (unshare(CLONE_NEWNET) == 0)
		private_netns = true;
	else
		printf("# unshare(CLONE_NEWNET): %s; using the current netns\n",
		       strerror(errno));
	have_conntrack = access("/sys/module/nf_conntrack", F_OK) == 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	failed = run_tests(cases, n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# %.1f s\n", (double)(t1.tv_sec - t0.tv_sec) +
				     (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return failed ? 1 : 0;
}

#define FIXTURE_MAIN(cases)                                                    \
	int main(void)                                                         \
	{                                                                      \
		return fixture_main(cases, sizeof(cases) / sizeof(cases[0]));  \
	}

#endif
