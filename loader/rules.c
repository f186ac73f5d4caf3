// SPDX-License-Identifier: GPL-2.0
/* Pushing a rule set into the maps, and reading it back. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ptrig_load.h"

const char *const ptrig_map_names[PTRIG_N_MAPS] = {
#define X(f) PTRIG_MAP_NAME(f),
	PTRIG_MAPS(X)
#undef X
};

uint64_t ptrig_now_ns(void)
{
	struct timespec ts;

	/* bpf_ktime_get_coarse_ns() reads the same clock, coarse-grained. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int cfg_read(const struct ptrig_map_fds *m, struct ptrig_config *cfg)
{
	uint32_t zero = 0;

	return bpf_map_lookup_elem(m->cfg, &zero, cfg) ? -errno : 0;
}

static int cfg_write(const struct ptrig_map_fds *m,
		     const struct ptrig_config *cfg)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(m->cfg, &zero, cfg, BPF_ANY) ? -errno : 0;
}

int ptrig_config_init(const struct ptrig_map_fds *m, uint32_t mark)
{
	struct ptrig_config cfg = {
		.layout_version = PTRIG_LAYOUT_VERSION,
		.mark = mark,
		.next_generation = 1,
	};

	return cfg_write(m, &cfg);
}

/* Write keys 0..n-1 of an array map in one batch when the kernel can. */
static int array_write_all(int fd, uint32_t first, uint32_t n,
			   const void *values, size_t value_size)
{
	uint32_t *keys, i, count = n;
	int err = 0;

	keys = malloc(sizeof(*keys) * n);
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		keys[i] = first + i;
	if (bpf_map_update_batch(fd, keys, values, &count, NULL) == 0)
		goto out;
	/* Fallback for kernels without batch ops on arrays. */
	for (i = 0; i < n; i++) {
		if (bpf_map_update_elem(fd, &keys[i],
					(const char *)values + i * value_size,
					BPF_ANY)) {
			err = -errno;
			break;
		}
	}
out:
	free(keys);
	return err;
}

/* Read keys first..first+n-1 of an array map: in batches when the kernel
 * can (status would otherwise make ~80k syscalls), else one by one. */
static int array_read_all(int fd, uint32_t first, uint32_t n, void *values,
			  size_t value_size)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t *keys, prev = first - 1, next, done = 0, count, i, key;
	int err = 0;

	keys = malloc(sizeof(*keys) * n);
	if (!keys)
		return -ENOMEM;
	/* The batch position is the last key read: start after first - 1. */
	while (done < n) {
		count = n - done;
		err = bpf_map_lookup_batch(
			fd, done || first ? &prev : NULL, &next, keys + done,
			(char *)values + done * value_size, &count, &opts);
		if (err && errno != ENOENT)
			break;
		done += count;
		prev = next;
		if (err || !count)
			break;
	}
	free(keys);
	if (done >= n)
		return 0;
	/* Fallback for kernels without batch ops on arrays. */
	for (i = 0; i < n; i++) {
		key = first + i;
		if (bpf_map_lookup_elem(fd, &key,
					(char *)values + i * value_size))
			return -errno;
	}
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct ptrig_port_range *x = a, *y = b;

	return (int)x->lo - (int)y->lo;
}

/* Sorted, merged form, as the port table gives it back. */
static void format_canonical(const struct ptrig_port_set *in, char *buf,
			     size_t len)
{
	struct ptrig_port_set ps = *in;
	int i, n = 0;

	qsort(ps.ranges, ps.n_ranges, sizeof(ps.ranges[0]), range_cmp);
	for (i = 0; i < ps.n_ranges; i++) {
		if (n && ps.ranges[i].lo <= ps.ranges[n - 1].hi + 1) {
			if (ps.ranges[i].hi > ps.ranges[n - 1].hi)
				ps.ranges[n - 1].hi = ps.ranges[i].hi;
		} else {
			ps.ranges[n++] = ps.ranges[i];
		}
	}
	ps.n_ranges = n;
	ptrig_port_set_format(&ps, buf, len);
}

/* What a running trigger depends on: if this is unchanged, keep it. */
static bool same_trigger_semantics(const struct ptrig_installed_rule *old,
				   const struct ptrig_rule_spec *r)
{
	char trig[sizeof(old->trigger)], open[sizeof(old->open)];

	format_canonical(&r->trigger, trig, sizeof(trig));
	format_canonical(&r->open, open, sizeof(open));
	return strcmp(old->trigger, trig) == 0 &&
	       strcmp(old->open, open) == 0 &&
	       old->rule.peer_mode == r->peer_mode;
}

