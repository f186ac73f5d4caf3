// SPDX-License-Identifier: GPL-2.0
/* Readers of an attached interface's state, for `status`, `flows` and the
 * agent's metrics. They fill structures and print nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pins.h"
#include "state.h"

int flows_count(int fd, struct flow_counts *c)
{
	struct ptrig_flow_key key, next, *prev = NULL;
	uint64_t now = ptrig_now_ns();

	memset(c, 0, sizeof(*c));
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct ptrig_flow f;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &f))
			continue; /* deleted or evicted meanwhile */
		c->entries++;
		/* The same expiry test as the datapath's and `flows`'s. */
		if ((int64_t)(now - f.last_seen_ns) >
		    (int64_t)ptrig_flow_idle_timeout(&f) * 1000000000ll)
			continue;
		if (f.flags & PTRIG_FLOW_CLOSING)
			c->live_closing++;
		else if (!(f.flags & PTRIG_FLOW_EMBRYONIC))
			c->live_established++;
		else
			c->live_new++;
	}
	return 0;
}

/* Seconds, rounded down, between a datapath stamp and now. */
int64_t idle_s(uint64_t now, uint64_t stamp)
{
	return (int64_t)(now - stamp) / 1000000000ll;
}

const char *const stat_names[PTRIG_STAT_MAX] = {
	[PTRIG_STAT_XDP_TRANSLATED] = "xdp_translated",
	[PTRIG_STAT_TC_EGRESS_TRANSLATED] = "tc_egress_translated",
	[PTRIG_STAT_TC_EGRESS_TRIGGER] = "tc_egress_trigger_packets",
	[PTRIG_STAT_PASS_NOT_IPV4] = "pass_not_ipv4",
	[PTRIG_STAT_PASS_FRAGMENT] = "pass_fragment",
	[PTRIG_STAT_PASS_MALFORMED] = "pass_malformed",
	[PTRIG_STAT_PASS_OTHER_PROTO] = "pass_other_proto",
	[PTRIG_STAT_PASS_NO_RULE] = "pass_no_rule",
	[PTRIG_STAT_PASS_TCP_NO_FLOW] = "pass_tcp_no_flow",
	[PTRIG_STAT_PASS_NOT_EXTERNAL] = "pass_not_external",
	[PTRIG_STAT_PASS_CT_TRACKED] = "pass_ct_tracked",
	[PTRIG_STAT_PASS_REFUSED] = "pass_refused",
	[PTRIG_STAT_FLOW_EXPIRED] = "flow_expired",
	[PTRIG_STAT_TRIGGER_NO_NAT] = "trigger_not_nated",
	[PTRIG_STAT_MARKED] = "marked",
	[PTRIG_STAT_ERROR] = "errors",
	[PTRIG_STAT_FLOW_COLLISION] = "flow_nat_collision",
	[PTRIG_STAT_PASS_TRIG_LOCAL] = "pass_trigger_local",
	[PTRIG_STAT_PASS_TRIG_FROM_WAN] = "pass_trigger_from_wan",
	[PTRIG_STAT_PASS_TRIG_REPLY] = "pass_trigger_reply",
	[PTRIG_STAT_PASS_TRIG_UNTRACKED] = "pass_trigger_untracked",
	[PTRIG_STAT_PASS_TRIG_FLOW_REPLY] = "pass_trigger_flow_reply",
	[PTRIG_STAT_FLOW_PROMOTED] = "flows_established",
	[PTRIG_STAT_SYN_ON_LIVE_FLOW] = "syn_on_live_flow",
	[PTRIG_STAT_XDP_META_UNSUPPORTED] = "xdp_meta_unsupported",
	[PTRIG_STAT_MARKED_FLOW_TABLE] = "marked_from_flow_table",
	[PTRIG_STAT_ICMP_IN_TRANSLATED] = "icmp_in_translated",
	[PTRIG_STAT_ICMP_OUT_TRANSLATED] = "icmp_out_translated",
	[PTRIG_STAT_PASS_ICMP_NO_FLOW] = "pass_icmp_no_flow",
	[PTRIG_STAT_PASS_ICMP_MALFORMED] = "pass_icmp_malformed",
	[PTRIG_STAT_FRAG_IN_TRANSLATED] = "frag_in_translated",
	[PTRIG_STAT_FRAG_OUT_TRANSLATED] = "frag_out_translated",
	[PTRIG_STAT_FAST_FORWARDED] = "fast_forwarded",
	[PTRIG_STAT_FAST_CT_CHECK] = "fast_ct_check",
	[PTRIG_STAT_FAST_NOT_ASSURED] = "fast_ct_not_assured",
	[PTRIG_STAT_FAST_TCP_STRICT] = "fast_tcp_ct_strict",
	[PTRIG_STAT_FAST_CT_RST_EXPIRY] = "fast_ct_rst_expiry",
	[PTRIG_STAT_FAST_UNUSUAL] = "fast_unusual_packet",
	[PTRIG_STAT_FAST_NO_NEIGH] = "fast_no_neighbour",
	[PTRIG_STAT_FAST_FIB_OTHER] = "fast_fib_other",
	[PTRIG_STAT_FAST_OUT_FORWARDED] = "fast_out_forwarded",
};

void stats_read(int fd, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	uint64_t *per;
	uint32_t k;

	memset(out, 0, sizeof(uint64_t) * PTRIG_STAT_MAX);
	if (ncpu <= 0)
		return;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return;
	for (k = 0; k < PTRIG_STAT_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, per))
			continue;
		for (c = 0; c < ncpu; c++)
			out[k] += per[c];
	}
	free(per);
}

