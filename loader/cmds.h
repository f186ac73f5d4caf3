/* SPDX-License-Identifier: GPL-2.0 */
/* ptrig-load subcommands: one do_<cmd>() each, sharing parsed options. */
#ifndef PTRIG_CMDS_H
#define PTRIG_CMDS_H

#include <stdbool.h>
#include <stdint.h>

enum ptrig_lan_mode {
	PTRIG_LAN_MODE_UNSET,
	PTRIG_LAN_MODE_AUTO, /* native XDP on a NIC that can, else TC */
	PTRIG_LAN_MODE_XDP,
	PTRIG_LAN_MODE_TC,
};

struct cmd_opts {
	const char *ifname;
	const char *config;
	const char *netns;
	bool json;
	uint32_t xdp_mode; /* XDP_FLAGS_DRV_MODE / XDP_FLAGS_SKB_MODE, 0: unset
			    */
	bool mark_set;
	uint32_t mark;
	uint32_t max_flows;    /* 0: default, or the pinned map's size */
	uint32_t max_triggers; /* 0: default, or the pinned map's size */
	const char *lan;       /* --lan: NULL unset, "none" off */
	uint32_t lan_mode;     /* --lan-mode: enum ptrig_lan_mode */
	bool allow_hw_offload; /* --allow-hw-offload */
	int duration_s;	       /* monitor: stop after this long (0: never) */
	/* run: the managed interfaces and the agent's options */
	char **ifaces;
	int n_ifaces;
	const char *metrics; /* ADDR:PORT */
	bool detach_on_exit;
	bool ready_if_absent;
};

int do_check(const struct cmd_opts *o);
int do_attach(const struct cmd_opts *o);
int do_reload(const struct cmd_opts *o);
int do_detach(const struct cmd_opts *o);
int do_status(const struct cmd_opts *o);
int do_flows(const struct cmd_opts *o);
int do_monitor(const struct cmd_opts *o);
int do_pindir(const struct cmd_opts *o);

/* The programs currently on an interface's hooks (ids, 0 when none). */
struct hook_progs {
	uint32_t xdp_id;
	uint32_t xdp_flags; /* XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE */
	uint32_t tc_egress_id;
	uint32_t tc_ingress_id;
	/* The XDP slot holds a WAN attachment's fast-path LAN program (then
	 * xdp_id is 0: it is not this interface's own ptrig). */
	uint32_t lan_xdp_id;
};

void hooks_query(int ifindex, struct hook_progs *h);

struct ptrig_msgs;
/* The pins, in this namespace's directory, whose maps the programs on h
 * use (an interface renamed since its attach): their directory into dir. */
bool find_renamed_pins(const struct hook_progs *h, char *dir, size_t len,
		       struct ptrig_msgs *m);
bool prog_is_ptrig(uint32_t id);
bool prog_is_lan_program(uint32_t id);
/* Does program id's name (as the kernel keeps it: 15 characters) start with
 * prefix? */
bool prog_name_starts(uint32_t id, const char *prefix);
/* The fast path's program on a LAN interface, for the WAN whose ifindex is
 * handle (0: none). */
uint32_t lan_prog_id(int lan, uint32_t handle);
uint32_t lan_xdp_id(int ifindex);
bool lan_xdp_is_ours(uint32_t id, uint32_t map_id);
const char *xdp_mode_name(uint32_t xdp_flags);
const char *link_type_name(int arphrd);

struct ptrig_ruleset;

/* Parse and validate a rule file, printing "FILE:LINE: reason" on failure. */
int load_ruleset(const char *path, struct ptrig_ruleset *rs);

#endif
