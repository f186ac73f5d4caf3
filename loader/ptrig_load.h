/* SPDX-License-Identifier: GPL-2.0 */
/* Shared declarations of the ptrig-load loader. */
#ifndef PTRIG_LOAD_H
#define PTRIG_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ptrig.h"

/* Exit codes, the same for every subcommand (scripts test them). */
enum {
	PTRIG_EXIT_OK = 0,
	PTRIG_EXIT_FAIL = 1,  /* runtime failure */
	PTRIG_EXIT_USAGE = 2, /* usage or config error */
};

/* Where the conntrack kfuncs (bpf_xdp_ct_lookup, ...) are: in vmlinux, in
 * the nf_conntrack module's BTF (module loaded), or nowhere. */
enum ptrig_ct_kfuncs { CT_KFUNCS_NONE, CT_KFUNCS_BUILTIN, CT_KFUNCS_MODULE };
enum ptrig_ct_kfuncs ptrig_ct_kfuncs_find(void);

/* File descriptors of one interface's maps. */
struct ptrig_map_fds {
#define X(f) int f;
	PTRIG_MAPS(X)
#undef X
};

/* Map names, in the order of struct ptrig_map_fds; they are also the pin
 * file names under the interface's pin directory. */
enum {
#define X(f) PTRIG_MAP_IDX_##f,
	PTRIG_MAPS(X)
#undef X
		PTRIG_N_MAPS
};
extern const char *const ptrig_map_names[PTRIG_N_MAPS];

static inline int *ptrig_map_fd_slot(struct ptrig_map_fds *m, int i)
{
	return &((int *)m)[i];
}

/* rules.c: push a validated rule set into the maps of one interface.
 * Writes the inactive rule set, then flips ptrig_config.active_set in one
 * update, so the datapath switches atomically. Rules keep their id (and
 * with it their counters) across pushes by name; they keep their generation
 * (and with it their open triggers) when their trigger side, open side and
 * peer mode are unchanged. Returns 0 or -errno. */
int ptrig_rules_push(const struct ptrig_map_fds *m,
		     const struct ptrig_ruleset *rs);

/* Initialise the config entry of freshly created maps. */
int ptrig_config_init(const struct ptrig_map_fds *m, uint32_t mark);

/* One rule as installed in the active set, read back from the maps. */
struct ptrig_installed_rule {
	uint32_t id;
	struct ptrig_rule rule;
	char trigger[800]; /* "tcp:6660-6669" as reconstructed from the ports */
	char open[800];
	struct ptrig_rule_counters counters; /* summed over CPUs */
	struct ptrig_fast_counters fast;     /* the same: inbound fast path */
	struct ptrig_fast_counters fast_out; /* outbound (LAN program) */
};

/* Read the active rule set. *out is malloc'ed; returns the count or -errno. */
int ptrig_rules_read(const struct ptrig_map_fds *m,
		     struct ptrig_installed_rule **out);

/* Sum one per-CPU rule counters entry. */
int ptrig_counters_read(int cnt_fd, uint32_t rule_id,
			struct ptrig_rule_counters *sum);

/* Sum one per-CPU entry of u64 counters (value_size bytes) into sum. 0 or
 * -errno. */
int ptrig_percpu_sum(int fd, uint32_t key, void *sum, size_t value_size);

/* Monotonic coarse clock, the one the datapath stamps entries with. */
uint64_t ptrig_now_ns(void);

#endif
