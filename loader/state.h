/* SPDX-License-Identifier: GPL-2.0 */
/* Readers of an attached interface's state: they fill structures and print
 * nothing, so `status`, `flows` and the agent's metrics show the same
 * numbers. */
#ifndef PTRIG_STATE_H
#define PTRIG_STATE_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "cmds.h"
#include "ptrig_load.h"

/* Tables whose fill `status` shows: triggers, flows, embryonic flows. */
#define PTRIG_N_TABLES 3

/* Everything status shows about one interface. */
struct iface_state {
	char name[IF_NAMESIZE];
	struct ptrig_config cfg;
	struct ptrig_fast_config fast; /* lan_ifindex 0: fast path off */
	struct hook_progs hooks;
	/* the fast path's LAN program (native XDP if fast.lan_flags has
	 * PTRIG_FAST_LAN_XDP, else TC ingress), 0: none */
	uint32_t lan_prog_id;
	bool iface_found;
	struct ptrig_installed_rule *rules; /* malloc'ed */
	int n_rules;
	uint64_t stats[PTRIG_STAT_MAX];
	struct table_fill {
		const char *name;
		uint32_t entries; /* slots in use, expired entries included */
		uint32_t max;
	} tables[PTRIG_N_TABLES]; /* triggers, flows, embryonic_flows */
};

/* One open trigger of a rule in the active set. */
struct trigger_row {
	const struct ptrig_installed_rule *rule;
	struct ptrig_trigger t;
	int64_t idle_s;
	int64_t expires_in_s;
};

/* Seconds, rounded down, between a datapath stamp and now. */
int64_t idle_s(uint64_t now, uint64_t stamp);

/* The rule with this id in an installed set, or NULL. */
const struct ptrig_installed_rule *
rule_by_id(const struct ptrig_installed_rule *rules, int n, uint32_t id);

/* Names of the global counters, as in `status --json` (enum ptrig_stat). */
extern const char *const stat_names[PTRIG_STAT_MAX];

/* Sum the per-CPU global counters into out[PTRIG_STAT_MAX]. */
void stats_read(int fd, uint64_t *out);

/* Config, hooks, rules with counters and global counters of one interface
 * (in the current network namespace); s->rules is to be freed. 0 or -errno.
 */
int iface_state_read(const char *ifname, const struct ptrig_map_fds *m,
		     struct iface_state *s);

/* The open triggers of the rules in s; *rows is malloc'ed. Returns the
 * count. */
int triggers_read(int fd, const struct iface_state *s,
		  struct trigger_row **rows);

/* "native", "generic", "not-attached" or "interface-not-found". */
const char *attached_mode(const struct iface_state *s);

/* Flow table contents: live flows by state, and every entry the table holds
 * (expired ones wait there for reuse or eviction). */
struct flow_counts {
	uint64_t entries;
	uint64_t live_new;	   /* embryonic: handshake not completed */
	uint64_t live_established; /* out of the embryonic table */
	uint64_t live_closing;
};

/* Counts one flow table (established or embryonic) into *c. */
int flows_count(int flows_fd, struct flow_counts *c);

/* One live flow, as `flows` shows it. */
struct flow_row {
	struct ptrig_flow_key key;
	struct ptrig_flow f;
	uint32_t timeout_s; /* its idle timeout */
	int64_t idle_s;
};

/* Call fn on every live (unexpired) flow of a flow table, as of now; fn
 * returning nonzero stops the walk. Returns how many flows fn saw. */
int flows_walk(int fd, uint64_t now,
	       int (*fn)(const struct flow_row *row, void *ctx), void *ctx);

#endif