static void fill_ports(struct ptrig_port_rules *ports,
		       const struct ptrig_port_set *ps, uint16_t id,
		       bool trigger)
{
	uint32_t p;
	int l4, i;

	for (i = 0; i < ps->n_ranges; i++) {
		for (p = ps->ranges[i].lo; p <= ps->ranges[i].hi; p++) {
			for (l4 = 0; l4 < PTRIG_L4_MAX; l4++) {
				if (!(ps->proto & (1 << l4)))
					continue;
				if (trigger)
					ports[p].trigger_rule[l4] = id;
				else
					ports[p].open_rule[l4] = id;
			}
		}
	}
}

static int counters_zero(int fd, uint32_t id)
{
	int ncpu = libbpf_num_possible_cpus();
	void *zeros;
	int err = 0;

	if (ncpu < 0)
		return ncpu;
	zeros = calloc(ncpu, sizeof(struct ptrig_rule_counters));
	if (!zeros)
		return -ENOMEM;
	if (bpf_map_update_elem(fd, &id, zeros, BPF_ANY))
		err = -errno;
	free(zeros);
	return err;
}

/* Mark the ports of live flows that no rule opens any more, so the datapath
 * keeps serving them (PTRIG_OPEN_FLOWS_ONLY). With patch_set >= 0 the marks
 * go straight into that (active) set, for flows created during a push. */