const struct ptrig_installed_rule *
rule_by_id(const struct ptrig_installed_rule *rules, int n, uint32_t id)
{
	int i;

	for (i = 0; i < n; i++)
		if (rules[i].id == id)
			return &rules[i];
	return NULL;
}

/* Live triggers of rules in the active set; *rows is malloc'ed. */
int triggers_read(int fd, const struct iface_state *s,
		  struct trigger_row **rows)
{
	struct ptrig_trigger_key key, next, *prev = NULL;
	uint64_t now = ptrig_now_ns();
	int n = 0, cap = 0;

	*rows = NULL;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		const struct ptrig_installed_rule *r;
		struct ptrig_trigger t;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &t))
			continue;
		r = rule_by_id(s->rules, s->n_rules, key.rule_id);
		if (!r || r->rule.generation != t.generation)
			continue; /* left by a removed or changed rule */
		if (idle_s(now, t.last_seen_ns) >= r->rule.trigger_timeout_s &&
		    now - t.last_seen_ns >
			    (uint64_t)r->rule.trigger_timeout_s * 1000000000ull)
			continue; /* expired: closed */
		if (n == cap) {
			struct trigger_row *nr;

			cap = cap ? cap * 2 : 16;
			nr = realloc(*rows, cap * sizeof(**rows));
			if (!nr)
				break;
			*rows = nr;
		}
		(*rows)[n].rule = r;
		(*rows)[n].t = t;
		(*rows)[n].idle_s = idle_s(now, t.last_seen_ns);
		(*rows)[n].expires_in_s =
			r->rule.trigger_timeout_s - (*rows)[n].idle_s;
		n++;
	}
	return n;
}

/* Entries in a hash map (its keys, read in batches) and its size. */
static void table_fill_read(int fd, const char *name, struct table_fill *t)
{
	struct bpf_map_info info = {0};
	uint32_t len = sizeof(info), in = 0, out, count;
	bool first = true;
	void *keys = NULL, *vals = NULL;
	const uint32_t chunk = 4096;
	int err;

	t->name = name;
	t->entries = 0;
	t->max = 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return;
	t->max = info.max_entries;
	keys = malloc((size_t)chunk * info.key_size);
	vals = malloc((size_t)chunk * info.value_size);
	while (keys && vals) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);

		count = chunk;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys,
					   vals, &count, &opts);
		if (err && errno != ENOENT)
			break;
		t->entries += count;
		if (err)
			break; /* ENOENT: that was the last batch */
		in = out;
		first = false;
	}
	free(keys);
	free(vals);
}

int iface_state_read(const char *ifname, const struct ptrig_map_fds *m,
		     struct iface_state *s)
{
	uint32_t zero = 0;
	int ifindex;

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%.*s", IF_NAMESIZE - 1, ifname);
	if (bpf_map_lookup_elem(m->cfg, &zero, &s->cfg))
		return -errno;
	if (bpf_map_lookup_elem(m->fcfg, &zero, &s->fast))
		memset(&s->fast, 0, sizeof(s->fast));
	s->fast.lan_name[sizeof(s->fast.lan_name) - 1] = 0;
	if (s->fast.lan_ifindex && (s->fast.lan_flags & PTRIG_FAST_LAN_XDP)) {
		/* Only this attachment's: another tool may hold the slot. */
		s->lan_prog_id = lan_xdp_id(s->fast.lan_ifindex);
		if (!lan_xdp_is_ours(s->lan_prog_id, ptrig_map_fd_id(m->stats)))
			s->lan_prog_id = 0;
	} else if (s->fast.lan_ifindex && s->cfg.ifindex)
		s->lan_prog_id =
			lan_prog_id(s->fast.lan_ifindex, s->cfg.ifindex);
	ifindex = if_nametoindex(ifname);
	s->iface_found = ifindex != 0;
	if (ifindex)
		hooks_query(ifindex, &s->hooks);
	s->n_rules = ptrig_rules_read(m, &s->rules);
	if (s->n_rules < 0)
		return s->n_rules;
	stats_read(m->stats, s->stats);
	table_fill_read(m->trig, "triggers", &s->tables[0]);
	table_fill_read(m->flows, "flows", &s->tables[1]);
	table_fill_read(m->embryo, "embryonic_flows", &s->tables[2]);
	return 0;
}

const char *attached_mode(const struct iface_state *s)
{
	if (!s->iface_found)
		return "interface-not-found";
	if (!s->hooks.xdp_id || !prog_is_ptrig(s->hooks.xdp_id))
		return "not-attached";
	return xdp_mode_name(s->hooks.xdp_flags);
}

int flows_walk(int fd, uint64_t now,
	       int (*fn)(const struct flow_row *row, void *ctx), void *ctx)
{
	struct ptrig_flow_key next, *prev = NULL;
	struct flow_row row;
	int n = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		row.key = next;
		prev = &row.key;
		if (bpf_map_lookup_elem(fd, &row.key, &row.f))
			continue; /* deleted or evicted meanwhile */
		row.timeout_s = ptrig_flow_idle_timeout(&row.f);
		if ((int64_t)(now - row.f.last_seen_ns) >
		    (int64_t)row.timeout_s * 1000000000ll)
			continue; /* expired, waiting for reuse or eviction */
		row.idle_s = idle_s(now, row.f.last_seen_ns);
		n++;
		if (fn(&row, ctx))
			break;
	}
	return n;
}
