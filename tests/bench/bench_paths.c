// SPDX-License-Identifier: GPL-2.0
/*
 * bench_paths: per-path cost of the ptrig datapath through BPF_PROG_TEST_RUN,
 * as a ratio to reference programs (bpf/bench_ref.bpf.c) measured in the same
 * process and run, and how it scales with the number of rules and flows.
 *
 * Paths:
 *   XDP miss            a packet to a port no rule opens (the box's own
 *                       traffic coming back): parse + config + port table
 *   XDP hit             a packet of an existing flow: + flow lookup, DNAT
 *   XDP flow creation   a new connection: + rule, trigger, conntrack lookup,
 *                       flow insert, event, metadata marker
 *   TC egress miss      plain outbound traffic (neither trigger nor reply)
 *   TC trigger refresh  outbound trigger traffic of the owner
 *   TC reply            the owner's reply on a flow: source rewrite
 *
 * Method:
 *   - Every timing is the kernel-measured `duration` of the test run (ns),
 *     never wall time.
 *   - A program that rewrites the packet must not see its own output again,
 *     so the rewriting paths (hit, creation, reply) run with repeat=1 in a
 *     loop, each call on a fresh copy of the packet. The references run the
 *     same way, so "r=1" ratios compare like with like. With repeat=1 the
 *     kernel's timer reads and loop are a fixed part of every call; the
 *     non-rewriting paths and the references are therefore also measured
 *     with repeat=N ("r=N"), where that part is spread over N runs.
 *   - Three ptrig instances (each its own maps, flow table sized --max-flows
 *     so the LRU never evicts): S = 10 rules / 1,000 flows (the baseline),
 *     R = 10,000 rules / 1,000 flows, F = 10 rules / 1,000,000 flows.
 *   - Hit and reply are measured on one "hot" flow and "cycling" through all
 *     pre-filled flows in random order (a different entry every call: the
 *     realistic cache-miss case with 1,000,000 flows).
 *   - Rounds: every variant runs once per round, in a shuffled order, for R
 *     rounds; r=1 rounds report the mean of the calls without the slowest
 *     1% (interrupts), and the table gives the median over rounds.
 *   - Each call's output is checked (verdict, rewritten address, marker,
 *     counters), so a harness mistake shows as INVALID instead of a number.
 *
 * It runs in a private network namespace: the conntrack lookups never see
 * the host's connections, and a conntrack entry for the trigger path is
 * inserted there with `conntrack -I` (if the tool is missing, the trigger
 * path runs with the lookup missing, and the table says so).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "bench_ref.skel.h"
#include "skel_fds.h"
#include "ptrig_load.h"
#include "pkt.h"
#include "prog_run.h"

#define WAN IP4(203, 0, 113, 1)
#define LAN1 IP4(198, 51, 100, 2)
#define REM1 IP4(203, 0, 113, 2)

/* Rule i: trigger both:TRIG_BASE+i, open both:OPEN_BASE+i. */
#define TRIG_BASE 10000
#define OPEN_BASE 30000
#define XDP_RULE                                                               \
	5	    /* its open port carries the XDP hit/creation/reply paths  \
		     */
#define TRIG_RULE 6 /* its trigger port carries the TC refresh path */
#define MISS_PORT 45000 /* no rule: a masqueraded connection's port */
#define REMOTE_SVC 443
#define TRIG_EXT_PORT 40000 /* source port of the trigger after masquerade */
#define TRIG_LAN_PORT 50000

#define MAX_ROUNDS 32
#define MAX_VARIANTS 96
#define ETH_OFF_SADDR (14 + 12)
#define ETH_OFF_DADDR (14 + 16)

static struct {
	int rounds;
	long calls;	 /* repeat=1 calls per variant and round */
	uint32_t repeat; /* repeat=N */
	long small_flows, big_flows;
	int small_rules, big_rules;
	long max_flows;
	const char *out_md, *out_tsv;
	unsigned seed;
	bool median; /* r=1 rounds: median call instead of the trimmed mean */
} opt = {
	.rounds = 7,
	.calls = 15000,
	.repeat = 1000000,
	.small_flows = 1000,
	.big_flows = 1000000,
	.small_rules = 10,
	.big_rules = 10000,
	.max_flows = 1500000,
	.seed = 1,
};