static int mark_live_flow_ports_of(const struct ptrig_map_fds *m, int fd,
				   struct ptrig_port_rules *ports,
				   int patch_set)
{
	struct ptrig_flow_key key, next, *prev = NULL;
	uint64_t now = ptrig_now_ns();
	struct ptrig_flow f;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		uint32_t port, timeout, idx;
		struct ptrig_port_rules pr;
		int l4;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &f))
			continue;
		timeout = ptrig_flow_idle_timeout(&f);
		if ((int64_t)(now - f.last_seen_ns) >
		    (int64_t)timeout * 1000000000ll)
			continue;
		l4 = key.proto == IPPROTO_TCP ? PTRIG_L4_TCP : PTRIG_L4_UDP;
		port = ntohs(key.local_port);
		if (patch_set < 0) {
			if (!ports[port].open_rule[l4])
				ports[port].open_rule[l4] =
					PTRIG_OPEN_FLOWS_ONLY;
			continue;
		}
		idx = patch_set * PTRIG_PORTS + port;
		if (bpf_map_lookup_elem(m->ports, &idx, &pr))
			return -errno;
		if (pr.open_rule[l4])
			continue;
		pr.open_rule[l4] = PTRIG_OPEN_FLOWS_ONLY;
		if (bpf_map_update_elem(m->ports, &idx, &pr, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* Both flow tables: embryonic flows keep their ports too. */
static int mark_live_flow_ports(const struct ptrig_map_fds *m,
				struct ptrig_port_rules *ports, int patch_set)
{
	int err = mark_live_flow_ports_of(m, m->flows, ports, patch_set);

	return err ? err
		   : mark_live_flow_ports_of(m, m->embryo, ports, patch_set);
}

int ptrig_rules_push(const struct ptrig_map_fds *m,
		     const struct ptrig_ruleset *rs)
{
	struct ptrig_installed_rule *old = NULL;
	struct ptrig_port_rules *ports = NULL;
	struct ptrig_rule *rules = NULL;
	bool *id_used = NULL;
	struct ptrig_config cfg;
	uint32_t new_set, next_id = 1;
	int n_old, err;
	size_t i;
	int j;

	if (rs->n >= PTRIG_MAX_RULES)
		return -E2BIG;
	err = cfg_read(m, &cfg);
	if (err)
		return err;
	n_old = ptrig_rules_read(m, &old);
	if (n_old < 0)
		return n_old;

	ports = calloc(PTRIG_PORTS, sizeof(*ports));
	rules = calloc(PTRIG_MAX_RULES, sizeof(*rules));
	id_used = calloc(PTRIG_MAX_RULES, sizeof(*id_used));
	if (!ports || !rules || !id_used) {
		err = -ENOMEM;
		goto out;
	}
	/* Ids of the current rules stay reserved, so a new rule never
	 * inherits a removed rule's counters in the same push. */
	for (j = 0; j < n_old; j++)
		id_used[old[j].id] = true;

	for (i = 0; i < rs->n; i++) {
		const struct ptrig_rule_spec *r = &rs->rules[i];
		const struct ptrig_installed_rule *prev = NULL;
		struct ptrig_rule *out;
		uint32_t id;

		for (j = 0; j < n_old; j++) {
			if (strcmp(old[j].rule.name, r->name) == 0) {
				prev = &old[j];
				break;
			}
		}
		if (prev) {
			id = prev->id;
		} else {
			while (next_id < PTRIG_MAX_RULES && id_used[next_id])
				next_id++;
			if (next_id >= PTRIG_MAX_RULES) {
				err = -E2BIG;
				goto out;
			}
			id = next_id;
			id_used[id] = true;
			err = counters_zero(m->cnt, id);
			if (err)
				goto out;
		}
		out = &rules[id];
		snprintf(out->name, sizeof(out->name), "%s", r->name);
		out->generation = prev && same_trigger_semantics(prev, r)
					  ? prev->rule.generation
					  : cfg.next_generation++;
		out->trigger_timeout_s = r->timeout_s;
		out->tcp_flow_timeout_s = ptrig_rule_tcp_flow_timeout(r);
		out->udp_flow_timeout_s = ptrig_rule_udp_flow_timeout(r);
		out->tcp_closing_timeout_s =
			PTRIG_DEFAULT_TCP_CLOSING_TIMEOUT_S <
					out->tcp_flow_timeout_s
				? PTRIG_DEFAULT_TCP_CLOSING_TIMEOUT_S
				: out->tcp_flow_timeout_s;
		out->trigger_proto = r->trigger.proto;
		out->open_proto = r->open.proto;
		out->peer_mode = r->peer_mode;
		fill_ports(ports, &r->trigger, id, true);
		fill_ports(ports, &r->open, id, false);
	}

	err = mark_live_flow_ports(m, ports, -1);
	if (err)
		goto out;
	new_set = (cfg.active_set & 1) ^ 1;
	err = array_write_all(m->rules, new_set * PTRIG_MAX_RULES,
			      PTRIG_MAX_RULES, rules, sizeof(*rules));
	if (!err)
		err = array_write_all(m->ports, new_set * PTRIG_PORTS,
				      PTRIG_PORTS, ports, sizeof(*ports));
	if (err)
		goto out;
	/* The single write that switches the datapath to the new rules. */
	cfg.active_set = new_set;
	cfg.rule_count = rs->n;
	cfg.layout_version = PTRIG_LAYOUT_VERSION;
	err = cfg_write(m, &cfg);
	/* Flows the old rules opened between the scan and the switch. */
	if (!err)
		err = mark_live_flow_ports(m, NULL, new_set);
out:
	free(old);
	free(ports);
	free(rules);
	free(id_used);
	return err;
}

int ptrig_counters_read(int cnt_fd, uint32_t rule_id,
			struct ptrig_rule_counters *sum)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct ptrig_rule_counters *per;
	size_t k, nfield = sizeof(*sum) / sizeof(uint64_t);

	memset(sum, 0, sizeof(*sum));
	if (ncpu < 0)
		return ncpu;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(cnt_fd, &rule_id, per)) {
		free(per);
		return -errno;
	}
	for (c = 0; c < ncpu; c++)
		for (k = 0; k < nfield; k++)
			((uint64_t *)sum)[k] += ((uint64_t *)&per[c])[k];
	free(per);
	return 0;
}

int ptrig_percpu_sum(int fd, uint32_t key, void *sum, size_t value_size)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	size_t k, nfield = value_size / sizeof(uint64_t);
	uint64_t *per;

	memset(sum, 0, value_size);
	if (ncpu < 0)
		return ncpu;
	per = calloc(ncpu, value_size);
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, per)) {
		free(per);
		return -errno;
	}
	for (c = 0; c < ncpu; c++)
		for (k = 0; k < nfield; k++)
			((uint64_t *)sum)[k] += per[c * nfield + k];
	free(per);
	return 0;
}

/* Port sets of one installed rule, [side][l4], rebuilt from the port table. */
struct rule_sides {
	struct ptrig_port_set side[2][PTRIG_L4_MAX];
};

