/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Harness for table-driven BPF_PROG_TEST_RUN tests of the ptrig programs:
 * TAP-like runner, ASSERT_* macros, a fresh skeleton per scenario, program
 * runs with output capture, table steps, and typed map accessors.
 */
#ifndef PTRIG_TESTLIB_H
#define PTRIG_TESTLIB_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "skel_fds.h"
#include "ptrig_load.h"
#include "pkt.h"
#include "prog_run.h"

/* ------------------------------------------------------------ asserts -- */

/* Failures are TAP diagnostics ("# file:line: ...") on stdout, so they stay
 * in order with the "not ok" line they explain. A failed assert returns
 * from the test function (or helper) with -1. */
/* Set while a test checks that the harness itself detects a failure. */
static bool tl_quiet;

#define FAIL_MSG(file, line, fmt, ...)                                         \
	do {                                                                   \
		if (!tl_quiet)                                                 \
			printf("# %s:%d: " fmt "\n", file, line,               \
			       ##__VA_ARGS__);                                 \
	} while (0)

#define ASSERT_TRUE(cond, fmt, ...)                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			FAIL_MSG(__FILE__, __LINE__, "%s: " fmt, #cond,        \
				 ##__VA_ARGS__);                               \
			return -1;                                             \
		}                                                              \
	} while (0)

#define ASSERT_EQ(got, want, what)                                             \
	do {                                                                   \
		unsigned long long _g = (unsigned long long)(got);             \
		unsigned long long _w = (unsigned long long)(want);            \
		if (_g != _w) {                                                \
			FAIL_MSG(__FILE__, __LINE__,                           \
				 "%s: got %llu (%#llx), want %llu (%#llx)",    \
				 what, _g, _g, _w, _w);                        \
			return -1;                                             \
		}                                                              \
	} while (0)

#define ASSERT_IP(got, want_host, what)                                        \
	do {                                                                   \
		uint32_t _g = ntohl(got), _w = (want_host);                    \
		if (_g != _w) {                                                \
			FAIL_MSG(__FILE__, __LINE__,                           \
				 "%s: got %u.%u.%u.%u, want %u.%u.%u.%u",      \
				 what, _g >> 24, (_g >> 16) & 255,             \
				 (_g >> 8) & 255, _g & 255, _w >> 24,          \
				 (_w >> 16) & 255, (_w >> 8) & 255, _w & 255); \
			return -1;                                             \
		}                                                              \
	} while (0)

