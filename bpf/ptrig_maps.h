/* SPDX-License-Identifier: GPL-2.0 */
/* ptrig's maps, one definition per entry of PTRIG_MAPS (include/ptrig.h);
 * the loader pins them under /sys/fs/bpf/ptrig/IF/. */
#ifndef PTRIG_MAPS_H
#define PTRIG_MAPS_H

#include "ptrig.h"

/* Global settings and the active rule set; written only by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ptrig_config);
} PTRIG_MAP(cfg) SEC(".maps");

/* port -> rule ids, per rule set: the O(1) rule lookup for both directions. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PTRIG_RULE_SETS *PTRIG_PORTS);
	__type(key, __u32);
	__type(value, struct ptrig_port_rules);
} PTRIG_MAP(ports) SEC(".maps");

/* Rule definitions (timeouts, peer mode), per rule set, indexed by rule id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PTRIG_RULE_SETS *PTRIG_MAX_RULES);
	__type(key, __u32);
	__type(value, struct ptrig_rule);
} PTRIG_MAP(rules) SEC(".maps");

/* Open triggers: who owns a rule (per peer for peer=trigger) and since when.
 * LRU so a flood of triggers can never fill it up. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PTRIG_DEFAULT_MAX_TRIGGERS);
	__type(key, struct ptrig_trigger_key);
	__type(value, struct ptrig_trigger);
} PTRIG_MAP(trig) SEC(".maps");

/* Established inbound connections; one entry serves both directions. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PTRIG_DEFAULT_MAX_FLOWS);
	__type(key, struct ptrig_flow_key);
	__type(value, struct ptrig_flow);
} PTRIG_MAP(flows) SEC(".maps");

/* Flows that have not completed their handshake yet (include/ptrig.h):
 * a table of their own, so they can never evict established flows. The
 * loader sizes it from --max-flows (ptrig_embryo_entries()). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PTRIG_DEFAULT_MAX_FLOWS / 4);
	__type(key, struct ptrig_flow_key);
	__type(value, struct ptrig_flow);
} PTRIG_MAP(embryo) SEC(".maps");

/* Per-rule counters; per-CPU so counting never bounces a cache line. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PTRIG_MAX_RULES);
	__type(key, __u32);
	__type(value, struct ptrig_rule_counters);
} PTRIG_MAP(cnt) SEC(".maps");

/* Global counters (enum ptrig_stat): why packets were passed untouched. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PTRIG_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} PTRIG_MAP(stats) SEC(".maps");

/* Rare events (trigger opened, conflict, flow opened/refused) for `monitor`. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} PTRIG_MAP(events) SEC(".maps");

/* Translations of first fragments, for the later fragments of the same
 * datagram (struct ptrig_frag_key). Small and short-lived: an LRU, so a
 * flood of fragments only ever pushes out other fragment entries. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PTRIG_FRAG_ENTRIES);
	__type(key, struct ptrig_frag_key);
	__type(value, struct ptrig_frag);
} PTRIG_MAP(frags) SEC(".maps");

/* The external addresses of flows (struct ptrig_externals). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ptrig_externals);
} PTRIG_MAP(exts) SEC(".maps");

/* Fast-path counters and conntrack check per flow and CPU (struct
 * ptrig_fast_flow); sized like the flow table by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, PTRIG_DEFAULT_MAX_FLOWS);
	__type(key, struct ptrig_flow_key);
	__type(value, struct ptrig_fast_flow);
} PTRIG_MAP(fast) SEC(".maps");

/* Fast-path counters per rule id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PTRIG_MAX_RULES);
	__type(key, __u32);
	__type(value, struct ptrig_fast_counters);
} PTRIG_MAP(fcnt) SEC(".maps");

/* The fast-path setting (struct ptrig_fast_config), for userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ptrig_fast_config);
} PTRIG_MAP(fcfg) SEC(".maps");

/* Per-flow fast-path counters and conntrack check (as ptrig_fast) for the
 * owner's packets the LAN program forwards: a map per direction, so each
 * direction keeps its own conntrack check (a one-way stream still sends
 * conntrack a packet per second). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, PTRIG_DEFAULT_MAX_FLOWS);
	__type(key, struct ptrig_flow_key);
	__type(value, struct ptrig_fast_flow);
} PTRIG_MAP(fout) SEC(".maps");

/* Outbound fast-path counters per rule id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PTRIG_MAX_RULES);
	__type(key, __u32);
	__type(value, struct ptrig_fast_counters);
} PTRIG_MAP(fcout) SEC(".maps");

#endif