static void add_port(struct ptrig_port_set *ps, uint32_t p)
{
	if (ps->n_ranges && ps->ranges[ps->n_ranges - 1].hi == p - 1)
		ps->ranges[ps->n_ranges - 1].hi = p;
	else if (ps->n_ranges < PTRIG_MAX_RANGES)
		ps->ranges[ps->n_ranges++] =
			(struct ptrig_port_range){.lo = p, .hi = p};
}

/* Merge the per-protocol sets of one side into "tcp:..", "udp:.." or
 * "both:..": rules give both protocols the same ports. */
static void format_side(struct ptrig_port_set *by_l4, char *buf, size_t len)
{
	struct ptrig_port_set *tcp = &by_l4[PTRIG_L4_TCP];
	struct ptrig_port_set *udp = &by_l4[PTRIG_L4_UDP];

	tcp->proto = PTRIG_PROTO_TCP;
	udp->proto = PTRIG_PROTO_UDP;
	if (tcp->n_ranges && udp->n_ranges && tcp->n_ranges == udp->n_ranges &&
	    memcmp(tcp->ranges, udp->ranges,
		   tcp->n_ranges * sizeof(tcp->ranges[0])) == 0)
		tcp->proto = PTRIG_PROTO_BOTH;
	if (tcp->n_ranges)
		ptrig_port_set_format(tcp, buf, len);
	else if (udp->n_ranges)
		ptrig_port_set_format(udp, buf, len);
	else
		snprintf(buf, len, "-");
}

int ptrig_rules_read(const struct ptrig_map_fds *m,
		     struct ptrig_installed_rule **out)
{
	struct ptrig_port_rules *ports = NULL;
	struct ptrig_installed_rule *res = NULL;
	struct rule_sides *sides = NULL;
	struct ptrig_rule *rules = NULL;
	struct ptrig_config cfg;
	uint32_t set, id, p;
	int n = 0, err, l4;

	*out = NULL;
	err = cfg_read(m, &cfg);
	if (err)
		return err;
	set = cfg.active_set & 1;
	rules = calloc(PTRIG_MAX_RULES, sizeof(*rules));
	ports = calloc(PTRIG_PORTS, sizeof(*ports));
	res = calloc(PTRIG_MAX_RULES, sizeof(*res));
	sides = calloc(PTRIG_MAX_RULES, sizeof(*sides));
	if (!rules || !ports || !res || !sides) {
		err = -ENOMEM;
		goto fail;
	}
	err = array_read_all(m->rules, set * PTRIG_MAX_RULES, PTRIG_MAX_RULES,
			     rules, sizeof(*rules));
	if (!err)
		err = array_read_all(m->ports, set * PTRIG_PORTS, PTRIG_PORTS,
				     ports, sizeof(*ports));
	if (err)
		goto fail;
	/* One pass over the port table, not one per rule. */
	for (p = 1; p < PTRIG_PORTS; p++) {
		for (l4 = 0; l4 < PTRIG_L4_MAX; l4++) {
			uint16_t t = ports[p].trigger_rule[l4];
			uint16_t o = ports[p].open_rule[l4];

			if (t && t < PTRIG_MAX_RULES)
				add_port(&sides[t].side[0][l4], p);
			if (o && o < PTRIG_MAX_RULES)
				add_port(&sides[o].side[1][l4], p);
		}
	}
	for (id = 1; id < PTRIG_MAX_RULES; id++) {
		struct ptrig_installed_rule *r;

		if (!rules[id].name[0])
			continue;
		r = &res[n++];
		r->id = id;
		r->rule = rules[id];
		format_side(sides[id].side[0], r->trigger, sizeof(r->trigger));
		format_side(sides[id].side[1], r->open, sizeof(r->open));
		err = ptrig_counters_read(m->cnt, id, &r->counters);
		if (err)
			goto fail;
		/* Absent in the pins of an older ptrig: none counted. */
		if (m->fcnt >= 0)
			ptrig_percpu_sum(m->fcnt, id, &r->fast,
					 sizeof(r->fast));
		if (m->fcout >= 0)
			ptrig_percpu_sum(m->fcout, id, &r->fast_out,
					 sizeof(r->fast_out));
	}
	free(rules);
	free(ports);
	free(sides);
	*out = res;
	return n;
fail:
	free(rules);
	free(ports);
	free(sides);
	free(res);
	return err;
}