/* Propagate a failure of a helper that already printed why. */
#define ASSERT_OK(expr)                                                        \
	do {                                                                   \
		if ((expr) != 0) {                                             \
			FAIL_MSG(__FILE__, __LINE__, "failed: %s", #expr);     \
			return -1;                                             \
		}                                                              \
	} while (0)

/* -------------------------------------------------------------- clock -- */

/* CLOCK_MONOTONIC, which bpf_ktime_get_coarse_ns() reads coarse-grained:
 * a stamp taken here is up to one tick ahead of the datapath's "now". */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define SEC_NS 1000000000ull

/* ------------------------------------------------------------ context -- */

struct tctx {
	struct ptrig *skel;
	struct ptrig_map_fds fds;
	int ncpu;
};

enum prog_id {
	PROG_XDP,
	PROG_TC_EGRESS,
	PROG_TC_INGRESS,
	PROG_TC_LAN,  /* the fast path's program on the LAN interface */
	PROG_XDP_LAN, /* ... its variant for a LAN NIC with native XDP */
};

static inline bool prog_is_xdp(enum prog_id p)
{
	return p == PROG_XDP || p == PROG_XDP_LAN;
}

static inline const char *prog_name(enum prog_id p)
{
	switch (p) {
	case PROG_XDP:
		return "xdp";
	case PROG_TC_EGRESS:
		return "tc_egress";
	case PROG_TC_INGRESS:
		return "tc_ingress";
	case PROG_TC_LAN:
		return "tc_lan_ingress";
	case PROG_XDP_LAN:
		return "xdp_lan_ingress";
	}
	return "?";
}

static inline int prog_fd(const struct tctx *c, enum prog_id p)
{
	switch (p) {
	case PROG_XDP:
		return bpf_program__fd(c->skel->progs.ptrig_xdp_ingress);
	case PROG_TC_EGRESS:
		return bpf_program__fd(c->skel->progs.ptrig_tc_egress);
	case PROG_TC_INGRESS:
		return bpf_program__fd(c->skel->progs.ptrig_tc_ingress);
	case PROG_TC_LAN:
		return bpf_program__fd(c->skel->progs.ptrig_tc_lan_ingress);
	case PROG_XDP_LAN:
		return bpf_program__fd(c->skel->progs.ptrig_xdp_lan_ingress);
	}
	return -1;
}

static inline void tctx_teardown(struct tctx *c)
{
	ptrig__destroy(c->skel);
	memset(c, 0, sizeof(*c));
}

/* The WAN link the programs are loaded for (enum ptrig_link_l2). With
 * PTRIG_L2_NONE (an L3 device: PPP, tun, WireGuard) every step's frames go
 * in and are compared without their Ethernet header. */
static uint32_t tl_link_l2 = PTRIG_L2_ETHER;
/* The fast path's LAN interface the programs are loaded with (0: off). */
static uint32_t tl_fast_lan_ifindex;
/* ... and the WAN interface its LAN program sends the owner's packets to. */
static uint32_t tl_fast_wan_ifindex;

/* Fresh skeleton (so fresh, empty maps), config entry, and rule set: every
 * scenario starts from a clean state and cannot see another's entries.
 * max_flows: the flow table's size as --max-flows sets it (0: default). */
static inline int tctx_setup_sized(struct tctx *c,
				   const struct ptrig_rule_spec *r, size_t n,
				   uint32_t max_flows)
{
	struct ptrig_ruleset rs = {
		.rules = (struct ptrig_rule_spec *)r,
		.n = n,
		.cap = n,
	};
	int err;

	memset(c, 0, sizeof(*c));
	c->ncpu = libbpf_num_possible_cpus();
	ASSERT_TRUE(c->ncpu > 0, "libbpf_num_possible_cpus: %d", c->ncpu);
	c->skel = ptrig__open();
	ASSERT_TRUE(c->skel, "ptrig__open: %s", strerror(errno));
	if (max_flows) {
		bpf_map__set_max_entries(c->skel->maps.PTRIG_MAP(flows),
					 max_flows);
		bpf_map__set_max_entries(c->skel->maps.PTRIG_MAP(embryo),
					 ptrig_embryo_entries(max_flows));
	}
	c->skel->rodata->link_l2 = tl_link_l2;
	c->skel->rodata->fast_lan_ifindex = tl_fast_lan_ifindex;
	c->skel->rodata->fast_wan_ifindex = tl_fast_wan_ifindex;
	err = ptrig__load(c->skel);
	ASSERT_TRUE(err == 0, "ptrig__load: %s", strerror(-err));
	ptrig_skel_map_fds(c->skel, &c->fds);
	err = ptrig_config_init(&c->fds, PTRIG_DEFAULT_MARK);
	ASSERT_TRUE(err == 0, "ptrig_config_init: %s", strerror(-err));
	if (!n)
		return 0;
	err = ptrig_rules_push(&c->fds, &rs);
	ASSERT_TRUE(err == 0, "ptrig_rules_push: %s", strerror(-err));
	return 0;
}

static inline int tctx_setup(struct tctx *c, const struct ptrig_rule_spec *r,
			     size_t n)
{
	return tctx_setup_sized(c, r, n, 0);
}

static inline int rules_push(struct tctx *c, const struct ptrig_rule_spec *r,
			     size_t n)
{
	struct ptrig_ruleset rs = {
		.rules = (struct ptrig_rule_spec *)r,
		.n = n,
		.cap = n,
	};
	int err = ptrig_rules_push(&c->fds, &rs);

	ASSERT_TRUE(err == 0, "ptrig_rules_push: %s", strerror(-err));
	return 0;
}

/* A rule with one port range per side and the file's defaults. */
static inline struct ptrig_rule_spec rule(const char *name, uint8_t tproto,
					  uint16_t tlo, uint16_t thi,
					  uint8_t oproto, uint16_t olo,
					  uint16_t ohi)
{
	struct ptrig_rule_spec r;

	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", name);
	r.trigger.proto = tproto;
	r.trigger.n_ranges = 1;
	r.trigger.ranges[0].lo = tlo;
	r.trigger.ranges[0].hi = thi;
	r.open.proto = oproto;
	r.open.n_ranges = 1;
	r.open.ranges[0].lo = olo;
	r.open.ranges[0].hi = ohi;
	r.timeout_s = PTRIG_DEFAULT_TRIGGER_TIMEOUT_S;
	r.peer_mode = PTRIG_PEER_ANY;
	return r;
}

/* --------------------------------------------------------------- runs -- */

struct run_res {
	struct prog_run raw;
	uint32_t retval;
	const uint8_t *pkt; /* the frame, after any XDP metadata */
	size_t pkt_len;
	size_t meta_len; /* XDP: bytes of metadata in front of the frame */
	uint32_t mark;	 /* TC: skb->mark after the run */
};

/* One BPF_PROG_TEST_RUN, repeat 1 (a rewrite must not be applied twice). */
static inline int run_prog(const struct tctx *c, enum prog_id p,
			   const uint8_t *in, size_t len, uint32_t mark_in,
			   uint32_t iif, struct run_res *r)
{
	int err;

	memset(r, 0, sizeof(*r));
	err = prog_run(prog_fd(c, p), prog_is_xdp(p), in, len, 1, mark_in, iif,
		       &r->raw);
	ASSERT_TRUE(err == 0, "test_run %s: %s", prog_name(p), strerror(-err));
	r->retval = r->raw.retval;
	if (prog_is_xdp(p)) {
		/* ctx_out offsets are relative to data_meta. */
		ASSERT_TRUE(r->raw.ctx_meta == 0 &&
				    r->raw.meta_len <= r->raw.ctx_end &&
				    r->raw.ctx_end == r->raw.out_len,
			    "xdp ctx_out meta %u data %u end %u, out size %u",
			    r->raw.ctx_meta, r->raw.meta_len, r->raw.ctx_end,
			    r->raw.out_len);
		r->meta_len = r->raw.meta_len;
	} else {
		r->mark = r->raw.mark;
	}
	r->pkt = r->raw.out + r->meta_len;
	r->pkt_len = r->raw.out_len - r->meta_len;
	return 0;
}

/* Byte-for-byte comparison; on mismatch both frames are hexdumped with the
 * differing bytes bracketed. Returns 0 when equal. */
static inline int pkt_compare(const char *file, int line, const char *what,
			      const uint8_t *got, size_t got_len,
			      const uint8_t *want, size_t want_len)
{
	size_t i, n = got_len < want_len ? got_len : want_len;

	if (got_len == want_len && memcmp(got, want, n) == 0)
		return 0;
	for (i = 0; i < n && got[i] == want[i]; i++)
		;
	FAIL_MSG(file, line,
		 "%s: output differs from expected (length %zu vs "
		 "%zu, first difference at byte %zu)",
		 what, got_len, want_len, i);
	if (!tl_quiet) {
		pkt_hexdump(stdout, "got", got, got_len, want, want_len);
		pkt_hexdump(stdout, "want", want, want_len, got, got_len);
	}
	return -1;
}

/* One row of a fixture table: run a packet through a program, check the
 * verdict and the exact output (unchanged, or the expected packet). */
struct step {
	const char *name;
	enum prog_id prog;
	struct pkt_spec in;
	uint32_t verdict;
	bool same;	     /* output must equal the input */
	struct pkt_spec exp; /* else: the expected output, built fresh */
	bool meta;	     /* XDP: expect the metadata marker */
	uint32_t mark_in;    /* TC: skb->mark to start with */
	/* TC: where the packet came from; default (0) a LAN interface. */
	enum { FROM_LAN, FROM_BOX, FROM_WAN } from;
};

static inline uint32_t step_iif(const struct step *st)
{
	switch (st->from) {
	case FROM_BOX:
		return PRUN_IIF_LOCAL;
	case FROM_WAN:
		return PRUN_IIF_WAN;
	default:
		return PRUN_IIF_LAN;
	}
}

static inline bool spec_is_full_ipv4(const struct pkt_spec *s)
{
	return (!s->l3 || s->l3 == ETH_P_IP) && !s->trunc && !s->ihl_raw &&
	       !s->tot_len_raw && !s->bad_ip_csum && !s->bad_l4_csum;
}

static inline int run_step_at(const struct tctx *c, const struct step *st,
			      struct run_res *r, const char *file, int line)
{
	uint8_t in[PKT_MAX], exp[PKT_MAX];
	size_t in_len, exp_len;
	char why[160];

	in_len = pkt_build(&st->in, in);
	/* The builder's own input must be right, or the test proves nothing. */
	if (spec_is_full_ipv4(&st->in) &&
	    pkt_verify_csums(in, in_len, why, sizeof(why))) {
		FAIL_MSG(file, line, "step '%s': input packet invalid: %s",
			 st->name, why);
		return -1;
	}
	if (tl_link_l2 == PTRIG_L2_NONE) {
		/* On an L3 link the packet starts at its IP header. */
		if (run_prog(c, st->prog, in + ETH_HLEN, in_len - ETH_HLEN,
			     st->mark_in, step_iif(st), r)) {
			FAIL_MSG(file, line, "step '%s': run failed", st->name);
			return -1;
		}
	} else if (run_prog(c, st->prog, in, in_len, st->mark_in, step_iif(st),
			    r)) {
		FAIL_MSG(file, line, "step '%s': run failed", st->name);
		return -1;
	}
	if (r->retval != st->verdict) {
		FAIL_MSG(file, line, "step '%s' (%s): verdict %u, want %u",
			 st->name, prog_name(st->prog), r->retval, st->verdict);
		return -1;
	}
	if (st->same) {
		exp_len = in_len;
		memcpy(exp, in, in_len);
	} else {
		exp_len = pkt_build(&st->exp, exp);
	}
	if (tl_link_l2 == PTRIG_L2_NONE) {
		uint8_t full[PKT_MAX + ETH_HLEN];

		if (r->pkt_len > PKT_MAX ||
		    pkt_compare(file, line, st->name, r->pkt, r->pkt_len,
				exp + ETH_HLEN, exp_len - ETH_HLEN))
			return -1;
		/* The checksum verifier below reads Ethernet frames. */
		memcpy(full, exp, ETH_HLEN);
		memcpy(full + ETH_HLEN, r->pkt, r->pkt_len);
		if (!st->same && spec_is_full_ipv4(&st->exp) &&
		    pkt_verify_csums(full, r->pkt_len + ETH_HLEN, why,
				     sizeof(why))) {
			FAIL_MSG(file, line, "step '%s': output checksum: %s",
				 st->name, why);
			return -1;
		}
	} else if (pkt_compare(file, line, st->name, r->pkt, r->pkt_len, exp,
			       exp_len)) {
		return -1;
	}
	/* Belt and braces: a rewritten frame must also verify on its own. */
	if (tl_link_l2 == PTRIG_L2_ETHER && !st->same &&
	    spec_is_full_ipv4(&st->exp) &&
	    pkt_verify_csums(r->pkt, r->pkt_len, why, sizeof(why))) {
		FAIL_MSG(file, line, "step '%s': output checksum: %s", st->name,
			 why);
		return -1;
	}
	if (st->prog == PROG_XDP) {
		uint32_t magic = 0;

		if (!st->meta && r->meta_len) {
			FAIL_MSG(file, line,
				 "step '%s': unexpected %zu bytes "
				 "of XDP metadata",
				 st->name, r->meta_len);
			return -1;
		}
		if (st->meta) {
			if (r->meta_len != sizeof(magic)) {
				FAIL_MSG(file, line,
					 "step '%s': XDP metadata "
					 "length %zu, want %zu (marker)",
					 st->name, r->meta_len, sizeof(magic));
				return -1;
			}
			memcpy(&magic, r->raw.out, sizeof(magic));
			if (magic != PTRIG_META_MAGIC) {
				FAIL_MSG(file, line,
					 "step '%s': metadata "
					 "%#x, want marker %#x",
					 st->name, magic, PTRIG_META_MAGIC);
				return -1;
			}
		}
	}
	return 0;
}

#define RUN_STEP(c, st)                                                        \
	do {                                                                   \
		struct run_res _r;                                             \
		if (run_step_at(c, st, &_r, __FILE__, __LINE__))               \
			return -1;                                             \
	} while (0)

/* Run a whole table of steps; a failure names the row. */
#define RUN_STEPS(c, steps)                                                    \
	do {                                                                   \
		size_t _i;                                                     \
		for (_i = 0; _i < sizeof(steps) / sizeof(steps[0]); _i++) {    \
			struct run_res _r;                                     \
			if (run_step_at(c, &steps[_i], &_r, __FILE__,          \
					__LINE__)) {                           \
				printf("#   (row %zu of %s)\n", _i, #steps);   \
				return -1;                                     \
			}                                                      \
		}                                                              \
	} while (0)

/* -------------------------------------------------------------- maps -- */

static inline struct ptrig_trigger_key trig_key(uint32_t rule_id,
						uint32_t peer_host)
{
	struct ptrig_trigger_key k;

	memset(&k, 0, sizeof(k));
	k.rule_id = rule_id;
	k.peer = htonl(peer_host);
	return k;
}

/* The key of the trigger of (rule_id, peer) under whichever external
 * address it has (the key's third part); 0, or -ENOENT. */
static inline int trig_find(const struct tctx *c, uint32_t rule_id,
			    uint32_t peer_host, struct ptrig_trigger_key *out)
{
	struct ptrig_trigger_key k, next;
	void *prev = NULL;

	while (bpf_map_get_next_key(c->fds.trig, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (k.rule_id == rule_id && k.peer == htonl(peer_host)) {
			*out = k;
			return 0;
		}
	}
	return -ENOENT;
}

/* Returns 0 if found, -ENOENT if not. */
static inline int trig_get(const struct tctx *c, uint32_t rule_id,
			   uint32_t peer_host, struct ptrig_trigger *t)
{
	struct ptrig_trigger_key k;

	if (trig_find(c, rule_id, peer_host, &k))
		return -ENOENT;
	return bpf_map_lookup_elem(c->fds.trig, &k, t) ? -errno : 0;
}

/* Write the trigger of (rule_id, peer), keyed as the datapath keys it:
 * under its external address when that is not the owner's (NATed), else
 * under 0. Fixture runs have no NAT, so a trigger that masquerade() makes
 * look NATed stays where it was, under 0 (which XDP reads too). */
static inline int trig_put(const struct tctx *c, uint32_t rule_id,
			   uint32_t peer_host, const struct ptrig_trigger *t)
{
	struct ptrig_trigger_key k, old;

	k = trig_key(rule_id, peer_host);
	k.external = t->external != t->owner ? t->external : 0;
	if (trig_find(c, rule_id, peer_host, &old) == 0) {
		if (!old.external)
			k = old;
		else if (old.external != k.external)
			bpf_map_delete_elem(c->fds.trig, &old);
	}
	return bpf_map_update_elem(c->fds.trig, &k, t, BPF_ANY) ? -errno : 0;
}

static inline int trig_count(const struct tctx *c)
{
	struct ptrig_trigger_key k, next;
	int n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(c->fds.trig, prev, &next) == 0) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

static inline struct ptrig_flow_key flow_key(uint32_t remote_host,
					     uint16_t remote_port,
					     uint16_t local_port, uint8_t proto)
{
	struct ptrig_flow_key k;

	memset(&k, 0, sizeof(k)); /* the pad bytes are part of the key */
	k.remote = htonl(remote_host);
	/* The lab's WAN address (scenario.h's WAN), which every flow the
	 * tests read or write directly has. */
	k.external = htonl(0xcb007101);
	k.remote_port = htons(remote_port);
	k.local_port = htons(local_port);
	k.proto = proto;
	return k;
}

/* A flow from whichever table holds it (PTRIG_FLOW_EMBRYONIC in its flags
 * says which); 0 if found, -ENOENT if not. */
static inline int flow_get(const struct tctx *c, uint32_t remote_host,
			   uint16_t remote_port, uint16_t local_port,
			   uint8_t proto, struct ptrig_flow *f)
{
	struct ptrig_flow_key k =
		flow_key(remote_host, remote_port, local_port, proto);

	if (bpf_map_lookup_elem(c->fds.flows, &k, f) == 0)
		return 0;
	return bpf_map_lookup_elem(c->fds.embryo, &k, f) ? -errno : 0;
}

/* Write a flow into the table its flags say (embryonic or established). */
static inline int flow_put(const struct tctx *c, uint32_t remote_host,
			   uint16_t remote_port, uint16_t local_port,
			   uint8_t proto, const struct ptrig_flow *f)
{
	struct ptrig_flow_key k =
		flow_key(remote_host, remote_port, local_port, proto);
	int fd = f->flags & PTRIG_FLOW_EMBRYONIC ? c->fds.embryo : c->fds.flows;

	return bpf_map_update_elem(fd, &k, f, BPF_ANY) ? -errno : 0;
}

/* Entries in a map (expired ones included). */
static inline int map_count(int fd, size_t key_size)
{
	uint8_t k[64], next[64];
	void *prev = NULL;
	int n = 0;

	if (key_size > sizeof(k))
		return -1;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(k, next, key_size);
		prev = k;
		n++;
	}
	return n;
}

/* Per-rule counters, summed over CPUs. Fails the test on a read error. */
static inline struct ptrig_rule_counters cnt_get(const struct tctx *c,
						 uint32_t rule_id)
{
	struct ptrig_rule_counters s;

	if (ptrig_counters_read(c->fds.cnt, rule_id, &s)) {
		printf("# cnt_get(%u) failed\n", rule_id);
		memset(&s, 0xff, sizeof(s)); /* makes any count assert fail */
	}
	return s;
}

/* One global ptrig_stats_v1 counter, summed over CPUs. */
static inline uint64_t stat_get(const struct tctx *c, uint32_t idx)
{
	uint64_t *v = calloc((size_t)c->ncpu, sizeof(*v)), sum = 0;
	int i;

	if (!v || bpf_map_lookup_elem(c->fds.stats, &idx, v)) {
		free(v);
		printf("# stat_get(%u) failed\n", idx);
		return ~0ull;
	}
	for (i = 0; i < c->ncpu; i++)
		sum += v[i];
	free(v);
	return sum;
}

static inline int cfg_get(const struct tctx *c, struct ptrig_config *cfg)
{
	uint32_t zero = 0;

	return bpf_map_lookup_elem(c->fds.cfg, &zero, cfg) ? -errno : 0;
}

/* The installed rule of the active set (ptrig_rules_v1[set * MAX + id]). */
static inline int rule_get(const struct tctx *c, uint32_t id,
			   struct ptrig_rule *r)
{
	struct ptrig_config cfg;
	uint32_t idx;

	if (cfg_get(c, &cfg))
		return -errno;
	idx = (cfg.active_set & 1) * PTRIG_MAX_RULES + id;
	return bpf_map_lookup_elem(c->fds.rules, &idx, r) ? -errno : 0;
}

/* Rule id owning a trigger (or open) port in the active set, 0 if none. */
static inline uint32_t rule_of_port(const struct tctx *c, enum ptrig_l4 l4,
				    uint16_t port, bool trigger)
{
	struct ptrig_port_rules pr;
	struct ptrig_config cfg;
	uint32_t idx;

	if (cfg_get(c, &cfg))
		return 0;
	idx = (cfg.active_set & 1) * PTRIG_PORTS + port;
	if (bpf_map_lookup_elem(c->fds.ports, &idx, &pr))
		return 0;
	return trigger ? pr.trigger_rule[l4] : pr.open_rule[l4];
}

/* --------------------------------------------------------------- TAP -- */

struct test_case {
	const char *name;
	int (*fn)(struct tctx *c);
	/* Known issue: a failure is reported "not ok ... # TODO" and not
	 * counted as failed; a pass says the TODO mark can go. */
	const char *todo;
};

/* Runs each case against a fresh context; prints "ok N name" / "not ok N
 * name" and at the end "P passed, F failed". A case returns 0 (pass), -1
 * (fail) or 1 (skipped: counted as passed, marked "# SKIP"). Returns the
 * failure count. */
static inline int run_tests(const struct test_case *t, size_t n)
{
	int passed = 0, failed = 0, todo = 0;
	size_t i;

	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		struct tctx c;
		int err;

		memset(&c, 0, sizeof(c));
		fflush(stdout);
		err = t[i].fn(&c);
		tctx_teardown(&c);
		if (err < 0 && t[i].todo) {
			todo++;
			printf("not ok %zu %s # TODO %s\n", i + 1, t[i].name,
			       t[i].todo);
		} else if (err < 0) {
			failed++;
			printf("not ok %zu %s\n", i + 1, t[i].name);
		} else if (t[i].todo) {
			passed++;
			printf("ok %zu %s # TODO passes now: drop the mark\n",
			       i + 1, t[i].name);
		} else if (err > 0) {
			passed++;
			printf("ok %zu %s # SKIP\n", i + 1, t[i].name);
		} else {
			passed++;
			printf("ok %zu %s\n", i + 1, t[i].name);
		}
		fflush(stdout);
	}
	if (todo)
		printf("# %d known issue(s) marked TODO, not counted\n", todo);
	printf("%d passed, %d failed\n", passed, failed);
	return failed;
}

#endif