static int ncpu;
static const char *ct_mode = "?";

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define die(fmt, ...)                                                          \
	do {                                                                   \
		fprintf(stderr, "bench_paths: " fmt "\n", ##__VA_ARGS__);      \
		exit(1);                                                       \
	} while (0)

/* ---------------------------------------------------------- instances -- */

struct inst {
	char tag; /* S, R, F */
	char label[48];
	int nrules;
	long nflows;
	struct ptrig *skel;
	struct ptrig_map_fds fds;
	int xdp_fd, tce_fd;
	uint32_t xdp_rule_id, trig_rule_id;
	struct ptrig_flow_key *keys; /* the pre-filled flows */
	uint32_t *perm;		     /* random order to cycle through them */
	long perm_pos_hit, perm_pos_reply;
	uint32_t create_seq;	 /* next new-flow key for the creation path */
	uint64_t frag_seeded_ns; /* when its fragment entry was last put */
	struct ring_buffer *rb;
	uint64_t events;
	long prefilled; /* verified present after the pre-fill */
};

static struct inst insts[3];

/* Counts the flow-opened events (the trigger-opened one of setup is not). */
static int on_event(void *ctx, void *data, size_t len)
{
	const struct ptrig_event *ev = data;

	if (len >= sizeof(*ev) && ev->type == PTRIG_EV_FLOW_OPENED)
		((struct inst *)ctx)->events++;
	return 0;
}

static struct ptrig_flow_key mk_key(uint32_t remote, uint16_t rport,
				    uint16_t lport, uint8_t proto)
{
	struct ptrig_flow_key k;

	memset(&k, 0, sizeof(k));
	k.remote = htonl(remote);
	k.external = htonl(WAN);
	k.remote_port = htons(rport);
	k.local_port = htons(lport);
	k.proto = proto;
	return k;
}

/* Pre-filled flow i: remote 203.0.113.(2 + i / 40000), port 20000 + i %
 * 40000: never a trigger port (10000-19999), so the owner's replies to it
 * take only the reply path in TC egress. */
static struct ptrig_flow_key prefill_key(long i)
{
	return mk_key(IP4(203, 0, 113, 2 + (uint32_t)(i / 40000)),
		      (uint16_t)(20000 + i % 40000), OPEN_BASE + XDP_RULE,
		      IPPROTO_TCP);
}

/* The idempotent fixture: a flow whose owner is its external address, so
 * the translation rewrites an address with itself (which ptrig skips) and
 * repeat=N runs the hit and reply paths on an unchanged packet. */
#define FIX_REMOTE IP4(203, 0, 113, 250)
#define FIX_RPORT 20000

/* New flow n of the creation path: never one of the pre-filled ones. */
static struct ptrig_flow_key create_key(uint32_t n)
{
	return mk_key(IP4(192, 0, 2, 1 + (n / 60000) % 250),
		      (uint16_t)(1024 + n % 60000), OPEN_BASE + XDP_RULE,
		      IPPROTO_TCP);
}

static uint32_t port_rule(const struct inst *in, uint16_t port, bool trigger)
{
	struct ptrig_port_rules pr;
	struct ptrig_config cfg;
	uint32_t zero = 0, idx;

	if (bpf_map_lookup_elem(in->fds.cfg, &zero, &cfg))
		return 0;
	idx = (cfg.active_set & 1) * PTRIG_PORTS + port;
	if (bpf_map_lookup_elem(in->fds.ports, &idx, &pr))
		return 0;
	return trigger ? pr.trigger_rule[PTRIG_L4_TCP]
		       : pr.open_rule[PTRIG_L4_TCP];
}

static uint32_t rule_generation(const struct inst *in, uint32_t id)
{
	struct ptrig_config cfg;
	struct ptrig_rule r;
	uint32_t zero = 0, idx;

	if (bpf_map_lookup_elem(in->fds.cfg, &zero, &cfg))
		die("cfg read: %s", strerror(errno));
	idx = (cfg.active_set & 1) * PTRIG_MAX_RULES + id;
	if (bpf_map_lookup_elem(in->fds.rules, &idx, &r))
		die("rule read: %s", strerror(errno));
	return r.generation;
}

static uint64_t stat_sum(const struct inst *in, uint32_t idx)
{
	uint64_t v[256], s = 0;
	int i;

	if (ncpu > 256 || bpf_map_lookup_elem(in->fds.stats, &idx, v))
		return ~0ull;
	for (i = 0; i < ncpu; i++)
		s += v[i];
	return s;
}

static struct ptrig_rule_counters counters(const struct inst *in, uint32_t id)
{
	struct ptrig_rule_counters c;

	if (ptrig_counters_read(in->fds.cnt, id, &c))
		memset(&c, 0xff, sizeof(c));
	return c;
}

static void shuffle_u32(uint32_t *a, long n)
{
	long i, j;
	uint32_t t;

	for (i = n - 1; i > 0; i--) {
		j = (long)((((uint64_t)rand() << 31) ^ (uint64_t)rand()) %
			   (uint64_t)(i + 1));
		t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

static void inst_setup(struct inst *in, char tag, int nrules, long nflows)
{
	struct ptrig_ruleset rs = {0};
	struct ptrig_rule_spec *specs;
	struct ptrig_trigger_key tk;
	struct ptrig_trigger t;
	struct ptrig_flow *vals;
	uint32_t count;
	uint64_t now;
	long i;
	int err;

	in->tag = tag;
	in->nrules = nrules;
	in->nflows = nflows;
	snprintf(in->label, sizeof(in->label), "%d rules, %ld flows", nrules,
		 nflows);
	in->skel = ptrig__open();
	if (!in->skel)
		die("ptrig__open: %s", strerror(errno));
	if (bpf_map__set_max_entries(in->skel->maps.PTRIG_MAP(flows),
				     (uint32_t)opt.max_flows))
		die("set max_entries");
	err = ptrig__load(in->skel);
	if (err)
		die("ptrig__load: %s", strerror(-err));
	ptrig_skel_map_fds(in->skel, &in->fds);
	in->xdp_fd = bpf_program__fd(in->skel->progs.ptrig_xdp_ingress);
	in->tce_fd = bpf_program__fd(in->skel->progs.ptrig_tc_egress);
	err = ptrig_config_init(&in->fds, PTRIG_DEFAULT_MARK);
	if (err)
		die("ptrig_config_init: %s", strerror(-err));

	specs = calloc((size_t)nrules, sizeof(*specs));
	if (!specs)
		die("oom");
	for (i = 0; i < nrules; i++) {
		struct ptrig_rule_spec *r = &specs[i];

		snprintf(r->name, sizeof(r->name), "r%05ld", i);
		r->trigger.proto = PTRIG_PROTO_BOTH;
		r->trigger.n_ranges = 1;
		r->trigger.ranges[0].lo = r->trigger.ranges[0].hi =
			(uint16_t)(TRIG_BASE + i);
		r->open.proto = PTRIG_PROTO_BOTH;
		r->open.n_ranges = 1;
		r->open.ranges[0].lo = r->open.ranges[0].hi =
			(uint16_t)(OPEN_BASE + i);
		r->timeout_s = PTRIG_MAX_TIMEOUT_S;
		r->peer_mode = PTRIG_PEER_ANY;
		r->line = (int)i + 1;
	}
	rs.rules = specs;
	rs.n = rs.cap = (size_t)nrules;
	err = ptrig_rules_push(&in->fds, &rs);
	free(specs);
	if (err)
		die("ptrig_rules_push(%d rules): %s", nrules, strerror(-err));
	in->xdp_rule_id = port_rule(in, OPEN_BASE + XDP_RULE, false);
	in->trig_rule_id = port_rule(in, TRIG_BASE + TRIG_RULE, true);
	if (!in->xdp_rule_id || !in->trig_rule_id)
		die("rule ids not found");

	/* The XDP rule's trigger, as a masqueraded trigger leaves it. */
	now = ptrig_now_ns();
	memset(&tk, 0, sizeof(tk));
	tk.rule_id = in->xdp_rule_id;
	tk.external = htonl(WAN); /* NATed: keyed by its external address */
	memset(&t, 0, sizeof(t));
	t.owner = htonl(LAN1);
	t.external = htonl(WAN);
	t.peer = htonl(REM1);
	t.generation = rule_generation(in, in->xdp_rule_id);
	t.last_seen_ns = t.opened_ns = now;
	if (bpf_map_update_elem(in->fds.trig, &tk, &t, BPF_ANY))
		die("trigger put: %s", strerror(errno));

	/* Pre-fill the flows: established (the owner answered), fresh. */
	in->keys = calloc((size_t)nflows, sizeof(*in->keys));
	vals = calloc((size_t)nflows, sizeof(*vals));
	in->perm = calloc((size_t)nflows, sizeof(*in->perm));
	if (!in->keys || !vals || !in->perm)
		die("oom");
	for (i = 0; i < nflows; i++) {
		in->keys[i] = prefill_key(i);
		vals[i].owner = htonl(LAN1);
		vals[i].external = htonl(WAN);
		vals[i].rule_id = in->xdp_rule_id;
		vals[i].timeout_s = PTRIG_DEFAULT_TCP_FLOW_TIMEOUT_S;
		vals[i].closing_timeout_s = PTRIG_DEFAULT_TCP_CLOSING_TIMEOUT_S;
		vals[i].flags = PTRIG_FLOW_SEEN_REPLY;
		vals[i].last_seen_ns = vals[i].opened_ns = now;
		in->perm[i] = (uint32_t)i;
	}
	count = (uint32_t)nflows;
	if (bpf_map_update_batch(in->fds.flows, in->keys, vals, &count, NULL)) {
		/* Fallback: one by one. */
		for (i = 0; i < nflows; i++)
			if (bpf_map_update_elem(in->fds.flows, &in->keys[i],
						&vals[i], BPF_ANY))
				die("flow put: %s", strerror(errno));
	}
	free(vals);
	shuffle_u32(in->perm, nflows);
	{
		/* The external address the datapath learns with a flow's
		 * creation, for the reply path. */
		struct ptrig_externals ex;
		uint32_t zero = 0;

		memset(&ex, 0, sizeof(ex));
		ex.addr[0] = htonl(WAN);
		if (bpf_map_update_elem(in->fds.exts, &zero, &ex, BPF_ANY))
			die("externals put: %s", strerror(errno));
	}
	{
		struct ptrig_flow_key fk =
			mk_key(FIX_REMOTE, FIX_RPORT, OPEN_BASE + XDP_RULE,
			       IPPROTO_TCP);
		struct ptrig_flow fv;

		memset(&fv, 0, sizeof(fv));
		fv.owner = fv.external = htonl(WAN);
		fv.rule_id = in->xdp_rule_id;
		fv.timeout_s = PTRIG_DEFAULT_TCP_FLOW_TIMEOUT_S;
		fv.closing_timeout_s = PTRIG_DEFAULT_TCP_CLOSING_TIMEOUT_S;
		fv.flags = PTRIG_FLOW_SEEN_REPLY;
		fv.last_seen_ns = fv.opened_ns = now;
		if (bpf_map_update_elem(in->fds.flows, &fk, &fv, BPF_ANY))
			die("fixture flow put: %s", strerror(errno));
		/* Its embryonic twin: answered (so unmarked), with an
		 * acknowledgement the fixture's ACK does not carry. */
		fk.remote_port = htons(FIX_RPORT + 1);
		fv.flags = PTRIG_FLOW_EMBRYONIC | PTRIG_FLOW_SEEN_REPLY;
		fv.synack_next = 1;
		if (bpf_map_update_elem(in->fds.embryo, &fk, &fv, BPF_ANY))
			die("embryonic fixture flow put: %s", strerror(errno));
	}

	in->rb = ring_buffer__new(in->fds.events, on_event, in, NULL);
	if (!in->rb)
		die("ring_buffer__new: %s", strerror(errno));
}

/* Every pre-filled flow still there? (An LRU that evicted would turn the
 * hit measurements into something else.) */
static long inst_count_prefilled(const struct inst *in)
{
	struct ptrig_flow f;
	long i, n = 0;

	for (i = 0; i < in->nflows; i++)
		if (bpf_map_lookup_elem(in->fds.flows, &in->keys[i], &f) == 0 &&
		    f.flags == PTRIG_FLOW_SEEN_REPLY)
			n++;
	return n;
}

/* ---------------------------------------------------------------- runs -- */

/* A run of the benchmark is prog_run() (tests/bpf/prog_run.h). */
static int test_run(int fd, bool xdp, const uint8_t *pkt, size_t len,
		    uint32_t repeat, struct prog_run *r)
{
	return prog_run(fd, xdp, pkt, len, repeat, 0, PRUN_IIF_LAN, r);
}

enum kind {
	K_REF_XDP,
	K_REF_TC,
	K_XDP_MISS,
	K_XDP_HIT_HOT,
	K_XDP_HIT_CYCLE,
	K_XDP_CREATE,
	K_TC_MISS,
	K_TC_REFRESH,
	K_TC_REPLY_HOT,
	K_TC_REPLY_CYCLE,
	K_XDP_HIT_FIX,
	K_TC_REPLY_FIX,
	K_XDP_EMBRYO_FIX,
	K_XDP_ICMP, /* an error about the hot flow's reply, translated in */
	K_XDP_FRAG, /* a later fragment of a datagram that was DNATed */
	K_TC_ICMP,  /* the owner's error about a hot flow's packet, out */
	K_REF_DNAT, /* reference DNAT of a flow it knows */
	K_REF_DNAT_CYCLE, /* the same, a different flow every call */
	K_REF_DNAT_FIX,	  /* reference DNAT of a flow to itself */
};

struct variant {
	char name[48]; /* short id, for the TSV */
	char path[40]; /* table: path */
	char what[96]; /* table: variant */
	enum kind kind;
	struct inst *in;  /* NULL for the references */
	struct inst *cyc; /* K_REF_DNAT_CYCLE: whose flows it cycles through */
	long cyc_pos;
	int fd;
	bool xdp;
	bool rn; /* repeat=N instead of repeat=1 loops */
	uint8_t pkt[PKT_MAX];
	size_t len;
	double v[MAX_ROUNDS];
	int nv;
	uint64_t bad; /* calls whose output or counters were wrong */
	char why[160];
	double *durs;
};

static struct variant vars[MAX_VARIANTS];
static int nvars;

static size_t build(uint8_t *b, uint32_t s, uint16_t sp, uint32_t d,
		    uint16_t dp, uint8_t flags)
{
	struct pkt_spec ps;

	memset(&ps, 0, sizeof(ps));
	ps.proto = IPPROTO_TCP;
	ps.saddr = s;
	ps.sport = sp;
	ps.daddr = d;
	ps.dport = dp;
	ps.tcp_flags = flags;
	return pkt_build(&ps, b);
}

/* The fragment entry the later-fragment path finds: the first fragment
 * of REM1's datagram 0x1234 (pkt_build's IP id) to WAN went to LAN1 just
 * now. Stamped with the coarse clock the datapath reads: a
 * CLOCK_MONOTONIC stamp is up to a tick ahead of it, and an entry from the
 * future is stale to the datapath's unsigned age check. */
static void frag_seed(struct inst *in)
{
	struct ptrig_frag_key k;
	struct ptrig_frag f;
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	/* It lives 5 s; the other variants of a round can take longer than
	 * that, so refresh by age, not by call count. */
	if (in->frag_seeded_ns && now - in->frag_seeded_ns < 1000000000ull)
		return;

	memset(&k, 0, sizeof(k));
	k.saddr = htonl(REM1);
	k.daddr = htonl(WAN);
	k.id = htons(0x1234);
	k.proto = IPPROTO_UDP;
	k.dir = PTRIG_FRAG_IN;
	memset(&f, 0, sizeof(f));
	f.to = htonl(LAN1);
	f.stamp_ns = now;
	if (bpf_map_update_elem(in->fds.frags, &k, &f, BPF_ANY))
		die("fragment entry put: %s", strerror(errno));
	in->frag_seeded_ns = now;
}

/* The packet of call n (same buffer for hot paths). */
static size_t next_pkt(struct variant *v, uint8_t *buf)
{
	struct inst *in = v->in;
	struct ptrig_flow_key k;
	long idx;

	switch (v->kind) {
	case K_XDP_HIT_CYCLE:
		idx = in->perm[in->perm_pos_hit++ % in->nflows];
		k = in->keys[idx];
		return build(buf, ntohl(k.remote), ntohs(k.remote_port), WAN,
			     ntohs(k.local_port), TH_ACK);
	case K_TC_REPLY_CYCLE:
		idx = in->perm[in->perm_pos_reply++ % in->nflows];
		k = in->keys[idx];
		return build(buf, LAN1, ntohs(k.local_port), ntohl(k.remote),
			     ntohs(k.remote_port), TH_ACK);
	case K_REF_DNAT_CYCLE:
		idx = v->cyc->perm[v->cyc_pos++ % v->cyc->nflows];
		k = v->cyc->keys[idx];
		return build(buf, ntohl(k.remote), ntohs(k.remote_port), WAN,
			     ntohs(k.local_port), TH_ACK);
	case K_XDP_FRAG:
		frag_seed(in);
		memcpy(buf, v->pkt, v->len);
		return v->len;
	case K_XDP_CREATE:
		k = create_key(in->create_seq++);
		return build(buf, ntohl(k.remote), ntohs(k.remote_port), WAN,
			     ntohs(k.local_port), TH_SYN);
	default:
		memcpy(buf, v->pkt, v->len);
		return v->len;
	}
}

static void mark_bad(struct variant *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void mark_bad(struct variant *v, const char *fmt, ...)
{
	va_list ap;

	if (!v->bad++) {
		va_start(ap, fmt);
		vsnprintf(v->why, sizeof(v->why), fmt, ap);
		va_end(ap);
	}
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Is the output of one call what the path must produce? */
static void check_call(struct variant *v, const uint8_t *in, size_t len,
		       const struct prog_run *r)
{
	const uint8_t *o = r->out + r->meta_len;
	size_t olen = r->out_len - r->meta_len;
	bool same = olen == len && memcmp(o, in, len) == 0;

	switch (v->kind) {
	case K_REF_XDP:
		if (r->retval != XDP_PASS && r->retval != XDP_DROP)
			mark_bad(v, "verdict %u", r->retval);
		break;
	case K_REF_TC:
		if (r->retval != TC_ACT_OK)
			mark_bad(v, "verdict %u", r->retval);
		break;
	case K_REF_DNAT:
	case K_REF_DNAT_CYCLE: {
		/* Byte for byte the input sent to LAN1, checksums and all. */
		uint8_t want[PKT_MAX];
		size_t wlen = build(want, get_be32(in + ETH_OFF_SADDR),
				    (uint16_t)(in[34] << 8 | in[35]), LAN1,
				    (uint16_t)(in[36] << 8 | in[37]), TH_ACK);

		if (r->retval != XDP_PASS || olen != wlen ||
		    memcmp(o, want, wlen))
			mark_bad(v, "ref dnat: verdict %u, daddr %#x",
				 r->retval,
				 olen < 34 ? 0 : get_be32(o + ETH_OFF_DADDR));
		break;
	}
	case K_REF_DNAT_FIX:
		if (r->retval != XDP_PASS || !same)
			mark_bad(v, "ref dnat fixture: verdict %u, changed %d",
				 r->retval, !same);
		break;
	case K_XDP_MISS:
		if (r->retval != XDP_PASS || !same || r->meta_len)
			mark_bad(v, "miss: verdict %u, changed %d, meta %u",
				 r->retval, !same, r->meta_len);
		break;
	case K_XDP_HIT_HOT:
	case K_XDP_HIT_CYCLE:
		if (r->retval != XDP_PASS || olen < 34 ||
		    get_be32(o + ETH_OFF_DADDR) != LAN1 || r->meta_len)
			mark_bad(v, "hit: verdict %u, daddr %#x, meta %u",
				 r->retval,
				 olen < 34 ? 0 : get_be32(o + ETH_OFF_DADDR),
				 r->meta_len);
		break;
	case K_XDP_CREATE:
		if (r->retval != XDP_PASS || olen < 34 ||
		    get_be32(o + ETH_OFF_DADDR) != LAN1 || r->meta_len != 4)
			mark_bad(v, "create: verdict %u, daddr %#x, meta %u",
				 r->retval,
				 olen < 34 ? 0 : get_be32(o + ETH_OFF_DADDR),
				 r->meta_len);
		break;
	case K_XDP_HIT_FIX:
	case K_XDP_EMBRYO_FIX:
		if (r->retval != XDP_PASS || !same || r->meta_len)
			mark_bad(v,
				 "fixture hit: verdict %u, changed %d, meta %u",
				 r->retval, !same, r->meta_len);
		break;
	case K_TC_MISS:
	case K_TC_REFRESH:
	case K_TC_REPLY_FIX:
		if (r->retval != TC_ACT_OK || !same)
			mark_bad(v, "verdict %u, changed %d", r->retval, !same);
		break;
	case K_XDP_ICMP:
	case K_XDP_FRAG:
		if (r->retval != XDP_PASS || olen < 34 ||
		    get_be32(o + ETH_OFF_DADDR) != LAN1 || r->meta_len)
			mark_bad(v, "verdict %u, daddr %#x, meta %u", r->retval,
				 olen < 34 ? 0 : get_be32(o + ETH_OFF_DADDR),
				 r->meta_len);
		break;
	case K_TC_ICMP:
		/* Outer source and the quoted destination: the WAN address. */
		if (r->retval != TC_ACT_OK || olen < 62 ||
		    get_be32(o + ETH_OFF_SADDR) != WAN ||
		    get_be32(o + 14 + 20 + 8 + 16) != WAN)
			mark_bad(v, "verdict %u, saddr %#x, quoted daddr %#x",
				 r->retval,
				 olen < 62 ? 0 : get_be32(o + ETH_OFF_SADDR),
				 olen < 62 ? 0
					   : get_be32(o + 14 + 20 + 8 + 16));
		break;
	case K_TC_REPLY_HOT:
	case K_TC_REPLY_CYCLE:
		if (r->retval != TC_ACT_OK || olen < 34 ||
		    get_be32(o + ETH_OFF_SADDR) != WAN)
			mark_bad(v, "reply: verdict %u, saddr %#x", r->retval,
				 olen < 34 ? 0 : get_be32(o + ETH_OFF_SADDR));
		break;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Counter snapshot for the checks after a round. */
struct snap {
	struct ptrig_rule_counters xr, tr;
	uint64_t no_rule, translated, errors, events, frag_in;
};

static struct snap take_snap(struct inst *in)
{
	struct snap s;

	memset(&s, 0, sizeof(s));
	if (!in)
		return s;
	s.xr = counters(in, in->xdp_rule_id);
	s.tr = counters(in, in->trig_rule_id);
	s.no_rule = stat_sum(in, PTRIG_STAT_PASS_NO_RULE);
	s.translated = stat_sum(in, PTRIG_STAT_XDP_TRANSLATED);
	s.errors = stat_sum(in, PTRIG_STAT_ERROR);
	s.events = in->events;
	s.frag_in = stat_sum(in, PTRIG_STAT_FRAG_IN_TRANSLATED);
	return s;
}

/* What the counters must have done over `n` program runs. */
static void check_round(struct variant *v, const struct snap *a,
			const struct snap *b, uint64_t n)
{
	if (!v->in)
		return;
	if (b->errors != a->errors)
		mark_bad(v, "ptrig error counter moved by %llu",
			 (unsigned long long)(b->errors - a->errors));
	switch (v->kind) {
	case K_XDP_MISS:
		if (b->no_rule - a->no_rule != n)
			mark_bad(v, "pass_no_rule +%llu, want +%llu",
				 (unsigned long long)(b->no_rule - a->no_rule),
				 (unsigned long long)n);
		break;
	case K_XDP_HIT_HOT:
	case K_XDP_HIT_CYCLE:
	case K_XDP_HIT_FIX:
	case K_XDP_EMBRYO_FIX:
		if (b->xr.flows_opened != a->xr.flows_opened ||
		    b->translated - a->translated != n)
			mark_bad(v,
				 "hit: flows_opened +%llu, translated +%llu of "
				 "%llu",
				 (unsigned long long)(b->xr.flows_opened -
						      a->xr.flows_opened),
				 (unsigned long long)(b->translated -
						      a->translated),
				 (unsigned long long)n);
		break;
	case K_XDP_CREATE:
		/* flow_opened events are rate-limited: at least one per
		 * round, never more than one per flow. */
		if (b->xr.flows_opened - a->xr.flows_opened != n ||
		    b->events == a->events || b->events - a->events > n)
			mark_bad(v,
				 "create: flows_opened +%llu, events +%llu of "
				 "%llu",
				 (unsigned long long)(b->xr.flows_opened -
						      a->xr.flows_opened),
				 (unsigned long long)(b->events - a->events),
				 (unsigned long long)n);
		break;
	case K_TC_REFRESH:
		if (b->tr.refreshes - a->tr.refreshes != n ||
		    b->tr.conflicts != a->tr.conflicts ||
		    b->tr.triggers_opened != a->tr.triggers_opened)
			mark_bad(v,
				 "refresh: refreshes +%llu of %llu, conflicts "
				 "+%llu",
				 (unsigned long long)(b->tr.refreshes -
						      a->tr.refreshes),
				 (unsigned long long)n,
				 (unsigned long long)(b->tr.conflicts -
						      a->tr.conflicts));
		break;
	case K_XDP_FRAG:
		if (b->frag_in - a->frag_in != n)
			mark_bad(v, "frag_in_translated +%llu of %llu",
				 (unsigned long long)(b->frag_in - a->frag_in),
				 (unsigned long long)n);
		break;
	case K_TC_REPLY_HOT:
	case K_TC_REPLY_CYCLE:
	case K_TC_REPLY_FIX:
		if (b->xr.pkts_out - a->xr.pkts_out != n)
			mark_bad(v, "reply: pkts_out +%llu of %llu",
				 (unsigned long long)(b->xr.pkts_out -
						      a->xr.pkts_out),
				 (unsigned long long)n);
		break;
	default:
		break;
	}
}

/* Remove the (embryonic) flows a creation round made, so the table never
 * fills. */
static void undo_creations(struct inst *in, uint32_t from, uint32_t to)
{
	uint32_t n;

	for (n = from; n != to; n++) {
		struct ptrig_flow_key k = create_key(n);

		bpf_map_delete_elem(in->fds.embryo, &k);
	}
}

/* One round of one variant; returns its ns/pkt (or < 0 on failure). */
static double run_variant(struct variant *v, long calls, bool record)
{
	uint8_t pkt[PKT_MAX];
	struct snap a, b;
	struct prog_run r;
	uint32_t seq0 = 0;
	double val;
	long i, n;
	size_t len;

	if (v->in)
		seq0 = v->in->create_seq;
	a = take_snap(v->in);
	if (v->rn) {
		if (test_run(v->fd, v->xdp, v->pkt, v->len, opt.repeat, &r))
			die("test_run %s: %s", v->name, strerror(errno));
		check_call(v, v->pkt, v->len, &r);
		b = take_snap(v->in);
		check_round(v, &a, &b, opt.repeat);
		val = r.duration;
	} else {
		for (i = 0; i < calls; i++) {
			len = next_pkt(v, pkt);
			if (test_run(v->fd, v->xdp, pkt, len, 1, &r))
				die("test_run %s: %s", v->name,
				    strerror(errno));
			v->durs[i] = r.duration;
			check_call(v, pkt, len, &r);
			/* Keep the event ring drained, as a running
			 * `ptrig-load monitor` would: every creation pays
			 * for a real event. */
			if (v->kind == K_XDP_CREATE && (i & 1023) == 1023)
				ring_buffer__consume(v->in->rb);
		}
		if (v->kind == K_XDP_CREATE)
			ring_buffer__consume(v->in->rb);
		b = take_snap(v->in);
		check_round(v, &a, &b, (uint64_t)calls);
		if (v->kind == K_XDP_CREATE)
			undo_creations(v->in, seq0, v->in->create_seq);
		qsort(v->durs, (size_t)calls, sizeof(double), cmp_double);
		if (opt.median) {
			val = v->durs[calls / 2];
		} else {
			/* Mean without the slowest 1% (interrupts). */
			n = calls - calls / 100;
			val = 0;
			for (i = 0; i < n; i++)
				val += v->durs[i];
			val /= (double)n;
		}
	}
	if (record && v->nv < MAX_ROUNDS)
		v->v[v->nv++] = val;
	return val;
}

static double median(const double *x, int n)
{
	double s[MAX_ROUNDS];

	if (n <= 0)
		return -1;
	memcpy(s, x, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(double), cmp_double);
	return n & 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double vmin(const struct variant *v)
{
	double m = v->v[0];
	int i;

	for (i = 1; i < v->nv; i++)
		if (v->v[i] < m)
			m = v->v[i];
	return m;
}

static double vmax(const struct variant *v)
{
	double m = v->v[0];
	int i;

	for (i = 1; i < v->nv; i++)
		if (v->v[i] > m)
			m = v->v[i];
	return m;
}

static struct variant *add_var(const char *name, const char *path,
			       const char *what, enum kind k, struct inst *in,
			       int fd, bool xdp, bool rn)
{
	struct variant *v;

	if (nvars >= MAX_VARIANTS)
		die("too many variants");
	v = &vars[nvars++];
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(v->path, sizeof(v->path), "%s", path);
	snprintf(v->what, sizeof(v->what), "%s", what);
	v->kind = k;
	v->in = in;
	v->fd = fd;
	v->xdp = xdp;
	v->rn = rn;
	if (!rn) {
		v->durs = calloc((size_t)opt.calls, sizeof(double));
		if (!v->durs)
			die("oom");
	}
	return v;
}

static struct variant *find_var(const char *name)
{
	int i;

	for (i = 0; i < nvars; i++)
		if (strcmp(vars[i].name, name) == 0)
			return &vars[i];
	die("no variant %s", name);
}

/* The ptrig variants of one instance. */
static void add_inst_vars(struct inst *in)
{
	char n[48], w[96];
	struct variant *v;
	const char *mode[2] = {"r1", "rN"};
	int m;

#define NAME(s) (snprintf(n, sizeof(n), "%s_%c", s, in->tag), n)
#define WHAT(s)                                                                \
	(snprintf(w, sizeof(w), "%s [%c: %s]", s, in->tag, in->label), w)
	for (m = 0; m < 2; m++) {
		char nm[40];

		snprintf(nm, sizeof(nm), "xdp_miss_%s", mode[m]);
		v = add_var(NAME(nm), "XDP miss", WHAT("no rule on the port"),
			    K_XDP_MISS, in, in->xdp_fd, true, m == 1);
		v->len =
			build(v->pkt, REM1, REMOTE_SVC, WAN, MISS_PORT, TH_ACK);

		snprintf(nm, sizeof(nm), "tc_miss_%s", mode[m]);
		v = add_var(NAME(nm), "TC egress miss",
			    WHAT("neither trigger nor reply"), K_TC_MISS, in,
			    in->tce_fd, false, m == 1);
		v->len =
			build(v->pkt, WAN, MISS_PORT, REM1, REMOTE_SVC, TH_ACK);

		snprintf(nm, sizeof(nm), "xdp_hit_fix_%s", mode[m]);
		v = add_var(NAME(nm), "XDP hit",
			    WHAT("idempotent fixture (DNAT to itself)"),
			    K_XDP_HIT_FIX, in, in->xdp_fd, true, m == 1);
		v->len = build(v->pkt, FIX_REMOTE, FIX_RPORT, WAN,
			       OPEN_BASE + XDP_RULE, TH_ACK);

		/* An embryonic flow's packet: the established table misses,
		 * the embryonic one hits (a remote's segment before the
		 * handshake completed). */
		snprintf(nm, sizeof(nm), "xdp_embryo_fix_%s", mode[m]);
		v = add_var(NAME(nm), "XDP embryonic hit",
			    WHAT("idempotent fixture, handshake not complete"),
			    K_XDP_EMBRYO_FIX, in, in->xdp_fd, true, m == 1);
		v->len = build(v->pkt, FIX_REMOTE, FIX_RPORT + 1, WAN,
			       OPEN_BASE + XDP_RULE, TH_ACK);

		snprintf(nm, sizeof(nm), "tc_reply_fix_%s", mode[m]);
		v = add_var(NAME(nm), "TC reply translation",
			    WHAT("idempotent fixture (SNAT to itself)"),
			    K_TC_REPLY_FIX, in, in->tce_fd, false, m == 1);
		v->len = build(v->pkt, WAN, OPEN_BASE + XDP_RULE, FIX_REMOTE,
			       FIX_RPORT, TH_ACK);

		snprintf(nm, sizeof(nm), "tc_refresh_%s", mode[m]);
		v = add_var(NAME(nm), "TC trigger refresh",
			    WHAT("owner's trigger traffic"), K_TC_REFRESH, in,
			    in->tce_fd, false, m == 1);
		v->len = build(v->pkt, WAN, TRIG_EXT_PORT, REM1,
			       TRIG_BASE + TRIG_RULE, TH_ACK);
	}
	v = add_var(NAME("xdp_hit_hot"), "XDP hit", WHAT("hot flow"),
		    K_XDP_HIT_HOT, in, in->xdp_fd, true, false);
	{
		struct ptrig_flow_key k = in->keys[in->nflows / 2];

		v->len = build(v->pkt, ntohl(k.remote), ntohs(k.remote_port),
			       WAN, ntohs(k.local_port), TH_ACK);
	}
	add_var(NAME("xdp_hit_cycle"), "XDP hit",
		WHAT("cycling all flows (cache-miss)"), K_XDP_HIT_CYCLE, in,
		in->xdp_fd, true, false);
	add_var(NAME("xdp_create"), "XDP flow creation",
		WHAT("TCP SYN, new source each call"), K_XDP_CREATE, in,
		in->xdp_fd, true, false);
	v = add_var(NAME("tc_reply_hot"), "TC reply translation",
		    WHAT("hot flow"), K_TC_REPLY_HOT, in, in->tce_fd, false,
		    false);
	{
		struct ptrig_flow_key k = in->keys[in->nflows / 2];

		v->len = build(v->pkt, LAN1, ntohs(k.local_port),
			       ntohl(k.remote), ntohs(k.remote_port), TH_ACK);
	}
	add_var(NAME("tc_reply_cycle"), "TC reply translation",
		WHAT("cycling all flows (cache-miss)"), K_TC_REPLY_CYCLE, in,
		in->tce_fd, false, false);
	{
		/* ICMP errors and later fragments of the hot flow: new
		 * paths, each a rewrite, so repeat=1 only. */
		struct ptrig_flow_key k = in->keys[in->nflows / 2];
		struct pkt_spec q, e;

		memset(&q, 0, sizeof(q));
		q.proto = IPPROTO_TCP;
		q.saddr = WAN;
		q.sport = ntohs(k.local_port);
		q.daddr = ntohl(k.remote);
		q.dport = ntohs(k.remote_port);
		q.tcp_flags = TH_ACK;
		q.frag = 0x4000;
		q.payload_len = 1400;
		memset(&e, 0, sizeof(e));
		e.proto = IPPROTO_ICMP;
		e.saddr = IP4(203, 0, 113, 20);
		e.daddr = WAN;
		e.icmp_type = 3;
		e.icmp_code = 4;
		e.icmp_mtu = 1400;
		e.quote = &q;
		e.quote_l4 = 20;
		v = add_var(
			NAME("xdp_icmp"), "XDP ICMP error translation",
			WHAT("frag needed about the hot flow, 20-byte quote"),
			K_XDP_ICMP, in, in->xdp_fd, true, false);
		v->len = pkt_build(&e, v->pkt);

		q.saddr = ntohl(k.remote);
		q.sport = ntohs(k.remote_port);
		q.daddr = LAN1;
		q.dport = ntohs(k.local_port);
		e.saddr = LAN1;
		e.daddr = ntohl(k.remote);
		e.icmp_code = 3;
		e.icmp_mtu = 0;
		e.quote_l4 = 8;
		v = add_var(
			NAME("tc_icmp"), "TC ICMP error translation",
			WHAT("owner's error about the hot flow, 8-byte quote"),
			K_TC_ICMP, in, in->tce_fd, false, false);
		v->len = pkt_build(&e, v->pkt);

		memset(&e, 0, sizeof(e));
		e.proto = IPPROTO_UDP;
		e.saddr = REM1;
		e.daddr = WAN;
		e.frag = 185; /* offset 1480: the second fragment */
		e.payload_len = 1000;
		v = add_var(NAME("xdp_frag"), "XDP later fragment",
			    WHAT("of a DNATed datagram"), K_XDP_FRAG, in,
			    in->xdp_fd, true, false);
		v->len = pkt_build(&e, v->pkt);
	}
#undef NAME
#undef WHAT
}

/* ------------------------------------------------------- conntrack -- */

/* Insert, in this (private) netns, the conntrack entry a masqueraded
 * trigger connection has: LAN1:50000 -> REM1:trigger, source-NATed to
 * WAN:40000. Then TC egress finds the LAN host through it, as in real use. */
static void ct_insert(void)
{
	char tport[8], snat[32], lport[8];
	pid_t pid;
	int st;

	snprintf(tport, sizeof(tport), "%d", TRIG_BASE + TRIG_RULE);
	snprintf(snat, sizeof(snat), "203.0.113.1:%d", TRIG_EXT_PORT);
	snprintf(lport, sizeof(lport), "%d", TRIG_LAN_PORT);
	pid = fork();
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout) ||
		    !freopen("/dev/null", "w", stderr))
			_exit(127);
		/* The reply tuple is given un-NATed: the kernel applies
		 * --src-nat itself, which is what sets IPS_SRC_NAT. */
		execlp("conntrack", "conntrack", "-I", "-p", "tcp", "-s",
		       "198.51.100.2", "-d", "203.0.113.2", "--sport", lport,
		       "--dport", tport, "-r", "203.0.113.2", "-q",
		       "198.51.100.2", "--reply-port-src", tport,
		       "--reply-port-dst", lport, "--state", "ESTABLISHED",
		       "-t", "3600", "-u", "SEEN_REPLY,ASSURED", "--src-nat",
		       snat, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		fprintf(stderr, "bench_paths: conntrack -I failed: the trigger "
				"path runs without a conntrack entry\n");
}

/* Let TC egress open the trigger of TRIG_RULE itself from one packet; the
 * owner it records tells whether the conntrack lookup found the LAN host. */
static void inst_open_trigger(struct inst *in)
{
	struct ptrig_trigger_key tk;
	struct ptrig_trigger t;
	uint8_t pkt[PKT_MAX];
	struct prog_run r;
	size_t len;

	len = build(pkt, WAN, TRIG_EXT_PORT, REM1, TRIG_BASE + TRIG_RULE,
		    TH_ACK);
	if (test_run(in->tce_fd, false, pkt, len, 1, &r))
		die("trigger run: %s", strerror(errno));
	memset(&tk, 0, sizeof(tk));
	tk.rule_id = in->trig_rule_id;
	tk.external = htonl(WAN); /* NATed, found through conntrack */
	if (bpf_map_lookup_elem(in->fds.trig, &tk, &t)) {
		tk.external = 0; /* not NATed */
		if (bpf_map_lookup_elem(in->fds.trig, &tk, &t))
			die("TC egress did not open the trigger");
	}
	if (ntohl(t.owner) == LAN1)
		ct_mode =
			"conntrack entry found (source NAT), owner = LAN host";
	else
		ct_mode = "NO conntrack entry: owner = packet source (lookup "
			  "misses)";
}

/* -------------------------------------------------------------- report -- */

static FILE *md, *tsv;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (md) {
		va_start(ap, fmt);
		vfprintf(md, fmt, ap);
		va_end(ap);
	}
}

static int targets_missed, invalid;
static int redirect_fd = -1;	     /* only for its size */
static const char *section = "base"; /* TSV: which table a row is in */

/* One table row: v against reference ref (NULL: none). target: the ratio
 * v/ref must not exceed it (0: no target). */
static void row(const struct variant *v, const struct variant *ref,
		const char *refname, double target)
{
	double x = median(v->v, v->nv), rx = ref ? median(ref->v, ref->nv) : 0;
	double ratio = ref && rx > 0 ? x / rx : 0;
	char rbuf[64] = "-", ratbuf[16] = "-", tbuf[16] = "-", met[16] = "-";
	char spread[32];

	snprintf(spread, sizeof(spread), "%.1f-%.1f", vmin(v), vmax(v));
	if (ref) {
		snprintf(rbuf, sizeof(rbuf), "%s %.1f", refname, rx);
		snprintf(ratbuf, sizeof(ratbuf), "%.2fx", ratio);
	}
	if (target > 0) {
		snprintf(tbuf, sizeof(tbuf), "<= %.1fx", target);
		snprintf(met, sizeof(met), "%s",
			 ratio <= target ? "yes" : "NO");
		if (ratio > target)
			targets_missed++;
	}
	if (v->bad || (ref && ref->bad)) {
		snprintf(met, sizeof(met), "INVALID");
		invalid++;
	}
	out("| %s | %s | %s | %.1f | %s | %s | %s | %s | %s |\n", v->path,
	    v->what, v->rn ? "r=N" : "r=1", x, spread, rbuf, ratbuf, tbuf, met);
	if (tsv)
		fprintf(tsv,
			"%s\t%s\t%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t%s\t%.2f\t%."
			"3f\t%.2f\t%s\n",
			section, v->name, v->path, v->what,
			v->rn ? "r=N" : "r=1", x, vmin(v), vmax(v),
			ref ? ref->name : "-", rx, ratio, target, met);
}

static void prog_sizes(int fd, const char *name)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return;
	out("| %s | %u | %u |\n", name, info.xlated_prog_len / 8,
	    info.jited_prog_len);
}

static double med(const char *name)
{
	struct variant *v = find_var(name);

	return median(v->v, v->nv);
}

static void report(void)
{
	static const char *paths[] = {
		"xdp_miss_r1",	  "xdp_miss_rN",     "xdp_hit_hot",
		"xdp_hit_cycle",  "xdp_hit_fix_r1",  "xdp_hit_fix_rN",
		"xdp_create",	  "tc_miss_r1",	     "tc_miss_rN",
		"tc_refresh_r1",  "tc_refresh_rN",   "tc_reply_hot",
		"tc_reply_cycle", "tc_reply_fix_r1", "tc_reply_fix_rN",
	};
	struct variant *pass1 = find_var("ref_xdp_pass_r1");
	struct variant *passN = find_var("ref_xdp_pass_rN");
	struct variant *parse1 = find_var("ref_xdp_parse_r1");
	struct variant *parseN = find_var("ref_xdp_parse_rN");
	struct variant *tc1 = find_var("ref_tc_parse_r1");
	struct variant *tcN = find_var("ref_tc_parse_rN");
	struct variant *dnat1 = find_var("ref_xdp_dnat_r1");
	struct variant *dnatN = find_var("ref_xdp_dnat_rN");
	struct variant *dnatC = find_var("ref_xdp_dnat_cycle_r1");
	const char *hdr = "| path | variant | mode | ns/pkt | spread | "
			  "reference (ns) | ratio | target | met? |\n"
			  "|---|---|---|---:|---:|---|---:|---|---|\n";
	char nm[64];
	size_t i;
	int k;

	out("### Per-path cost (BPF_PROG_TEST_RUN, kernel-measured ns per "
	    "packet)\n\n");
	out("%d rounds; r=1: %ld calls of repeat=1 per round (mean without the "
	    "slowest 1%%), "
	    "r=N: repeat=%u. ns/pkt is the median over rounds, spread = "
	    "min-max of the rounds.\n"
	    "S = %s (baseline), R = %s, F = %s; flow table max_entries %ld "
	    "(the reference DNAT's too). "
	    "Trigger path: %s.\n\n",
	    opt.rounds, opt.calls, opt.repeat, insts[0].label, insts[1].label,
	    insts[2].label, opt.max_flows, ct_mode);
	out("%s", hdr);
	row(pass1, NULL, NULL, 0);
	row(passN, NULL, NULL, 0);
	row(parse1, pass1, "xdp_pass r=1", 0);
	row(parseN, passN, "xdp_pass r=N", 0);
	row(tc1, NULL, NULL, 0);
	row(tcN, NULL, NULL, 0);
	row(dnat1, parse1, "xdp_parse r=1", 0);
	row(dnatC, parse1, "xdp_parse r=1", 0);
	row(dnatN, parseN, "xdp_parse r=N", 0);
	/* The baseline instance against the references. */
	row(find_var("xdp_miss_r1_S"), parse1, "xdp_parse r=1", 1.2);
	row(find_var("xdp_miss_rN_S"), parseN, "xdp_parse r=N", 1.2);
	row(find_var("xdp_hit_hot_S"), parse1, "xdp_parse r=1", 2.0);
	row(find_var("xdp_hit_cycle_S"), parse1, "xdp_parse r=1", 2.0);
	row(find_var("xdp_hit_cycle_F"), parse1, "xdp_parse r=1", 2.0);
	row(find_var("xdp_hit_fix_r1_S"), parse1, "xdp_parse r=1", 2.0);
	row(find_var("xdp_hit_fix_rN_S"), parseN, "xdp_parse r=N", 2.0);
	row(find_var("xdp_embryo_fix_r1_S"), find_var("xdp_hit_fix_r1_S"),
	    "xdp_hit_fix r=1", 0);
	row(find_var("xdp_embryo_fix_rN_S"), find_var("xdp_hit_fix_rN_S"),
	    "xdp_hit_fix r=N", 0);
	row(find_var("xdp_create_S"), parse1, "xdp_parse r=1", 0);
	row(find_var("tc_miss_r1_S"), tc1, "tc_parse r=1", 0);
	row(find_var("tc_miss_rN_S"), tcN, "tc_parse r=N", 0);
	row(find_var("tc_refresh_r1_S"), tc1, "tc_parse r=1", 0);
	row(find_var("tc_refresh_rN_S"), tcN, "tc_parse r=N", 0);
	row(find_var("tc_reply_hot_S"), tc1, "tc_parse r=1", 0);
	row(find_var("tc_reply_cycle_S"), tc1, "tc_parse r=1", 0);
	row(find_var("tc_reply_cycle_F"), tc1, "tc_parse r=1", 0);
	row(find_var("tc_reply_fix_r1_S"), tc1, "tc_parse r=1", 0);
	row(find_var("tc_reply_fix_rN_S"), tcN, "tc_parse r=N", 0);
	/* ICMP errors and later fragments of the hot flow. */
	row(find_var("xdp_icmp_S"), parse1, "xdp_parse r=1", 0);
	row(find_var("xdp_frag_S"), parse1, "xdp_parse r=1", 0);
	row(find_var("tc_icmp_S"), tc1, "tc_parse r=1", 0);

	/* The hit path against the least work any DNAT hit must do: the
	 * distance to the real limit. */
	out("\n### XDP hit against the reference DNAT (parse, one LRU lookup "
	    "of a flow-key-sized key, rewrite with checksums)\n\n");
	out("%s", hdr);
	section = "dnat";
	row(find_var("xdp_hit_hot_S"), dnat1, "xdp_dnat r=1", 1.3);
	row(find_var("xdp_hit_cycle_S"), dnatC, "xdp_dnat cycling r=1", 1.3);
	row(find_var("xdp_hit_fix_rN_S"), dnatN, "xdp_dnat fixture r=N", 1.3);

	out("\n### Scale: %d rules (R) and %ld flows (F) against the small "
	    "case (S)\n\n",
	    insts[1].nrules, insts[2].nflows);
	out("%s", hdr);
	section = "scale";
	for (k = 1; k < 3; k++) {
		for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			struct variant *base, *v;

			snprintf(nm, sizeof(nm), "%s_S", paths[i]);
			base = find_var(nm);
			snprintf(nm, sizeof(nm), "%s_%c", paths[i],
				 insts[k].tag);
			v = find_var(nm);
			row(v, base, "same, S", 1.1);
		}
	}

	/* What costs what: differences of medians between paths that differ
	 * by a known set of steps (estimates, not measurements). */
	{
		struct {
			const char *a, *b, *what;
		} d[] = {
			{"ref_xdp_pass_r1", "ref_xdp_pass_rN",
			 "repeat=1 harness part of every call (timer reads, "
			 "loop)"},
			{"ref_xdp_parse_rN", "ref_xdp_pass_rN",
			 "parse eth/IPv4/TCP (warm)"},
			{"xdp_miss_rN_S", "ref_xdp_parse_rN",
			 "XDP miss: config + port-table lookups, pass counter "
			 "(warm)"},
			{"ref_xdp_dnat_rN", "ref_xdp_parse_rN",
			 "reference DNAT: one LRU lookup, rewrite with "
			 "checksums (warm)"},
			{"xdp_hit_fix_rN_S", "xdp_miss_rN_S",
			 "XDP hit: flow hash lookup, coarse clock, rule "
			 "counters (warm)"},
			{"xdp_hit_cycle_S", "xdp_hit_hot_S",
			 "XDP hit: a different flow every packet, 1,000 flows "
			 "(r=1)"},
			{"xdp_hit_cycle_F", "xdp_hit_hot_F",
			 "XDP hit: a different flow every packet, 1,000,000 "
			 "flows (r=1)"},
			{"xdp_create_S", "xdp_hit_hot_S",
			 "XDP creation: rule + trigger lookups, conntrack "
			 "lookup, flow insert, event, marker (r=1)"},
			{"tc_miss_rN_S", "ref_tc_parse_rN",
			 "TC miss: config + 2 port-table lookups (warm)"},
			{"tc_refresh_rN_S", "tc_miss_rN_S",
			 "TC refresh: rule + trigger lookups, conntrack lookup "
			 "+ release, counters (warm)"},
			{"tc_reply_fix_rN_S", "tc_miss_rN_S",
			 "TC reply: flow lookup, clock, counters, without the "
			 "rewrite (warm)"},
		};
		size_t j;

		out("\n### What costs what (differences of the medians above: "
		    "estimates)\n\n"
		    "| step | ns |\n|---|---:|\n");
		for (j = 0; j < sizeof(d) / sizeof(d[0]); j++) {
			double x = med(d[j].a) - med(d[j].b);

			out("| %s | %.1f |\n", d[j].what, x);
			if (tsv)
				fprintf(tsv, "#delta\t%s\t%s\t%.2f\n", d[j].a,
					d[j].b, x);
		}
	}

	out("\nPre-filled flows still present after the run: S %ld/%ld, R "
	    "%ld/%ld, F %ld/%ld.\n",
	    insts[0].prefilled, insts[0].nflows, insts[1].prefilled,
	    insts[1].nflows, insts[2].prefilled, insts[2].nflows);

	out("\n### Program sizes\n\n| program | xlated insns | JITed bytes "
	    "|\n|---|---:|---:|\n");
	prog_sizes(insts[0].xdp_fd, "ptrig_xdp_ingress");
	prog_sizes(insts[0].tce_fd, "ptrig_tc_egress");
	prog_sizes(bpf_program__fd(insts[0].skel->progs.ptrig_tc_ingress),
		   "ptrig_tc_ingress");
	prog_sizes(pass1->fd, "ref_xdp_pass");
	prog_sizes(parse1->fd, "ref_xdp_parse");
	prog_sizes(tc1->fd, "ref_tc_parse");
	prog_sizes(dnat1->fd, "ref_xdp_dnat");
	prog_sizes(redirect_fd, "ref_xdp_redirect");

	for (k = 0; k < nvars; k++)
		if (vars[k].bad)
			out("\nINVALID %s: %llu bad calls/rounds, first: %s\n",
			    vars[k].name, (unsigned long long)vars[k].bad,
			    vars[k].why);
}

/* The reference DNAT's flows: the S instance's pre-filled flows, sent to
 * LAN1, and the fixture, sent to itself. */
static void ref_fill(int fd, const struct inst *in)
{
	struct {
		uint32_t addr;
		uint16_t port, pad;
	} val;
	struct ptrig_flow_key k;
	long i;

	memset(&val, 0, sizeof(val));
	for (i = 0; i < in->nflows; i++) {
		val.addr = htonl(LAN1);
		val.port = in->keys[i].local_port;
		if (bpf_map_update_elem(fd, &in->keys[i], &val, BPF_NOEXIST))
			die("ref_flows update: %s", strerror(errno));
	}
	k = mk_key(FIX_REMOTE, FIX_RPORT, OPEN_BASE + XDP_RULE, IPPROTO_TCP);
	val.addr = htonl(WAN);
	val.port = k.local_port;
	if (bpf_map_update_elem(fd, &k, &val, BPF_NOEXIST))
		die("ref_flows update: %s", strerror(errno));
}

/* ---------------------------------------------------------------- main -- */

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_paths [--rounds N] [--calls N] [--repeat N]\n"
		"       [--small-flows N] [--big-flows N] [--small-rules N] "
		"[--big-rules N]\n"
		"       [--max-flows N] [--md FILE] [--tsv FILE] [--seed N] "
		"[--median]\n"
		"  --median: an r=1 round reports its median call instead of "
		"the mean\n"
		"            without the slowest 1%% (coarser: the clock may "
		"tick in ~10 ns)\n");
	exit(2);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"rounds", required_argument, NULL, 'r'},
		{"calls", required_argument, NULL, 'c'},
		{"repeat", required_argument, NULL, 'n'},
		{"small-flows", required_argument, NULL, 1},
		{"big-flows", required_argument, NULL, 2},
		{"small-rules", required_argument, NULL, 3},
		{"big-rules", required_argument, NULL, 4},
		{"max-flows", required_argument, NULL, 5},
		{"md", required_argument, NULL, 6},
		{"tsv", required_argument, NULL, 7},
		{"seed", required_argument, NULL, 8},
		{"median", no_argument, NULL, 9},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct bench_ref *ref;
	uint64_t t0 = mono_ns();
	int c, round, i, order[MAX_VARIANTS];

	while ((c = getopt_long(argc, argv, "r:c:n:h", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			opt.rounds = atoi(optarg);
			break;
		case 'c':
			opt.calls = atol(optarg);
			break;
		case 'n':
			opt.repeat = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 1:
			opt.small_flows = atol(optarg);
			break;
		case 2:
			opt.big_flows = atol(optarg);
			break;
		case 3:
			opt.small_rules = atoi(optarg);
			break;
		case 4:
			opt.big_rules = atoi(optarg);
			break;
		case 5:
			opt.max_flows = atol(optarg);
			break;
		case 6:
			opt.out_md = optarg;
			break;
		case 7:
			opt.out_tsv = optarg;
			break;
		case 8:
			opt.seed = (unsigned)atoi(optarg);
			break;
		case 9:
			opt.median = true;
			break;
		default:
			usage();
		}
	}
	if (opt.rounds < 1 || opt.rounds > MAX_ROUNDS || opt.calls < 100 ||
	    opt.repeat < 1 || opt.small_flows < 1 ||
	    opt.big_flows < opt.small_flows || opt.small_rules <= TRIG_RULE ||
	    opt.big_rules < opt.small_rules ||
	    opt.big_rules >= PTRIG_MAX_RULES || opt.big_rules > 20000 ||
	    opt.max_flows < opt.big_flows + 2 * opt.calls)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_print);
	srand(opt.seed);
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		die("libbpf_num_possible_cpus: %d", ncpu);

	/* A private netns: conntrack lookups see only what we put there. */
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET): %s", strerror(errno));
	ct_insert();

	fprintf(stderr,
		"bench_paths: loading 3 ptrig instances (%ld-entry flow "
		"tables) and pre-filling flows\n",
		opt.max_flows);
	inst_setup(&insts[0], 'S', opt.small_rules, opt.small_flows);
	inst_setup(&insts[1], 'R', opt.big_rules, opt.small_flows);
	inst_setup(&insts[2], 'F', opt.small_rules, opt.big_flows);
	for (i = 0; i < 3; i++)
		inst_open_trigger(&insts[i]);

	ref = bench_ref__open();
	if (!ref)
		die("bench_ref__open: %s", strerror(errno));
	/* Sized like the flow table of the S instance it is compared with:
	 * the same number of flows in a table of the same size, so cycling
	 * through them misses the caches as often in both (a smaller table
	 * packs its buckets into fewer cache lines and pages). That is room
	 * enough, too, that the LRU (per-CPU free lists) never evicts. */
	if (bpf_map__set_max_entries(ref->maps.ref_flows,
				     (uint32_t)opt.max_flows))
		die("ref_flows max_entries");
	if (bench_ref__load(ref))
		die("bench_ref__load: %s", strerror(errno));
	redirect_fd = bpf_program__fd(ref->progs.ref_xdp_redirect);
	ref_fill(bpf_map__fd(ref->maps.ref_flows), &insts[0]);
	for (i = 0; i < 2; i++) {
		bool rn = i == 1;
		struct variant *v;

		v = add_var(rn ? "ref_xdp_pass_rN" : "ref_xdp_pass_r1",
			    "reference", "ref_xdp_pass (XDP_PASS only)",
			    K_REF_XDP, NULL,
			    bpf_program__fd(ref->progs.ref_xdp_pass), true, rn);
		v->len = build(v->pkt, REM1, REMOTE_SVC, WAN,
			       OPEN_BASE + XDP_RULE, TH_ACK);
		v = add_var(rn ? "ref_xdp_parse_rN" : "ref_xdp_parse_r1",
			    "reference", "ref_xdp_parse (parse eth/ip/tcp)",
			    K_REF_XDP, NULL,
			    bpf_program__fd(ref->progs.ref_xdp_parse), true,
			    rn);
		v->len = build(v->pkt, REM1, REMOTE_SVC, WAN,
			       OPEN_BASE + XDP_RULE, TH_ACK);
		v = add_var(
			rn ? "ref_tc_parse_rN" : "ref_tc_parse_r1", "reference",
			"ref_tc_parse (parse eth/ip/tcp)", K_REF_TC, NULL,
			bpf_program__fd(ref->progs.ref_tc_parse), false, rn);
		v->len =
			build(v->pkt, WAN, MISS_PORT, REM1, REMOTE_SVC, TH_ACK);
		/* r=1: the S instance's hot flow; r=N: the fixture, mapped
		 * to itself, so the packet stays the same. */
		v = add_var(rn ? "ref_xdp_dnat_rN" : "ref_xdp_dnat_r1",
			    "reference",
			    rn ? "ref_xdp_dnat (parse, LRU lookup, rewrite; "
				 "fixture: to itself)"
			       : "ref_xdp_dnat (parse, LRU lookup, rewrite; "
				 "hot flow)",
			    rn ? K_REF_DNAT_FIX : K_REF_DNAT, NULL,
			    bpf_program__fd(ref->progs.ref_xdp_dnat), true, rn);
		if (rn) {
			v->len = build(v->pkt, FIX_REMOTE, FIX_RPORT, WAN,
				       OPEN_BASE + XDP_RULE, TH_ACK);
		} else {
			struct ptrig_flow_key k =
				insts[0].keys[insts[0].nflows / 2];

			v->len = build(v->pkt, ntohl(k.remote),
				       ntohs(k.remote_port), WAN,
				       ntohs(k.local_port), TH_ACK);
		}
	}
	add_var("ref_xdp_dnat_cycle_r1", "reference",
		"ref_xdp_dnat (cycling the S flows)", K_REF_DNAT_CYCLE, NULL,
		bpf_program__fd(ref->progs.ref_xdp_dnat), true, false)
		->cyc = &insts[0];
	for (i = 0; i < 3; i++)
		add_inst_vars(&insts[i]);

	fprintf(stderr, "bench_paths: setup %.1f s; %d variants x %d rounds\n",
		(double)(mono_ns() - t0) / 1e9, nvars, opt.rounds);
	/* Warm-up round (not recorded), then the measured rounds. */
	for (i = 0; i < nvars; i++)
		run_variant(&vars[i], opt.calls / 10, false);
	for (round = 0; round < opt.rounds; round++) {
		for (i = 0; i < nvars; i++)
			order[i] = i;
		for (i = nvars - 1; i > 0; i--) {
			int j = rand() % (i + 1), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (i = 0; i < nvars; i++)
			run_variant(&vars[order[i]], opt.calls, true);
		fprintf(stderr, "bench_paths: round %d/%d done (%.1f s)\n",
			round + 1, opt.rounds, (double)(mono_ns() - t0) / 1e9);
	}
	for (i = 0; i < 3; i++)
		insts[i].prefilled = inst_count_prefilled(&insts[i]);

	if (opt.out_md && !(md = fopen(opt.out_md, "w")))
		die("%s: %s", opt.out_md, strerror(errno));
	if (opt.out_tsv && !(tsv = fopen(opt.out_tsv, "w")))
		die("%s: %s", opt.out_tsv, strerror(errno));
	if (tsv)
		fprintf(tsv, "#table\tname\tpath\tvariant\tmode\tns\tmin\tmax\t"
			     "ref\tref_ns\tratio\ttarget\tmet\n");
	report();
	for (i = 0; i < 3; i++)
		if (insts[i].prefilled != insts[i].nflows)
			invalid++;
	out("\nper-path benchmark: %.1f s, %d target(s) missed, %d invalid "
	    "row(s)\n",
	    (double)(mono_ns() - t0) / 1e9, targets_missed, invalid);
	if (md)
		fclose(md);
	if (tsv)
		fclose(tsv);
	for (i = 0; i < 3; i++) {
		ring_buffer__free(insts[i].rb);
		ptrig__destroy(insts[i].skel);
	}
	bench_ref__destroy(ref);
	/* Missed targets are results, not errors; a harness that measured the
	 * wrong thing is. */
	return invalid ? 1 : 0;
}
